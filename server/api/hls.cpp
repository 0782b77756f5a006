// /live/{room}/index.m3u8 and /live/{room}/segment-<ms>-NNNNN.ts: a room's HLS
// stream, the files the engine writes to <data_dir>/live/<room>/ while the
// "hls" output runs (see live_output.h). Only those two kinds of names are
// served, taken as they come in the URL (still percent-encoded): anything
// else, "../" or "%2e%2e" included, is 404 before the disk is looked at.
//
// Access: ?pin=<participant or viewer PIN>, ?token=<access token of a
// member> or Authorization: Bearer with either; wrong PINs count per client
// address like WHIP's. The playlist goes out rewritten so that each segment
// URI carries the same query (players do not add it themselves).
// Cache-Control: the playlist no-cache, segments immutable (the engine
// never writes a segment name twice, not even in a later stream).
#include <glib/gstdio.h>

#include "../live_output.h"
#include "../membership.h"
#include "../permissions.h"
#include "context.h"
#include "routes.h"

namespace zumzi {

namespace {

bool is_playlist(const std::string& name)
{
    return name == "index.m3u8";
}

// "segment" + digits and dashes + ".ts", as the engine names them
// ("segment-<start ms>-00042.ts": never the same name twice).
bool is_segment(const std::string& name)
{
    const std::string prefix = "segment";
    const std::string suffix = ".ts";
    if (name.size() <= prefix.size() + suffix.size() || name.size() > 64 ||
        name.compare(0, prefix.size(), prefix) != 0 ||
        name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0)
        return false;
    for (size_t i = prefix.size(); i < name.size() - suffix.size(); i++)
        if (!g_ascii_isdigit(name[i]) && name[i] != '-')
            return false;
    return true;
}

// The credential and the query that carries it to the segments ("" when it
// came as a header).
struct Credential {
    std::string value;
    std::string query;
};

Credential credential_of(Request& req)
{
    if (auto pin = req.query("pin"); pin && !pin->empty()) {
        g_autofree char* escaped = g_uri_escape_string(pin->c_str(), nullptr, FALSE);
        return {*pin, std::string("pin=") + escaped};
    }
    if (auto token = req.query("token"); token && !token->empty()) {
        g_autofree char* escaped = g_uri_escape_string(token->c_str(), nullptr, FALSE);
        return {*token, std::string("token=") + escaped};
    }
    if (auto bearer = Auth::bearer(req.header("Authorization")))
        return {*bearer, ""};
    fail(401, "AUTHFAIL", "give ?pin=<room PIN>, ?token=<access token> or Authorization: Bearer");
}

// A PIN of the room, or the access token of a member who may watch.
void authorize(Context& ctx, Request& req, const Room& room, const std::string& credential)
{
    const std::string key = "ip:" + req.client_ip();
    const int64_t now = ctx.clock();
    if (!ctx.pin_failures.allows(key, now))
        fail_rate_limited(ctx.pin_failures.retry_after(key, now),
                          "too many wrong PINs: try again later");
    if (role_for_pin(room, credential))
        return;
    auto principal = ctx.auth.user_from_token(credential);
    if (!principal || principal->app.id != room.app_id) {
        ctx.pin_failures.hit(key, now);
        fail(403, "BADPIN", "neither a PIN of this room nor an access token of its app");
    }
    auto member = find_membership(ctx, room, *principal);
    if (!member) {
        require_not_removed(ctx, room, principal->user.id);
        fail(403, "NOTMEMBER", "join the room first");
    }
    if (!has_permission(member->permissions, kSubscribe))
        fail(403, "PERMISSION", "you may not watch this room");
}

// Every URI line of the playlist gets `query` appended.
std::string rewrite_playlist(const std::string& text, const std::string& query)
{
    if (query.empty())
        return text;
    std::string out;
    size_t start = 0;
    while (start < text.size()) {
        size_t end = text.find('\n', start);
        std::string line = text.substr(start, end == std::string::npos ? end : end - start);
        start = end == std::string::npos ? text.size() : end + 1;
        const bool cr = !line.empty() && line.back() == '\r';
        if (cr)
            line.pop_back();
        if (!line.empty() && line[0] != '#')
            line += (line.find('?') == std::string::npos ? "?" : "&") + query;
        out += line;
        out += cr ? "\r\n" : "\n";
    }
    return out;
}

Reply serve(Context& ctx, Request& req)
{
    const std::string name = req.param(1);
    const bool playlist = is_playlist(name);
    // The name ends the path: no trailing slash (the router ignores one).
    const char* uri_path = g_uri_get_path(soup_server_message_get_uri(req.message()));
    if ((!playlist && !is_segment(name)) || !g_str_has_suffix(uri_path, ("/" + name).c_str()))
        fail(404, "NOTFOUND", "no such file");
    const Credential credential = credential_of(req);
    auto room = ctx.store.find_room_by_id(req.param(0));
    if (!room)
        fail(404, "NOTFOUND", "no such room");
    authorize(ctx, req, *room, credential.value);

    const std::string path = live_dir(ctx.config, room->id) + "/" + name;
    g_autoptr(GMappedFile) mapped = g_mapped_file_new(path.c_str(), FALSE, nullptr);
    if (!mapped)
        fail(404, "NOTFOUND", "the room is not live");
    SoupServerMessage* msg = req.message();
    SoupMessageHeaders* h = soup_server_message_get_response_headers(msg);
    soup_message_headers_replace(h, "X-Content-Type-Options", "nosniff");
    if (playlist) {
        const char* data = g_mapped_file_get_contents(mapped);
        const std::string text = data ? std::string(data, g_mapped_file_get_length(mapped)) : "";
        const std::string body = rewrite_playlist(text, credential.query);
        soup_message_headers_replace(h, "Cache-Control", "no-cache");
        soup_server_message_set_response(msg, "application/vnd.apple.mpegurl", SOUP_MEMORY_COPY,
                                         body.data(), body.size());
    } else {
        soup_message_headers_replace(h, "Cache-Control", "public, max-age=3600, immutable");
        soup_message_headers_set_content_type(h, "video/mp2t", nullptr);
        g_autoptr(GBytes) bytes = g_mapped_file_get_bytes(mapped);
        soup_message_body_append_bytes(soup_server_message_get_response_body(msg), bytes);
    }
    soup_server_message_set_status(msg, SOUP_STATUS_OK, nullptr);
    Reply reply;
    reply.deferred = true;  // answered here: bytes, not JSON
    return reply;
}

}  // namespace

void add_hls_routes(Router& router)
{
    router.add("GET", "/live/{room}/{file}", serve);
}

}  // namespace zumzi
