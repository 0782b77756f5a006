// Rooms with several participants: everyone decodes everyone else, a screen
// track comes and goes through renegotiation, leaving never stops the
// others, and the last one out destroys the room's pipeline.
#include <dirent.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "media_bot.h"
#include "room_registry.h"

// Last: CppUTest redefines `new` for its leak checker.
#include <CppUTest/TestHarness.h>

using namespace zumzi::media;
using namespace zumzi::media::test;

TEST_GROUP(MediaRoom)
{
    std::unique_ptr<RoomRegistry> registry;
    std::vector<TrackInfo> published;
    std::vector<TrackInfo> unpublished;
    std::vector<std::string> closed;

    void setup() override
    {
        RegistryCallbacks callbacks;
        callbacks.on_track_published = [this](const std::string&, const TrackInfo& t) {
            published.push_back(t);
        };
        callbacks.on_track_unpublished = [this](const std::string&, const TrackInfo& t) {
            unpublished.push_back(t);
        };
        callbacks.on_room_closed = [this](const std::string& room) { closed.push_back(room); };
        registry = std::make_unique<RoomRegistry>(loopback_config(), callbacks);
    }
    void teardown() override
    {
        wait_until([this]() { return registry->size() == 0; }, 5000);
        spin(100);
        registry.reset();
    }
    const TrackInfo* find_published(const std::string& label)
    {
        for (const auto& t : published)
            if (t.label == label)
                return &t;
        return nullptr;
    }
};

static int thread_count()
{
    int n = 0;
    if (DIR* dir = opendir("/proc/self/task")) {
        while (dirent* entry = readdir(dir))
            if (entry->d_name[0] != '.')
                n++;
        closedir(dir);
    }
    return n;
}

TEST(MediaRoom, ThreeParticipantsDecodeEachOther)
{
    int threads_before = thread_count();
    std::vector<std::shared_ptr<Bot>> bots;
    for (const char* name : {"alice", "bob", "carol"})
        bots.push_back(Bot::create(*registry, "r3", name));
    for (auto& bot : bots)
        bot->publish();
    CHECK_TRUE(wait_until([&]() {
        for (auto& me : bots)
            for (auto& other : bots)
                if (me != other && me->video_frames_from(other->name()) < 10)
                    return false;
        return true;
    }));
    for (auto& bot : bots)
        CHECK_EQUAL(0, bot->errors());
    // Informational (engine and bots share the process): not asserted.
    g_printerr("\n[threads] 3 participants, engine + bots: %d -> %d\n", threads_before,
               thread_count());
    if (g_getenv("ZUMZI_THREAD_DUMP")) {
        gchar* cmd = g_strdup_printf("cat /proc/%d/task/*/comm | sort | uniq -c | sort -rn > %s",
                                     getpid(), g_getenv("ZUMZI_THREAD_DUMP"));
        if (system(cmd) != 0)
            g_printerr("thread dump failed\n");
        g_free(cmd);
    }
    for (auto& bot : bots)
        bot->leave();
}

TEST(MediaRoom, ScreenTrackAddedAndRemoved)
{
    auto alice = Bot::create(*registry, "rs", "alice");
    auto bob = Bot::create(*registry, "rs", "bob");
    alice->publish();
    CHECK_TRUE(wait_until([&]() { return bob->video_frames_from("alice") >= 10; }));

    alice->add_screen();
    CHECK_TRUE(wait_until([&]() { return find_published("screen") != nullptr; }));
    std::string screen = find_published("screen")->id;
    std::string camera = find_published("camera")->id;
    CHECK_TRUE(wait_until([&]() { return bob->video_frames_of(screen) >= 10; }));
    CHECK_EQUAL(2, alice->publish_answers());

    int offers = bob->subscribe_offers();
    auto room = registry->find("rs");
    CHECK_TRUE(room->unpublish_track(screen));
    CHECK_EQUAL(1u, unpublished.size());
    STRCMP_EQUAL(screen.c_str(), unpublished[0].id.c_str());
    // Bob is renegotiated without the screen, and the camera keeps going.
    CHECK_TRUE(wait_until([&]() { return bob->subscribe_offers() > offers; }));
    int screen_frames = bob->video_frames_of(screen);
    int camera_frames = bob->video_frames_of(camera);
    CHECK_TRUE(wait_until([&]() { return bob->video_frames_of(camera) >= camera_frames + 15; }));
    CHECK_TRUE(bob->video_frames_of(screen) <= screen_frames + 2);

    // A new screen share reuses Bob's freed video slot (same m-line, new
    // SSRC and msid) instead of growing his SDP.
    size_t slots = bob->participant()->subscribe_slots();
    alice->add_screen();
    CHECK_TRUE(wait_until([&]() { return published.size() == 4; }));
    std::string screen2 = published.back().id;
    CHECK_TRUE(screen2 != screen);
    STRCMP_EQUAL("screen", published.back().label.c_str());
    CHECK_TRUE(wait_until([&]() { return bob->video_frames_of(screen2) >= 10; }));
    CHECK_EQUAL(slots, bob->participant()->subscribe_slots());
    CHECK_EQUAL(0, alice->errors() + bob->errors());
    alice->leave();
    bob->leave();
}

