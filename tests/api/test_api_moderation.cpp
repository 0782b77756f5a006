// Room moderation over REST and the WebSocket, live: permission changes
// reach the participants at once (participant_updated, publish accepted or
// refused, roster events), removing a member kicks every session of theirs
// (left, reason "removed") and keeps them out until readmitted, lock_room
// and room edits send room_updated, and every moderation request checks its
// caller and input and changes nothing when it fails. The media effects
// (tracks withheld, forwarding paused, moderator mutes) are in
// tests/integration/test_moderation.cpp.
#include "test_server.h"
#include "ws_client.h"

using namespace zumzi_test;

namespace {

std::string join_msg(const std::string& room, const std::string& pin, const std::string& id)
{
    std::string m =
        "{\"type\":\"join\",\"id\":" + json_string(id) + ",\"room\":" + json_string(room);
    if (!pin.empty())
        m += ",\"pin\":" + json_string(pin);
    return m + "}";
}

// {"type":type,"id":id,"room":room, <rest>}
std::string request(const std::string& type, const std::string& id, const std::string& room,
                    const std::string& rest = {})
{
    return "{\"type\":" + json_string(type) + ",\"id\":" + json_string(id) +
           ",\"room\":" + json_string(room) + (rest.empty() ? "" : "," + rest) + "}";
}

void check_ws_error_at(const Response& r, const char* code, const char* file, size_t line)
{
    CHECK_EQUAL_TEXT(std::string("error"), r.str("type"),
                     (std::string(file) + ":" + std::to_string(line) + " " + r.body).c_str());
    CHECK_EQUAL_TEXT(std::string(code), r.str("error.code"),
                     (std::string(file) + ":" + std::to_string(line) + " " + r.body).c_str());
    CHECK_TRUE(!r.str("error.message").empty());
}
#define CHECK_WS_ERROR(r, code) check_ws_error_at((r), (code), __FILE__, __LINE__)

void check_ack_at(const Response& r, const char* file, size_t line)
{
    CHECK_EQUAL_TEXT(std::string("ack"), r.str("type"),
                     (std::string(file) + ":" + std::to_string(line) + " " + r.body).c_str());
}
#define CHECK_ACK(r) check_ack_at((r), __FILE__, __LINE__)

std::string joined_names(const std::vector<std::string>& v)
{
    std::string out;
    for (const std::string& s : v)
        out += (out.empty() ? "" : ",") + s;
    return out;
}

}  // namespace

TEST_GROUP(Moderation)
{
    std::unique_ptr<TestServer> server;
    TestUser ann, bob, cat, dan;
    RoomInfo room;

    void setup() override
    {
        server = std::make_unique<TestServer>();
        ann = server->make_user("ann@example.com", "Ann");
        bob = server->make_user("bob@example.com", "Bob");
        cat = server->make_user("cat@example.com", "Cat");
        dan = server->make_user("dan@example.com", "Dan");
        room = server->create_room(ann);
    }
    void teardown() override
    {
        server.reset();
    }

    std::string path(const std::string& rest = {})
    {
        return "/api/v1/rooms/" + room.id + rest;
    }

    // Joins over the WebSocket and returns the `joined` reply.
    Response join(WsClient & ws, const std::string& pin)
    {
        static int n = 0;
        const std::string id = "join-" + std::to_string(++n);
        Response joined = ws.request(join_msg(room.id, pin, id), id);
        CHECK_EQUAL_TEXT(std::string("joined"), joined.str("type"), joined.body.c_str());
        return joined;
    }

    std::string permissions_of(const std::string& user_id)
    {
        Response members = server->get(path("/members"), ann.token);
        return joined_names(
            members.strings(members.find("members", "user_id", user_id) + ".permissions"));
    }
};

