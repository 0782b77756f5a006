#include "track.h"

#include <gst/rtp/rtp.h>

#include "send_path.h"

GST_DEBUG_CATEGORY_STATIC(zumzi_track_debug);
#define GST_CAT_DEFAULT zumzi_track_debug

namespace zumzi::media {

namespace {

void init_debug()
{
    static gsize once = 0;
    if (g_once_init_enter(&once)) {
        GST_DEBUG_CATEGORY_INIT(zumzi_track_debug, "zumzi-track", 0, "Zumzi published tracks");
        g_once_init_leave(&once, 1);
    }
}

// Everything needed to finish a branch removal on the main context; holds
// only GStreamer references, so it outlives the Track if it must.
struct Removal {
    GMainContext* ctx;
    std::shared_ptr<GstElement> tee;
    std::shared_ptr<GstPad> tee_pad;
    std::function<void()> done;
};

void finish_removal(const std::shared_ptr<Removal>& r)
{
    gst_element_release_request_pad(r->tee.get(), r->tee_pad.get());
    GST_DEBUG("branch removed");
    if (r->done)
        r->done();
}

GstPadProbeReturn unlink_when_idle(GstPad* pad, GstPadProbeInfo*, gpointer data)
{
    auto* r = static_cast<std::shared_ptr<Removal>*>(data);
    GstPad* peer = gst_pad_get_peer(pad);
    if (peer) {
        gst_pad_unlink(pad, peer);
        gst_object_unref(peer);
    }
    auto removal = *r;
    post_to_main((*r)->ctx, [removal]() { finish_removal(removal); });
    return GST_PAD_PROBE_REMOVE;
}

void delete_removal(gpointer data)
{
    delete static_cast<std::shared_ptr<Removal>*>(data);
}

// Probe data of a branch's gate: the gate and the subscriber's pad.
struct GateProbe {
    std::shared_ptr<Gate> gate;
    GstPtr<GstPad> sinkpad;
};

// Runs in the publisher's streaming thread for every packet and every
// subscriber. Besides the gate, a packet never goes to a pad that
// webrtcbin still blocks (a requested sink pad is blocked until its
// m-line is negotiated): it would block the publisher's thread, i.e. the
// track for every subscriber. GST_PAD_IS_BLOCKED reads a flag without the
// pad's lock; webrtcbin sets it only before the pad is linked here.
GstPadProbeReturn gate_buffers(GstPad*, GstPadProbeInfo*, gpointer data)
{
    auto* probe = static_cast<GateProbe*>(data);
    if (probe->gate->passes() && !GST_PAD_IS_BLOCKED(probe->sinkpad.get()))
        return GST_PAD_PROBE_OK;
    return GST_PAD_PROBE_DROP;
}

void delete_gate_probe(gpointer data)
{
    delete static_cast<GateProbe*>(data);
}

bool set_payload_type(GstBuffer** buffer, guint8 pt)
{
    *buffer = gst_buffer_make_writable(*buffer);
    GstRTPBuffer rtp = GST_RTP_BUFFER_INIT;
    if (!gst_rtp_buffer_map(*buffer, GST_MAP_READWRITE, &rtp))
        return false;
    gst_rtp_buffer_set_payload_type(&rtp, pt);
    gst_rtp_buffer_unmap(&rtp);
    return true;
}

// Rewrites the payload type of a branch: the caps event and every packet.
GstPadProbeReturn rewrite_payload(GstPad*, GstPadProbeInfo* info, gpointer data)
{
    const guint8 pt = static_cast<guint8>(GPOINTER_TO_UINT(data));
    if (GST_PAD_PROBE_INFO_TYPE(info) & GST_PAD_PROBE_TYPE_BUFFER) {
        GstBuffer* buffer = GST_PAD_PROBE_INFO_BUFFER(info);
        set_payload_type(&buffer, pt);
        GST_PAD_PROBE_INFO_DATA(info) = buffer;
    } else if (GST_PAD_PROBE_INFO_TYPE(info) & GST_PAD_PROBE_TYPE_BUFFER_LIST) {
        GstBufferList* in = GST_PAD_PROBE_INFO_BUFFER_LIST(info);
        GstBufferList* list = gst_buffer_list_new_sized(gst_buffer_list_length(in));
        for (guint i = 0; i < gst_buffer_list_length(in); i++) {
            GstBuffer* buffer = gst_buffer_ref(gst_buffer_list_get(in, i));
            set_payload_type(&buffer, pt);
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
        GstCaps* rewritten = gst_caps_copy(caps);
        gst_caps_set_simple(rewritten, "payload", G_TYPE_INT, static_cast<gint>(pt), nullptr);
        gst_event_unref(event);
        GST_PAD_PROBE_INFO_DATA(info) = gst_event_new_caps(rewritten);
        gst_caps_unref(rewritten);
    }
    return GST_PAD_PROBE_OK;
}

}  // namespace

const char* to_string(TrackKind kind)
{
    return kind == TrackKind::Audio ? "audio" : "video";
}

GstEvent* make_force_key_unit(unsigned ssrc, int payload)
{
    GstStructure* s = gst_structure_new(
        "GstForceKeyUnit", "running-time", G_TYPE_UINT64, GST_CLOCK_TIME_NONE, "all-headers",
        G_TYPE_BOOLEAN, FALSE, "count", G_TYPE_UINT, 0u, "ssrc", G_TYPE_UINT, ssrc, "payload",
        G_TYPE_UINT, static_cast<guint>(payload), nullptr);
    return gst_event_new_custom(GST_EVENT_CUSTOM_UPSTREAM, s);
}

Track::Track(GMainContext* ctx, GstBin* bin, GstElement* tee, std::shared_ptr<KeyframeGate> gate,
             TrackInfo info)
    : ctx_(ctx),
      bin_(GST_BIN(gst_object_ref(bin))),
      tee_(GST_ELEMENT(gst_object_ref(tee))),
      gate_(std::move(gate)),
      info_(std::move(info))
{
    init_debug();
}

Track::~Track() = default;

bool Track::add_subscription(const std::string& subscriber_id, GstPad* sinkpad, int payload)
{
    if (subscriptions_.count(subscriber_id))
        return false;
    // No queue: the tee pushes straight into the subscriber's webrtcbin, in
    // the publisher's streaming thread (no thread and no wake-up per packet
    // and subscriber). The gate probe on the tee pad keeps packets from a
    // pad that is not negotiated yet, so nothing here can block.
    GstPad* tee_pad = gst_element_request_pad_simple(tee_.get(), "src_%u");
    if (!tee_pad) {
        GST_WARNING("no tee pad for %s", info_.id.c_str());
        return false;
    }
    auto gate = std::make_shared<Gate>();
    gst_pad_add_probe(
        tee_pad,
        static_cast<GstPadProbeType>(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST),
        gate_buffers, new GateProbe{gate, GstPtr<GstPad>(GST_PAD(gst_object_ref(sinkpad)))},
        delete_gate_probe);
    if (payload >= 0 && payload <= 127 && payload != info_.payload)
        gst_pad_add_probe(tee_pad,
                          static_cast<GstPadProbeType>(GST_PAD_PROBE_TYPE_BUFFER |
                                                       GST_PAD_PROBE_TYPE_BUFFER_LIST |
                                                       GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM),
                          rewrite_payload, GUINT_TO_POINTER(static_cast<guint>(payload)), nullptr);
    if (gst_pad_link(tee_pad, sinkpad) != GST_PAD_LINK_OK) {
        GST_WARNING("could not link %s to %s", info_.id.c_str(), subscriber_id.c_str());
        gst_element_release_request_pad(tee_.get(), tee_pad);
        gst_object_unref(tee_pad);
        return false;
    }
    Subscription sub{shared_adopt(tee_pad), shared_ref(sinkpad), gate};
    subscriptions_.emplace(subscriber_id, std::move(sub));
    GST_DEBUG("track %s -> %s", info_.id.c_str(), subscriber_id.c_str());
    return true;
}

void Track::remove_subscription(const std::string& subscriber_id, bool /*flush_peer*/,
                                std::function<void()> done)
{
    auto it = subscriptions_.find(subscriber_id);
    if (it == subscriptions_.end()) {
        if (done)
            post_to_main(ctx_, std::move(done));
        return;
    }
    // Nothing more for this subscriber, even before the unlink happens.
    it->second.gate->open.store(false);
    auto removal = std::make_shared<Removal>(
        Removal{ctx_, shared_ref(tee_.get()), it->second.tee_pad, std::move(done)});
    GstPad* tee_pad = it->second.tee_pad.get();
    subscriptions_.erase(it);
    gst_pad_add_probe(tee_pad, GST_PAD_PROBE_TYPE_IDLE, unlink_when_idle,
                      new std::shared_ptr<Removal>(removal), delete_removal);
}

void Track::open_subscription(const std::string& subscriber_id)
{
    auto it = subscriptions_.find(subscriber_id);
    if (it == subscriptions_.end())
        return;
    // Negotiated, and nothing flows yet: webrtcbin has linked the pad.
    if (!it->second.gate->open.load())
        shorten_send_path(it->second.sinkpad.get());
    it->second.gate->open.store(true);
}

void Track::set_paused(const std::string& subscriber_id, bool paused)
{
    auto it = subscriptions_.find(subscriber_id);
    if (it != subscriptions_.end())
        it->second.gate->paused.store(paused);
}

bool Track::paused(const std::string& subscriber_id) const
{
    auto it = subscriptions_.find(subscriber_id);
    return it != subscriptions_.end() && it->second.gate->paused.load();
}

bool Track::has_subscription(const std::string& subscriber_id) const
{
    return subscriptions_.count(subscriber_id) != 0;
}

std::vector<std::string> Track::subscribers() const
{
    std::vector<std::string> ids;
    for (const auto& entry : subscriptions_)
        ids.push_back(entry.first);
    return ids;
}

void Track::request_keyframe()
{
    if (info_.kind != TrackKind::Video)
        return;
    gint64 now = g_get_monotonic_time();
    gint64 wait_us = gate_->last_us.load() + gate_->min_interval_us - now;
    if (wait_us > 0) {
        if (!keyframe_timer_.active())
            keyframe_timer_.start(ctx_, static_cast<unsigned>(wait_us / 1000) + 1,
                                  [this]() { request_keyframe(); });
        return;
    }
    GstPad* sink = gst_element_get_static_pad(tee_.get(), "sink");
    // Goes up through the keyframe probe on this pad, which stamps and counts it.
    gst_pad_push_event(sink, make_force_key_unit(info_.ssrc, info_.payload));
    gst_object_unref(sink);
    GST_DEBUG("keyframe requested for %s", info_.id.c_str());
}

}  // namespace zumzi::media
