// The WebSocket (/api/v1/ws) over a real connection: authentication at the
// upgrade, welcome, ping, joining and leaving rooms with the live roster
// (participant_joined / participant_left), and every bad message answered
// with an error frame that changes nothing.
#include "test_server.h"
#include "ws_client.h"

using namespace zumzi_test;

namespace {

std::string join_msg(const std::string& room, const std::string& pin, int id)
{
    std::string m =
        "{\"type\":\"join\",\"id\":" + std::to_string(id) + ",\"room\":" + json_string(room);
    if (!pin.empty())
        m += ",\"pin\":" + json_string(pin);
    return m + "}";
}

void check_ws_error(const Response& r, const char* code)
{
    CHECK_EQUAL_TEXT(std::string("error"), r.str("type"), r.body.c_str());
    CHECK_EQUAL_TEXT(std::string(code), r.str("error.code"), r.body.c_str());
    CHECK_TRUE(!r.str("error.message").empty());
}

}  // namespace

TEST_GROUP(WebSocket)
{
    std::unique_ptr<TestServer> server;
    void setup() override
    {
        server = std::make_unique<TestServer>();
    }
    void teardown() override
    {
        server.reset();
    }
};

TEST(WebSocket, UpgradeNeedsAValidToken)
{
    WsClient none(*server, "");
    CHECK_FALSE(none.connected());
    CHECK_EQUAL(401, none.handshake_status());

    WsClient wrong(*server, "zt_not-a-real-token");
    CHECK_FALSE(wrong.connected());
    CHECK_EQUAL(401, wrong.handshake_status());

    // A revoked token is refused too.
    TestUser ann = server->login("ann@example.com");
    CHECK_STATUS(server->post("/api/v1/logout", "", ann.token), 200);
    WsClient revoked(*server, ann.token);
    CHECK_FALSE(revoked.connected());
    CHECK_EQUAL(401, revoked.handshake_status());
}

TEST(WebSocket, WelcomeNamesTheUserAndPingEchoesTheId)
{
    TestUser ann = server->login("ann@example.com");
    WsClient ws(*server, ann.token);
    CHECK_TRUE(ws.connected());
    Response welcome = ws.next("welcome");
    CHECK_EQUAL(ann.id, welcome.str("user.id"));
    CHECK_TRUE(!welcome.str("session_id").empty());

    ws.send("{\"type\":\"ping\",\"id\":42}");
    Response pong = ws.next("pong");
    CHECK_EQUAL(42, pong.num("id"));
    ws.send("{\"type\":\"ping\",\"id\":\"abc\"}");
    CHECK_EQUAL(std::string("abc"), ws.next("pong").str("id"));
}

TEST(WebSocket, JoinLeaveAndDisconnectUpdateTheRoster)
{
    TestUser ann = server->login("ann@example.com");
    TestUser bob = server->login("bob@example.com");
    RoomInfo room = server->create_room(ann);

    WsClient a(*server, ann.token);
    a.send(join_msg(room.id, "", 1));  // the owner needs no PIN
    Response a_joined = a.next("joined");
    CHECK_EQUAL(1, a_joined.num("id"));
    CHECK_EQUAL(room.id, a_joined.str("room.id"));
    CHECK_EQUAL(std::string("owner"), a_joined.str("room.role"));
    CHECK_EQUAL(0, a_joined.count("participants"));
    const std::string a_pid = a_joined.str("participant_id");

    WsClient b(*server, bob.token);
    b.send(join_msg(room.id, room.participant_pin, 2));
    Response b_joined = b.next("joined");
    CHECK_EQUAL(std::string("publisher"), b_joined.str("room.role"));
    CHECK_FALSE(b_joined.has("room.participant_pin"));  // PINs are the owner's
    CHECK_EQUAL(1, b_joined.count("participants"));
    CHECK_EQUAL(a_pid, b_joined.str("participants.0.participant_id"));
    CHECK_EQUAL(ann.id, b_joined.str("participants.0.user_id"));
    const std::string b_pid = b_joined.str("participant_id");

    Response seen = a.next("participant_joined");
    CHECK_EQUAL(room.id, seen.str("room"));
    CHECK_EQUAL(b_pid, seen.str("participant.participant_id"));
    CHECK_EQUAL(bob.id, seen.str("participant.user_id"));
    // Bob hears nothing about himself.
    b.sync();
    CHECK_FALSE(b.has_queued("participant_joined"));

    // The REST join made Bob a stored member too.
    CHECK_STATUS(server->get("/api/v1/rooms/" + room.id, bob.token), 200);

    b.send("{\"type\":\"leave\",\"id\":3,\"room\":" + json_string(room.id) + "}");
    CHECK_EQUAL(room.id, b.next("left").str("room"));
    Response gone = a.next("participant_left");
    CHECK_EQUAL(b_pid, gone.str("participant_id"));

    // Joining again makes a new participant; a dropped connection leaves.
    b.send(join_msg(room.id, "", 4));  // a stored member needs no PIN
    const std::string b_pid2 = b.next("joined").str("participant_id");
    CHECK_TRUE(b_pid2 != b_pid);
    CHECK_EQUAL(b_pid2, a.next("participant_joined").str("participant.participant_id"));
    b.close();
    CHECK_EQUAL(b_pid2, a.next("participant_left").str("participant_id"));
}

