// zumzi::bot::Bot: a headless WebRTC participant that joins a Zumzi room
// over the WebSocket protocol (docs/protocol.md), publishes test video (VP8)
// and audio (Opus) through its publish session, answers the server's
// subscribe offers and counts what it receives per track: RTP packets,
// decoded video frames and audio buffers, first-frame time and loss.
//
// Every Bot lives on the GMainContext that is thread-default when it is
// constructed; many bots can share one context (one process, one thread).
// Nothing happens unless that context is iterated: run a GMainLoop or use
// wait_until(). GStreamer streaming threads only bump atomic counters and
// post to that context.
#pragma once

#include <gst/gst.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace zumzi::bot {

// Owning pointers for GObjects and GMainContexts.
struct GObjectUnref {
    void operator()(gpointer object) const { g_object_unref(object); }
};
template <typename T>
using GObjectPtr = std::unique_ptr<T, GObjectUnref>;
struct GMainContextUnref {
    void operator()(GMainContext* ctx) const { g_main_context_unref(ctx); }
};

// How a bot reaches its room: Zumzi's WebSocket protocol, or the standard
// HTTP ingest/egress of any server: WHIP (RFC 9725, publish only) or WHEP
// (play only), one POST of an offer with every ICE candidate in it; or a
// Janus VideoRoom over Janus's plain HTTP API (janus.cpp), for comparing
// with Janus: a publisher, or a subscriber to one publisher's feed.
enum class BotMode { Room, Whip, Whep, JanusPublisher, JanusSubscriber };
const char* to_string(BotMode mode);

struct BotOptions {
    BotMode mode = BotMode::Room;
    // Whip/Whep: the endpoint to POST the offer to (any server), e.g.
    // http://127.0.0.1:8080/whip/ROOM; `token` is sent as
    // "Authorization: Bearer <token>" (a PIN or access token for Zumzi).
    // server_url, room and pin are not used then.
    // JanusPublisher/JanusSubscriber: Janus's HTTP API root, e.g.
    // http://127.0.0.1:8088/janus; `room` is the numeric VideoRoom id.
    std::string url;
    std::string server_url = "http://127.0.0.1:8080";  // http(s):// or ws(s)://
    std::string token;                                 // user access token
    std::string room;                                  // room id
    std::string pin;                                   // optional: participant or viewer PIN
    std::string feed;  // JanusSubscriber: the publisher's feed id (its participant_id())
    std::string name;                                  // for logs and reports only
    bool publish_video = true;
    bool publish_audio = true;
    // The microphone sends a tone (talking) or silence. Either way its RTP
    // packets carry the RFC 6464 audio level, which the server turns into
    // speaking events and the last-N order.
    bool talking = true;
    // The a=extmap id of that audio level (1..14; browsers use 1, another
    // id makes the server renumber every audio packet of this publisher).
    int audio_level_id = 1;
    int width = 640;
    int height = 360;
    int fps = 30;
    int video_kbps = 500;
    // Seconds between keyframes the encoder makes on its own; 0: only the
    // first one and those the server asks for (PLI), like a browser.
    int keyframe_interval_s = 0;
    bool subscribe = true;  // false: answer offers but decode nothing
    // Host candidates only on these addresses; empty: every interface.
    std::vector<std::string> ice_addresses = {"127.0.0.1"};
    bool ice_tcp = false;
    unsigned latency_ms = 100;  // receiving jitterbuffer
    bool verbose = false;       // log events and signaling to stderr
};

// A participant of the room as the roster events describe it.
struct RemoteParticipant {
    std::string participant_id;
    std::string user_id;
    std::string name;
    std::string role;
    bool present = true;
};

// A track as the track events describe it.
struct RemoteTrack {
    std::string id;  // "<participant>-<mid>", also the msid stream id of the subscribe offer
    std::string participant_id;
    std::string kind;  // "video" or "audio"
    std::string codec;
    std::string label;  // "camera", "mic", "screen", ...
    std::string msid;   // the publisher's "stream track" msid
    bool published = true;
    bool muted = false;       // from joined, track events and track_muted
    gint64 published_us = 0;  // monotonic time the bot learned of it
};

