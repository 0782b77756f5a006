// What subscribers receive, end to end over the WebSocket protocol with
// zumzi-bot peers: mute (track_muted), per-track unsubscribe, audio only,
// last-N following the talking bot (speaking events from the RTP
// audio-level extension), a frozen peer taken out by media silence, and a
// participant that never answers taken out by the connect timeout.
// Counts are asserted, never timings.
#include <memory>
#include <vector>

#include "../api/ws_client.h"
#include "room_bots.h"

using namespace zumzi_test;
using zumzi::bot::Bot;

namespace {

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

bool has_event(const Bot& bot, const std::string& type, const std::string& participant, bool flag)
{
    for (const auto& e : bot.events())
        if (e.type == type && e.participant_id == participant && e.flag == flag)
            return true;
    return false;
}

std::string track_of(const Bot& observer, const Bot& publisher, const std::string& label)
{
    for (const auto& entry : observer.remote_tracks())
        if (entry.second.participant_id == publisher.participant_id() &&
            entry.second.label == label && entry.second.published)
            return entry.first;
    return {};
}

// Tracks published in the media room, 0 when there is no room.
size_t room_tracks(TestServer& server, const std::string& room_id)
{
    size_t n = 0;
    server.run_on_server([&](zumzi::Store&, zumzi::Server& s) {
        if (auto room = s.media().find(room_id))
            n = room->tracks().size();
    });
    return n;
}

}  // namespace

TEST_GROUP(Select)
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

TEST(Select, MuteUnsubscribeAndAudioOnly)
{
    TestUser ann = server->login("ann@example.com");
    TestUser bob = server->login("bob@example.com");
    TestUser cat = server->login("cat@example.com");
    RoomInfo room = server->create_room(ann, "{\"name\":\"Select\",\"preset\":\"qvga\"}");
    auto a = start_bot(*server, ann, room.id, "", "ann");
    auto b = start_bot(*server, bob, room.id, room.participant_pin, "bob", {false});
    auto c = start_bot(*server, cat, room.id, room.participant_pin, "cat", {false});
    CHECK_TRUE(wait_for(*a, [&] { return !track_of(*b, *a, "camera").empty(); }));
    const std::string camera = track_of(*b, *a, "camera");
    CHECK_TEXT(keeps_getting(*b, camera), describe(*b).c_str());
    CHECK_TEXT(keeps_getting(*c, camera), describe(*c).c_str());

    // Ann mutes her camera: nobody gets it, everyone hears of it.
    CHECK_EQUAL(camera, a->own_track("camera"));
    const int mute = a->mute_track(camera, true);
    CHECK_TRUE(wait_for(*a, [&] { return a->acked(mute); }));
    CHECK_TRUE(wait_for(*a, [&] {
        return has_event(*b, "track_muted", a->participant_id(), true) &&
               has_event(*c, "track_muted", a->participant_id(), true);
    }));
    CHECK_TRUE(b->remote_tracks().at(camera).muted);
    CHECK_TRUE(gets_nothing_of(*b, camera));
    CHECK_TRUE(gets_nothing_of(*c, camera));
    // Bob may not unmute it for her.
    const size_t errors = b->errors().size();
    b->mute_track(camera, false);
    CHECK_TRUE(wait_for(*b, [&] { return b->errors().size() > errors; }));
    CHECK_TRUE(b->errors().back().find("PERMISSION") != std::string::npos);
    CHECK_TRUE(gets_nothing_of(*b, camera));
    // A late joiner sees it muted in `joined`.
    TestUser dan = server->login("dan@example.com");
    auto d = start_bot(*server, dan, room.id, room.participant_pin, "dan", {false});
    CHECK_TRUE(wait_for(*d, [&] { return d->remote_tracks().count(camera) != 0; }));
    CHECK_TRUE(d->remote_tracks().at(camera).muted);
    d->leave();

    const int unmute = a->mute_track(camera, false);
    CHECK_TRUE(wait_for(*a, [&] { return a->acked(unmute); }));
    CHECK_TRUE(
        wait_for(*a, [&] { return has_event(*b, "track_muted", a->participant_id(), false); }));
    CHECK_TEXT(keeps_getting(*b, camera), describe(*b).c_str());
    CHECK_TEXT(keeps_getting(*c, camera), describe(*c).c_str());

    // Bob unsubscribes from the camera; Cat still gets it. Then back.
    const int unsub = b->subscribe_track(camera, false);
    CHECK_TRUE(wait_for(*b, [&] { return b->acked(unsub); }));
    CHECK_TRUE(gets_nothing_of(*b, camera));
    CHECK_TEXT(keeps_getting(*c, camera), describe(*c).c_str());
    b->subscribe_track(camera, true);
    CHECK_TEXT(keeps_getting(*b, camera), describe(*b).c_str());

    // Audio only: no video, the microphone still arrives.
    const int audio_only = b->set_audio_only(true);
    CHECK_TRUE(wait_for(*b, [&] { return b->acked(audio_only); }));
    CHECK_TRUE(gets_nothing_of(*b, camera));
    const uint64_t audio = b->audio_buffers_from(a->participant_id());
    CHECK_TRUE(
        wait_for(*b, [&] { return b->audio_buffers_from(a->participant_id()) >= audio + 20; }));
    b->set_audio_only(false);
    CHECK_TEXT(keeps_getting(*b, camera), describe(*b).c_str());

    CHECK_TEXT(a->errors().empty(), describe(*a).c_str());
    CHECK_TEXT(c->errors().empty(), describe(*c).c_str());
    for (Bot* bot : {a.get(), b.get(), c.get()})
        bot->leave();
    wait_for(
        *a, [&] { return server->media_rooms() == 0; }, 10000);
}

