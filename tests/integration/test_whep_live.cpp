// WHEP playback of a room's composite end to end (POST /whep/{room}/live):
// a real zumzi::Server on 127.0.0.1, two zumzi-bots publishing over WHIP,
// and a WHEP player written here (webrtcbin, recvonly VP8 + Opus, non
// trickle) that decodes the mix and reports the decoded picture's size;
// a zumzi-bot --whep plays it too. The composite runs while any output or
// composite player needs it and goes with the last. Counts and states are
// asserted, never timings.
#include <gst/gst.h>
#include <gst/sdp/sdp.h>
#include <gst/webrtc/webrtc.h>

#include <atomic>
#include <memory>
#include <string>

#include "api/whip.h"
#include "media_config.h"
#include "room_bots.h"

using namespace zumzi_test;
using zumzi::bot::Bot;
using zumzi::bot::BotOptions;

namespace {

// The composite is VGA: bigger than what the bots publish (QVGA), so the
// player's picture size can only be the composite's.
const char* const kRoomBody = "{\"name\":\"Show\",\"preset\":\"vga\"}";
constexpr int kCompositeWidth = 640;
constexpr int kCompositeHeight = 480;

// Iterates the test thread's default context (zumzi-bots live there).
bool wait_for(const std::function<bool()>& cond, int timeout_ms = 30000)
{
    return zumzi::bot::wait_until(nullptr, cond, timeout_ms);
}

// A WHEP player: recvonly VP8 (pt 96) and Opus (pt 111), ICE on 127.0.0.1
// only, decoding what arrives into fakesinks.
class Player {
public:
    Player()
    {
        pipeline_ = gst_pipeline_new(nullptr);
        webrtc_ = gst_element_factory_make("webrtcbin", nullptr);
        gst_object_ref(webrtc_);
        g_object_set(webrtc_, "bundle-policy", GST_WEBRTC_BUNDLE_POLICY_MAX_BUNDLE, nullptr);
        gst_bin_add(GST_BIN(pipeline_), webrtc_);
        for (const char* caps_text :
             {"application/x-rtp,media=video,encoding-name=VP8,payload=96,clock-rate=90000,"
              "rtcp-fb-nack-pli=(boolean)true",
              "application/x-rtp,media=audio,encoding-name=OPUS,payload=111,clock-rate=48000,"
              "encoding-params=(string)2"}) {
            GstCaps* caps = gst_caps_from_string(caps_text);
            GstWebRTCRTPTransceiver* t = nullptr;
            g_signal_emit_by_name(webrtc_, "add-transceiver",
                                  GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_RECVONLY, caps, &t);
            gst_caps_unref(caps);
            if (t)
                gst_object_unref(t);
        }
        g_signal_connect(webrtc_, "pad-added", G_CALLBACK(on_pad_added), this);
        zumzi::media::MediaConfig config;
        config.host_addresses = {"127.0.0.1"};
        zumzi::media::configure_webrtcbin(webrtc_, config);
        gst_element_set_state(pipeline_, GST_STATE_PLAYING);
    }

    ~Player()
    {
        gst_element_set_state(pipeline_, GST_STATE_NULL);
        gst_object_unref(webrtc_);
        gst_object_unref(pipeline_);
    }

    // The offer with its candidates (gathering complete), or "" on failure.
    std::string offer()
    {
        GstPromise* promise = gst_promise_new();
        g_signal_emit_by_name(webrtc_, "create-offer", nullptr, promise);
        gst_promise_wait(promise);
        GstWebRTCSessionDescription* offer = nullptr;
        if (const GstStructure* reply = gst_promise_get_reply(promise))
            gst_structure_get(reply, "offer", GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &offer, nullptr);
        gst_promise_unref(promise);
        if (!offer)
            return {};
        promise = gst_promise_new();
        g_signal_emit_by_name(webrtc_, "set-local-description", offer, promise);
        gst_promise_wait(promise);
        gst_promise_unref(promise);
        gst_webrtc_session_description_free(offer);
        wait_for(
            [this] {
                GstWebRTCICEGatheringState state;
                g_object_get(webrtc_, "ice-gathering-state", &state, nullptr);
                return state == GST_WEBRTC_ICE_GATHERING_STATE_COMPLETE;
            },
            10000);
        GstWebRTCSessionDescription* local = nullptr;
        g_object_get(webrtc_, "local-description", &local, nullptr);
        if (!local)
            return {};
        gchar* text = gst_sdp_message_as_text(local->sdp);
        std::string out = text ? text : "";
        g_free(text);
        gst_webrtc_session_description_free(local);
        return out;
    }