TEST(Moderation, ParticipantsCarryRoleAndPermissions)
{
    WsClient a(*server, ann.token);
    join(a, "");
    WsClient c(*server, cat.token);
    Response c_joined = join(c, room.viewer_pin);
    CHECK_EQUAL(std::string("owner"), c_joined.str("participants.0.role"));
    CHECK_TRUE(c_joined.contains_string("participants.0.permissions", "moderate"));
    Response seen = a.next("participant_joined");
    CHECK_EQUAL(std::string("viewer"), seen.str("participant.role"));
    CHECK_EQUAL(std::string("subscribe,list,chat_send,chat_receive"),
                joined_names(seen.strings("participant.permissions")));
}

TEST(Moderation, PermissionChangesApplyToLiveParticipantsAtOnce)
{
    WsClient a(*server, ann.token);
    join(a, "");
    WsClient c(*server, cat.token);
    const std::string c_pid = join(c, room.viewer_pin).str("participant_id");
    a.next("participant_joined");

    // A viewer may not publish...
    Response refused = c.request(request("publish", "p1", room.id, "\"sdp\":\"v=0\""), "p1");
    CHECK_WS_ERROR(refused, "PERMISSION");

    // ...until a moderator gives it 'publish' over REST: everyone hears
    // participant_updated, Cat herself included, and her next publish gets
    // past the permission check (to the SDP check) without rejoining.
    Response patched = server->patch(
        path("/members/" + cat.id),
        "{\"permissions\":[\"publish\",\"subscribe\",\"list\",\"chat_send\"]}", ann.token);
    CHECK_STATUS(patched, 200);
    for (WsClient* ws : {&a, &c}) {
        Response updated = ws->next("participant_updated");
        CHECK_EQUAL(room.id, updated.str("room"));
        CHECK_EQUAL(c_pid, updated.str("participant.participant_id"));
        CHECK_EQUAL(cat.id, updated.str("participant.user_id"));
        CHECK_EQUAL(std::string("Cat"), updated.str("participant.name"));
        CHECK_EQUAL(std::string("viewer"), updated.str("participant.role"));
        CHECK_EQUAL(std::string("publish,subscribe,list,chat_send"),
                    joined_names(updated.strings("participant.permissions")));
    }
    Response now = c.request(request("publish", "p2", room.id, "\"sdp\":\"v=0\""), "p2");
    CHECK_WS_ERROR(now, "BADREQUEST");  // the SDP, not the permission

    // Over the WebSocket: 'publish' and 'list' taken away. Publishing is
    // refused again, and Cat no longer hears who comes and goes.
    Response ack = a.request(request("set_permissions", "s1", room.id,
                                     "\"user_id\":" + json_string(cat.id) +
                                         ",\"permissions\":[\"subscribe\",\"chat_send\"]"),
                             "s1");
    CHECK_ACK(ack);
    CHECK_EQUAL(cat.id, ack.str("member.user_id"));
    CHECK_EQUAL(std::string("subscribe,chat_send"),
                joined_names(ack.strings("member.permissions")));
    CHECK_EQUAL(std::string("subscribe,chat_send"), permissions_of(cat.id));
    CHECK_EQUAL(std::string("subscribe,chat_send"),
                joined_names(c.next("participant_updated").strings("participant.permissions")));
    CHECK_WS_ERROR(c.request(request("publish", "p3", room.id, "\"sdp\":\"v=0\""), "p3"),
                   "PERMISSION");
    WsClient d(*server, dan.token);
    join(d, room.participant_pin);
    a.next("participant_joined");
    c.sync();
    CHECK_FALSE(c.has_queued("participant_joined"));

    // 'list' back: the roster events come back too.
    CHECK_ACK(a.request(
        request("set_permissions", "s2", room.id,
                "\"user_id\":" + json_string(cat.id) + ",\"permissions\":[\"subscribe\",\"list\"]"),
        "s2"));
    d.close();
    CHECK_EQUAL(dan.id, c.next("participant_left").str("user_id"));

    // Setting the same permissions again changes nothing: no event.
    a.sync();
    a.take_all("participant_updated");
    CHECK_ACK(a.request(
        request("set_permissions", "s3", room.id,
                "\"user_id\":" + json_string(cat.id) + ",\"permissions\":[\"subscribe\",\"list\"]"),
        "s3"));
    a.sync();
    CHECK_FALSE(a.has_queued("participant_updated"));
}