TEST(Select, LastNFollowsTheTalkingBot)
{
    TestUser ann = server->login("ann@example.com");
    TestUser bob = server->login("bob@example.com");
    TestUser cat = server->login("cat@example.com");
    TestUser dan = server->login("dan@example.com");
    RoomInfo room =
        server->create_room(ann, "{\"name\":\"Panel\",\"preset\":\"qvga\",\"last_n\":1}");
    // Three silent publishers and one who only watches.
    // Ann joins first: before anyone speaks, last-N picks the first to join.
    auto a = start_bot(*server, ann, room.id, "", "ann", {true, false});
    CHECK_TRUE(wait_for(*a, [&] { return !a->participant_id().empty(); }));
    auto b = start_bot(*server, bob, room.id, room.participant_pin, "bob", {true, false});
    auto c = start_bot(*server, cat, room.id, room.participant_pin, "cat", {true, false});
    auto d = start_bot(*server, dan, room.id, room.participant_pin, "dan", {false});
    CHECK_TRUE(wait_for(*d, [&] {
        return !track_of(*d, *a, "camera").empty() && !track_of(*d, *b, "camera").empty() &&
               !track_of(*d, *c, "camera").empty();
    }));
    const std::string ca = track_of(*d, *a, "camera");
    const std::string cb = track_of(*d, *b, "camera");
    const std::string cc = track_of(*d, *c, "camera");
    // Before anyone spoke: the first to join.
    CHECK_TEXT(
        keeps_getting(*d, ca),
        (describe(*d) + "\n" + describe(*a) + "\n" + describe(*b) + "\n" + describe(*c)).c_str());
    CHECK_EQUAL(0u, d->frames_of(cb) + d->frames_of(cc));

    // Cat talks: everyone hears `speaking`, and her camera is the one.
    c->set_talking(true);
    CHECK_TRUE(wait_for(*d, [&] { return d->speaking(c->participant_id()); }));
    CHECK_TRUE(wait_for(*a, [&] { return a->speaking(c->participant_id()); }));
    CHECK_TEXT(keeps_getting(*d, cc), describe(*d).c_str());
    CHECK_TRUE(gets_nothing_of(*d, ca));
    CHECK_EQUAL(0u, d->frames_of(cb));

    // Cat stops, Bob starts: the video switches to Bob.
    c->set_talking(false);
    b->set_talking(true);
    CHECK_TRUE(wait_for(*d, [&] { return d->speaking(b->participant_id()); }));
    CHECK_TRUE(wait_for(*d, [&] { return has_event(*d, "speaking", c->participant_id(), false); }));
    CHECK_TEXT(keeps_getting(*d, cb), describe(*d).c_str());
    CHECK_TRUE(gets_nothing_of(*d, cc));
    // Nobody ever heard Ann speak.
    CHECK_FALSE(has_event(*d, "speaking", a->participant_id(), true));

    // The owner lifts the limit on the live room: every camera again.
    CHECK_STATUS(server->patch("/api/v1/rooms/" + room.id, "{\"last_n\":0}", ann.token), 200);
    CHECK_TEXT(keeps_getting(*d, ca), describe(*d).c_str());
    CHECK_TEXT(keeps_getting(*d, cc), describe(*d).c_str());

    for (Bot* bot : {a.get(), b.get(), c.get(), d.get()})
        CHECK_TEXT(bot->errors().empty(), describe(*bot).c_str());
    for (Bot* bot : {a.get(), b.get(), c.get(), d.get()})
        bot->leave();
    wait_for(
        *a, [&] { return server->media_rooms() == 0; }, 10000);
}

