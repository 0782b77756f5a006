// What each subscriber receives: mute, per-track unsubscribe, audio only,
// last-N active speakers from the RTP audio-level extension, screen shares
// outside last-N, media silence of a frozen peer, and a moderator's
// withholding of a publisher or silencing of a subscriber. Pausing never
// renegotiates: the tests check the subscribe offers did not change.
#include <memory>
#include <string>
#include <vector>

#include "media_bot.h"
#include "room_registry.h"

// Last: CppUTest redefines `new` for its leak checker.
#include <CppUTest/TestHarness.h>

using namespace zumzi::media;
using namespace zumzi::media::test;

namespace {

std::string track_of(Room& room, const std::string& participant, TrackKind kind,
                     const std::string& label = {})
{
    for (const auto& t : room.tracks())
        if (t.participant_id == participant && t.kind == kind &&
            (label.empty() || t.label == label))
            return t.id;
    return {};
}

// Frames of `track` keep arriving at `bot`: at least `n` more within the
// (generous) wait.
bool keeps_getting(Bot& bot, const std::string& track, int n = 10)
{
    int before = bot.video_frames_of(track);
    return wait_until([&]() { return bot.video_frames_of(track) >= before + n; });
}

// No frame of `track` reaches `bot` any more: after the packets already in
// flight drained, the count stays put for a while.
bool gets_nothing_of(Bot& bot, const std::string& track)
{
    spin(1000);
    int before = bot.video_frames_of(track);
    spin(1500);
    return bot.video_frames_of(track) == before;
}

}  // namespace

TEST_GROUP(MediaSelect)
{
    std::unique_ptr<RoomRegistry> registry;
    std::vector<TrackInfo> published;
    std::vector<TrackInfo> unpublished;
    std::vector<TrackInfo> muted_events;
    std::vector<std::pair<std::string, bool>> speaking_events;

    void setup() override
    {
        RegistryCallbacks callbacks;
        callbacks.on_track_published = [this](const std::string&, const TrackInfo& t) {
            published.push_back(t);
        };
        callbacks.on_track_unpublished = [this](const std::string&, const TrackInfo& t) {
            unpublished.push_back(t);
        };
        callbacks.on_track_muted = [this](const std::string&, const TrackInfo& t) {
            muted_events.push_back(t);
        };
        callbacks.on_speaking = [this](const std::string&, const std::string& p, bool speaking) {
            speaking_events.emplace_back(p, speaking);
        };
        registry = std::make_unique<RoomRegistry>(loopback_config(), callbacks);
    }
    void teardown() override
    {
        wait_until([this]() { return registry->size() == 0; }, 5000);
        spin(100);
        registry.reset();
    }
    // Alice publishes camera and microphone to Bob and Carol; Bob gets her
    // video before the test goes on.
    struct Trio {
        std::shared_ptr<Bot> alice, bob, carol;
        std::shared_ptr<Room> room;
        std::string video, mic;  // alice's tracks
        int errors() const { return alice->errors() + bob->errors() + carol->errors(); }
        void leave()
        {
            carol->leave();
            bob->leave();
            alice->leave();
        }
    };
    Trio start_trio(const std::string& room_id)
    {
        Trio t;
        t.alice = Bot::create(*registry, room_id, "alice");
        t.bob = Bot::create(*registry, room_id, "bob");
        t.carol = Bot::create(*registry, room_id, "carol");
        t.alice->publish();
        t.room = registry->find(room_id);
        CHECK_TRUE(wait_until([&]() { return t.room->tracks().size() == 2; }));
        t.video = track_of(*t.room, "alice", TrackKind::Video);
        t.mic = track_of(*t.room, "alice", TrackKind::Audio);
        CHECK_TRUE(keeps_getting(*t.bob, t.video));
        return t;
    }
    bool heard(const std::string& participant, bool speaking) const
    {
        for (const auto& e : speaking_events)
            if (e.first == participant && e.second == speaking)
                return true;
        return false;
    }
};