TEST(Moderation, RemovedMemberIsKickedAndKeptOutUntilReadmitted)
{
    WsClient a(*server, ann.token);
    join(a, "");
    WsClient b1(*server, bob.token);
    WsClient b2(*server, bob.token);  // two sessions: both go
    const std::string p1 = join(b1, room.participant_pin).str("participant_id");
    const std::string p2 = join(b2, "").str("participant_id");
    a.next("participant_joined");
    a.next("participant_joined");

    Response removed = server->del(path("/members/" + bob.id), ann.token);
    CHECK_STATUS(removed, 200);
    CHECK_TRUE(removed.boolean_is("ok", true));
    for (WsClient* b : {&b1, &b2}) {
        Response left = b->next("left");
        CHECK_EQUAL(room.id, left.str("room"));
        CHECK_EQUAL(std::string("removed"), left.str("reason"));
        CHECK_FALSE(left.has("id"));
    }
    Response gone1 = a.next("participant_left");
    Response gone2 = a.next("participant_left");
    CHECK_EQUAL(std::string("removed"), gone1.str("reason"));
    CHECK_EQUAL(std::string("removed"), gone2.str("reason"));
    CHECK_TRUE((gone1.str("participant_id") == p1 && gone2.str("participant_id") == p2) ||
               (gone1.str("participant_id") == p2 && gone2.str("participant_id") == p1));
    // Out of the room: nothing to leave, no membership.
    CHECK_WS_ERROR(b1.request(request("leave", "l1", room.id), "l1"), "NOTJOINED");
    CHECK_ERROR(server->get(path(), bob.token), 403, "NOTMEMBER");

    // No way back in, whatever the PIN, over REST or the WebSocket.
    for (const std::string& pin :
         {room.participant_pin, room.viewer_pin, std::string("00000001")}) {
        Response r = server->post(path("/join"), "{\"pin\":" + json_string(pin) + "}", bob.token);
        CHECK_ERROR(r, 403, "REMOVED");
        CHECK_EQUAL(std::string("a moderator removed you from this room"), r.error_message());
        CHECK_WS_ERROR(b1.request(join_msg(room.id, pin, "j-" + pin), "j-" + pin), "REMOVED");
    }
    CHECK_WS_ERROR(b1.request(join_msg(room.id, "", "j-none"), "j-none"), "REMOVED");

    // The moderator sees the ban.
    Response bans = server->get(path("/bans"), ann.token);
    CHECK_STATUS(bans, 200);
    LONGS_EQUAL(1, bans.count("bans"));
    CHECK_EQUAL(bob.id, bans.str("bans.0.user_id"));
    CHECK_EQUAL(std::string("Bob"), bans.str("bans.0.name"));
    CHECK_EQUAL(ann.id, bans.str("bans.0.by"));
    CHECK_EQUAL(server->clock().now(), bans.num("bans.0.at"));

    // Let back in over the WebSocket: Bob joins again with a PIN.
    Response ack =
        a.request(request("readmit", "r1", room.id, "\"user_id\":" + json_string(bob.id)), "r1");
    CHECK_ACK(ack);
    CHECK_EQUAL(bob.id, ack.str("user_id"));
    LONGS_EQUAL(0, server->get(path("/bans"), ann.token).count("bans"));
    CHECK_WS_ERROR(b1.request(join_msg(room.id, "", "j-again"), "j-again"), "BADREQUEST");
    Response back = join(b1, room.participant_pin);
    CHECK_EQUAL(std::string("publisher"), back.str("room.role"));

    // Removed over the WebSocket, let back in over REST.
    Response ws_removed = a.request(
        request("remove_participant", "x1", room.id, "\"user_id\":" + json_string(bob.id)), "x1");
    CHECK_ACK(ws_removed);
    CHECK_EQUAL(std::string("removed"), b1.next("left").str("reason"));
    CHECK_ERROR(server->post(path("/join"), "{\"pin\":" + json_string(room.participant_pin) + "}",
                             bob.token),
                403, "REMOVED");
    CHECK_ERROR(server->del(path("/bans/" + bob.id), bob.token), 403, "NOTMEMBER");
    Response readmitted = server->del(path("/bans/" + bob.id), ann.token);
    CHECK_STATUS(readmitted, 200);
    CHECK_TRUE(readmitted.boolean_is("ok", true));
    CHECK_ERROR(server->del(path("/bans/" + bob.id), ann.token), 404, "NOTFOUND");
    CHECK_STATUS(
        server->post(path("/join"), "{\"pin\":" + json_string(room.viewer_pin) + "}", bob.token),
        200);
}