// ms from a bot's join (WHEP: its POST; Janus: its session `create`) to
// each step before its first frame, -1 where it was not reached.
struct JoinTimeline {
    gint64 sdp_ms = -1;           // the server's first subscribe offer (WHEP: answer) arrived
    gint64 connected_ms = -1;     // the bot's subscribe webrtcbin connected (ICE + DTLS)
    gint64 first_packet_ms = -1;  // first video packet out of its jitterbuffer
    gint64 first_frame_ms = -1;   // first decoded video frame
};

// One stream received on the subscribe session (one track; a slot the
// server reuses for another track starts a new report).
struct TrackReport {
    std::string track_id;        // msid stream id from the offer
    std::string participant_id;  // resolved through the track events
    std::string label;
    std::string kind;  // "video" or "audio"
    std::string mid;
    unsigned ssrc = 0;
    uint64_t packets = 0;   // RTP packets out of the jitterbuffer
    uint64_t frames = 0;    // decoded video frames, or decoded audio buffers
    double frame_rate = 0;  // frames per second between the first and the last
    // ms from the bot's join to the first RTP packet out of the
    // jitterbuffer, -1: none.
    gint64 first_packet_ms = -1;
    // ms from the bot's join to the first decoded frame/buffer, -1: none.
    gint64 first_frame_ms = -1;
    // ms from learning of the track (track_published, or joined) to it.
    gint64 first_frame_after_publish_ms = -1;
    // From get-stats inbound-rtp after refresh_stats(); -1: unknown.
    gint64 packets_lost = -1;
    gint64 packets_received = -1;
};

struct BotEvent {
    gint64 ms = 0;     // since start()
    std::string type;  // participant_joined, participant_left, track_published, ...
    std::string participant_id;
    std::string track_id;  // track events only
    std::string label;     // track events only
    bool flag = false;     // track_muted: muted; speaking: speaking
};

enum class BotState { Idle, Connecting, Joining, Joined, Leaving, Left, Failed };
const char* to_string(BotState state);

class Bot {
public:
    explicit Bot(BotOptions options);
    ~Bot();
    Bot(const Bot&) = delete;
    Bot& operator=(const Bot&) = delete;

    // Connects the WebSocket and joins the room; returns at once. Publishing
    // starts when `joined` arrives. Whip/Whep: makes the offer, POSTs it
    // once ICE gathering is complete and applies the answer (state Joined
    // when the server answered 201). Janus: creates a session, attaches the
    // VideoRoom plugin and long-polls the session for events; a publisher
    // sends `joinandconfigure` with its offer (Joined with Janus's answer),
    // a subscriber `join`s the feed and answers Janus's offer with `start`
    // (Joined when Janus says started). Every SDP goes with all its ICE
    // candidates (gathering complete), then a trickle `completed`.
    void start();
    // A second video track (msid stream id "screen") through a publish
    // renegotiation; remove_screen() unlinks it, marks its m-line inactive
    // and renegotiates again. False if not joined / nothing to remove.
    bool add_screen();
    bool remove_screen();
    // Room choices (docs/protocol.md); the reply is an `ack` or an error
    // (in errors()). Return the request id, 0 if not joined.
    int mute_track(const std::string& track_id, bool muted);
    int subscribe_track(const std::string& track_id, bool subscribe);
    int set_audio_only(bool audio_only);
    // Switches the microphone between tone and silence (see BotOptions).
    void set_talking(bool talking);
    // Pauses the pipeline: nothing leaves either session any more while the
    // ICE agent keeps answering checks, like a frozen browser tab. The
    // server's media-silence timeout is what notices.
    void freeze();
    // Acks received, by request id.
    bool acked(int request_id) const { return acks_.count(request_id) != 0; }
    // Who the speaking events say is speaking now.
    bool speaking(const std::string& participant_id) const
    {
        auto it = speaking_.find(participant_id);
        return it != speaking_.end() && it->second;
    }
    // The track ids of this bot's own published tracks (from track events).
    std::string own_track(const std::string& label) const;