TEST(MediaRoom, LeavingKeepsOthersAndLastOneDestroysRoom)
{
    std::vector<std::shared_ptr<Bot>> bots;
    for (const char* name : {"alice", "bob", "carol"})
        bots.push_back(Bot::create(*registry, "rl", name));
    for (auto& bot : bots)
        bot->publish();
    auto& alice = bots[0];
    auto& bob = bots[1];
    auto& carol = bots[2];
    CHECK_TRUE(wait_until([&]() {
        return alice->video_frames_from("bob") >= 10 && bob->video_frames_from("alice") >= 10 &&
               alice->video_frames_from("carol") >= 10 && bob->video_frames_from("carol") >= 10;
    }));

    GstPipeline* pipeline = registry->find("rl")->pipeline();
    g_object_add_weak_pointer(G_OBJECT(pipeline), reinterpret_cast<gpointer*>(&pipeline));

    carol->leave();
    CHECK_TRUE(wait_until([&]() { return unpublished.size() == 2; }));
    int a = alice->video_frames_from("bob");
    int b = bob->video_frames_from("alice");
    CHECK_TRUE(wait_until([&]() {
        return alice->video_frames_from("bob") >= a + 15 &&
               bob->video_frames_from("alice") >= b + 15;
    }));
    CHECK_EQUAL(1u, registry->size());
    CHECK_EQUAL(2u, registry->find("rl")->participant_count());

    alice->leave();
    bob->leave();
    CHECK_EQUAL(0u, registry->size());
    CHECK_EQUAL(1u, closed.size());
    CHECK_TRUE(wait_until([&]() { return pipeline == nullptr; }, 10000));
    for (auto& bot : bots)
        CHECK_EQUAL(0, bot->errors());
}

TEST(MediaRoom, TeardownOfNeverNegotiatedBranches)
{
    // Carol never answers: webrtcbin keeps her new pads blocked. Removing
    // those branches (the publisher leaves, then Carol leaves) must neither
    // deadlock nor disturb Bob.
    auto alice = Bot::create(*registry, "ru", "alice");
    auto bob = Bot::create(*registry, "ru", "bob");
    auto carol = Bot::create(*registry, "ru", "carol");
    carol->set_answer_offers(false);
    alice->publish();
    bob->publish();
    CHECK_TRUE(wait_until([&]() {
        return carol->subscribe_offers() >= 1 && alice->video_frames_from("bob") >= 10 &&
               bob->video_frames_from("alice") >= 10;
    }));
    alice->leave();
    CHECK_TRUE(wait_until([&]() { return unpublished.size() == 2; }));
    carol->leave();
    spin(300);
    CHECK_EQUAL(1u, registry->find("ru")->participant_count());
    // A newcomer still gets Bob's tracks: nothing is stuck.
    auto dave = Bot::create(*registry, "ru", "dave");
    CHECK_TRUE(wait_until([&]() { return dave->video_frames_from("bob") >= 10; }));
    CHECK_EQUAL(0, bob->errors() + dave->errors());
    bob->leave();
    dave->leave();
}

static GstPadProbeReturn count_buffers(GstPad*, GstPadProbeInfo*, gpointer data)
{
    static_cast<std::atomic<int>*>(data)->fetch_add(1);
    return GST_PAD_PROBE_OK;
}

