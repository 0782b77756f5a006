#include "thumbnail.h"

#include <gst/gst.h>

#include <memory>

namespace zumzi::media {

namespace {

// Decoding a still image never takes this long; a broken input that stalls
// the pipeline fails instead of hanging the caller.
const GstClockTime kTimeout = 10 * GST_SECOND;

struct PipelineDeleter {
    void operator()(GstElement* p) const
    {
        gst_element_set_state(p, GST_STATE_NULL);
        gst_object_unref(p);
    }
};
using PipelinePtr = std::unique_ptr<GstElement, PipelineDeleter>;

// Runs `description` (which has an appsrc "src" and an appsink "sink") on
// `input`, returns the first sample the sink got, or null with `error`.
GstSample* run_once(const char* description, const std::string& input, std::string& error)
{
    if (input.empty()) {
        error = "empty input";
        return nullptr;
    }
    GError* parse_error = nullptr;
    PipelinePtr pipeline(gst_parse_launch(description, &parse_error));
    if (!pipeline || parse_error) {
        error = parse_error ? parse_error->message : "cannot build the pipeline";
        g_clear_error(&parse_error);
        return nullptr;
    }
    GstElement* src = gst_bin_get_by_name(GST_BIN(pipeline.get()), "src");
    GstElement* sink = gst_bin_get_by_name(GST_BIN(pipeline.get()), "sink");
    g_object_set(src, "format", GST_FORMAT_BYTES, nullptr);
    g_object_set(sink, "sync", FALSE, "max-buffers", 1u, nullptr);

    gst_element_set_state(pipeline.get(), GST_STATE_PLAYING);
    GstBuffer* buffer = gst_buffer_new_memdup(input.data(), input.size());
    GstFlowReturn flow = GST_FLOW_OK;
    g_signal_emit_by_name(src, "push-buffer", buffer, &flow);
    gst_buffer_unref(buffer);
    g_signal_emit_by_name(src, "end-of-stream", &flow);

    GstSample* sample = nullptr;
    g_signal_emit_by_name(sink, "try-pull-sample", kTimeout, &sample);
    if (!sample) {
        // Why: the first error on the bus, if any.
        GstBus* bus = gst_element_get_bus(pipeline.get());
        GstMessage* msg = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR);
        if (msg) {
            GError* e = nullptr;
            gst_message_parse_error(msg, &e, nullptr);
            error = e ? e->message : "decoding failed";
            g_clear_error(&e);
            gst_message_unref(msg);
        } else {
            error = "not a picture";
        }
        gst_object_unref(bus);
    }
    gst_object_unref(src);
    gst_object_unref(sink);
    return sample;
}

}  // namespace

bool make_thumbnail(const std::string& image, int side, std::string& jpeg, std::string& error)
{
    if (side < 1 || side > 4096) {
        error = "bad thumbnail size";
        return false;
    }
    g_autofree char* description = g_strdup_printf(
        "appsrc name=src ! decodebin ! videoconvert ! aspectratiocrop aspect-ratio=1/1 ! "
        "videoscale ! video/x-raw,width=%d,height=%d,pixel-aspect-ratio=1/1 ! "
        "jpegenc quality=85 ! appsink name=sink",
        side, side);
    GstSample* sample = run_once(description, image, error);
    if (!sample)
        return false;
    GstBuffer* buffer = gst_sample_get_buffer(sample);
    GstMapInfo map;
    const bool ok = buffer && gst_buffer_map(buffer, &map, GST_MAP_READ);
    if (ok) {
        jpeg.assign(reinterpret_cast<const char*>(map.data), map.size);
        gst_buffer_unmap(buffer, &map);
    } else {
        error = "no thumbnail came out";
    }
    gst_sample_unref(sample);
    return ok;
}

bool image_size(const std::string& image, ImageSize& size, std::string& error)
{
    GstSample* sample =
        run_once("appsrc name=src ! decodebin ! videoconvert ! video/x-raw ! appsink name=sink",
                 image, error);
    if (!sample)
        return false;
    GstCaps* caps = gst_sample_get_caps(sample);
    const GstStructure* s =
        caps && gst_caps_get_size(caps) > 0 ? gst_caps_get_structure(caps, 0) : nullptr;
    const bool ok = s && gst_structure_get_int(s, "width", &size.width) &&
                    gst_structure_get_int(s, "height", &size.height);
    if (!ok) {
        error = "the decoded picture has no size";
    }
    gst_sample_unref(sample);
    return ok;
}

}  // namespace zumzi::media