TEST(Moderation, LeavingIsNoBanAndTheOwnerStays)
{
    WsClient c(*server, cat.token);
    join(c, room.viewer_pin);
    // Cat removes herself: her session leaves (reason "left"), no ban.
    CHECK_STATUS(server->del(path("/members/" + cat.id), cat.token), 200);
    CHECK_EQUAL(std::string("left"), c.next("left").str("reason"));
    LONGS_EQUAL(0, server->get(path("/bans"), ann.token).count("bans"));
    CHECK_EQUAL(std::string("viewer"), join(c, room.viewer_pin).str("room.role"));

    // Nobody removes the owner, not even a moderator.
    CHECK_STATUS(server->patch(path("/members/" + cat.id),
                               "{\"permissions\":[\"list\",\"moderate\"]}", ann.token),
                 200);
    CHECK_ERROR(server->del(path("/members/" + ann.id), cat.token), 403, "PERMISSION");
    CHECK_WS_ERROR(
        c.request(request("remove_participant", "x", room.id, "\"user_id\":" + json_string(ann.id)),
                  "x"),
        "PERMISSION");
    CHECK_ERROR(server->del(path("/members/" + ann.id), ann.token), 403, "PERMISSION");
    CHECK_STATUS(server->get(path(), ann.token), 200);
    LONGS_EQUAL(0, server->get(path("/bans"), ann.token).count("bans"));
}

TEST(Moderation, LockRoomAndRoomUpdated)
{
    WsClient a(*server, ann.token);
    join(a, "");
    WsClient b(*server, bob.token);
    join(b, room.participant_pin);

    Response ack = a.request(request("lock_room", "k1", room.id, "\"locked\":true"), "k1");
    CHECK_ACK(ack);
    CHECK_EQUAL(room.id, ack.str("room"));
    CHECK_TRUE(ack.boolean_is("locked", true));
    // Each participant sees the room as it sees it: PINs for the owner only.
    Response for_ann = a.next("room_updated");
    CHECK_TRUE(for_ann.boolean_is("room.locked", true));
    CHECK_EQUAL(room.participant_pin, for_ann.str("room.participant_pin"));
    CHECK_EQUAL(std::string("owner"), for_ann.str("room.role"));
    Response for_bob = b.next("room_updated");
    CHECK_TRUE(for_bob.boolean_is("room.locked", true));
    CHECK_FALSE(for_bob.has("room.participant_pin"));
    CHECK_EQUAL(std::string("publisher"), for_bob.str("room.role"));
    CHECK_TRUE(server->get(path(), ann.token).boolean_is("locked", true));

    // A new member is refused over the WebSocket; a member comes back.
    WsClient c(*server, cat.token);
    CHECK_WS_ERROR(c.request(join_msg(room.id, room.participant_pin, "j"), "j"), "LOCKED");
    CHECK_ERROR(server->get(path(), cat.token), 403, "NOTMEMBER");
    b.close();
    WsClient b2(*server, bob.token);
    join(b2, "");

    // Any room change over REST reaches everyone too.
    CHECK_STATUS(server->patch(path(), "{\"last_n\":3,\"name\":\"Renamed\"}", ann.token), 200);
    Response renamed = b2.next("room_updated");
    CHECK_EQUAL(std::string("Renamed"), renamed.str("room.name"));
    CHECK_EQUAL(3, renamed.num("room.last_n"));
    a.next("room_updated");
    CHECK_STATUS(server->patch(path(), "{\"locked\":false}", ann.token), 200);
    CHECK_TRUE(b2.next("room_updated").boolean_is("room.locked", false));
    CHECK_TRUE(a.request(request("lock_room", "k2", room.id, "\"locked\":false"), "k2")
                   .boolean_is("locked", false));
    join(c, room.participant_pin);
}

