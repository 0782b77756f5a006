// WHIP ingest end to end: a real zumzi::Server on 127.0.0.1, a GStreamer
// WHIP publisher written here (webrtcbin, non-trickle: the offer is POSTed
// once ICE gathering is complete) and a zumzi-bot watching over the
// WebSocket, or a WHEP player (Peer(false), also written here) that decodes
// what the room sends it. Counts are asserted, never timings.
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

const char* const kRoomBody = "{\"name\":\"Broadcast\",\"preset\":\"qvga\"}";

// Iterates the test thread's default context (zumzi-bot lives there).
bool wait_for(const std::function<bool()>& cond, int timeout_ms = 30000)
{
    return zumzi::bot::wait_until(nullptr, cond, timeout_ms);
}

std::string sdp_of(GstWebRTCSessionDescription* desc)
{
    gchar* text = gst_sdp_message_as_text(desc->sdp);
    std::string out = text ? text : "";
    g_free(text);
    return out;
}

void on_handoff(GstElement*, GstBuffer*, GstPad*, gpointer data)
{
    (*static_cast<std::atomic<int>*>(data))++;
}

// A WebRTC peer that talks WHIP/WHEP: offers, waits for ICE gathering, then
// takes an answer. ICE on 127.0.0.1 only, no UPnP.
class Peer {
public:
    // publisher: VP8 (pt 100) + Opus (pt 101) test sources; otherwise a
    // player with recvonly VP8 (pt 96) and Opus (pt 111) transceivers,
    // decoding what arrives.
    explicit Peer(bool publisher) : publisher_(publisher)
    {
        if (publisher) {
            GError* error = nullptr;
            pipeline_ = gst_parse_launch(
                "webrtcbin name=w bundle-policy=max-bundle "
                "videotestsrc is-live=true pattern=ball ! "
                "video/x-raw,width=320,height=240,framerate=15/1 ! "
                "vp8enc deadline=1 keyframe-max-dist=60 target-bitrate=256000 ! "
                "rtpvp8pay pt=100 ! "
                "application/x-rtp,media=video,encoding-name=VP8,payload=100,clock-rate=90000,"
                "rtcp-fb-nack-pli=(boolean)true ! queue ! w. "
                "audiotestsrc is-live=true wave=sine volume=0.1 ! "
                "audio/x-raw,rate=48000,channels=1 ! opusenc ! rtpopuspay pt=101 ! "
                "application/x-rtp,media=audio,encoding-name=OPUS,payload=101,clock-rate=48000 ! "
                "queue ! w.",
                &error);
            if (!pipeline_) {
                FAIL_TEST(error ? error->message : "gst_parse_launch");
            }
            webrtc_ = gst_bin_get_by_name(GST_BIN(pipeline_), "w");
            GstIterator* it = gst_element_iterate_sink_pads(webrtc_);
            GValue item = G_VALUE_INIT;
            while (gst_iterator_next(it, &item) == GST_ITERATOR_OK) {
                GstPad* pad = GST_PAD(g_value_get_object(&item));
                GstWebRTCRTPTransceiver* t = nullptr;
                g_object_get(pad, "transceiver", &t, nullptr);
                if (t) {
                    g_object_set(t, "direction", GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_SENDONLY,
                                 nullptr);
                    gst_object_unref(t);
                }
                sinkpads_++;
                g_value_reset(&item);
            }
            g_value_unset(&item);
            gst_iterator_free(it);
        } else {
            pipeline_ = gst_pipeline_new(nullptr);
            webrtc_ = gst_element_factory_make("webrtcbin", nullptr);
            gst_object_ref(webrtc_);
            g_object_set(webrtc_, "bundle-policy", GST_WEBRTC_BUNDLE_POLICY_MAX_BUNDLE, nullptr);
            gst_bin_add(GST_BIN(pipeline_), webrtc_);
            for (const char* caps_text :
                 {"application/x-rtp,media=video,encoding-name=VP8,payload=96,clock-rate=90000",
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
        }
        zumzi::media::MediaConfig config;
        config.host_addresses = {"127.0.0.1"};
        zumzi::media::configure_webrtcbin(webrtc_, config);
        gst_element_set_state(pipeline_, GST_STATE_PLAYING);
    }

    ~Peer()
    {
        gst_element_set_state(pipeline_, GST_STATE_NULL);
        gst_object_unref(webrtc_);
        gst_object_unref(pipeline_);
    }

    // The offer with its candidates (gathering complete), or "" on failure.
    std::string offer()
    {
        if (publisher_) {
            // The offer's a=ssrc lines come from the sink pads' caps.
            wait_for([this] { return sinkpads_with_caps() == sinkpads_; }, 10000);
        }
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
        std::string text = sdp_of(local);
        gst_webrtc_session_description_free(local);
        return text;
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

    // The player's webrtcbin (pipeline inspection in tests).
    GstElement* webrtc() const { return webrtc_; }
    int video_frames() const { return video_frames_.load(); }
    int audio_buffers() const { return audio_buffers_.load(); }
    int streams() const { return streams_.load(); }

private:
    int sinkpads_with_caps() const
    {
        int n = 0;
        GstIterator* it = gst_element_iterate_sink_pads(webrtc_);
        GValue item = G_VALUE_INIT;
        while (gst_iterator_next(it, &item) == GST_ITERATOR_OK) {
            GstCaps* caps = gst_pad_get_current_caps(GST_PAD(g_value_get_object(&item)));
            if (caps && gst_structure_has_field(gst_caps_get_structure(caps, 0), "ssrc"))
                n++;
            if (caps)
                gst_caps_unref(caps);
            g_value_reset(&item);
        }
        g_value_unset(&item);
        gst_iterator_free(it);
        return n;
    }

    static void on_decoded_pad(GstElement* decodebin, GstPad* pad, gpointer data)
    {
        auto* self = static_cast<Peer*>(data);
        GstCaps* caps = gst_pad_get_current_caps(pad);
        if (!caps)
            caps = gst_pad_query_caps(pad, nullptr);
        const bool video =
            g_str_has_prefix(gst_structure_get_name(gst_caps_get_structure(caps, 0)), "video/");
        gst_caps_unref(caps);
        GstElement* sink = gst_element_factory_make("fakesink", nullptr);
        g_object_set(sink, "signal-handoffs", TRUE, "sync", FALSE, "async", FALSE, nullptr);
        g_signal_connect(sink, "handoff", G_CALLBACK(on_handoff),
                         video ? &self->video_frames_ : &self->audio_buffers_);
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
        auto* self = static_cast<Peer*>(data);
        self->streams_++;
        GstElement* decodebin = gst_element_factory_make("decodebin", nullptr);
        g_signal_connect(decodebin, "pad-added", G_CALLBACK(on_decoded_pad), self);
        gst_bin_add(GST_BIN(self->pipeline_), decodebin);
        gst_element_sync_state_with_parent(decodebin);
        GstPad* sinkpad = gst_element_get_static_pad(decodebin, "sink");
        gst_pad_link(pad, sinkpad);
        gst_object_unref(sinkpad);
    }

    bool publisher_;
    int sinkpads_ = 0;
    GstElement* pipeline_ = nullptr;
    GstElement* webrtc_ = nullptr;
    std::atomic<int> video_frames_{0};
    std::atomic<int> audio_buffers_{0};
    std::atomic<int> streams_{0};
};

Response post_sdp(TestServer& server, const std::string& path, const std::string& sdp,
                  const std::string& bearer, const char* content_type = "application/sdp")
{
    RequestOptions options;
    options.content_type = content_type;
    return server.request("POST", path, sdp, bearer, options);
}

struct Counts {
    size_t media_rooms = 0;
    size_t live_rooms = 0;
    size_t whip_sessions = 0;
};

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

// The tracks the room's WHEP participant shows, in m-line order ("" for a
// silent m-line), and the publishers of the room's tracks, oldest first.
struct Viewing {
    std::vector<std::string> shown;
    std::vector<std::string> publishers;
};

Viewing viewing(TestServer& server, const std::string& room_id)
{
    Viewing v;
    server.run_on_server([&](zumzi::Store&, zumzi::Server& s) {
        auto room = s.media().find(room_id);
        if (!room)
            return;
        for (const auto& t : room->tracks())
            if (v.publishers.empty() || v.publishers.back() != t.participant_id)
                v.publishers.push_back(t.participant_id);
        for (const auto& p : s.live_rooms().participants(room_id))
            if (p.name == "WHEP")
                if (auto media = room->participant(p.id))
                    v.shown = media->viewed_tracks();
    });
    return v;
}

bool all_from(const std::vector<std::string>& track_ids, const std::string& participant_id)
{
    for (const auto& id : track_ids)
        if (id.rfind(participant_id + "-", 0) != 0)
            return false;
    return !track_ids.empty();
}

// Replaces every "a=<from>" direction line of an SDP with "a=<to>".
std::string with_direction(std::string sdp, const std::string& from, const std::string& to)
{
    const std::string needle = "a=" + from + "\r\n";
    for (size_t at = sdp.find(needle); at != std::string::npos; at = sdp.find(needle, at))
        sdp.replace(at, needle.size(), "a=" + to + "\r\n");
    return sdp;
}

Counts counts(TestServer& server)
{
    Counts c;
    server.run_on_server([&](zumzi::Store&, zumzi::Server& s) {
        c.media_rooms = s.media().size();
        c.live_rooms = s.live_rooms().room_count();
        c.whip_sessions = s.whip().session_count();
    });
    return c;
}

bool nothing_left(TestServer& server)
{
    Counts c = counts(server);
    return c.media_rooms == 0 && c.live_rooms == 0 && c.whip_sessions == 0;
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

TEST_GROUP(Whip)
{
    std::unique_ptr<TestServer> server;
    void setup() override
    {
        if (!gst_is_initialized())
            gst_init(nullptr, nullptr);
        server = std::make_unique<TestServer>();
    }
    void teardown() override
    {
        server.reset();
    }
};

TEST(Whip, PublishAndWatchOverWebSocket)
{
    TestUser ann = server->login("ann@example.com");
    RoomInfo room = server->create_room(ann, kRoomBody);

    // WHIP: the participant PIN publishes.
    Peer publisher(true);
    const std::string offer = publisher.offer();
    CHECK_TEXT(offer.find("a=candidate") != std::string::npos, offer.c_str());
    Response r = post_sdp(*server, "/whip/" + room.id, offer, room.participant_pin);
    CHECK_STATUS(r, 201);
    STRCMP_CONTAINS("application/sdp", r.header("content-type").c_str());
    const std::string whip_location = r.header("location");
    STRCMP_CONTAINS(("/whip/" + room.id + "/").c_str(), whip_location.c_str());
    CHECK_EQUAL(std::string("*"), r.header("access-control-allow-origin"));
    STRCMP_CONTAINS("Location", r.header("access-control-expose-headers").c_str());
    // Non-trickle: the answer carries the server's candidates.
    CHECK_TEXT(r.body.find("a=candidate") != std::string::npos, r.body.c_str());
    CHECK_TRUE(publisher.apply_answer(r.body));

    // A WebSocket participant sees the WHIP participant and decodes it.
    BotOptions o;
    o.server_url = server->url();
    o.token = ann.token;
    o.room = room.id;
    o.name = "ann";
    o.width = 320;
    o.height = 240;
    o.fps = 15;
    o.publish_video = false;
    o.publish_audio = false;
    auto bot = std::make_unique<Bot>(o);
    bot->start();
    std::string whip_id;
    auto bot_decodes = [&] {
        for (const auto& [id, p] : bot->participants())
            if (p.name == "WHIP" && p.present)
                whip_id = id;
        return !whip_id.empty() && bot->video_frames_from(whip_id) >= 10 &&
               bot->audio_buffers_from(whip_id) >= 10;
    };
    CHECK_TEXT(wait_for(bot_decodes, 45000), ("WHIP participant '" + whip_id + "' frames " +
                                              std::to_string(bot->video_frames_from(whip_id)))
                                                 .c_str());

    const uint64_t before = bot->video_frames_from(whip_id);
    CHECK_TRUE(wait_for([&] { return bot->video_frames_from(whip_id) >= before + 10; }));

    Counts c = counts(*server);
    CHECK_EQUAL(1u, c.media_rooms);
    CHECK_EQUAL(1u, c.whip_sessions);

    // DELETE ends the session; a second DELETE finds nothing.
    CHECK_STATUS(server->del(whip_location), 200);
    CHECK_ERROR(server->del(whip_location), 404, "NOTFOUND");
    CHECK_TRUE(wait_for([&] {
        auto it = bot->participants().find(whip_id);
        return it != bot->participants().end() && !it->second.present;
    }));
    bot->leave();
    CHECK_TRUE(wait_for([&] { return nothing_left(*server); }, 10000));
    Counts after = counts(*server);
    CHECK_EQUAL(0u, after.media_rooms);
    CHECK_EQUAL(0u, after.whip_sessions);
}

TEST(Whip, BadRequestsGetTheirErrorAndLeaveNothing)
{
    TestUser ann = server->login("ann@example.com");
    RoomInfo room = server->create_room(ann, kRoomBody);
    Peer publisher(true);
    const std::string offer = publisher.offer();
    CHECK_FALSE(offer.empty());
    const std::string path = "/whip/" + room.id;

    CHECK_ERROR(post_sdp(*server, path, offer, ""), 401, "AUTHFAIL");
    CHECK_ERROR(post_sdp(*server, path, offer, "00000000"), 403, "BADPIN");
    CHECK_ERROR(post_sdp(*server, path, offer, room.viewer_pin), 403, "PERMISSION");
    CHECK_ERROR(post_sdp(*server, "/whip/nosuchroom", offer, room.participant_pin), 404,
                "NOTFOUND");
    CHECK_ERROR(post_sdp(*server, path, offer, room.participant_pin, "application/json"), 415,
                "BADMEDIATYPE");
    CHECK_ERROR(post_sdp(*server, path, "this is not SDP", room.participant_pin), 400,
                "BADREQUEST");
    CHECK_ERROR(post_sdp(*server, path, "", room.participant_pin), 400, "BADREQUEST");
    CHECK_ERROR(server->del(path + "/nosuchsession"), 404, "NOTFOUND");
    // Trickle is not supported: PATCH on a session URL is 405.
    RequestOptions patch;
    patch.content_type = "application/trickle-ice-sdpfrag";
    CHECK_ERROR(
        server->request("PATCH", path + "/nosuchsession", "a=end-of-candidates\r\n", "", patch),
        405, "BADMETHOD");
    CHECK_TRUE(wait_for([&] { return nothing_left(*server); }, 10000));
    CHECK_TRUE(nothing_left(*server));

    // Preflight.
    RequestOptions options;
    options.send_body = false;
    options.headers = {{"Origin", "https://player.example"},
                       {"Access-Control-Request-Method", "POST"}};
    Response pre = server->request("OPTIONS", path, "", "", options);
    CHECK_STATUS(pre, 204);
    CHECK_EQUAL(std::string("*"), pre.header("access-control-allow-origin"));
    STRCMP_CONTAINS("Authorization", pre.header("access-control-allow-headers").c_str());
}

TEST(Whip, AMembersTokenPublishesAndAViewerTokenCannot)
{
    TestUser ann = server->login("ann@example.com");
    TestUser vic = server->login("vic@example.com");
    RoomInfo room = server->create_room(ann, kRoomBody);
    // Vic becomes a viewer member.
    CHECK_STATUS(server->post("/api/v1/rooms/" + room.id + "/join",
                              "{\"pin\":" + json_string(room.viewer_pin) + "}", vic.token),
                 200);
    Peer publisher(true);
    const std::string offer = publisher.offer();
    CHECK_ERROR(post_sdp(*server, "/whip/" + room.id, offer, vic.token), 403, "PERMISSION");
    Response r = post_sdp(*server, "/whip/" + room.id, offer, ann.token);
    CHECK_STATUS(r, 201);
    CHECK_TRUE(publisher.apply_answer(r.body));
    CHECK_STATUS(server->del(r.header("location")), 200);
    CHECK_TRUE(wait_for([&] { return nothing_left(*server); }, 10000));
}

TEST(Whip, WhipPublisherToWhepPlayer)
{
    TestUser ann = server->login("ann@example.com");
    RoomInfo room = server->create_room(ann, kRoomBody);

    Peer publisher(true);
    Response r = post_sdp(*server, "/whip/" + room.id, publisher.offer(), room.participant_pin);
    CHECK_STATUS(r, 201);
    const std::string whip_location = r.header("location");
    CHECK_TRUE(publisher.apply_answer(r.body));
    CHECK_TRUE(wait_for([&] { return room_tracks(*server, room.id) == 2; }));
    const size_t publisher_only = room_elements(*server, room.id);

    // WHEP with the viewer PIN: the player decodes the room's video and audio.
    auto player = std::make_unique<Peer>(false);
    const std::string offer = player->offer();
    CHECK_TEXT(offer.find("a=recvonly") != std::string::npos, offer.c_str());
    Response w = post_sdp(*server, "/whep/" + room.id, offer, room.viewer_pin);
    CHECK_STATUS(w, 201);
    STRCMP_CONTAINS("application/sdp", w.header("content-type").c_str());
    const std::string whep_location = w.header("location");
    STRCMP_CONTAINS(("/whep/" + room.id + "/").c_str(), whep_location.c_str());
    CHECK_EQUAL(std::string("*"), w.header("access-control-allow-origin"));
    STRCMP_CONTAINS("Location", w.header("access-control-expose-headers").c_str());
    CHECK_TEXT(w.body.find("a=candidate") != std::string::npos, w.body.c_str());
    // Both m-lines send, with the payload types the player offered.
    CHECK_TEXT(w.body.find("a=sendonly") != std::string::npos, w.body.c_str());
    CHECK_TEXT(w.body.find("a=inactive") == std::string::npos, w.body.c_str());
    CHECK_TEXT(w.body.find("VP8/90000") != std::string::npos, w.body.c_str());
    CHECK_TEXT(w.body.find("m=video 9 UDP/TLS/RTP/SAVPF 96") != std::string::npos ||
                   w.body.find("RTP/SAVPF 96\r\n") != std::string::npos,
               w.body.c_str());
    CHECK_TRUE(player->apply_answer(w.body));
    CHECK_TEXT(
        wait_for([&] { return player->video_frames() >= 20 && player->audio_buffers() >= 20; },
                 45000),
        ("video " + std::to_string(player->video_frames()) + " audio " +
         std::to_string(player->audio_buffers()))
            .c_str());
    CHECK_EQUAL(2, player->streams());
    CHECK_EQUAL(2u, counts(*server).whip_sessions);
    // The publisher keeps running for a player that joined: frames go on.
    const int frames = player->video_frames();
    CHECK_TRUE(wait_for([&] { return player->video_frames() >= frames + 15; }));

    // DELETE ends the WHEP session and frees its elements; WHIP goes on.
    CHECK_STATUS(server->del(whep_location), 200);
    CHECK_ERROR(server->del(whep_location), 404, "NOTFOUND");
    CHECK_TRUE(wait_for([&] { return counts(*server).whip_sessions == 1; }, 10000));
    CHECK_TRUE(wait_for([&] { return room_elements(*server, room.id) == publisher_only; }, 10000));
    CHECK_EQUAL(publisher_only, room_elements(*server, room.id));
    player.reset();

    CHECK_STATUS(server->del(whip_location), 200);
    CHECK_TRUE(wait_for([&] { return nothing_left(*server); }, 10000));
}

TEST(Whip, WhepErrorsChangeNothing)
{
    TestUser ann = server->login("ann@example.com");
    RoomInfo room = server->create_room(ann, kRoomBody);
    const std::string path = "/whep/" + room.id;
    Peer player(false);
    const std::string offer = player.offer();
    CHECK_FALSE(offer.empty());

    // Nothing published yet: nothing to play.
    CHECK_ERROR(post_sdp(*server, path, offer, room.viewer_pin), 404, "NOTFOUND");
    CHECK_TRUE(wait_for([&] { return nothing_left(*server); }, 10000));

    Peer publisher(true);
    Response r = post_sdp(*server, "/whip/" + room.id, publisher.offer(), room.participant_pin);
    CHECK_STATUS(r, 201);
    CHECK_TRUE(publisher.apply_answer(r.body));
    CHECK_TRUE(wait_for([&] { return room_tracks(*server, room.id) == 2; }));
    const Counts before = counts(*server);
    CHECK_EQUAL(1u, before.whip_sessions);
    const size_t elements = room_elements(*server, room.id);

    CHECK_ERROR(post_sdp(*server, path, offer, ""), 401, "AUTHFAIL");
    CHECK_ERROR(post_sdp(*server, path, offer, "00000000"), 403, "BADPIN");
    CHECK_ERROR(post_sdp(*server, "/whep/nosuchroom", offer, room.viewer_pin), 404, "NOTFOUND");
    CHECK_ERROR(post_sdp(*server, path, offer, room.viewer_pin, "text/plain"), 415, "BADMEDIATYPE");
    CHECK_ERROR(post_sdp(*server, path, "this is not SDP", room.viewer_pin), 400, "BADREQUEST");
    CHECK_ERROR(post_sdp(*server, path, "", room.viewer_pin), 400, "BADREQUEST");
    // An offer that would send (sendrecv) or publish (sendonly) is not WHEP.
    CHECK_ERROR(
        post_sdp(*server, path, with_direction(offer, "recvonly", "sendrecv"), room.viewer_pin),
        400, "BADREQUEST");
    CHECK_ERROR(post_sdp(*server, path, publisher.offer(), room.viewer_pin), 400, "BADREQUEST");
    // Only one participant's tracks, and that one publishes nothing.
    CHECK_ERROR(post_sdp(*server, path + "?participant=p_nosuchone", offer, room.viewer_pin), 404,
                "NOTFOUND");
    // Unknown sessions, wrong kinds of session.
    CHECK_ERROR(server->del(path + "/nosuchsession"), 404, "NOTFOUND");
    const std::string whip_session = r.header("location").substr(r.header("location").rfind('/'));
    CHECK_ERROR(server->del(path + whip_session), 404, "NOTFOUND");

    Counts after = counts(*server);
    CHECK_EQUAL(before.whip_sessions, after.whip_sessions);
    CHECK_EQUAL(before.live_rooms, after.live_rooms);
    CHECK_EQUAL(elements, room_elements(*server, room.id));

    // A member without the subscribe permission may not watch.
    TestUser bob = server->login("bob@example.com");
    CHECK_STATUS(server->post("/api/v1/rooms/" + room.id + "/join",
                              "{\"pin\":" + json_string(room.participant_pin) + "}", bob.token),
                 200);
    CHECK_STATUS(server->patch("/api/v1/rooms/" + room.id + "/members/" + bob.id,
                               "{\"permissions\":[\"publish\",\"list\",\"chat_send\"]}", ann.token),
                 200);
    CHECK_ERROR(post_sdp(*server, path, offer, bob.token), 403, "PERMISSION");
    CHECK_EQUAL(elements, room_elements(*server, room.id));
    CHECK_EQUAL(1u, counts(*server).whip_sessions);

    // Preflight for browser players.
    RequestOptions options;
    options.send_body = false;
    options.headers = {{"Origin", "https://player.example"},
                       {"Access-Control-Request-Method", "POST"}};
    Response pre = server->request("OPTIONS", path, "", "", options);
    CHECK_STATUS(pre, 204);
    CHECK_EQUAL(std::string("*"), pre.header("access-control-allow-origin"));

    CHECK_STATUS(server->del(r.header("location")), 200);
    CHECK_TRUE(wait_for([&] { return nothing_left(*server); }, 10000));
}

TEST(Whip, WhepViewerMovesToTheNextTrackWhenItsTrackGoesAway)
{
    TestUser ann = server->login("ann@example.com");
    RoomInfo room = server->create_room(ann, kRoomBody);
    Peer first(true);
    Response r1 = post_sdp(*server, "/whip/" + room.id, first.offer(), room.participant_pin);
    CHECK_STATUS(r1, 201);
    CHECK_TRUE(first.apply_answer(r1.body));
    CHECK_TRUE(wait_for([&] { return room_tracks(*server, room.id) == 2; }));
    Peer second(true);
    Response r2 = post_sdp(*server, "/whip/" + room.id, second.offer(), room.participant_pin);
    CHECK_STATUS(r2, 201);
    CHECK_TRUE(second.apply_answer(r2.body));
    CHECK_TRUE(wait_for([&] { return room_tracks(*server, room.id) == 4; }));

    Peer player(false);
    Response w = post_sdp(*server, "/whep/" + room.id, player.offer(), room.viewer_pin);
    CHECK_STATUS(w, 201);
    CHECK_TRUE(player.apply_answer(w.body));
    // The most recently published tracks: the second broadcaster's.
    Viewing v = viewing(*server, room.id);
    CHECK_EQUAL(2u, v.publishers.size());
    CHECK_EQUAL(2u, v.shown.size());
    CHECK_TEXT(all_from(v.shown, v.publishers[1]), v.shown[0].c_str());
    CHECK_TRUE(wait_for([&] { return player.video_frames() >= 20 && player.audio_buffers() >= 20; },
                        45000));

    // The second broadcaster leaves: the same m-lines (same SSRCs, no new
    // stream at the player) now carry the first broadcaster's tracks.
    CHECK_STATUS(server->del(r2.header("location")), 200);
    CHECK_TRUE(wait_for([&] { return all_from(viewing(*server, room.id).shown, v.publishers[0]); },
                        10000));
    const int video = player.video_frames();
    const int audio = player.audio_buffers();
    CHECK_TEXT(wait_for([&] {
                   return player.video_frames() >= video + 30 &&
                          player.audio_buffers() >= audio + 50;
               }),
               ("video " + std::to_string(player.video_frames() - video) + " audio " +
                std::to_string(player.audio_buffers() - audio))
                   .c_str());
    CHECK_EQUAL(2, player.streams());

    // The last broadcaster leaves: the m-lines stay, silent; the session lives.
    CHECK_STATUS(server->del(r1.header("location")), 200);
    CHECK_TRUE(wait_for([&] {
        Viewing now = viewing(*server, room.id);
        return now.shown.size() == 2 && now.shown[0].empty() && now.shown[1].empty();
    }));
    CHECK_EQUAL(1u, counts(*server).whip_sessions);

    // A new broadcaster: the silent m-lines show it.
    Peer third(true);
    Response r3 = post_sdp(*server, "/whip/" + room.id, third.offer(), room.participant_pin);
    CHECK_STATUS(r3, 201);
    CHECK_TRUE(third.apply_answer(r3.body));
    CHECK_TRUE(wait_for([&] {
        Viewing now = viewing(*server, room.id);
        return now.publishers.size() == 1 && now.shown.size() == 2 &&
               all_from(now.shown, now.publishers[0]);
    }));
    const int before = player.video_frames();
    CHECK_TRUE(wait_for([&] { return player.video_frames() >= before + 30; }, 45000));
    CHECK_EQUAL(2, player.streams());

    CHECK_STATUS(server->del(r3.header("location")), 200);
    CHECK_STATUS(server->del(w.header("location")), 200);
    CHECK_TRUE(wait_for([&] { return nothing_left(*server); }, 10000));
}

TEST(Whip, ZumziBotPublishesOverWhipAndPlaysOverWhep)
{
    TestUser ann = server->login("ann@example.com");
    RoomInfo room = server->create_room(ann, kRoomBody);
    Bot publisher(options(*server, zumzi::bot::BotMode::Whip, "/whip/" + room.id,
                          room.participant_pin, "whip"));
    publisher.start();
    CHECK_TRUE(wait_for([&] { return publisher.joined() && room_tracks(*server, room.id) == 2; }));
    STRCMP_CONTAINS(("/whip/" + room.id + "/").c_str(), publisher.resource_url().c_str());

    Bot viewer1(
        options(*server, zumzi::bot::BotMode::Whep, "/whep/" + room.id, room.viewer_pin, "v1"));
    Bot viewer2(
        options(*server, zumzi::bot::BotMode::Whep, "/whep/" + room.id, room.viewer_pin, "v2"));
    Bot refused(options(*server, zumzi::bot::BotMode::Whep, "/whep/" + room.id, "00000000", "bad"));
    viewer1.start();
    viewer2.start();
    refused.start();
    CHECK_TRUE(wait_for(
        [&] {
            return viewer1.video_frames() >= 20 && viewer1.audio_buffers() >= 20 &&
                   viewer2.video_frames() >= 20 && viewer2.audio_buffers() >= 20 &&
                   refused.state() == zumzi::bot::BotState::Failed;
        },
        45000));
    // Reported per track, with the publisher resolved from the track id.
    auto tracks = viewer1.tracks();
    CHECK_EQUAL(2u, tracks.size());
    for (const auto& t : tracks) {
        CHECK_TRUE(t.first_frame_ms >= 0);
        CHECK_TRUE(t.packets >= t.frames / 2);
    }
    CHECK_EQUAL(1u, refused.errors().size());
    STRCMP_CONTAINS("HTTP 403", refused.errors()[0].c_str());
    STRCMP_CONTAINS("BADPIN", refused.errors()[0].c_str());
    CHECK_EQUAL(3u, counts(*server).whip_sessions);

    // leave() is DELETE on the session URL.
    viewer1.leave();
    viewer2.leave();
    CHECK_TRUE(wait_for([&] {
        return viewer1.state() == zumzi::bot::BotState::Left &&
               viewer2.state() == zumzi::bot::BotState::Left;
    }));
    CHECK_EQUAL(1u, counts(*server).whip_sessions);
    publisher.leave();
    CHECK_TRUE(wait_for([&] { return nothing_left(*server); }, 10000));
    CHECK_TRUE(publisher.errors().empty());
    CHECK_TRUE(viewer1.errors().empty());
}

TEST(Whip, FrozenBroadcasterAndPlayerAreEndedByMediaSilence)
{
    server.reset();
    // A player that only receives sends RTCP every 2.5-7.5 s: the timeout
    // must be longer than that.
    server = std::make_unique<TestServer>([](zumzi::Config& c) { c.peer_timeout = 8; });
    TestUser ann = server->login("ann@example.com");
    RoomInfo room = server->create_room(ann, kRoomBody);
    Bot live(options(*server, zumzi::bot::BotMode::Whip, "/whip/" + room.id, room.participant_pin,
                     "live"));
    Bot frozen(options(*server, zumzi::bot::BotMode::Whip, "/whip/" + room.id, room.participant_pin,
                       "frozen"));
    live.start();
    CHECK_TRUE(wait_for([&] { return live.joined() && room_tracks(*server, room.id) == 2; }));
    frozen.start();
    CHECK_TRUE(wait_for([&] { return frozen.joined() && room_tracks(*server, room.id) == 4; }));
    Bot player(
        options(*server, zumzi::bot::BotMode::Whep, "/whep/" + room.id, room.viewer_pin, "player"));
    player.start();
    CHECK_TRUE(wait_for([&] { return player.video_frames() >= 20; }, 45000));
    CHECK_EQUAL(3u, counts(*server).whip_sessions);

    // The frozen broadcaster's ICE stays up; only its silence shows. Its
    // tracks go, the live broadcaster and the player stay.
    frozen.freeze();
    CHECK_TRUE(wait_for([&] { return room_tracks(*server, room.id) == 2; }, 30000));
    CHECK_EQUAL(2u, counts(*server).whip_sessions);
    const uint64_t frames = player.video_frames();
    CHECK_TRUE(wait_for([&] { return player.video_frames() > frames + 10; }, 20000));

    // A frozen player sends no RTCP any more: its session ends too.
    player.freeze();
    CHECK_TRUE(wait_for([&] { return counts(*server).whip_sessions == 1; }, 30000));
    CHECK_EQUAL(2u, room_tracks(*server, room.id));
    CHECK_TRUE(live.errors().empty());
    live.leave();
    CHECK_TRUE(wait_for([&] { return nothing_left(*server); }, 10000));
}

// Every a=candidate and a=end-of-candidates line of an SDP taken out: an
// offer from a client that will never do ICE.
std::string without_candidates(const std::string& sdp)
{
    std::string out;
    size_t start = 0;
    while (start < sdp.size()) {
        size_t end = sdp.find("\r\n", start);
        end = end == std::string::npos ? sdp.size() : end + 2;
        const std::string line = sdp.substr(start, end - start);
        if (line.rfind("a=candidate", 0) != 0 && line.rfind("a=end-of-candidates", 0) != 0)
            out += line;
        start = end;
    }
    return out;
}

TEST(Whip, AWhepPlayerThatNeverDoesIceIsEndedByTheConnectTimeout)
{
    server.reset();
    server = std::make_unique<TestServer>([](zumzi::Config& c) { c.connect_timeout = 3; });
    TestUser ann = server->login("ann@example.com");
    RoomInfo room = server->create_room(ann, kRoomBody);
    Bot live(options(*server, zumzi::bot::BotMode::Whip, "/whip/" + room.id, room.participant_pin,
                     "live"));
    live.start();
    CHECK_TRUE(wait_for([&] { return live.joined() && room_tracks(*server, room.id) == 2; }));
    const size_t publisher_only = room_elements(*server, room.id);

    // The player POSTs its offer, gets its answer, and is never heard of
    // again: no candidate, no ICE check, no packet.
    Peer player(false);
    const std::string offer = without_candidates(player.offer());
    CHECK_TRUE(offer.find("a=candidate") == std::string::npos);
    Response r = post_sdp(*server, "/whep/" + room.id, offer, room.viewer_pin);
    CHECK_STATUS(r, 201);
    CHECK_EQUAL(2u, counts(*server).whip_sessions);
    CHECK_TRUE(room_elements(*server, room.id) > publisher_only);

    // Gone after the connect timeout, with all its elements; the room and
    // its broadcaster untouched.
    CHECK_TRUE(wait_for([&] { return counts(*server).whip_sessions == 1; }, 30000));
    CHECK_TRUE(wait_for([&] { return room_elements(*server, room.id) == publisher_only; }, 10000));
    CHECK_EQUAL(2u, room_tracks(*server, room.id));
    CHECK_EQUAL(1u, counts(*server).media_rooms);
    // Its session URL is gone too.
    const std::string location = r.header("location");
    CHECK_TRUE(!location.empty());
    CHECK_ERROR(server->del(location), 404, "NOTFOUND");
    CHECK_TRUE(live.errors().empty());
    live.leave();
    CHECK_TRUE(wait_for([&] { return nothing_left(*server); }, 10000));
}
