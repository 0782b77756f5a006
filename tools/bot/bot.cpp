#include "bot.h"

#include <gst/sdp/sdp.h>
#include <gst/webrtc/webrtc.h>

#include <algorithm>
#include <atomic>
#include <cstdarg>
#include <cstring>
#include <mutex>

#include "json_util.h"

namespace zumzi::bot {

// --- Shared with GStreamer threads ------------------------------------------

namespace {

// What one received track got. Counters are bumped on streaming threads.
struct TrackCounter {
    std::string mid;
    std::string stream_id;  // msid stream id in the subscribe offer
    bool video = true;
    unsigned ssrc = 0;
    std::atomic<uint64_t> packets{0};
    std::atomic<uint64_t> frames{0};
    std::atomic<gint64> first_packet_us{0};
    std::atomic<gint64> first_frame_us{0};
    std::atomic<gint64> last_frame_us{0};
    gint64 packets_lost = -1;  // main context only
    gint64 packets_received = -1;
};

// One src pad of the subscribe webrtcbin (one m-line). The server may swap
// the track an m-line carries: `current` then moves to a new counter.
struct RxPad {
    std::string mid;
    bool video = true;
    std::atomic<TrackCounter*> current{nullptr};
};

}  // namespace

struct Bot::Shared {
    GMainContext* ctx = nullptr;
    std::weak_ptr<Bot*> self;
    GstElement* pipeline = nullptr;  // not owned
    GstElement* sub = nullptr;       // not owned
    bool decode = true;
    std::mutex lock;
    std::vector<std::unique_ptr<TrackCounter>> counters;
    std::vector<std::unique_ptr<RxPad>> pads;
    std::vector<std::unique_ptr<RxPad>> retired;  // replaced, maybe still referenced
};

namespace {

using Shared = Bot::Shared;

const char* kVideo =
    "videotestsrc is-live=true pattern=%s ! video/x-raw,width=%d,height=%d,framerate=%d/1 ! "
    "vp8enc deadline=1 cpu-used=8 end-usage=cbr target-bitrate=%d keyframe-max-dist=%d ! "
    "rtpvp8pay pt=%d ! application/x-rtp,media=video,encoding-name=VP8,payload=%d,"
    "clock-rate=90000,rtcp-fb-nack-pli=(boolean)true ! queue";

// The level element puts each buffer's loudness in a meta; the payloader
// writes it as the RFC 6464 header extension because the caps after it
// name that extension (under BotOptions::audio_level_id, with the
// voice-activity flag).
const char* kAudio =
    "audiotestsrc name=mic_tone is-live=true wave=sine volume=%s ! "
    "audio/x-raw,rate=48000,channels=1 ! level audio-level-meta=true post-messages=false ! "
    "opusenc ! rtpopuspay pt=111 ! "
    "application/x-rtp,media=audio,encoding-name=OPUS,payload=111,clock-rate=48000,"
    "extmap-%d=(GstValueArray)<(string)\"\",(string)urn:ietf:params:rtp-hdrext:ssrc-audio-level,"
    "(string)\"vad=on\"> ! queue";
const char* kTalkingVolume = "0.1";
const char* kSilentVolume = "0.0";

// Runs `fn` on `ctx` later (never inline, even from the owner thread).
void post(GMainContext* ctx, std::function<void()> fn)
{
    GSource* source = g_idle_source_new();
    g_source_set_priority(source, G_PRIORITY_DEFAULT);
    g_source_set_callback(
        source,
        [](gpointer data) -> gboolean {
            (*static_cast<std::function<void()>*>(data))();
            return G_SOURCE_REMOVE;
        },
        new std::function<void()>(std::move(fn)),
        [](gpointer data) { delete static_cast<std::function<void()>*>(data); });
    g_source_attach(source, ctx);
    g_source_unref(source);
}

// Signal handler data: a strong reference to the shared state.
struct HandlerData {
    std::shared_ptr<Shared> shared;
};

void delete_handler_data(gpointer data, GClosure*)
{
    delete static_cast<HandlerData*>(data);
}

// Promise helpers: webrtcbin runs its operations on its own thread, so a
// blocking wait on the main context is short and safe.
std::string promise_error(GstPromise* promise)
{
    std::string error;
    if (gst_promise_wait(promise) != GST_PROMISE_RESULT_REPLIED) {
        error = "promise not replied";
    } else if (const GstStructure* reply = gst_promise_get_reply(promise)) {
        if (gst_structure_has_field(reply, "error")) {
            g_autoptr(GError) e = nullptr;
            gst_structure_get(reply, "error", G_TYPE_ERROR, &e, nullptr);
            error = e ? e->message : "unknown error";
        }
    }
    gst_promise_unref(promise);
    return error;
}

GstWebRTCSessionDescription* promise_description(GstPromise* promise, const char* field,
                                                 std::string* error)
{
    GstWebRTCSessionDescription* desc = nullptr;
    if (gst_promise_wait(promise) == GST_PROMISE_RESULT_REPLIED) {
        const GstStructure* reply = gst_promise_get_reply(promise);
        if (reply && gst_structure_has_field(reply, field))
            gst_structure_get(reply, field, GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &desc, nullptr);
        else if (reply && gst_structure_has_field(reply, "error")) {
            g_autoptr(GError) e = nullptr;
            gst_structure_get(reply, "error", G_TYPE_ERROR, &e, nullptr);
            *error = e ? e->message : "unknown error";
        }
    }
    if (!desc && error->empty())
        *error = std::string("no ") + field;
    gst_promise_unref(promise);
    return desc;
}

std::string sdp_text(const GstSDPMessage* sdp)
{
    g_autofree gchar* text = gst_sdp_message_as_text(sdp);
    return text ? text : "";
}

GstWebRTCSessionDescription* parse_sdp(const std::string& text, GstWebRTCSDPType type)
{
    GstSDPMessage* msg = nullptr;
    if (gst_sdp_message_new_from_text(text.c_str(), &msg) != GST_SDP_OK)
        return nullptr;
    return gst_webrtc_session_description_new(type, msg);
}

// The "stream track" msid of a media section: a=msid, or the msid of its
// a=ssrc lines (where webrtcbin 1.22 writes it).
std::string media_msid(const GstSDPMedia* media)
{
    if (const gchar* v = gst_sdp_media_get_attribute_val(media, "msid"))
        return v;
    for (guint i = 0;; i++) {
        const gchar* v = gst_sdp_media_get_attribute_val_n(media, "ssrc", i);
        if (!v)
            break;
        if (const gchar* m = strstr(v, " msid:"))
            return m + 6;
    }
    return {};
}

unsigned media_ssrc(const GstSDPMedia* media)
{
    const gchar* v = gst_sdp_media_get_attribute_val(media, "ssrc");
    return v ? static_cast<unsigned>(g_ascii_strtoull(v, nullptr, 10)) : 0;
}

struct MediaInfo {
    bool found = false;
    bool video = true;
    std::string stream_id;
    unsigned ssrc = 0;
};

MediaInfo find_media(const GstSDPMessage* sdp, const std::string& mid)
{
    MediaInfo info;
    for (guint i = 0; i < gst_sdp_message_medias_len(sdp); i++) {
        const GstSDPMedia* media = gst_sdp_message_get_media(sdp, i);
        const gchar* m = gst_sdp_media_get_attribute_val(media, "mid");
        if (!m || mid != m)
            continue;
        info.found = true;
        info.video = g_strcmp0(gst_sdp_media_get_media(media), "video") == 0;
        std::string msid = media_msid(media);
        info.stream_id = msid.substr(0, msid.find(' '));
        info.ssrc = media_ssrc(media);
        break;
    }
    return info;
}

std::string pad_mid(GstPad* pad)
{
    std::string mid;
    g_autoptr(GstWebRTCRTPTransceiver) transceiver = nullptr;
    g_object_get(pad, "transceiver", &transceiver, nullptr);
    if (transceiver) {
        g_autofree gchar* m = nullptr;
        g_object_get(transceiver, "mid", &m, nullptr);
        if (m)
            mid = m;
    }
    return mid;
}

void configure_webrtcbin(GstElement* webrtc, const BotOptions& options)
{
    g_object_set(webrtc, "bundle-policy", GST_WEBRTC_BUNDLE_POLICY_MAX_BUNDLE, "latency",
                 options.latency_ms, nullptr);
    g_autoptr(GObject) agent = nullptr;
    g_object_get(webrtc, "ice-agent", &agent, nullptr);
    if (agent) {
        for (const auto& address : options.ice_addresses) {
            gboolean ok = FALSE;
            g_signal_emit_by_name(agent, "add-local-ip-address", address.c_str(), &ok);
        }
        if (g_object_class_find_property(G_OBJECT_GET_CLASS(agent), "ice-tcp"))
            g_object_set(agent, "ice-tcp", options.ice_tcp ? TRUE : FALSE, nullptr);
        // No UPnP: libnice would multicast SSDP on every interface.
        if (g_object_class_find_property(G_OBJECT_GET_CLASS(agent), "agent")) {
            g_autoptr(GObject) nice = nullptr;
            g_object_get(agent, "agent", &nice, nullptr);
            if (nice && g_object_class_find_property(G_OBJECT_GET_CLASS(nice), "upnp"))
                g_object_set(nice, "upnp", FALSE, nullptr);
        }
    }
    // On a loss-free link rtx-next-seqnum only sends pointless NACKs.
    g_autoptr(GstElement) rtpbin = gst_bin_get_by_name(GST_BIN(webrtc), "rtpbin");
    if (rtpbin) {
        g_signal_connect(rtpbin, "new-jitterbuffer",
                         G_CALLBACK(+[](GstElement*, GstElement* jb, guint, guint, gpointer) {
                             g_object_set(jb, "rtx-next-seqnum", FALSE, nullptr);
                         }),
                         nullptr);
    }
}

// --- webrtcbin and decoder callbacks (GStreamer threads) ---------------------

void on_local_candidate(GstElement* webrtc, guint mline, gchar* candidate, gpointer data)
{
    auto shared = static_cast<HandlerData*>(data)->shared;
    std::string session = webrtc == shared->sub ? "subscribe" : "publish";
    std::string cand = candidate ? candidate : "";
    std::weak_ptr<Bot*> weak = shared->self;
    post(shared->ctx, [weak, session, mline, cand]() {
        auto self = weak.lock();
        if (self)
            (*self)->send_local_candidate(session, mline, cand);
    });
}

GstPadProbeReturn on_rtp_probe(GstPad*, GstPadProbeInfo* info, gpointer data)
{
    auto* rx = static_cast<RxPad*>(data);
    TrackCounter* c = rx->current.load();
    if (!c)
        return GST_PAD_PROBE_OK;
    uint64_t before;
    if (info->type & GST_PAD_PROBE_TYPE_BUFFER_LIST)
        before = c->packets.fetch_add(gst_buffer_list_length(GST_PAD_PROBE_INFO_BUFFER_LIST(info)));
    else
        before = c->packets.fetch_add(1);
    if (before == 0) {
        gint64 zero = 0;
        c->first_packet_us.compare_exchange_strong(zero, g_get_monotonic_time());
    }
    return GST_PAD_PROBE_OK;
}

void on_handoff(GstElement*, GstBuffer*, GstPad*, gpointer data)
{
    auto* rx = static_cast<RxPad*>(data);
    TrackCounter* c = rx->current.load();
    if (!c)
        return;
    gint64 now = g_get_monotonic_time();
    c->last_frame_us = now;
    if (c->frames++ == 0) {
        gint64 zero = 0;
        c->first_frame_us.compare_exchange_strong(zero, now);
    }
}

void on_decoded_pad(GstElement* decodebin, GstPad* pad, gpointer data)
{
    auto* rx = static_cast<RxPad*>(data);
    g_autoptr(GstCaps) caps = gst_pad_get_current_caps(pad);
    if (!caps)
        caps = gst_pad_query_caps(pad, nullptr);
    const gchar* name = gst_structure_get_name(gst_caps_get_structure(caps, 0));
    if (!g_str_has_prefix(name, rx->video ? "video/x-raw" : "audio/x-raw"))
        return;
    g_autoptr(GstObject) bin = gst_element_get_parent(decodebin);
    if (!bin)
        return;
    GstElement* sink = gst_element_factory_make("fakesink", nullptr);
    g_object_set(sink, "signal-handoffs", TRUE, "sync", FALSE, "async", FALSE, nullptr);
    g_signal_connect(sink, "handoff", G_CALLBACK(on_handoff), rx);
    gst_bin_add(GST_BIN(bin), sink);  // takes the floating reference
    gst_element_sync_state_with_parent(sink);
    g_autoptr(GstPad) sinkpad = gst_element_get_static_pad(sink, "sink");
    gst_pad_link(pad, sinkpad);
}

// A stream arrived on the subscribe session: label it with the msid stream
// id of its m-line (the track id) and decode it.
void on_sub_pad_added(GstElement* webrtc, GstPad* pad, gpointer data)
{
    if (GST_PAD_DIRECTION(pad) != GST_PAD_SRC)
        return;
    auto shared = static_cast<HandlerData*>(data)->shared;
    std::string mid = pad_mid(pad);
    MediaInfo info;
    g_autoptr(GstWebRTCSessionDescription) desc = nullptr;
    g_object_get(webrtc, "remote-description", &desc, nullptr);
    if (desc)
        info = find_media(desc->sdp, mid);
    if (!info.found) {  // fall back on the caps
        g_autoptr(GstCaps) caps = gst_pad_get_current_caps(pad);
        if (caps) {
            const gchar* media = gst_structure_get_string(gst_caps_get_structure(caps, 0), "media");
            info.video = g_strcmp0(media, "audio") != 0;
        }
        info.stream_id = mid;
    }
    RxPad* rx = nullptr;
    {
        std::lock_guard<std::mutex> guard(shared->lock);
        // A new pad for an m-line that had one (the server reused the slot
        // for another track): retire the old pad; keep counting in the
        // counter the new offer started for this track if it is still empty.
        TrackCounter* counter = nullptr;
        for (auto it = shared->pads.begin(); it != shared->pads.end();) {
            if ((*it)->mid != mid) {
                ++it;
                continue;
            }
            TrackCounter* c = (*it)->current.load();
            if (c && c->stream_id == info.stream_id && c->packets == 0 && c->frames == 0)
                counter = c;
            shared->retired.push_back(std::move(*it));
            it = shared->pads.erase(it);
        }
        if (!counter) {
            shared->counters.push_back(std::make_unique<TrackCounter>());
            counter = shared->counters.back().get();
            counter->mid = mid;
            counter->stream_id = info.stream_id;
            counter->video = info.video;
        }
        counter->ssrc = info.ssrc;
        shared->pads.push_back(std::make_unique<RxPad>());
        rx = shared->pads.back().get();
        rx->mid = mid;
        rx->video = info.video;
        rx->current = counter;
    }
    gst_pad_add_probe(pad,
                      GstPadProbeType(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST),
                      on_rtp_probe, rx, nullptr);
    GstElement* tail = nullptr;
    if (shared->decode) {
        tail = gst_element_factory_make("decodebin", nullptr);
        g_signal_connect(tail, "pad-added", G_CALLBACK(on_decoded_pad), rx);
    } else {
        tail = gst_element_factory_make("fakesink", nullptr);
        g_object_set(tail, "sync", FALSE, "async", FALSE, nullptr);
    }
    gst_bin_add(GST_BIN(shared->pipeline), tail);
    gst_element_sync_state_with_parent(tail);
    g_autoptr(GstPad) sinkpad = gst_element_get_static_pad(tail, "sink");
    gst_pad_link(pad, sinkpad);

    std::weak_ptr<Bot*> weak = shared->self;
    std::string stream = info.stream_id;
    bool video = info.video;
    post(shared->ctx, [weak, mid, stream, video]() {
        if (auto self = weak.lock())
            (*self)->log("receiving %s mid %s track %s", video ? "video" : "audio", mid.c_str(),
                         stream.c_str());
    });
}

// WHIP/WHEP: webrtcbin's connection-state, recorded like the server's
// connection_state messages.
void on_connection_state(GstElement* webrtc, GParamSpec*, gpointer data)
{
    auto shared = static_cast<HandlerData*>(data)->shared;
    GstWebRTCPeerConnectionState state = GST_WEBRTC_PEER_CONNECTION_STATE_NEW;
    g_object_get(webrtc, "connection-state", &state, nullptr);
    static const char* const names[] = {"new",          "connecting", "connected",
                                        "disconnected", "failed",     "closed"};
    std::string name = state <= GST_WEBRTC_PEER_CONNECTION_STATE_CLOSED ? names[state] : "?";
    std::string session = webrtc == shared->sub ? "subscribe" : "publish";
    std::weak_ptr<Bot*> weak = shared->self;
    post(shared->ctx, [weak, session, name]() {
        if (auto self = weak.lock())
            (*self)->set_connection_state(session, name);
    });
}

// Decoders start at a keyframe only: a subscriber decodes nothing unless the
// server's keyframe request reached the publisher.
void on_deep_element_added(GstBin*, GstBin*, GstElement* element, gpointer)
{
    GstElementFactory* factory = gst_element_get_factory(element);
    if (!factory || !g_str_equal(GST_OBJECT_NAME(factory), "rtpvp8depay"))
        return;
    GObjectClass* klass = G_OBJECT_GET_CLASS(element);
    if (g_object_class_find_property(klass, "wait-for-keyframe"))
        g_object_set(element, "wait-for-keyframe", TRUE, nullptr);
    if (g_object_class_find_property(klass, "request-keyframe"))
        g_object_set(element, "request-keyframe", TRUE, nullptr);
}

gint64 value_int64(const GValue* v)
{
    if (!v)
        return -1;
    GValue out = G_VALUE_INIT;
    g_value_init(&out, G_TYPE_INT64);
    gint64 r = -1;
    if (g_value_transform(v, &out))
        r = g_value_get_int64(&out);
    g_value_unset(&out);
    return r;
}

// Verbose logs cut messages short unless ZUMZI_BOT_FULL_LOG is set.
int log_limit()
{
    static const bool full = g_getenv("ZUMZI_BOT_FULL_LOG") != nullptr;
    return full ? 1 << 24 : 300;
}

}  // namespace

// --- Bot -------------------------------------------------------------------------

const char* to_string(BotState state)
{
    switch (state) {
        case BotState::Idle:
            return "idle";
        case BotState::Connecting:
            return "connecting";
        case BotState::Joining:
            return "joining";
        case BotState::Joined:
            return "joined";
        case BotState::Leaving:
            return "leaving";
        case BotState::Left:
            return "left";
        case BotState::Failed:
            return "failed";
    }
    return "unknown";
}

bool wait_until(GMainContext* ctx, const std::function<bool()>& condition, int timeout_ms)
{
    if (!ctx)
        ctx = g_main_context_get_thread_default();
    if (!ctx)
        ctx = g_main_context_default();
    gint64 end = g_get_monotonic_time() + static_cast<gint64>(timeout_ms) * 1000;
    while (!condition()) {
        if (g_get_monotonic_time() >= end)
            return condition();
        if (!g_main_context_iteration(ctx, FALSE))
            g_usleep(1000);
    }
    return true;
}

void warm_up()
{
    // webrtcbin's DTLS elements share one generated certificate per process
    // (~300 ms to make) and loading the srtp plugin runs libsrtp's self-tests
    // (~200 ms): pay both here rather than in the first join.
    static gsize once = 0;
    if (g_once_init_enter(&once)) {
        for (const char* name : {"dtlsdec", "srtpenc", "nicesrc", "vp8enc", "opusenc"})
            if (GstElement* e = gst_element_factory_make(name, nullptr))
                gst_object_unref(gst_object_ref_sink(e));
        g_once_init_leave(&once, 1);
    }
}

Bot::Bot(BotOptions options) : options_(std::move(options))
{
    warm_up();
    ctx_.reset(g_main_context_ref_thread_default());
    if (options_.name.empty())
        options_.name = "bot";
    self_ = std::make_shared<Bot*>(this);
    shared_ = std::make_shared<Shared>();
    shared_->ctx = ctx_.get();
    shared_->self = self_;
    shared_->decode = options_.subscribe;

    pipeline_.reset(GST_ELEMENT(gst_object_ref_sink(gst_pipeline_new(options_.name.c_str()))));
    g_signal_connect(pipeline_.get(), "deep-element-added", G_CALLBACK(on_deep_element_added),
                     nullptr);
    pub_ = gst_element_factory_make("webrtcbin", "publish");
    sub_ = gst_element_factory_make("webrtcbin", "subscribe");
    if (!pub_ || !sub_) {
        error("no webrtcbin element (gst-plugins-bad missing?)");
        if (pub_)
            gst_object_unref(gst_object_ref_sink(pub_));
        if (sub_)
            gst_object_unref(gst_object_ref_sink(sub_));
        pub_ = sub_ = nullptr;
        return;
    }
    configure_webrtcbin(pub_, options_);
    configure_webrtcbin(sub_, options_);
    gst_bin_add_many(GST_BIN(pipeline_.get()), pub_, sub_, nullptr);  // takes them
    shared_->pipeline = pipeline_.get();
    shared_->sub = sub_;
    g_signal_connect_data(pub_, "on-ice-candidate", G_CALLBACK(on_local_candidate),
                          new HandlerData{shared_}, delete_handler_data, GConnectFlags(0));
    g_signal_connect_data(sub_, "on-ice-candidate", G_CALLBACK(on_local_candidate),
                          new HandlerData{shared_}, delete_handler_data, GConnectFlags(0));
    g_signal_connect_data(sub_, "pad-added", G_CALLBACK(on_sub_pad_added), new HandlerData{shared_},
                          delete_handler_data, GConnectFlags(0));
    // WHIP/WHEP/Janus: no server messages, the local webrtcbin says how the
    // session is. Room: the server's messages say it, and the local
    // subscribe session only times its own connection (join_timeline()).
    for (GstElement* webrtc : {pub_, sub_})
        if (options_.mode != BotMode::Room || webrtc == sub_)
            g_signal_connect_data(webrtc, "notify::connection-state",
                                  G_CALLBACK(on_connection_state), new HandlerData{shared_},
                                  delete_handler_data, GConnectFlags(0));
}

Bot::~Bot()
{
    self_.reset();
    for (guint timer : {offer_timer_, gather_timer_, janus_keepalive_timer_}) {
        if (!timer)
            continue;
        if (GSource* s = g_main_context_find_source_by_id(ctx_.get(), timer))
            g_source_destroy(s);
    }
    if (cancel_)
        g_cancellable_cancel(cancel_.get());
    if (ws_) {
        g_signal_handler_disconnect(ws_.get(), ws_message_handler_);
        g_signal_handler_disconnect(ws_.get(), ws_closed_handler_);
        if (soup_websocket_connection_get_state(ws_.get()) == SOUP_WEBSOCKET_STATE_OPEN)
            soup_websocket_connection_close(ws_.get(), SOUP_WEBSOCKET_CLOSE_NORMAL, nullptr);
    }
    stop_pipeline();
    // Members release the rest: sources' pads, then the pipeline.
}

void Bot::stop_pipeline()
{
    if (pipeline_)
        gst_element_set_state(pipeline_.get(), GST_STATE_NULL);
}

void Bot::log(const char* format, ...)
{
    if (!options_.verbose)
        return;
    va_list args;
    va_start(args, format);
    g_autofree gchar* text = g_strdup_vprintf(format, args);
    va_end(args);
    g_printerr("[%s %6.3f] %s\n", options_.name.c_str(),
               start_us_ ? (g_get_monotonic_time() - start_us_) / 1e6 : 0.0, text);
}

void Bot::error(const std::string& message)
{
    errors_.push_back(message);
    g_printerr("[%s] error: %s\n", options_.name.c_str(), message.c_str());
}

void Bot::record(const std::string& type, const std::string& participant_id,
                 const std::string& track_id, const std::string& label, bool flag)
{
    BotEvent e;
    e.flag = flag;
    e.ms = (g_get_monotonic_time() - start_us_) / 1000;
    e.type = type;
    e.participant_id = participant_id;
    e.track_id = track_id;
    e.label = label;
    events_.push_back(std::move(e));
    log("%s %s %s %s", type.c_str(), participant_id.c_str(), track_id.c_str(), label.c_str());
}

void Bot::send(const std::string& text)
{
    if (!ws_ || soup_websocket_connection_get_state(ws_.get()) != SOUP_WEBSOCKET_STATE_OPEN)
        return;
    if (options_.verbose)
        log("-> %.*s", log_limit(), text.c_str());
    soup_websocket_connection_send_text(ws_.get(), text.c_str());
}

void Bot::start()
{
    if (state_ != BotState::Idle)
        return;
    start_us_ = g_get_monotonic_time();
    if (!pub_ || !sub_) {
        state_ = BotState::Failed;
        return;
    }
    if (gst_element_set_state(pipeline_.get(), GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
        error("the bot pipeline does not start");
        state_ = BotState::Failed;
        return;
    }
    if (janus()) {
        start_janus();
        return;
    }
    if (options_.mode != BotMode::Room) {
        start_http();
        return;
    }
    std::string base = options_.server_url;
    while (!base.empty() && base.back() == '/')
        base.pop_back();
    if (g_str_has_prefix(base.c_str(), "ws://"))
        base = "http://" + base.substr(5);
    else if (g_str_has_prefix(base.c_str(), "wss://"))
        base = "https://" + base.substr(6);
    g_autofree gchar* token = g_uri_escape_string(options_.token.c_str(), nullptr, FALSE);
    std::string url = base + "/api/v1/ws?token=" + token;

    // The context of the async calls is the thread-default one at call time.
    g_main_context_push_thread_default(ctx_.get());
    http_.reset(soup_session_new());
    // libproxy crashes on overlapping lookups; bots talk to one known server.
    soup_session_set_proxy_resolver(http_.get(), nullptr);
    g_autoptr(SoupMessage) msg = soup_message_new("GET", url.c_str());
    if (!msg) {
        g_main_context_pop_thread_default(ctx_.get());
        error("bad server URL: " + options_.server_url);
        state_ = BotState::Failed;
        return;
    }
    cancel_.reset(g_cancellable_new());
    state_ = BotState::Connecting;
    std::weak_ptr<Bot*> weak = self_;
    auto* data = new std::weak_ptr<Bot*>(weak);
    soup_session_websocket_connect_async(
        http_.get(), msg, nullptr, nullptr, G_PRIORITY_DEFAULT, cancel_.get(),
        [](GObject* source, GAsyncResult* result, gpointer data) {
            auto* w = static_cast<std::weak_ptr<Bot*>*>(data);
            auto self = w->lock();
            delete w;
            if (self) {
                (*self)->on_connected(source, result);
            } else {  // the bot is gone: still finish the call
                g_autoptr(SoupWebsocketConnection) c =
                    soup_session_websocket_connect_finish(SOUP_SESSION(source), result, nullptr);
            }
        },
        data);
    g_main_context_pop_thread_default(ctx_.get());
}

void Bot::on_connected(GObject* session, GAsyncResult* result)
{
    g_autoptr(GError) err = nullptr;
    ws_.reset(soup_session_websocket_connect_finish(SOUP_SESSION(session), result, &err));
    if (!ws_) {
        error(std::string("WebSocket connect failed: ") + (err ? err->message : "?"));
        state_ = BotState::Failed;
        return;
    }
    soup_websocket_connection_set_max_incoming_payload_size(ws_.get(), 16 * 1024 * 1024);
    ws_message_handler_ = g_signal_connect(
        ws_.get(), "message",
        G_CALLBACK(+[](SoupWebsocketConnection*, gint type, GBytes* message, gpointer data) {
            if (type != SOUP_WEBSOCKET_DATA_TEXT)
                return;
            gsize size = 0;
            const char* bytes = static_cast<const char*>(g_bytes_get_data(message, &size));
            static_cast<Bot*>(data)->on_message(std::string(bytes, size));
        }),
        this);
    ws_closed_handler_ = g_signal_connect(ws_.get(), "closed",
                                          G_CALLBACK(+[](SoupWebsocketConnection*, gpointer data) {
                                              static_cast<Bot*>(data)->on_closed();
                                          }),
                                          this);
    state_ = BotState::Joining;
    join_id_ = next_id_++;
    join_us_ = g_get_monotonic_time();
    std::vector<std::pair<std::string, JsonNode*>> fields = {{"type", json::str("join")},
                                                             {"id", json::integer(join_id_)},
                                                             {"room", json::str(options_.room)}};
    if (!options_.pin.empty())
        fields.push_back({"pin", json::str(options_.pin)});
    send(json::object(fields));
}

void Bot::send_local_candidate(const std::string& session, unsigned mline,
                               const std::string& candidate)
{
    send(json::object({{"type", json::str("ice")},
                       {"room", json::str(options_.room)},
                       {"session", json::str(session)},
                       {"mline", json::integer(mline)},
                       {"candidate", json::str(candidate)}}));
}

void Bot::on_closed()
{
    log("connection closed");
    if (state_ != BotState::Left && state_ != BotState::Failed) {
        if (state_ != BotState::Leaving)
            error("the server closed the connection");
        state_ = state_ == BotState::Leaving ? BotState::Left : BotState::Failed;
    }
    stop_pipeline();
}

void Bot::on_message(const std::string& text)
{
    json::Doc doc(text);
    JsonObject* msg = doc.object();
    if (!msg) {
        error("the server sent a frame that is not a JSON object");
        return;
    }
    std::string type = json::get_str(msg, "type");
    log("<- %.*s", log_limit(), text.c_str());
    gint64 now = g_get_monotonic_time();
    if (type == "welcome") {
        session_id_ = json::get_str(msg, "session_id");
    } else if (type == "joined") {
        handle_joined(msg);
    } else if (type == "error") {
        JsonObject* e = json::get_obj(msg, "error");
        std::string code = e ? json::get_str(e, "code") : "?";
        std::string message = e ? json::get_str(e, "message") : "";
        std::string what = "server error " + code + ": " + message;
        gint64 id = json::get_int(msg, "id", -1);
        if (id == join_id_) {
            what = "join refused: " + code + ": " + message;
            state_ = BotState::Failed;
        } else if (id > 0 && id == publish_id_) {
            what = "publish refused: " + code + ": " + message;
            publish_id_ = 0;
        } else if (json::has(msg, "session")) {
            what = json::get_str(msg, "session") + " session: " + what;
        }
        error(what);
    } else if (type == "subscribe_offer") {
        handle_subscribe_offer(json::get_str(msg, "sdp"));
    } else if (type == "publish_answer") {
        handle_publish_answer(json::get_str(msg, "sdp"));
    } else if (type == "ice") {
        handle_ice(json::get_str(msg, "session"),
                   static_cast<unsigned>(json::get_int(msg, "mline", 0)),
                   json::get_str(msg, "candidate"));
    } else if (type == "participant_joined") {
        JsonObject* p = json::get_obj(msg, "participant");
        if (!p)
            return;
        RemoteParticipant rp;
        rp.participant_id = json::get_str(p, "participant_id");
        rp.user_id = json::get_str(p, "user_id");
        rp.name = json::get_str(p, "name");
        rp.role = json::get_str(p, "role");
        participants_[rp.participant_id] = rp;
        record(type, rp.participant_id);
    } else if (type == "participant_left") {
        std::string id = json::get_str(msg, "participant_id");
        participants_[id].participant_id = id;
        participants_[id].present = false;
        record(type, id);
    } else if (type == "track_published") {
        if (JsonObject* t = json::get_obj(msg, "track"))
            add_track(t, now);
    } else if (type == "track_unpublished") {
        JsonObject* t = json::get_obj(msg, "track");
        if (!t)
            return;
        std::string id = json::get_str(t, "id");
        auto it = remote_tracks_.find(id);
        std::string label;
        if (it != remote_tracks_.end()) {
            it->second.published = false;
            label = it->second.label;
        }
        record(type, json::get_str(t, "participant_id"), id, label);
    } else if (type == "track_muted") {
        const std::string id = json::get_str(msg, "track_id");
        const bool muted = json::get_bool(msg, "muted", false);
        auto it = remote_tracks_.find(id);
        if (it != remote_tracks_.end())
            it->second.muted = muted;
        record(type, json::get_str(msg, "participant_id"), id, {}, muted);
    } else if (type == "speaking") {
        const std::string who = json::get_str(msg, "participant_id");
        const bool speaking = json::get_bool(msg, "speaking", false);
        speaking_[who] = speaking;
        record(type, who, {}, {}, speaking);
    } else if (type == "ack") {
        acks_.insert(static_cast<int>(json::get_int(msg, "id", -1)));
    } else if (type == "connection_state") {
        connection_states_[json::get_str(msg, "session")] = json::get_str(msg, "state");
    } else if (type == "left") {
        if (json::get_int(msg, "id", -1) != leave_id_ || leave_id_ == 0) {
            // Taken out by the server (a media timeout, say).
            error("left the room: " + json::get_str(msg, "reason"));
        }
        state_ = BotState::Left;
        stop_pipeline();
        if (ws_ && soup_websocket_connection_get_state(ws_.get()) == SOUP_WEBSOCKET_STATE_OPEN)
            soup_websocket_connection_close(ws_.get(), SOUP_WEBSOCKET_CLOSE_NORMAL, nullptr);
    }
    // pong, ack and unknown types: nothing to do.
}

void Bot::add_track(JsonObject* t, gint64 when_us)
{
    RemoteTrack track;
    track.id = json::get_str(t, "id");
    track.participant_id = json::get_str(t, "participant_id");
    track.kind = json::get_str(t, "kind");
    track.codec = json::get_str(t, "codec");
    track.label = json::get_str(t, "label");
    track.msid = json::get_str(t, "msid");
    track.muted = json::get_bool(t, "muted", false);
    track.published_us = when_us;
    remote_tracks_[track.id] = track;
    record("track_published", track.participant_id, track.id, track.label);
}

void Bot::handle_joined(JsonObject* msg)
{
    if (state_ != BotState::Joining)
        return;
    state_ = BotState::Joined;
    participant_id_ = json::get_str(msg, "participant_id");
    log("joined as %s", participant_id_.c_str());
    if (JsonArray* list = json::get_arr(msg, "participants")) {
        for (guint i = 0; i < json_array_get_length(list); i++) {
            JsonObject* p = json_array_get_object_element(list, i);
            if (!p)
                continue;
            RemoteParticipant rp;
            rp.participant_id = json::get_str(p, "participant_id");
            rp.user_id = json::get_str(p, "user_id");
            rp.name = json::get_str(p, "name");
            rp.role = json::get_str(p, "role");
            participants_[rp.participant_id] = rp;
        }
    }
    if (JsonArray* list = json::get_arr(msg, "tracks")) {
        for (guint i = 0; i < json_array_get_length(list); i++)
            if (JsonObject* t = json_array_get_object_element(list, i))
                add_track(t, join_us_);
    }
    add_camera_and_mic();
    if (!sources_.empty())
        schedule_publish_offer();
}

void Bot::add_camera_and_mic()
{
    if (options_.publish_video) {
        int kf =
            options_.keyframe_interval_s > 0 ? options_.keyframe_interval_s * options_.fps : 100000;
        g_autofree gchar* desc =
            g_strdup_printf(kVideo, "ball", options_.width, options_.height, options_.fps,
                            options_.video_kbps * 1000, kf, 96, 96);
        add_source(desc, "camera");
    }
    if (options_.publish_audio) {
        g_autofree gchar* desc =
            g_strdup_printf(kAudio, options_.talking ? kTalkingVolume : kSilentVolume,
                            std::clamp(options_.audio_level_id, 1, 14));
        add_source(desc, "mic");
    }
}

void Bot::add_source(const std::string& description, const std::string& label)
{
    g_autoptr(GError) err = nullptr;
    GstElement* source = gst_parse_bin_from_description(description.c_str(), TRUE, &err);
    if (!source) {
        error("bad source pipeline: " + std::string(err ? err->message : "?"));
        return;
    }
    gst_bin_add(GST_BIN(pipeline_.get()), source);
    GstPad* sinkpad = gst_element_request_pad_simple(pub_, "sink_%u");
    g_object_set(sinkpad, "msid", label.c_str(), nullptr);
    // A requested pad gets a SENDRECV transceiver: this session only sends.
    g_autoptr(GstWebRTCRTPTransceiver) transceiver = nullptr;
    g_object_get(sinkpad, "transceiver", &transceiver, nullptr);
    if (transceiver)
        g_object_set(transceiver, "direction", GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_SENDONLY,
                     nullptr);
    g_autoptr(GstPad) srcpad = gst_element_get_static_pad(source, "src");
    if (gst_pad_link(srcpad, sinkpad) != GST_PAD_LINK_OK)
        error("cannot link the " + label + " source");
    gst_element_sync_state_with_parent(source);
    sources_.push_back(PublishedSource{label, source, GObjectPtr<GstPad>(sinkpad), true});
    log("added source %s", label.c_str());
}

// The offer's a=ssrc lines come from the sink pads' caps: wait (without
// blocking the context) until every active source has delivered them.
void Bot::schedule_publish_offer()
{
    if (publish_id_ != 0) {
        reoffer_ = true;
        return;
    }
    if (offer_timer_)
        return;
    offer_wait_rounds_ = 0;
    try_publish_offer();
}

void Bot::try_publish_offer()
{
    offer_timer_ = 0;
    const bool http = options_.mode == BotMode::Whip || options_.mode == BotMode::JanusPublisher;
    if (state_ != BotState::Joined && !(http && state_ == BotState::Joining))
        return;
    bool ready = true;
    for (const auto& s : sources_) {
        if (!s.active)
            continue;
        g_autoptr(GstCaps) caps = gst_pad_get_current_caps(s.sinkpad.get());
        if (!caps || !gst_structure_has_field(gst_caps_get_structure(caps, 0), "ssrc"))
            ready = false;
    }
    if (!ready && offer_wait_rounds_++ < 500) {
        GSource* timer = g_timeout_source_new(10);
        std::weak_ptr<Bot*> weak = self_;
        g_source_set_callback(
            timer,
            [](gpointer data) -> gboolean {
                if (auto self = static_cast<std::weak_ptr<Bot*>*>(data)->lock())
                    (*self)->try_publish_offer();
                return G_SOURCE_REMOVE;
            },
            new std::weak_ptr<Bot*>(weak),
            [](gpointer data) { delete static_cast<std::weak_ptr<Bot*>*>(data); });
        offer_timer_ = g_source_attach(timer, ctx_.get());
        g_source_unref(timer);
        return;
    }
    if (!ready)
        log("offering without the caps of every source");
    log("creating the publish offer (waited %d rounds for caps)", offer_wait_rounds_);
    if (http) {
        offer_over_http(pub_);
        return;
    }
    std::string err;
    GstPromise* promise = gst_promise_new();
    g_signal_emit_by_name(pub_, "create-offer", nullptr, promise);
    GstWebRTCSessionDescription* offer = promise_description(promise, "offer", &err);
    if (!offer) {
        error("publish: create-offer failed: " + err);
        return;
    }
    promise = gst_promise_new();
    g_signal_emit_by_name(pub_, "set-local-description", offer, promise);
    err = promise_error(promise);
    if (!err.empty()) {
        error("publish: set-local-description failed: " + err);
        gst_webrtc_session_description_free(offer);
        return;
    }
    std::string sdp = sdp_text(offer->sdp);
    gst_webrtc_session_description_free(offer);
    publish_id_ = next_id_++;
    reoffer_ = false;
    send(json::object({{"type", json::str("publish")},
                       {"id", json::integer(publish_id_)},
                       {"room", json::str(options_.room)},
                       {"sdp", json::str(sdp)}}));
}

void Bot::handle_publish_answer(const std::string& sdp)
{
    publish_id_ = 0;
    GstWebRTCSessionDescription* answer = parse_sdp(sdp, GST_WEBRTC_SDP_TYPE_ANSWER);
    if (!answer) {
        error("publish_answer: the SDP does not parse");
        return;
    }
    GstPromise* promise = gst_promise_new();
    g_signal_emit_by_name(pub_, "set-remote-description", answer, promise);
    std::string err = promise_error(promise);
    gst_webrtc_session_description_free(answer);
    if (!err.empty()) {
        error("publish: set-remote-description failed: " + err);
        return;
    }
    publish_answers_++;
    have_publish_answer_ = true;
    apply_pending_ice("publish");
    if (reoffer_)
        schedule_publish_offer();
}

void Bot::handle_subscribe_offer(const std::string& sdp)
{
    if (subscribe_offers_++ == 0)
        subscribe_sdp_us_ = g_get_monotonic_time();
    GstWebRTCSessionDescription* offer = parse_sdp(sdp, GST_WEBRTC_SDP_TYPE_OFFER);
    if (!offer) {
        error("subscribe_offer: the SDP does not parse");
        return;
    }
    // The server may move a new track onto an m-line it reuses: count the
    // new track separately from here on.
    {
        std::lock_guard<std::mutex> guard(shared_->lock);
        for (auto& rx : shared_->pads) {
            MediaInfo info = find_media(offer->sdp, rx->mid);
            TrackCounter* cur = rx->current.load();
            if (!info.found || !cur || info.stream_id == cur->stream_id)
                continue;
            shared_->counters.push_back(std::make_unique<TrackCounter>());
            TrackCounter* c = shared_->counters.back().get();
            c->mid = rx->mid;
            c->stream_id = info.stream_id;
            c->video = rx->video;
            c->ssrc = info.ssrc;
            rx->current = c;
        }
    }
    GstPromise* promise = gst_promise_new();
    g_signal_emit_by_name(sub_, "set-remote-description", offer, promise);
    std::string err = promise_error(promise);
    gst_webrtc_session_description_free(offer);
    if (!err.empty()) {
        error("subscribe: set-remote-description failed: " + err);
        return;
    }
    have_subscribe_offer_ = true;
    promise = gst_promise_new();
    g_signal_emit_by_name(sub_, "create-answer", nullptr, promise);
    GstWebRTCSessionDescription* answer = promise_description(promise, "answer", &err);
    if (!answer) {
        error("subscribe: create-answer failed: " + err);
        return;
    }
    promise = gst_promise_new();
    g_signal_emit_by_name(sub_, "set-local-description", answer, promise);
    err = promise_error(promise);
    if (!err.empty())
        error("subscribe: set-local-description failed: " + err);
    std::string text = sdp_text(answer->sdp);
    gst_webrtc_session_description_free(answer);
    if (janus()) {  // the answer goes with its candidates, in `start`
        apply_pending_ice("subscribe");
        post_when_gathered(sub_, 0);
        return;
    }
    send(json::object({{"type", json::str("subscribe_answer")},
                       {"id", json::integer(next_id_++)},
                       {"room", json::str(options_.room)},
                       {"sdp", json::str(text)}}));
    apply_pending_ice("subscribe");
}

void Bot::handle_ice(const std::string& session, unsigned mline, const std::string& candidate)
{
    if (candidate.empty())
        return;  // end of candidates: webrtcbin 1.22 needs nothing
    bool ready = session == "publish" ? have_publish_answer_ : have_subscribe_offer_;
    if (session != "publish" && session != "subscribe") {
        error("ice for unknown session '" + session + "'");
        return;
    }
    if (!ready) {
        pending_ice_[session].emplace_back(mline, candidate);
        return;
    }
    g_signal_emit_by_name(session == "publish" ? pub_ : sub_, "add-ice-candidate", mline,
                          candidate.c_str());
}

void Bot::apply_pending_ice(const std::string& session)
{
    auto list = std::move(pending_ice_[session]);
    pending_ice_.erase(session);
    for (const auto& [mline, candidate] : list)
        g_signal_emit_by_name(session == "publish" ? pub_ : sub_, "add-ice-candidate", mline,
                              candidate.c_str());
}

bool Bot::add_screen()
{
    if (state_ != BotState::Joined)
        return false;
    int fps = options_.fps > 15 ? 15 : options_.fps;
    int kf = options_.keyframe_interval_s > 0 ? options_.keyframe_interval_s * fps : 100000;
    g_autofree gchar* desc = g_strdup_printf(kVideo, "smpte", options_.width, options_.height, fps,
                                             options_.video_kbps * 1000, kf, 97, 97);
    std::string label = "screen";
    for (const auto& s : sources_)
        if (s.active && s.label == label)
            label = "screen-2";
    add_source(desc, label);
    schedule_publish_offer();
    return true;
}

bool Bot::remove_screen()
{
    if (state_ != BotState::Joined)
        return false;
    for (auto it = sources_.rbegin(); it != sources_.rend(); ++it) {
        if (!it->active || !g_str_has_prefix(it->label.c_str(), "screen"))
            continue;
        it->active = false;
        // Unlink first: no EOS must reach webrtcbin (it would stop the
        // session's other video), then stop and drop the source.
        g_autoptr(GstPad) srcpad = gst_element_get_static_pad(it->source, "src");
        gst_pad_unlink(srcpad, it->sinkpad.get());
        gst_element_set_state(it->source, GST_STATE_NULL);
        gst_bin_remove(GST_BIN(pipeline_.get()), it->source);
        it->source = nullptr;
        // The m-line goes inactive for good (1.22 cannot bring it back): a
        // later add_screen() appends a new one.
        g_autoptr(GstWebRTCRTPTransceiver) transceiver = nullptr;
        g_object_get(it->sinkpad.get(), "transceiver", &transceiver, nullptr);
        if (transceiver)
            g_object_set(transceiver, "direction", GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_INACTIVE,
                         nullptr);
        schedule_publish_offer();
        return true;
    }
    return false;
}

void Bot::leave()
{
    if (janus()) {
        janus_leave();
        return;
    }
    if (options_.mode != BotMode::Room) {
        if (state_ == BotState::Joined && !resource_url_.empty()) {
            state_ = BotState::Leaving;
            g_main_context_push_thread_default(ctx_.get());
            SoupMessage* msg = soup_message_new("DELETE", resource_url_.c_str());
            if (!msg) {
                g_main_context_pop_thread_default(ctx_.get());
                on_http_deleted();
                return;
            }
            if (!options_.token.empty()) {
                std::string bearer = "Bearer " + options_.token;
                soup_message_headers_replace(soup_message_get_request_headers(msg), "Authorization",
                                             bearer.c_str());
            }
            log("DELETE %s", resource_url_.c_str());
            soup_session_send_and_read_async(
                http_.get(), msg, G_PRIORITY_DEFAULT, nullptr,
                [](GObject* source, GAsyncResult* result, gpointer data) {
                    auto* w = static_cast<std::weak_ptr<Bot*>*>(data);
                    g_autoptr(GBytes) body =
                        soup_session_send_and_read_finish(SOUP_SESSION(source), result, nullptr);
                    if (auto self = w->lock())
                        (*self)->on_http_deleted();
                    delete w;
                },
                new std::weak_ptr<Bot*>(self_));
            g_object_unref(msg);
            g_main_context_pop_thread_default(ctx_.get());
        } else if (state_ != BotState::Left && state_ != BotState::Failed) {
            if (cancel_)
                g_cancellable_cancel(cancel_.get());
            state_ = BotState::Left;
            stop_pipeline();
        }
        return;
    }
    if (state_ == BotState::Joined || state_ == BotState::Joining) {
        leave_id_ = next_id_++;
        state_ = BotState::Leaving;
        send(json::object({{"type", json::str("leave")},
                           {"id", json::integer(leave_id_)},
                           {"room", json::str(options_.room)}}));
    } else if (state_ == BotState::Connecting) {
        g_cancellable_cancel(cancel_.get());
        state_ = BotState::Left;
        stop_pipeline();
    }
}

int Bot::send_request(const char* type, std::vector<std::pair<std::string, JsonNode*>> fields)
{
    if (state_ != BotState::Joined) {
        for (auto& f : fields)
            json_node_unref(f.second);
        return 0;
    }
    const int id = next_id_++;
    fields.insert(fields.begin(), {"room", json::str(options_.room)});
    fields.insert(fields.begin(), {"id", json::integer(id)});
    fields.insert(fields.begin(), {"type", json::str(type)});
    send(json::object(fields));
    return id;
}

int Bot::mute_track(const std::string& track_id, bool muted)
{
    return send_request(muted ? "mute_track" : "unmute_track", {{"track", json::str(track_id)}});
}

int Bot::subscribe_track(const std::string& track_id, bool subscribe)
{
    return send_request(subscribe ? "subscribe_track" : "unsubscribe_track",
                        {{"track", json::str(track_id)}});
}

int Bot::set_audio_only(bool audio_only)
{
    return send_request("audio_only", {{"enabled", json::boolean(audio_only)}});
}

void Bot::set_talking(bool talking)
{
    options_.talking = talking;
    if (!pipeline_)
        return;
    g_autoptr(GstElement) tone = gst_bin_get_by_name(GST_BIN(pipeline_.get()), "mic_tone");
    if (tone)
        g_object_set(tone, "volume", talking ? 0.1 : 0.0, nullptr);
}

void Bot::freeze()
{
    if (pipeline_)
        gst_element_set_state(pipeline_.get(), GST_STATE_PAUSED);
}

std::string Bot::own_track(const std::string& label) const
{
    for (const auto& entry : remote_tracks_)
        if (entry.second.participant_id == participant_id_ && entry.second.label == label)
            return entry.first;
    return {};
}

bool Bot::wait_until(const std::function<bool()>& condition, int timeout_ms) const
{
    return zumzi::bot::wait_until(ctx_.get(), condition, timeout_ms);
}

void Bot::refresh_stats()
{
    if (!sub_)
        return;
    GstState current = GST_STATE_NULL;
    gst_element_get_state(pipeline_.get(), &current, nullptr, 0);
    if (current != GST_STATE_PLAYING)
        return;
    g_autoptr(GstPromise) promise = gst_promise_new();
    g_signal_emit_by_name(sub_, "get-stats", nullptr, promise);
    if (gst_promise_wait(promise) != GST_PROMISE_RESULT_REPLIED)
        return;
    const GstStructure* reply = gst_promise_get_reply(promise);
    std::map<unsigned, std::pair<gint64, gint64>> by_ssrc;  // lost, received
    for (int i = 0; reply && i < gst_structure_n_fields(reply); i++) {
        const GValue* v = gst_structure_get_value(reply, gst_structure_nth_field_name(reply, i));
        if (!v || !GST_VALUE_HOLDS_STRUCTURE(v))
            continue;
        const GstStructure* s = gst_value_get_structure(v);
        GstWebRTCStatsType type;
        if (!gst_structure_get(s, "type", GST_TYPE_WEBRTC_STATS_TYPE, &type, nullptr) ||
            type != GST_WEBRTC_STATS_INBOUND_RTP)
            continue;
        guint ssrc = 0;
        if (!gst_structure_get_uint(s, "ssrc", &ssrc))
            continue;
        by_ssrc[ssrc] = {value_int64(gst_structure_get_value(s, "packets-lost")),
                         value_int64(gst_structure_get_value(s, "packets-received"))};
    }
    std::lock_guard<std::mutex> guard(shared_->lock);
    for (auto& pad : shared_->pads) {
        TrackCounter* c = pad->current.load();
        if (!c)
            continue;
        auto it = by_ssrc.find(c->ssrc);
        if (it == by_ssrc.end())
            continue;
        c->packets_lost = it->second.first;
        c->packets_received = it->second.second;
    }
}

std::vector<TrackReport> Bot::tracks() const
{
    std::vector<TrackReport> out;
    std::lock_guard<std::mutex> guard(shared_->lock);
    for (const auto& c : shared_->counters) {
        TrackReport r;
        r.track_id = c->stream_id;
        r.kind = c->video ? "video" : "audio";
        r.mid = c->mid;
        r.ssrc = c->ssrc;
        r.packets = c->packets.load();
        r.frames = c->frames.load();
        r.packets_lost = c->packets_lost;
        r.packets_received = c->packets_received;
        gint64 published_us = join_us_;
        auto it = remote_tracks_.find(c->stream_id);
        if (it == remote_tracks_.end())  // by the publisher's msid, if unique
            for (auto t = remote_tracks_.begin(); t != remote_tracks_.end(); ++t)
                if (t->second.msid == c->stream_id ||
                    t->second.msid.substr(0, t->second.msid.find(' ')) == c->stream_id) {
                    if (it != remote_tracks_.end()) {
                        it = remote_tracks_.end();
                        break;
                    }
                    it = t;
                }
        if (it != remote_tracks_.end()) {
            r.participant_id = it->second.participant_id;
            r.label = it->second.label;
            published_us = it->second.published_us;
        } else {
            // Track ids are "<participant>-<mid>".
            auto dash = c->stream_id.rfind('-');
            if (dash != std::string::npos && g_str_has_prefix(c->stream_id.c_str(), "p_"))
                r.participant_id = c->stream_id.substr(0, dash);
        }
        gint64 first_packet = c->first_packet_us.load();
        if (first_packet && join_us_)
            r.first_packet_ms = (first_packet - join_us_) / 1000;
        gint64 first = c->first_frame_us.load();
        gint64 last = c->last_frame_us.load();
        if (r.frames > 1 && last > first)
            r.frame_rate = (r.frames - 1) * 1e6 / static_cast<double>(last - first);
        if (first) {
            r.first_frame_ms = join_us_ ? (first - join_us_) / 1000 : -1;
            r.first_frame_after_publish_ms = (first - std::max(published_us, join_us_)) / 1000;
        }
        out.push_back(std::move(r));
    }
    return out;
}

// Sums `field` over the received tracks of `participant_id` of `kind`
// (empty: every kind).
static uint64_t sum_tracks(const std::vector<TrackReport>& tracks,
                           const std::string& participant_id, const char* kind,
                           uint64_t TrackReport::*field)
{
    uint64_t n = 0;
    for (const auto& t : tracks)
        if (t.participant_id == participant_id && (!*kind || t.kind == kind))
            n += t.*field;
    return n;
}

uint64_t Bot::video_frames_from(const std::string& participant_id) const
{
    return sum_tracks(tracks(), participant_id, "video", &TrackReport::frames);
}

uint64_t Bot::audio_buffers_from(const std::string& participant_id) const
{
    return sum_tracks(tracks(), participant_id, "audio", &TrackReport::frames);
}

uint64_t Bot::packets_from(const std::string& participant_id) const
{
    return sum_tracks(tracks(), participant_id, "", &TrackReport::packets);
}

uint64_t Bot::frames_of(const std::string& track_id) const
{
    uint64_t n = 0;
    for (const auto& t : tracks())
        if (t.track_id == track_id)
            n += t.frames;
    return n;
}

int Bot::video_tracks_with(uint64_t min) const
{
    int n = 0;
    for (const auto& t : tracks())
        if (t.kind == "video" && t.frames >= min)
            n++;
    return n;
}

uint64_t Bot::video_frames() const
{
    uint64_t n = 0;
    for (const auto& t : tracks())
        if (t.kind == "video")
            n += t.frames;
    return n;
}

uint64_t Bot::audio_buffers() const
{
    uint64_t n = 0;
    for (const auto& t : tracks())
        if (t.kind == "audio")
            n += t.frames;
    return n;
}

uint64_t Bot::packets() const
{
    uint64_t n = 0;
    for (const auto& t : tracks())
        n += t.packets;
    return n;
}

JoinTimeline Bot::join_timeline() const
{
    JoinTimeline t;
    if (!join_us_)
        return t;
    auto since_join = [this](gint64 us) { return us ? (us - join_us_) / 1000 : gint64(-1); };
    t.sdp_ms = since_join(subscribe_sdp_us_);
    t.connected_ms = since_join(subscribe_connected_us_);
    for (const auto& track : tracks()) {
        if (track.kind != "video")
            continue;
        if (track.first_packet_ms >= 0 && (t.first_packet_ms < 0 || track.first_packet_ms < t.first_packet_ms))
            t.first_packet_ms = track.first_packet_ms;
        if (track.first_frame_ms >= 0 && (t.first_frame_ms < 0 || track.first_frame_ms < t.first_frame_ms))
            t.first_frame_ms = track.first_frame_ms;
    }
    return t;
}

gint64 Bot::first_frame_ms() const
{
    return join_timeline().first_frame_ms;
}

// --- WHIP / WHEP ---------------------------------------------------------------

const char* to_string(BotMode mode)
{
    switch (mode) {
        case BotMode::Room:
            return "room";
        case BotMode::Whip:
            return "whip";
        case BotMode::Whep:
            return "whep";
        case BotMode::JanusPublisher:
            return "janus publisher";
        case BotMode::JanusSubscriber:
            return "janus subscriber";
    }
    return "?";
}

void Bot::set_connection_state(const std::string& session, const std::string& state)
{
    if (session == "subscribe" && state == "connected" && !subscribe_connected_us_)
        subscribe_connected_us_ = g_get_monotonic_time();
    if (options_.mode == BotMode::Room)
        return;  // the server's connection_state messages say it
    connection_states_[session] = state;
    log("%s session %s", session.c_str(), state.c_str());
}

// An HTTP session on the bot's own main context (its callbacks run there),
// without proxies (127.0.0.1 only), and the join clock started.
void Bot::open_http_session()
{
    g_main_context_push_thread_default(ctx_.get());
    http_.reset(soup_session_new());
    soup_session_set_proxy_resolver(http_.get(), nullptr);
    g_main_context_pop_thread_default(ctx_.get());
    cancel_.reset(g_cancellable_new());
    state_ = BotState::Joining;
    join_us_ = g_get_monotonic_time();
}

void Bot::start_http()
{
    if (options_.url.empty()) {
        error(std::string("no ") + to_string(options_.mode) + " URL");
        state_ = BotState::Failed;
        return;
    }
    open_http_session();
    if (options_.mode == BotMode::Whip) {
        add_camera_and_mic();
        if (sources_.empty()) {
            error("WHIP: nothing to publish");
            state_ = BotState::Failed;
            return;
        }
        schedule_publish_offer();
        return;
    }
    // WHEP: a player receives only; it offers VP8 and H.264 video, Opus
    // audio (publish_video/publish_audio do not apply).
    const char* const wanted[] = {
        "application/x-rtp,media=video,encoding-name=VP8,payload=96,clock-rate=90000,"
        "rtcp-fb-nack-pli=(boolean)true;"
        "application/x-rtp,media=video,encoding-name=H264,payload=102,clock-rate=90000,"
        "packetization-mode=(string)1,profile-level-id=(string)42e01f,"
        "rtcp-fb-nack-pli=(boolean)true",
        "application/x-rtp,media=audio,encoding-name=OPUS,payload=111,clock-rate=48000,"
        "encoding-params=(string)2",
    };
    for (const char* text : wanted) {
        g_autoptr(GstCaps) caps = gst_caps_from_string(text);
        GstWebRTCRTPTransceiver* t = nullptr;
        g_signal_emit_by_name(sub_, "add-transceiver",
                              GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_RECVONLY, caps, &t);
        if (t)
            gst_object_unref(t);
    }
    offer_over_http(sub_);
}

// Offer, set it locally, then POST it once ICE gathering is complete.
void Bot::offer_over_http(GstElement* webrtc)
{
    std::string err;
    GstPromise* promise = gst_promise_new();
    g_signal_emit_by_name(webrtc, "create-offer", nullptr, promise);
    GstWebRTCSessionDescription* offer = promise_description(promise, "offer", &err);
    if (!offer) {
        error("create-offer failed: " + err);
        state_ = BotState::Failed;
        return;
    }
    promise = gst_promise_new();
    g_signal_emit_by_name(webrtc, "set-local-description", offer, promise);
    err = promise_error(promise);
    gst_webrtc_session_description_free(offer);
    if (!err.empty()) {
        error("set-local-description failed: " + err);
        state_ = BotState::Failed;
        return;
    }
    post_when_gathered(webrtc, 0);
}

void Bot::post_when_gathered(GstElement* webrtc, unsigned round)
{
    gather_timer_ = 0;
    GstWebRTCICEGatheringState gathering = GST_WEBRTC_ICE_GATHERING_STATE_NEW;
    g_object_get(webrtc, "ice-gathering-state", &gathering, nullptr);
    // Polled every 10 ms, at most 5 s: then the offer goes with what it has.
    if (gathering != GST_WEBRTC_ICE_GATHERING_STATE_COMPLETE && round < 500) {
        GSource* timer = g_timeout_source_new(10);
        struct Data {
            std::weak_ptr<Bot*> self;
            GstElement* webrtc;
            unsigned round;
        };
        g_source_set_callback(
            timer,
            [](gpointer data) -> gboolean {
                auto* d = static_cast<Data*>(data);
                if (auto self = d->self.lock())
                    (*self)->post_when_gathered(d->webrtc, d->round);
                return G_SOURCE_REMOVE;
            },
            new Data{self_, webrtc, round + 1},
            [](gpointer data) { delete static_cast<Data*>(data); });
        gather_timer_ = g_source_attach(timer, ctx_.get());
        g_source_unref(timer);
        return;
    }
    g_autoptr(GstWebRTCSessionDescription) local = nullptr;
    g_object_get(webrtc, "local-description", &local, nullptr);
    if (!local) {
        error("no local description");
        state_ = BotState::Failed;
        return;
    }
    const std::string sdp = sdp_text(local->sdp);
    if (janus()) {
        janus_send_gathered(webrtc, sdp);
        return;
    }
    g_main_context_push_thread_default(ctx_.get());
    SoupMessage* msg = soup_message_new("POST", options_.url.c_str());
    if (!msg) {
        g_main_context_pop_thread_default(ctx_.get());
        error("bad URL: " + options_.url);
        state_ = BotState::Failed;
        return;
    }
    g_autoptr(GBytes) body = g_bytes_new(sdp.data(), sdp.size());
    soup_message_set_request_body_from_bytes(msg, "application/sdp", body);
    if (!options_.token.empty()) {
        std::string bearer = "Bearer " + options_.token;
        soup_message_headers_replace(soup_message_get_request_headers(msg), "Authorization",
                                     bearer.c_str());
    }
    log("POST %s (%zu bytes of SDP)", options_.url.c_str(), sdp.size());
    if (options_.verbose)
        log("-> %.*s", log_limit(), sdp.c_str());
    struct Data {
        std::weak_ptr<Bot*> self;
        GstElement* webrtc;
        SoupMessage* msg;
    };
    soup_session_send_and_read_async(
        http_.get(), msg, G_PRIORITY_DEFAULT, cancel_.get(),
        [](GObject* source, GAsyncResult* result, gpointer data) {
            auto* d = static_cast<Data*>(data);
            GError* err = nullptr;
            GBytes* bytes = soup_session_send_and_read_finish(SOUP_SESSION(source), result, &err);
            if (auto self = d->self.lock())
                (*self)->on_http_answer(d->webrtc, d->msg, bytes, err);
            if (bytes)
                g_bytes_unref(bytes);
            if (err)
                g_error_free(err);
            g_object_unref(d->msg);
            delete d;
        },
        new Data{self_, webrtc, msg});
    g_main_context_pop_thread_default(ctx_.get());
}

void Bot::on_http_answer(GstElement* webrtc, SoupMessage* msg, GBytes* body, const GError* err)
{
    const char* what = to_string(options_.mode);
    if (state_ != BotState::Joining)
        return;
    if (!body) {
        error(std::string(what) + ": POST failed: " + (err ? err->message : "?"));
        state_ = BotState::Failed;
        return;
    }
    gsize size = 0;
    const char* data = static_cast<const char*>(g_bytes_get_data(body, &size));
    const std::string text(data ? data : "", size);
    const guint status = soup_message_get_status(msg);
    if (status != SOUP_STATUS_CREATED) {
        error(std::string(what) + ": HTTP " + std::to_string(status) + ": " + text);
        state_ = BotState::Failed;
        return;
    }
    const char* location =
        soup_message_headers_get_one(soup_message_get_response_headers(msg), "Location");
    if (location) {
        g_autoptr(GError) uri_err = nullptr;
        g_autofree gchar* resolved =
            g_uri_resolve_relative(options_.url.c_str(), location, G_URI_FLAGS_NONE, &uri_err);
        resource_url_ = resolved ? resolved : "";
        const char* slash = strrchr(location, '/');
        participant_id_ = slash ? slash + 1 : location;
    } else {
        error(std::string(what) + ": the 201 has no Location: DELETE will not be possible");
    }
    if (options_.verbose)
        log("<- %.*s", log_limit(), text.c_str());
    GstWebRTCSessionDescription* answer = parse_sdp(text, GST_WEBRTC_SDP_TYPE_ANSWER);
    if (!answer) {
        error(std::string(what) + ": the answer does not parse as SDP");
        state_ = BotState::Failed;
        return;
    }
    GstPromise* promise = gst_promise_new();
    g_signal_emit_by_name(webrtc, "set-remote-description", answer, promise);
    std::string perr = promise_error(promise);
    gst_webrtc_session_description_free(answer);
    if (!perr.empty()) {
        error(std::string(what) + ": set-remote-description failed: " + perr);
        state_ = BotState::Failed;
        return;
    }
    if (webrtc == pub_)
        publish_answers_++;
    else if (!subscribe_sdp_us_)
        subscribe_sdp_us_ = g_get_monotonic_time();
    state_ = BotState::Joined;
    log("%s session %s", what, resource_url_.c_str());
}

void Bot::on_http_deleted()
{
    state_ = BotState::Left;
    stop_pipeline();
}

}  // namespace zumzi::bot
