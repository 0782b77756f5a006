// Rooms over real HTTP: create with presets, list mine, join with the
// participant or viewer PIN, edit, lock, delete, and the member list with
// per-member permissions.
#include "test_server.h"

using namespace zumzi_test;

namespace {

const char* const kRooms = "/api/v1/rooms";

std::string room_path(const std::string& id, const std::string& rest = {})
{
    return std::string(kRooms) + "/" + id + rest;
}

std::string pin_body(const std::string& pin)
{
    return "{\"pin\":" + json_string(pin) + "}";
}

// A PIN of 8 digits that is neither of the room's.
std::string wrong_pin(const Response& room)
{
    for (const char* pin : {"00000000", "11111111", "22222222"})
        if (pin != room.str("participant_pin") && pin != room.str("viewer_pin"))
            return pin;
    return "33333333";
}

const std::vector<std::string> kPublisher = {"publish", "subscribe", "list", "chat_send",
                                             "chat_receive"};
const std::vector<std::string> kViewer = {"subscribe", "list", "chat_send", "chat_receive"};
const std::vector<std::string> kEverything = {"publish",      "subscribe", "list",    "chat_send",
                                              "chat_receive", "record",    "moderate"};

std::string joined(const std::vector<std::string>& v)
{
    std::string out;
    for (const std::string& s : v)
        out += (out.empty() ? "" : ",") + s;
    return out;
}

}  // namespace

TEST_GROUP(Rooms)
{
    std::unique_ptr<TestServer> srv;
    TestUser alice, bob, carol, dave;

    void setup() override
    {
        start();
    }
    void teardown() override
    {
        srv.reset();
    }

    void start(const TestServer::Configure& configure = {})
    {
        srv.reset();
        srv = std::make_unique<TestServer>(configure);
        alice = srv->make_user("alice@example.com", "Alice");
        bob = srv->make_user("bob@example.com", "Bob");
        carol = srv->make_user("carol@example.com", "Carol");
        dave = srv->make_user("dave@example.com", "Dave");
    }

    Response create(const TestUser& owner, const std::string& body)
    {
        Response r = srv->post(kRooms, body, owner.token);
        CHECK_STATUS(r, 201);
        return r;
    }

    Response create_named(const TestUser& owner, const std::string& name)
    {
        return create(owner, "{\"name\":" + json_string(name) + "}");
    }

    Response join(const TestUser& user, const std::string& id, const std::string& pin)
    {
        return srv->post(room_path(id, "/join"), pin_body(pin), user.token);
    }

    long member_count(const std::string& id)
    {
        Response r = srv->get(room_path(id, "/members"), alice.token);
        CHECK_STATUS(r, 200);
        return r.count("members");
    }

    std::string permissions_of(const Response& r, const std::string& path)
    {
        return joined(r.strings(path));
    }
};

TEST(Rooms, CreateGivesIdAndTwoDistinctPins)
{
    Response room = create_named(alice, "Standup");
    CHECK_FALSE(room.str("id").empty());
    STRCMP_EQUAL(room_path(room.str("id")).c_str(), room.header("Location").c_str());
    STRCMP_EQUAL("Standup", room.str("name").c_str());
    STRCMP_EQUAL("default", room.str("preset").c_str());
    LONGS_EQUAL(640, room.num("width"));
    LONGS_EQUAL(360, room.num("height"));
    LONGS_EQUAL(30, room.num("framerate"));
    STRCMP_EQUAL(alice.id.c_str(), room.str("owner_id").c_str());
    CHECK_TRUE(room.boolean_is("locked", false));
    LONGS_EQUAL(srv->clock().now(), room.num("created_at"));
    STRCMP_EQUAL("owner", room.str("role").c_str());
    STRCMP_EQUAL(joined(kEverything).c_str(), permissions_of(room, "permissions").c_str());

    const std::string pin = room.str("participant_pin");
    const std::string viewer = room.str("viewer_pin");
    CHECK_TEXT(is_digits(pin, 8), pin.c_str());
    CHECK_TEXT(is_digits(viewer, 8), viewer.c_str());
    CHECK_TRUE(pin != viewer);

    // Every room has its own id.
    Response other = create_named(alice, "Standup");
    CHECK_TRUE(other.str("id") != room.str("id"));
    Response got = srv->get(room_path(room.str("id")), alice.token);
    CHECK_STATUS(got, 200);
    STRCMP_EQUAL(pin.c_str(), got.str("participant_pin").c_str());
    STRCMP_EQUAL(viewer.c_str(), got.str("viewer_pin").c_str());
}