TEST(WebSocket, TwoConnectionsOfOneUserAreTwoParticipants)
{
    TestUser ann = server->login("ann@example.com");
    RoomInfo room = server->create_room(ann);
    WsClient one(*server, ann.token);
    WsClient two(*server, ann.token);
    one.send(join_msg(room.id, "", 1));
    const std::string first = one.next("joined").str("participant_id");
    two.send(join_msg(room.id, "", 1));
    Response second = two.next("joined");
    CHECK_EQUAL(1, second.count("participants"));
    CHECK_EQUAL(first, second.str("participants.0.participant_id"));
    CHECK_TRUE(second.str("participant_id") != first);
}

TEST(WebSocket, BadJoinsChangeNothing)
{
    TestUser ann = server->login("ann@example.com");
    TestUser bob = server->login("bob@example.com");
    RoomInfo room = server->create_room(ann);
    WsClient a(*server, ann.token);
    a.send(join_msg(room.id, "", 1));
    a.next("joined");
    WsClient b(*server, bob.token);

    b.send(join_msg(room.id, "00000000" == room.participant_pin ? "11111111" : "00000000", 7));
    Response bad = b.next("error");
    check_ws_error(bad, "BADPIN");
    CHECK_EQUAL(7, bad.num("id"));
    b.send(join_msg("nosuchroom", room.participant_pin, 8));
    check_ws_error(b.next("error"), "NOTFOUND");
    b.send(join_msg(room.id, "", 9));
    check_ws_error(b.next("error"), "BADREQUEST");  // not a member: a PIN is needed
    b.send("{\"type\":\"join\",\"id\":10,\"room\":" + json_string(room.id) +
           ",\"pin\":12345678.5}");
    check_ws_error(b.next("error"), "BADREQUEST");
    b.send("{\"type\":\"leave\",\"id\":11,\"room\":" + json_string(room.id) + "}");
    check_ws_error(b.next("error"), "NOTJOINED");

    // Nobody appeared in the room, and Bob is no stored member.
    a.sync();
    CHECK_FALSE(a.has_queued("participant_joined"));
    CHECK_ERROR(server->get("/api/v1/rooms/" + room.id, bob.token), 403, "NOTMEMBER");

    // Joining twice on one connection is refused and leaves one participant.
    b.send(join_msg(room.id, room.viewer_pin, 12));
    CHECK_EQUAL(std::string("viewer"), b.next("joined").str("room.role"));
    b.send(join_msg(room.id, room.viewer_pin, 13));
    check_ws_error(b.next("error"), "ALREADYJOINED");
    a.next("participant_joined");
    a.sync();
    CHECK_FALSE(a.has_queued("participant_joined"));
}