TEST(Moderation, WithoutModerateEveryActionIsRefusedAndChangesNothing)
{
    WsClient a(*server, ann.token);
    const std::string a_pid = join(a, "").str("participant_id");
    WsClient b(*server, bob.token);
    join(b, room.participant_pin);  // a publisher: no 'moderate'
    WsClient c(*server, cat.token);
    join(c, room.viewer_pin);
    // Dan is removed so that there is a ban to (not) lift.
    CHECK_STATUS(
        server->post(path("/join"), "{\"pin\":" + json_string(room.viewer_pin) + "}", dan.token),
        200);
    CHECK_STATUS(server->del(path("/members/" + dan.id), ann.token), 200);
    const std::string uid = json_string(cat.id);

    const std::vector<std::string> ws_requests = {
        request("set_permissions", "m1", room.id,
                "\"user_id\":" + uid + ",\"permissions\":[\"publish\",\"moderate\"]"),
        request("remove_participant", "m2", room.id, "\"user_id\":" + uid),
        request("readmit", "m3", room.id, "\"user_id\":" + json_string(dan.id)),
        request("mute_participant", "m4", room.id,
                "\"participant_id\":" + json_string(a_pid) + ",\"kind\":\"all\""),
        request("lock_room", "m5", room.id, "\"locked\":true"),
    };
    for (size_t i = 0; i < ws_requests.size(); i++)
        CHECK_WS_ERROR(b.request(ws_requests[i], "m" + std::to_string(i + 1)), "PERMISSION");
    CHECK_ERROR(
        server->patch(path("/members/" + cat.id), "{\"permissions\":[\"moderate\"]}", bob.token),
        403, "PERMISSION");
    CHECK_ERROR(server->del(path("/members/" + cat.id), bob.token), 403, "PERMISSION");
    CHECK_ERROR(server->post(path("/members/" + ann.id + "/mute"), "{\"kind\":\"all\"}", bob.token),
                403, "PERMISSION");
    CHECK_ERROR(server->get(path("/bans"), bob.token), 403, "PERMISSION");
    CHECK_ERROR(server->del(path("/bans/" + dan.id), bob.token), 403, "PERMISSION");
    CHECK_ERROR(server->patch(path(), "{\"locked\":true}", bob.token), 403, "PERMISSION");
    // Not even a member: NOTMEMBER.
    WsClient d(*server, dan.token);
    CHECK_WS_ERROR(d.request(request("lock_room", "d1", room.id, "\"locked\":true"), "d1"),
                   "NOTMEMBER");

    // Nothing changed: permissions, membership, the ban, the lock, no events.
    CHECK_EQUAL(std::string("subscribe,list,chat_send,chat_receive"), permissions_of(cat.id));
    CHECK_STATUS(server->get(path(), cat.token), 200);
    LONGS_EQUAL(1, server->get(path("/bans"), ann.token).count("bans"));
    CHECK_TRUE(server->get(path(), ann.token).boolean_is("locked", false));
    for (WsClient* ws : {&a, &b, &c}) {
        ws->sync();
        CHECK_FALSE(ws->has_queued("participant_updated"));
        CHECK_FALSE(ws->has_queued("room_updated"));
        CHECK_FALSE(ws->has_queued("left"));
        CHECK_FALSE(ws->has_queued("participant_left"));
        CHECK_FALSE(ws->has_queued("track_muted"));
    }
}

