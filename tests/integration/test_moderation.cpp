// Moderation with real media, end to end: zumzi-bot peers over the
// WebSocket and WebRTC, a moderator acting over REST and the WebSocket. A
// viewer given 'publish' publishes at once and loses its tracks when it is
// taken away (and gets them back with it); a participant given 'subscribe'
// starts receiving and stops when it is taken away; a moderator's mute
// stops the forwarding of exactly the tracks of that kind (track_muted with
// "by"), and the muted publisher unmutes itself; a removed member's bot is
// taken out of the room. Counts of decoded frames are asserted, never
// timings.
#include <memory>
#include <vector>

#include "../api/ws_client.h"
#include "bot.h"

using namespace zumzi_test;
using zumzi::bot::Bot;
using zumzi::bot::BotOptions;

namespace {

std::unique_ptr<Bot> make_bot(TestServer& server, const TestUser& user, const std::string& room,
                              const std::string& pin, const std::string& name, bool publish)
{
    BotOptions o;
    o.server_url = server.url();
    o.token = user.token;
    o.room = room;
    o.pin = pin;
    o.name = name;
    o.width = 320;
    o.height = 240;
    o.fps = 15;
    o.video_kbps = 250;
    o.publish_video = publish;
    o.publish_audio = publish;
    auto bot = std::make_unique<Bot>(o);
    bot->start();
    return bot;
}

bool wait_for(Bot& any, const std::function<bool()>& cond, int timeout_ms = 30000)
{
    return any.wait_until(cond, timeout_ms);
}

std::string describe(const Bot& bot)
{
    std::string out = bot.options().name + " (" + bot.participant_id() + "):";
    for (const auto& t : bot.tracks())
        out += " [" + t.track_id + " " + t.label + " " + t.kind +
               " frames=" + std::to_string(t.frames) + "]";
    for (const auto& e : bot.errors())
        out += " error: " + e;
    out += " offers=" + std::to_string(bot.subscribe_offers());
    return out;
}

// `n` more decoded frames of `track` reach `bot`.
bool keeps_getting(Bot& bot, const std::string& track, uint64_t n = 10)
{
    const uint64_t before = bot.frames_of(track);
    return wait_for(bot, [&] { return bot.frames_of(track) >= before + n; });
}

// After what was in flight drained, no frame of `track` reaches `bot`.
bool gets_nothing_of(Bot& bot, const std::string& track)
{
    wait_for(
        bot, [] { return false; }, 1000);
    const uint64_t before = bot.frames_of(track);
    wait_for(
        bot, [] { return false; }, 1500);
    return bot.frames_of(track) == before;
}

// Same for the audio of a participant.
bool hears_nothing_from(Bot& bot, const std::string& participant)
{
    wait_for(
        bot, [] { return false; }, 1000);
    const uint64_t before = bot.audio_buffers_from(participant);
    wait_for(
        bot, [] { return false; }, 1500);
    return bot.audio_buffers_from(participant) == before;
}

bool has_event(const Bot& bot, const std::string& type, const std::string& participant)
{
    for (const auto& e : bot.events())
        if (e.type == type && e.participant_id == participant)
            return true;
    return false;
}

std::string track_of(const Bot& observer, const Bot& publisher, const std::string& label)
{
    for (const auto& entry : observer.remote_tracks())
        if (entry.second.participant_id == publisher.participant_id() &&
            entry.second.label == label)
            return entry.first;
    return {};
}

bool published(const Bot& observer, const std::string& track)
{
    auto it = observer.remote_tracks().find(track);
    return it != observer.remote_tracks().end() && it->second.published;
}

}  // namespace

TEST_GROUP(Moderate)
{
    std::unique_ptr<TestServer> server;
    TestUser ann, bob, cat, dan;
    RoomInfo room;
    void setup() override
    {
        server = std::make_unique<TestServer>();
        ann = server->login("ann@example.com");
        bob = server->login("bob@example.com");
        cat = server->login("cat@example.com");
        dan = server->login("dan@example.com");
        room = server->create_room(ann, "{\"name\":\"Moderated\",\"preset\":\"qvga\"}");
    }
    void teardown() override
    {
        server.reset();
    }
    std::string member_path(const TestUser& user)
    {
        return "/api/v1/rooms/" + room.id + "/members/" + user.id;
    }
};

