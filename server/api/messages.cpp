// /api/v1/messages/{id}: read one message, delete it for everyone (its
// sender only). Sending happens on the WebSocket (docs/protocol.md).
#include "../chat.h"
#include "context.h"
#include "routes.h"

namespace zumzi {

namespace {

int64_t message_id(const std::string& value)
{
    gint64 n = 0;
    if (!g_ascii_string_to_signed(value.c_str(), 10, 1, G_MAXINT64, &n, nullptr))
        fail(404, "NOTFOUND", "no such message");
    return n;
}

Reply get_message(Context& ctx, Request& req)
{
    Principal me = require_user(ctx, req);
    auto message = ctx.store.find_message(me.app.id, message_id(req.param(0)));
    if (!message)
        fail(404, "NOTFOUND", "no such message");
    const Conversation c = ctx.chat->open(me, message->conversation);
    if (!c.can_read || message->created_at < c.since)
        fail(404, "NOTFOUND", "no such message");
    Reply reply;
    reply.body = message_json(*message);
    return reply;
}

Reply delete_message(Context& ctx, Request& req)
{
    Principal me = require_user(ctx, req);
    Reply reply;
    reply.body = message_json(ctx.chat->delete_message(me, message_id(req.param(0))));
    return reply;
}

}  // namespace

void add_messages_routes(Router& router)
{
    router.add("GET", "/api/v1/messages/{id}", get_message);
    router.add("DELETE", "/api/v1/messages/{id}", delete_message);
}

}  // namespace zumzi
