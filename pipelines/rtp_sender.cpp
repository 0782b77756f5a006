#include "rtp_sender.h"

#include <gst/rtp/rtp.h>
#include <nice/agent.h>

#include <atomic>
#include <cstring>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <vector>

#include "gst_ref.h"
#include "srtp.h"
#include "track.h"

GST_DEBUG_CATEGORY_STATIC(zumzi_rtp_sender_debug);
#define GST_CAT_DEFAULT zumzi_rtp_sender_debug

namespace zumzi::media {

namespace {

constexpr int kMaxPacket = 1500;             // larger RTP packets go webrtcbin's way
constexpr gint64 kReportIntervalUs = 1000000;  // one sender report per stream and second
constexpr char kCname[] = "zumzi";

void init_once()
{
    static gsize once = 0;
    if (g_once_init_enter(&once)) {
        GST_DEBUG_CATEGORY_INIT(zumzi_rtp_sender_debug, "zumzi-rtp-sender", 0,
                                "Zumzi: forwarded RTP sent through SRTP and ICE directly");
        g_once_init_leave(&once, 1);
    }
}

// The payload octets of an RTP packet (RFC 3550: what a sender report
// counts), or -1 if it is not one.
int payload_octets(const uint8_t* p, int size)
{
    if (size < 12 || (p[0] >> 6) != 2)
        return -1;
    int header = 12 + 4 * (p[0] & 0x0f);
    if ((p[0] & 0x10) && size >= header + 4)
        header += 4 + 4 * ((p[header + 2] << 8) | p[header + 3]);
    const int padding = (p[0] & 0x20) ? p[size - 1] : 0;
    const int octets = size - header - padding;
    return octets < 0 ? -1 : octets;
}

// A compound RTCP packet: a sender report without report blocks, then an
// SDES with the CNAME (RFC 3550 6.1). Returns its length.
int build_sender_report(uint8_t* out, uint32_t ssrc, uint32_t rtp_ts, uint32_t packets,
                        uint32_t octets)
{
    const gint64 now = g_get_real_time();
    const uint32_t ntp_seconds = static_cast<uint32_t>(now / G_USEC_PER_SEC + 2208988800LL);
    const uint32_t ntp_fraction =
        static_cast<uint32_t>(((now % G_USEC_PER_SEC) << 32) / G_USEC_PER_SEC);
    out[0] = 0x80;  // V=2, no report block
    out[1] = 200;   // SR
    out[2] = 0;
    out[3] = 6;  // 7 words
    GST_WRITE_UINT32_BE(out + 4, ssrc);
    GST_WRITE_UINT32_BE(out + 8, ntp_seconds);
    GST_WRITE_UINT32_BE(out + 12, ntp_fraction);
    GST_WRITE_UINT32_BE(out + 16, rtp_ts);
    GST_WRITE_UINT32_BE(out + 20, packets);
    GST_WRITE_UINT32_BE(out + 24, octets);
    uint8_t* sdes = out + 28;
    const int cname = sizeof(kCname) - 1;
    // SSRC, the CNAME item, and at least one null octet ending the chunk.
    const int chunk = (4 + 2 + cname + 1 + 3) & ~3;
    std::memset(sdes, 0, 4 + chunk);
    sdes[0] = 0x81;  // V=2, one chunk
    sdes[1] = 202;   // SDES
    sdes[2] = 0;
    sdes[3] = static_cast<uint8_t>(chunk / 4);
    GST_WRITE_UINT32_BE(sdes + 4, ssrc);
    sdes[8] = 1;  // CNAME
    sdes[9] = static_cast<uint8_t>(cname);
    std::memcpy(sdes + 10, kCname, cname);
    return 28 + 4 + chunk;
}

// A compound RTCP packet: a receiver report without report blocks, then a
// PLI (RFC 4585 6.3.1) from `ssrc` for `media_ssrc`. Returns its length.
int build_pli(uint8_t* out, uint32_t ssrc, uint32_t media_ssrc)
{
    out[0] = 0x80;  // V=2, no report block
    out[1] = 201;   // RR
    out[2] = 0;
    out[3] = 1;  // 2 words
    GST_WRITE_UINT32_BE(out + 4, ssrc);
    out[8] = 0x80 | GST_RTCP_PSFB_TYPE_PLI;  // V=2, FMT=1
    out[9] = 206;                             // PSFB
    out[10] = 0;
    out[11] = 2;  // 3 words
    GST_WRITE_UINT32_BE(out + 12, ssrc);
    GST_WRITE_UINT32_BE(out + 16, media_ssrc);
    return 20;
}

// The nick of an enum property's value ("aes-128-icm"), or "".
std::string enum_nick(GObject* object, const char* property)
{
    GParamSpec* spec = g_object_class_find_property(G_OBJECT_GET_CLASS(object), property);
    if (!spec || !G_IS_PARAM_SPEC_ENUM(spec))
        return {};
    gint value = 0;
    g_object_get(object, property, &value, nullptr);
    GEnumValue* v = g_enum_get_value(G_PARAM_SPEC_ENUM(spec)->enum_class, value);
    return v ? v->value_nick : "";
}

// The HMAC-SHA1 tag length in bytes of srtpenc's authentication, or 0 if
// it is not one this sender implements.
size_t tag_length(const std::string& auth)
{
    return auth == "hmac-sha1-80" ? 10 : auth == "hmac-sha1-32" ? 4 : 0;
}

// The only element made by `factory` inside `bin` (recursively), or null
// if there is none or more than one.
GstPtr<GstElement> only_element(GstBin* bin, const char* factory)
{
    GstPtr<GstElement> found;
    int count = 0;
    GstIterator* it = gst_bin_iterate_recurse(bin);
    GValue item = G_VALUE_INIT;
    bool done = false;
    while (!done) {
        switch (gst_iterator_next(it, &item)) {
        case GST_ITERATOR_OK: {
            auto* e = GST_ELEMENT(g_value_get_object(&item));
            GstElementFactory* f = gst_element_get_factory(e);
            if (f && g_strcmp0(GST_OBJECT_NAME(f), factory) == 0 && ++count == 1)
                found.reset(GST_ELEMENT(gst_object_ref(e)));
            g_value_reset(&item);
            break;
        }
        case GST_ITERATOR_RESYNC:
            gst_iterator_resync(it);
            found.reset();
            count = 0;
            break;
        default:
            done = true;
        }
    }
    g_value_unset(&item);
    gst_iterator_free(it);
    if (count != 1)
        return {};
    return found;
}

}  // namespace

// Shared by the sink pad probes (streaming threads of every publisher this
// subscriber receives) and the main context.
struct RtpSender::State {
    struct Stream {
        uint32_t ssrc;
        uint32_t packets = 0;
        uint32_t octets = 0;
        gint64 next_report_us = 0;
    };

