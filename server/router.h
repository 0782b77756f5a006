// Maps a method and a path such as /api/v1/rooms/{id}/join to a handler.
// Placeholders match one non-empty path segment; their values reach the
// handler through Request::param(). A path that matches with another method
// gives 405 and an Allow header; no match gives 404.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "http.h"

namespace zumzi {

struct Context;
using Handler = std::function<Reply(Context&, Request&)>;

class Router {
public:
    void add(const char* method, const char* pattern, Handler handler);

    struct Match {
        const Handler* handler = nullptr;  // null: no route for this method
        std::vector<std::string> params;
        std::string allowed;  // methods that match the path, for 405
    };
    Match match(const char* method, const char* path) const;

private:
    struct Route {
        std::string method;
        std::vector<std::string> segments;  // "{...}" marks a placeholder
        Handler handler;
    };
    std::vector<Route> routes_;
};

}  // namespace zumzi