TEST(WebSocket, MalformedFramesGetErrorsAndTheConnectionLives)
{
    TestUser ann = server->login("ann@example.com");
    WsClient ws(*server, ann.token);
    ws.next("welcome");
    ws.send("{\"type\":");
    Response r = ws.next("error");
    check_ws_error(r, "BADREQUEST");
    CHECK_FALSE(r.has("id"));
    ws.send("[1,2,3]");
    check_ws_error(ws.next("error"), "BADREQUEST");
    ws.send("{\"id\":5}");
    check_ws_error(ws.next("error"), "BADREQUEST");
    ws.send("{\"type\":\"dance\",\"id\":6}");
    Response unknown = ws.next("error");
    check_ws_error(unknown, "BADREQUEST");
    CHECK_EQUAL(6, unknown.num("id"));
    ws.send("{\"type\":\"ping\",\"id\":{\"x\":1}}");
    check_ws_error(ws.next("error"), "BADREQUEST");
    ws.send_binary("\x01\x02");
    check_ws_error(ws.next("error"), "BADREQUEST");
    ws.sync();  // still alive
}

TEST(WebSocket, OversizedMessageClosesTheConnection)
{
    TestUser ann = server->login("ann@example.com");
    WsClient ws(*server, ann.token);
    ws.next("welcome");
    const std::string big(static_cast<size_t>(server->config().max_body_bytes) + 10, 'x');
    ws.send("{\"type\":\"ping\",\"pad\":\"" + big + "\"}");
    CHECK_TRUE(ws.wait_closed());
}

TEST(WebSocket, WithoutListPermissionTheRosterIsHidden)
{
    TestUser ann = server->login("ann@example.com");
    TestUser bob = server->login("bob@example.com");
    TestUser cat = server->login("cat@example.com");
    RoomInfo room = server->create_room(ann);
    CHECK_STATUS(server->post("/api/v1/rooms/" + room.id + "/join",
                              "{\"pin\":" + json_string(room.viewer_pin) + "}", bob.token),
                 200);
    CHECK_STATUS(server->patch("/api/v1/rooms/" + room.id + "/members/" + bob.id,
                               "{\"permissions\":[\"subscribe\"]}", ann.token),
                 200);

    WsClient a(*server, ann.token);
    a.send(join_msg(room.id, "", 1));
    a.next("joined");
    WsClient b(*server, bob.token);
    b.send(join_msg(room.id, "", 1));
    Response b_joined = b.next("joined");
    CHECK_EQUAL(0, b_joined.count("participants"));  // Ann is there but hidden
    a.next("participant_joined");                    // Ann may list: she sees Bob

    WsClient c(*server, cat.token);
    c.send(join_msg(room.id, room.participant_pin, 1));
    CHECK_EQUAL(2, c.next("joined").count("participants"));
    b.sync();
    CHECK_FALSE(b.has_queued("participant_joined"));
}

TEST(WebSocket, AnotherAppsRoomDoesNotExist)
{
    TestUser ann = server->login("ann@example.com");
    RoomInfo room = server->create_room(ann);
    AppKey other = server->create_app("other");
    TestUser eve = server->login("eve@example.com", other.id);
    WsClient e(*server, eve.token);
    e.send(join_msg(room.id, room.participant_pin, 1));
    check_ws_error(e.next("error"), "NOTFOUND");
}