TEST(MediaRoom, NeverAnsweringSubscriberStallsNobody)
{
    // Branches push from the publisher's streaming thread straight into the
    // subscribers' webrtcbins. Carol joins a running room and never answers:
    // her new pads stay blocked by webrtcbin. No packet may reach them (it
    // would block Alice's thread, i.e. Bob's copy too), Bob keeps decoding,
    // and Carol's leaving frees her branches without a deadlock.
    auto alice = Bot::create(*registry, "rn", "alice");
    auto bob = Bot::create(*registry, "rn", "bob");
    alice->publish();
    CHECK_TRUE(wait_until([&]() { return bob->video_frames_from("alice") >= 10; }));
    auto carol = Bot::create(*registry, "rn", "carol");
    carol->set_answer_offers(false);
    CHECK_TRUE(wait_until([&]() { return carol->subscribe_offers() >= 1; }));
    std::atomic<int> carol_buffers{0};
    GstElement* webrtc = carol->participant()->subscribe_webrtcbin();
    int carol_pads = 0;
    for (GList* l = GST_ELEMENT(webrtc)->sinkpads; l; l = l->next) {
        gst_pad_add_probe(GST_PAD(l->data),
                          static_cast<GstPadProbeType>(GST_PAD_PROBE_TYPE_BUFFER |
                                                       GST_PAD_PROBE_TYPE_BUFFER_LIST),
                          count_buffers, &carol_buffers, nullptr);
        carol_pads++;
    }
    CHECK_EQUAL(2, carol_pads);
    int v = bob->video_frames_from("alice");
    int a = bob->audio_buffers_from("alice");
    CHECK_TRUE(wait_until([&]() {
        return bob->video_frames_from("alice") >= v + 60 &&
               bob->audio_buffers_from("alice") >= a + 100;
    }));
    CHECK_EQUAL(0, carol_buffers.load());
    bool gone = false;
    registry->leave("rn", "carol", [&]() { gone = true; });
    CHECK_TRUE(wait_until([&]() { return gone; }));
    carol.reset();
    v = bob->video_frames_from("alice");
    CHECK_TRUE(wait_until([&]() { return bob->video_frames_from("alice") >= v + 30; }));
    CHECK_EQUAL(0, alice->errors() + bob->errors());
    alice->leave();
    bob->leave();
}

TEST(MediaRoom, ASubscriberThatAnswersButNeverConnectsStallsNobody)
{
    // Carol answers but never does ICE: webrtcbin holds every packet of her
    // session until DTLS is up. Her branches must stay closed (a packet
    // pushed there would block Alice's streaming thread, i.e. Bob's copy),
    // and her leaving must not wait for them.
    auto alice = Bot::create(*registry, "rd", "alice");
    auto bob = Bot::create(*registry, "rd", "bob");
    alice->publish();
    CHECK_TRUE(wait_until([&]() { return bob->video_frames_from("alice") >= 10; }));
    auto carol = Bot::create(*registry, "rd", "carol");
    carol->set_ice(false);
    CHECK_TRUE(wait_until([&]() { return carol->subscribe_answers_sent() >= 1; }));
    int v = bob->video_frames_from("alice");
    int a = bob->audio_buffers_from("alice");
    CHECK_TRUE(wait_until([&]() {
        return bob->video_frames_from("alice") >= v + 30 &&
               bob->audio_buffers_from("alice") >= a + 50;
    }));
    bool gone = false;
    registry->leave("rd", "carol", [&]() { gone = true; });
    carol->forget_registry();
    CHECK_TRUE(wait_until([&]() { return gone; }));
    carol.reset();
    v = bob->video_frames_from("alice");
    CHECK_TRUE(wait_until([&]() { return bob->video_frames_from("alice") >= v + 10; }));
    CHECK_EQUAL(0, alice->errors() + bob->errors());
    alice->leave();
    bob->leave();
}

static int child_count(GstPipeline* pipeline)
{
    return static_cast<int>(GST_BIN(pipeline)->numchildren);
}

TEST(MediaRoom, JoinLeaveCyclesLeaveNoElementsBehind)
{
    auto alice = Bot::create(*registry, "rc", "alice");
    auto bob = Bot::create(*registry, "rc", "bob");
    alice->publish();
    bob->publish();
    CHECK_TRUE(wait_until([&]() {
        return alice->video_frames_from("bob") >= 10 && bob->video_frames_from("alice") >= 10;
    }));
    auto room = registry->find("rc");
    int baseline = child_count(room->pipeline());
    for (int cycle = 0; cycle < 4; cycle++) {
        auto carol = Bot::create(*registry, "rc", "carol");
        carol->publish();
        CHECK_TRUE(wait_until([&]() {
            return carol->video_frames_from("alice") >= 10 &&
                   alice->video_frames_from("carol") >= 10;
        }));
        CHECK_TRUE(child_count(room->pipeline()) > baseline);
        bool gone = false;
        registry->leave("rc", "carol", [&]() { gone = true; });
        CHECK_TRUE(wait_until([&]() { return gone; }));
        carol.reset();
        CHECK_EQUAL(baseline, child_count(room->pipeline()));
    }
    // Alice and Bob never stopped.
    int a = alice->video_frames_from("bob");
    CHECK_TRUE(wait_until([&]() { return alice->video_frames_from("bob") >= a + 10; }));
    CHECK_EQUAL(0, alice->errors() + bob->errors());
    alice->leave();
    bob->leave();
}

