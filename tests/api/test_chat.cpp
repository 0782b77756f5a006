// Messaging over the WebSocket (/api/v1/ws) and its REST side: 1-1, group
// and room-chat messages between two and three real clients, the "sent"
// acknowledgement, idempotent resends, delivery and read receipts, typing,
// presence, offline delivery on reconnect, history paged backwards, recent
// conversations with unread counts, delete for everyone, forward, and every
// bad input answered with an error that stores nothing.
#include <string>
#include <vector>

#include "ws_client.h"

using namespace zumzi_test;

namespace {

std::string send_frame(const std::string& req_id, const std::string& to_field,
                       const std::string& to, const std::string& client_id, const std::string& text)
{
    return "{\"type\":\"send\",\"id\":" + json_string(req_id) + ",\"" + to_field +
           "\":" + json_string(to) + ",\"client_id\":" + json_string(client_id) +
           ",\"text\":" + json_string(text) + "}";
}

// Sends a text and checks it was acknowledged; returns the "sent" reply.
Response send_text(WsClient& client, const std::string& to_field, const std::string& to,
                   const std::string& client_id, const std::string& text)
{
    static int n = 0;
    const std::string id = "s" + std::to_string(++n);
    Response sent = client.request(send_frame(id, to_field, to, client_id, text), id);
    CHECK_EQUAL_TEXT(std::string("sent"), sent.str("type"), sent.body.c_str());
    CHECK_TRUE(sent.num("message.id") > 0);
    return sent;
}

Response receipt(WsClient& client, const std::string& conversation, const char* status,
                 int64_t up_to)
{
    static int n = 0;
    const std::string id = "r" + std::to_string(++n);
    return client.request("{\"type\":\"receipt\",\"id\":" + json_string(id) +
                              ",\"conversation\":" + json_string(conversation) + ",\"status\":\"" +
                              status + "\",\"up_to\":" + std::to_string(up_to) + "}",
                          id);
}

void check_ws_error(const Response& r, const char* code)
{
    CHECK_EQUAL_TEXT(std::string("error"), r.str("type"), r.body.c_str());
    CHECK_EQUAL_TEXT(std::string(code), r.str("error.code"), r.body.c_str());
    CHECK_TRUE(!r.str("error.message").empty());
}

std::string dm(const TestUser& a, const TestUser& b)
{
    return a.id < b.id ? "dm:" + a.id + ":" + b.id : "dm:" + b.id + ":" + a.id;
}

}  // namespace

TEST_GROUP(Chat)
{
    std::unique_ptr<TestServer> server;
    TestUser ann, bob, cat;
    void setup() override
    {
        server = std::make_unique<TestServer>([](zumzi::Config& c) { c.max_message_chars = 50; });
        ann = server->make_user("ann@example.com", "Ann");
        bob = server->make_user("bob@example.com", "Bob");
        cat = server->make_user("cat@example.com", "Cat");
    }
    void teardown() override
    {
        server.reset();
    }

    std::string create_group(const TestUser& owner, const std::vector<std::string>& members)
    {
        std::string list;
        for (const std::string& m : members)
            list += (list.empty() ? "" : ",") + json_string(m);
        Response r = server->post("/api/v1/groups",
                                  "{\"name\":\"Trio\",\"members\":[" + list + "]}", owner.token);
        CHECK_STATUS(r, 201);
        return r.str("id");
    }

    Response history(const TestUser& user, const std::string& conversation,
                     const std::string& query = "")
    {
        return server->get("/api/v1/conversations/" + conversation + "/messages" + query,
                           user.token);
    }
};