    bool apply_answer(const std::string& sdp)
    {
        GstSDPMessage* msg = nullptr;
        if (gst_sdp_message_new_from_text(sdp.c_str(), &msg) != GST_SDP_OK)
            return false;
        GstWebRTCSessionDescription* answer =
            gst_webrtc_session_description_new(GST_WEBRTC_SDP_TYPE_ANSWER, msg);
        GstPromise* promise = gst_promise_new();
        g_signal_emit_by_name(webrtc_, "set-remote-description", answer, promise);
        gst_promise_wait(promise);
        const GstStructure* reply = gst_promise_get_reply(promise);
        bool ok = !reply || !gst_structure_has_field(reply, "error");
        gst_promise_unref(promise);
        gst_webrtc_session_description_free(answer);
        return ok;
    }

    int video_frames() const { return video_frames_.load(); }
    int audio_buffers() const { return audio_buffers_.load(); }
    int streams() const { return streams_.load(); }
    // The size of the last decoded video frame (0 before any).
    int width() const { return width_.load(); }
    int height() const { return height_.load(); }
    std::string describe() const
    {
        return "video " + std::to_string(video_frames()) + " (" + std::to_string(width()) + "x" +
               std::to_string(height()) + ") audio " + std::to_string(audio_buffers()) +
               " streams " + std::to_string(streams());
    }

private:
    static void on_video(GstElement*, GstBuffer*, GstPad* pad, gpointer data)
    {
        auto* self = static_cast<Player*>(data);
        if (GstCaps* caps = gst_pad_get_current_caps(pad)) {
            const GstStructure* s = gst_caps_get_structure(caps, 0);
            int w = 0, h = 0;
            if (gst_structure_get_int(s, "width", &w) && gst_structure_get_int(s, "height", &h)) {
                self->width_ = w;
                self->height_ = h;
            }
            gst_caps_unref(caps);
        }
        self->video_frames_++;
    }

    static void on_audio(GstElement*, GstBuffer*, GstPad*, gpointer data)
    {
        static_cast<Player*>(data)->audio_buffers_++;
    }

    static void on_decoded_pad(GstElement* decodebin, GstPad* pad, gpointer data)
    {
        auto* self = static_cast<Player*>(data);
        GstCaps* caps = gst_pad_get_current_caps(pad);
        if (!caps)
            caps = gst_pad_query_caps(pad, nullptr);
        const bool video =
            g_str_has_prefix(gst_structure_get_name(gst_caps_get_structure(caps, 0)), "video/");
        gst_caps_unref(caps);
        GstElement* sink = gst_element_factory_make("fakesink", nullptr);
        g_object_set(sink, "signal-handoffs", TRUE, "sync", FALSE, "async", FALSE, nullptr);
        g_signal_connect(sink, "handoff", video ? G_CALLBACK(on_video) : G_CALLBACK(on_audio),
                         self);
        GstObject* bin = gst_element_get_parent(decodebin);
        gst_bin_add(GST_BIN(bin), sink);
        gst_object_unref(bin);
        gst_element_sync_state_with_parent(sink);
        GstPad* sinkpad = gst_element_get_static_pad(sink, "sink");
        gst_pad_link(pad, sinkpad);
        gst_object_unref(sinkpad);
    }

    static void on_pad_added(GstElement*, GstPad* pad, gpointer data)
    {
        if (GST_PAD_DIRECTION(pad) != GST_PAD_SRC)
            return;
        auto* self = static_cast<Player*>(data);
        self->streams_++;
        GstElement* decodebin = gst_element_factory_make("decodebin", nullptr);
        g_signal_connect(decodebin, "pad-added", G_CALLBACK(on_decoded_pad), self);
        gst_bin_add(GST_BIN(self->pipeline_), decodebin);
        gst_element_sync_state_with_parent(decodebin);
        GstPad* sinkpad = gst_element_get_static_pad(decodebin, "sink");
        gst_pad_link(pad, sinkpad);
        gst_object_unref(sinkpad);
    }