TEST(Rooms, EveryPresetCaseInsensitively)
{
    struct Case {
        const char* given;
        const char* name;
        int width, height;
    };
    const Case cases[] = {
        {"default", "default", 640, 360}, {"DEFAULT", "default", 640, 360},
        {"qvga", "qvga", 320, 240},       {"QVGA", "qvga", 320, 240},
        {"Vga", "vga", 640, 480},         {"hd", "hd", 1280, 720},
        {"HD", "hd", 1280, 720},          {"fhd", "fhd", 1920, 1080},
        {"FHD", "fhd", 1920, 1080},       {"4k", "4k", 3840, 2160},
        {"4K", "4k", 3840, 2160},
    };
    for (const Case& c : cases) {
        Response room =
            create(alice, "{\"name\":\"Room\",\"preset\":" + json_string(c.given) + "}");
        STRCMP_EQUAL(c.name, room.str("preset").c_str());
        LONGS_EQUAL(c.width, room.num("width"));
        LONGS_EQUAL(c.height, room.num("height"));
        Response got = srv->get(room_path(room.str("id")), alice.token);
        STRCMP_EQUAL(c.name, got.str("preset").c_str());
        LONGS_EQUAL(c.width, got.num("width"));
    }

    Response presets = srv->get("/api/v1/presets");
    CHECK_STATUS(presets, 200);
    LONGS_EQUAL(6, presets.count("presets"));
    STRCMP_EQUAL("default", presets.str("presets.0.name").c_str());
    const std::string hd = presets.find("presets", "name", "hd");
    LONGS_EQUAL(1280, presets.num(hd + ".width"));
    LONGS_EQUAL(720, presets.num(hd + ".height"));
}

TEST(Rooms, BadNameOrPresetIsRefused)
{
    const std::string bodies[] = {
        "{\"name\":\"\"}",
        "{\"name\":\"   \"}",
        "{\"name\":" + json_string(std::string(129, 'n')) + "}",
        "{\"name\":\"bell\\u0007\"}",
        "{\"name\":\"two\\nlines\"}",
        "{\"name\":\"Room\",\"preset\":\"8k\"}",
        "{\"name\":\"Room\",\"preset\":\"\"}",
        "{\"name\":\"Room\",\"preset\":\"1280x720\"}",
    };
    for (const std::string& body : bodies)
        CHECK_ERROR(srv->post(kRooms, body, alice.token), 400, "BADREQUEST");
    LONGS_EQUAL(0, srv->get(kRooms, alice.token).count("rooms"));

    // 128 characters is fine.
    Response ok = create_named(alice, std::string(128, 'n'));
    LONGS_EQUAL(128, ok.str("name").size());
}

TEST(Rooms, NeedsAnAccessToken)
{
    CHECK_ERROR(srv->post(kRooms, "{\"name\":\"x\"}"), 401, "AUTHFAIL");
    CHECK_ERROR(srv->get(kRooms), 401, "AUTHFAIL");
    CHECK_ERROR(srv->get(kRooms, "zt_bogus"), 401, "AUTHFAIL");
    LONGS_EQUAL(0, srv->get(kRooms, alice.token).count("rooms"));
}

