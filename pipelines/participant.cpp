#include "participant.h"

#include <gst/rtp/rtp.h>
#include <gst/sdp/sdp.h>
#include <gst/webrtc/webrtc.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "composite.h"
#include "room.h"
#include "send_path.h"

GST_DEBUG_CATEGORY_STATIC(zumzi_participant_debug);
#define GST_CAT_DEFAULT zumzi_participant_debug

namespace zumzi::media {

namespace {

// How long an answer or offer waits for the caps of its send pads (their
// SSRCs) and for ICE gathering (non-trickle WHIP/WHEP answers) before it
// goes with what there is.
constexpr unsigned kCapsWaitMs = 3000;
constexpr unsigned kGatherWaitMs = 5000;

bool gathering_complete(GstElement* webrtc)
{
    GstWebRTCICEGatheringState state = GST_WEBRTC_ICE_GATHERING_STATE_NEW;
    g_object_get(webrtc, "ice-gathering-state", &state, nullptr);
    return state == GST_WEBRTC_ICE_GATHERING_STATE_COMPLETE;
}

void init_debug()
{
    static gsize once = 0;
    if (g_once_init_enter(&once)) {
        GST_DEBUG_CATEGORY_INIT(zumzi_participant_debug, "zumzi-participant", 0,
                                "Zumzi participant sessions");
        g_once_init_leave(&once, 1);
    }
}

// User data of signal handlers and promises: never a raw Participant*, only
// a weak reference that is locked on the main context.
struct SignalContext {
    GMainContext* ctx;
    std::weak_ptr<Participant> self;
    Session session;
    SignalContext(GMainContext* c, std::weak_ptr<Participant> s, Session sess)
        : ctx(g_main_context_ref(c)), self(std::move(s)), session(sess)
    {
    }
    ~SignalContext() { g_main_context_unref(ctx); }
};

void delete_signal_context(gpointer data, GClosure*)
{
    delete static_cast<SignalContext*>(data);
}

std::string promise_error(GstPromise* promise)
{
    if (gst_promise_wait(promise) != GST_PROMISE_RESULT_REPLIED)
        return "promise not replied";
    const GstStructure* reply = gst_promise_get_reply(promise);
    if (!reply)
        return {};
    if (gst_structure_has_field(reply, "error")) {
        GError* error = nullptr;
        gst_structure_get(reply, "error", G_TYPE_ERROR, &error, nullptr);
        std::string message = error ? error->message : "unknown error";
        if (error)
            g_error_free(error);
        return message;
    }
    return {};
}

std::string sdp_text(GstWebRTCSessionDescription* desc)
{
    gchar* text = gst_sdp_message_as_text(desc->sdp);
    std::string sdp = text ? text : "";
    g_free(text);
    return sdp;
}

GstWebRTCSessionDescription* parse_sdp(const std::string& sdp, GstWebRTCSDPType type)
{
    GstSDPMessage* msg = nullptr;
    if (sdp.empty())
        return nullptr;
    if (gst_sdp_message_new_from_text(sdp.c_str(), &msg) != GST_SDP_OK)
        return nullptr;
    if (gst_sdp_message_medias_len(msg) == 0 || !gst_sdp_message_get_version(msg)) {
        gst_sdp_message_free(msg);
        return nullptr;
    }
    return gst_webrtc_session_description_new(type, msg);
}

std::string connection_state_name(GstWebRTCPeerConnectionState state)
{
    switch (state) {
        case GST_WEBRTC_PEER_CONNECTION_STATE_NEW:
            return "new";
        case GST_WEBRTC_PEER_CONNECTION_STATE_CONNECTING:
            return "connecting";
        case GST_WEBRTC_PEER_CONNECTION_STATE_CONNECTED:
            return "connected";
        case GST_WEBRTC_PEER_CONNECTION_STATE_DISCONNECTED:
            return "disconnected";
        case GST_WEBRTC_PEER_CONNECTION_STATE_FAILED:
            return "failed";
        case GST_WEBRTC_PEER_CONNECTION_STATE_CLOSED:
            return "closed";
    }
    return "unknown";
}

// --- webrtcbin signal handlers (webrtcbin and streaming threads) ---------

void on_ice_candidate(GstElement*, guint mline, gchar* candidate, gpointer data)
{
    auto* sc = static_cast<SignalContext*>(data);
    std::string cand = candidate;
    auto self = sc->self;
    Session session = sc->session;
    post_to_main(sc->ctx, [self, session, mline, cand]() {
        auto p = self.lock();
        if (p && p->callbacks().on_ice_candidate)
            p->callbacks().on_ice_candidate(session, mline, cand);
    });
}

void on_connection_state_notify(GstElement* webrtc, GParamSpec*, gpointer data)
{
    auto* sc = static_cast<SignalContext*>(data);
    GstWebRTCPeerConnectionState state;
    g_object_get(webrtc, "connection-state", &state, nullptr);
    auto self = sc->self;
    Session session = sc->session;
    std::string name = connection_state_name(state);
    post_to_main(sc->ctx, [self, session, name]() {
        if (auto p = self.lock())
            p->on_connection_state(session, name);
    });
}

// Something a wait of the participant depends on changed (a send pad's
// caps, a session's ICE gathering state; any thread): the waits check again.
void on_wait_notify(GObject*, GParamSpec*, gpointer data)
{
    auto* sc = static_cast<SignalContext*>(data);
    auto self = sc->self;
    post_to_main(sc->ctx, [self]() {
        if (auto p = self.lock())
            p->poke_waits();
    });
}

void on_new_jitterbuffer(GstElement*, GstElement* jitterbuffer, guint, guint, gpointer)
{
    // On a loss-free link it only sends pointless NACKs (~10/s per stream).
    g_object_set(jitterbuffer, "rtx-next-seqnum", FALSE, nullptr);
    GST_DEBUG_OBJECT(jitterbuffer, "rtx-next-seqnum off");
}

// The client is alive: an RTP packet of one of its published tracks
// entered the engine (tee probe), or an RTCP report of its arrived on
// either session (rtpbin's on-ssrc-active). Both only store a time.
using LastRx = std::shared_ptr<std::atomic<gint64>>;

GstPadProbeReturn on_received(GstPad*, GstPadProbeInfo*, gpointer data)
{
    (*static_cast<LastRx*>(data))->store(g_get_monotonic_time());
    return GST_PAD_PROBE_OK;
}

void on_ssrc_active(GstElement*, guint, guint, gpointer data)
{
    (*static_cast<LastRx*>(data))->store(g_get_monotonic_time());
}

void delete_last_rx(gpointer data)
{
    delete static_cast<LastRx*>(data);
}

void delete_last_rx_closure(gpointer data, GClosure*)
{
    delete static_cast<LastRx*>(data);
}

}  // namespace

// Probe data of one publisher src pad's tee.
struct PublishPadProbe {
    std::shared_ptr<Participant::PublishState> state;
    std::shared_ptr<KeyframeGate> gate;
    std::string mid;
    bool announced = false;
};

namespace {

void delete_pad_probe(gpointer data)
{
    delete static_cast<PublishPadProbe*>(data);
}

// Downstream events entering the tee: announce the track on its first caps;
// swallow EOS (an ended or inactive publisher m-line) so that it never
// reaches a subscriber session, where it would stop its other tracks.
GstPadProbeReturn on_tee_downstream_event(GstPad* pad, GstPadProbeInfo* info, gpointer data)
{
    auto* probe = static_cast<PublishPadProbe*>(data);
    GstEvent* event = GST_PAD_PROBE_INFO_EVENT(info);
    auto self = probe->state->self;
    std::string mid = probe->mid;
    if (GST_EVENT_TYPE(event) == GST_EVENT_CAPS && !probe->announced) {
        probe->announced = true;
        GstCaps* caps = nullptr;
        gst_event_parse_caps(event, &caps);
        auto caps_ref = std::shared_ptr<GstCaps>(gst_caps_ref(caps), GstCapsUnref{});
        auto tee = shared_adopt(gst_pad_get_parent_element(pad));
        auto gate = probe->gate;
        post_to_main(probe->state->ctx, [self, tee, caps_ref, mid, gate]() {
            if (auto p = self.lock())
                p->on_publish_pad_ready(tee.get(), caps_ref.get(), mid, gate);
        });
    } else if (GST_EVENT_TYPE(event) == GST_EVENT_EOS) {
        post_to_main(probe->state->ctx, [self, mid]() {
            if (auto p = self.lock())
                p->on_publish_pad_ended(mid);
        });
        return GST_PAD_PROBE_DROP;
    }
    return GST_PAD_PROBE_OK;
}

// Upstream keyframe requests from subscribers (their PLI/FIR): rate-limit,
// and re-stamp with the publisher's own SSRC and payload type, which is what
// its rtpsession needs to send a PLI.
GstPadProbeReturn on_tee_upstream_event(GstPad* pad, GstPadProbeInfo* info, gpointer data)
{
    auto* probe = static_cast<PublishPadProbe*>(data);
    GstEvent* event = GST_PAD_PROBE_INFO_EVENT(info);
    const GstStructure* s = gst_event_get_structure(event);
    if (GST_EVENT_TYPE(event) != GST_EVENT_CUSTOM_UPSTREAM || !s ||
        !gst_structure_has_name(s, "GstForceKeyUnit"))
        return GST_PAD_PROBE_OK;
    gint64 now = g_get_monotonic_time();
    gint64 last = probe->gate->last_us.load();
    if (now - last < probe->gate->min_interval_us ||
        !probe->gate->last_us.compare_exchange_strong(last, now))
        return GST_PAD_PROBE_DROP;
    GstCaps* caps = gst_pad_get_current_caps(pad);
    if (!caps)
        return GST_PAD_PROBE_DROP;
    const GstStructure* cs = gst_caps_get_structure(caps, 0);
    guint ssrc = 0;
    gint pt = -1;
    gst_structure_get_uint(cs, "ssrc", &ssrc);
    gst_structure_get_int(cs, "payload", &pt);
    gst_caps_unref(caps);
    std::shared_ptr<RtpSender> feedback;
    {
        std::lock_guard<std::mutex> guard(probe->state->lock);
        feedback = probe->state->feedback;
    }
    if (feedback && feedback->request_keyframe(ssrc)) {
        GST_DEBUG("PLI sent to ssrc %u", ssrc);
        return GST_PAD_PROBE_DROP;
    }
    // rtpsession sends it (as early RTCP) if the event names the
    // publisher's ssrc and payload type.
    gst_event_unref(event);
    GST_PAD_PROBE_INFO_DATA(info) = make_force_key_unit(ssrc, pt);
    GST_DEBUG("keyframe request forwarded to ssrc %u pt %d", ssrc, pt);
    return GST_PAD_PROBE_OK;
}

// --- Header extension ids ----------------------------------------------
// Each publisher picks its own a=extmap ids; one subscribe session (one
// BUNDLE) carries packets of many publishers and webrtcbin builds its offer
// from the forwarded caps. Two publishers could then declare the same id
// for different URIs in one offer, or one URI under several ids. So what
// leaves a publisher's src pad is renumbered once, for every subscriber:
// its caps declare only the audio level, under kForwardedAudioLevelId; its
// packets carry the audio level under that id, and an extension that sat
// there moves to kParkedExtensionId, which nobody declares. Publishers that
// already use the forwarded ids (Chromium, Firefox, the bots) cost nothing:
// the packet probe is added only when an id changes.

// Publisher id -> forwarded id (0: unchanged).
struct HdrextMap {
    guint8 to[256] = {};
};

void delete_hdrext_map(gpointer data)
{
    delete static_cast<HdrextMap*>(data);
}

// The URI of an "extmap-<id>" caps field: a string, or an array
// <direction, uri, attributes>.
const gchar* extmap_uri(const GValue* value)
{
    if (G_VALUE_HOLDS_STRING(value))
        return g_value_get_string(value);
    if (GST_VALUE_HOLDS_ARRAY(value) && gst_value_array_get_size(value) >= 2) {
        const GValue* uri = gst_value_array_get_value(value, 1);
        return G_VALUE_HOLDS_STRING(uri) ? g_value_get_string(uri) : nullptr;
    }
    return nullptr;
}

// Renumbers the header extensions of one packet in place (one-byte and
// two-byte forms, RFC 8285).
void renumber_extensions(GstBuffer** buffer, const HdrextMap& map)
{
    *buffer = gst_buffer_make_writable(*buffer);
    GstRTPBuffer rtp = GST_RTP_BUFFER_INIT;
    if (!gst_rtp_buffer_map(*buffer, GST_MAP_READWRITE, &rtp))
        return;
    guint16 bits = 0;
    gpointer pointer = nullptr;
    guint words = 0;
    if (gst_rtp_buffer_get_extension_data(&rtp, &bits, &pointer, &words)) {
        auto* data = static_cast<guint8*>(pointer);
        const guint size = words * 4;
        guint at = 0;
        if (bits == 0xBEDE) {
            while (at < size) {
                const guint8 b = data[at];
                if (b == 0) {  // padding
                    at++;
                    continue;
                }
                const guint8 id = b >> 4;
                if (id == 15)
                    break;
                if (map.to[id])
                    data[at] = static_cast<guint8>((map.to[id] << 4) | (b & 0x0f));
                at += 2 + (b & 0x0f);
            }
        } else if ((bits & 0xfff0) == 0x1000) {
            while (at + 1 < size) {
                const guint8 id = data[at];
                if (id == 0) {
                    at++;
                    continue;
                }
                if (map.to[id])
                    data[at] = map.to[id];
                at += 2 + data[at + 1];
            }
        }
    }
    gst_rtp_buffer_unmap(&rtp);
}

GstPadProbeReturn on_publisher_packets(GstPad*, GstPadProbeInfo* info, gpointer data)
{
    const auto& map = *static_cast<HdrextMap*>(data);
    if (GST_PAD_PROBE_INFO_TYPE(info) & GST_PAD_PROBE_TYPE_BUFFER) {
        GstBuffer* buffer = GST_PAD_PROBE_INFO_BUFFER(info);
        renumber_extensions(&buffer, map);
        GST_PAD_PROBE_INFO_DATA(info) = buffer;
    } else if (GST_PAD_PROBE_INFO_TYPE(info) & GST_PAD_PROBE_TYPE_BUFFER_LIST) {
        GstBufferList* list = gst_buffer_list_make_writable(GST_PAD_PROBE_INFO_BUFFER_LIST(info));
        for (guint i = 0; i < gst_buffer_list_length(list); i++) {
            GstBuffer* buffer = gst_buffer_list_get_writable(list, i);
            renumber_extensions(&buffer, map);  // writable: stays the same buffer
        }
        GST_PAD_PROBE_INFO_DATA(info) = list;
    }
    return GST_PAD_PROBE_OK;
}

// The caps leaving a publisher src pad: every extmap field out, the audio
// level back in under the forwarded id; a packet probe if ids change.
GstPadProbeReturn on_publisher_caps(GstPad* pad, GstPadProbeInfo* info, gpointer data)
{
    GstEvent* event = GST_PAD_PROBE_INFO_EVENT(info);
    if (GST_EVENT_TYPE(event) != GST_EVENT_CAPS)
        return GST_PAD_PROBE_OK;
    auto* installed = static_cast<gboolean*>(data);
    GstCaps* caps = nullptr;
    gst_event_parse_caps(event, &caps);
    GstCaps* out = gst_caps_copy(caps);
    GstStructure* s = gst_caps_get_structure(out, 0);
    auto map = std::make_unique<HdrextMap>();
    bool renumber = false;
    bool level = false;
    std::vector<std::string> fields;
    for (gint i = 0; i < gst_structure_n_fields(s); i++)
        if (g_str_has_prefix(gst_structure_nth_field_name(s, i), "extmap-"))
            fields.emplace_back(gst_structure_nth_field_name(s, i));
    for (const auto& field : fields) {
        const gint64 id = g_ascii_strtoll(field.c_str() + 7, nullptr, 10);
        const gchar* uri = extmap_uri(gst_structure_get_value(s, field.c_str()));
        if (id >= 1 && id <= 255 && uri) {
            const bool is_level = g_str_equal(uri, kAudioLevelUri);
            level = level || is_level;
            if (is_level && id != kForwardedAudioLevelId) {
                map->to[id] = kForwardedAudioLevelId;
                renumber = true;
            } else if (!is_level && id == kForwardedAudioLevelId) {
                map->to[id] = kParkedExtensionId;
                renumber = true;
            }
        }
        gst_structure_remove_field(s, field.c_str());
    }
    if (level) {
        const std::string field = "extmap-" + std::to_string(kForwardedAudioLevelId);
        gst_structure_set(s, field.c_str(), G_TYPE_STRING, kAudioLevelUri, nullptr);
    }
    gst_event_unref(event);
    GST_PAD_PROBE_INFO_DATA(info) = gst_event_new_caps(out);
    gst_caps_unref(out);
    if (renumber && !*installed) {
        *installed = TRUE;
        GST_INFO_OBJECT(pad, "renumbering the publisher's header extensions");
        gst_pad_add_probe(pad,
                          static_cast<GstPadProbeType>(GST_PAD_PROBE_TYPE_BUFFER |
                                                       GST_PAD_PROBE_TYPE_BUFFER_LIST),
                          on_publisher_packets, map.release(), delete_hdrext_map);
    }
    return GST_PAD_PROBE_OK;
}

// A publisher src pad appeared (streaming thread): link it to a tee right
// here, so no packet ever meets an unlinked pad, then let the probes report.
void on_publish_pad_added(GstElement* webrtc, GstPad* pad, gpointer data)
{
    if (GST_PAD_DIRECTION(pad) != GST_PAD_SRC)
        return;
    auto state = *static_cast<std::shared_ptr<Participant::PublishState>*>(data);
    std::string mid;
    GstWebRTCRTPTransceiver* transceiver = nullptr;
    if (g_object_class_find_property(G_OBJECT_GET_CLASS(pad), "transceiver"))
        g_object_get(pad, "transceiver", &transceiver, nullptr);
    if (transceiver) {
        gchar* m = nullptr;
        g_object_get(transceiver, "mid", &m, nullptr);
        if (m)
            mid = m;
        g_free(m);
        gst_object_unref(transceiver);
    }
    if (mid.empty())
        mid = GST_PAD_NAME(pad);

    GstElement* tee = gst_element_factory_make("tee", nullptr);
    g_object_set(tee, "allow-not-linked", TRUE, nullptr);
    GstObject* parent = gst_element_get_parent(webrtc);
    if (!parent) {
        gst_object_unref(gst_object_ref_sink(tee));
        return;
    }
    gst_bin_add(GST_BIN(parent), tee);
    gst_object_unref(parent);
    GstPad* sink = gst_element_get_static_pad(tee, "sink");
    auto gate = std::make_shared<KeyframeGate>();
    gate->min_interval_us = state->keyframe_interval_us;
    gst_pad_add_probe(sink, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, on_tee_downstream_event,
                      new PublishPadProbe{state, gate, mid}, delete_pad_probe);
    gst_pad_add_probe(sink, GST_PAD_PROBE_TYPE_EVENT_UPSTREAM, on_tee_upstream_event,
                      new PublishPadProbe{state, gate, mid}, delete_pad_probe);
    gst_pad_add_probe(
        sink,
        static_cast<GstPadProbeType>(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST),
        on_received, new LastRx(state->last_rx), delete_last_rx);
    gst_element_sync_state_with_parent(tee);
    gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, on_publisher_caps,
                      g_new0(gboolean, 1), g_free);
    if (gst_pad_link(pad, sink) != GST_PAD_LINK_OK)
        GST_WARNING("could not link publisher pad %s", GST_PAD_NAME(pad));
    gst_object_unref(sink);
    std::lock_guard<std::mutex> guard(state->lock);
    state->tees.emplace_back(GST_ELEMENT(gst_object_ref(tee)));
    GST_DEBUG("publisher pad %s (mid %s) -> tee", GST_PAD_NAME(pad), mid.c_str());
}

void delete_publish_state(gpointer data, GClosure*)
{
    delete static_cast<std::shared_ptr<Participant::PublishState>*>(data);
}

// Promise plumbing: each step runs on webrtcbin's thread and posts only the
// result to the main context.
struct PromiseOp {
    GMainContext* ctx;
    std::weak_ptr<Participant> self;
    GstPtr<GstElement> webrtc;
    Participant::AnswerCallback done;
    std::string sdp;
    bool publish = false;     // the publish session (not a WHEP view)
    unsigned start_kbps = 0;  // publish: x-google-start-bitrate for video, 0: none
};

void delete_op(gpointer data)
{
    delete static_cast<PromiseOp*>(data);
}

void post_answer(PromiseOp* op, bool ok, const std::string& text)
{
    auto self = op->self;
    auto done = op->done;
    post_to_main(op->ctx, [self, done, ok, text]() {
        if (self.lock() && done)
            done(ok, text);
    });
}

void on_publish_local_set(GstPromise* promise, gpointer data)
{
    auto* op = static_cast<PromiseOp*>(data);
    std::string error = promise_error(promise);
    if (error.empty())
        post_answer(op, true, op->sdp);
    else
        post_answer(op, false, "set-local-description: " + error);
}

// webrtcbin 1.22 answers no a=extmap at all: accept the header extensions
// the engine reads (the audio level, for the talking indicator and last-N)
// with the id the client offered, so that the client sends them. Forwarded
// packets keep them as they are.
void accept_header_extensions(GstElement* webrtc, GstSDPMessage* answer)
{
    GstWebRTCSessionDescription* offer = nullptr;
    g_object_get(webrtc, "remote-description", &offer, nullptr);
    if (!offer)
        return;
    const guint n =
        std::min(gst_sdp_message_medias_len(offer->sdp), gst_sdp_message_medias_len(answer));
    for (guint i = 0; i < n; i++) {
        const GstSDPMedia* offered = gst_sdp_message_get_media(offer->sdp, i);
        GstSDPMedia* answered = const_cast<GstSDPMedia*>(gst_sdp_message_get_media(answer, i));
        if (g_strcmp0(gst_sdp_media_get_attribute_val(offered, "mid"),
                      gst_sdp_media_get_attribute_val(answered, "mid")) != 0)
            continue;
        for (guint j = 0;; j++) {
            const gchar* v = gst_sdp_media_get_attribute_val_n(offered, "extmap", j);
            if (!v)
                break;
            gchar** parts = g_strsplit(v, " ", 3);
            if (parts[0] && parts[1] &&
                (g_str_equal(parts[1], kAudioLevelUri) || g_str_equal(parts[1], kTwccUri))) {
                bool present = false;
                for (guint k = 0;; k++) {
                    const gchar* a = gst_sdp_media_get_attribute_val_n(answered, "extmap", k);
                    if (!a)
                        break;
                    present = present || strstr(a, parts[1]) != nullptr;
                }
                if (!present) {
                    // "<id>[/direction]": the answer keeps the id only.
                    gchar* id = g_strdup(parts[0]);
                    if (gchar* slash = strchr(id, '/'))
                        *slash = '\0';
                    gchar* line = g_strdup_printf("%s %s", id, parts[1]);
                    gst_sdp_media_add_attribute(answered, "extmap", line);
                    g_free(line);
                    g_free(id);
                }
            }
            g_strfreev(parts);
        }
    }
    gst_webrtc_session_description_free(offer);
}

// A browser's bandwidth estimate starts low (Chromium: 300 kbps) and its
// encoder at a matching size: in an HD room the picture stays small for
// many seconds. x-google-start-bitrate in the fmtp of the codecs it sends
// (Chromium reads it from the remote description) starts the estimate at
// the room's target instead; other clients ignore the parameter.
void set_start_bitrate(GstSDPMessage* answer, unsigned kbps)
{
    const std::string param = "x-google-start-bitrate=" + std::to_string(kbps);
    for (guint i = 0; i < gst_sdp_message_medias_len(answer); i++) {
        GstSDPMedia* media = const_cast<GstSDPMedia*>(gst_sdp_message_get_media(answer, i));
        if (g_strcmp0(gst_sdp_media_get_media(media), "video") != 0 ||
            gst_sdp_media_get_port(media) == 0)
            continue;
        for (guint f = 0; f < gst_sdp_media_formats_len(media); f++) {
            const std::string pt = gst_sdp_media_get_format(media, f);
            // Only real codecs: not retransmission or FEC.
            std::string codec;
            for (guint a = 0;; a++) {
                const gchar* v = gst_sdp_media_get_attribute_val_n(media, "rtpmap", a);
                if (!v)
                    break;
                if (g_str_has_prefix(v, (pt + " ").c_str()))
                    codec = v + pt.size() + 1;
            }
            codec = codec.substr(0, codec.find('/'));
            if (codec.empty() || !g_ascii_strcasecmp(codec.c_str(), "rtx") ||
                !g_ascii_strcasecmp(codec.c_str(), "red") ||
                !g_ascii_strcasecmp(codec.c_str(), "ulpfec") ||
                !g_ascii_strcasecmp(codec.c_str(), "flexfec-03"))
                continue;
            bool done = false;
            for (guint a = 0; a < gst_sdp_media_attributes_len(media) && !done; a++) {
                const GstSDPAttribute* attr = gst_sdp_media_get_attribute(media, a);
                if (g_strcmp0(attr->key, "fmtp") != 0 || !attr->value ||
                    !g_str_has_prefix(attr->value, (pt + " ").c_str()))
                    continue;
                done = true;
                if (strstr(attr->value, "x-google-start-bitrate"))
                    break;
                GstSDPAttribute replaced;
                gst_sdp_attribute_set(&replaced, "fmtp",
                                      (std::string(attr->value) + ";" + param).c_str());
                gst_sdp_media_replace_attribute(media, a, &replaced);
            }
            if (!done)
                gst_sdp_media_add_attribute(media, "fmtp", (pt + " " + param).c_str());
        }
    }
}

void on_publish_answer_created(GstPromise* promise, gpointer data)
{
    auto* op = static_cast<PromiseOp*>(data);
    std::string error = promise_error(promise);
    GstWebRTCSessionDescription* answer = nullptr;
    if (error.empty()) {
        const GstStructure* reply = gst_promise_get_reply(promise);
        if (reply)
            gst_structure_get(reply, "answer", GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &answer,
                              nullptr);
        if (!answer)
            error = "no answer";
    }
    if (!error.empty()) {
        post_answer(op, false, "create-answer: " + error);
        return;
    }
    if (op->publish) {
        accept_header_extensions(op->webrtc.get(), answer->sdp);
        if (op->start_kbps)
            set_start_bitrate(answer->sdp, op->start_kbps);
    }
    auto* next = new PromiseOp{op->ctx, op->self,
                               GstPtr<GstElement>(GST_ELEMENT(gst_object_ref(op->webrtc.get()))),
                               op->done, sdp_text(answer)};
    GstPromise* p = gst_promise_new_with_change_func(on_publish_local_set, next, delete_op);
    g_signal_emit_by_name(op->webrtc.get(), "set-local-description", answer, p);
    gst_promise_unref(p);
    gst_webrtc_session_description_free(answer);
}

void on_publish_remote_set(GstPromise* promise, gpointer data)
{
    auto* op = static_cast<PromiseOp*>(data);
    std::string error = promise_error(promise);
    if (!error.empty()) {
        post_answer(op, false, "set-remote-description: " + error);
        return;
    }
    auto* next = new PromiseOp{
        op->ctx,       op->self, GstPtr<GstElement>(GST_ELEMENT(gst_object_ref(op->webrtc.get()))),
        op->done,      {},       op->publish,
        op->start_kbps};
    GstPromise* p = gst_promise_new_with_change_func(on_publish_answer_created, next, delete_op);
    g_signal_emit_by_name(op->webrtc.get(), "create-answer", nullptr, p);
    gst_promise_unref(p);
}

void on_subscribe_local_set(GstPromise* promise, gpointer data)
{
    auto* op = static_cast<PromiseOp*>(data);
    std::string error = promise_error(promise);
    auto self = op->self;
    std::string sdp = op->sdp;
    post_to_main(op->ctx, [self, error, sdp]() {
        if (auto p = self.lock())
            p->on_offer_created(error, sdp);
    });
}

void on_subscribe_offer_created(GstPromise* promise, gpointer data)
{
    auto* op = static_cast<PromiseOp*>(data);
    std::string error = promise_error(promise);
    GstWebRTCSessionDescription* offer = nullptr;
    if (error.empty()) {
        const GstStructure* reply = gst_promise_get_reply(promise);
        if (reply)
            gst_structure_get(reply, "offer", GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &offer, nullptr);
        if (!offer)
            error = "no offer";
    }
    if (!error.empty()) {
        auto self = op->self;
        post_to_main(op->ctx, [self, error]() {
            if (auto p = self.lock())
                p->on_offer_created("create-offer: " + error, {});
        });
        return;
    }
    auto* next = new PromiseOp{op->ctx, op->self,
                               GstPtr<GstElement>(GST_ELEMENT(gst_object_ref(op->webrtc.get()))),
                               nullptr, sdp_text(offer)};
    GstPromise* p = gst_promise_new_with_change_func(on_subscribe_local_set, next, delete_op);
    g_signal_emit_by_name(op->webrtc.get(), "set-local-description", offer, p);
    gst_promise_unref(p);
    gst_webrtc_session_description_free(offer);
}

void on_subscribe_remote_set(GstPromise* promise, gpointer data)
{
    auto* op = static_cast<PromiseOp*>(data);
    std::string error = promise_error(promise);
    auto self = op->self;
    post_to_main(op->ctx, [self, error]() {
        if (auto p = self.lock())
            p->on_subscribe_answer_applied(error);
    });
}

}  // namespace