TEST(Chat, DirectMessageIsAckedDeliveredAndReadWithReceipts)
{
    WsClient a(*server, ann.token);
    WsClient b(*server, bob.token);
    CHECK_EQUAL(0, a.next("synced").num("count"));
    CHECK_EQUAL(0, b.next("synced").num("count"));

    Response sent = send_text(a, "user", bob.id, "c-1", "hello bob");
    const int64_t id = sent.num("message.id");
    CHECK_EQUAL(dm(ann, bob), sent.str("message.conversation"));
    CHECK_TRUE(sent.boolean_is("duplicate", false));

    Response got = b.next("message");
    CHECK_EQUAL(id, got.num("message.id"));
    CHECK_EQUAL("hello bob", got.str("message.text"));
    CHECK_EQUAL(ann.id, got.str("message.sender"));
    CHECK_EQUAL("c-1", got.str("message.client_id"));

    // Unread until bob reads it.
    Response list = server->get("/api/v1/conversations", bob.token);
    CHECK_STATUS(list, 200);
    CHECK_EQUAL(1, list.count("conversations"));
    CHECK_EQUAL(dm(ann, bob), list.str("conversations.0.id"));
    CHECK_EQUAL("dm", list.str("conversations.0.kind"));
    CHECK_EQUAL(ann.id, list.str("conversations.0.user"));
    CHECK_EQUAL("Ann", list.str("conversations.0.name"));
    CHECK_EQUAL(1, list.num("conversations.0.unread"));
    CHECK_EQUAL(id, list.num("conversations.0.last_message.id"));
    CHECK_TRUE(list.boolean_is("conversations.0.presence.online", true));

    // Nothing confirmed yet: no receipts of Bob's for Ann's message.
    CHECK_EQUAL(0, server->get("/api/v1/conversations", ann.token).count("conversations.0.receipts"));

    CHECK_EQUAL("ack", receipt(b, dm(ann, bob), "delivered", id).str("type"));
    Response delivered = a.next("receipt");
    CHECK_EQUAL("delivered", delivered.str("status"));
    CHECK_EQUAL(bob.id, delivered.str("user"));
    CHECK_EQUAL(id, delivered.num("up_to"));
    // What a reloaded client of Ann's shows at once: delivered, not read.
    for (Response r : {server->get("/api/v1/conversations", ann.token),
                       history(ann, dm(ann, bob))}) {
        const std::string at = r.has("conversations") ? "conversations.0.receipts" : "receipts";
        CHECK_EQUAL_TEXT(1, r.count(at), r.body.c_str());
        CHECK_EQUAL(bob.id, r.str(at + ".0.user"));
        CHECK_EQUAL(id, r.num(at + ".0.delivered_up_to"));
        CHECK_EQUAL(0, r.num(at + ".0.read_up_to"));
    }

    CHECK_EQUAL("ack", receipt(b, dm(ann, bob), "read", id).str("type"));
    Response read = a.next("receipt");
    CHECK_EQUAL("read", read.str("status"));
    CHECK_EQUAL(id, read.num("up_to"));

    list = server->get("/api/v1/conversations", bob.token);
    CHECK_EQUAL(0, list.num("conversations.0.unread"));
    CHECK_EQUAL(id, list.num("conversations.0.read_up_to"));
    // Bob's own cursor is not among the others' receipts he gets.
    CHECK_EQUAL(0, list.count("conversations.0.receipts"));
    Response mine = server->get("/api/v1/conversations", ann.token);
    CHECK_EQUAL(bob.id, mine.str("conversations.0.receipts.0.user"));
    CHECK_EQUAL(id, mine.num("conversations.0.receipts.0.read_up_to"));
    CHECK_EQUAL(id, mine.num("conversations.0.receipts.0.delivered_up_to"));
    CHECK_EQUAL(id, history(ann, dm(ann, bob)).num("receipts.0.read_up_to"));
    // The sender's own messages are never unread for them.
    CHECK_EQUAL(0, server->get("/api/v1/conversations", ann.token).num("conversations.0.unread"));

    // A receipt that moves nothing tells no one.
    receipt(b, dm(ann, bob), "delivered", id);
    a.sync();
    CHECK_FALSE(a.has_queued("receipt"));
}

TEST(Chat, ResendWithTheSameClientIdStoresOneMessage)
{
    WsClient a(*server, ann.token);
    WsClient b(*server, bob.token);
    const int64_t first = send_text(a, "user", bob.id, "same", "once").num("message.id");
    Response again = send_text(a, "user", bob.id, "same", "once");
    CHECK_EQUAL(first, again.num("message.id"));
    CHECK_TRUE(again.boolean_is("duplicate", true));
    CHECK_EQUAL(1, b.next("message").num("message.id") == first ? 1 : 0);
    b.sync();
    CHECK_FALSE(b.has_queued("message"));
    CHECK_EQUAL(1, history(ann, dm(ann, bob)).count("messages"));

    // The same client id towards another conversation is a conflict.
    a.send(send_frame("x", "user", cat.id, "same", "other"));
    check_ws_error(a.next("error"), "EXISTS");
    CHECK_EQUAL(0, server->get("/api/v1/conversations", cat.token).count("conversations"));
}

