// Uploaded files: what the bytes are (sniffed, never taken from the name),
// whether a name is a plain file name, and keeping the bytes under
// <data dir>/files/ by random names. Storing a file writes its bytes (and a
// thumbnail for a picture) durably before the database row that makes it
// visible; a failure leaves neither behind.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "api/context.h"

namespace zumzi {

// The MIME type of `data` from its first bytes: image/jpeg, image/png,
// image/gif, image/webp, application/pdf, video/mp4, video/webm, audio/ogg,
// audio/mpeg, audio/wav, application/zip, text/plain (UTF-8 without NULs),
// else application/octet-stream.
std::string sniff_content_type(std::string_view data);

// `name` if it is a plain file name (1-255 bytes of UTF-8, no '/', '\\',
// control characters, not "." or ".."), else BADREQUEST. Empty gives "file".
std::string check_file_name(const std::string& name);

// The checks an upload passes before any work is spent on it: not empty,
// within [chat] max_upload_bytes, a plain name (check_file_name). Throws
// ApiError; returns the name to store.
std::string check_upload(const Context& ctx, const std::string& name, std::string_view data);

// What the bytes of an upload are and, for a picture, its 100x100 thumbnail
// and size. Decodes the picture (pipelines/thumbnail.h): any thread, and
// never on the main loop (see background.h).
struct UploadContent {
    std::string content_type;
    std::string thumbnail;  // JPEG; empty when the picture did not decode
    int width = 0;
    int height = 0;
};
UploadContent examine_upload(const std::string& data);

// Stores a checked and examined upload of `owner`: the bytes, the
// thumbnail, then the row. `must_be_image`: refuse anything that did not
// decode as a picture (BADREQUEST). Throws ApiError / StoreError.
File store_upload(Context& ctx, const Principal& owner, const std::string& name,
                  std::string_view data, const UploadContent& content, bool must_be_image,
                  bool is_public);

// The bytes of a stored file (`storage` is File::storage or ::thumbnail).
std::optional<std::string> read_stored(const Context& ctx, const std::string& storage);

}  // namespace zumzi