std::string sdp_media_msid(const GstSDPMedia* media)
{
    if (const gchar* v = gst_sdp_media_get_attribute_val(media, "msid"))
        return v;
    for (guint i = 0;; i++) {
        const gchar* v = gst_sdp_media_get_attribute_val_n(media, "ssrc", i);
        if (!v)
            break;
        const gchar* m = strstr(v, " msid:");
        if (m)
            return m + 6;
    }
    return {};
}

const char* to_string(Session session)
{
    return session == Session::Publish ? "publish" : "subscribe";
}

Participant::Participant(std::string id, std::weak_ptr<Room> room, GMainContext* ctx, GstBin* bin,
                         const MediaConfig& config, ParticipantCallbacks callbacks)
    : id_(std::move(id)),
      room_(std::move(room)),
      ctx_(ctx),
      bin_(GST_BIN(gst_object_ref(bin))),
      config_(config),
      callbacks_(std::move(callbacks))
{
    init_debug();
    // The publish session is created by the first publish offer
    // (publish_session()): a webrtcbin costs two threads even when idle.
    GstElement* sub = gst_element_factory_make("webrtcbin", nullptr);
    subscribe_.reset(GST_ELEMENT(gst_object_ref_sink(sub)));
    configure_webrtcbin(subscribe_.get(), config_);
    drop_rtx_sender(subscribe_.get());
    sender_ = std::make_unique<RtpSender>(subscribe_.get());
}

