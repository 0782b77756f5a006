// Reading an upload from a request (api/files.cpp): the raw body with
// ?name=, or the "file" part of multipart/form-data. Used by every route
// that takes a file (files, profile photo, group photo).
#pragma once

#include <string>

#include "../http.h"
#include "../store.h"

namespace zumzi {

struct Upload {
    std::string name;
    std::string data;
};

// Throws BADREQUEST for an unparsable multipart body, one without a "file"
// part, or a body cut short.
Upload read_upload(Request& req);

// The JSON shape of a stored file (docs/api.md, "The file object").
JsonOut file_json(const File& file);

}  // namespace zumzi