TEST(WebSocket, MediaMessagesCheckPermissionsAndInput)
{
    TestUser ann = server->login("ann@example.com");
    TestUser bob = server->login("bob@example.com");
    RoomInfo room = server->create_room(ann);
    WsClient a(*server, ann.token);
    a.send(join_msg(room.id, "", 1));
    a.next("joined");

    // Not in the room yet: nothing to publish into.
    WsClient b(*server, bob.token);
    b.send("{\"type\":\"publish\",\"id\":2,\"room\":" + json_string(room.id) + ",\"sdp\":\"v=0\"}");
    check_ws_error(b.next("error"), "NOTJOINED");

    // A viewer may not publish.
    b.send(join_msg(room.id, room.viewer_pin, 3));
    b.next("joined");
    b.send("{\"type\":\"publish\",\"id\":4,\"room\":" + json_string(room.id) + ",\"sdp\":\"v=0\"}");
    Response refused = b.next("error");
    check_ws_error(refused, "PERMISSION");
    CHECK_EQUAL(4, refused.num("id"));

    // Garbage SDP, missing SDP, bad ICE fields.
    a.send("{\"type\":\"publish\",\"id\":5,\"room\":" + json_string(room.id) +
           ",\"sdp\":\"this is not sdp\"}");
    check_ws_error(a.next("error"), "BADREQUEST");
    a.send("{\"type\":\"publish\",\"id\":6,\"room\":" + json_string(room.id) + "}");
    check_ws_error(a.next("error"), "BADREQUEST");
    a.send("{\"type\":\"subscribe_answer\",\"id\":7,\"room\":" + json_string(room.id) +
           ",\"sdp\":\"nope\"}");
    check_ws_error(a.next("error"), "BADREQUEST");
    a.send("{\"type\":\"ice\",\"id\":8,\"room\":" + json_string(room.id) +
           ",\"session\":\"sideways\",\"mline\":0,\"candidate\":\"candidate:1 1 UDP 1 127.0.0.1 "
           "9 typ host\"}");
    check_ws_error(a.next("error"), "BADREQUEST");
    a.send("{\"type\":\"ice\",\"id\":9,\"room\":" + json_string(room.id) +
           ",\"session\":\"publish\",\"mline\":-1,\"candidate\":\"\"}");
    check_ws_error(a.next("error"), "BADREQUEST");
    a.send("{\"type\":\"ice\",\"id\":10,\"room\":" + json_string(room.id) +
           ",\"session\":\"publish\",\"mline\":0,\"candidate\":\"rm -rf /\"}");
    check_ws_error(a.next("error"), "BADREQUEST");

    // None of it published anything: no track events reached Ann or Bob.
    a.sync();
    b.sync();
    CHECK_FALSE(a.has_queued("track_published"));
    CHECK_FALSE(b.has_queued("track_published"));
}

TEST(WebSocket, TheLastOneOutTearsTheMediaRoomDown)
{
    TestUser ann = server->login("ann@example.com");
    RoomInfo room = server->create_room(ann);
    size_t rooms = 99;
    {
        WsClient a(*server, ann.token);
        a.send(join_msg(room.id, "", 1));
        a.next("joined");
        server->run_on_server([&](zumzi::Store&, zumzi::Server& s) { rooms = s.media().size(); });
        CHECK_EQUAL(1u, rooms);
    }  // the connection closes
    for (int i = 0; i < 200 && rooms != 0; i++) {
        server->run_on_server([&](zumzi::Store&, zumzi::Server& s) { rooms = s.media().size(); });
        if (rooms != 0)
            g_usleep(10000);
    }
    CHECK_EQUAL(0u, rooms);
}