Participant::~Participant()
{
    shutdown();
}

void Participant::connect_session_signals(GstElement* webrtc, Session session)
{
    auto weak = weak_from_this();
    g_signal_connect_data(webrtc, "on-ice-candidate", G_CALLBACK(on_ice_candidate),
                          new SignalContext(ctx_, weak, session), delete_signal_context,
                          GConnectFlags(0));
    g_signal_connect_data(
        webrtc, "notify::connection-state", G_CALLBACK(on_connection_state_notify),
        new SignalContext(ctx_, weak, session), delete_signal_context, GConnectFlags(0));
    g_signal_connect_data(
        webrtc, "notify::ice-gathering-state", G_CALLBACK(on_wait_notify),
        new SignalContext(ctx_, weak, session), delete_signal_context, GConnectFlags(0));
    // RTCP from the client marks the participant alive (media silence timeout).
    if (GstElement* rtpbin = gst_bin_get_by_name(GST_BIN(webrtc), "rtpbin")) {
        g_signal_connect_data(rtpbin, "on-ssrc-active", G_CALLBACK(on_ssrc_active),
                              new LastRx(last_rx_), delete_last_rx_closure, GConnectFlags(0));
        gst_object_unref(rtpbin);
    }
}

void Participant::start()
{
    publish_state_ = std::make_shared<PublishState>();
    publish_state_->ctx = ctx_;
    publish_state_->self = weak_from_this();
    publish_state_->keyframe_interval_us =
        static_cast<gint64>(config_.keyframe_min_interval_ms) * 1000;
    publish_state_->last_rx = last_rx_;

    connect_session_signals(subscribe_.get(), Session::Subscribe);
    // The bin takes a reference of its own (our GstPtrs already own the
    // sunk floating ones): an extra ref here would keep both alive forever.
    gst_bin_add(bin_.get(), subscribe_.get());
    gst_element_sync_state_with_parent(subscribe_.get());
}

