#include "send_path.h"

#include <mutex>

#include "gst_ref.h"

GST_DEBUG_CATEGORY_STATIC(zumzi_send_path_debug);
#define GST_CAT_DEFAULT zumzi_send_path_debug

namespace zumzi::media {

namespace {

void init_debug()
{
    static gsize once = 0;
    if (g_once_init_enter(&once)) {
        GST_DEBUG_CATEGORY_INIT(zumzi_send_path_debug, "zumzi-send-path", 0,
                                "Zumzi: webrtcbin send paths trimmed for forwarding");
        g_once_init_leave(&once, 1);
    }
}

bool made_by(GstElement* element, const char* factory)
{
    GstElementFactory* f = element ? gst_element_get_factory(element) : nullptr;
    return f && g_strcmp0(GST_OBJECT_NAME(f), factory) == 0;
}

// The element a pad belongs to (a ref), or null (no parent, or a ghost
// pad's proxy).
GstPtr<GstElement> owner(GstPad* pad)
{
    GstObject* parent = pad ? gst_pad_get_parent(pad) : nullptr;
    if (parent && !GST_IS_ELEMENT(parent)) {
        gst_object_unref(parent);
        parent = nullptr;
    }
    return GstPtr<GstElement>(GST_ELEMENT(parent));
}

GstPtr<GstPad> peer(GstPad* pad)
{
    return GstPtr<GstPad>(pad ? gst_pad_get_peer(pad) : nullptr);
}

GstPtr<GstPad> static_pad(GstElement* element, const char* name)
{
    return GstPtr<GstPad>(element ? gst_element_get_static_pad(element, name) : nullptr);
}

// Whether webrtcbin's FEC encoder bin (rtpulpfecenc ! rtpredenc) only
// passes packets on: rtpulpfecenc without a FEC payload type (255) or
// without any FEC percentage, rtpredenc without a redundancy distance and
// not wrapping packets in RED anyway (allow-no-red-blocks).
bool fec_bin_is_idle(GstElement* bin)
{
    if (!GST_IS_BIN(bin))
        return false;
    bool ulpfec = false, red = false, idle = true;
    GstIterator* it = gst_bin_iterate_elements(GST_BIN(bin));
    GValue item = G_VALUE_INIT;
    while (gst_iterator_next(it, &item) == GST_ITERATOR_OK) {
        auto* e = GST_ELEMENT(g_value_get_object(&item));
        if (made_by(e, "rtpulpfecenc")) {
            guint pt = 0, percentage = 0, important = 0;
            g_object_get(e, "pt", &pt, "percentage", &percentage, "percentage-important",
                         &important, nullptr);
            ulpfec = true;
            idle = idle && (pt == 255 || (percentage == 0 && important == 0));
        } else if (made_by(e, "rtpredenc")) {
            guint distance = 0;
            gboolean always_red = FALSE;
            g_object_get(e, "distance", &distance, "allow-no-red-blocks", &always_red, nullptr);
            red = true;
            idle = idle && distance == 0 && !always_red;
        } else {
            idle = false;
        }
        g_value_reset(&item);
    }
    g_value_unset(&item);
    gst_iterator_free(it);
    return idle && ulpfec && red;
}

// rtpfunnel pushes the sink pad's segment downstream each time a packet
// comes from another sink pad than the last one: with audio and video in
// one bundle, on nearly every packet, and each such event crosses the
// whole send path (rtpsession, the transport bins, srtpenc, nicesink). The
// streams' segments are the same (one pipeline, one clock): only a segment
// that differs from the last one passed goes on.
struct SegmentFilter {
    std::mutex lock;
    GstSegment last;
    bool have = false;
};

GstPadProbeReturn drop_repeated_segment(GstPad*, GstPadProbeInfo* info, gpointer data)
{
    GstEvent* event = GST_PAD_PROBE_INFO_EVENT(info);
    if (GST_EVENT_TYPE(event) != GST_EVENT_SEGMENT)
        return GST_PAD_PROBE_OK;
    auto* filter = static_cast<SegmentFilter*>(data);
    const GstSegment* segment = nullptr;
    gst_event_parse_segment(event, &segment);
    std::lock_guard<std::mutex> hold(filter->lock);
    if (filter->have && gst_segment_is_equal(&filter->last, segment))
        return GST_PAD_PROBE_DROP;
    GST_LOG("segment passes: %" GST_SEGMENT_FORMAT, segment);
    gst_segment_copy_into(segment, &filter->last);
    filter->have = true;
    return GST_PAD_PROBE_OK;
}

void filter_segments(GstElement* funnel)
{
    static const char* const kKey = "zumzi-segment-filter";
    if (g_object_get_data(G_OBJECT(funnel), kKey))
        return;
    g_object_set_data(G_OBJECT(funnel), kKey, GINT_TO_POINTER(1));
    GstPtr<GstPad> src = static_pad(funnel, "src");
    gst_pad_add_probe(src.get(), GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, drop_repeated_segment,
                      new SegmentFilter(), [](gpointer p) { delete static_cast<SegmentFilter*>(p); });
}

}  // namespace

void drop_rtx_sender(GstElement* webrtc)
{
    init_debug();
    GstElement* rtpbin = gst_bin_get_by_name(GST_BIN(webrtc), "rtpbin");
    if (!rtpbin)
        return;
    const guint signal = g_signal_lookup("request-aux-sender", G_OBJECT_TYPE(rtpbin));
    const guint blocked = g_signal_handlers_block_matched(
        rtpbin, static_cast<GSignalMatchType>(G_SIGNAL_MATCH_ID | G_SIGNAL_MATCH_DATA), signal, 0,
        nullptr, nullptr, webrtc);
    GST_DEBUG_OBJECT(webrtc, "%u request-aux-sender handler(s) blocked", blocked);
    gst_object_unref(rtpbin);
}

bool shorten_send_path(GstPad* sinkpad)
{
    init_debug();
    if (!GST_IS_GHOST_PAD(sinkpad))
        return false;
    GstPtr<GstPad> target(gst_ghost_pad_get_target(GST_GHOST_PAD(sinkpad)));
    GstPtr<GstElement> clocksync = owner(target.get());
    if (!made_by(clocksync.get(), "clocksync"))
        return false;  // already shortened, or not webrtcbin 1.22's layout
    GstPtr<GstPad> fec_sink = peer(static_pad(clocksync.get(), "src").get());
    GstPtr<GstElement> fec_bin = owner(fec_sink.get());
    GstPtr<GstPad> fec_src = static_pad(fec_bin.get(), "src");
    GstPtr<GstPad> funnel_sink = peer(fec_src.get());
    GstPtr<GstElement> funnel = owner(funnel_sink.get());
    if (!made_by(funnel.get(), "rtpfunnel") || !fec_bin_is_idle(fec_bin.get())) {
        GST_DEBUG_OBJECT(sinkpad, "send path left as it is");
        return false;
    }
    // The clocksync and the FEC bin stay in webrtcbin, unlinked, and go
    // with it. The pad's sticky events (caps, segment) reach rtpfunnel
    // with the next packet.
    gst_pad_unlink(fec_src.get(), funnel_sink.get());
    if (!gst_ghost_pad_set_target(GST_GHOST_PAD(sinkpad), funnel_sink.get())) {
        GST_WARNING_OBJECT(sinkpad, "could not retarget: restoring the FEC bin");
        gst_ghost_pad_set_target(GST_GHOST_PAD(sinkpad), target.get());
        gst_pad_link(fec_src.get(), funnel_sink.get());
        return false;
    }
    filter_segments(funnel.get());
    GST_DEBUG_OBJECT(sinkpad, "goes straight to %" GST_PTR_FORMAT, funnel_sink.get());
    return true;
}

}  // namespace zumzi::media
