// One publisher forwarded to subscribers (VP8, H.264, Opus): decoded video
// and audio, and a subscriber joining later still decodes (the engine's
// keyframe request reaches the publisher: the bots' encoders never make
// keyframes on their own).
#include <gst/gst.h>

#include <gst/rtp/rtp.h>
#include <gst/video/video.h>
#include <gst/webrtc/webrtc.h>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "../gst_elements.h"
#include "media_bot.h"
#include "room_registry.h"

// Last: CppUTest redefines `new` for its leak checker.
#include <CppUTest/TestHarness.h>

using namespace zumzi::media;
using namespace zumzi::media::test;
using zumzi_test::count_made_by;
using zumzi_test::for_each_element;
using zumzi_test::made_by;

TEST_GROUP(MediaForward)
{
    std::unique_ptr<RoomRegistry> registry;
    std::vector<TrackInfo> published;

    void setup() override
    {
        RegistryCallbacks callbacks;
        callbacks.on_track_published = [this](const std::string&, const TrackInfo& t) {
            published.push_back(t);
        };
        registry = std::make_unique<RoomRegistry>(loopback_config(), callbacks);
    }
    void teardown() override
    {
        wait_until([this]() { return registry->size() == 0; }, 5000);
        spin(100);
        registry.reset();
    }
};

TEST(MediaForward, OnePublisherOneSubscriberDecodesVideoAndAudio)
{
    auto alice = Bot::create(*registry, "room1", "alice");
    auto bob = Bot::create(*registry, "room1", "bob");
    CHECK(alice->participant() != nullptr);
    CHECK(bob->participant() != nullptr);
    alice->publish();
    CHECK_TRUE(wait_until([&]() { return published.size() == 2; }));
    CHECK_TRUE(wait_until([&]() {
        return bob->video_frames_from("alice") >= 10 && bob->audio_buffers_from("alice") >= 10;
    }));
    CHECK_EQUAL(1, alice->publish_answers());
    CHECK_EQUAL(0, alice->errors() + bob->errors());
    // Labels come from the publisher's a=msid.
    int cameras = 0;
    for (const auto& t : published)
        if (t.kind == TrackKind::Video && t.label == "camera" && t.codec == "VP8")
            cameras++;
    CHECK_EQUAL(1, cameras);
    alice->leave();
    bob->leave();
}

TEST(MediaForward, LateSubscriberGetsKeyframe)
{
    auto alice = Bot::create(*registry, "room2", "alice");
    alice->publish();
    auto bob = Bot::create(*registry, "room2", "bob");
    CHECK_TRUE(wait_until([&]() { return bob->video_frames_from("alice") >= 10; }));
    gint64 join_time = g_get_monotonic_time();
    auto carol = Bot::create(*registry, "room2", "carol");
    CHECK_TRUE(wait_until([&]() { return carol->video_frames_from("alice") >= 1; }));
    // Informational, never asserted: join to first decoded frame on loopback.
    g_printerr("\n[join-to-first-frame] %lld ms\n",
               static_cast<long long>((g_get_monotonic_time() - join_time) / 1000));
    CHECK_TRUE(wait_until([&]() { return carol->video_frames_from("alice") >= 10; }));
    // Bob kept decoding meanwhile.
    int before = bob->video_frames_from("alice");
    CHECK_TRUE(wait_until([&]() { return bob->video_frames_from("alice") >= before + 10; }));
    CHECK_EQUAL(0, alice->errors() + bob->errors() + carol->errors());
    carol->leave();
    bob->leave();
    alice->leave();
}

TEST(MediaForward, BadSdpIsRefusedAndChangesNothing)
{
    auto alice = Bot::create(*registry, "room3", "alice");
    auto p = alice->participant();
    CHECK_FALSE(p->publish_offer("not an sdp", [](bool, const std::string&) {}));
    CHECK_FALSE(p->publish_offer("", [](bool, const std::string&) {}));
    CHECK_FALSE(p->subscribe_answer("v=0\r\n"));
    // The same participant id cannot join twice.
    CHECK(registry->join("room3", "alice", {}) == nullptr);
    // The session still works afterwards.
    auto bob = Bot::create(*registry, "room3", "bob");
    alice->publish();
    CHECK_TRUE(wait_until([&]() { return bob->video_frames_from("alice") >= 10; }));
    CHECK_EQUAL(0, alice->errors() + bob->errors());
    alice->leave();
    bob->leave();
}