GstElement* Participant::publish_session()
{
    if (publish_)
        return publish_.get();
    if (closed_ || !bin_ || !publish_state_)
        return nullptr;
    GstElement* pub = gst_element_factory_make("webrtcbin", nullptr);
    if (!pub)
        return nullptr;
    publish_.reset(GST_ELEMENT(gst_object_ref_sink(pub)));
    configure_webrtcbin(publish_.get(), config_);
    g_signal_connect_data(publish_.get(), "pad-added", G_CALLBACK(on_publish_pad_added),
                          new std::shared_ptr<PublishState>(publish_state_), delete_publish_state,
                          GConnectFlags(0));
    connect_session_signals(publish_.get(), Session::Publish);
    feedback_ = std::make_shared<RtpSender>(publish_.get(), RtpSender::Role::Feedback);
    {
        std::lock_guard<std::mutex> guard(publish_state_->lock);
        publish_state_->feedback = feedback_;
    }
    if (GstElement* rtpbin = gst_bin_get_by_name(GST_BIN(publish_.get()), "rtpbin")) {
        g_signal_connect(rtpbin, "new-jitterbuffer", G_CALLBACK(on_new_jitterbuffer), nullptr);
        gst_object_unref(rtpbin);
    }
    gst_bin_add(bin_.get(), publish_.get());
    gst_element_sync_state_with_parent(publish_.get());
    GST_DEBUG("%s: publish session created", id_.c_str());
    return publish_.get();
}

bool Participant::publish_offer(const std::string& sdp, AnswerCallback done, bool complete_ice)
{
    if (closed_)
        return false;
    GstWebRTCSessionDescription* desc = parse_sdp(sdp, GST_WEBRTC_SDP_TYPE_OFFER);
    if (!desc)
        return false;
    GstElement* webrtc = publish_session();
    if (!webrtc) {
        gst_webrtc_session_description_free(desc);
        return false;
    }
    arm_connect_timer(Session::Publish);
    if (complete_ice) {
        // Clients that do not trickle (WHIP) need the candidates in the answer.
        std::weak_ptr<Participant> weak = weak_from_this();
        done = [weak, done](bool ok, const std::string& sdp_or_error) {
            auto p = weak.lock();
            if (!p)
                return;
            if (!ok) {
                if (done)
                    done(false, sdp_or_error);
                return;
            }
            p->finish_when_gathered(p->publish_.get(), done);
        };
    }
    auto room = room_.lock();
    auto* op = new PromiseOp{ctx_,
                             weak_from_this(),
                             GstPtr<GstElement>(GST_ELEMENT(gst_object_ref(webrtc))),
                             std::move(done),
                             {},
                             true,
                             room ? room->video_start_kbps() : 0u};
    GstPromise* promise = gst_promise_new_with_change_func(on_publish_remote_set, op, delete_op);
    g_signal_emit_by_name(webrtc, "set-remote-description", desc, promise);
    gst_promise_unref(promise);
    gst_webrtc_session_description_free(desc);
    return true;
}

