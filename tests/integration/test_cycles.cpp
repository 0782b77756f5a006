// Join/leave cycles leak nothing: 50 participants join a room over the
// WebSocket (and 20 WHEP players POST and DELETE), receive the publisher's
// video, and leave; afterwards every element the cycles added to the room's
// pipeline has been finalized, the room holds exactly its elements from
// before, and once the publisher leaves too the room's pipeline is gone.
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "room_bots.h"

using namespace zumzi_test;
using zumzi::bot::Bot;
using zumzi::bot::BotOptions;

namespace {

constexpr int kCycles = 50;

// Every element added to a room's pipeline while tracking is on, until it
// is finalized (a weak reference tells us). Elements are added on the
// server's and GStreamer's threads, hence the lock.
struct ElementTracker {
    std::mutex lock;
    bool on = false;
    std::map<GObject*, std::string> alive;  // element -> type name
    int added = 0;

    static void on_added(GstBin*, GstBin*, GstElement* element, gpointer self)
    {
        auto* tracker = static_cast<ElementTracker*>(self);
        std::lock_guard<std::mutex> guard(tracker->lock);
        if (!tracker->on || tracker->alive.count(G_OBJECT(element)))
            return;
        tracker->alive[G_OBJECT(element)] = G_OBJECT_TYPE_NAME(element);
        tracker->added++;
        g_object_weak_ref(G_OBJECT(element), on_finalized, tracker);
    }
    static void on_finalized(gpointer self, GObject* gone)
    {
        auto* tracker = static_cast<ElementTracker*>(self);
        std::lock_guard<std::mutex> guard(tracker->lock);
        tracker->alive.erase(gone);
    }
    std::string leftovers()
    {
        std::lock_guard<std::mutex> guard(lock);
        std::map<std::string, int> counts;
        for (const auto& [object, type] : alive)
            counts[type]++;
        std::string out;
        for (const auto& [type, n] : counts)
            out += type + " x" + std::to_string(n) + " ";
        return out;
    }
};

// Small and cheap: the cycles are about elements, not picture quality.
std::unique_ptr<Bot> cycle_bot(TestServer& server, const TestUser& user, const std::string& room,
                               const std::string& pin, bool publish)
{
    BotShape shape;
    shape.publish = publish;
    shape.width = 160;
    shape.height = 120;
    shape.video_kbps = 100;
    return start_bot(server, user, room, pin, publish ? "publisher" : "viewer", shape);
}

// Lets queued teardown closures on both threads run.
void settle(Bot& any, TestServer& server)
{
    any.wait_until([] { return false; }, 300);
    server.run_on_server([](zumzi::Store&, zumzi::Server&) {});
}

}  // namespace

TEST_GROUP(Cycles)
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

TEST(Cycles, FiftyJoinLeaveCyclesLeakNothing)
{
    static ElementTracker tracker;  // outlives any late finalization

    TestUser ann = server->login("ann@example.com");
    TestUser bob = server->login("bob@example.com");
    Response r = server->post("/api/v1/rooms", "{\"name\":\"Cycles\"}", ann.token);
    CHECK_STATUS(r, 201);
    const std::string room = r.str("id");
    const std::string pin = r.str("viewer_pin");

    auto publisher = cycle_bot(*server, ann, room, "", true);
    CHECK_TRUE(publisher->wait_until([&] { return publisher->publish_answers() > 0; }, 20000));

    // One warm-up cycle: first-use allocations (caches, plugin features,
    // type registrations) are not leaks.
    {
        auto viewer = cycle_bot(*server, bob, room, pin, false);
        CHECK_TRUE(viewer->wait_until(
            [&] { return viewer->video_frames_from(publisher->participant_id()) >= 3; }, 20000));
        viewer->leave();
        viewer->wait_until([&] { return !viewer->joined(); }, 5000);
    }
    settle(*publisher, *server);
    const size_t baseline = room_elements(*server, room);
    server->run_on_server([&](zumzi::Store&, zumzi::Server& s) {
        auto r = s.media().find(room);
        CHECK_TRUE(r != nullptr);
        g_signal_connect(r->pipeline(), "deep-element-added", G_CALLBACK(ElementTracker::on_added),
                         &tracker);
    });
    {
        std::lock_guard<std::mutex> guard(tracker.lock);
        tracker.on = true;
    }

    for (int i = 0; i < kCycles; i++) {
        auto viewer = cycle_bot(*server, bob, room, pin, false);
        const bool got = viewer->wait_until(
            [&] { return viewer->video_frames_from(publisher->participant_id()) >= 3; }, 20000);
        CHECK_TEXT(got, ("cycle " + std::to_string(i) + ": no frames").c_str());
        viewer->leave();
        viewer->wait_until([&] { return !viewer->joined(); }, 5000);
    }
    settle(*publisher, *server);
    // The room went back to the publisher's elements alone.
    CHECK_EQUAL(baseline, room_elements(*server, room));

    // Everything the cycles made is gone: what lives now lived before them.
    {
        std::lock_guard<std::mutex> guard(tracker.lock);
        tracker.on = false;
    }
    // Each cycle added the viewer's webrtcbin and its subscription branches.
    CHECK_TRUE(tracker.added >= kCycles);
    const std::string leaked = tracker.leftovers();
    CHECK_EQUAL_TEXT(std::string(), leaked, ("still alive after the cycles: " + leaked).c_str());

    // And once the publisher leaves the room's pipeline is gone.
    publisher->leave();
    publisher->wait_until([&] { return server->media_rooms() == 0; }, 10000);
    CHECK_EQUAL(0u, server->media_rooms());
}