TEST(Select, AFrozenPeerLeavesAfterMediaSilence)
{
    server.reset();
    server = std::make_unique<TestServer>([](zumzi::Config& c) { c.peer_timeout = 2; });
    TestUser ann = server->login("ann@example.com");
    TestUser bob = server->login("bob@example.com");
    RoomInfo room = server->create_room(ann, "{\"name\":\"Frozen\",\"preset\":\"qvga\"}");
    auto a = start_bot(*server, ann, room.id, "", "ann");
    auto b = start_bot(*server, bob, room.id, room.participant_pin, "bob");
    CHECK_TRUE(wait_for(*a, [&] {
        return !b->participant_id().empty() && a->video_frames_from(b->participant_id()) >= 10 &&
               b->video_frames_from(a->participant_id()) >= 10;
    }));
    const std::string frozen = b->participant_id();
    b->freeze();
    // ICE stays up (libnice answers checks on its own thread): only the
    // silence shows. Ann hears Bob leave; Ann herself stays.
    CHECK_TRUE(wait_for(
        *a, [&] { return has_event(*a, "participant_left", frozen, false); }, 30000));
    CHECK_TRUE(a->joined());
    const uint64_t before = a->audio_buffers_from(frozen);
    wait_for(
        *a, [] { return false; }, 500);
    CHECK_EQUAL(before, a->audio_buffers_from(frozen));
    CHECK_EQUAL(1u, server->media_rooms());
    CHECK_TEXT(a->errors().empty(), describe(*a).c_str());
    a->leave();
    wait_for(
        *a, [&] { return server->media_rooms() == 0; }, 10000);
}

TEST(Select, AParticipantThatNeverAnswersItsSubscribeOfferLeaves)
{
    server.reset();
    server = std::make_unique<TestServer>([](zumzi::Config& c) { c.connect_timeout = 3; });
    TestUser ann = server->login("ann@example.com");
    TestUser bob = server->login("bob@example.com");
    RoomInfo room = server->create_room(ann, "{\"name\":\"Silent\",\"preset\":\"qvga\"}");
    auto a = start_bot(*server, ann, room.id, "", "ann");
    CHECK_TRUE(wait_for(*a, [&] { return room_tracks(*server, room.id) == 2; }));
    const size_t ann_only = room_elements(*server, room.id);

    // Bob joins with media and gets the offer of Ann's tracks, which his
    // client never answers (a tab that closed, a client that hung).
    WsClient b(*server, bob.token);
    Response joined = b.request("{\"type\":\"join\",\"id\":\"j\",\"room\":" + json_string(room.id) +
                                    ",\"pin\":" + json_string(room.participant_pin) + "}",
                                "j");
    CHECK_EQUAL_TEXT(std::string("joined"), joined.str("type"), joined.body.c_str());
    const std::string bob_id = joined.str("participant_id");
    CHECK_TRUE(!bob_id.empty());
    CHECK_TRUE(!b.next("subscribe_offer").str("sdp").empty());

    // The connect timeout takes him out: he hears why, Ann hears he left,
    // and his elements are gone.
    Response left = b.next("left");
    CHECK_EQUAL_TEXT(std::string("media timeout"), left.str("reason"), left.body.c_str());
    CHECK_TRUE(wait_for(*a, [&] { return has_event(*a, "participant_left", bob_id, false); }));
    CHECK_TRUE(wait_for(
        *a, [&] { return room_elements(*server, room.id) == ann_only; }, 10000));
    // Ann, connected long before the deadline, stays.
    CHECK_TRUE(a->joined());
    CHECK_EQUAL(2u, room_tracks(*server, room.id));
    CHECK_TEXT(a->errors().empty(), describe(*a).c_str());
    a->leave();
    wait_for(
        *a, [&] { return server->media_rooms() == 0; }, 10000);
}