TEST(Rooms, ListMyRoomsNewestFirstWithPinsOnlyForOwnedRooms)
{
    Response first = create_named(alice, "First");
    srv->advance_s(1);
    Response second = create_named(alice, "Second");
    srv->advance_s(1);
    Response third = create_named(alice, "Third");
    srv->advance_s(1);
    Response bobs = create_named(bob, "Bob's");
    CHECK_STATUS(join(bob, first.str("id"), first.str("viewer_pin")), 200);

    Response mine = srv->get(kRooms, alice.token);
    CHECK_STATUS(mine, 200);
    LONGS_EQUAL(3, mine.count("rooms"));
    STRCMP_EQUAL(third.str("id").c_str(), mine.str("rooms.0.id").c_str());
    STRCMP_EQUAL(second.str("id").c_str(), mine.str("rooms.1.id").c_str());
    STRCMP_EQUAL(first.str("id").c_str(), mine.str("rooms.2.id").c_str());
    for (int i = 0; i < 3; i++) {
        const std::string room = "rooms." + std::to_string(i);
        CHECK_TRUE(is_digits(mine.str(room + ".participant_pin"), 8));
        CHECK_TRUE(is_digits(mine.str(room + ".viewer_pin"), 8));
        STRCMP_EQUAL("owner", mine.str(room + ".role").c_str());
    }
    STRCMP_EQUAL(first.str("participant_pin").c_str(), mine.str("rooms.2.participant_pin").c_str());

    Response bob_list = srv->get(kRooms, bob.token);
    CHECK_STATUS(bob_list, 200);
    LONGS_EQUAL(2, bob_list.count("rooms"));
    STRCMP_EQUAL(bobs.str("id").c_str(), bob_list.str("rooms.0.id").c_str());
    CHECK_TRUE(bob_list.has("rooms.0.participant_pin"));
    STRCMP_EQUAL(first.str("id").c_str(), bob_list.str("rooms.1.id").c_str());
    STRCMP_EQUAL("viewer", bob_list.str("rooms.1.role").c_str());
    CHECK_FALSE(bob_list.has("rooms.1.participant_pin"));
    CHECK_FALSE(bob_list.has("rooms.1.viewer_pin"));
    CHECK_TRUE(bob_list.body.find(first.str("participant_pin")) == std::string::npos);

    LONGS_EQUAL(0, srv->get(kRooms, carol.token).count("rooms"));
}

TEST(Rooms, JoinWithParticipantOrViewerPin)
{
    Response room = create_named(alice, "Town hall");
    const std::string id = room.str("id");

    Response publisher = join(bob, id, room.str("participant_pin"));
    CHECK_STATUS(publisher, 200);
    STRCMP_EQUAL("publisher", publisher.str("role").c_str());
    STRCMP_EQUAL(joined(kPublisher).c_str(), permissions_of(publisher, "permissions").c_str());
    CHECK_FALSE(publisher.has("participant_pin"));
    CHECK_FALSE(publisher.has("viewer_pin"));

    Response viewer = join(carol, id, room.str("viewer_pin"));
    CHECK_STATUS(viewer, 200);
    STRCMP_EQUAL("viewer", viewer.str("role").c_str());
    CHECK_FALSE(viewer.contains_string("permissions", "publish"));
    CHECK_FALSE(viewer.contains_string("permissions", "moderate"));
    STRCMP_EQUAL(joined(kViewer).c_str(), permissions_of(viewer, "permissions").c_str());

    Response as_carol = srv->get(room_path(id), carol.token);
    CHECK_STATUS(as_carol, 200);
    STRCMP_EQUAL("viewer", as_carol.str("role").c_str());
    CHECK_FALSE(as_carol.has("participant_pin"));

    Response members = srv->get(room_path(id, "/members"), alice.token);
    CHECK_STATUS(members, 200);
    LONGS_EQUAL(3, members.count("members"));
    const std::string b = members.find("members", "user_id", bob.id);
    const std::string c = members.find("members", "user_id", carol.id);
    const std::string a = members.find("members", "user_id", alice.id);
    STRCMP_EQUAL("publisher", members.str(b + ".role").c_str());
    STRCMP_EQUAL("Bob", members.str(b + ".name").c_str());
    STRCMP_EQUAL("viewer", members.str(c + ".role").c_str());
    STRCMP_EQUAL("owner", members.str(a + ".role").c_str());
    STRCMP_EQUAL(joined(kEverything).c_str(), permissions_of(members, a + ".permissions").c_str());

    // Joining again with the viewer PIN takes nothing away.
    Response again = join(bob, id, room.str("viewer_pin"));
    CHECK_STATUS(again, 200);
    STRCMP_EQUAL("publisher", again.str("role").c_str());
    // A viewer who learns the participant PIN becomes a publisher.
    Response promoted = join(carol, id, room.str("participant_pin"));
    CHECK_STATUS(promoted, 200);
    STRCMP_EQUAL("publisher", promoted.str("role").c_str());
    CHECK_TRUE(promoted.contains_string("permissions", "publish"));
    LONGS_EQUAL(3, member_count(id));
}