    std::atomic<bool> active{false};
    GWeakRef webrtc;  // the session, for its sink pads
    std::atomic<uint64_t> packets{0};
    std::atomic<uint64_t> reports{0};
    std::atomic<uint64_t> keyframe_requests{0};
    std::atomic<uint64_t> errors{0};
    // Feedback: the SSRC of its RTCP (fixed at construction).
    uint32_t ssrc = 0;
    // Set once by start(), before `active`; read-only afterwards.
    NiceAgent* agent = nullptr;
    guint stream_id = 0;
    guint component_id = 0;
    // Where the ICE agent's selected pair sends: its local UDP socket and
    // the remote address. Sending there ourselves skips the agent's lock
    // and bookkeeping (a tenth of the server's CPU at 1 -> 16); null while
    // the pair is relayed (TURN) or not UDP: nice_agent_send then. Senders
    // hold `route_lock` shared while they send on the socket, so once stop()
    // or a new pair has it exclusively no packet goes to the old socket.
    struct Route {
        GSocket* socket;
        GSocketAddress* remote;
        ~Route()
        {
            g_object_unref(socket);
            g_object_unref(remote);
        }
    };
    std::shared_mutex route_lock;
    std::unique_ptr<Route> route;
    // Serialises the SRTP context (one for every SSRC) and the counters.
    std::mutex lock;
    std::unique_ptr<SrtpContext> srtp;
    std::vector<Stream> streams;