TEST(MediaForward, ParticipantWithoutSubscribeReceivesNothing)
{
    auto alice = Bot::create(*registry, "room4", "alice");
    auto bob = Bot::create(*registry, "room4", "bob");
    // Carol may publish but not receive (no subscribe permission).
    ParticipantCallbacks callbacks;
    int carol_offers = 0;
    callbacks.on_subscribe_offer = [&](const std::string&) { carol_offers++; };
    auto carol = registry->join("room4", "carol", callbacks, false);
    CHECK(carol != nullptr);
    alice->publish();
    CHECK_TRUE(wait_until([&]() { return bob->video_frames_from("alice") >= 10; }));
    CHECK_EQUAL(0, carol_offers);
    CHECK_EQUAL(0u, carol->subscribe_slots());
    CHECK_TRUE(registry->leave("room4", "carol"));
    alice->leave();
    bob->leave();
}

TEST(MediaForward, H264IsForwardedAndLateSubscriberDecodes)
{
    auto alice = Bot::create(*registry, "room5", "alice");
    auto bob = Bot::create(*registry, "room5", "bob");
    alice->publish_h264();
    CHECK_TRUE(wait_until([&]() { return bob->video_frames_from("alice") >= 10; }));
    auto carol = Bot::create(*registry, "room5", "carol");
    CHECK_TRUE(wait_until([&]() { return carol->video_frames_from("alice") >= 10; }));
    bool h264 = false;
    for (const auto& t : published)
        h264 = h264 || t.codec == "H264";
    CHECK_TRUE(h264);
    CHECK_EQUAL(0, alice->errors() + bob->errors() + carol->errors());
    carol->leave();
    bob->leave();
    alice->leave();
}

TEST(MediaForward, RegistryDestroyedWithParticipantsInside)
{
    // Server shutdown: rooms still full. Everything must go to NULL without
    // a deadlock, and the participants the server still holds stay inert.
    auto alice = Bot::create(*registry, "room6", "alice");
    auto bob = Bot::create(*registry, "room6", "bob");
    alice->publish();
    CHECK_TRUE(wait_until([&]() { return bob->video_frames_from("alice") >= 10; }));
    GstPipeline* pipeline = registry->find("room6")->pipeline();
    g_object_add_weak_pointer(G_OBJECT(pipeline), reinterpret_cast<gpointer*>(&pipeline));
    alice->forget_registry();
    bob->forget_registry();
    registry.reset();
    CHECK_TRUE(wait_until([&]() { return pipeline == nullptr; }, 5000));
    CHECK_FALSE(alice->participant()->publish_offer("v=0", nullptr));
    alice.reset();
    bob.reset();
    registry = std::make_unique<RoomRegistry>(loopback_config());
}

static void print_extmaps(const char* who, const std::string& sdp)
{
    // The figures behind docs/media.md's "Header extensions" section.
    size_t at = 0;
    int mline = -1;
    while (at < sdp.size()) {
        size_t end = sdp.find("\r\n", at);
        if (end == std::string::npos)
            end = sdp.size();
        std::string line = sdp.substr(at, end - at);
        if (line.rfind("m=", 0) == 0)
            mline++;
        if (line.rfind("a=extmap", 0) == 0)
            g_printerr("%s: m-line %d %s\n", who, mline, line.c_str());
        at = end + 2;
    }
}

TEST(MediaForward, HeaderExtensionIdsOfTwoPublishersReachASubscriberConsistently)
{
    // Alice sends her audio level under id 1, Bob under id 5, and Bob's
    // camera sends transport-wide-cc under id 1: one subscribe session
    // carries both. Carol reads each audio level under the id her offer
    // declared for it, and never meets another extension under an id her
    // offer gave to something else.
    auto alice = Bot::create(*registry, "rx", "alice");
    auto bob = Bot::create(*registry, "rx", "bob");
    auto carol = Bot::create(*registry, "rx", "carol");
    bob->set_audio_level_id(5);
    bob->set_video_twcc_id(1);
    alice->publish();
    bob->publish();
    CHECK_TRUE(wait_until([&]() {
        return carol->audio_levels_from("alice") >= 50 && carol->audio_levels_from("bob") >= 50 &&
               carol->video_frames_from("alice") >= 10 && carol->video_frames_from("bob") >= 10;
    }));
    // The engine's own reading of the renumbered levels: Bob talks.
    CHECK_TRUE(wait_until([&]() { return registry->find("rx")->speaking("bob"); }));
    print_extmaps("bob's publish answer", bob->last_publish_answer());
    print_extmaps("carol's subscribe offer", carol->last_subscribe_offer());
    CHECK_EQUAL(0, carol->foreign_extensions_from("alice") + carol->foreign_extensions_from("bob"));
    CHECK_EQUAL(0, alice->errors() + bob->errors() + carol->errors());
    alice->leave();
    bob->leave();
    carol->leave();
}