TEST(Chat, ThreeClientsInAGroupWithReceipts)
{
    const std::string group = create_group(ann, {bob.id, cat.id});
    const std::string conversation = "group:" + group;
    WsClient a(*server, ann.token);
    WsClient b(*server, bob.token);
    WsClient c(*server, cat.token);

    const int64_t id = send_text(b, "group", group, "g-1", "hi all").num("message.id");
    for (WsClient* other : {&a, &c}) {
        Response got = other->next("message");
        CHECK_EQUAL(id, got.num("message.id"));
        CHECK_EQUAL(conversation, got.str("message.conversation"));
        CHECK_EQUAL(bob.id, got.str("message.sender"));
    }
    // The sender's session got "sent", not the message again.
    b.sync();
    CHECK_FALSE(b.has_queued("message"));

    receipt(c, conversation, "read", id);
    for (WsClient* other : {&a, &b}) {
        Response r = other->next("receipt");
        CHECK_EQUAL(cat.id, r.str("user"));
        CHECK_EQUAL("read", r.str("status"));
        CHECK_EQUAL(conversation, r.str("conversation"));
    }

    // By conversation id too, and in the recent list with the group's name.
    send_text(c, "conversation", conversation, "g-2", "hey");
    CHECK_EQUAL("hey", a.next("message").str("message.text"));
    Response list = server->get("/api/v1/conversations", ann.token);
    CHECK_EQUAL(conversation, list.str("conversations.0.id"));
    CHECK_EQUAL("Trio", list.str("conversations.0.name"));
    CHECK_EQUAL(group, list.str("conversations.0.group"));
    CHECK_EQUAL(2, list.num("conversations.0.unread"));
    // Cat's read receipt, for each member: the others' only.
    CHECK_EQUAL(1, list.count("conversations.0.receipts"));
    CHECK_EQUAL(cat.id, list.str("conversations.0.receipts.0.user"));
    CHECK_EQUAL(id, list.num("conversations.0.receipts.0.read_up_to"));
    CHECK_EQUAL(0, server->get("/api/v1/conversations", cat.token).count("conversations.0.receipts"));

    // Bob reads up to Cat's message: the furthest reader comes first.
    const int64_t second = list.num("conversations.0.last_message.id");
    receipt(b, conversation, "read", second);
    Response page = history(ann, conversation);
    CHECK_EQUAL(2, page.count("receipts"));
    CHECK_EQUAL(bob.id, page.str("receipts.0.user"));
    CHECK_EQUAL(second, page.num("receipts.0.read_up_to"));
    CHECK_EQUAL(cat.id, page.str("receipts.1.user"));
    CHECK_EQUAL(id, page.num("receipts.1.read_up_to"));

    // Someone who left the group no longer counts.
    CHECK_STATUS(server->del("/api/v1/groups/" + group + "/members/" + bob.id, ann.token), 200);
    page = history(ann, conversation);
    CHECK_EQUAL(1, page.count("receipts"));
    CHECK_EQUAL(cat.id, page.str("receipts.0.user"));
}

TEST(Chat, TwoSessionsOfOneUserBothHearEverything)
{
    WsClient a1(*server, ann.token);
    WsClient a2(*server, ann.token);
    WsClient b(*server, bob.token);
    const int64_t id = send_text(b, "user", ann.id, "x1", "to both").num("message.id");
    CHECK_EQUAL(id, a1.next("message").num("message.id"));
    CHECK_EQUAL(id, a2.next("message").num("message.id"));
    // What one of ann's sessions sends, her other one sees.
    const int64_t mine = send_text(a1, "user", bob.id, "x2", "from phone").num("message.id");
    CHECK_EQUAL(mine, a2.next("message").num("message.id"));
    CHECK_EQUAL(mine, b.next("message").num("message.id"));
}

