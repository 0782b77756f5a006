// Groups (create with members, edit members and admins, leave, delete by the
// owner, name and photo) and contacts (sync an address book within the app,
// add and remove, block), over REST with the WebSocket events they cause.
#include <string>
#include <vector>

#include "ws_client.h"

using namespace zumzi_test;

namespace {

void check_ws_error(const Response& r, const char* code)
{
    CHECK_EQUAL_TEXT(std::string("error"), r.str("type"), r.body.c_str());
    CHECK_EQUAL_TEXT(std::string(code), r.str("error.code"), r.body.c_str());
}

std::string send_frame(const std::string& to_field, const std::string& to,
                       const std::string& client_id, const std::string& text)
{
    return "{\"type\":\"send\",\"id\":" + json_string(client_id) + ",\"" + to_field +
           "\":" + json_string(to) + ",\"client_id\":" + json_string(client_id) +
           ",\"text\":" + json_string(text) + "}";
}

}  // namespace

TEST_GROUP(Groups)
{
    std::unique_ptr<TestServer> server;
    TestUser ann, bob, cat, dan;
    void setup() override
    {
        server = std::make_unique<TestServer>();
        ann = server->make_user("ann@example.com", "Ann");
        bob = server->make_user("bob@example.com", "Bob");
        cat = server->make_user("cat@example.com", "Cat");
        dan = server->make_user("dan@example.com", "Dan");
    }
    void teardown() override
    {
        server.reset();
    }

    Response create(const TestUser& owner, const std::string& body)
    {
        return server->post("/api/v1/groups", body, owner.token);
    }
    std::string path(const std::string& group, const std::string& rest = "")
    {
        return "/api/v1/groups/" + group + rest;
    }
};

TEST(Groups, CreateWithMembersAndReadIt)
{
    Response r = create(ann, "{\"name\":\"Climbing\",\"members\":[" + json_string(bob.id) + "," +
                                 json_string(cat.id) + "," + json_string(bob.id) + "]}");
    CHECK_STATUS(r, 201);
    const std::string id = r.str("id");
    CHECK_EQUAL("/api/v1/groups/" + id, r.header("location"));
    CHECK_EQUAL("group:" + id, r.str("conversation"));
    CHECK_EQUAL("Climbing", r.str("name"));
    CHECK_EQUAL(ann.id, r.str("owner_id"));
    CHECK_EQUAL(3, r.count("members"));
    CHECK_EQUAL("owner", r.str(r.find("members", "user_id", ann.id) + ".role"));
    CHECK_EQUAL("member", r.str(r.find("members", "user_id", bob.id) + ".role"));

    CHECK_STATUS(server->get(path(id), cat.token), 200);
    CHECK_ERROR(server->get(path(id), dan.token), 403, "NOTMEMBER");
    CHECK_EQUAL(1, server->get("/api/v1/groups", bob.token).count("groups"));
    CHECK_EQUAL(0, server->get("/api/v1/groups", dan.token).count("groups"));
    // A new group is in the members' conversations at once.
    Response list = server->get("/api/v1/conversations", cat.token);
    CHECK_EQUAL("group:" + id, list.str("conversations.0.id"));
    CHECK_TRUE(list.is_null("conversations.0.last_message"));
}

TEST(Groups, BadCreatesStoreNothing)
{
    AppKey other = server->create_app("Other");
    TestUser eve = server->make_user("eve@example.com", "Eve", other.key);
    CHECK_ERROR(create(ann, "{\"members\":[]}"), 400, "BADREQUEST");
    CHECK_ERROR(create(ann, "{\"name\":\"\"}"), 400, "BADREQUEST");
    CHECK_ERROR(create(ann, "{\"name\":\"x\",\"members\":\"bob\"}"), 400, "BADREQUEST");
    CHECK_ERROR(create(ann, "{\"name\":\"x\",\"photo_url\":\"file:///etc/passwd\"}"), 400,
                "BADREQUEST");
    CHECK_ERROR(create(ann, "{\"name\":\"x\",\"members\":[\"u_nobody\"]}"), 404, "NOTFOUND");
    // Users of another app do not exist here.
    CHECK_ERROR(create(ann, "{\"name\":\"x\",\"members\":[" + json_string(eve.id) + "]}"), 404,
                "NOTFOUND");
    CHECK_EQUAL(0, server->get("/api/v1/groups", ann.token).count("groups"));
}