bool Participant::subscribe_answer(const std::string& sdp)
{
    if (closed_)
        return false;
    GstWebRTCSessionDescription* desc = parse_sdp(sdp, GST_WEBRTC_SDP_TYPE_ANSWER);
    if (!desc)
        return false;
    auto* op = new PromiseOp{ctx_,
                             weak_from_this(),
                             GstPtr<GstElement>(GST_ELEMENT(gst_object_ref(subscribe_.get()))),
                             nullptr,
                             {}};
    GstPromise* promise = gst_promise_new_with_change_func(on_subscribe_remote_set, op, delete_op);
    g_signal_emit_by_name(subscribe_.get(), "set-remote-description", desc, promise);
    gst_promise_unref(promise);
    gst_webrtc_session_description_free(desc);
    return true;
}

void Participant::add_ice_candidate(Session session, unsigned mline, const std::string& candidate)
{
    if (closed_)
        return;
    GstElement* webrtc = session == Session::Publish ? publish_.get() : subscribe_.get();
    if (!webrtc) {
        GST_WARNING("%s: publish candidate before any publish offer, ignored", id_.c_str());
        return;
    }
    g_signal_emit_by_name(webrtc, "add-ice-candidate", mline, candidate.c_str());
}

std::vector<TrackInfo> Participant::published_tracks() const
{
    auto room = room_.lock();
    if (!room)
        return {};
    std::vector<TrackInfo> tracks;
    for (const auto& track : room->tracks())
        if (track.participant_id == id_)
            tracks.push_back(track);
    return tracks;
}

std::string Participant::remote_msid(const std::string& mid) const
{
    GstWebRTCSessionDescription* desc = nullptr;
    if (!publish_)
        return {};
    g_object_get(publish_.get(), "remote-description", &desc, nullptr);
    if (!desc)
        return {};
    std::string msid;
    for (guint i = 0; i < gst_sdp_message_medias_len(desc->sdp); i++) {
        const GstSDPMedia* media = gst_sdp_message_get_media(desc->sdp, i);
        const gchar* m = gst_sdp_media_get_attribute_val(media, "mid");
        if (!m || mid != m)
            continue;
        msid = sdp_media_msid(media);
    }
    gst_webrtc_session_description_free(desc);
    return msid;
}

int Participant::remote_extmap_id(const std::string& mid, const std::string& uri) const
{
    GstWebRTCSessionDescription* desc = nullptr;
    g_object_get(publish_.get(), "remote-description", &desc, nullptr);
    if (!desc)
        return 0;
    int id = 0;
    for (guint i = 0; i < gst_sdp_message_medias_len(desc->sdp) && !id; i++) {
        const GstSDPMedia* media = gst_sdp_message_get_media(desc->sdp, i);
        const gchar* m = gst_sdp_media_get_attribute_val(media, "mid");
        if (!m || mid != m)
            continue;
        for (guint j = 0;; j++) {
            // "<id>[/<direction>] <uri> [<attributes>]"
            const gchar* v = gst_sdp_media_get_attribute_val_n(media, "extmap", j);
            if (!v)
                break;
            gchar** parts = g_strsplit(v, " ", 3);
            if (parts[0] && parts[1] && uri == parts[1])
                id = atoi(parts[0]);
            g_strfreev(parts);
            if (id)
                break;
        }
    }
    gst_webrtc_session_description_free(desc);
    return id;
}

void Participant::on_publish_pad_ready(GstElement* tee, GstCaps* caps, const std::string& mid,
                                       std::shared_ptr<KeyframeGate> gate)
{
    if (closed_)
        return;
    if (auto room = room_.lock())
        room->on_track_ready(*this, tee, caps, mid, std::move(gate));
}

void Participant::on_publish_pad_ended(const std::string& mid)
{
    if (closed_)
        return;
    if (auto room = room_.lock())
        room->unpublish_track(Room::track_id(id_, mid));
}

void Participant::on_connection_state(Session session, const std::string& state)
{
    if (closed_)
        return;
    GST_DEBUG("%s %s session %s", id_.c_str(), to_string(session), state.c_str());
    if (state == "connected") {
        connected_[static_cast<int>(session)] = true;
        connect_timers_[static_cast<int>(session)].cancel();
        if (session == Session::Subscribe) {
            // DTLS has set the keys: forwarded packets go our own way from
            // the first one on (webrtcbin's if that cannot be).
            sender_->start();
            open_negotiated();
        } else if (feedback_) {
            feedback_->start();  // keyframe requests go straight to the publisher
        }
    }
    // DTLS is up: the earliest moment a keyframe can reach this subscriber.
    if (session == Session::Subscribe && state == "connected")
        request_keyframes();
    if (callbacks_.on_connection_state)
        callbacks_.on_connection_state(session, state);
}

