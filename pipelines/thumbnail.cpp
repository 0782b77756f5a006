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

// What decodebin may output: raw video no larger than kMaxImageSide, so the
// decoder fails negotiation instead of allocating a huge picture.
std::string decoded_caps()
{
    return "video/x-raw,width=(int)[1," + std::to_string(kMaxImageSide) + "],height=(int)[1," +
           std::to_string(kMaxImageSide) + "]";
}

// decodebin asks before plugging each element; parsers (jpegparse,
// pngparse...) have put the picture's size in the caps by then. A picture
// larger than allowed is not handed to a decoder (the pad is exposed as is,
// cannot link to raw video, and the pipeline fails before any allocation).
gboolean continue_if_small(GstElement* decode, GstPad*, GstCaps* caps, gpointer)
{
    for (guint i = 0; caps && i < gst_caps_get_size(caps); i++) {
        const GstStructure* s = gst_caps_get_structure(caps, i);
        int width = 0;
        int height = 0;
        if ((gst_structure_get_int(s, "width", &width) && width > kMaxImageSide) ||
            (gst_structure_get_int(s, "height", &height) && height > kMaxImageSide)) {
            GST_ELEMENT_ERROR(decode, STREAM, DECODE,
                              ("the picture is too large (%dx%d)", width, height),
                              ("larger than %d pixels on a side", kMaxImageSide));
            return FALSE;
        }
    }
    return TRUE;
}

// The size of the picture that went through the capsfilter named "decoded".
bool decoded_size(GstElement* pipeline, ImageSize& size)
{
    GstElement* filter = gst_bin_get_by_name(GST_BIN(pipeline), "decoded");
    if (!filter)
        return false;
    GstPad* pad = gst_element_get_static_pad(filter, "src");
    GstCaps* caps = gst_pad_get_current_caps(pad);
    const GstStructure* s =
        caps && gst_caps_get_size(caps) > 0 ? gst_caps_get_structure(caps, 0) : nullptr;
    const bool ok = s && gst_structure_get_int(s, "width", &size.width) &&
                    gst_structure_get_int(s, "height", &size.height);
    if (caps)
        gst_caps_unref(caps);
    gst_object_unref(pad);
    gst_object_unref(filter);
    return ok;
}

// Runs `description` (which has an appsrc "src", a decodebin "decode", a
// capsfilter "decoded" and
// an appsink "sink") on `input`, returns the first sample the sink got and
// the decoded size, or null with `error`.
GstSample* run_once(const std::string& description, const std::string& input, ImageSize& size,
                    std::string& error)
{
    if (input.empty()) {
        error = "empty input";
        return nullptr;
    }
    GError* parse_error = nullptr;
    PipelinePtr pipeline(gst_parse_launch(description.c_str(), &parse_error));
    if (!pipeline || parse_error) {
        error = parse_error ? parse_error->message : "cannot build the pipeline";
        g_clear_error(&parse_error);
        return nullptr;
    }
    if (GstElement* decode = gst_bin_get_by_name(GST_BIN(pipeline.get()), "decode")) {
        g_signal_connect(decode, "autoplug-continue", G_CALLBACK(continue_if_small), nullptr);
        gst_object_unref(decode);
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

    // Wait for the picture, or for an error: a refused picture fails at
    // once instead of after the whole timeout.
    GstBus* bus = gst_element_get_bus(pipeline.get());
    GstSample* sample = nullptr;
    GstMessage* failure = nullptr;
    const gint64 deadline = g_get_monotonic_time() + kTimeout / GST_USECOND;
    while (!sample && !failure && g_get_monotonic_time() < deadline) {
        g_signal_emit_by_name(sink, "try-pull-sample", 20 * GST_MSECOND, &sample);
        gboolean eos = FALSE;
        g_object_get(sink, "eos", &eos, nullptr);
        if (!sample)
            failure = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR);
        if (!sample && !failure && eos)
            break;
    }
    gst_object_unref(bus);
    if (!sample) {
        if (failure) {
            GError* e = nullptr;
            gst_message_parse_error(failure, &e, nullptr);
            error = e ? e->message : "decoding failed";
            g_clear_error(&e);
            gst_message_unref(failure);
        } else {
            error = "not a picture";
        }
    } else if (!decoded_size(pipeline.get(), size)) {
        gst_sample_unref(sample);
        sample = nullptr;
        error = "the decoded picture has no size";
    }
    gst_object_unref(src);
    gst_object_unref(sink);
    return sample;
}

}  // namespace

bool make_thumbnail(const std::string& image, int side, std::string& jpeg, ImageSize& source,
                    std::string& error)
{
    if (side < 1 || side > 4096) {
        error = "bad thumbnail size";
        return false;
    }
    const std::string description =
        "appsrc name=src ! decodebin name=decode ! capsfilter name=decoded caps=\"" +
        decoded_caps() +
        "\" ! videoconvert ! aspectratiocrop aspect-ratio=1/1 ! videoscale ! "
        "video/x-raw,width=" +
        std::to_string(side) + ",height=" + std::to_string(side) +
        ",pixel-aspect-ratio=1/1 ! jpegenc quality=85 ! appsink name=sink";
    GstSample* sample = run_once(description, image, source, error);
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
    const std::string description =
        "appsrc name=src ! decodebin name=decode ! capsfilter name=decoded caps=\"" +
        decoded_caps() + "\" ! videoconvert ! appsink name=sink";
    GstSample* sample = run_once(description, image, size, error);
    if (!sample)
        return false;
    gst_sample_unref(sample);
    return true;
}

}  // namespace zumzi::media