    State() { g_weak_ref_init(&webrtc, nullptr); }
    ~State()
    {
        g_weak_ref_clear(&webrtc);
        if (agent)
            g_object_unref(agent);
    }

    Stream& stream(uint32_t ssrc)
    {
        for (auto& s : streams)
            if (s.ssrc == ssrc)
                return s;
        streams.push_back(Stream{ssrc});
        return streams.back();
    }

    void send(GstBuffer* buffer);
    bool transmit(const uint8_t* data, int length);
    void update_route();
};

// The selected pair's socket and remote address (main context, or the
// agent's thread when the pair changes).
void RtpSender::State::update_route()
{
    std::unique_ptr<Route> next;
    NiceCandidate* local = nullptr;
    NiceCandidate* remote = nullptr;
    GSocket* socket = nice_agent_get_selected_socket(agent, stream_id, component_id);
    if (socket && nice_agent_get_selected_pair(agent, stream_id, component_id, &local, &remote) &&
        local->transport == NICE_CANDIDATE_TRANSPORT_UDP &&
        remote->transport == NICE_CANDIDATE_TRANSPORT_UDP &&
        local->type != NICE_CANDIDATE_TYPE_RELAYED) {
        sockaddr_storage address;
        nice_address_copy_to_sockaddr(&remote->addr, reinterpret_cast<sockaddr*>(&address));
        GSocketAddress* to = g_socket_address_new_from_native(&address, sizeof(address));
        if (to)
            next.reset(new Route{G_SOCKET(g_object_ref(socket)), to});
    }
    if (socket)
        g_object_unref(socket);
    GST_DEBUG("route: %s", next ? "the selected pair's socket" : "nice_agent_send");
    std::unique_lock<std::shared_mutex> hold(route_lock);
    route = std::move(next);
}

bool RtpSender::State::transmit(const uint8_t* data, int length)
{
    {
        std::shared_lock<std::shared_mutex> hold(route_lock);
        if (!active.load(std::memory_order_acquire))
            return false;
        if (route)
            return g_socket_send_to(route->socket, route->remote,
                                    reinterpret_cast<const gchar*>(data),
                                    static_cast<gsize>(length), nullptr, nullptr) == length;
    }
    // Never under `route_lock`: nice_agent_send emits the agent's queued
    // signals as it unlocks, new-selected-pair-full among them, whose
    // handler (update_route) takes `route_lock` exclusively.
    return nice_agent_send(agent, stream_id, component_id, static_cast<guint>(length),
                           reinterpret_cast<const gchar*>(data)) == length;
}

void RtpSender::State::send(GstBuffer* buffer)
{
    uint8_t packet[kMaxPacket + SrtpContext::kMaxTrailer];
    uint8_t report[64 + SrtpContext::kMaxTrailer];
    const gsize size = gst_buffer_get_size(buffer);
    if (size > static_cast<gsize>(kMaxPacket) ||
        gst_buffer_extract(buffer, 0, packet, size) != size)
        return;
    int length = static_cast<int>(size);
    const int octets = payload_octets(packet, length);
    if (octets < 0)
        return;
    const uint32_t rtp_ts = GST_READ_UINT32_BE(packet + 4);
    const uint32_t ssrc = GST_READ_UINT32_BE(packet + 8);
    int report_length = 0;
    {
        std::lock_guard<std::mutex> hold(lock);
        length = srtp->protect_rtp(packet, length);
        if (length > 0) {
            Stream& s = stream(ssrc);
            s.packets++;
            s.octets += static_cast<uint32_t>(octets);
            const gint64 now = g_get_monotonic_time();
            if (now >= s.next_report_us) {
                s.next_report_us = now + kReportIntervalUs;
                report_length = srtp->protect_rtcp(
                    report, build_sender_report(report, ssrc, rtp_ts, s.packets, s.octets));
            }
        }
    }
    if (length <= 0) {
        errors++;
        return;
    }
    if (transmit(packet, length))
        packets++;
    else
        errors++;
    if (report_length > 0) {
        if (transmit(report, report_length))
            reports++;
        else
            errors++;
    }
}

namespace {

using StatePtr = std::shared_ptr<RtpSender::State>;

void delete_state_ref(gpointer data)
{
    delete static_cast<StatePtr*>(data);
}

// A forwarded packet on its way into the webrtcbin: sent here, or left to
// webrtcbin while the sender is not active.
GstPadProbeReturn send_packets(GstPad*, GstPadProbeInfo* info, gpointer data)
{
    RtpSender::State& state = **static_cast<StatePtr*>(data);
    if (!state.active.load(std::memory_order_acquire))
        return GST_PAD_PROBE_OK;
    if (GST_PAD_PROBE_INFO_TYPE(info) & GST_PAD_PROBE_TYPE_BUFFER) {
        state.send(GST_PAD_PROBE_INFO_BUFFER(info));
    } else if (GST_PAD_PROBE_INFO_TYPE(info) & GST_PAD_PROBE_TYPE_BUFFER_LIST) {
        GstBufferList* list = GST_PAD_PROBE_INFO_BUFFER_LIST(info);
        for (guint i = 0; i < gst_buffer_list_length(list); i++)
            state.send(gst_buffer_list_get(list, i));
    }
    return GST_PAD_PROBE_DROP;
}

// rtpsession's own RTCP for the session, once this sender sends the
// reports: see rtp_sender.h.
GstPadProbeReturn drop_session_rtcp(GstPad*, GstPadProbeInfo*, gpointer data)
{
    const RtpSender::State& state = **static_cast<StatePtr*>(data);
    return state.active.load(std::memory_order_acquire) ? GST_PAD_PROBE_DROP : GST_PAD_PROBE_OK;
}

// Asks the publisher of what this session sends under `ssrc` for a
// keyframe: the GstForceKeyUnit event goes up the sink pad whose caps carry
// the SSRC, to the track's tee, which rate-limits it and re-stamps it for
// the publisher (track.h).
void request_keyframe(RtpSender::State& state, guint ssrc)
{
    auto* webrtc = static_cast<GstElement*>(g_weak_ref_get(&state.webrtc));
    if (!webrtc)
        return;
    GstPtr<GstPad> target;
    int payload = -1;
    GstIterator* it = gst_element_iterate_sink_pads(webrtc);
    GValue item = G_VALUE_INIT;
    while (!target && gst_iterator_next(it, &item) == GST_ITERATOR_OK) {
        auto* pad = GST_PAD(g_value_get_object(&item));
        if (GstCaps* caps = gst_pad_get_current_caps(pad)) {
            const GstStructure* s = gst_caps_get_structure(caps, 0);
            guint pad_ssrc = 0;
            if (gst_structure_get_uint(s, "ssrc", &pad_ssrc) && pad_ssrc == ssrc) {
                gst_structure_get_int(s, "payload", &payload);
                target.reset(GST_PAD(gst_object_ref(pad)));
            }
            gst_caps_unref(caps);
        }
        g_value_reset(&item);
    }
    g_value_unset(&item);
    gst_iterator_free(it);
    gst_object_unref(webrtc);
    if (!target)
        return;
    GST_DEBUG_OBJECT(target.get(), "subscriber asks for a keyframe of ssrc %u", ssrc);
    gst_pad_push_event(target.get(), make_force_key_unit(ssrc, payload));
}

// rtpsession's on-feedback-rtcp, for every feedback message the subscriber
// sends (its RTCP receiving thread). rtpsession acts on PLI and FIR only
// for SSRCs it sent itself, which it no longer does once this sender is
// active: the keyframe requests are passed on here instead.
void on_feedback(GObject*, guint type, guint fbtype, guint, guint media_ssrc, GstBuffer* fci,
                 gpointer data)
{
    RtpSender::State& state = **static_cast<StatePtr*>(data);
    if (!state.active.load(std::memory_order_acquire) || type != GST_RTCP_TYPE_PSFB)
        return;
    if (fbtype == GST_RTCP_PSFB_TYPE_PLI) {
        request_keyframe(state, media_ssrc);
    } else if (fbtype == GST_RTCP_PSFB_TYPE_FIR && fci) {
        // RFC 5104 4.3.1: entries of SSRC, sequence number and 3 reserved octets.
        GstMapInfo map;
        if (!gst_buffer_map(fci, &map, GST_MAP_READ))
            return;
        std::vector<guint> ssrcs;
        for (gsize i = 0; i + 8 <= map.size; i += 8)
            ssrcs.push_back(GST_READ_UINT32_BE(map.data + i));
        gst_buffer_unmap(fci, &map);
        for (guint ssrc : ssrcs)
            request_keyframe(state, ssrc);
    }
}

void delete_state_closure(gpointer data, GClosure*)
{
    delete static_cast<StatePtr*>(data);
}

// The agent picked another pair (ICE nomination goes on after connected).
void on_selected_pair(NiceAgent*, guint stream_id, guint component_id, NiceCandidate*,
                      NiceCandidate*, gpointer data)
{
    RtpSender::State& state = **static_cast<StatePtr*>(data);
    if (stream_id == state.stream_id && component_id == state.component_id)
        state.update_route();
}

}  // namespace

RtpSender::RtpSender(GstElement* webrtc, Role role)
    : webrtc_(webrtc), role_(role), state_(std::make_shared<State>())
{
    init_once();
    do
        state_->ssrc = g_random_int();
    while (state_->ssrc == 0);
}

RtpSender::~RtpSender()
{
    stop();
}

void RtpSender::stop()
{
    if (!state_->agent)
        return;
    if (pair_handler_)
        g_signal_handler_disconnect(state_->agent, pair_handler_);
    pair_handler_ = 0;
    std::unique_lock<std::shared_mutex> hold(state_->route_lock);
    state_->active.store(false);
    state_->route.reset();
}

void RtpSender::attach(GstPad* sinkpad)
{
    gst_pad_add_probe(
        sinkpad,
        static_cast<GstPadProbeType>(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST),
        send_packets, new StatePtr(state_), delete_state_ref);
}

bool RtpSender::start()
{
    if (g_getenv("ZUMZI_WEBRTCBIN_SEND"))
        return false;  // to compare with webrtcbin's own path (bench)
    if (state_->active.load() || state_->srtp)
        return state_->active.load();
    GstPtr<GstElement> srtpenc = only_element(GST_BIN(webrtc_), "srtpenc");
    GstPtr<GstElement> nicesink = only_element(GST_BIN(webrtc_), "nicesink");
    if (!srtpenc || !nicesink) {
        GST_WARNING_OBJECT(webrtc_, "no single bundled transport: webrtcbin sends");
        return false;
    }
    // Both DTLS-SRTP profiles of GStreamer 1.22: AES-128 counter mode with
    // an 80- or 32-bit HMAC-SHA1 tag (srtp.h).
    GObject* enc = G_OBJECT(srtpenc.get());
    const size_t rtp_tag = tag_length(enum_nick(enc, "rtp-auth"));
    const size_t rtcp_tag = tag_length(enum_nick(enc, "rtcp-auth"));
    if (enum_nick(enc, "rtp-cipher") != "aes-128-icm" ||
        enum_nick(enc, "rtcp-cipher") != "aes-128-icm" || !rtp_tag || !rtcp_tag) {
        GST_WARNING_OBJECT(webrtc_, "SRTP cipher %s/%s: webrtcbin sends",
                           enum_nick(enc, "rtp-cipher").c_str(), enum_nick(enc, "rtp-auth").c_str());
        return false;
    }
    GstBuffer* key = nullptr;
    g_object_get(enc, "key", &key, nullptr);
    GstMapInfo map = GST_MAP_INFO_INIT;
    if (!key || !gst_buffer_map(key, &map, GST_MAP_READ)) {
        GST_WARNING_OBJECT(webrtc_, "no SRTP keys yet: webrtcbin sends");
        if (key)
            gst_buffer_unref(key);
        return false;
    }
    const gsize key_size = map.size;
    std::unique_ptr<SrtpContext> srtp;
    if (key_size == SrtpContext::kMasterLength)
        srtp = std::make_unique<SrtpContext>(map.data, rtp_tag, rtcp_tag);
    gst_buffer_unmap(key, &map);
    gst_buffer_unref(key);
    if (!srtp) {
        GST_WARNING_OBJECT(webrtc_, "SRTP master key of %" G_GSIZE_FORMAT " bytes: webrtcbin sends",
                           key_size);
        return false;
    }
    NiceAgent* agent = nullptr;
    guint stream_id = 0, component_id = 0;
    g_object_get(nicesink.get(), "agent", &agent, "stream", &stream_id, "component",
                 &component_id, nullptr);
    if (!agent)
        return false;
    state_->srtp = std::move(srtp);
    state_->agent = agent;
    state_->stream_id = stream_id;
    state_->component_id = component_id;
    state_->update_route();
    pair_handler_ = g_signal_connect_data(agent, "new-selected-pair-full",
                                          G_CALLBACK(on_selected_pair), new StatePtr(state_),
                                          delete_state_closure, GConnectFlags(0));
    if (role_ == Role::Feedback) {
        state_->active.store(true, std::memory_order_release);
        GST_DEBUG_OBJECT(webrtc_, "sending keyframe requests itself as ssrc %u", state_->ssrc);
        return true;
    }
    GstIterator* it = gst_element_iterate_sink_pads(srtpenc.get());
    GValue item = G_VALUE_INIT;
    while (gst_iterator_next(it, &item) == GST_ITERATOR_OK) {
        auto* pad = GST_PAD(g_value_get_object(&item));
        if (g_str_has_prefix(GST_PAD_NAME(pad), "rtcp_sink"))
            gst_pad_add_probe(pad,
                              static_cast<GstPadProbeType>(GST_PAD_PROBE_TYPE_BUFFER |
                                                           GST_PAD_PROBE_TYPE_BUFFER_LIST),
                              drop_session_rtcp, new StatePtr(state_), delete_state_ref);
        g_value_reset(&item);
    }
    g_value_unset(&item);
    gst_iterator_free(it);
    g_weak_ref_set(&state_->webrtc, webrtc_);
    if (GstElement* rtpbin = gst_bin_get_by_name(GST_BIN(webrtc_), "rtpbin")) {
        GObject* session = nullptr;
        g_signal_emit_by_name(rtpbin, "get-internal-session", 0u, &session);
        if (session) {
            g_signal_connect_data(session, "on-feedback-rtcp", G_CALLBACK(on_feedback),
                                  new StatePtr(state_), delete_state_closure, GConnectFlags(0));
            g_object_unref(session);
        }
        gst_object_unref(rtpbin);
    }
    state_->active.store(true, std::memory_order_release);
    GST_DEBUG_OBJECT(webrtc_, "sending forwarded RTP itself (stream %u component %u)", stream_id,
                     component_id);
    return true;
}

bool RtpSender::active() const
{
    return state_->active.load();
}

uint64_t RtpSender::packets_sent() const
{
    return state_->packets.load();
}

uint64_t RtpSender::reports_sent() const
{
    return state_->reports.load();
}

bool RtpSender::request_keyframe(uint32_t media_ssrc)
{
    State& state = *state_;
    if (!state.active.load(std::memory_order_acquire))
        return false;
    uint8_t packet[20 + SrtpContext::kMaxTrailer];
    int length;
    {
        std::lock_guard<std::mutex> hold(state.lock);
        length = state.srtp->protect_rtcp(packet, build_pli(packet, state.ssrc, media_ssrc));
    }
    if (length <= 0 || !state.transmit(packet, length)) {
        state.errors++;
        return false;
    }
    state.keyframe_requests++;
    return true;
}

uint32_t RtpSender::ssrc() const
{
    return state_->ssrc;
}

uint64_t RtpSender::keyframe_requests_sent() const
{
    return state_->keyframe_requests.load();
}

uint64_t RtpSender::send_errors() const
{
    return state_->errors.load();
}

}  // namespace zumzi::media