    GstElement* pipeline_ = nullptr;
    GstElement* webrtc_ = nullptr;
    std::atomic<int> video_frames_{0};
    std::atomic<int> audio_buffers_{0};
    std::atomic<int> streams_{0};
    std::atomic<int> width_{0};
    std::atomic<int> height_{0};
};

Response post_sdp(TestServer& server, const std::string& path, const std::string& sdp,
                  const std::string& bearer, const char* content_type = "application/sdp")
{
    RequestOptions options;
    options.content_type = content_type;
    return server.request("POST", path, sdp, bearer, options);
}

// What the engine has of a room's composite.
struct CompositeState {
    bool room = false;         // the media room exists
    bool running = false;      // Composite::running()
    size_t viewers = 0;        // its WHEP players
    size_t tracks = 0;         // its WebRTC tracks (0 without players)
    size_t mixers = 0;         // zumzimixer elements in the room's pipeline
    size_t published = 0;      // the room's published tracks
    bool hls = false;          // the HLS output runs in the engine
    size_t whip_sessions = 0;  // WHIP + WHEP sessions of the server
};

CompositeState composite(TestServer& server, const std::string& room_id)
{
    CompositeState c;
    server.run_on_server([&](zumzi::Store&, zumzi::Server& s) {
        c.whip_sessions = s.whip().session_count();
        auto room = s.media().find(room_id);
        if (!room)
            return;
        c.room = true;
        c.running = room->composite().running();
        c.viewers = room->composite().viewer_count();
        c.tracks = room->composite().tracks().size();
        c.published = room->tracks().size();
        c.hls = room->output_running(zumzi::media::OutputKind::Hls);
        c.mixers = count_made_by(GST_ELEMENT(room->pipeline()), "zumzimixer");
    });
    return c;
}

bool nothing_left(TestServer& server)
{
    size_t media = 1, live = 1, sessions = 1;
    server.run_on_server([&](zumzi::Store&, zumzi::Server& s) {
        media = s.media().size();
        live = s.live_rooms().room_count();
        sessions = s.whip().session_count();
    });
    return media == 0 && live == 0 && sessions == 0;
}

// A small zumzi-bot over WHIP or WHEP at `path` of `server`, `pin` as bearer.
BotOptions options(TestServer& server, zumzi::bot::BotMode mode, const std::string& path,
                   const std::string& pin, const std::string& name)
{
    BotOptions o;
    o.mode = mode;
    o.url = server.url() + path;
    o.token = pin;
    o.name = name;
    o.width = 320;
    o.height = 240;
    o.fps = 15;
    o.video_kbps = 300;
    return o;
}

}  // namespace

TEST_GROUP(WhepLive)
{
    std::unique_ptr<TestServer> server;
    TestUser ann;
    RoomInfo room;
    std::unique_ptr<Bot> pub1, pub2;

    void setup() override
    {
        if (!gst_is_initialized())
            gst_init(nullptr, nullptr);
        server = std::make_unique<TestServer>();
        ann = server->login("ann@example.com");
        room = server->create_room(ann, kRoomBody);
    }
    void teardown() override
    {
        pub1.reset();
        pub2.reset();
        server.reset();
    }

    // Two WHIP publishers (video + audio each) in the room.
    void start_call()
    {
        pub1 = std::make_unique<Bot>(options(*server, zumzi::bot::BotMode::Whip, "/whip/" + room.id,
                                             room.participant_pin, "one"));
        pub2 = std::make_unique<Bot>(options(*server, zumzi::bot::BotMode::Whip, "/whip/" + room.id,
                                             room.participant_pin, "two"));
        pub1->start();
        pub2->start();
        CHECK_TRUE(wait_for([&] { return composite(*server, room.id).published == 4; }));
    }

    std::string live_path() const
    {
        return "/whep/" + room.id + "/live";
    }
    std::string api(const std::string& rest) const
    {
        return "/api/v1/rooms/" + room.id + rest;
    }

    // The player gets the composite; checks the answer.
    Response pull(Player & player)
    {
        const std::string offer = player.offer();
        CHECK_FALSE(offer.empty());
        Response w = post_sdp(*server, live_path(), offer, room.viewer_pin);
        CHECK_STATUS(w, 201);
        STRCMP_CONTAINS("application/sdp", w.header("content-type").c_str());
        STRCMP_CONTAINS(("/whep/" + room.id + "/").c_str(), w.header("location").c_str());
        CHECK_EQUAL(std::string("*"), w.header("access-control-allow-origin"));
        STRCMP_CONTAINS("Location", w.header("access-control-expose-headers").c_str());
        CHECK_TEXT(w.body.find("a=candidate") != std::string::npos, w.body.c_str());
        // One video and one audio m-line, both sending the composite.
        CHECK_TEXT(w.body.find("a=sendonly") != std::string::npos, w.body.c_str());
        CHECK_TEXT(w.body.find("a=inactive") == std::string::npos, w.body.c_str());
        CHECK_TEXT(w.body.find("VP8/90000") != std::string::npos, w.body.c_str());
        CHECK_TEXT(w.body.find("composite-video") != std::string::npos, w.body.c_str());
        CHECK_TRUE(player.apply_answer(w.body));
        return w;
    }

    // The player decodes the composite: frames at its size, and sound.
    void plays(Player & player, int more = 20)
    {
        const int frames = player.video_frames();
        const int audio = player.audio_buffers();
        CHECK_TEXT(wait_for(
                       [&] {
                           return player.video_frames() >= frames + more &&
                                  player.audio_buffers() >= audio + more;
                       },
                       45000),
                   player.describe().c_str());
        CHECK_EQUAL(kCompositeWidth, player.width());
        CHECK_EQUAL(kCompositeHeight, player.height());
        CHECK_EQUAL(2, player.streams());
    }
};