TEST(Rooms, WrongPinIsRefusedAndMakesNoMember)
{
    Response room = create_named(alice, "Private");
    Response other = create_named(alice, "Other");
    const std::string id = room.str("id");

    CHECK_ERROR(join(dave, id, wrong_pin(room)), 403, "BADPIN");
    // Another room's PIN is just as wrong.
    if (other.str("participant_pin") != room.str("participant_pin") &&
        other.str("participant_pin") != room.str("viewer_pin"))
        CHECK_ERROR(join(dave, id, other.str("participant_pin")), 403, "BADPIN");
    CHECK_ERROR(join(dave, id, ""), 403, "BADPIN");
    CHECK_ERROR(join(dave, id, room.str("participant_pin") + "0"), 403, "BADPIN");

    CHECK_ERROR(srv->get(room_path(id), dave.token), 403, "NOTMEMBER");
    LONGS_EQUAL(0, srv->get(kRooms, dave.token).count("rooms"));
    LONGS_EQUAL(1, member_count(id));

    // Without a PIN a non-member cannot join.
    CHECK_ERROR(srv->post(room_path(id, "/join"), "{}", dave.token), 400, "BADREQUEST");
    LONGS_EQUAL(1, member_count(id));
}

TEST(Rooms, TooManyWrongPinsAreRateLimited)
{
    start([](zumzi::Config& c) { c.pin_failures_per_user = 3; });
    Response room = create_named(alice, "Vault");
    const std::string id = room.str("id");
    for (int i = 0; i < 3; i++)
        CHECK_ERROR(join(dave, id, wrong_pin(room)), 403, "BADPIN");

    // Now even the right PIN waits.
    Response limited = join(dave, id, room.str("participant_pin"));
    CHECK_ERROR(limited, 429, "RATELIMIT");
    STRCMP_EQUAL("900", limited.header("Retry-After").c_str());
    CHECK_ERROR(srv->get(room_path(id), dave.token), 403, "NOTMEMBER");
    LONGS_EQUAL(1, member_count(id));

    // Other users are not affected.
    CHECK_STATUS(join(bob, id, room.str("participant_pin")), 200);

    srv->advance_s(900);
    Response later = join(dave, id, room.str("participant_pin"));
    CHECK_STATUS(later, 200);
    STRCMP_EQUAL("publisher", later.str("role").c_str());
}

TEST(Rooms, OwnerEntersWithoutAPin)
{
    Response room = create_named(alice, "Mine");
    const std::string id = room.str("id");
    Response entered = srv->post(room_path(id, "/join"), "{}", alice.token);
    CHECK_STATUS(entered, 200);
    STRCMP_EQUAL("owner", entered.str("role").c_str());
    CHECK_TRUE(is_digits(entered.str("participant_pin"), 8));
    Response with_viewer_pin = join(alice, id, room.str("viewer_pin"));
    CHECK_STATUS(with_viewer_pin, 200);
    STRCMP_EQUAL("owner", with_viewer_pin.str("role").c_str());
    STRCMP_EQUAL(joined(kEverything).c_str(),
                 permissions_of(with_viewer_pin, "permissions").c_str());

    // A member who joined once comes back without a PIN too.
    CHECK_STATUS(join(bob, id, room.str("viewer_pin")), 200);
    Response back = srv->post(room_path(id, "/join"), "{}", bob.token);
    CHECK_STATUS(back, 200);
    STRCMP_EQUAL("viewer", back.str("role").c_str());
    LONGS_EQUAL(2, member_count(id));
}

TEST(Rooms, NonMembersSeeNothing)
{
    Response room = create_named(alice, "Closed");
    const std::string id = room.str("id");
    CHECK_ERROR(srv->get(room_path(id), dave.token), 403, "NOTMEMBER");
    CHECK_ERROR(srv->get(room_path(id, "/members"), dave.token), 403, "NOTMEMBER");
    CHECK_ERROR(srv->patch(room_path(id), "{\"locked\":true}", dave.token), 403, "NOTMEMBER");
    CHECK_ERROR(srv->del(room_path(id), dave.token), 403, "NOTMEMBER");
    CHECK_ERROR(srv->del(room_path(id, "/members/" + alice.id), dave.token), 403, "NOTMEMBER");
    CHECK_ERROR(
        srv->patch(room_path(id, "/members/" + alice.id), "{\"permissions\":[]}", dave.token), 403,
        "NOTMEMBER");

    Response got = srv->get(room_path(id), alice.token);
    CHECK_STATUS(got, 200);
    CHECK_TRUE(got.boolean_is("locked", false));
    LONGS_EQUAL(1, member_count(id));
}