TEST(MediaForward, PublishAnswersStartVideoAtTheRoomsPresetBitrate)
{
    // Before the room has a preset: no start bitrate.
    auto alice = Bot::create(*registry, "rb", "alice");
    alice->publish();
    CHECK_TRUE(wait_until([&]() { return alice->publish_answers() == 1; }));
    CHECK_TRUE(alice->last_publish_answer().find("x-google-start-bitrate") == std::string::npos);

    // An HD room: every video codec of the answer starts at the preset's
    // 2000 kbps; audio gets nothing.
    registry->set_preset("rb", "hd");
    CHECK_EQUAL(2000u, registry->find("rb")->video_start_kbps());
    auto bob = Bot::create(*registry, "rb", "bob");
    bob->publish();
    CHECK_TRUE(wait_until([&]() { return bob->publish_answers() == 1; }));
    const std::string answer = bob->last_publish_answer();
    STRCMP_CONTAINS("a=fmtp:96 x-google-start-bitrate=2000\r\n", answer.c_str());
    const size_t audio = answer.find("m=audio");
    CHECK_TRUE(audio != std::string::npos);
    const size_t video = answer.find("m=video");
    const size_t param = answer.find("x-google-start-bitrate");
    CHECK_TRUE(video < audio ? param < audio : param > video);
    CHECK_EQUAL(answer.rfind("x-google-start-bitrate"), param);
    // The client applied it and media flows.
    CHECK_TRUE(wait_until([&]() { return alice->video_frames_from("bob") >= 10; }));
    // An unknown preset changes nothing.
    CHECK_FALSE(registry->find("rb")->set_preset("8k"));
    CHECK_EQUAL(2000u, registry->find("rb")->video_start_kbps());
    CHECK_EQUAL(0, alice->errors() + bob->errors());
    alice->leave();
    bob->leave();
}

namespace {

// What each sink pad of a webrtcbin feeds, by factory name.
std::vector<std::string> sink_targets(GstElement* webrtc)
{
    std::vector<std::string> targets;
    GstIterator* it = gst_element_iterate_sink_pads(webrtc);
    GValue item = G_VALUE_INIT;
    while (gst_iterator_next(it, &item) == GST_ITERATOR_OK) {
        GstPad* target = gst_ghost_pad_get_target(GST_GHOST_PAD(g_value_get_object(&item)));
        GstElement* parent = target ? gst_pad_get_parent_element(target) : nullptr;
        GstElementFactory* f = parent ? gst_element_get_factory(parent) : nullptr;
        targets.push_back(f ? GST_OBJECT_NAME(f) : "");
        if (parent)
            gst_object_unref(parent);
        if (target)
            gst_object_unref(target);
        g_value_reset(&item);
    }
    g_value_unset(&item);
    gst_iterator_free(it);
    return targets;
}

}  // namespace

// A subscriber's packets leave through the engine's own sender
// (rtp_sender.h), not through webrtcbin's send chain: srtpenc sees no RTP
// while the subscriber decodes. webrtcbin's own path, which stays ready
// for a session the sender cannot take, has no RTX sender and skips the
// clocksync and the idle FEC encoder bin (send_path.h).
TEST(MediaForward, ForwardedPacketsLeaveThroughTheEnginesOwnSender)
{
    auto alice = Bot::create(*registry, "room1", "alice");
    auto bob = Bot::create(*registry, "room1", "bob");
    alice->publish();
    CHECK_TRUE(wait_until([&]() {
        return bob->video_frames_from("alice") >= 10 && bob->audio_buffers_from("alice") >= 10;
    }));
    GstElement* webrtc = bob->participant()->subscribe_webrtcbin();
    CHECK_TRUE(bob->participant()->sender().active());
    std::atomic<int> through_webrtcbin{0};
    for_each_element(webrtc, [&](GstElement* e) {
        if (!made_by(e, "srtpenc"))
            return;
        GstPad* pad = gst_element_get_static_pad(e, "rtp_sink_0");
        if (!pad)
            return;
        gst_pad_add_probe(
            pad,
            static_cast<GstPadProbeType>(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST),
            [](GstPad*, GstPadProbeInfo*, gpointer data) {
                (*static_cast<std::atomic<int>*>(data))++;
                return GST_PAD_PROBE_OK;
            },
            &through_webrtcbin, nullptr);
        gst_object_unref(pad);
    });
    const int frames = bob->video_frames_from("alice");
    const uint64_t sent = bob->participant()->sender().packets_sent();
    CHECK_TRUE(wait_until([&]() { return bob->video_frames_from("alice") >= frames + 20; }));
    CHECK_TRUE(bob->participant()->sender().packets_sent() > sent + 20);
    CHECK_EQUAL(0, through_webrtcbin.load());
    CHECK_EQUAL(0u, bob->participant()->sender().send_errors());
    const std::vector<std::string> targets = sink_targets(webrtc);
    CHECK_EQUAL(2u, targets.size());
    for (const auto& target : targets)
        STRCMP_EQUAL("rtpfunnel", target.c_str());
    CHECK_EQUAL(0, count_made_by(webrtc, "rtprtxsend"));
    CHECK_EQUAL(0, alice->errors() + bob->errors());
    alice->leave();
    bob->leave();
}