TEST(Chat, TypingAndPresenceReachPeers)
{
    WsClient b(*server, bob.token);
    {
        WsClient a(*server, ann.token);
        send_text(a, "user", bob.id, "p-1", "hi");
        b.next("message");

        a.send("{\"type\":\"typing\",\"user\":" + json_string(bob.id) + ",\"typing\":true}");
        Response typing = b.next("typing");
        CHECK_EQUAL(ann.id, typing.str("user"));
        CHECK_EQUAL(dm(ann, bob), typing.str("conversation"));
        CHECK_TRUE(typing.boolean_is("typing", true));

        Response p = a.request("{\"type\":\"presence\",\"id\":\"q\",\"users\":[" +
                                   json_string(bob.id) + "," + json_string(cat.id) + "]}",
                               "q");
        CHECK_EQUAL("presence", p.str("type"));
        // Cat shares no conversation with ann: left out.
        CHECK_EQUAL(1, p.count("users"));
        CHECK_EQUAL(bob.id, p.str("users.0.user"));
        CHECK_TRUE(p.boolean_is("users.0.online", true));
        server->advance_s(60);
    }
    Response offline = b.next("presence");
    CHECK_EQUAL(ann.id, offline.str("user"));
    CHECK_TRUE(offline.boolean_is("online", false));
    CHECK_EQUAL(server->clock().now(), offline.num("last_seen"));

    WsClient a(*server, ann.token);
    Response online = b.next("presence");
    CHECK_TRUE(online.boolean_is("online", true));
    CHECK_TRUE(online.is_null("last_seen"));
    // Cat is no peer of ann's and hears nothing of her.
    WsClient c(*server, cat.token);
    c.sync();
    CHECK_FALSE(c.has_queued("presence"));
}

TEST(Chat, OfflineRecipientGetsEverythingOnReconnectInOrderOnce)
{
    const std::string group = create_group(ann, {bob.id});
    WsClient a(*server, ann.token);
    std::vector<int64_t> ids;
    ids.push_back(send_text(a, "user", bob.id, "o-1", "one").num("message.id"));
    ids.push_back(send_text(a, "group", group, "o-2", "two").num("message.id"));
    ids.push_back(send_text(a, "user", bob.id, "o-3", "three").num("message.id"));
    {
        WsClient b(*server, bob.token);
        for (int64_t id : ids)
            CHECK_EQUAL(id, b.next("message").num("message.id"));
        CHECK_EQUAL(3, b.next("synced").num("count"));
        // Only the first two confirmed before the connection drops.
        receipt(b, dm(ann, bob), "delivered", ids[0]);
        receipt(b, "group:" + group, "delivered", ids[1]);
    }
    {
        WsClient b(*server, bob.token);
        Response again = b.next("message");
        CHECK_EQUAL(ids[2], again.num("message.id"));
        CHECK_EQUAL("three", again.str("message.text"));
        CHECK_EQUAL(1, b.next("synced").num("count"));
        receipt(b, dm(ann, bob), "delivered", ids[2]);
    }
    WsClient b(*server, bob.token);
    CHECK_EQUAL(0, b.next("synced").num("count"));
    CHECK_FALSE(b.has_queued("message"));
    // The sender heard of each delivery.
    CHECK_EQUAL(3u, [&] {
        a.sync();
        return a.take_all("receipt").size();
    }());
}

TEST(Chat, ADeletionWhileTheRecipientWasAwayIsReplayedOnReconnect)
{
    WsClient a(*server, ann.token);
    const int64_t kept = send_text(a, "user", bob.id, "d-1", "kept").num("message.id");
    const int64_t gone = send_text(a, "user", bob.id, "d-2", "oops").num("message.id");
    {
        WsClient b(*server, bob.token);
        CHECK_EQUAL(kept, b.next("message").num("message.id"));
        CHECK_EQUAL(gone, b.next("message").num("message.id"));
        CHECK_EQUAL(2, b.next("synced").num("count"));
        receipt(b, dm(ann, bob), "delivered", gone);
    }
    // Bob is away (his last session closed) when Ann deletes one.
    Response online = a.next("presence");  // Bob came, then went
    CHECK_TRUE(online.boolean_is("online", true));
    Response away = a.next("presence");
    CHECK_EQUAL(bob.id, away.str("user"));
    CHECK_TRUE(away.boolean_is("online", false));
    server->advance_s(5);
    Response deleted = a.request(
        "{\"type\":\"delete\",\"id\":\"del\",\"message\":" + std::to_string(gone) + "}", "del");
    CHECK_EQUAL("deleted", deleted.str("type"));
    WsClient b(*server, bob.token);
    Response replayed = b.next("message_deleted");
    CHECK_EQUAL(gone, replayed.num("message_id"));
    CHECK_EQUAL(dm(ann, bob), replayed.str("conversation"));
    CHECK_EQUAL(0, b.next("synced").num("count"));
    CHECK_FALSE(b.has_queued("message_deleted"));
}