TEST(WhepLive, APlayerGetsTheMixAndKeepsItWhileHlsComesAndGoes)
{
    start_call();
    CompositeState before = composite(*server, room.id);
    CHECK_FALSE(before.running);
    CHECK_EQUAL(0u, before.mixers);
    const size_t call_only = room_elements(*server, room.id);

    // The player builds the composite and plays it at the preset's size.
    auto player = std::make_unique<Player>();
    Response w = pull(*player);
    plays(*player);
    CompositeState now = composite(*server, room.id);
    CHECK_TRUE(now.running);
    CHECK_EQUAL(1u, now.mixers);
    CHECK_EQUAL(1u, now.viewers);
    CHECK_EQUAL(2u, now.tracks);
    // The composite's own tracks are not the room's.
    CHECK_EQUAL(4u, now.published);
    CHECK_EQUAL(3u, now.whip_sessions);

    // HLS starts and stops on the same composite: the player goes on.
    CHECK_STATUS(server->post(api("/live"), "{\"kind\":\"hls\"}", ann.token), 201);
    CHECK_TRUE(wait_for(
        [&] { return server->get(api("/live"), ann.token).str("outputs.0.state") == "live"; },
        45000));
    CHECK_EQUAL(1u, composite(*server, room.id).mixers);
    plays(*player, 15);
    Response stopped = server->del(api("/live/hls"), ann.token);
    CHECK_STATUS(stopped, 200);
    CHECK_EQUAL(std::string("stopped"), stopped.str("output.state"));
    now = composite(*server, room.id);
    CHECK_TRUE(now.running);
    CHECK_FALSE(now.hls);
    CHECK_EQUAL(1u, now.viewers);
    plays(*player, 15);

    // A zumzi-bot plays it too, from the same encode branch.
    Bot bot(options(*server, zumzi::bot::BotMode::Whep, live_path(), room.viewer_pin, "viewer"));
    bot.start();
    CHECK_TEXT(
        wait_for([&] { return bot.video_frames() >= 20 && bot.audio_buffers() >= 20; }, 45000),
        describe(bot).c_str());
    CHECK_EQUAL(2u, bot.tracks().size());
    CHECK_EQUAL(2u, composite(*server, room.id).viewers);
    CHECK_EQUAL(2u, composite(*server, room.id).tracks);
    bot.leave();
    CHECK_TRUE(wait_for([&] { return bot.state() == zumzi::bot::BotState::Left; }));
    CHECK_TRUE(bot.errors().empty());
    CHECK_TRUE(wait_for([&] { return composite(*server, room.id).viewers == 1; }, 10000));
    plays(*player, 15);

    // DELETE ends the last player: the composite goes, the call goes on.
    CHECK_STATUS(server->del(w.header("location")), 200);
    CHECK_ERROR(server->del(w.header("location")), 404, "NOTFOUND");
    CHECK_TRUE(wait_for([&] { return room_elements(*server, room.id) == call_only; }, 10000));
    now = composite(*server, room.id);
    CHECK_FALSE(now.running);
    CHECK_EQUAL(0u, now.mixers);
    CHECK_EQUAL(0u, now.viewers);
    CHECK_EQUAL(0u, now.tracks);
    CHECK_EQUAL(4u, now.published);
    CHECK_EQUAL(2u, now.whip_sessions);
    player.reset();

    // The other way round: HLS runs, a player comes and goes, HLS goes on.
    CHECK_STATUS(server->post(api("/live"), "{\"kind\":\"hls\"}", ann.token), 201);
    CHECK_TRUE(wait_for([&] { return composite(*server, room.id).running; }));
    player = std::make_unique<Player>();
    w = pull(*player);
    plays(*player);
    CHECK_EQUAL(1u, composite(*server, room.id).mixers);
    CHECK_STATUS(server->del(w.header("location")), 200);
    CHECK_TRUE(wait_for([&] { return composite(*server, room.id).tracks == 0; }, 10000));
    now = composite(*server, room.id);
    CHECK_TRUE(now.running);
    CHECK_TRUE(now.hls);
    CHECK_EQUAL(1u, now.mixers);
    CHECK_EQUAL(std::string("live"), server->get(api("/live"), ann.token).str("outputs.0.state"));
    player.reset();
    CHECK_STATUS(server->del(api("/live/hls"), ann.token), 200);
    CHECK_TRUE(wait_for([&] { return room_elements(*server, room.id) == call_only; }, 10000));
    CHECK_EQUAL(0u, composite(*server, room.id).mixers);

    pub1->leave();
    pub2->leave();
    CHECK_TRUE(wait_for([&] { return nothing_left(*server); }, 10000));
}