TEST(MediaSelect, MutedTrackStopsReachingSubscribersAndEveryoneIsTold)
{
    Trio t = start_trio("mute");
    auto& bob = t.bob;
    auto& carol = t.carol;
    auto& room = t.room;
    auto& video = t.video;
    CHECK_TRUE(keeps_getting(*carol, video));
    const int offers = bob->subscribe_offers();

    CHECK_TRUE(room->set_track_muted(video, true));
    CHECK_EQUAL(1u, muted_events.size());
    CHECK_EQUAL(video, muted_events[0].id);
    CHECK_TRUE(muted_events[0].muted);
    for (const auto& info : room->tracks())
        CHECK_EQUAL(info.id == video, info.muted);
    CHECK_FALSE(room->forwarding(video, "bob"));
    CHECK_TRUE(gets_nothing_of(*bob, video));
    CHECK_TRUE(gets_nothing_of(*carol, video));
    // The microphone still goes through.
    int audio = bob->audio_buffers_from("alice");
    CHECK_TRUE(wait_until([&]() { return bob->audio_buffers_from("alice") >= audio + 10; }));
    // Muting again changes nothing and tells nobody.
    CHECK_TRUE(room->set_track_muted(video, true));
    CHECK_EQUAL(1u, muted_events.size());

    CHECK_TRUE(room->set_track_muted(video, false));
    CHECK_EQUAL(2u, muted_events.size());
    CHECK_FALSE(muted_events[1].muted);
    // Back with a keyframe (the bots' encoders make none on their own).
    CHECK_TRUE(keeps_getting(*bob, video));
    CHECK_TRUE(keeps_getting(*carol, video));
    // No renegotiation for any of it.
    CHECK_EQUAL(offers, bob->subscribe_offers());

    CHECK_FALSE(room->set_track_muted("nobody-0", true));
    CHECK_EQUAL(2u, muted_events.size());
    CHECK_EQUAL(0, t.errors());
    t.leave();
}

TEST(MediaSelect, UnsubscribeResubscribeAndAudioOnly)
{
    Trio t = start_trio("pick");
    auto& alice = t.alice;
    auto& bob = t.bob;
    auto& carol = t.carol;
    auto& room = t.room;
    auto& video = t.video;
    auto& mic = t.mic;
    const int offers = bob->subscribe_offers();

    // Bob drops alice's camera; carol still gets it.
    CHECK(room->set_subscribed("bob", video, false) == Room::Choice::Ok);
    CHECK_FALSE(room->subscribed("bob", video));
    CHECK_TRUE(gets_nothing_of(*bob, video));
    CHECK_TRUE(keeps_getting(*carol, video));
    CHECK(room->set_subscribed("bob", video, true) == Room::Choice::Ok);
    CHECK_TRUE(keeps_getting(*bob, video));

    // Audio only: no video at all, audio keeps coming.
    CHECK(room->set_audio_only("bob", true) == Room::Choice::Ok);
    CHECK_TRUE(room->audio_only("bob"));
    CHECK_TRUE(gets_nothing_of(*bob, video));
    int audio = bob->audio_buffers_from("alice");
    CHECK_TRUE(wait_until([&]() { return bob->audio_buffers_from("alice") >= audio + 10; }));
    CHECK_TRUE(room->forwarding(mic, "bob"));
    CHECK_TRUE(keeps_getting(*carol, video));
    // A subscription made while audio-only starts paused: alice's screen.
    alice->add_screen();
    CHECK_TRUE(wait_until(
        [&]() { return !track_of(*room, "alice", TrackKind::Video, "screen").empty(); }));
    const std::string screen = track_of(*room, "alice", TrackKind::Video, "screen");
    CHECK_TRUE(wait_until([&]() { return carol->video_frames_of(screen) >= 5; }));
    CHECK_FALSE(room->forwarding(screen, "bob"));
    CHECK_EQUAL(0, bob->video_frames_of(screen));
    CHECK(room->set_audio_only("bob", false) == Room::Choice::Ok);
    CHECK_TRUE(keeps_getting(*bob, video));
    CHECK_TRUE(keeps_getting(*bob, screen, 5));

    // Bad choices change nothing.
    CHECK(room->set_subscribed("nobody", video, false) == Room::Choice::UnknownParticipant);
    CHECK(room->set_subscribed("bob", "alice-99", false) == Room::Choice::UnknownTrack);
    CHECK(room->set_subscribed("alice", video, false) == Room::Choice::OwnTrack);
    CHECK(room->set_audio_only("nobody", true) == Room::Choice::UnknownParticipant);
    CHECK_TRUE(room->forwarding(video, "bob"));
    CHECK_TRUE(room->subscribed("alice", video));
    // One renegotiation: the screen track. Pausing made none.
    CHECK_EQUAL(offers + 1, bob->subscribe_offers());
    CHECK_EQUAL(0, t.errors());
    t.leave();
}