TEST(Chat, HistoryIsPagedBackwards)
{
    WsClient a(*server, ann.token);
    std::vector<int64_t> ids;
    for (int i = 1; i <= 5; i++)
        ids.push_back(
            send_text(a, "user", bob.id, "h-" + std::to_string(i), "message " + std::to_string(i))
                .num("message.id"));
    Response page = history(bob, dm(ann, bob), "?limit=2");
    CHECK_STATUS(page, 200);
    CHECK_EQUAL(2, page.count("messages"));
    CHECK_EQUAL(ids[4], page.num("messages.0.id"));
    CHECK_EQUAL(ids[3], page.num("messages.1.id"));
    CHECK_TRUE(page.boolean_is("more", true));
    CHECK_EQUAL(ids[3], page.num("next_before"));

    page = history(bob, dm(ann, bob), "?limit=2&before=" + std::to_string(ids[3]));
    CHECK_EQUAL(ids[2], page.num("messages.0.id"));
    CHECK_EQUAL(ids[1], page.num("messages.1.id"));
    page = history(bob, dm(ann, bob), "?limit=2&before=" + std::to_string(ids[1]));
    CHECK_EQUAL(1, page.count("messages"));
    CHECK_EQUAL("message 1", page.str("messages.0.text"));
    CHECK_TRUE(page.boolean_is("more", false));
    CHECK_TRUE(page.is_null("next_before"));

    // Only the two sides read it; other apps' users do not even find it.
    CHECK_ERROR(history(cat, dm(ann, bob)), 404, "NOTFOUND");
    AppKey other = server->create_app("Other");
    TestUser eve = server->make_user("eve@example.com", "Eve", other.key);
    CHECK_ERROR(history(eve, dm(ann, bob)), 404, "NOTFOUND");
    CHECK_ERROR(history(eve, dm(ann, eve)), 404, "NOTFOUND");
    CHECK_ERROR(server->get("/api/v1/messages/" + std::to_string(ids[0]), eve.token), 404,
                "NOTFOUND");
    CHECK_ERROR(history(bob, dm(ann, bob), "?limit=0"), 400, "BADREQUEST");
    CHECK_ERROR(history(bob, dm(ann, bob), "?before=abc"), 400, "BADREQUEST");
    CHECK_ERROR(history(bob, "nonsense"), 404, "NOTFOUND");
}

TEST(Chat, HistoryIsPagedForwardsAfterAMessage)
{
    WsClient a(*server, ann.token);
    std::vector<int64_t> ids;
    for (int i = 1; i <= 5; i++)
        ids.push_back(
            send_text(a, "user", bob.id, "f-" + std::to_string(i), "message " + std::to_string(i))
                .num("message.id"));
    // What came after message 1, oldest first, two at a time.
    Response page = history(bob, dm(ann, bob), "?limit=2&after=" + std::to_string(ids[0]));
    CHECK_STATUS(page, 200);
    CHECK_EQUAL(2, page.count("messages"));
    CHECK_EQUAL(ids[1], page.num("messages.0.id"));
    CHECK_EQUAL(ids[2], page.num("messages.1.id"));
    CHECK_TRUE(page.boolean_is("more", true));
    CHECK_EQUAL(ids[2], page.num("next_after"));
    CHECK_FALSE(page.has("next_before"));

    page = history(bob, dm(ann, bob), "?limit=2&after=" + std::to_string(ids[2]));
    CHECK_EQUAL(ids[3], page.num("messages.0.id"));
    CHECK_EQUAL(ids[4], page.num("messages.1.id"));
    CHECK_TRUE(page.boolean_is("more", false));
    CHECK_TRUE(page.is_null("next_after"));

    page = history(bob, dm(ann, bob), "?after=" + std::to_string(ids[4]));
    CHECK_EQUAL(0, page.count("messages"));
    CHECK_TRUE(page.boolean_is("more", false));

    CHECK_ERROR(history(bob, dm(ann, bob), "?after=x"), 400, "BADREQUEST");
    CHECK_ERROR(history(bob, dm(ann, bob), "?after=1&before=3"), 400, "BADREQUEST");
    CHECK_ERROR(history(cat, dm(ann, bob), "?after=1"), 404, "NOTFOUND");
}

