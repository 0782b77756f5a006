// /api/v1/rooms/{room}/recordings: the recordings of a room's composite
// (started as live output "record", see api/live.cpp): listed and
// downloaded by members with 'record', deleted by moderators. Downloads
// take the access token as ?token= too, so a plain link works.
#include <glib/gstdio.h>

#include "../live_output.h"
#include "context.h"
#include "routes.h"

namespace zumzi {

namespace {

LiveOutputs& live_outputs(Context& ctx)
{
    if (!ctx.live_outputs)
        fail(500, "INTERNAL", "the server could not complete the request");
    return *ctx.live_outputs;
}

JsonOut recording_json(const Recording& r)
{
    JsonOut out;
    out.set("id", r.id)
        .set("started_at", r.started_at)
        .set("duration_ms", r.duration_ms)
        .set("size", r.size)
        .set("state", r.state)
        .set("url", "/api/v1/rooms/" + r.room_id + "/recordings/" + r.id + "/file");
    return out;
}

Reply list_recordings(Context& ctx, Request& req)
{
    Principal me = require_user(ctx, req);
    std::vector<JsonOut> list;
    for (const Recording& r : live_outputs(ctx).recordings(me, req.param(0)))
        list.push_back(recording_json(r));
    Reply reply;
    reply.body.set("recordings", std::move(list));
    return reply;
}

// The access token of Authorization: Bearer, or of ?token=.
Principal user_of_download(Context& ctx, Request& req)
{
    if (req.header("Authorization"))
        return require_user(ctx, req);
    auto token = req.query("token");
    if (!token || token->empty())
        fail(401, "AUTHFAIL", "missing 'Authorization: Bearer <access token>' or ?token=");
    auto principal = ctx.auth.user_from_token(*token);
    if (!principal)
        fail(401, "AUTHFAIL", "the access token is unknown, expired or revoked");
    return *principal;
}

Reply download_recording(Context& ctx, Request& req)
{
    Principal me = user_of_download(ctx, req);
    auto [recording, path] = live_outputs(ctx).recording_file(me, req.param(0), req.param(1));
    g_autoptr(GMappedFile) mapped = g_mapped_file_new(path.c_str(), FALSE, nullptr);
    if (!mapped)
        fail(404, "NOTFOUND", "the recording's file is missing");
    SoupServerMessage* msg = req.message();
    SoupMessageHeaders* h = soup_server_message_get_response_headers(msg);
    soup_message_headers_replace(h, "X-Content-Type-Options", "nosniff");
    soup_message_headers_replace(h, "Cache-Control", "private, no-cache");
    const std::string filename = recording.id + ".mp4";
    g_autoptr(GHashTable) params = g_hash_table_new(g_str_hash, g_str_equal);
    g_hash_table_insert(params, const_cast<char*>("filename"),
                        const_cast<char*>(filename.c_str()));
    soup_message_headers_set_content_disposition(h, "attachment", params);
    soup_message_headers_set_content_type(h, "video/mp4", nullptr);
    g_autoptr(GBytes) bytes = g_mapped_file_get_bytes(mapped);
    soup_message_body_append_bytes(soup_server_message_get_response_body(msg), bytes);
    soup_server_message_set_status(msg, SOUP_STATUS_OK, nullptr);
    Reply reply;
    reply.deferred = true;  // answered here: bytes, not JSON
    return reply;
}

Reply delete_recording(Context& ctx, Request& req)
{
    Principal me = require_user(ctx, req);
    live_outputs(ctx).delete_recording(me, req.param(0), req.param(1));
    soup_server_message_set_status(req.message(), SOUP_STATUS_NO_CONTENT, nullptr);
    Reply reply;
    reply.deferred = true;  // answered here: no body
    return reply;
}

}  // namespace

void add_recordings_routes(Router& router)
{
    router.add("GET", "/api/v1/rooms/{id}/recordings", list_recordings);
    router.add("GET", "/api/v1/rooms/{id}/recordings/{rec}/file", download_recording);
    router.add("DELETE", "/api/v1/rooms/{id}/recordings/{rec}", delete_recording);
}

}  // namespace zumzi