// What a moderator does to a participant's media: a publisher that may no
// longer publish has its tracks taken down (and back up, from the same
// publish session, when it may again); a subscriber that may no longer
// subscribe gets nothing, not even tracks published meanwhile, until it may.
TEST(MediaSelect, ModeratorWithholdsAPublisherAndSilencesASubscriber)
{
    Trio t = start_trio("mod");
    auto& alice = t.alice;
    auto& bob = t.bob;
    auto& carol = t.carol;
    auto& room = t.room;
    auto& video = t.video;
    auto& mic = t.mic;
    CHECK_TRUE(room->may_publish("alice"));
    CHECK_TRUE(room->receiving("bob"));

    // Publishing taken away: both tracks unpublished, nobody gets them.
    CHECK_TRUE(room->set_may_publish("alice", false));
    CHECK_FALSE(room->may_publish("alice"));
    CHECK_EQUAL(0u, room->tracks().size());
    CHECK_EQUAL(2u, unpublished.size());
    CHECK_TRUE(gets_nothing_of(*bob, video));
    CHECK_TRUE(gets_nothing_of(*carol, video));
    CHECK_TRUE(room->set_may_publish("alice", false));  // again: nothing more
    CHECK_EQUAL(2u, unpublished.size());

    // Given back: the same tracks are published again and forwarded, the
    // publisher renegotiated nothing.
    const size_t published_before = published.size();
    const int answers = alice->publish_answers();
    CHECK_TRUE(room->set_may_publish("alice", true));
    CHECK_EQUAL(2u, room->tracks().size());
    CHECK_EQUAL(published_before + 2, published.size());
    CHECK_FALSE(track_of(*room, "alice", TrackKind::Video).empty());
    CHECK_EQUAL(video, track_of(*room, "alice", TrackKind::Video));
    CHECK_TRUE(keeps_getting(*bob, video));
    CHECK_TRUE(keeps_getting(*carol, video));
    CHECK_EQUAL(answers, alice->publish_answers());

    // Bob may no longer subscribe: nothing reaches him, Carol still gets
    // everything; a track published meanwhile is not even offered to him.
    CHECK_TRUE(room->set_receiving("bob", false));
    CHECK_FALSE(room->receiving("bob"));
    CHECK_FALSE(room->forwarding(video, "bob"));
    CHECK_FALSE(room->forwarding(mic, "bob"));
    CHECK_TRUE(gets_nothing_of(*bob, video));
    const int offers = bob->subscribe_offers();
    CHECK_TRUE(keeps_getting(*carol, video));
    alice->add_screen();
    CHECK_TRUE(wait_until(
        [&]() { return !track_of(*room, "alice", TrackKind::Video, "screen").empty(); }));
    const std::string screen = track_of(*room, "alice", TrackKind::Video, "screen");
    CHECK_TRUE(wait_until([&]() { return carol->video_frames_of(screen) >= 5; }));
    CHECK_EQUAL(offers, bob->subscribe_offers());
    CHECK_EQUAL(0, bob->video_frames_of(screen));

    // Back: the camera resumes and the screen comes with one renegotiation.
    CHECK_TRUE(room->set_receiving("bob", true));
    CHECK_TRUE(keeps_getting(*bob, video));
    CHECK_TRUE(keeps_getting(*bob, screen, 5));
    CHECK_EQUAL(offers + 1, bob->subscribe_offers());

    CHECK_FALSE(room->set_may_publish("nobody", false));
    CHECK_FALSE(room->set_receiving("nobody", false));
    CHECK_EQUAL(0, t.errors());
    t.leave();
}

