// Conference end to end: a real zumzi::Server (REST + WebSocket + the media
// engine) on 127.0.0.1 and headless zumzi-bot participants that publish
// VP8 + Opus over WebRTC and decode what the room forwards to them.
// Counts are asserted, never timings.
#include <memory>
#include <vector>

#include "room_bots.h"

using namespace zumzi_test;
using zumzi::bot::Bot;

namespace {

const char* const kRoomBody = "{\"name\":\"Standup\",\"preset\":\"qvga\"}";

}  // namespace

TEST_GROUP(Conference)
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

TEST(Conference, ThreeBotsEachDecodeTheOtherTwo)
{
    TestUser ann = server->login("ann@example.com");
    TestUser bob = server->login("bob@example.com");
    TestUser cat = server->login("cat@example.com");
    RoomInfo room = server->create_room(ann, kRoomBody);

    std::vector<std::unique_ptr<Bot>> bots;
    bots.push_back(start_bot(*server, ann, room.id, "", "ann"));
    bots.push_back(start_bot(*server, bob, room.id, room.participant_pin, "bob"));
    bots.push_back(start_bot(*server, cat, room.id, room.participant_pin, "cat"));

    auto all_decode = [&] {
        for (auto& me : bots)
            for (auto& other : bots) {
                if (me == other)
                    continue;
                if (other->participant_id().empty() ||
                    me->video_frames_from(other->participant_id()) < 10 ||
                    me->audio_buffers_from(other->participant_id()) < 10)
                    return false;
            }
        return true;
    };
    const bool ok = wait_for(*bots[0], all_decode, 45000);
    CHECK_TEXT(
        ok, (describe(*bots[0]) + "\n" + describe(*bots[1]) + "\n" + describe(*bots[2])).c_str());
    for (auto& b : bots) {
        CHECK_TEXT(b->errors().empty(), describe(*b).c_str());
        CHECK_TRUE(b->first_frame_ms() > 0);
    }
    CHECK_EQUAL(1u, server->media_rooms());

    for (auto& b : bots)
        b->leave();
    wait_for(
        *bots[0], [&] { return server->media_rooms() == 0; }, 10000);
    CHECK_EQUAL(0u, server->media_rooms());
}

TEST(Conference, AScreenShareAppearsAndGoes)
{
    TestUser ann = server->login("ann@example.com");
    TestUser bob = server->login("bob@example.com");
    RoomInfo room = server->create_room(ann, kRoomBody);
    auto a = start_bot(*server, ann, room.id, "", "ann");
    auto b = start_bot(*server, bob, room.id, room.participant_pin, "bob");
    CHECK_TEXT(wait_for(*a,
                        [&] {
                            return !a->participant_id().empty() &&
                                   b->video_frames_from(a->participant_id()) >= 5;
                        }),
               describe(*b).c_str());

    CHECK_TRUE(a->add_screen());
    auto screen_frames = [&] {
        uint64_t n = 0;
        for (const auto& t : b->tracks())
            if (t.participant_id == a->participant_id() && t.label == "screen")
                n += t.frames;
        return n;
    };
    CHECK_TEXT(wait_for(*a, [&] { return screen_frames() >= 10; }), describe(*b).c_str());
    // Both of Ann's video tracks are decoded at Bob's.
    CHECK_TRUE(b->video_tracks_with(5) >= 2);

    CHECK_TRUE(a->remove_screen());
    auto screen_gone = [&] {
        for (const auto& [id, t] : b->remote_tracks())
            if (t.participant_id == a->participant_id() && t.label == "screen" && t.published)
                return false;
        return true;
    };
    CHECK_TEXT(wait_for(*a, screen_gone), describe(*b).c_str());
    // The camera keeps flowing after the share went away.
    const uint64_t before = b->video_frames_from(a->participant_id());
    CHECK_TEXT(
        wait_for(*a, [&] { return b->video_frames_from(a->participant_id()) >= before + 10; }),
        describe(*b).c_str());
}

TEST(Conference, AViewerWatchesButCannotPublish)
{
    TestUser ann = server->login("ann@example.com");
    TestUser vic = server->login("vic@example.com");
    RoomInfo room = server->create_room(ann, kRoomBody);
    auto a = start_bot(*server, ann, room.id, "", "ann");
    auto v = start_bot(*server, vic, room.id, room.viewer_pin, "vic");  // tries to publish
    CHECK_TEXT(wait_for(*a,
                        [&] {
                            return !a->participant_id().empty() &&
                                   v->video_frames_from(a->participant_id()) >= 10 &&
                                   !v->errors().empty();
                        }),
               describe(*v).c_str());
    bool refused = false;
    for (const auto& e : v->errors())
        refused = refused || e.find("PERMISSION") != std::string::npos;
    CHECK_TEXT(refused, describe(*v).c_str());
    // Nothing of the viewer reached the publisher.
    CHECK_EQUAL(0u, a->video_frames_from(v->participant_id()));
    for (const auto& [id, t] : a->remote_tracks())
        CHECK_TRUE(t.participant_id != v->participant_id());
}

TEST(Conference, ALeavingParticipantDoesNotStopTheOthers)
{
    TestUser ann = server->login("ann@example.com");
    TestUser bob = server->login("bob@example.com");
    TestUser cat = server->login("cat@example.com");
    RoomInfo room = server->create_room(ann, kRoomBody);
    auto a = start_bot(*server, ann, room.id, "", "ann");
    auto b = start_bot(*server, bob, room.id, room.participant_pin, "bob");
    auto c = start_bot(*server, cat, room.id, room.participant_pin, "cat");
    CHECK_TEXT(wait_for(*a,
                        [&] {
                            return !a->participant_id().empty() && !c->participant_id().empty() &&
                                   b->video_frames_from(a->participant_id()) >= 10 &&
                                   b->video_frames_from(c->participant_id()) >= 10;
                        }),
               describe(*b).c_str());
    const std::string c_id = c->participant_id();
    c.reset();  // drops the connection without a leave
    CHECK_TEXT(wait_for(*a,
                        [&] {
                            auto it = b->participants().find(c_id);
                            return it != b->participants().end() && !it->second.present;
                        }),
               describe(*b).c_str());
    const uint64_t before = b->video_frames_from(a->participant_id());
    CHECK_TEXT(
        wait_for(*a, [&] { return b->video_frames_from(a->participant_id()) >= before + 15; }),
        describe(*b).c_str());
}