namespace {

// Whether an m-line has the attribute `key` (with or without a value).
bool has_attribute(const GstSDPMedia* media, const char* key)
{
    for (guint i = 0; i < gst_sdp_media_attributes_len(media); i++)
        if (g_strcmp0(gst_sdp_media_get_attribute(media, i)->key, key) == 0)
            return true;
    return false;
}

// The payload type the offer's m-line uses for `codec` ("VP8", "OPUS",
// "H264"), and minimal codec-preferences for it; -1 if it does not list it.
int offer_payload(const GstSDPMedia* media, const TrackInfo& track, CapsPtr& prefs)
{
    for (guint j = 0; j < gst_sdp_media_formats_len(media); j++) {
        const gchar* format = gst_sdp_media_get_format(media, j);
        gint pt = format ? atoi(format) : -1;
        if (pt < 0 || pt > 127)
            continue;
        CapsPtr caps(gst_sdp_media_get_caps_from_media(media, pt));
        if (!caps || gst_caps_is_empty(caps.get()))
            continue;
        const GstStructure* s = gst_caps_get_structure(caps.get(), 0);
        const gchar* name = gst_structure_get_string(s, "encoding-name");
        if (!name || g_ascii_strcasecmp(name, track.codec.c_str()) != 0)
            continue;
        gint clock_rate = 0;
        gst_structure_get_int(s, "clock-rate", &clock_rate);
        // Only what must match: extra fields (profile-level-id, say) could
        // refuse the forwarded caps and stop the publisher for everyone.
        GstCaps* p =
            gst_caps_new_simple("application/x-rtp", "media", G_TYPE_STRING, to_string(track.kind),
                                "encoding-name", G_TYPE_STRING, track.codec.c_str(), "clock-rate",
                                G_TYPE_INT, clock_rate, "payload", G_TYPE_INT, pt, nullptr);
        if (const gchar* params = gst_structure_get_string(s, "encoding-params"))
            gst_caps_set_simple(p, "encoding-params", G_TYPE_STRING, params, nullptr);
        prefs.reset(p);
        return pt;
    }
    return -1;
}

// What one WHEP m-line sends, whichever track feeds it: one SSRC (the
// first track's, which the answer announces), and sequence numbers and
// timestamps that go on where the previous track left off. Shared between
// the main context (set-up) and the streaming thread.
struct ViewRewriter {
    std::mutex lock;
    bool started = false;
    guint32 out_ssrc = 0;  // 0: take the first caps' or packet's
    guint32 in_ssrc = 0;
    guint16 seq_offset = 0;
    guint32 ts_offset = 0;
    guint16 last_seq = 0;
    guint32 last_ts = 0;
    gint64 last_us = 0;
    gint clock_rate = 90000;
};

void rewrite_view_packet(ViewRewriter& r, GstBuffer** buffer)
{
    *buffer = gst_buffer_make_writable(*buffer);
    GstRTPBuffer rtp = GST_RTP_BUFFER_INIT;
    if (!gst_rtp_buffer_map(*buffer, GST_MAP_READWRITE, &rtp))
        return;
    const guint32 ssrc = gst_rtp_buffer_get_ssrc(&rtp);
    const guint16 seq = gst_rtp_buffer_get_seq(&rtp);
    const guint32 ts = gst_rtp_buffer_get_timestamp(&rtp);
    const gint64 now = g_get_monotonic_time();
    std::lock_guard<std::mutex> guard(r.lock);
    if (!r.started) {
        r.started = true;
        if (!r.out_ssrc)
            r.out_ssrc = ssrc;
        r.in_ssrc = ssrc;
        r.last_seq = static_cast<guint16>(seq - 1);
        r.last_ts = ts;
        r.last_us = now;
    } else if (ssrc != r.in_ssrc) {
        // Another track feeds the m-line now: carry on from the last packet,
        // the RTP clock advanced by the wall-clock time since then.
        const gint64 elapsed = std::max<gint64>(now - r.last_us, 1000);
        r.seq_offset = static_cast<guint16>(r.last_seq + 1 - seq);
        r.ts_offset = static_cast<guint32>(
            r.last_ts + static_cast<guint32>(elapsed * r.clock_rate / G_USEC_PER_SEC) - ts);
        r.in_ssrc = ssrc;
        GST_INFO("m-line of ssrc %u now fed by ssrc %u", r.out_ssrc, ssrc);
    }
    const guint16 out_seq = static_cast<guint16>(seq + r.seq_offset);
    const guint32 out_ts = ts + r.ts_offset;
    if (static_cast<gint16>(out_seq - r.last_seq) > 0) {
        r.last_seq = out_seq;
        r.last_ts = out_ts;
        r.last_us = now;
    }
    gst_rtp_buffer_set_ssrc(&rtp, r.out_ssrc);
    gst_rtp_buffer_set_seq(&rtp, out_seq);
    gst_rtp_buffer_set_timestamp(&rtp, out_ts);
    gst_rtp_buffer_unmap(&rtp);
}

// On a WHEP sink pad: packets and caps get the m-line's own SSRC.
GstPadProbeReturn on_view_data(GstPad*, GstPadProbeInfo* info, gpointer data)
{
    auto& r = **static_cast<std::shared_ptr<ViewRewriter>*>(data);
    if (GST_PAD_PROBE_INFO_TYPE(info) & GST_PAD_PROBE_TYPE_BUFFER) {
        GstBuffer* buffer = GST_PAD_PROBE_INFO_BUFFER(info);
        rewrite_view_packet(r, &buffer);
        GST_PAD_PROBE_INFO_DATA(info) = buffer;
    } else if (GST_PAD_PROBE_INFO_TYPE(info) & GST_PAD_PROBE_TYPE_BUFFER_LIST) {
        GstBufferList* in = GST_PAD_PROBE_INFO_BUFFER_LIST(info);
        GstBufferList* list = gst_buffer_list_new_sized(gst_buffer_list_length(in));
        for (guint i = 0; i < gst_buffer_list_length(in); i++) {
            GstBuffer* buffer = gst_buffer_ref(gst_buffer_list_get(in, i));
            rewrite_view_packet(r, &buffer);
            gst_buffer_list_add(list, buffer);
        }
        gst_buffer_list_unref(in);
        GST_PAD_PROBE_INFO_DATA(info) = list;
    } else if (GST_PAD_PROBE_INFO_TYPE(info) & GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM) {
        GstEvent* event = GST_PAD_PROBE_INFO_EVENT(info);
        if (GST_EVENT_TYPE(event) != GST_EVENT_CAPS)
            return GST_PAD_PROBE_OK;
        GstCaps* caps = nullptr;
        gst_event_parse_caps(event, &caps);
        GstCaps* out = gst_caps_copy(caps);
        GstStructure* s = gst_caps_get_structure(out, 0);
        guint ssrc = 0;
        gst_structure_get_uint(s, "ssrc", &ssrc);
        {
            std::lock_guard<std::mutex> guard(r.lock);
            if (!r.out_ssrc)
                r.out_ssrc = ssrc;
            gint rate = 0;
            if (gst_structure_get_int(s, "clock-rate", &rate) && rate > 0)
                r.clock_rate = rate;
            if (r.out_ssrc)
                gst_structure_set(s, "ssrc", G_TYPE_UINT, r.out_ssrc, nullptr);
        }
        gst_event_unref(event);
        GST_PAD_PROBE_INFO_DATA(info) = gst_event_new_caps(out);
        gst_caps_unref(out);
    }
    return GST_PAD_PROBE_OK;
}

void delete_view_rewriter(gpointer data)
{
    delete static_cast<std::shared_ptr<ViewRewriter>*>(data);
}

// On a WHEP sink pad: caps queries from the tee see any caps of the m-line's
// codec. webrtcbin would answer with its codec-preferences (the viewer's
// payload type), which the publisher's caps (its own payload type) never
// match: not-negotiated would then stop the publisher for everyone. The
// branch rewrites the payload type, so the caps that arrive do match.
GstPadProbeReturn on_view_query(GstPad*, GstPadProbeInfo* info, gpointer data)
{
    const char* codec = static_cast<const char*>(data);
    GstQuery* query = GST_PAD_PROBE_INFO_QUERY(info);
    if (GST_QUERY_TYPE(query) == GST_QUERY_ACCEPT_CAPS) {
        GstCaps* caps = nullptr;
        gst_query_parse_accept_caps(query, &caps);
        const gchar* name =
            caps && !gst_caps_is_empty(caps)
                ? gst_structure_get_string(gst_caps_get_structure(caps, 0), "encoding-name")
                : nullptr;
        gst_query_set_accept_caps_result(query, name && g_ascii_strcasecmp(name, codec) == 0);
        return GST_PAD_PROBE_HANDLED;
    }
    if (GST_QUERY_TYPE(query) == GST_QUERY_CAPS) {
        GstCaps* filter = nullptr;
        gst_query_parse_caps(query, &filter);
        GstCaps* result = filter ? gst_caps_ref(filter) : gst_caps_new_any();
        gst_query_set_caps_result(query, result);
        gst_caps_unref(result);
        return GST_PAD_PROBE_HANDLED;
    }
    return GST_PAD_PROBE_OK;
}

// A player only receives: an audio/video m-line that would send (no
// direction attribute means sendrecv) is not a WHEP offer.
bool only_receives(const GstSDPMessage* sdp)
{
    for (guint i = 0; i < gst_sdp_message_medias_len(sdp); i++) {
        const GstSDPMedia* media = gst_sdp_message_get_media(sdp, i);
        const gchar* kind = gst_sdp_media_get_media(media);
        if (g_strcmp0(kind, "audio") != 0 && g_strcmp0(kind, "video") != 0)
            continue;
        if (!has_attribute(media, "recvonly") && !has_attribute(media, "inactive"))
            return false;
    }
    return true;
}

}  // namespace

Participant::ViewOffer Participant::check_composite_offer(const std::string& sdp)
{
    GstWebRTCSessionDescription* desc = parse_sdp(sdp, GST_WEBRTC_SDP_TYPE_OFFER);
    if (!desc)
        return ViewOffer::BadSdp;
    ViewOffer result = ViewOffer::NotRecvOnly;
    if (only_receives(desc->sdp)) {
        result = ViewOffer::NothingToPlay;
        TrackInfo video, audio;
        video.kind = TrackKind::Video;
        video.codec = kCompositeVideoCodec;
        audio.kind = TrackKind::Audio;
        audio.codec = kCompositeAudioCodec;
        for (guint i = 0; i < gst_sdp_message_medias_len(desc->sdp); i++) {
            const GstSDPMedia* media = gst_sdp_message_get_media(desc->sdp, i);
            const gchar* kind = gst_sdp_media_get_media(media);
            const TrackInfo& wanted = g_strcmp0(kind, "video") == 0 ? video : audio;
            CapsPtr prefs;
            if ((g_strcmp0(kind, "video") == 0 || g_strcmp0(kind, "audio") == 0) &&
                !has_attribute(media, "inactive") && offer_payload(media, wanted, prefs) >= 0) {
                result = ViewOffer::Accepted;
                break;
            }
        }
    }
    gst_webrtc_session_description_free(desc);
    return result;
}