TEST(Chat, DeleteForEveryoneBySenderOnly)
{
    WsClient a(*server, ann.token);
    WsClient b(*server, bob.token);
    const int64_t id = send_text(a, "user", bob.id, "d-1", "oops").num("message.id");
    b.next("message");

    b.send("{\"type\":\"delete\",\"id\":\"d\",\"message\":" + std::to_string(id) + "}");
    check_ws_error(b.next("error"), "PERMISSION");
    CHECK_EQUAL("oops", history(ann, dm(ann, bob)).str("messages.0.text"));

    Response deleted = a.request(
        "{\"type\":\"delete\",\"id\":\"d2\",\"message\":" + std::to_string(id) + "}", "d2");
    CHECK_EQUAL("deleted", deleted.str("type"));
    CHECK_TRUE(deleted.boolean_is("message.deleted", true));
    Response event = b.next("message_deleted");
    CHECK_EQUAL(id, event.num("message_id"));
    CHECK_EQUAL(dm(ann, bob), event.str("conversation"));
    Response h = history(bob, dm(ann, bob));
    CHECK_TRUE(h.boolean_is("messages.0.deleted", true));
    CHECK_EQUAL("", h.str("messages.0.text"));

    // Over REST too.
    const int64_t second = send_text(a, "user", bob.id, "d-2", "again").num("message.id");
    CHECK_ERROR(server->del("/api/v1/messages/" + std::to_string(second), bob.token), 403,
                "PERMISSION");
    Response r = server->del("/api/v1/messages/" + std::to_string(second), ann.token);
    CHECK_STATUS(r, 200);
    CHECK_TRUE(r.boolean_is("deleted", true));
    CHECK_EQUAL(second, b.next("message_deleted").num("message_id"));
    CHECK_ERROR(server->del("/api/v1/messages/999999", ann.token), 404, "NOTFOUND");
    // A deleted message is not forwarded.
    a.send("{\"type\":\"send\",\"id\":\"f\",\"user\":" + json_string(cat.id) +
           ",\"client_id\":\"f\",\"forward\":" + std::to_string(second) + "}");
    check_ws_error(a.next("error"), "NOTFOUND");
}

TEST(Chat, ForwardCopiesTheMessageAndNamesTheOriginal)
{
    const std::string group = create_group(bob, {cat.id});
    WsClient a(*server, ann.token);
    WsClient b(*server, bob.token);
    WsClient c(*server, cat.token);
    const int64_t original = send_text(a, "user", bob.id, "fw-1", "pass it on").num("message.id");
    b.next("message");

    Response fwd =
        b.request("{\"type\":\"send\",\"id\":\"f1\",\"group\":" + json_string(group) +
                      ",\"client_id\":\"fw-2\",\"forward\":" + std::to_string(original) + "}",
                  "f1");
    CHECK_EQUAL("sent", fwd.str("type"));
    CHECK_EQUAL("pass it on", fwd.str("message.text"));
    CHECK_EQUAL(original, fwd.num("message.forwarded_from"));
    Response got = c.next("message");
    CHECK_EQUAL(original, got.num("message.forwarded_from"));
    CHECK_EQUAL("group:" + group, got.str("message.conversation"));

    // Forwarding the forward still names the first message.
    Response again = c.request(
        "{\"type\":\"send\",\"id\":\"f2\",\"user\":" + json_string(ann.id) +
            ",\"client_id\":\"fw-3\",\"forward\":" + std::to_string(fwd.num("message.id")) + "}",
        "f2");
    CHECK_EQUAL(original, again.num("message.forwarded_from"));

    // Cat cannot forward what she never saw (ann and bob's 1-1).
    c.send("{\"type\":\"send\",\"id\":\"f3\",\"user\":" + json_string(ann.id) +
           ",\"client_id\":\"fw-4\",\"forward\":" + std::to_string(original) + "}");
    check_ws_error(c.next("error"), "NOTFOUND");
    // Text and forward together make no sense.
    b.send("{\"type\":\"send\",\"id\":\"f4\",\"user\":" + json_string(ann.id) +
           ",\"client_id\":\"fw-5\",\"text\":\"x\",\"forward\":" + std::to_string(original) + "}");
    check_ws_error(b.next("error"), "BADREQUEST");
}