    // Sends `leave`; when `left` arrives the connection closes and the
    // pipeline stops. Whip/Whep: DELETE on the session URL, then stop.
    // Janus: destroys the Janus session (its handle and PeerConnection), then stop.
    // Counters stay readable.
    void leave();
    // Whip/Whep: the session URL the server gave in Location (absolute).
    const std::string& resource_url() const { return resource_url_; }

    // Iterates this bot's context until `condition` holds or timeout_ms
    // passes; returns the condition's last value.
    bool wait_until(const std::function<bool()>& condition, int timeout_ms) const;

    // Queries inbound-rtp stats (packets lost/received) of the subscribe
    // session; blocks for a few ms.
    void refresh_stats();

    BotState state() const { return state_; }
    bool joined() const { return state_ == BotState::Joined; }
    const BotOptions& options() const { return options_; }
    // Room: our participant id; Whip/Whep: the last part of the session
    // URL; JanusPublisher: the feed id Janus gave (what subscribers join).
    const std::string& participant_id() const { return participant_id_; }
    const std::string& session_id() const { return session_id_; }
    // Decoded video frames / audio buffers from every track of `participant`.
    uint64_t video_frames_from(const std::string& participant_id) const;
    uint64_t audio_buffers_from(const std::string& participant_id) const;
    uint64_t packets_from(const std::string& participant_id) const;
    // Video frames of one track id ("<participant>-<mid>").
    uint64_t frames_of(const std::string& track_id) const;
    // Sums over every received track, whoever published it.
    uint64_t video_frames() const;
    uint64_t audio_buffers() const;
    uint64_t packets() const;
    // Number of received video tracks with at least `min` decoded frames.
    int video_tracks_with(uint64_t min) const;
    // ms from join to the first decoded video frame of any track, -1: none.
    gint64 first_frame_ms() const;
    // Where the time to the first frame goes (-1: not reached).
    JoinTimeline join_timeline() const;
    std::vector<TrackReport> tracks() const;
    // Everyone else in the room (present or gone), by participant id.
    const std::map<std::string, RemoteParticipant>& participants() const { return participants_; }
    // Tracks announced by track events (and joined), by track id.
    const std::map<std::string, RemoteTrack>& remote_tracks() const { return remote_tracks_; }
    const std::vector<BotEvent>& events() const { return events_; }
    const std::vector<std::string>& errors() const { return errors_; }
    int publish_answers() const { return publish_answers_; }
    int subscribe_offers() const { return subscribe_offers_; }
    // Last connection_state per session ("publish"/"subscribe").
    const std::map<std::string, std::string>& connection_states() const
    {
        return connection_states_;
    }

    struct Shared;  // state shared with GStreamer threads (bot.cpp)
    // Internal: a verbose log line (bot's context).
    void log(const char* format, ...) G_GNUC_PRINTF(2, 3);
    // Internal: the local connection-state of a session (WHIP/WHEP).
    void set_connection_state(const std::string& session, const std::string& state);
    // Internal: a local ICE candidate to trickle (bot's context).
    void send_local_candidate(const std::string& session, unsigned mline,
                              const std::string& candidate);

private:
    struct PublishedSource {
        std::string label;
        GstElement* source = nullptr;  // owned by the pipeline
        GObjectPtr<GstPad> sinkpad;    // webrtcbin request pad
        bool active = true;
    };

    void on_connected(GObject* session, GAsyncResult* result);
    void on_message(const std::string& text);
    void on_closed();
    void send(const std::string& text);
    void error(const std::string& message);
    void record(const std::string& type, const std::string& participant_id,
                const std::string& track_id = {}, const std::string& label = {}, bool flag = false);
    int send_request(const char* type, std::vector<std::pair<std::string, JsonNode*>> fields);

    void handle_joined(JsonObject* msg);
    void handle_subscribe_offer(const std::string& sdp);
    void handle_publish_answer(const std::string& sdp);
    void handle_ice(const std::string& session, unsigned mline, const std::string& candidate);
    void add_track(JsonObject* track, gint64 when_us);

