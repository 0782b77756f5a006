#include "router.h"

#include <glib.h>

namespace zumzi {

static std::vector<std::string> split_path(const char* path)
{
    std::vector<std::string> out;
    g_auto(GStrv) parts = g_strsplit(path, "/", -1);
    for (char** p = parts; *p; p++)
        if (**p)
            out.emplace_back(*p);
    return out;
}

void Router::add(const char* method, const char* pattern, Handler handler)
{
    routes_.push_back({method, split_path(pattern), std::move(handler)});
}

Router::Match Router::match(const char* method, const char* path) const
{
    // HEAD is GET without a body; libsoup drops the body.
    if (g_str_equal(method, "HEAD"))
        method = "GET";
    const std::vector<std::string> segments = split_path(path);
    Match result;
    for (const Route& route : routes_) {
        if (route.segments.size() != segments.size())
            continue;
        std::vector<std::string> params;
        bool ok = true;
        for (size_t i = 0; i < segments.size() && ok; i++) {
            if (route.segments[i].front() == '{')
                params.push_back(segments[i]);
            else
                ok = route.segments[i] == segments[i];
        }
        if (!ok)
            continue;
        if (route.method == method) {
            result.handler = &route.handler;
            result.params = std::move(params);
            return result;
        }
        if (result.allowed.find(route.method) == std::string::npos)
            result.allowed += (result.allowed.empty() ? "" : ", ") + route.method;
    }
    return result;
}

}  // namespace zumzi