TEST(Groups, AdminsEditMembersAndEveryoneHearsOfIt)
{
    const std::string id =
        create(ann, "{\"name\":\"Team\",\"members\":[" + json_string(bob.id) + "]}").str("id");
    WsClient b(*server, bob.token);
    WsClient c(*server, cat.token);

    // Bob is a plain member: no editing.
    CHECK_ERROR(server->patch(path(id), "{\"name\":\"Mine\"}", bob.token), 403, "PERMISSION");
    CHECK_ERROR(
        server->post(path(id, "/members"), "{\"user_id\":" + json_string(cat.id) + "}", bob.token),
        403, "PERMISSION");
    CHECK_ERROR(server->patch(path(id), "{\"name\":\"x\"}", dan.token), 403, "NOTMEMBER");

    Response added =
        server->post(path(id, "/members"), "{\"user_id\":" + json_string(cat.id) + "}", ann.token);
    CHECK_STATUS(added, 201);
    CHECK_EQUAL(3, added.count("members"));
    CHECK_EQUAL(3, b.next("group_updated").count("group.members"));
    CHECK_EQUAL(id, c.next("group_updated").str("group.id"));
    CHECK_ERROR(
        server->post(path(id, "/members"), "{\"user_id\":" + json_string(cat.id) + "}", ann.token),
        409, "EXISTS");
    CHECK_ERROR(
        server->post(path(id, "/members"),
                     "{\"user_id\":" + json_string(dan.id) + ",\"role\":\"owner\"}", ann.token),
        400, "BADREQUEST");

    // Cat, now a member, posts.
    c.send(send_frame("group", id, "c1", "hi team"));
    CHECK_EQUAL("sent", c.next("sent").str("type"));
    CHECK_EQUAL("hi team", b.next("message").str("message.text"));

    // Promote bob: now he renames and sets a photo.
    Response promoted =
        server->patch(path(id, "/members/" + bob.id), "{\"role\":\"admin\"}", ann.token);
    CHECK_STATUS(promoted, 200);
    CHECK_EQUAL("admin", promoted.str(promoted.find("members", "user_id", bob.id) + ".role"));
    Response renamed = server->patch(
        path(id), "{\"name\":\"Team B\",\"photo_url\":\"https://example.com/t.jpg\"}", bob.token);
    CHECK_STATUS(renamed, 200);
    CHECK_EQUAL("Team B", renamed.str("name"));
    CHECK_EQUAL("https://example.com/t.jpg", renamed.str("photo_url"));
    c.sync();
    std::vector<Response> updates = c.take_all("group_updated");
    CHECK_TRUE(!updates.empty());
    CHECK_EQUAL("Team B", updates.back().str("group.name"));
    // The owner stays the owner.
    CHECK_ERROR(server->patch(path(id, "/members/" + ann.id), "{\"role\":\"member\"}", bob.token),
                403, "PERMISSION");
    CHECK_ERROR(server->del(path(id, "/members/" + ann.id), bob.token), 403, "PERMISSION");

    // An admin removes cat; she hears of it and can no longer post.
    CHECK_STATUS(server->del(path(id, "/members/" + cat.id), bob.token), 200);
    c.sync();
    Response last = c.take_all("group_updated").back();
    CHECK_EQUAL("<none>", last.find("group.members", "user_id", cat.id));
    c.send(send_frame("group", id, "c2", "still here?"));
    check_ws_error(c.next("error"), "NOTMEMBER");
}

TEST(Groups, LeaveAndDelete)
{
    const std::string id = create(ann, "{\"name\":\"Team\",\"members\":[" + json_string(bob.id) +
                                           "," + json_string(cat.id) + "]}")
                               .str("id");
    // Anyone leaves; the owner deletes instead.
    CHECK_STATUS(server->del(path(id, "/members/" + cat.id), cat.token), 200);
    CHECK_ERROR(server->get(path(id), cat.token), 403, "NOTMEMBER");
    CHECK_ERROR(server->del(path(id, "/members/" + ann.id), ann.token), 403, "PERMISSION");
    CHECK_ERROR(server->del(path(id, "/members/" + dan.id), ann.token), 404, "NOTFOUND");

    WsClient a(*server, ann.token);
    a.send(send_frame("group", id, "a1", "bye"));
    CHECK_EQUAL("sent", a.next("sent").str("type"));
    WsClient b(*server, bob.token);
    CHECK_ERROR(server->del(path(id), bob.token), 403, "PERMISSION");
    CHECK_STATUS(server->del(path(id), ann.token), 200);
    CHECK_EQUAL(id, b.next("group_deleted").str("group_id"));
    CHECK_ERROR(server->get(path(id), ann.token), 404, "NOTFOUND");
    CHECK_ERROR(server->get("/api/v1/conversations/group:" + id + "/messages", bob.token), 404,
                "NOTFOUND");
    CHECK_EQUAL(0, server->get("/api/v1/conversations", bob.token).count("conversations"));
}

TEST_GROUP(Contacts)
{
    std::unique_ptr<TestServer> server;
    TestUser ann, bob, cat;
    void setup() override
    {
        server = std::make_unique<TestServer>();
        ann = server->make_user("ann@example.com", "Ann");
        bob = server->make_user("bob@example.com", "Bob");
        cat = server->make_user("cat@example.com", "Cat");
    }
    void teardown() override
    {
        server.reset();
    }
};

