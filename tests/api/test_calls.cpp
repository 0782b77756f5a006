// 1-1 calls as signaling on the WebSocket: call, incoming_call, ringing,
// answer (a two-member room both may join), reject, busy, hang up, missed
// after the ring timeout, and the bad requests.
#include <string>

#include "ws_client.h"

using namespace zumzi_test;

namespace {

void check_ws_error(const Response& r, const char* code)
{
    CHECK_EQUAL_TEXT(std::string("error"), r.str("type"), r.body.c_str());
    CHECK_EQUAL_TEXT(std::string(code), r.str("error.code"), r.body.c_str());
}

std::string call_frame(const std::string& id, const std::string& user)
{
    return "{\"type\":\"call\",\"id\":" + json_string(id) + ",\"user\":" + json_string(user) +
           ",\"video\":false}";
}

std::string on_call(const char* type, const std::string& id, const std::string& call)
{
    return "{\"type\":\"" + std::string(type) + "\",\"id\":" + json_string(id) +
           ",\"call\":" + json_string(call) + "}";
}

// The reason `call` ended, as `client` heard it (older call_ended events of
// other calls are skipped).
std::string ended_reason(WsClient& client, const std::string& call)
{
    for (int i = 0; i < 10; i++) {
        Response r = client.next("call_ended");
        if (!r.json)
            break;
        if (r.str("call") == call)
            return r.str("reason");
    }
    return "<no call_ended for " + call + ">";
}

}  // namespace

TEST_GROUP(Calls)
{
    std::unique_ptr<TestServer> server;
    TestUser ann, bob, cat;
    void setup() override
    {
        server = std::make_unique<TestServer>([](zumzi::Config& c) { c.call_ring_timeout = 1; });
        ann = server->make_user("ann@example.com", "Ann");
        bob = server->make_user("bob@example.com", "Bob");
        cat = server->make_user("cat@example.com", "Cat");
    }
    void teardown() override
    {
        server.reset();
    }
};

TEST(Calls, RingAnswerJoinAndHangUp)
{
    WsClient a(*server, ann.token);
    WsClient b(*server, bob.token);
    Response started = a.request(call_frame("c1", bob.id), "c1");
    CHECK_EQUAL("call_started", started.str("type"));
    const std::string call = started.str("call.id");
    CHECK_EQUAL("calling", started.str("call.state"));
    CHECK_TRUE(started.boolean_is("call.video", false));

    Response incoming = b.next("incoming_call");
    CHECK_EQUAL(call, incoming.str("call.id"));
    CHECK_EQUAL(ann.id, incoming.str("call.caller"));
    CHECK_EQUAL("Ann", incoming.str("caller.name"));

    CHECK_EQUAL("ack", b.request(on_call("ringing", "r", call), "r").str("type"));
    CHECK_EQUAL(call, a.next("call_ringing").str("call"));

    // The caller cannot answer their own call.
    a.send(on_call("answer", "bad", call));
    check_ws_error(a.next("error"), "PERMISSION");

    CHECK_EQUAL("ack", b.request(on_call("answer", "ans", call), "ans").str("type"));
    const std::string room = a.next("call_answered").str("room");
    CHECK_EQUAL(room, b.next("call_answered").str("room"));
    CHECK_FALSE(room.empty());

    // A room of two: both are members and join without a PIN.
    Response members = server->get("/api/v1/rooms/" + room + "/members", ann.token);
    CHECK_STATUS(members, 200);
    CHECK_EQUAL(2, members.count("members"));
    CHECK_EQUAL("publisher", members.str(members.find("members", "user_id", bob.id) + ".role"));
    CHECK_ERROR(server->get("/api/v1/rooms/" + room, cat.token), 403, "NOTMEMBER");
    Response joined =
        b.request("{\"type\":\"join\",\"id\":\"j\",\"room\":" + json_string(room) + "}", "j");
    CHECK_EQUAL("joined", joined.str("type"));

    // Answering twice, and calling while in a call, are refused.
    b.send(on_call("answer", "again", call));
    check_ws_error(b.next("error"), "BADSTATE");
    WsClient c(*server, cat.token);
    c.send(call_frame("c2", ann.id));
    CHECK_EQUAL("call_started", c.next("call_started").str("type"));
    Response busy = c.next("call_ended");
    CHECK_EQUAL("busy", busy.str("reason"));
    a.send(call_frame("c3", cat.id));
    check_ws_error(a.next("error"), "BUSY");

    CHECK_EQUAL("ack", a.request(on_call("hangup", "h", call), "h").str("type"));
    Response ended = b.next("call_ended");
    CHECK_EQUAL(call, ended.str("call"));
    CHECK_EQUAL("hangup", ended.str("reason"));
    CHECK_EQUAL(room, ended.str("room"));
    b.send(on_call("hangup", "h2", call));
    check_ws_error(b.next("error"), "NOTFOUND");
    // The call's room went with the call: nobody joins it again.
    CHECK_ERROR(server->get("/api/v1/rooms/" + room, ann.token), 404, "NOTFOUND");
    WsClient a2(*server, ann.token);
    check_ws_error(
        a2.request("{\"type\":\"join\",\"id\":\"j2\",\"room\":" + json_string(room) + "}", "j2"),
        "NOTFOUND");
}

