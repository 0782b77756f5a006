// Serves the web client: the files under one directory (config
// [server] web_dir) at /, for GET and HEAD. Paths are taken apart segment by
// segment, percent-decoded, and refused when a segment is empty after
// decoding, is "." or "..", starts with a dot, or holds a '/', '\\' or NUL;
// the resolved file must still lie inside the (resolved) root, so symlinks
// pointing out of it are refused too. A directory serves its index.html.
// Anything that is not a readable regular file is 404 NOTFOUND. The web
// client's pages (/signin, /rooms, /messenger, /r/{room}) serve /index.html.
#pragma once

#include <libsoup/soup.h>

#include <string>

namespace zumzi {

class StaticFiles {
public:
    // An empty `root` serves nothing (every path is 404).
    explicit StaticFiles(const std::string& root);

    // Answers `msg` for the still percent-encoded URI `path`, or throws
    // ApiError 404 NOTFOUND.
    void serve(SoupServerMessage* msg, const char* path) const;

    // The file `path` maps to (absolute, symlinks resolved), or "" when it
    // maps to nothing servable. Exposed for unit tests.
    std::string resolve(const char* path) const;

    // The Content-Type for a file name, by extension.
    static const char* content_type(const std::string& file);

private:
    std::string root_;  // realpath of the root, "" when there is none
};

}  // namespace zumzi