TEST(Rooms, OwnerEditsNameAndPreset)
{
    Response room = create_named(alice, "Old name");
    const std::string id = room.str("id");

    Response edited =
        srv->patch(room_path(id), "{\"name\":\"New name\",\"preset\":\"HD\"}", alice.token);
    CHECK_STATUS(edited, 200);
    STRCMP_EQUAL("New name", edited.str("name").c_str());
    STRCMP_EQUAL("hd", edited.str("preset").c_str());
    LONGS_EQUAL(1280, edited.num("width"));

    Response got = srv->get(room_path(id), alice.token);
    STRCMP_EQUAL("New name", got.str("name").c_str());
    STRCMP_EQUAL("hd", got.str("preset").c_str());
    LONGS_EQUAL(720, got.num("height"));
    // The PINs do not change.
    STRCMP_EQUAL(room.str("participant_pin").c_str(), got.str("participant_pin").c_str());

    CHECK_STATUS(srv->patch(room_path(id), "{\"preset\":\"qvga\"}", alice.token), 200);
    got = srv->get(room_path(id), alice.token);
    STRCMP_EQUAL("New name", got.str("name").c_str());
    STRCMP_EQUAL("qvga", got.str("preset").c_str());

    // Bad values change nothing, not even the good field next to them.
    CHECK_ERROR(srv->patch(room_path(id), "{\"preset\":\"8k\"}", alice.token), 400, "BADREQUEST");
    CHECK_ERROR(srv->patch(room_path(id), "{\"name\":\"\"}", alice.token), 400, "BADREQUEST");
    CHECK_ERROR(srv->patch(room_path(id), "{\"name\":\"Fine\",\"preset\":\"nope\"}", alice.token),
                400, "BADREQUEST");
    CHECK_ERROR(srv->patch(room_path(id), "{\"preset\":\"hd\",\"locked\":\"yes\"}", alice.token),
                400, "BADREQUEST");
    got = srv->get(room_path(id), alice.token);
    STRCMP_EQUAL("New name", got.str("name").c_str());
    STRCMP_EQUAL("qvga", got.str("preset").c_str());
    CHECK_TRUE(got.boolean_is("locked", false));
}

TEST(Rooms, LastNIsARoomSetting)
{
    // Default: every camera is forwarded.
    Response room = create_named(alice, "Big meeting");
    const std::string id = room.str("id");
    LONGS_EQUAL(0, room.num("last_n"));
    Response five = srv->post("/api/v1/rooms", "{\"name\":\"Five\",\"last_n\":5}", alice.token);
    CHECK_STATUS(five, 201);
    LONGS_EQUAL(5, five.num("last_n"));
    LONGS_EQUAL(5, srv->get(room_path(five.str("id")), alice.token).num("last_n"));

    Response edited = srv->patch(room_path(id), "{\"last_n\":3}", alice.token);
    CHECK_STATUS(edited, 200);
    LONGS_EQUAL(3, edited.num("last_n"));
    LONGS_EQUAL(3, srv->get(room_path(id), alice.token).num("last_n"));

    // Bad values are refused and change nothing.
    for (const char* bad : {"-1", "101", "1.5", "\"3\"", "true", "null"}) {
        const std::string body = std::string("{\"last_n\":") + bad + "}";
        CHECK_ERROR(srv->patch(room_path(id), body, alice.token), 400, "BADREQUEST");
        CHECK_ERROR(srv->post("/api/v1/rooms",
                              "{\"name\":\"X\",\"last_n\":" + std::string(bad) + "}", alice.token),
                    400, "BADREQUEST");
    }
    CHECK_ERROR(srv->patch(room_path(id), "{\"name\":\"Renamed\",\"last_n\":-5}", alice.token), 400,
                "BADREQUEST");
    Response got = srv->get(room_path(id), alice.token);
    LONGS_EQUAL(3, got.num("last_n"));
    STRCMP_EQUAL("Big meeting", got.str("name").c_str());

    // Moderators set it; a plain publisher may not.
    CHECK_STATUS(join(bob, id, room.str("participant_pin")), 200);
    CHECK_ERROR(srv->patch(room_path(id), "{\"last_n\":1}", bob.token), 403, "PERMISSION");
    CHECK_STATUS(srv->patch(room_path(id, "/members/" + bob.id),
                            "{\"permissions\":[\"moderate\",\"list\"]}", alice.token),
                 200);
    CHECK_STATUS(srv->patch(room_path(id), "{\"last_n\":0}", bob.token), 200);
    LONGS_EQUAL(0, srv->get(room_path(id), alice.token).num("last_n"));
}