TEST(Chat, RoomChatFollowsChatPermissions)
{
    RoomInfo room = server->create_room(ann);
    Response joined = server->post("/api/v1/rooms/" + room.id + "/join",
                                   "{\"pin\":" + json_string(room.viewer_pin) + "}", bob.token);
    CHECK_STATUS(joined, 200);
    WsClient a(*server, ann.token);
    WsClient b(*server, bob.token);
    WsClient c(*server, cat.token);

    const int64_t id = send_text(b, "room", room.id, "rm-1", "hello room").num("message.id");
    Response got = a.next("message");
    CHECK_EQUAL(id, got.num("message.id"));
    CHECK_EQUAL("room:" + room.id, got.str("message.conversation"));

    // Not a member of the room: no posting, no history.
    c.send(send_frame("rc", "room", room.id, "rm-2", "let me in"));
    check_ws_error(c.next("error"), "NOTMEMBER");
    CHECK_ERROR(history(cat, "room:" + room.id), 403, "NOTMEMBER");

    // Without chat_send bob may still read but not post.
    Response edited =
        server->patch("/api/v1/rooms/" + room.id + "/members/" + bob.id,
                      "{\"permissions\":[\"subscribe\",\"chat_receive\"]}", ann.token);
    CHECK_STATUS(edited, 200);
    b.send(send_frame("rb", "room", room.id, "rm-3", "muted?"));
    check_ws_error(b.next("error"), "PERMISSION");
    CHECK_EQUAL(1, history(bob, "room:" + room.id).count("messages"));
}