namespace {

// webrtcbin's remote-outbound-rtp statistics of a receiving session: the
// sender reports it got, as packets-sent per SSRC.
std::map<guint, guint> reported_by_sender(GstElement* webrtc)
{
    std::map<guint, guint> reported;
    GstPromise* promise = gst_promise_new();
    g_signal_emit_by_name(webrtc, "get-stats", nullptr, promise);
    if (gst_promise_wait(promise) == GST_PROMISE_RESULT_REPLIED) {
        const GstStructure* stats = gst_promise_get_reply(promise);
        for (gint i = 0; stats && i < gst_structure_n_fields(stats); i++) {
            const GValue* v = gst_structure_get_value(stats, gst_structure_nth_field_name(stats, i));
            if (!GST_VALUE_HOLDS_STRUCTURE(v))
                continue;
            const GstStructure* s = gst_value_get_structure(v);
            GstWebRTCStatsType type;
            guint ssrc = 0;
            guint packets = 0;
            if (gst_structure_get_enum(s, "type", GST_TYPE_WEBRTC_STATS_TYPE,
                                       reinterpret_cast<gint*>(&type)) &&
                type == GST_WEBRTC_STATS_REMOTE_OUTBOUND_RTP &&
                gst_structure_get_uint(s, "ssrc", &ssrc) &&
                gst_structure_get_uint(s, "packets-sent", &packets))
                reported[ssrc] = packets;
        }
    }
    gst_promise_unref(promise);
    return reported;
}

}  // namespace

// The engine sends RTCP sender reports for what it forwards (a subscriber's
// lip sync maps RTP to wall-clock time with them): the subscriber's
// webrtcbin has a remote-outbound-rtp entry for alice's audio and video,
// counting the packets really sent.
TEST(MediaForward, SubscribersGetSenderReportsForForwardedStreams)
{
    auto alice = Bot::create(*registry, "room1", "alice");
    auto bob = Bot::create(*registry, "room1", "bob");
    alice->publish();
    CHECK_TRUE(wait_until([&]() { return bob->video_frames_from("alice") >= 10; }));
    std::set<guint> ssrcs;
    for (const auto& t : published)
        if (t.participant_id == "alice")
            ssrcs.insert(t.ssrc);
    CHECK_EQUAL(2u, ssrcs.size());
    std::map<guint, guint> reported;
    CHECK_TRUE(wait_until(
        [&]() {
            reported = reported_by_sender(bob->subscribe_webrtcbin());
            for (guint ssrc : ssrcs)
                if (!reported.count(ssrc) || reported[ssrc] == 0)
                    return false;
            return true;
        },
        10000));
    CHECK_TRUE(bob->participant()->sender().reports_sent() >= 2);
    // What a report counts was sent: no more than the sender sent in all.
    uint64_t reported_packets = 0;
    for (guint ssrc : ssrcs)
        reported_packets += reported[ssrc];
    CHECK_TRUE(reported_packets <= bob->participant()->sender().packets_sent());
    alice->leave();
    bob->leave();
}