TEST(Rooms, OnlyTheOwnerRenamesOrChangesThePreset)
{
    Response room = create_named(alice, "Alice's");
    const std::string id = room.str("id");
    CHECK_STATUS(join(bob, id, room.str("participant_pin")), 200);

    CHECK_ERROR(srv->patch(room_path(id), "{\"name\":\"Bob's now\"}", bob.token), 403,
                "PERMISSION");
    CHECK_ERROR(srv->patch(room_path(id), "{\"preset\":\"4k\"}", bob.token), 403, "PERMISSION");
    // Not even a moderator.
    CHECK_STATUS(srv->patch(room_path(id, "/members/" + bob.id),
                            "{\"permissions\":[\"moderate\",\"list\"]}", alice.token),
                 200);
    CHECK_ERROR(srv->patch(room_path(id), "{\"name\":\"Bob's now\"}", bob.token), 403,
                "PERMISSION");

    Response got = srv->get(room_path(id), alice.token);
    STRCMP_EQUAL("Alice's", got.str("name").c_str());
    STRCMP_EQUAL("default", got.str("preset").c_str());
}

TEST(Rooms, LockedRoomKeepsItsMembersAndRefusesNewOnes)
{
    Response room = create_named(alice, "Lockable");
    const std::string id = room.str("id");
    CHECK_STATUS(join(bob, id, room.str("participant_pin")), 200);

    // A member without 'moderate' may not lock.
    CHECK_ERROR(srv->patch(room_path(id), "{\"locked\":true}", bob.token), 403, "PERMISSION");
    CHECK_TRUE(srv->get(room_path(id), alice.token).boolean_is("locked", false));

    Response locked = srv->patch(room_path(id), "{\"locked\":true}", alice.token);
    CHECK_STATUS(locked, 200);
    CHECK_TRUE(locked.boolean_is("locked", true));
    CHECK_TRUE(srv->get(room_path(id), alice.token).boolean_is("locked", true));

    CHECK_ERROR(join(carol, id, room.str("participant_pin")), 403, "LOCKED");
    CHECK_ERROR(join(dave, id, room.str("viewer_pin")), 403, "LOCKED");
    CHECK_ERROR(srv->get(room_path(id), carol.token), 403, "NOTMEMBER");
    LONGS_EQUAL(2, member_count(id));

    // Those inside still get in.
    Response bob_again = join(bob, id, room.str("participant_pin"));
    CHECK_STATUS(bob_again, 200);
    STRCMP_EQUAL("publisher", bob_again.str("role").c_str());
    CHECK_STATUS(srv->post(room_path(id, "/join"), "{}", bob.token), 200);
    CHECK_STATUS(srv->get(room_path(id), bob.token), 200);
    CHECK_STATUS(srv->post(room_path(id, "/join"), "{}", alice.token), 200);

    // A moderator may unlock; then new members may join again.
    CHECK_STATUS(srv->patch(room_path(id, "/members/" + bob.id),
                            "{\"permissions\":[\"moderate\",\"list\",\"subscribe\"]}", alice.token),
                 200);
    Response unlocked = srv->patch(room_path(id), "{\"locked\":false}", bob.token);
    CHECK_STATUS(unlocked, 200);
    CHECK_TRUE(unlocked.boolean_is("locked", false));
    CHECK_STATUS(join(carol, id, room.str("viewer_pin")), 200);
    LONGS_EQUAL(3, member_count(id));
}

