// GET /api/v1/conversations: the caller's recent conversations with their
// last message and unread count; GET /api/v1/conversations/{id}/messages:
// a conversation's history, paged backwards from the newest message.
#include "../chat.h"
#include "../permissions.h"
#include "context.h"
#include "routes.h"
#include "validate.h"

namespace zumzi {

namespace {

// A message id from the query string, or 0 when absent.
int64_t query_message_id(const std::optional<std::string>& value, const char* name)
{
    if (!value)
        return 0;
    gint64 n = 0;
    if (!g_ascii_string_to_signed(value->c_str(), 10, 1, G_MAXINT64, &n, nullptr))
        fail(400, "BADREQUEST", "'%s' must be a message id (a positive integer)", name);
    return n;
}

Reply list_conversations(Context& ctx, Request& req)
{
    Principal me = require_user(ctx, req);
    const int limit = query_int(req.query("limit"), "limit", 50, 1, 200);
    std::vector<JsonOut> list;
    for (const ConversationSummary& s :
         ctx.store.conversations_of(me.user.id, kChatReceive, limit)) {
        const Conversation c = ctx.chat->open(me, s.conversation);
        JsonOut out;
        out.set("id", c.id)
            .set("kind", c.kind)
            .set(c.kind == "dm" ? "user" : c.kind.c_str(), c.target)
            .set("name", c.name);
        if (s.last)
            out.set("last_message", message_json(*s.last));
        else
            out.set_null("last_message");
        out.set("unread", s.unread)
            .set("delivered_up_to", s.delivered_id)
            .set("read_up_to", s.read_id);
        if (c.kind == "dm")
            out.set("presence", ctx.chat->presence_json(c.target));
        list.push_back(std::move(out));
    }
    Reply reply;
    reply.body.set("conversations", std::move(list));
    return reply;
}

Reply conversation_messages(Context& ctx, Request& req)
{
    Principal me = require_user(ctx, req);
    const Conversation c = ctx.chat->open(me, req.param(0));
    if (!c.can_read)
        fail(403, "PERMISSION", "you may not read this conversation");
    const int64_t before = query_message_id(req.query("before"), "before");
    const int limit = query_int(req.query("limit"), "limit", 50, 1, 200);
    // One more than asked tells whether there is an older page.
    std::vector<Message> page = ctx.store.history(c.id, before, limit + 1, c.since);
    const bool more = static_cast<int>(page.size()) > limit;
    if (more)
        page.pop_back();
    std::vector<JsonOut> messages;
    for (const Message& m : page)
        messages.push_back(message_json(m));
    Reply reply;
    reply.body.set("conversation", c.id).set("messages", std::move(messages)).set("more", more);
    if (more)
        reply.body.set("next_before", page.back().id);
    else
        reply.body.set_null("next_before");
    return reply;
}

}  // namespace

void add_conversations_routes(Router& router)
{
    router.add("GET", "/api/v1/conversations", list_conversations);
    router.add("GET", "/api/v1/conversations/{id}/messages", conversation_messages);
}

}  // namespace zumzi