TEST(WebSocket, SelectionMessagesRefuseBadInputAndChangeNothing)
{
    TestUser ann = server->login("ann@example.com");
    TestUser bob = server->login("bob@example.com");
    RoomInfo room = server->create_room(ann);
    const std::string r = json_string(room.id);
    WsClient a(*server, ann.token);
    WsClient b(*server, bob.token);

    // Not joined: every new message says so.
    for (const char* type :
         {"mute_track", "unmute_track", "subscribe_track", "unsubscribe_track"}) {
        b.send(std::string("{\"type\":\"") + type + "\",\"id\":1,\"room\":" + r +
               ",\"track\":\"x-video0\"}");
        check_ws_error(b.next("error"), "NOTJOINED");
    }
    b.send("{\"type\":\"audio_only\",\"id\":2,\"room\":" + r + ",\"enabled\":true}");
    check_ws_error(b.next("error"), "NOTJOINED");

    a.send(join_msg(room.id, "", 3));
    const std::string me = a.next("joined").str("participant_id");
    // Unknown tracks, missing or mistyped fields.
    a.send("{\"type\":\"mute_track\",\"id\":4,\"room\":" + r + ",\"track\":\"nobody-video0\"}");
    Response unknown = a.next("error");
    check_ws_error(unknown, "NOTFOUND");
    CHECK_EQUAL(4, unknown.num("id"));
    a.send("{\"type\":\"unmute_track\",\"id\":5,\"room\":" + r + "}");
    check_ws_error(a.next("error"), "BADREQUEST");
    a.send("{\"type\":\"unsubscribe_track\",\"id\":6,\"room\":" + r + ",\"track\":\"nobody-0\"}");
    check_ws_error(a.next("error"), "NOTFOUND");
    a.send("{\"type\":\"subscribe_track\",\"id\":7,\"room\":" + r + ",\"track\":7}");
    check_ws_error(a.next("error"), "BADREQUEST");
    a.send("{\"type\":\"audio_only\",\"id\":8,\"room\":" + r + ",\"enabled\":\"yes\"}");
    check_ws_error(a.next("error"), "BADREQUEST");
    a.send("{\"type\":\"audio_only\",\"id\":9,\"room\":" + r + "}");
    check_ws_error(a.next("error"), "BADREQUEST");
    bool audio_only = true;
    auto read_audio_only = [&]() {
        server->run_on_server([&](zumzi::Store&, zumzi::Server& s) {
            auto live = s.media().find(room.id);
            audio_only = live && live->audio_only(me);
        });
        return audio_only;
    };
    CHECK_FALSE(read_audio_only());

    // A good one is acknowledged with its id and state.
    a.send("{\"type\":\"audio_only\",\"id\":10,\"room\":" + r + ",\"enabled\":true}");
    Response ack = a.next("ack");
    CHECK_EQUAL(10, ack.num("id"));
    CHECK_TRUE(ack.boolean_is("audio_only", true));
    CHECK_TRUE(read_audio_only());
    a.sync();
    CHECK_FALSE(a.has_queued("track_muted"));
}

TEST(WebSocket, JoinedCarriesTheIceServersOfTheConfig)
{
    server.reset();
    server = std::make_unique<TestServer>([](zumzi::Config& c) {
        c.stun_server = "stun://127.0.0.1:3478";
        c.turn_servers =
            "turn://alice:s%3Acret@127.0.0.1:3478?transport=tcp, turns://bob:pw@127.0.0.1:5349";
    });
    CHECK_TRUE(server->started());
    TestUser ann = server->login("ann@example.com");
    RoomInfo room = server->create_room(ann);
    WsClient a(*server, ann.token);
    a.send(join_msg(room.id, "", 1));
    Response joined = a.next("joined");
    LONGS_EQUAL(3, joined.count("ice_servers"));
    STRCMP_EQUAL("stun:127.0.0.1:3478", joined.str("ice_servers.0.urls.0").c_str());
    CHECK_FALSE(joined.has("ice_servers.0.username"));
    STRCMP_EQUAL("turn:127.0.0.1:3478?transport=tcp", joined.str("ice_servers.1.urls.0").c_str());
    STRCMP_EQUAL("alice", joined.str("ice_servers.1.username").c_str());
    STRCMP_EQUAL("s:cret", joined.str("ice_servers.1.credential").c_str());
    STRCMP_EQUAL("turns:127.0.0.1:5349", joined.str("ice_servers.2.urls.0").c_str());
    STRCMP_EQUAL("bob", joined.str("ice_servers.2.username").c_str());
    // The room settings travel too.
    LONGS_EQUAL(0, joined.num("room.last_n"));
}

TEST(WebSocket, WithoutStunOrTurnTheIceServersAreEmpty)
{
    TestUser ann = server->login("ann@example.com");
    RoomInfo room = server->create_room(ann);
    WsClient a(*server, ann.token);
    a.send(join_msg(room.id, "", 1));
    Response joined = a.next("joined");
    CHECK_TRUE(joined.has("ice_servers"));
    LONGS_EQUAL(0, joined.count("ice_servers"));
}