TEST(Rooms, OnlyTheOwnerDeletes)
{
    Response room = create_named(alice, "Doomed");
    const std::string id = room.str("id");
    CHECK_STATUS(join(bob, id, room.str("participant_pin")), 200);
    CHECK_STATUS(join(carol, id, room.str("viewer_pin")), 200);

    CHECK_ERROR(srv->del(room_path(id), bob.token), 403, "PERMISSION");
    CHECK_ERROR(srv->del(room_path(id), dave.token), 403, "NOTMEMBER");
    CHECK_STATUS(srv->get(room_path(id), alice.token), 200);
    LONGS_EQUAL(3, member_count(id));

    Response deleted = srv->del(room_path(id), alice.token);
    CHECK_STATUS(deleted, 200);
    CHECK_TRUE(deleted.boolean_is("ok", true));

    CHECK_ERROR(srv->get(room_path(id), alice.token), 404, "NOTFOUND");
    CHECK_ERROR(srv->get(room_path(id), bob.token), 404, "NOTFOUND");
    CHECK_ERROR(srv->get(room_path(id, "/members"), alice.token), 404, "NOTFOUND");
    CHECK_ERROR(join(dave, id, room.str("participant_pin")), 404, "NOTFOUND");
    CHECK_ERROR(srv->del(room_path(id), alice.token), 404, "NOTFOUND");
    LONGS_EQUAL(0, srv->get(kRooms, alice.token).count("rooms"));
    LONGS_EQUAL(0, srv->get(kRooms, bob.token).count("rooms"));
    LONGS_EQUAL(0, srv->get(kRooms, carol.token).count("rooms"));
}

TEST(Rooms, ModeratorEditsMemberPermissions)
{
    Response room = create_named(alice, "Panel");
    const std::string id = room.str("id");
    CHECK_STATUS(join(bob, id, room.str("participant_pin")), 200);
    CHECK_STATUS(join(carol, id, room.str("viewer_pin")), 200);
    const std::string bob_path = room_path(id, "/members/" + bob.id);

    Response edited =
        srv->patch(bob_path, "{\"permissions\":[\"subscribe\",\"chat_receive\"]}", alice.token);
    CHECK_STATUS(edited, 200);
    STRCMP_EQUAL(bob.id.c_str(), edited.str("user_id").c_str());
    STRCMP_EQUAL("subscribe,chat_receive", permissions_of(edited, "permissions").c_str());
    Response as_bob = srv->get(room_path(id), bob.token);
    STRCMP_EQUAL("subscribe,chat_receive", permissions_of(as_bob, "permissions").c_str());
    Response members = srv->get(room_path(id, "/members"), alice.token);
    STRCMP_EQUAL(
        "subscribe,chat_receive",
        permissions_of(members, members.find("members", "user_id", bob.id) + ".permissions")
            .c_str());

    // Unknown names and wrong shapes change nothing.
    for (const char* body :
         {"{\"permissions\":[\"subscribe\",\"fly\"]}", "{\"permissions\":[\"PUBLISH\"]}",
          "{\"permissions\":\"list\"}", "{}"}) {
        CHECK_ERROR(srv->patch(bob_path, body, alice.token), 400, "BADREQUEST");
    }
    STRCMP_EQUAL("subscribe,chat_receive",
                 permissions_of(srv->get(room_path(id), bob.token), "permissions").c_str());

    // Without 'list' Bob no longer sees the member list.
    CHECK_ERROR(srv->get(room_path(id, "/members"), bob.token), 403, "PERMISSION");
    // Without 'moderate' nobody edits others.
    CHECK_ERROR(srv->patch(bob_path, "{\"permissions\":[\"publish\"]}", carol.token), 403,
                "PERMISSION");
    CHECK_ERROR(srv->patch(room_path(id, "/members/" + carol.id),
                           "{\"permissions\":[\"publish\",\"moderate\"]}", carol.token),
                403, "PERMISSION");
    // The owner's permissions are fixed; unknown members are not found.
    CHECK_ERROR(
        srv->patch(room_path(id, "/members/" + alice.id), "{\"permissions\":[]}", alice.token), 403,
        "PERMISSION");
    CHECK_ERROR(
        srv->patch(room_path(id, "/members/" + dave.id), "{\"permissions\":[]}", alice.token), 404,
        "NOTFOUND");
    CHECK_ERROR(srv->patch(room_path(id, "/members/u_nobody"), "{\"permissions\":[]}", alice.token),
                404, "NOTFOUND");

    // A member made moderator moderates.
    CHECK_STATUS(srv->patch(room_path(id, "/members/" + carol.id),
                            "{\"permissions\":[\"subscribe\",\"list\",\"moderate\"]}", alice.token),
                 200);
    Response by_carol =
        srv->patch(bob_path, "{\"permissions\":[\"publish\",\"subscribe\"]}", carol.token);
    CHECK_STATUS(by_carol, 200);
    STRCMP_EQUAL("publish,subscribe", permissions_of(by_carol, "permissions").c_str());
    STRCMP_EQUAL(joined(kEverything).c_str(),
                 permissions_of(srv->get(room_path(id), alice.token), "permissions").c_str());
}