TEST(WhepLive, ErrorsChangeNothing)
{
    Player player;
    const std::string offer = player.offer();
    CHECK_FALSE(offer.empty());

    // Nobody in the call: there is nothing to play.
    CHECK_ERROR(post_sdp(*server, live_path(), offer, room.viewer_pin), 409, "ROOMIDLE");
    CHECK_TRUE(nothing_left(*server));

    start_call();
    const size_t elements = room_elements(*server, room.id);
    CHECK_ERROR(post_sdp(*server, live_path(), offer, ""), 401, "AUTHFAIL");
    CHECK_ERROR(post_sdp(*server, live_path(), offer, "00000000"), 403, "BADPIN");
    CHECK_ERROR(post_sdp(*server, "/whep/nosuchroom/live", offer, room.viewer_pin), 404,
                "NOTFOUND");
    CHECK_ERROR(post_sdp(*server, live_path(), offer, room.viewer_pin, "text/plain"), 415,
                "BADMEDIATYPE");
    CHECK_ERROR(post_sdp(*server, live_path(), "this is not SDP", room.viewer_pin), 400,
                "BADREQUEST");
    CHECK_ERROR(post_sdp(*server, live_path(), "", room.viewer_pin), 400, "BADREQUEST");
    // An offer that would send is not WHEP.
    std::string sendrecv = offer;
    for (size_t at = sendrecv.find("a=recvonly\r\n"); at != std::string::npos;
         at = sendrecv.find("a=recvonly\r\n", at))
        sendrecv.replace(at, 12, "a=sendrecv\r\n");
    CHECK_ERROR(post_sdp(*server, live_path(), sendrecv, room.viewer_pin), 400, "BADREQUEST");
    // An offer that lists neither VP8 nor Opus cannot play the composite:
    // refused before anything is built for it.
    std::string other_codecs = offer;
    for (const auto& [from, to] : {std::pair<std::string, std::string>{"VP8/90000", "H264/90000"},
                                   {"OPUS/48000/2", "PCMU/8000"}}) {
        const size_t at = other_codecs.find(from);
        CHECK_TRUE(at != std::string::npos);
        other_codecs.replace(at, from.size(), to);
    }
    CHECK_ERROR(post_sdp(*server, live_path(), other_codecs, room.viewer_pin), 400,
                "BADREQUEST");
    CHECK_ERROR(server->del(live_path() + "/nosuchsession"), 404, "NOTFOUND");
    CHECK_ERROR(server->del("/whep/" + room.id + "/nosuchsession"), 404, "NOTFOUND");

    // A member without the subscribe permission may not watch.
    TestUser bob = server->login("bob@example.com");
    CHECK_STATUS(server->post(api("/join"), "{\"pin\":" + json_string(room.participant_pin) + "}",
                              bob.token),
                 200);
    CHECK_STATUS(server->patch(api("/members/" + bob.id),
                               "{\"permissions\":[\"publish\",\"list\",\"chat_send\"]}", ann.token),
                 200);
    CHECK_ERROR(post_sdp(*server, live_path(), offer, bob.token), 403, "PERMISSION");

    CompositeState after = composite(*server, room.id);
    CHECK_FALSE(after.running);
    CHECK_EQUAL(0u, after.mixers);
    CHECK_EQUAL(2u, after.whip_sessions);
    CHECK_EQUAL(elements, room_elements(*server, room.id));

    pub1->leave();
    pub2->leave();
    CHECK_TRUE(wait_for([&] { return nothing_left(*server); }, 10000));
}