// Sessions that are negotiated but never connect: the engine reports them
// once the connect timeout passed (the server then ends the participant,
// as the test does here); connected sessions are never reported.
TEST_GROUP(MediaConnect)
{
    std::unique_ptr<RoomRegistry> registry;

    void setup() override
    {
        MediaConfig config = loopback_config();
        config.connect_timeout_ms = 1500;
        registry = std::make_unique<RoomRegistry>(config, RegistryCallbacks{});
    }
    void teardown() override
    {
        wait_until([this]() { return registry->size() == 0; }, 5000);
        spin(100);
        registry.reset();
    }
};

static bool out_of_pipeline(GstElement* webrtc)
{
    GstState state = GST_STATE_VOID_PENDING;
    gst_element_get_state(webrtc, &state, nullptr, 0);
    return GST_OBJECT_PARENT(webrtc) == nullptr && state == GST_STATE_NULL;
}

TEST(MediaConnect, APublisherThatNeverDoesIceIsReported)
{
    auto alice = Bot::create(*registry, "rt", "alice");
    alice->publish();
    auto room = registry->find("rt");
    auto bob = Bot::create(*registry, "rt", "bob");
    // Bob answers Alice's tracks and offers his own, but no candidate goes
    // either way: neither of his sessions ever connects.
    bob->set_ice(false);
    CHECK_TRUE(wait_until([&]() { return bob->subscribe_answers_sent() >= 1; }));
    int baseline = child_count(room->pipeline());
    bob->publish();
    CHECK_TRUE(wait_until([&]() {
        return bob->connect_timeouts(Session::Publish) == 1 &&
               bob->connect_timeouts(Session::Subscribe) == 1;
    }));
    CHECK_TRUE(bob->publish_answers() >= 1);
    // Alice's sessions connected long before the deadline: never reported
    // (her subscribe session had nothing to negotiate: Bob's tracks never
    // arrived).
    CHECK_TRUE(alice->participant()->publish_webrtcbin() != nullptr);
    CHECK_EQUAL(
        0, alice->connect_timeouts(Session::Publish) + alice->connect_timeouts(Session::Subscribe));
    CHECK_EQUAL(2u, room->tracks().size());
    CHECK_TRUE(child_count(room->pipeline()) > baseline);

    // What the server does on the report: the participant leaves, and
    // every element of both sessions goes.
    auto participant = bob->participant();
    GstElement* publish = participant->publish_webrtcbin();
    GstElement* subscribe = participant->subscribe_webrtcbin();
    bool gone = false;
    registry->leave("rt", "bob", [&]() { gone = true; });
    bob->forget_registry();
    CHECK_TRUE(wait_until([&]() { return gone; }));
    CHECK_TRUE(out_of_pipeline(publish));
    CHECK_TRUE(out_of_pipeline(subscribe));
    CHECK_EQUAL(baseline - 1, child_count(room->pipeline()));
    participant.reset();
    // Reported once per session, never again.
    CHECK_EQUAL(1, bob->connect_timeouts(Session::Publish));
    CHECK_EQUAL(0, alice->errors());
    alice->leave();
}

TEST(MediaConnect, ASubscriberThatNeverAnswersIsReported)
{
    auto alice = Bot::create(*registry, "rs", "alice");
    auto carol = Bot::create(*registry, "rs", "carol");
    carol->set_answer_offers(false);
    alice->publish();
    CHECK_TRUE(wait_until([&]() { return carol->connect_timeouts(Session::Subscribe) == 1; }));
    CHECK_TRUE(carol->subscribe_offers() >= 1);
    // Carol never offered to publish: her publish session does not exist.
    CHECK_EQUAL(0, carol->connect_timeouts(Session::Publish));
    CHECK_TRUE(carol->participant()->publish_webrtcbin() == nullptr);
    CHECK_EQUAL(0, alice->connect_timeouts(Session::Publish));
    carol->leave();
    // Alice's media never stopped; a subscriber who connects gets it.
    auto dave = Bot::create(*registry, "rs", "dave");
    CHECK_TRUE(wait_until([&]() { return dave->video_frames_from("alice") >= 10; }));
    CHECK_EQUAL(0, dave->connect_timeouts(Session::Subscribe));
    CHECK_EQUAL(0, alice->errors() + dave->errors());
    alice->leave();
    dave->leave();
}
