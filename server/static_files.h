// Serves the web client: the files under one directory (config
// [server] web_dir) at /, for GET and HEAD. Paths are taken apart segment by
// segment, percent-decoded, and refused when a segment is empty after
// decoding, is "." or "..", starts with a dot, or holds a '/', '\\' or NUL;
// the resolved file must still lie inside the (resolved) root, so symlinks
// pointing out of it are refused too. A directory serves its index.html.
// Anything that is not a readable regular file is 404 NOTFOUND. The web
// client's pages (/signin, /rooms, /messenger, /r/{room}, /watch/{room})
// serve /index.html.
//
// The browser libraries the client takes from npm (package.json) come from a
// second directory, node_modules (config [server] vendor_dir), under the
// same rules: /vendor/hls.js/<file> is node_modules/hls.js/dist/<file>.
// Nothing else of node_modules is served.
#pragma once

#include <libsoup/soup.h>

#include <string>
#include <vector>

namespace zumzi {

class StaticFiles {
public:
    // An empty `root` serves nothing (every path is 404); an empty
    // `vendor_root` (a node_modules directory) serves no /vendor/ path.
    explicit StaticFiles(const std::string& root, const std::string& vendor_root = {});

    // Answers `msg` for the still percent-encoded URI `path`, or throws
    // ApiError 404 NOTFOUND.
    void serve(SoupServerMessage* msg, const char* path) const;

    // The file `path` maps to (absolute, symlinks resolved), or "" when it
    // maps to nothing servable. Exposed for unit tests.
    std::string resolve(const char* path) const;

    // The Content-Type for a file name, by extension.
    static const char* content_type(const std::string& file);

private:
    // A URL prefix served from a directory (its realpath).
    struct Mount {
        std::string prefix;  // "/vendor/hls.js"
        std::string dir;     // ".../node_modules/hls.js/dist"
    };

    // The regular file `path` ("/a/b.js") maps to under the realpath `root`,
    // or "". `index`: a directory serves its index.html.
    static std::string resolve_in(const std::string& root, const char* path, bool index);

    std::string root_;  // realpath of the root, "" when there is none
    std::vector<Mount> vendor_;
};

}  // namespace zumzi