TEST(Moderate, PromotedViewerPublishesAtOnceAndLosesItAgain)
{
    auto b = make_bot(*server, bob, room.id, room.participant_pin, "bob", false);
    auto c = make_bot(*server, cat, room.id, room.viewer_pin, "cat", false);
    CHECK_TRUE(wait_for(*c, [&] { return b->joined() && c->joined(); }));

    // Cat, a viewer, is given 'publish': her screen share goes through
    // without rejoining.
    CHECK_STATUS(server->patch(member_path(cat),
                               "{\"permissions\":[\"publish\",\"subscribe\",\"list\"]}", ann.token),
                 200);
    CHECK_TRUE(c->add_screen());
    CHECK_TRUE(wait_for(*b, [&] { return !track_of(*b, *c, "screen").empty(); }));
    const std::string screen = track_of(*b, *c, "screen");
    CHECK_TEXT(keeps_getting(*b, screen), describe(*b).c_str());

    // Taken away: her track is unpublished for everyone, nothing arrives.
    CHECK_STATUS(
        server->patch(member_path(cat), "{\"permissions\":[\"subscribe\",\"list\"]}", ann.token),
        200);
    CHECK_TRUE(wait_for(*b, [&] { return !published(*b, screen); }));
    CHECK_TRUE(has_event(*b, "track_unpublished", c->participant_id()));
    CHECK_TRUE(gets_nothing_of(*b, screen));

    // Given back: the same track is published again and flows.
    CHECK_STATUS(
        server->patch(member_path(cat), "{\"permissions\":[\"publish\",\"subscribe\"]}", ann.token),
        200);
    CHECK_TRUE(wait_for(*b, [&] { return published(*b, screen); }));
    CHECK_TEXT(keeps_getting(*b, screen), describe(*b).c_str());

    CHECK_TEXT(b->errors().empty(), describe(*b).c_str());
    CHECK_TEXT(c->errors().empty(), describe(*c).c_str());
    for (Bot* bot : {b.get(), c.get()})
        bot->leave();
    wait_for(
        *b, [&] { return server->media_rooms() == 0; }, 10000);
}