TEST(Contacts, SyncFindsRegisteredUsersOfTheSameAppOnly)
{
    Response phone_user =
        server->post("/api/v1/admin/users", "{\"phone\":\"+40 721 000 111\",\"name\":\"Pia\"}",
                     server->api_key());
    CHECK_STATUS(phone_user, 201);
    AppKey other = server->create_app("Other");
    server->make_user("eve@example.com", "Eve", other.key);

    Response r = server->post("/api/v1/contacts/sync",
                              "{\"emails\":[\"BOB@example.com\",\"nobody@example.com\","
                              "\"eve@example.com\",\"ann@example.com\",\"not an email\"],"
                              "\"phones\":[\"+40-721-000-111\",\"12\"]}",
                              ann.token);
    CHECK_STATUS(r, 200);
    CHECK_EQUAL(2, r.count("matches"));
    CHECK_EQUAL("BOB@example.com", r.str("matches.0.address"));
    CHECK_EQUAL(bob.id, r.str("matches.0.user.id"));
    CHECK_FALSE(r.has("matches.0.user.email"));
    CHECK_EQUAL("+40-721-000-111", r.str("matches.1.address"));
    CHECK_EQUAL(phone_user.str("id"), r.str("matches.1.user.id"));
    CHECK_EQUAL(2, r.count("invalid"));
    CHECK_TRUE(r.contains_string("invalid", "not an email"));
    CHECK_TRUE(r.contains_string("invalid", "12"));

    CHECK_ERROR(server->post("/api/v1/contacts/sync", "{}", ann.token), 400, "BADREQUEST");
    CHECK_ERROR(server->post("/api/v1/contacts/sync", "{\"emails\":\"x\"}", ann.token), 400,
                "BADREQUEST");
    CHECK_ERROR(server->post("/api/v1/contacts/sync", "{\"emails\":[]}", ""), 401, "AUTHFAIL");
}

TEST(Contacts, AddRemoveAndPresence)
{
    WsClient c(*server, cat.token);
    Response added =
        server->post("/api/v1/contacts", "{\"user_id\":" + json_string(ann.id) + "}", cat.token);
    CHECK_STATUS(added, 201);
    CHECK_EQUAL(ann.id, added.str("id"));
    CHECK_TRUE(added.boolean_is("presence.online", false));
    CHECK_STATUS(
        server->post("/api/v1/contacts", "{\"user_id\":" + json_string(ann.id) + "}", cat.token),
        200);
    CHECK_ERROR(
        server->post("/api/v1/contacts", "{\"user_id\":" + json_string(cat.id) + "}", cat.token),
        400, "BADREQUEST");
    CHECK_ERROR(server->post("/api/v1/contacts", "{\"user_id\":\"u_nobody\"}", cat.token), 404,
                "NOTFOUND");

    // Cat has ann as a contact: she hears ann come online.
    {
        WsClient a(*server, ann.token);
        Response p = c.next("presence");
        CHECK_EQUAL(ann.id, p.str("user"));
        CHECK_TRUE(p.boolean_is("online", true));
        Response list = server->get("/api/v1/contacts", cat.token);
        CHECK_EQUAL(1, list.count("contacts"));
        CHECK_TRUE(list.boolean_is("contacts.0.presence.online", true));
    }
    CHECK_TRUE(c.next("presence").boolean_is("online", false));

    CHECK_STATUS(server->del("/api/v1/contacts/" + ann.id, cat.token), 200);
    CHECK_ERROR(server->del("/api/v1/contacts/" + ann.id, cat.token), 404, "NOTFOUND");
    CHECK_EQUAL(0, server->get("/api/v1/contacts", cat.token).count("contacts"));
}

TEST(Contacts, BlockedUsersCannotMessageYou)
{
    WsClient a(*server, ann.token);
    WsClient b(*server, bob.token);
    Response blocked =
        server->post("/api/v1/blocks", "{\"user_id\":" + json_string(ann.id) + "}", bob.token);
    CHECK_STATUS(blocked, 201);
    CHECK_EQUAL(ann.id, server->get("/api/v1/blocks", bob.token).str("blocked.0.id"));

    a.send(send_frame("user", bob.id, "a1", "hello?"));
    check_ws_error(a.next("error"), "BLOCKED");
    a.send("{\"type\":\"typing\",\"id\":\"t\",\"user\":" + json_string(bob.id) +
           ",\"typing\":true}");
    check_ws_error(a.next("error"), "BLOCKED");
    b.sync();
    CHECK_FALSE(b.has_queued("message"));
    CHECK_FALSE(b.has_queued("typing"));
    CHECK_EQUAL(0, server->get("/api/v1/conversations", bob.token).count("conversations"));

    // Bob may still write to ann; after unblocking, ann may answer.
    b.send(send_frame("user", ann.id, "b1", "I can write"));
    CHECK_EQUAL("sent", b.next("sent").str("type"));
    CHECK_STATUS(server->del("/api/v1/blocks/" + ann.id, bob.token), 200);
    CHECK_ERROR(server->del("/api/v1/blocks/" + ann.id, bob.token), 404, "NOTFOUND");
    a.send(send_frame("user", bob.id, "a2", "hello again"));
    CHECK_EQUAL("sent", a.next("sent").str("type"));
    CHECK_EQUAL("hello again", b.next("message").str("message.text"));
}