TEST(Moderation, BadInputIsRefusedAndChangesNothing)
{
    WsClient a(*server, ann.token);
    join(a, "");
    WsClient c(*server, cat.token);
    const std::string c_pid = join(c, room.viewer_pin).str("participant_id");
    a.next("participant_joined");
    const std::string r = json_string(room.id);
    const std::string cu = json_string(cat.id);
    struct Case {
        std::string text;
        const char* code;
    };
    const std::vector<Case> cases = {
        // set_permissions
        {"{\"type\":\"set_permissions\",\"id\":\"e\",\"user_id\":" + cu + ",\"permissions\":[]}",
         "BADREQUEST"},
        {"{\"type\":\"set_permissions\",\"id\":\"e\",\"room\":" + r + ",\"permissions\":[]}",
         "BADREQUEST"},
        {"{\"type\":\"set_permissions\",\"id\":\"e\",\"room\":" + r + ",\"user_id\":" + cu + "}",
         "BADREQUEST"},
        {"{\"type\":\"set_permissions\",\"id\":\"e\",\"room\":" + r + ",\"user_id\":" + cu +
             ",\"permissions\":[\"fly\"]}",
         "BADREQUEST"},
        {"{\"type\":\"set_permissions\",\"id\":\"e\",\"room\":" + r + ",\"user_id\":" + cu +
             ",\"permissions\":\"publish\"}",
         "BADREQUEST"},
        {"{\"type\":\"set_permissions\",\"id\":\"e\",\"room\":" + r + ",\"user_id\":7" +
             ",\"permissions\":[]}",
         "BADREQUEST"},
        {"{\"type\":\"set_permissions\",\"id\":\"e\",\"room\":\"nosuchroom\",\"user_id\":" + cu +
             ",\"permissions\":[]}",
         "NOTFOUND"},
        {"{\"type\":\"set_permissions\",\"id\":\"e\",\"room\":" + r +
             ",\"user_id\":\"u_nobody\",\"permissions\":[]}",
         "NOTFOUND"},
        {"{\"type\":\"set_permissions\",\"id\":\"e\",\"room\":" + r +
             ",\"user_id\":" + json_string(ann.id) + ",\"permissions\":[]}",
         "PERMISSION"},
        // remove_participant
        {"{\"type\":\"remove_participant\",\"id\":\"e\",\"room\":" + r + "}", "BADREQUEST"},
        {"{\"type\":\"remove_participant\",\"id\":\"e\",\"user_id\":" + cu + "}", "BADREQUEST"},
        {"{\"type\":\"remove_participant\",\"id\":\"e\",\"room\":\"nosuchroom\",\"user_id\":" + cu +
             "}",
         "NOTFOUND"},
        {"{\"type\":\"remove_participant\",\"id\":\"e\",\"room\":" + r +
             ",\"user_id\":\"u_nobody\"}",
         "NOTFOUND"},
        // readmit
        {"{\"type\":\"readmit\",\"id\":\"e\",\"room\":" + r + "}", "BADREQUEST"},
        {"{\"type\":\"readmit\",\"id\":\"e\",\"room\":" + r + ",\"user_id\":" + cu + "}",
         "NOTFOUND"},  // not removed
        {"{\"type\":\"readmit\",\"id\":\"e\",\"room\":\"nosuchroom\",\"user_id\":" + cu + "}",
         "NOTFOUND"},
        // mute_participant
        {"{\"type\":\"mute_participant\",\"id\":\"e\",\"room\":" + r + "}", "BADREQUEST"},
        {"{\"type\":\"mute_participant\",\"id\":\"e\",\"room\":" + r +
             ",\"participant_id\":\"p_nobody\"}",
         "NOTFOUND"},
        {"{\"type\":\"mute_participant\",\"id\":\"e\",\"room\":\"nosuchroom\",\"participant_id\":" +
             json_string(c_pid) + "}",
         "NOTFOUND"},
        {"{\"type\":\"mute_participant\",\"id\":\"e\",\"room\":" + r +
             ",\"participant_id\":" + json_string(c_pid) + ",\"kind\":\"screen\"}",
         "BADREQUEST"},
        {"{\"type\":\"mute_participant\",\"id\":\"e\",\"room\":" + r +
             ",\"participant_id\":" + json_string(c_pid) + ",\"kind\":1}",
         "BADREQUEST"},
        // lock_room
        {"{\"type\":\"lock_room\",\"id\":\"e\",\"room\":" + r + "}", "BADREQUEST"},
        {"{\"type\":\"lock_room\",\"id\":\"e\",\"room\":" + r + ",\"locked\":\"yes\"}",
         "BADREQUEST"},
        {"{\"type\":\"lock_room\",\"id\":\"e\",\"locked\":true}", "BADREQUEST"},
        {"{\"type\":\"lock_room\",\"id\":\"e\",\"room\":\"nosuchroom\",\"locked\":true}",
         "NOTFOUND"},
    };
    for (const Case& k : cases) {
        Response reply = a.request(k.text, "e");
        CHECK_EQUAL_TEXT(std::string(k.code), reply.str("error.code"),
                         (k.text + " -> " + reply.body).c_str());
    }

    // REST: mute, bans.
    CHECK_ERROR(
        server->post(path("/members/" + cat.id + "/mute"), "{\"kind\":\"everything\"}", ann.token),
        400, "BADREQUEST");
    CHECK_ERROR(server->post(path("/members/" + cat.id + "/mute"), "[1]", ann.token), 400,
                "BADREQUEST");
    CHECK_ERROR(server->post(path("/members/u_nobody/mute"), "{}", ann.token), 404, "NOTFOUND");
    CHECK_ERROR(
        server->post("/api/v1/rooms/nosuchroom/members/" + cat.id + "/mute", "{}", ann.token), 404,
        "NOTFOUND");
    CHECK_ERROR(server->get("/api/v1/rooms/nosuchroom/bans", ann.token), 404, "NOTFOUND");
    CHECK_ERROR(server->del(path("/bans/u_nobody"), ann.token), 404, "NOTFOUND");
    CHECK_ERROR(server->get(path("/bans"), ""), 401, "AUTHFAIL");

    // Nothing changed.
    CHECK_EQUAL(std::string("subscribe,list,chat_send,chat_receive"), permissions_of(cat.id));
    CHECK_TRUE(server->get(path(), ann.token).boolean_is("locked", false));
    for (WsClient* ws : {&a, &c}) {
        ws->sync();
        CHECK_FALSE(ws->has_queued("participant_updated"));
        CHECK_FALSE(ws->has_queued("room_updated"));
        CHECK_FALSE(ws->has_queued("left"));
        CHECK_FALSE(ws->has_queued("participant_left"));
    }

    // Muting someone with nothing published is fine: an ack, no event.
    Response muted = a.request(
        request("mute_participant", "ok1", room.id, "\"participant_id\":" + json_string(c_pid)),
        "ok1");
    CHECK_ACK(muted);
    CHECK_EQUAL(c_pid, muted.str("participant_id"));
    LONGS_EQUAL(0, muted.count("muted"));
    Response rest = server->post(path("/members/" + cat.id + "/mute"), "", ann.token);
    CHECK_STATUS(rest, 200);
    LONGS_EQUAL(0, rest.count("muted"));
    c.sync();
    CHECK_FALSE(c.has_queued("track_muted"));
}