TEST(Moderate, SubscribeMuteAndRemove)
{
    // Bob is a member without 'subscribe' before his bot joins.
    CHECK_STATUS(server->post("/api/v1/rooms/" + room.id + "/join",
                              "{\"pin\":" + json_string(room.participant_pin) + "}", bob.token),
                 200);
    CHECK_STATUS(server->patch(member_path(bob), "{\"permissions\":[\"list\"]}", ann.token), 200);
    // Dan watches the events; Ann moderates over a WebSocket of her own.
    WsClient d(*server, dan.token);
    d.send("{\"type\":\"join\",\"id\":\"d\",\"room\":" + json_string(room.id) +
           ",\"pin\":" + json_string(room.viewer_pin) + "}");
    CHECK_EQUAL(std::string("joined"), d.next("joined").str("type"));
    WsClient m(*server, ann.token);

    auto a = make_bot(*server, ann, room.id, "", "ann", true);
    auto b = make_bot(*server, bob, room.id, "", "bob", false);
    CHECK_TRUE(wait_for(*a, [&] {
        return !a->own_track("camera").empty() && !a->own_track("mic").empty() && b->joined();
    }));
    const std::string camera = a->own_track("camera");
    const std::string mic = a->own_track("mic");

    // Given 'subscribe', Bob starts receiving.
    CHECK_EQUAL(0u, b->frames_of(camera));
    CHECK_STATUS(
        server->patch(member_path(bob), "{\"permissions\":[\"list\",\"subscribe\"]}", ann.token),
        200);
    CHECK_TEXT(keeps_getting(*b, camera), describe(*b).c_str());

    // Ann mutes her own video over REST as a moderator: the camera stops,
    // the microphone goes on, everyone hears who did it.
    d.take_all("track_muted");
    Response muted = server->post(member_path(ann) + "/mute", "{\"kind\":\"video\"}", ann.token);
    CHECK_STATUS(muted, 200);
    LONGS_EQUAL(1, muted.count("muted"));
    CHECK_EQUAL(camera, muted.str("muted.0"));
    Response event = d.next("track_muted");
    CHECK_EQUAL(camera, event.str("track_id"));
    CHECK_TRUE(event.boolean_is("muted", true));
    CHECK_EQUAL(ann.id, event.str("by"));
    CHECK_TRUE(gets_nothing_of(*b, camera));
    const uint64_t audio = b->audio_buffers_from(a->participant_id());
    CHECK_TRUE(
        wait_for(*b, [&] { return b->audio_buffers_from(a->participant_id()) >= audio + 20; }));

    // The muted publisher unmutes itself.
    const int unmute = a->mute_track(camera, false);
    CHECK_TRUE(wait_for(*a, [&] { return a->acked(unmute); }));
    Response unmuted = d.next("track_muted");
    CHECK_TRUE(unmuted.boolean_is("muted", false));
    CHECK_FALSE(unmuted.has("by"));
    CHECK_TEXT(keeps_getting(*b, camera), describe(*b).c_str());

    // Over the WebSocket, everything: both tracks stop.
    Response ack = m.request(
        "{\"type\":\"mute_participant\",\"id\":\"m1\",\"room\":" + json_string(room.id) +
            ",\"participant_id\":" + json_string(a->participant_id()) + ",\"kind\":\"all\"}",
        "m1");
    CHECK_EQUAL_TEXT(std::string("ack"), ack.str("type"), ack.body.c_str());
    LONGS_EQUAL(2, ack.count("muted"));
    CHECK_TRUE(ack.contains_string("muted", camera) && ack.contains_string("muted", mic));
    CHECK_TRUE(gets_nothing_of(*b, camera));
    CHECK_TRUE(hears_nothing_from(*b, a->participant_id()));
    CHECK_EQUAL(ann.id, d.next("track_muted").str("by"));
    CHECK_EQUAL(ann.id, d.next("track_muted").str("by"));
    // Muting what is muted already: an ack, nothing muted, no event.
    Response again = m.request(
        "{\"type\":\"mute_participant\",\"id\":\"m2\",\"room\":" + json_string(room.id) +
            ",\"participant_id\":" + json_string(a->participant_id()) + ",\"kind\":\"all\"}",
        "m2");
    LONGS_EQUAL(0, again.count("muted"));
    d.sync();
    CHECK_FALSE(d.has_queued("track_muted"));
    a->mute_track(camera, false);
    CHECK_TEXT(keeps_getting(*b, camera), describe(*b).c_str());

    // 'subscribe' taken away: nothing reaches Bob any more.
    CHECK_STATUS(server->patch(member_path(bob), "{\"permissions\":[\"list\"]}", ann.token), 200);
    CHECK_TRUE(gets_nothing_of(*b, camera));

    // Removed: Bob's bot is taken out of the room, everyone hears why.
    Response removed =
        m.request("{\"type\":\"remove_participant\",\"id\":\"r\",\"room\":" + json_string(room.id) +
                      ",\"user_id\":" + json_string(bob.id) + "}",
                  "r");
    CHECK_EQUAL_TEXT(std::string("ack"), removed.str("type"), removed.body.c_str());
    CHECK_TRUE(wait_for(*b, [&] { return b->state() == zumzi::bot::BotState::Left; }));
    CHECK_TRUE(!b->errors().empty() && b->errors().back().find("removed") != std::string::npos);
    Response left = d.next("participant_left");
    CHECK_EQUAL(b->participant_id(), left.str("participant_id"));
    CHECK_EQUAL(std::string("removed"), left.str("reason"));
    CHECK_TRUE(
        wait_for(*a, [&] { return has_event(*a, "participant_left", b->participant_id()); }));

    CHECK_TEXT(a->errors().empty(), describe(*a).c_str());
    a->leave();
    d.close();
    wait_for(
        *a, [&] { return server->media_rooms() == 0; }, 10000);
}