// The same for WHEP: 20 players POST an offer, decode the WHIP broadcaster
// and DELETE their session; every element they added is finalized.
TEST(Cycles, TwentyWhepPlayCyclesLeakNothing)
{
    static ElementTracker tracker;
    constexpr int kWhepCycles = 20;

    TestUser ann = server->login("ann@example.com");
    Response r = server->post("/api/v1/rooms", "{\"name\":\"Broadcast\"}", ann.token);
    CHECK_STATUS(r, 201);
    const std::string room = r.str("id");
    auto options = [&](zumzi::bot::BotMode mode, const std::string& pin) {
        BotOptions o;
        o.mode = mode;
        o.url = server->url() + (mode == zumzi::bot::BotMode::Whip ? "/whip/" : "/whep/") + room;
        o.token = pin;
        o.name = mode == zumzi::bot::BotMode::Whip ? "whip" : "whep";
        o.width = 160;
        o.height = 120;
        o.fps = 15;
        o.video_kbps = 100;
        return o;
    };
    Bot publisher(options(zumzi::bot::BotMode::Whip, r.str("participant_pin")));
    publisher.start();
    // Playable once the room has both of its tracks.
    auto tracks = [&] {
        size_t n = 0;
        server->run_on_server([&](zumzi::Store&, zumzi::Server& s) {
            if (auto found = s.media().find(room))
                n = found->tracks().size();
        });
        return n;
    };
    CHECK_TRUE(publisher.wait_until([&] { return publisher.joined() && tracks() == 2; }, 20000));
    auto play = [&](int cycle) {
        Bot viewer(options(zumzi::bot::BotMode::Whep, r.str("viewer_pin")));
        viewer.start();
        const bool got = viewer.wait_until(
            [&] { return viewer.video_frames() >= 3 && viewer.audio_buffers() >= 3; }, 20000);
        CHECK_TEXT(got, ("WHEP cycle " + std::to_string(cycle) + ": no frames").c_str());
        viewer.leave();
        viewer.wait_until([&] { return viewer.state() == zumzi::bot::BotState::Left; }, 5000);
    };
    play(-1);  // warm-up
    settle(publisher, *server);
    const size_t baseline = room_elements(*server, room);
    server->run_on_server([&](zumzi::Store&, zumzi::Server& s) {
        auto found = s.media().find(room);
        CHECK_TRUE(found != nullptr);
        g_signal_connect(found->pipeline(), "deep-element-added",
                         G_CALLBACK(ElementTracker::on_added), &tracker);
    });
    {
        std::lock_guard<std::mutex> guard(tracker.lock);
        tracker.on = true;
    }
    for (int i = 0; i < kWhepCycles; i++)
        play(i);
    settle(publisher, *server);
    CHECK_EQUAL(baseline, room_elements(*server, room));
    {
        std::lock_guard<std::mutex> guard(tracker.lock);
        tracker.on = false;
    }
    CHECK_TRUE(tracker.added >= kWhepCycles);
    const std::string leaked = tracker.leftovers();
    CHECK_EQUAL_TEXT(std::string(), leaked, ("still alive after the cycles: " + leaked).c_str());

    publisher.leave();
    publisher.wait_until([&] { return server->media_rooms() == 0; }, 10000);
    CHECK_EQUAL(0u, server->media_rooms());
}
