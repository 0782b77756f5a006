// GET /api/v1/conversations: the caller's recent conversations with their
// last message, unread count and the others' receipts;
// GET /api/v1/conversations/{id}/messages: a conversation's history, paged
// backwards from the newest message (or forwards after a message id).
#include <algorithm>

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

// The most members whose receipts a conversation lists.
const int kMaxReceipts = 100;

// The other members' receipts: what the caller's own messages show
// (delivered, read) as soon as the conversation is on screen.
std::vector<JsonOut> receipts_json(Context& ctx, const Conversation& c, const std::string& me)
{
    std::vector<JsonOut> out;
    for (const MemberCursor& m : ctx.store.cursors_of_others(c.id, me, kMaxReceipts)) {
        JsonOut r;
        r.set("user", m.user_id)
            .set("delivered_up_to", std::max(m.delivered_id, m.read_id))
            .set("read_up_to", m.read_id);
        out.push_back(std::move(r));
    }
    return out;
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
            .set("read_up_to", s.read_id)
            .set("receipts", receipts_json(ctx, c, me.user.id));
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
    const int64_t after = query_message_id(req.query("after"), "after");
    if (before && after)
        fail(400, "BADREQUEST", "give 'before' or 'after', not both");
    const int limit = query_int(req.query("limit"), "limit", 50, 1, 200);
    // One more than asked tells whether there is a further page.
    std::vector<Message> page = after ? ctx.store.history_after(c.id, after, limit + 1, c.since)
                                      : ctx.store.history(c.id, before, limit + 1, c.since);
    const bool more = static_cast<int>(page.size()) > limit;
    if (more)
        page.pop_back();
    std::vector<JsonOut> messages;
    for (const Message& m : page)
        messages.push_back(message_json(m));
    Reply reply;
    reply.body.set("conversation", c.id).set("messages", std::move(messages)).set("more", more);
    const char* next = after ? "next_after" : "next_before";
    if (more)
        reply.body.set(next, page.back().id);
    else
        reply.body.set_null(next);
    reply.body.set("receipts", receipts_json(ctx, c, me.user.id));
    return reply;
}

}  // namespace

void add_conversations_routes(Router& router)
{
    router.add("GET", "/api/v1/conversations", list_conversations);
    router.add("GET", "/api/v1/conversations/{id}/messages", conversation_messages);
}

}  // namespace zumzi