Participant::ViewOffer Participant::view_offer(const std::string& sdp,
                                               const std::string& from_participant,
                                               AnswerCallback done)
{
    auto room = room_.lock();
    if (closed_ || view_offered_ || !room)
        return ViewOffer::Closed;
    GstWebRTCSessionDescription* desc = parse_sdp(sdp, GST_WEBRTC_SDP_TYPE_OFFER);
    if (!desc)
        return ViewOffer::BadSdp;
    if (!only_receives(desc->sdp)) {
        gst_webrtc_session_description_free(desc);
        return ViewOffer::NotRecvOnly;
    }

    struct Pick {
        std::shared_ptr<Track> track;
        int payload;
        CapsPtr prefs;
    };
    std::vector<Pick> picks;
    // Most recently published first.
    std::vector<TrackInfo> tracks = room->view_tracks(from_participant);
    std::reverse(tracks.begin(), tracks.end());
    std::vector<std::string> used;
    for (guint i = 0; i < gst_sdp_message_medias_len(desc->sdp); i++) {
        const GstSDPMedia* media = gst_sdp_message_get_media(desc->sdp, i);
        const gchar* kind = gst_sdp_media_get_media(media);
        // Port 0 is a rejected m-line, unless it is bundle-only (max-bundle).
        if (!kind || (gst_sdp_media_get_port(media) == 0 && !has_attribute(media, "bundle-only")) ||
            has_attribute(media, "inactive"))
            continue;
        for (const TrackInfo& t : tracks) {
            if (t.participant_id == id_ || g_strcmp0(kind, to_string(t.kind)) != 0 ||
                (!from_participant.empty() && t.participant_id != from_participant) ||
                std::find(used.begin(), used.end(), t.id) != used.end())
                continue;
            CapsPtr prefs;
            int pt = offer_payload(media, t, prefs);
            auto track = room->view_track(t.id);
            if (pt < 0 || !track)
                continue;
            GST_INFO("%s: m-line %u gets %s (pt %d)", id_.c_str(), i, t.id.c_str(), pt);
            used.push_back(t.id);
            picks.push_back(Pick{track, pt, std::move(prefs)});
            break;
        }
    }
    if (picks.empty()) {
        gst_webrtc_session_description_free(desc);
        return ViewOffer::NothingToPlay;
    }
    view_from_ = from_participant;
    // webrtcbin makes no sending transceivers from a remote offer: request
    // the sink pads first, SENDONLY, with explicit codec-preferences; the
    // offer's m-lines then land on them (an m-line without a pad is
    // answered inactive).
    for (auto& pick : picks) {
        const TrackInfo& info = pick.track->info();
        // Requested with caps: the transceiver knows its kind at once, so
        // the offer's m-line of that kind finds it.
        GstPadTemplate* templ = gst_element_get_pad_template(subscribe_.get(), "sink_%u");
        GstPad* pad =
            templ ? gst_element_request_pad(subscribe_.get(), templ, nullptr, pick.prefs.get())
                  : nullptr;
        if (!pad) {
            GST_WARNING("%s: no sink pad for %s", id_.c_str(), info.id.c_str());
            continue;
        }
        GstWebRTCRTPTransceiver* transceiver = nullptr;
        g_object_get(pad, "transceiver", &transceiver, nullptr);
        if (transceiver) {
            g_object_set(transceiver, "direction", GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_SENDONLY,
                         "codec-preferences", pick.prefs.get(), nullptr);
            gst_object_unref(transceiver);
        }
        gst_pad_add_probe(pad, GST_PAD_PROBE_TYPE_QUERY_DOWNSTREAM, on_view_query,
                          g_strdup(info.codec.c_str()), g_free);
        gst_pad_add_probe(pad,
                          static_cast<GstPadProbeType>(GST_PAD_PROBE_TYPE_BUFFER |
                                                       GST_PAD_PROBE_TYPE_BUFFER_LIST |
                                                       GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM),
                          on_view_data,
                          new std::shared_ptr<ViewRewriter>(std::make_shared<ViewRewriter>()),
                          delete_view_rewriter);
        sender_->attach(pad);  // after the rewriter: it sends the final packet
        watch_send_caps(pad);
        // The m-line's stream id; it stays when another track feeds it.
        g_object_set(pad, "msid", info.id.c_str(), nullptr);
        View view{{}, GstPtr<GstPad>(pad), info.kind, info.codec, pick.payload, false};
        if (!feed_view(view, *pick.track)) {
            GST_WARNING("%s: cannot forward %s", id_.c_str(), info.id.c_str());
            gst_element_release_request_pad(subscribe_.get(), pad);
            continue;
        }
        views_.push_back(std::move(view));
    }
    if (views_.empty()) {
        gst_webrtc_session_description_free(desc);
        return ViewOffer::NothingToPlay;
    }
    view_offered_ = true;
    arm_connect_timer(Session::Subscribe);
    auto offer = std::shared_ptr<GstWebRTCSessionDescription>(
        desc, [](GstWebRTCSessionDescription* d) { gst_webrtc_session_description_free(d); });
    apply_view_offer(offer, std::move(done));
    return ViewOffer::Accepted;
}

bool Participant::feed_view(View& view, Track& track)
{
    if (!track.add_subscription(id_, view.sinkpad.get(), view.payload))
        return false;
    view.track_id = track.info().id;
    if (view.negotiated && connected_[static_cast<int>(Session::Subscribe)]) {
        track.open_subscription(id_);
        track.request_keyframe();
    }
    return true;
}

bool Participant::view_accepts(const View& view, const TrackInfo& track) const
{
    return view.track_id.empty() && track.participant_id != id_ && track.kind == view.kind &&
           g_ascii_strcasecmp(track.codec.c_str(), view.codec.c_str()) == 0 &&
           (view_from_.empty() || track.participant_id == view_from_);
}

// A silent m-line (its track went away) gets the most recently published
// track of its kind and codec that no other m-line of this session shows.
void Participant::refill_view(const std::string& except_track_id)
{
    auto room = room_.lock();
    if (closed_ || !room)
        return;
    std::vector<TrackInfo> tracks = room->view_tracks(view_from_);
    std::reverse(tracks.begin(), tracks.end());
    for (auto& view : views_) {
        for (const TrackInfo& t : tracks) {
            if (!view_accepts(view, t) || t.id == except_track_id)
                continue;
            bool shown = false;
            for (const auto& other : views_)
                shown = shown || other.track_id == t.id;
            auto track = room->view_track(t.id);
            if (shown || !track || track->has_subscription(id_))
                continue;
            if (feed_view(view, *track)) {
                GST_INFO("%s: silent m-line now shows %s", id_.c_str(), t.id.c_str());
                break;
            }
        }
    }
}

// webrtcbin connects a send pad to its session only if the pad has caps
// when the answer is applied (else "has not received any caps yet" and the
// stream is refused later): wait for them (at most 3 s).
void Participant::apply_view_offer(std::shared_ptr<GstWebRTCSessionDescription> offer,
                                   AnswerCallback done)
{
    if (closed_)
        return;
    gather_done_ = done;
    caps_wait_.start(
        ctx_, kCapsWaitMs,
        [this]() {
            for (const auto& v : views_)
                if (!gst_pad_has_current_caps(v.sinkpad.get()))
                    return false;
            return true;
        },
        [this, offer, done](bool ready) {
            gather_done_ = nullptr;
            if (!ready)
                GST_WARNING("%s: answering the WHEP offer without the caps of every track",
                            id_.c_str());
            answer_view_offer(offer.get(), done);
        });
}

void Participant::answer_view_offer(GstWebRTCSessionDescription* offer, const AnswerCallback& done)
{
    std::weak_ptr<Participant> weak = weak_from_this();
    AnswerCallback applied = [weak, done](bool ok, const std::string& sdp_or_error) {
        if (auto p = weak.lock())
            p->on_view_answer_applied(ok, sdp_or_error, done);
    };
    auto* op = new PromiseOp{ctx_,
                             weak_from_this(),
                             GstPtr<GstElement>(GST_ELEMENT(gst_object_ref(subscribe_.get()))),
                             std::move(applied),
                             {}};
    GstPromise* promise = gst_promise_new_with_change_func(on_publish_remote_set, op, delete_op);
    g_signal_emit_by_name(subscribe_.get(), "set-remote-description", offer, promise);
    gst_promise_unref(promise);
}

void Participant::on_view_answer_applied(bool ok, const std::string& sdp_or_error,
                                         AnswerCallback done)
{
    if (closed_)
        return;
    if (!ok) {
        GST_WARNING("%s: WHEP offer refused: %s", id_.c_str(), sdp_or_error.c_str());
        if (done)
            done(false, sdp_or_error);
        return;
    }
    for (auto& v : views_)
        v.negotiated = true;
    open_negotiated();
    finish_when_gathered(subscribe_.get(), std::move(done));
}

std::vector<std::string> Participant::viewed_tracks() const
{
    std::vector<std::string> ids;
    for (const auto& v : views_)
        ids.push_back(v.track_id);
    return ids;
}

void Participant::watch_send_caps(GstPad* sinkpad)
{
    g_signal_connect_data(sinkpad, "notify::caps", G_CALLBACK(on_wait_notify),
                          new SignalContext(ctx_, weak_from_this(), Session::Subscribe),
                          delete_signal_context, GConnectFlags(0));
}

void Participant::poke_waits()
{
    caps_wait_.poke();
    gather_wait_.poke();
}

void Participant::finish_when_gathered(GstElement* webrtc, AnswerCallback done)
{
    if (closed_)
        return;
    // At most 5 s: then the answer goes with what it has.
    gather_done_ = done;
    gather_wait_.start(
        ctx_, kGatherWaitMs, [webrtc]() { return gathering_complete(webrtc); },
        [this, webrtc, done](bool complete) {
            gather_done_ = nullptr;
            if (!complete)
                GST_WARNING("%s: ICE gathering not complete, answering anyway", id_.c_str());
            GstWebRTCSessionDescription* desc = nullptr;
            g_object_get(webrtc, "local-description", &desc, nullptr);
            std::string sdp = desc ? sdp_text(desc) : std::string();
            if (desc)
                gst_webrtc_session_description_free(desc);
            if (done)
                done(!sdp.empty(), sdp.empty() ? std::string("no local description") : sdp);
        });
}