// A subscriber's own keyframe request (its decoder lost a frame: PLI)
// still reaches the publisher, whose encoder makes a keyframe (the bots'
// encoders make none on their own).
TEST(MediaForward, SubscribersPliReachesThePublisher)
{
    auto alice = Bot::create(*registry, "room1", "alice");
    auto bob = Bot::create(*registry, "room1", "bob");
    alice->publish();
    CHECK_TRUE(wait_until([&]() { return bob->video_frames_from("alice") >= 10; }));
    std::atomic<int> keyframes{0};
    GstPad* encoded = nullptr;
    for_each_element(alice->pipeline(), [&](GstElement* e) {
        if (made_by(e, "vp8enc") && !encoded)
            encoded = gst_element_get_static_pad(e, "src");
    });
    CHECK_TRUE(encoded != nullptr);
    gst_pad_add_probe(
        encoded, GST_PAD_PROBE_TYPE_BUFFER,
        [](GstPad*, GstPadProbeInfo* info, gpointer data) {
            if (!GST_BUFFER_FLAG_IS_SET(GST_PAD_PROBE_INFO_BUFFER(info), GST_BUFFER_FLAG_DELTA_UNIT))
                (*static_cast<std::atomic<int>*>(data))++;
            return GST_PAD_PROBE_OK;
        },
        &keyframes, nullptr);
    // Past the engine's own request and its rate limit.
    spin(1000);
    CHECK_EQUAL(0, keyframes.load());
    // bob's decoder asks its session for a keyframe: its rtpsession sends a PLI.
    GstPad* video = nullptr;
    GstIterator* it = gst_element_iterate_src_pads(bob->subscribe_webrtcbin());
    GValue item = G_VALUE_INIT;
    while (gst_iterator_next(it, &item) == GST_ITERATOR_OK) {
        auto* pad = GST_PAD(g_value_get_object(&item));
        GstCaps* caps = gst_pad_get_current_caps(pad);
        const gchar* media =
            caps ? gst_structure_get_string(gst_caps_get_structure(caps, 0), "media") : nullptr;
        if (!video && g_strcmp0(media, "video") == 0)
            video = GST_PAD(gst_object_ref(pad));
        if (caps)
            gst_caps_unref(caps);
        g_value_reset(&item);
    }
    g_value_unset(&item);
    gst_iterator_free(it);
    CHECK_TRUE(video != nullptr);
    gst_pad_send_event(video, gst_video_event_new_upstream_force_key_unit(GST_CLOCK_TIME_NONE,
                                                                           TRUE, 0));
    CHECK_TRUE(wait_until([&]() { return keyframes.load() >= 1; }, 5000));
    gst_object_unref(video);
    gst_object_unref(encoded);
    alice->leave();
    bob->leave();
}

namespace {

// The sender SSRCs of the PLIs a session received (its RTCP thread).
struct PliSenders {
    std::mutex lock;
    std::set<guint> ssrcs;

    bool has(guint ssrc)
    {
        std::lock_guard<std::mutex> hold(lock);
        return ssrcs.count(ssrc) != 0;
    }
};

void on_feedback(GObject*, guint type, guint fbtype, guint sender_ssrc, guint, GstBuffer*,
                 gpointer data)
{
    if (type != GST_RTCP_TYPE_PSFB || fbtype != GST_RTCP_PSFB_TYPE_PLI)
        return;
    auto* seen = static_cast<PliSenders*>(data);
    std::lock_guard<std::mutex> hold(seen->lock);
    seen->ssrcs.insert(sender_ssrc);
}

}  // namespace

// A new subscriber's keyframe request leaves as a PLI of the engine's own,
// sent straight to the publisher (not as rtpsession's early RTCP, which
// waits up to a regular RTCP interval), and the publisher acts on it.
TEST(MediaForward, NewSubscribersKeyframeRequestGoesStraightToThePublisher)
{
    auto alice = Bot::create(*registry, "room1", "alice");
    alice->publish();
    const RtpSender* feedback = nullptr;
    CHECK_TRUE(wait_until([&]() {
        feedback = alice->participant()->feedback_sender();
        return feedback && feedback->active();
    }));
    PliSenders seen;
    GstElement* rtpbin = gst_bin_get_by_name(GST_BIN(alice->publish_webrtcbin()), "rtpbin");
    CHECK_TRUE(rtpbin != nullptr);
    GObject* session = nullptr;
    g_signal_emit_by_name(rtpbin, "get-internal-session", 0u, &session);
    CHECK_TRUE(session != nullptr);
    const gulong handler = g_signal_connect(session, "on-feedback-rtcp", G_CALLBACK(on_feedback), &seen);
    const uint64_t before = feedback->keyframe_requests_sent();
    auto bob = Bot::create(*registry, "room1", "bob");
    // The bots' encoders make keyframes only when asked: a decoded frame
    // means the request arrived.
    CHECK_TRUE(wait_until([&]() { return bob->video_frames_from("alice") >= 1; }));
    CHECK_TRUE(feedback->keyframe_requests_sent() > before);
    CHECK_TRUE(wait_until([&]() { return seen.has(feedback->ssrc()); }, 2000));
    CHECK_EQUAL(0u, feedback->send_errors());
    g_signal_handler_disconnect(session, handler);
    g_object_unref(session);
    gst_object_unref(rtpbin);
    alice->leave();
    bob->leave();
}
