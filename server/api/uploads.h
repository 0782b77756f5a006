// Reading an upload from a request (api/files.cpp): the raw body with
// ?name=, or the "file" part of multipart/form-data. Used by every route
// that takes a file (files, profile photo, group photo).
#pragma once

#include <functional>
#include <string>

#include "../http.h"
#include "../store.h"
#include "context.h"

namespace zumzi {

struct Upload {
    std::string name;
    std::string data;
};

// Throws BADREQUEST for an unparsable multipart body, one without a "file"
// part, or a body cut short.
Upload read_upload(Request& req);

// Reads the upload of `req`, checks it, examines it (decoding a picture) on
// a worker thread, then stores it and answers with `then`'s Reply on the
// main loop. `then` runs only if the upload was stored; it re-checks what
// may have changed meanwhile. Returns the deferred Reply.
Reply store_upload_then(Context& ctx, Request& req, const Principal& owner, bool must_be_image,
                        bool is_public, std::function<Reply(const File& file)> then);

// The JSON shape of a stored file (docs/api.md, "The file object").
JsonOut file_json(const File& file);

}  // namespace zumzi