TEST(Calls, RejectBusyCancelAndMissed)
{
    WsClient a(*server, ann.token);
    WsClient b(*server, bob.token);

    std::string call = a.request(call_frame("1", bob.id), "1").str("call.id");
    b.next("incoming_call");
    b.send(on_call("reject", "r", call));
    Response rejected = a.next("call_ended");
    CHECK_EQUAL(call, rejected.str("call"));
    CHECK_EQUAL("rejected", rejected.str("reason"));

    call = a.request(call_frame("2", bob.id), "2").str("call.id");
    b.next("incoming_call");
    b.send("{\"type\":\"reject\",\"call\":" + json_string(call) + ",\"busy\":true}");
    CHECK_EQUAL("busy", ended_reason(a, call));
    CHECK_EQUAL("busy", ended_reason(b, call));

    // The caller gives up before an answer: cancelled for both.
    call = a.request(call_frame("3", bob.id), "3").str("call.id");
    b.next("incoming_call");
    a.send(on_call("hangup", "h", call));
    CHECK_EQUAL("cancelled", ended_reason(b, call));

    // Nobody answers within call_ring_timeout (1 s here): missed.
    call = a.request(call_frame("4", bob.id), "4").str("call.id");
    b.next("incoming_call");
    CHECK_EQUAL("missed", ended_reason(a, call));
    CHECK_EQUAL("missed", ended_reason(b, call));
}

TEST(Calls, UnavailableDisconnectedAndBadRequests)
{
    AppKey other = server->create_app("Other");
    TestUser eve = server->make_user("eve@example.com", "Eve", other.key);
    WsClient a(*server, ann.token);
    // Cat is offline: the call ends at once.
    a.send(call_frame("1", cat.id));
    a.next("call_started");
    CHECK_EQUAL("unavailable", a.next("call_ended").str("reason"));

    a.send(call_frame("2", "u_nobody"));
    check_ws_error(a.next("error"), "NOTFOUND");
    a.send(call_frame("3", eve.id));
    check_ws_error(a.next("error"), "NOTFOUND");
    a.send(call_frame("4", ann.id));
    check_ws_error(a.next("error"), "BADREQUEST");
    a.send("{\"type\":\"call\",\"id\":\"5\"}");
    check_ws_error(a.next("error"), "BADREQUEST");
    a.send(on_call("answer", "6", "c_nosuchcall"));
    check_ws_error(a.next("error"), "NOTFOUND");

    CHECK_STATUS(
        server->post("/api/v1/blocks", "{\"user_id\":" + json_string(ann.id) + "}", cat.token),
        201);
    WsClient c(*server, cat.token);
    a.send(call_frame("7", cat.id));
    check_ws_error(a.next("error"), "BLOCKED");

    // The callee's connection drops mid-call: the caller hears it.
    std::string disconnected;
    {
        WsClient b(*server, bob.token);
        const std::string call = a.request(call_frame("8", bob.id), "8").str("call.id");
        disconnected = call;
        b.next("incoming_call");
        b.send(on_call("answer", "a", call));
        a.next("call_answered");
    }
    CHECK_EQUAL("disconnected", ended_reason(a, disconnected));
}
