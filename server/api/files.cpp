// /api/v1/files: upload a file (raw body with ?name=, or multipart/form-data
// with a "file" part), download it and its thumbnail. A file can be read by
// its uploader and by the members of the conversations it was sent to.
// Uploads may be up to [chat] max_upload_bytes (the server lets bodies of
// these paths grow that far, see server.cpp).
#include "../files.h"

#include <sys/socket.h>

#include "../background.h"
#include "../permissions.h"
#include "context.h"
#include "routes.h"
#include "uploads.h"
#include "views.h"

namespace zumzi {

namespace {

// True when the client already closed its side: a chunked body that ended
// without its last chunk reaches the handler anyway, so such an upload is
// treated as cut short. (A client waiting for its answer keeps the socket
// open; a peek then finds nothing to read.)
bool client_went_away(SoupServerMessage* msg)
{
    GSocket* socket = soup_server_message_get_socket(msg);
    if (!socket)
        return false;
    char byte = 0;
    const ssize_t n = recv(g_socket_get_fd(socket), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
    return n == 0;
}

}  // namespace

Reply store_upload_then(Context& ctx, Request& req, const Principal& owner, bool must_be_image,
                        bool is_public, std::function<Reply(const File& file)> then)
{
    auto upload = std::make_shared<Upload>(read_upload(req));
    check_upload(ctx, upload->name, upload->data);  // fails fast, before any decoding
    auto content = std::make_shared<UploadContent>();
    return answer_after(
        req, ctx.alive, [upload, content]() { *content = examine_upload(upload->data); },
        [&ctx, upload, content, owner, must_be_image, is_public, then]() {
            return then(store_upload(ctx, owner, upload->name, upload->data, *content,
                                     must_be_image, is_public));
        });
}

Upload read_upload(Request& req)
{
    SoupMessageHeaders* headers = soup_server_message_get_request_headers(req.message());
    // A body cut short (the client went away) is never stored.
    if (soup_message_headers_get_encoding(headers) == SOUP_ENCODING_CONTENT_LENGTH &&
        soup_message_headers_get_content_length(headers) != static_cast<goffset>(req.body().size()))
        fail(400, "BADREQUEST", "the upload is incomplete");
    if (client_went_away(req.message()))
        fail(400, "BADREQUEST", "the upload is incomplete: the client went away");
    const char* type = soup_message_headers_get_content_type(headers, nullptr);
    Upload upload;
    if (type && g_ascii_strcasecmp(type, "multipart/form-data") == 0) {
        g_autoptr(GBytes) body = g_bytes_new(req.body().data(), req.body().size());
        SoupMultipart* multipart = soup_multipart_new_from_message(headers, body);
        if (!multipart)
            fail(400, "BADREQUEST", "the multipart body cannot be parsed");
        bool found = false;
        for (int i = 0; i < soup_multipart_get_length(multipart) && !found; i++) {
            SoupMessageHeaders* part_headers = nullptr;
            GBytes* part_body = nullptr;
            if (!soup_multipart_get_part(multipart, i, &part_headers, &part_body))
                continue;
            char* disposition = nullptr;
            GHashTable* params = nullptr;
            if (soup_message_headers_get_content_disposition(part_headers, &disposition, &params)) {
                const char* field = static_cast<const char*>(g_hash_table_lookup(params, "name"));
                if (field && g_str_equal(field, "file")) {
                    const char* filename =
                        static_cast<const char*>(g_hash_table_lookup(params, "filename"));
                    upload.name = filename ? filename : "";
                    gsize size = 0;
                    const char* data = static_cast<const char*>(g_bytes_get_data(part_body, &size));
                    upload.data.assign(data ? data : "", size);
                    found = true;
                }
                g_free(disposition);
                g_hash_table_destroy(params);
            }
        }
        soup_multipart_free(multipart);
        if (!found)
            fail(400, "BADREQUEST", "the multipart body has no part named \"file\"");
    } else {
        upload.name = req.query("name").value_or("");
        upload.data.assign(req.body());
    }
    return upload;
}

JsonOut file_json(const File& file)
{
    JsonOut out;
    out.set("id", file.id)
        .set("name", file.name)
        .set("content_type", file.content_type)
        .set("size", file.size)
        .set("url", "/api/v1/files/" + file.id);
    if (!file.thumbnail.empty())
        out.set("thumbnail_url", "/api/v1/files/" + file.id + "/thumbnail")
            .set("width", file.width)
            .set("height", file.height);
    else
        out.set_null("thumbnail_url");
    return out;
}

namespace {

File readable_file(Context& ctx, Request& req, const Principal& me)
{
    auto file = ctx.store.find_file(me.app.id, req.param(0));
    if (!file)
        fail(404, "NOTFOUND", "no such file");
    if (!ctx.store.file_readable(*file, me.user.id, kChatReceive))
        fail(403, "PERMISSION", "the file was not sent to a conversation of yours");
    return *file;
}

// Bytes instead of JSON: the response is complete when the handler returns,
// so the server sends it as it is (a "deferred" reply that is already done).
Reply send_bytes(Request& req, const std::string& bytes, const std::string& content_type,
                 const std::string& filename)
{
    SoupServerMessage* msg = req.message();
    SoupMessageHeaders* h = soup_server_message_get_response_headers(msg);
    soup_message_headers_replace(h, "X-Content-Type-Options", "nosniff");
    soup_message_headers_replace(h, "Cache-Control", "private, max-age=86400");
    if (!filename.empty()) {
        g_autoptr(GHashTable) params = g_hash_table_new(g_str_hash, g_str_equal);
        g_hash_table_insert(params, const_cast<char*>("filename"),
                            const_cast<char*>(filename.c_str()));
        soup_message_headers_set_content_disposition(h, "attachment", params);
    }
    soup_server_message_set_response(msg, content_type.c_str(), SOUP_MEMORY_COPY, bytes.data(),
                                     bytes.size());
    soup_server_message_set_status(msg, SOUP_STATUS_OK, nullptr);
    Reply reply;
    reply.deferred = true;
    return reply;
}

Reply upload_file(Context& ctx, Request& req)
{
    Principal me = require_user(ctx, req);
    return store_upload_then(ctx, req, me, false, false, [](const File& file) {
        Reply reply;
        reply.status = 201;
        reply.body = file_json(file);
        reply.location = "/api/v1/files/" + file.id;
        return reply;
    });
}

Reply get_file_info(Context& ctx, Request& req)
{
    Principal me = require_user(ctx, req);
    Reply reply;
    reply.body = file_json(readable_file(ctx, req, me));
    return reply;
}

Reply download_file(Context& ctx, Request& req)
{
    Principal me = require_user(ctx, req);
    const File file = readable_file(ctx, req, me);
    auto bytes = read_stored(ctx, file.storage);
    if (!bytes)
        throw StoreError("the bytes of file " + file.id + " are missing");
    return send_bytes(req, *bytes, file.content_type, file.name);
}

Reply download_thumbnail(Context& ctx, Request& req)
{
    Principal me = require_user(ctx, req);
    const File file = readable_file(ctx, req, me);
    if (file.thumbnail.empty())
        fail(404, "NOTFOUND", "this file has no thumbnail");
    auto bytes = read_stored(ctx, file.thumbnail);
    if (!bytes)
        throw StoreError("the thumbnail of file " + file.id + " is missing");
    return send_bytes(req, *bytes, "image/jpeg", "");
}

// The profile photo goes the same way as any upload: it must decode as a
// picture, its 100x100 thumbnail becomes the photo (public within the app).
Reply upload_profile_photo(Context& ctx, Request& req)
{
    Principal me = require_user(ctx, req);
    return store_upload_then(ctx, req, me, true, true, [&ctx, me](const File& file) {
        // The profile as it is now: it may have changed while the picture decoded.
        auto user = ctx.store.find_user(me.app.id, me.user.id);
        if (!user)
            fail(401, "AUTHFAIL", "this account no longer exists");
        user->photo_url = "/api/v1/files/" + file.id + "/thumbnail";
        ctx.store.update_profile(*user);
        Reply reply;
        reply.body = user_json(*user, true);
        reply.body.set("photo", file_json(file));
        return reply;
    });
}

}  // namespace

void add_files_routes(Router& router)
{
    router.add("POST", "/api/v1/files", upload_file);
    router.add("GET", "/api/v1/files/{id}/info", get_file_info);
    router.add("GET", "/api/v1/files/{id}", download_file);
    router.add("GET", "/api/v1/files/{id}/thumbnail", download_thumbnail);
    router.add("POST", "/api/v1/profile/photo", upload_profile_photo);
}

}  // namespace zumzi