TEST(Chat, BadInputGetsAnErrorAndStoresNothing)
{
    const std::string group = create_group(ann, {bob.id});
    AppKey other = server->create_app("Other");
    TestUser eve = server->make_user("eve@example.com", "Eve", other.key);
    WsClient a(*server, ann.token);
    WsClient b(*server, bob.token);
    WsClient c(*server, cat.token);
    WsClient e(*server, eve.token);

    struct Case {
        WsClient* client;
        std::string frame;
        const char* code;
    };
    const std::string ok_tail = ",\"client_id\":\"bad\",\"text\":\"hi\"}";
    const std::vector<Case> cases = {
        {&a, send_frame("1", "user", "u_nosuchuser", "bad", "hi"), "NOTFOUND"},
        {&a, send_frame("2", "group", "g_nosuchgroup", "bad", "hi"), "NOTFOUND"},
        {&a, send_frame("3", "room", "nosuchroom", "bad", "hi"), "NOTFOUND"},
        {&a, send_frame("4", "conversation", "dm:x:y", "bad", "hi"), "NOTFOUND"},
        {&c, send_frame("5", "group", group, "bad", "hi"), "NOTMEMBER"},
        // A user of another app does not exist here.
        {&e, send_frame("6", "user", ann.id, "bad", "hi"), "NOTFOUND"},
        {&a, send_frame("7", "user", ann.id, "bad", "hi"), "BADREQUEST"},
        {&a, send_frame("8", "user", bob.id, "bad", ""), "BADREQUEST"},
        {&a, send_frame("9", "user", bob.id, "bad", " \n\t "), "BADREQUEST"},
        {&a, send_frame("10", "user", bob.id, "bad", std::string(51, 'x')), "TOOLARGE"},
        {&a, send_frame("11", "user", bob.id, "", "hi"), "BADREQUEST"},
        {&a, send_frame("12", "user", bob.id, std::string(65, 'c'), "hi"), "BADREQUEST"},
        {&a, send_frame("13", "user", bob.id, "bad", "bell\x07"), "BADREQUEST"},
        {&a, "{\"type\":\"send\",\"id\":\"14\",\"client_id\":\"bad\",\"text\":\"hi\"}",
         "BADREQUEST"},
        {&a,
         "{\"type\":\"send\",\"id\":\"15\",\"user\":" + json_string(bob.id) +
             ",\"group\":" + json_string(group) + ok_tail,
         "BADREQUEST"},
        {&a,
         "{\"type\":\"send\",\"id\":\"16\",\"user\":" + json_string(bob.id) +
             ",\"text\":\"no client id\"}",
         "BADREQUEST"},
        {&a, "{\"type\":\"send\",\"id\":\"17\",\"user\":7" + ok_tail, "BADREQUEST"},
        {&a,
         "{\"type\":\"send\",\"id\":\"18\",\"user\":" + json_string(bob.id) +
             ",\"client_id\":\"bad\",\"text\":[\"hi\"]}",
         "BADREQUEST"},
        {&a,
         "{\"type\":\"send\",\"id\":\"19\",\"user\":" + json_string(bob.id) +
             ",\"client_id\":\"bad\"}",
         "BADREQUEST"},
        {&a,
         "{\"type\":\"send\",\"id\":\"20\",\"user\":" + json_string(bob.id) +
             ",\"client_id\":\"bad\",\"forward\":-1}",
         "BADREQUEST"},
        {&a,
         "{\"type\":\"receipt\",\"id\":\"21\",\"conversation\":" + json_string(dm(ann, bob)) +
             ",\"status\":\"seen\",\"up_to\":1}",
         "BADREQUEST"},
        {&a,
         "{\"type\":\"receipt\",\"id\":\"22\",\"conversation\":" + json_string(dm(ann, bob)) +
             ",\"status\":\"read\",\"up_to\":1000000}",
         "BADREQUEST"},
        {&c,
         "{\"type\":\"receipt\",\"id\":\"23\",\"conversation\":" + json_string("group:" + group) +
             ",\"status\":\"read\",\"up_to\":1}",
         "NOTMEMBER"},
        {&a, "{\"type\":\"typing\",\"id\":\"24\",\"user\":" + json_string(bob.id) + "}",
         "BADREQUEST"},
        {&c,
         "{\"type\":\"typing\",\"id\":\"25\",\"group\":" + json_string(group) + ",\"typing\":true}",
         "NOTMEMBER"},
        {&a, "{\"type\":\"delete\",\"id\":\"26\",\"message\":\"1\"}", "BADREQUEST"},
        {&a, "{\"type\":\"presence\",\"id\":\"27\",\"users\":\"all\"}", "BADREQUEST"},
        {&a, "{\"type\":\"send\",\"id\":\"28\"", "BADREQUEST"},
        {&a, "[\"send\"]", "BADREQUEST"},
        {&a, "{\"id\":\"30\",\"user\":" + json_string(bob.id) + ok_tail, "BADREQUEST"},
    };
    for (const Case& k : cases) {
        k.client->send(k.frame);
        Response r = k.client->next("error");
        CHECK_EQUAL_TEXT(std::string("error"), r.str("type"), k.frame.c_str());
        CHECK_EQUAL_TEXT(std::string(k.code), r.str("error.code"),
                         (k.frame + " -> " + r.body).c_str());
    }
    a.send_binary("\x01\x02");
    check_ws_error(a.next("error"), "BADREQUEST");

    // Nothing was stored and nobody heard anything.
    for (WsClient* client : {&a, &b, &c, &e}) {
        client->sync();
        CHECK_FALSE(client->has_queued("message"));
    }
    for (const TestUser* u : {&ann, &bob, &cat, &eve}) {
        Response list = server->get("/api/v1/conversations", u->token);
        for (long i = 0; i < list.count("conversations"); i++)
            CHECK_TRUE(list.is_null("conversations." + std::to_string(i) + ".last_message"));
    }
    // The sessions still work.
    send_text(a, "user", bob.id, "good", "still here");
    CHECK_EQUAL("still here", b.next("message").str("message.text"));
}
