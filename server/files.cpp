#include "files.h"

#include <gio/gio.h>
#include <glib/gstdio.h>

#include <cstring>

#include "crypto.h"
#include "thumbnail.h"

namespace zumzi {

namespace {

const int kThumbnailSide = 100;

bool starts_with(std::string_view data, size_t offset, const char* magic, size_t n)
{
    return data.size() >= offset + n && std::memcmp(data.data() + offset, magic, n) == 0;
}

std::string files_dir(const Context& ctx)
{
    return ctx.config.data_dir + "/files";
}

// Writes `data` to a new random name in the files directory, durably
// (fsync, then rename into place). Returns the name.
std::string write_stored(const Context& ctx, std::string_view data)
{
    const std::string dir = files_dir(ctx);
    if (g_mkdir_with_parents(dir.c_str(), 0700) != 0)
        throw StoreError("cannot create " + dir + ": " + g_strerror(errno));
    const std::string name = random_id("", 32);
    const std::string path = dir + "/" + name;
    GError* error = nullptr;
    if (!g_file_set_contents_full(path.c_str(), data.data(), static_cast<gssize>(data.size()),
                                  static_cast<GFileSetContentsFlags>(
                                      G_FILE_SET_CONTENTS_CONSISTENT | G_FILE_SET_CONTENTS_DURABLE),
                                  0600, &error)) {
        std::string message = error ? error->message : "write failed";
        g_clear_error(&error);
        throw StoreError("cannot store a file: " + message);
    }
    return name;
}

void remove_stored(const Context& ctx, const std::string& name)
{
    if (!name.empty())
        g_unlink((files_dir(ctx) + "/" + name).c_str());
}

}  // namespace

std::string sniff_content_type(std::string_view d)
{
    if (starts_with(d, 0, "\xFF\xD8\xFF", 3))
        return "image/jpeg";
    if (starts_with(d, 0, "\x89PNG\r\n\x1A\n", 8))
        return "image/png";
    if (starts_with(d, 0, "GIF87a", 6) || starts_with(d, 0, "GIF89a", 6))
        return "image/gif";
    if (starts_with(d, 0, "RIFF", 4) && starts_with(d, 8, "WEBP", 4))
        return "image/webp";
    if (starts_with(d, 0, "RIFF", 4) && starts_with(d, 8, "WAVE", 4))
        return "audio/wav";
    if (starts_with(d, 0, "%PDF-", 5))
        return "application/pdf";
    if (starts_with(d, 4, "ftyp", 4))
        return "video/mp4";
    if (starts_with(d, 0, "\x1A\x45\xDF\xA3", 4))
        return "video/webm";
    if (starts_with(d, 0, "OggS", 4))
        return "audio/ogg";
    if (starts_with(d, 0, "ID3", 3) || (d.size() >= 2 && static_cast<unsigned char>(d[0]) == 0xFF &&
                                        (static_cast<unsigned char>(d[1]) & 0xE0) == 0xE0))
        return "audio/mpeg";
    if (starts_with(d, 0, "PK\x03\x04", 4))
        return "application/zip";
    if (!d.empty() && std::memchr(d.data(), 0, d.size()) == nullptr &&
        g_utf8_validate(d.data(), static_cast<gssize>(d.size()), nullptr))
        return "text/plain";
    return "application/octet-stream";
}

std::string check_file_name(const std::string& name)
{
    if (name.empty())
        return "file";
    if (name.size() > 255 ||
        !g_utf8_validate(name.c_str(), static_cast<gssize>(name.size()), nullptr))
        fail(400, "BADREQUEST", "the file name must be 1 to 255 bytes of UTF-8");
    if (name.find('/') != std::string::npos || name.find('\\') != std::string::npos ||
        name == "." || name == "..")
        fail(400, "BADREQUEST", "the file name must be a name, not a path");
    for (const char* p = name.c_str(); *p; p = g_utf8_next_char(p))
        if (g_unichar_iscntrl(g_utf8_get_char(p)))
            fail(400, "BADREQUEST", "the file name must not contain control characters");
    return name;
}

std::string check_upload(const Context& ctx, const std::string& name, std::string_view data)
{
    if (data.empty())
        fail(400, "BADREQUEST", "the file is empty");
    if (data.size() > static_cast<size_t>(ctx.config.max_upload_bytes))
        fail(413, "TOOLARGE", "files may have at most %d bytes", ctx.config.max_upload_bytes);
    return check_file_name(name);
}

UploadContent examine_upload(const std::string& data)
{
    UploadContent content;
    content.content_type = sniff_content_type(data);
    if (!g_str_has_prefix(content.content_type.c_str(), "image/"))
        return content;
    std::string error;
    media::ImageSize size;
    if (media::make_thumbnail(data, kThumbnailSide, content.thumbnail, size, error)) {
        content.width = size.width;
        content.height = size.height;
    } else {
        content.thumbnail.clear();
        g_message("files: no thumbnail for a %s upload: %s", content.content_type.c_str(),
                  error.c_str());
    }
    return content;
}

File store_upload(Context& ctx, const Principal& owner, const std::string& name,
                  std::string_view data, const UploadContent& content, bool must_be_image,
                  bool is_public)
{
    if (must_be_image && content.thumbnail.empty())
        fail(400, "BADREQUEST", "the file is not a picture this server can decode");
    File file;
    file.id = random_id("f_", 16);
    file.app_id = owner.app.id;
    file.owner_id = owner.user.id;
    file.name = check_upload(ctx, name, data);
    file.content_type = content.content_type;
    file.size = static_cast<int64_t>(data.size());
    file.width = content.width;
    file.height = content.height;
    file.is_public = is_public;
    file.created_at = ctx.clock();
    const std::string& thumbnail = content.thumbnail;

    file.storage = write_stored(ctx, data);
    try {
        if (!thumbnail.empty())
            file.thumbnail = write_stored(ctx, thumbnail);
        ctx.store.create_file(file);
    } catch (...) {
        remove_stored(ctx, file.storage);
        remove_stored(ctx, file.thumbnail);
        throw;
    }
    return file;
}

std::optional<std::string> read_stored(const Context& ctx, const std::string& storage)
{
    if (storage.empty())
        return std::nullopt;
    g_autofree char* contents = nullptr;
    gsize length = 0;
    if (!g_file_get_contents((files_dir(ctx) + "/" + storage).c_str(), &contents, &length, nullptr))
        return std::nullopt;
    return std::string(contents, length);
}

}  // namespace zumzi