TEST(Rooms, RejoiningKeepsWhatAModeratorSet)
{
    Response room = create_named(alice, "Moderated");
    const std::string id = room.str("id");
    CHECK_STATUS(join(bob, id, room.str("participant_pin")), 200);
    CHECK_STATUS(srv->patch(room_path(id, "/members/" + bob.id),
                            "{\"permissions\":[\"subscribe\"]}", alice.token),
                 200);

    // The participant PIN does not give back what a moderator took away.
    Response again = join(bob, id, room.str("participant_pin"));
    CHECK_STATUS(again, 200);
    STRCMP_EQUAL("subscribe", permissions_of(again, "permissions").c_str());
    STRCMP_EQUAL("subscribe",
                 permissions_of(srv->get(room_path(id), bob.token), "permissions").c_str());
}

TEST(Rooms, RemovingMembersAndLeaving)
{
    Response room = create_named(alice, "Party");
    const std::string id = room.str("id");
    CHECK_STATUS(join(bob, id, room.str("participant_pin")), 200);
    CHECK_STATUS(join(carol, id, room.str("viewer_pin")), 200);
    CHECK_STATUS(join(dave, id, room.str("viewer_pin")), 200);
    LONGS_EQUAL(4, member_count(id));

    // Without 'moderate' a member removes nobody but themself.
    CHECK_ERROR(srv->del(room_path(id, "/members/" + carol.id), bob.token), 403, "PERMISSION");
    LONGS_EQUAL(4, member_count(id));

    Response removed = srv->del(room_path(id, "/members/" + carol.id), alice.token);
    CHECK_STATUS(removed, 200);
    CHECK_TRUE(removed.boolean_is("ok", true));
    CHECK_ERROR(srv->get(room_path(id), carol.token), 403, "NOTMEMBER");
    LONGS_EQUAL(0, srv->get(kRooms, carol.token).count("rooms"));
    CHECK_ERROR(srv->del(room_path(id, "/members/" + carol.id), alice.token), 404, "NOTFOUND");
    LONGS_EQUAL(3, member_count(id));

    // Leaving.
    Response left = srv->del(room_path(id, "/members/" + bob.id), bob.token);
    CHECK_STATUS(left, 200);
    CHECK_ERROR(srv->get(room_path(id), bob.token), 403, "NOTMEMBER");
    LONGS_EQUAL(2, member_count(id));

    // The owner neither leaves nor is removed.
    CHECK_ERROR(srv->del(room_path(id, "/members/" + alice.id), alice.token), 403, "PERMISSION");
    CHECK_STATUS(srv->patch(room_path(id, "/members/" + dave.id),
                            "{\"permissions\":[\"moderate\",\"list\"]}", alice.token),
                 200);
    CHECK_ERROR(srv->del(room_path(id, "/members/" + alice.id), dave.token), 403, "PERMISSION");
    CHECK_STATUS(srv->get(room_path(id), alice.token), 200);

    Response members = srv->get(room_path(id, "/members"), alice.token);
    LONGS_EQUAL(2, members.count("members"));
    CHECK_TRUE(members.find("members", "user_id", alice.id) != "<none>");
    CHECK_TRUE(members.find("members", "user_id", dave.id) != "<none>");
}

TEST(Rooms, UnknownRoomIsNotFound)
{
    const std::string id = "nosuchroom";
    CHECK_ERROR(srv->get(room_path(id), alice.token), 404, "NOTFOUND");
    CHECK_ERROR(srv->patch(room_path(id), "{\"name\":\"x\"}", alice.token), 404, "NOTFOUND");
    CHECK_ERROR(srv->del(room_path(id), alice.token), 404, "NOTFOUND");
    CHECK_ERROR(srv->post(room_path(id, "/join"), pin_body("12345678"), alice.token), 404,
                "NOTFOUND");
    CHECK_ERROR(srv->get(room_path(id, "/members"), alice.token), 404, "NOTFOUND");
    CHECK_ERROR(
        srv->patch(room_path(id, "/members/" + bob.id), "{\"permissions\":[]}", alice.token), 404,
        "NOTFOUND");
    CHECK_ERROR(srv->del(room_path(id, "/members/" + alice.id), alice.token), 404, "NOTFOUND");
}