TEST(MediaSelect, PublishAnswerAcceptsTheAudioLevelExtension)
{
    auto alice = Bot::create(*registry, "ext", "alice");
    alice->publish(false, true);
    CHECK_TRUE(wait_until([&]() { return alice->publish_answers() == 1; }));
    const std::string& answer = alice->last_publish_answer();
    if (g_getenv("ZUMZI_BOT_DEBUG"))
        g_printerr("publish answer:\n%s\n", answer.c_str());
    CHECK_TRUE(answer.find("a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level") !=
               std::string::npos);
    alice->leave();
}

TEST(MediaSelect, LastNForwardsTheVideoOfWhoSpokeLast)
{
    registry->set_last_n("lastn", 1);
    auto alice = Bot::create(*registry, "lastn", "alice");
    auto bob = Bot::create(*registry, "lastn", "bob");
    auto carol = Bot::create(*registry, "lastn", "carol");
    auto dave = Bot::create(*registry, "lastn", "dave");  // only watches
    for (auto& bot : {alice, bob, carol}) {
        bot->publish();
        bot->set_talking(false);
    }
    auto room = registry->find("lastn");
    CHECK_EQUAL(1u, room->last_n());
    CHECK_TRUE(wait_until([&]() { return room->tracks().size() == 6; }));
    const std::string a = track_of(*room, "alice", TrackKind::Video);
    const std::string b = track_of(*room, "bob", TrackKind::Video);
    const std::string c = track_of(*room, "carol", TrackKind::Video);
    // Nobody spoke yet: the first to join is the one.
    CHECK_TRUE(keeps_getting(*dave, a));
    CHECK_EQUAL(0, dave->video_frames_of(b) + dave->video_frames_of(c));

    // Carol talks: she is the one now.
    carol->set_talking(true);
    CHECK_TRUE(wait_until([&]() { return heard("carol", true); }));
    CHECK_TRUE(room->speaking("carol"));
    CHECK_TRUE(keeps_getting(*dave, c));
    CHECK_TRUE(gets_nothing_of(*dave, a));
    CHECK_EQUAL(0, dave->video_frames_of(b));
    // Everyone else sees the same selection (not just dave).
    CHECK_TRUE(keeps_getting(*alice, c));
    CHECK_EQUAL(0, alice->video_frames_of(b));
    CHECK(room->forwarded_video() == std::vector<std::string>{"carol"});

    // Carol stops, bob starts: the video follows bob.
    carol->set_talking(false);
    const int bob_before = dave->video_frames_of(b);
    const gint64 talk_us = g_get_monotonic_time();
    bob->set_talking(true);
    CHECK_TRUE(wait_until([&]() { return heard("bob", true); }));
    const gint64 heard_us = g_get_monotonic_time();
    CHECK_TRUE(wait_until([&]() { return dave->video_frames_of(b) > bob_before; }));
    // Informational, never asserted: tone on to `speaking`, and to the
    // first decoded frame of the new speaker at a subscriber.
    g_printerr("\n[speaking] %lld ms, [last-n switch] %lld ms\n",
               static_cast<long long>((heard_us - talk_us) / 1000),
               static_cast<long long>((g_get_monotonic_time() - talk_us) / 1000));
    CHECK_TRUE(wait_until([&]() { return heard("carol", false); }));
    CHECK_TRUE(keeps_getting(*dave, b));
    CHECK_TRUE(gets_nothing_of(*dave, c));
    // Audio of everyone is always forwarded.
    int audio = dave->audio_buffers_from("alice");
    CHECK_TRUE(wait_until([&]() { return dave->audio_buffers_from("alice") >= audio + 10; }));

    // Bob's camera muted: the place goes to the previous speaker, carol.
    CHECK_TRUE(room->set_track_muted(b, true));
    CHECK(room->forwarded_video() == std::vector<std::string>{"carol"});
    CHECK_TRUE(keeps_getting(*dave, c));
    CHECK_TRUE(room->set_track_muted(b, false));
    CHECK(room->forwarded_video() == std::vector<std::string>{"bob"});
    CHECK_TRUE(keeps_getting(*dave, b));
    CHECK_TRUE(gets_nothing_of(*dave, c));

    // Screen shares are outside last-N: alice's screen reaches dave.
    alice->add_screen();
    CHECK_TRUE(wait_until(
        [&]() { return !track_of(*room, "alice", TrackKind::Video, "screen").empty(); }));
    const std::string screen = track_of(*room, "alice", TrackKind::Video, "screen");
    CHECK_TRUE(keeps_getting(*dave, screen, 5));
    CHECK_TRUE(keeps_getting(*dave, b));

    // Last-N off: everyone's camera again.
    room->set_last_n(0);
    CHECK_TRUE(keeps_getting(*dave, a));
    CHECK_TRUE(keeps_getting(*dave, c));
    CHECK_EQUAL(0, alice->errors() + bob->errors() + carol->errors() + dave->errors());
    dave->leave();
    carol->leave();
    bob->leave();
    alice->leave();
}