GstPad* Participant::acquire_slot(const TrackInfo& track)
{
    Slot* slot = nullptr;
    for (auto& s : slots_)
        if (s.track_id.empty() && s.kind == track.kind && s.codec == track.codec) {
            slot = &s;
            break;
        }
    if (!slot) {
        GstPad* pad = gst_element_request_pad_simple(subscribe_.get(), "sink_%u");
        if (!pad)
            return nullptr;
        // A requested pad gets a SENDRECV transceiver; this session only sends.
        GstWebRTCRTPTransceiver* transceiver = nullptr;
        g_object_get(pad, "transceiver", &transceiver, nullptr);
        if (transceiver) {
            g_object_set(transceiver, "direction", GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_SENDONLY,
                         nullptr);
            gst_object_unref(transceiver);
        }
        sender_->attach(pad);
        watch_send_caps(pad);
        slots_.push_back(Slot{GstPtr<GstPad>(pad), track.kind, track.codec});
        slot = &slots_.back();
    }
    slot->track_id = track.id;
    slot->ssrc = track.ssrc;
    slot->offered = false;
    slot->negotiated = false;
    // The client maps a=msid back to the track id it got in track events.
    g_object_set(slot->sinkpad.get(), "msid", track.id.c_str(), nullptr);
    return slot->sinkpad.get();
}

bool Participant::slot_negotiated(const std::string& track_id) const
{
    for (const auto& s : slots_)
        if (s.track_id == track_id)
            return s.pad_negotiated;
    for (const auto& v : views_)
        if (v.track_id == track_id)
            return v.negotiated;
    return false;
}

void Participant::release_slot(const std::string& track_id)
{
    for (auto& s : slots_)
        if (s.track_id == track_id) {
            s.track_id.clear();
            s.offered = false;
            s.negotiated = false;
        }
    // A WHEP m-line keeps its pad and gets the next track of its kind, if
    // there is one; else it stays silent until one is published.
    bool was_viewed = false;
    for (auto& v : views_)
        if (v.track_id == track_id) {
            v.track_id.clear();
            was_viewed = true;
        }
    if (was_viewed)
        refill_view(track_id);
    renegotiate();
}

void Participant::renegotiate()
{
    if (closed_ || slots_.empty())
        return;
    if (awaiting_answer_) {
        renegotiate_again_ = true;
        return;
    }
    if (caps_wait_.active())
        return;  // the offer goes when the caps are there; it will have every track
    // The offer's a=ssrc lines come from the sink pads' caps: wait until each
    // newly linked branch has delivered its caps (at most 3 s).
    caps_wait_.start(
        ctx_, kCapsWaitMs,
        [this]() {
            for (const auto& s : slots_) {
                if (s.track_id.empty())
                    continue;
                CapsPtr caps(gst_pad_get_current_caps(s.sinkpad.get()));
                guint ssrc = 0;
                if (!caps ||
                    !gst_structure_get_uint(gst_caps_get_structure(caps.get(), 0), "ssrc",
                                            &ssrc) ||
                    ssrc != s.ssrc)
                    return false;
            }
            return true;
        },
        [this](bool ready) {
            if (!ready)
                GST_WARNING("%s: offering without the caps of every track", id_.c_str());
            offer_subscribe();
        });
}

void Participant::offer_subscribe()
{
    if (closed_ || awaiting_answer_)
        return;
    awaiting_answer_ = true;
    arm_connect_timer(Session::Subscribe);
    renegotiate_again_ = false;
    for (auto& s : slots_)
        s.offered = !s.track_id.empty();
    auto* op = new PromiseOp{ctx_,
                             weak_from_this(),
                             GstPtr<GstElement>(GST_ELEMENT(gst_object_ref(subscribe_.get()))),
                             nullptr,
                             {}};
    GstPromise* promise =
        gst_promise_new_with_change_func(on_subscribe_offer_created, op, delete_op);
    g_signal_emit_by_name(subscribe_.get(), "create-offer", nullptr, promise);
    gst_promise_unref(promise);
}

void Participant::on_offer_created(const std::string& error, const std::string& sdp)
{
    if (closed_)
        return;
    if (!error.empty()) {
        awaiting_answer_ = false;
        GST_WARNING("%s: %s", id_.c_str(), error.c_str());
        if (callbacks_.on_error)
            callbacks_.on_error(Session::Subscribe, error);
        return;
    }
    if (callbacks_.on_subscribe_offer)
        callbacks_.on_subscribe_offer(sdp);
}

void Participant::on_subscribe_answer_applied(const std::string& error)
{
    if (closed_)
        return;
    awaiting_answer_ = false;
    if (!error.empty()) {
        GST_WARNING("%s: subscribe answer refused: %s", id_.c_str(), error.c_str());
        if (callbacks_.on_error)
            callbacks_.on_error(Session::Subscribe, error);
    } else {
        auto room = room_.lock();
        for (auto& s : slots_) {
            if (!s.offered || s.track_id.empty())
                continue;
            s.pad_negotiated = true;
            if (!s.negotiated && room) {
                s.negotiated = true;
                auto track = room->track(s.track_id);
                if (track && connected_[static_cast<int>(Session::Subscribe)]) {
                    track->open_subscription(id_);
                    // The new subscriber's decoder needs a keyframe now.
                    track->request_keyframe();
                }
            }
        }
    }
    if (renegotiate_again_)
        renegotiate();
}

void Participant::arm_connect_timer(Session session)
{
    const int i = static_cast<int>(session);
    if (closed_ || connected_[i] || connect_timers_[i].active() || !config_.connect_timeout_ms)
        return;
    connect_timers_[i].start(ctx_, config_.connect_timeout_ms, [this, session]() {
        if (closed_ || connected_[static_cast<int>(session)])
            return;
        GST_INFO("%s: %s session not connected within %u ms", id_.c_str(), to_string(session),
                 config_.connect_timeout_ms);
        // The handler may end us: call a copy.
        auto timed_out = callbacks_.on_connect_timeout;
        if (timed_out)
            timed_out(session);
    });
}

// webrtcbin holds every packet of a send session until DTLS is up (its
// transport blocks the pad): a packet pushed earlier would block the
// publisher's streaming thread, i.e. the track for every subscriber, for
// as long as this client takes to connect, or forever if it never does.
// So the branches of a negotiated track open only once the subscribe
// session is connected.
void Participant::open_negotiated()
{
    auto room = room_.lock();
    if (closed_ || !room || !connected_[static_cast<int>(Session::Subscribe)])
        return;
    for (const auto& s : slots_)
        if (s.negotiated)
            if (auto track = room->track(s.track_id))
                track->open_subscription(id_);
    for (const auto& v : views_)
        if (v.negotiated)
            if (auto track = room->view_track(v.track_id))
                track->open_subscription(id_);
}

void Participant::request_keyframes()
{
    auto room = room_.lock();
    if (!room)
        return;
    for (const auto& s : slots_)
        if (!s.track_id.empty())
            if (auto track = room->track(s.track_id))
                track->request_keyframe();
    for (const auto& v : views_)
        if (auto track = room->view_track(v.track_id))
            track->request_keyframe();
}

void Participant::shutdown()
{
    if (closed_)
        return;
    closed_ = true;
    caps_wait_.cancel();
    for (auto& timer : connect_timers_)
        timer.cancel();
    gather_wait_.cancel();
    if (gather_done_) {
        // Whoever waits for the answer hears that there will be none.
        auto done = std::move(gather_done_);
        gather_done_ = nullptr;
        post_to_main(ctx_, [done]() { done(false, "the session was closed"); });
    }
    slots_.clear();
    views_.clear();
    // Publisher first: once it is NULL nothing enters the tees any more.
    if (feedback_)
        feedback_->stop();  // before the agent closes its sockets
    if (publish_)
        gst_element_set_state(publish_.get(), GST_STATE_NULL);
    std::vector<GstPtr<GstElement>> tees;
    if (publish_state_) {
        std::lock_guard<std::mutex> guard(publish_state_->lock);
        tees.swap(publish_state_->tees);
    }
    for (auto& tee : tees) {
        gst_element_set_state(tee.get(), GST_STATE_NULL);
        gst_bin_remove(bin_.get(), tee.get());
    }
    sender_->stop();  // before the agent closes its sockets
    gst_element_set_state(subscribe_.get(), GST_STATE_NULL);
    if (publish_ && GST_OBJECT_PARENT(publish_.get()))
        gst_bin_remove(bin_.get(), publish_.get());
    if (GST_OBJECT_PARENT(subscribe_.get()))
        gst_bin_remove(bin_.get(), subscribe_.get());
    // A participant the server still holds must not keep the room's pipeline.
    bin_.reset();
    GST_DEBUG("%s shut down", id_.c_str());
}

}  // namespace zumzi::media