    // The camera and microphone test sources the options ask for.
    void add_camera_and_mic();
    void add_source(const std::string& description, const std::string& label);
    void schedule_publish_offer();
    void try_publish_offer();
    void apply_pending_ice(const std::string& session);
    void stop_pipeline();

    // WHIP/WHEP (http.cpp-like part of bot.cpp).
    void open_http_session();
    void start_http();
    void offer_over_http(GstElement* webrtc);
    void post_when_gathered(GstElement* webrtc, unsigned round);
    void on_http_answer(GstElement* webrtc, SoupMessage* msg, GBytes* body, const GError* err);
    void on_http_deleted();

    // Janus VideoRoom over HTTP (janus.cpp).
    bool janus() const
    {
        return options_.mode == BotMode::JanusPublisher || options_.mode == BotMode::JanusSubscriber;
    }
    void start_janus();
    void janus_post(const std::string& path, const std::string& body,
                    std::function<void(JsonObject*)> done);
    void on_janus_reply(SoupMessage* msg, GBytes* body, const GError* err,
                        const std::function<void(JsonObject*)>& done);
    void janus_message(JsonNode* body, const char* jsep_type, const std::string& sdp);
    void janus_poll();
    void on_janus_poll(GBytes* body, const GError* err);
    void on_janus_event(JsonObject* event);
    void janus_send_gathered(GstElement* webrtc, const std::string& sdp);
    void janus_keepalive();
    void janus_leave();
    void janus_failed(const std::string& message);

    BotOptions options_;
    std::unique_ptr<GMainContext, GMainContextUnref> ctx_;
    std::shared_ptr<Shared> shared_;
    GObjectPtr<GstElement> pipeline_;
    GstElement* pub_ = nullptr;  // owned by pipeline_
    GstElement* sub_ = nullptr;  // owned by pipeline_
    GObjectPtr<SoupSession> http_;
    GObjectPtr<GCancellable> cancel_;
    GObjectPtr<SoupWebsocketConnection> ws_;
    gulong ws_message_handler_ = 0;
    gulong ws_closed_handler_ = 0;

    BotState state_ = BotState::Idle;
    gint64 start_us_ = 0;
    gint64 join_us_ = 0;
    gint64 subscribe_sdp_us_ = 0;        // the server's first subscribe offer (WHEP: answer)
    gint64 subscribe_connected_us_ = 0;  // our subscribe webrtcbin first connected
    int next_id_ = 1;
    int join_id_ = 0;
    int leave_id_ = 0;
    std::string session_id_;
    std::string participant_id_;

    std::vector<PublishedSource> sources_;
    int publish_id_ = 0;  // id of the publish request in flight, 0: none
    bool reoffer_ = false;
    bool have_publish_answer_ = false;
    bool have_subscribe_offer_ = false;
    int offer_wait_rounds_ = 0;
    guint offer_timer_ = 0;
    guint gather_timer_ = 0;
    std::string resource_url_;
    std::string janus_handle_;     // Janus: the VideoRoom handle id (session_id_: the session)
    guint janus_keepalive_timer_ = 0;
    std::map<std::string, std::vector<std::pair<unsigned, std::string>>> pending_ice_;

    std::map<std::string, RemoteParticipant> participants_;
    std::map<std::string, RemoteTrack> remote_tracks_;
    std::vector<BotEvent> events_;
    std::vector<std::string> errors_;
    std::map<std::string, std::string> connection_states_;
    int publish_answers_ = 0;
    int subscribe_offers_ = 0;
    std::set<int> acks_;
    std::map<std::string, bool> speaking_;

    // Closures posted to ctx_ hold a weak reference: they may run after us.
    std::shared_ptr<Bot*> self_;
};

// Makes the process-wide DTLS certificate now (~300 ms, once), so that it
// does not count in the first bot's join. The Bot constructor calls it.
void warm_up();

// Iterates `ctx` (nullptr: the thread-default context) until `condition`
// holds or timeout_ms passes; returns the condition's last value.
bool wait_until(GMainContext* ctx, const std::function<bool()>& condition, int timeout_ms);

}  // namespace zumzi::bot