TEST(MediaSelect, FrozenPeerFallsSilent)
{
    auto alice = Bot::create(*registry, "silent", "alice");
    auto bob = Bot::create(*registry, "silent", "bob");
    alice->publish();
    auto room = registry->find("silent");
    CHECK_TRUE(wait_until([&]() { return bob->video_frames_from("alice") >= 10; }));
    auto p = alice->participant();
    CHECK_TRUE(p->last_received_us() > 0);
    CHECK_TRUE(
        wait_until([&]() { return g_get_monotonic_time() - p->last_received_us() < 200000; }));
    alice->freeze();
    // Nothing arrives any more while ICE stays up (libnice still answers).
    spin(500);
    const gint64 last = p->last_received_us();
    spin(2000);
    CHECK_EQUAL(last, p->last_received_us());
    // Bob, still running, keeps sending (RTCP at least).
    CHECK_TRUE(
        wait_until([&]() { return bob->participant()->last_received_us() > last + 1000000; }));
    bob->leave();
    alice->leave();
}

TEST(MediaSelect, TurnServersInTheConfigKeepMediaFlowing)
{
    // Nothing listens there: the relays fail to allocate and the host
    // candidates carry the media, as before.
    registry.reset();
    MediaConfig config = loopback_config();
    config.turn_servers = {"turn://zumzi:s3cret@127.0.0.1:9?transport=udp",
                           "turns://zumzi:s3cret@127.0.0.1:9"};
    registry = std::make_unique<RoomRegistry>(config);
    auto alice = Bot::create(*registry, "turn", "alice");
    auto bob = Bot::create(*registry, "turn", "bob");
    alice->publish();
    CHECK_TRUE(wait_until([&]() { return bob->video_frames_from("alice") >= 10; }));
    CHECK_EQUAL(0, alice->errors() + bob->errors());
    bob->leave();
    alice->leave();
}
