#include "chat.h"

#include <algorithm>
#include <set>

#include "api/validate.h"
#include "membership.h"
#include "permissions.h"
#include "ws_session.h"

namespace zumzi {

namespace {

const int kBacklogPage = 500;
// Deletions replayed to a client that was away, at most (the newest are
// in its history anyway).
const int kDeletionReplayLimit = 1000;
const size_t kMaxClientIdChars = 64;
const size_t kMaxPresenceUsers = 200;

JsonOut reply(const char* type, JsonNode* id)
{
    JsonOut out;
    out.set("type", type);
    if (id)
        out.set_node("id", id);
    return out;
}

// A message id given by a client: a positive integer.
int64_t required_message_id(const JsonFields& fields, const char* name)
{
    auto value = fields.int_field(name);
    if (!value || *value <= 0)
        fail(400, "BADREQUEST", "'%s' must be a message id (a positive integer)", name);
    return *value;
}

// The text of a new message: valid UTF-8, not only white space, at most
// `max_chars` characters (else 413 TOOLARGE). Line breaks and tabs are kept.
std::string check_message_text(const std::string& text, int max_chars)
{
    if (!g_utf8_validate(text.c_str(), static_cast<gssize>(text.size()), nullptr))
        fail(400, "BADREQUEST", "'text' is not valid UTF-8");
    bool blank = true;
    for (const char* p = text.c_str(); *p; p = g_utf8_next_char(p)) {
        const gunichar c = g_utf8_get_char(p);
        if (c != '\n' && c != '\t' && c != '\r' && g_unichar_iscntrl(c))
            fail(400, "BADREQUEST", "'text' must not contain control characters");
        if (!g_unichar_isspace(c))
            blank = false;
    }
    if (blank)
        fail(400, "BADREQUEST", "a message needs a non-empty 'text'");
    const glong chars = g_utf8_strlen(text.c_str(), -1);
    if (chars > max_chars)
        fail(413, "TOOLARGE", "'text' has %ld characters; at most %d are allowed", chars,
             max_chars);
    return text;
}

}  // namespace

std::string dm_conversation(const std::string& a, const std::string& b)
{
    return a < b ? "dm:" + a + ":" + b : "dm:" + b + ":" + a;
}

JsonOut message_json(const Message& message)
{
    JsonOut out;
    out.set("id", message.id)
        .set("conversation", message.conversation)
        .set("sender", message.sender_id)
        .set("client_id", message.client_id)
        .set("text", message.text)
        .set("created_at", message.created_at)
        .set("deleted", message.deleted_at != 0);
    if (message.forwarded_from)
        out.set("forwarded_from", message.forwarded_from);
    if (message.file) {
        const File& f = *message.file;
        JsonOut file;
        file.set("id", f.id)
            .set("name", f.name)
            .set("content_type", f.content_type)
            .set("size", f.size)
            .set("url", "/api/v1/files/" + f.id);
        if (!f.thumbnail.empty())
            file.set("thumbnail_url", "/api/v1/files/" + f.id + "/thumbnail")
                .set("width", f.width)
                .set("height", f.height);
        else
            file.set_null("thumbnail_url");
        out.set("file", std::move(file));
    }
    return out;
}

Chat::Chat(Context& ctx, Hub& hub) : ctx_(ctx), hub_(hub) {}

// ---- sessions --------------------------------------------------------------

void Chat::attach(WsSession& session)
{
    if (clients_.count(session.id()))
        return;
    const std::string& user_id = session.principal().user.id;
    Client client;
    client.session = &session;
    client.handle =
        hub_.subscribe(user_topic(user_id), [s = &session](const std::string& m) { s->send(m); });
    clients_.emplace(session.id(), client);
    try {
        if (presence_.add(user_id)) {
            JsonOut event = presence_json(user_id, "presence");
            publish(ctx_.store.peers_of(user_id), to_json_text(std::move(event)));
        }
        send_backlog(session);
    } catch (const StoreError& e) {
        // The session stays up; what it missed comes with the next connection.
        g_warning("chat: could not send the backlog of %s: %s", user_id.c_str(), e.what());
        JsonOut inner;
        inner.set("code", "INTERNAL").set("message", "the messages kept for you could not be read");
        JsonOut out;
        out.set("type", "error").set("error", std::move(inner));
        session.send(to_json_text(std::move(out)));
    }
}

void Chat::detach(WsSession& session)
{
    auto it = clients_.find(session.id());
    if (it == clients_.end())
        return;
    hub_.unsubscribe(it->second.handle);
    clients_.erase(it);
    const std::string& user_id = session.principal().user.id;
    if (presence_.remove(user_id)) {
        calls_.user_offline(user_id);
        try {
            ctx_.store.set_last_seen(user_id, ctx_.clock());
            JsonOut event = presence_json(user_id, "presence");
            publish(ctx_.store.peers_of(user_id), to_json_text(std::move(event)));
        } catch (const StoreError& e) {
            g_warning("chat: could not store the last-seen time of %s: %s", user_id.c_str(),
                      e.what());
        }
    }
}

// Everything the user's devices have not confirmed yet, in id order: the
// client acknowledges with "receipt" (delivered), so nothing is lost if the
// connection drops before the frames arrive; a confirmed message is never
// sent again.
void Chat::send_backlog(WsSession& session)
{
    const std::string& user_id = session.principal().user.id;
    int64_t after = 0;
    int64_t count = 0;
    for (;;) {
        const std::vector<Message> page =
            ctx_.store.pending_messages(user_id, kChatReceive, after, kBacklogPage);
        for (const Message& m : page) {
            JsonOut event;
            event.set("type", "message").set("message", message_json(m));
            session.send(to_json_text(std::move(event)));
            after = m.id;
            count++;
        }
        if (static_cast<int>(page.size()) < kBacklogPage)
            break;
    }
    // Deletions the user's devices may have missed: since the user was last
    // seen (a deletion heard twice changes nothing on the client).
    if (const int64_t since = ctx_.store.last_seen(user_id); since > 0) {
        for (const Message& m :
             ctx_.store.deleted_since(user_id, kChatReceive, since, kDeletionReplayLimit)) {
            JsonOut event;
            event.set("type", "message_deleted")
                .set("conversation", m.conversation)
                .set("message_id", m.id);
            session.send(to_json_text(std::move(event)));
        }
    }
    JsonOut done;
    done.set("type", "synced").set("count", count);
    session.send(to_json_text(std::move(done)));
}

uint64_t Chat::handle_of(const WsSession& session) const
{
    auto it = clients_.find(session.id());
    return it == clients_.end() ? 0 : it->second.handle;
}

void Chat::publish(const std::vector<std::string>& users, const std::string& text, uint64_t skip)
{
    for (const std::string& user : users)
        hub_.publish(user_topic(user), text, skip);
}

// ---- conversations -----------------------------------------------------------

Conversation Chat::open(const Principal& me, const std::string& id)
{
    Conversation c;
    c.id = id;
    if (g_str_has_prefix(id.c_str(), "dm:")) {
        const size_t colon = id.find(':', 3);
        if (colon == std::string::npos)
            fail(404, "NOTFOUND", "no such conversation");
        const std::string a = id.substr(3, colon - 3);
        const std::string b = id.substr(colon + 1);
        if (a != me.user.id && b != me.user.id)
            fail(404, "NOTFOUND", "no such conversation");
        const std::string peer = a == me.user.id ? b : a;
        auto user = ctx_.store.find_user(me.app.id, peer);
        if (!user || peer == me.user.id || dm_conversation(a, b) != id)
            fail(404, "NOTFOUND", "no such conversation");
        c.kind = "dm";
        c.target = peer;
        c.name = user->name;
        c.can_send = c.can_read = true;
    } else if (g_str_has_prefix(id.c_str(), "group:")) {
        auto group = ctx_.store.find_group(me.app.id, id.substr(6));
        if (!group)
            fail(404, "NOTFOUND", "no such group");
        auto member = ctx_.store.find_group_member(group->id, me.user.id);
        if (!member)
            fail(403, "NOTMEMBER", "you are not a member of this group");
        c.kind = "group";
        c.target = group->id;
        c.name = group->name;
        c.since = member->joined_at;
        c.can_send = c.can_read = true;
    } else if (g_str_has_prefix(id.c_str(), "room:")) {
        const Room room = load_room(ctx_, me, id.substr(5));
        const Member member = require_membership(ctx_, room, me);
        c.kind = "room";
        c.target = room.id;
        c.name = room.name;
        c.since = member.joined_at;
        c.can_send = has_permission(member.permissions, kChatSend);
        c.can_read = has_permission(member.permissions, kChatReceive);
    } else {
        fail(404, "NOTFOUND", "no such conversation");
    }
    return c;
}

std::vector<std::string> Chat::recipients(const Conversation& conversation)
{
    std::vector<std::string> out;
    if (conversation.kind == "dm") {
        const size_t colon = conversation.id.find(':', 3);
        out.push_back(conversation.id.substr(3, colon - 3));
        out.push_back(conversation.id.substr(colon + 1));
    } else if (conversation.kind == "group") {
        for (const GroupMember& m : ctx_.store.list_group_members(conversation.target))
            out.push_back(m.user_id);
    } else if (conversation.kind == "room") {
        for (const Member& m : ctx_.store.list_members(conversation.target))
            if (has_permission(m.permissions, kChatReceive))
                out.push_back(m.user_id);
    }
    return out;
}

// The conversation a frame names: "user" (1-1), "group", "room" or
// "conversation" (any kind), exactly one of them.
Conversation Chat::target_of(const Principal& me, const JsonFields& fields)
{
    const char* names[] = {"user", "group", "room", "conversation"};
    const char* given = nullptr;
    for (const char* name : names) {
        if (fields.has_field(name)) {
            if (given)
                fail(400, "BADREQUEST",
                     "give only one of 'user', 'group', 'room', "
                     "'conversation'");
            given = name;
        }
    }
    if (!given)
        fail(400, "BADREQUEST", "name the recipient: 'user', 'group', 'room' or 'conversation'");
    const std::string value = fields.required_string(given);
    if (value.empty() || value.size() > 200)
        fail(400, "BADREQUEST", "'%s' must be an id", given);
    if (g_str_equal(given, "user")) {
        if (value == me.user.id)
            fail(400, "BADREQUEST", "you cannot send to yourself");
        if (!ctx_.store.find_user(me.app.id, value))
            fail(404, "NOTFOUND", "no such user");
        return open(me, dm_conversation(me.user.id, value));
    }
    if (g_str_equal(given, "group"))
        return open(me, "group:" + value);
    if (g_str_equal(given, "room"))
        return open(me, "room:" + value);
    return open(me, value);
}

JsonOut Chat::presence_json(const std::string& user_id, const char* type)
{
    JsonOut out;
    if (type)
        out.set("type", type);
    const bool online = presence_.online(user_id);
    out.set("user", user_id).set("online", online);
    const int64_t seen = online ? 0 : ctx_.store.last_seen(user_id);
    if (seen)
        out.set("last_seen", seen);
    else
        out.set_null("last_seen");
    return out;
}

Message Chat::delete_message(const Principal& me, int64_t message_id, uint64_t skip)
{
    auto message = ctx_.store.find_message(me.app.id, message_id);
    if (!message)
        fail(404, "NOTFOUND", "no such message");
    const Conversation c = open(me, message->conversation);
    if (!c.can_read || me.user.id != message->sender_id)
        fail(403, "PERMISSION", "only the sender may delete a message");
    if (ctx_.store.delete_message(message->id, ctx_.clock())) {
        JsonOut event;
        event.set("type", "message_deleted")
            .set("conversation", message->conversation)
            .set("message_id", message->id);
        publish(recipients(c), to_json_text(std::move(event)), skip);
    }
    return *ctx_.store.find_message(me.app.id, message_id);
}

// ---- the WebSocket protocol ----------------------------------------------------

bool Chat::handles(const std::string& type) const
{
    return type == "send" || type == "receipt" || type == "typing" || type == "delete" ||
           type == "presence" || calls_.handles(type);
}

void Chat::handle(WsSession& session, const std::string& type, JsonNode* id,
                  const JsonFields& fields)
{
    if (type == "send")
        handle_send(session, id, fields);
    else if (type == "receipt")
        handle_receipt(session, id, fields);
    else if (type == "typing")
        handle_typing(session, id, fields);
    else if (type == "delete")
        handle_delete(session, id, fields);
    else if (type == "presence")
        handle_presence(session, id, fields);
    else if (calls_.handles(type))
        calls_.handle(session, type, id, fields);
}

// A user who blocked the caller gets no 1-1 messages (nor typing) from them.
void Chat::check_not_blocked(const Principal& me, const Conversation& c)
{
    if (c.kind == "dm" && ctx_.store.is_blocked(me.user.id, c.target))
        fail(403, "BLOCKED", "this user does not accept your messages");
}

void Chat::handle_send(WsSession& session, JsonNode* id, const JsonFields& fields)
{
    const Principal& me = session.principal();
    const std::string client_id = fields.required_string("client_id");
    if (client_id.empty() || client_id.size() > kMaxClientIdChars ||
        !g_utf8_validate(client_id.c_str(), static_cast<gssize>(client_id.size()), nullptr))
        fail(400, "BADREQUEST", "'client_id' must be 1 to %zu bytes of UTF-8", kMaxClientIdChars);
    const Conversation c = target_of(me, fields);
    if (!c.can_send)
        fail(403, "PERMISSION", "you may not post in this conversation");
    check_not_blocked(me, c);

    Message message;
    message.app_id = me.app.id;
    message.conversation = c.id;
    message.sender_id = me.user.id;
    message.client_id = client_id;
    message.created_at = ctx_.clock();
    auto text = fields.string_field("text");
    if (fields.has_field("forward")) {
        if (text)
            fail(400, "BADREQUEST", "a forwarded message takes no 'text'");
        const int64_t source_id = required_message_id(fields, "forward");
        auto source = ctx_.store.find_message(me.app.id, source_id);
        std::optional<Conversation> from;
        if (source) {
            try {
                from = open(me, source->conversation);
            } catch (const ApiError&) {
            }
        }
        if (!source || !from || !from->can_read || source->created_at < from->since ||
            source->deleted_at)
            fail(404, "NOTFOUND", "no such message to forward");
        message.text = source->text;
        message.file = source->file;
        message.forwarded_from = source->forwarded_from ? source->forwarded_from : source->id;
    } else {
        if (auto file_id = fields.string_field("file")) {
            // An upload of the sender's, or a file they may read.
            auto file = ctx_.store.find_file(me.app.id, *file_id);
            if (!file || !ctx_.store.file_readable(*file, me.user.id, kChatReceive))
                fail(404, "NOTFOUND", "no such file");
            message.file = file;
        }
        if (!text && !message.file)
            fail(400, "BADREQUEST", "a message needs a non-empty 'text' or a 'file'");
        if (text && (!message.file || !text->empty()))
            message.text = check_message_text(*text, ctx_.config.max_message_chars);
    }

    const std::vector<std::string> cursors = c.kind == "dm"
                                                 ? std::vector<std::string>{me.user.id, c.target}
                                                 : std::vector<std::string>{};
    auto [stored, created] = ctx_.store.insert_message(message, cursors);
    if (!created && stored.conversation != c.id)
        fail(409, "EXISTS", "this 'client_id' was used for a message to another conversation");

    // Committed: now the sender may hear of it, and so may everyone else.
    JsonOut out = reply("sent", id);
    out.set("message", message_json(stored)).set("duplicate", !created);
    session.send(to_json_text(std::move(out)));
    if (created) {
        JsonOut event;
        event.set("type", "message").set("message", message_json(stored));
        publish(recipients(c), to_json_text(std::move(event)), handle_of(session));
    }
}

void Chat::handle_receipt(WsSession& session, JsonNode* id, const JsonFields& fields)
{
    const Principal& me = session.principal();
    const Conversation c = open(me, fields.required_string("conversation"));
    if (!c.can_read)
        fail(403, "PERMISSION", "you may not read this conversation");
    const std::string status = fields.required_string("status");
    if (status != "delivered" && status != "read")
        fail(400, "BADREQUEST", "'status' must be \"delivered\" or \"read\"");
    const int64_t up_to = required_message_id(fields, "up_to");
    if (up_to > ctx_.store.last_message_id(c.id))
        fail(400, "BADREQUEST", "'up_to' is past the last message of the conversation");

    const bool read = status == "read";
    const ConversationCursor before = ctx_.store.cursor(c.id, me.user.id);
    const ConversationCursor after = ctx_.store.advance_cursor(c.id, me.user.id, up_to, read);
    if (id) {
        JsonOut out = reply("ack", id);
        session.send(to_json_text(std::move(out)));
    }
    const bool moved =
        read ? after.read_id != before.read_id : after.delivered_id != before.delivered_id;
    if (!moved)
        return;
    JsonOut event;
    event.set("type", "receipt")
        .set("conversation", c.id)
        .set("user", me.user.id)
        .set("status", status)
        .set("up_to", read ? after.read_id : after.delivered_id);
    publish(recipients(c), to_json_text(std::move(event)), handle_of(session));
}

void Chat::handle_typing(WsSession& session, JsonNode* id, const JsonFields& fields)
{
    const Principal& me = session.principal();
    const Conversation c = target_of(me, fields);
    if (!c.can_send)
        fail(403, "PERMISSION", "you may not post in this conversation");
    check_not_blocked(me, c);
    auto typing = fields.bool_field("typing");
    if (!typing)
        fail(400, "BADREQUEST", "'typing' must be true or false");
    if (id)
        session.send(to_json_text(reply("ack", id)));
    JsonOut event;
    event.set("type", "typing")
        .set("conversation", c.id)
        .set("user", me.user.id)
        .set("typing", *typing);
    std::vector<std::string> others = recipients(c);
    others.erase(std::remove(others.begin(), others.end(), me.user.id), others.end());
    publish(others, to_json_text(std::move(event)));
}

void Chat::handle_delete(WsSession& session, JsonNode* id, const JsonFields& fields)
{
    const Message message = delete_message(
        session.principal(), required_message_id(fields, "message"), handle_of(session));
    JsonOut out = reply("deleted", id);
    out.set("message", message_json(message));
    session.send(to_json_text(std::move(out)));
}

void Chat::handle_presence(WsSession& session, JsonNode* id, const JsonFields& fields)
{
    const Principal& me = session.principal();
    auto users = fields.string_list_field("users");
    if (!users || users->size() > kMaxPresenceUsers)
        fail(400, "BADREQUEST", "'users' must be a list of at most %zu user ids",
             kMaxPresenceUsers);
    const std::vector<std::string> peer_list = ctx_.store.peers_of(me.user.id);
    const std::set<std::string> peers(peer_list.begin(), peer_list.end());
    std::vector<JsonOut> out;
    for (const std::string& user : *users)
        if (user == me.user.id || peers.count(user))
            out.push_back(presence_json(user));
    JsonOut r = reply("presence", id);
    r.set("users", std::move(out));
    session.send(to_json_text(std::move(r)));
}

}  // namespace zumzi
