// zumzimixer in live pipelines: output caps from the preset, the layout seen
// in the output pixels, inputs requested and released while PLAYING with
// the output going on without a gap, stalled inputs, audio mixing and mute,
// and the end of stream.
#include <glib/gstdio.h>
#include <gst/app/gstappsink.h>
#include <gst/video/video.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "plugin_test.h"

// Last: CppUTest redefines `new` for its leak checker.
#include <CppUTest/TestHarness.h>

using namespace zumzi::plugin_test;

namespace {

constexpr int W = 320;
constexpr int H = 240;
constexpr GstClockTime FRAME = GST_SECOND / 10;

struct Rgb {
    int r, g, b;
};
const Rgb RED{255, 0, 0};
const Rgb GREEN{0, 255, 0};
const Rgb BLUE{0, 0, 255};
const Rgb BLACK{0, 0, 0};

bool near(const Rgb& want, const Rgb& got)
{
    return std::abs(want.r - got.r) <= 60 && std::abs(want.g - got.g) <= 60 &&
           std::abs(want.b - got.b) <= 60;
}

void check_color(const Rgb& want, const Rgb& got, const char* where)
{
    if (!near(want, got))
        FAIL(g_strdup_printf("%s: want %d,%d,%d got %d,%d,%d", where, want.r, want.g, want.b, got.r,
                             got.g, got.b));
}

// The colour at (x, y) of an RGB sample.
Rgb pixel_of(GstSample* sample, int x, int y)
{
    GstVideoInfo info;
    CHECK_TRUE(gst_video_info_from_caps(&info, gst_sample_get_caps(sample)));
    GstVideoFrame frame;
    CHECK_TRUE(gst_video_frame_map(&frame, &info, gst_sample_get_buffer(sample), GST_MAP_READ));
    const guint8* row = static_cast<const guint8*>(GST_VIDEO_FRAME_PLANE_DATA(&frame, 0)) +
                        y * GST_VIDEO_FRAME_PLANE_STRIDE(&frame, 0);
    Rgb c{row[x * 3], row[x * 3 + 1], row[x * 3 + 2]};
    gst_video_frame_unmap(&frame);
    return c;
}

// A live QVGA mixer at 10 fps into an RGB appsink that keeps the newest
// frame; a probe records every output timestamp.
struct MixerPipeline {
    ElementPtr pipeline;
    ElementPtr mixer;
    ElementPtr sink;
    std::mutex lock;
    std::vector<GstClockTime> pts;
    std::string error;

    explicit MixerPipeline(const std::string& mixer_props = "preset=qvga framerate=10/1",
                           bool audio_sink = false)
    {
        pipeline = parse("zumzimixer name=mix " + mixer_props +
                         " mix.video_src ! videoconvert name=conv ! video/x-raw,format=RGB ! "
                         "appsink name=out max-buffers=1 drop=true sync=false " +
                         (audio_sink ? std::string("mix.audio_src ! fakesink sync=false") : ""));
        mixer = child(pipeline.get(), "mix");
        sink = child(pipeline.get(), "out");
        ElementPtr conv = child(pipeline.get(), "conv");
        PadPtr pad(gst_element_get_static_pad(conv.get(), "sink"));
        gst_pad_add_probe(
            pad.get(), GST_PAD_PROBE_TYPE_BUFFER,
            [](GstPad*, GstPadProbeInfo* info, gpointer data) {
                auto* self = static_cast<MixerPipeline*>(data);
                std::lock_guard<std::mutex> g(self->lock);
                self->pts.push_back(GST_BUFFER_PTS(GST_PAD_PROBE_INFO_BUFFER(info)));
                return GST_PAD_PROBE_OK;
            },
            this, nullptr);
    }
    ~MixerPipeline()
    {
        if (pipeline)
            gst_element_set_state(pipeline.get(), GST_STATE_NULL);
    }

    size_t frames()
    {
        std::lock_guard<std::mutex> g(lock);
        return pts.size();
    }

    // Lets `n` more frames out, failing on a bus error or after 20 s.
    void wait_frames(size_t n)
    {
        size_t target = frames() + n;
        GstBus* bus = gst_element_get_bus(pipeline.get());
        for (int i = 0; i < 2000 && frames() < target && error.empty(); i++) {
            GstMessage* m = gst_bus_timed_pop_filtered(bus, 10 * GST_MSECOND, GST_MESSAGE_ERROR);
            if (m) {
                GError* e = nullptr;
                gchar* debug = nullptr;
                gst_message_parse_error(m, &e, &debug);
                error = std::string(GST_OBJECT_NAME(GST_MESSAGE_SRC(m))) + ": " + e->message +
                        " (" + (debug ? debug : "") + ")";
                g_error_free(e);
                g_free(debug);
                gst_message_unref(m);
            }
        }
        gst_object_unref(bus);
        STRCMP_EQUAL("", error.c_str());
        CHECK(frames() >= target);
    }

    // Every output timestamp one frame after the previous: no frame was
    // skipped or repeated while inputs came and went.
    void check_no_gap()
    {
        std::lock_guard<std::mutex> g(lock);
        CHECK(pts.size() >= 2);
        for (size_t i = 1; i < pts.size(); i++) {
            if (pts[i] - pts[i - 1] != FRAME) {
                FAIL(g_strdup_printf("gap at frame %zu: %" GST_TIME_FORMAT
                                     " then %" GST_TIME_FORMAT,
                                     i, GST_TIME_ARGS(pts[i - 1]), GST_TIME_ARGS(pts[i])));
            }
        }
    }

    // The newest RGB frame (a ref), once `n` more frames have come out.
    GstSample* frame(size_t n)
    {
        wait_frames(n);
        GstSample* sample = gst_app_sink_try_pull_sample(GST_APP_SINK(sink.get()), 5 * GST_SECOND);
        CHECK(sample != nullptr);
        return sample;
    }

    // The newest frame (a ref) once `ready` says that the last change is on
    // screen, or the last one after 30 s (the caller's checks then fail). A
    // change reaches the output when its branch gets there: a new input's
    // first frame, a cell renegotiated to a new size, a label rendered; on a
    // loaded machine that can be many frames later, so no fixed number of
    // frames is enough.
    GstSample* frame_when(const std::function<bool(GstSample*)>& ready)
    {
        gint64 end = g_get_monotonic_time() + 30 * G_TIME_SPAN_SECOND;
        GstSample* sample = frame(2);
        while (!ready(sample) && g_get_monotonic_time() < end) {
            gst_sample_unref(sample);
            sample = frame(1);
        }
        return sample;
    }

    // Waits for a frame with the colour `want` at (x, y); fails with the
    // colour of the last frame when none comes.
    void expect_color(const Rgb& want, int x, int y, const char* where)
    {
        GstSample* sample = frame_when([&](GstSample* s) { return near(want, pixel_of(s, x, y)); });
        Rgb got = pixel_of(sample, x, y);
        gst_sample_unref(sample);
        check_color(want, got, where);
    }

    GstCaps* output_caps()
    {
        PadPtr pad(gst_element_get_static_pad(mixer.get(), "video_src"));
        return gst_pad_get_current_caps(pad.get());
    }
};

// A live test source of one colour, `w` x `h` at 10 fps, as a bin.
struct Input {
    GstElement* bin = nullptr;  // owned by the pipeline
    GstPad* mixer_pad = nullptr;

    Input(MixerPipeline& p, const char* pattern, int w, int h, const char* pad_name = "video_%u",
          const char* label = nullptr)
    {
        gchar* desc = g_strdup_printf(
            "videotestsrc is-live=true pattern=%s ! "
            "capsfilter caps=video/x-raw,width=%d,height=%d,framerate=10/1",
            pattern, w, h);
        GError* error = nullptr;
        bin = gst_parse_bin_from_description(desc, TRUE, &error);
        g_free(desc);
        if (!bin)
            FAIL(error->message);
        gst_bin_add(GST_BIN(p.pipeline.get()), bin);
        mixer_pad = gst_element_request_pad_simple(p.mixer.get(), pad_name);
        CHECK(mixer_pad != nullptr);
        if (label)
            g_object_set(mixer_pad, "label", label, nullptr);
        PadPtr src(gst_element_get_static_pad(bin, "src"));
        CHECK_EQUAL(GST_PAD_LINK_OK, gst_pad_link(src.get(), mixer_pad));
        CHECK_TRUE(gst_element_sync_state_with_parent(bin));
    }

    // The documented way out: stop the source, unlink, release the pad.
    void remove(MixerPipeline& p)
    {
        gst_element_set_state(bin, GST_STATE_NULL);
        PadPtr src(gst_element_get_static_pad(bin, "src"));
        gst_pad_unlink(src.get(), mixer_pad);
        gst_element_release_request_pad(p.mixer.get(), mixer_pad);
        gst_object_unref(mixer_pad);
        mixer_pad = nullptr;
        gst_bin_remove(GST_BIN(p.pipeline.get()), bin);
        bin = nullptr;
    }

    // The way a server takes a live input away while its source runs on:
    // from an IDLE probe on the source's pad, drop what it still sends, unlink
    // and release; the source is stopped later.
    void remove_from_idle_probe(MixerPipeline& p)
    {
        PadPtr src(gst_element_get_static_pad(bin, "src"));
        struct Ctx {
            GstElement* mixer;
            GstPad* mixer_pad;
            GMutex lock;
            GCond cond;
            bool done = false;
        } ctx;
        ctx.mixer = p.mixer.get();
        ctx.mixer_pad = mixer_pad;
        g_mutex_init(&ctx.lock);
        g_cond_init(&ctx.cond);
        gst_pad_add_probe(
            src.get(), GST_PAD_PROBE_TYPE_IDLE,
            [](GstPad* pad, GstPadProbeInfo*, gpointer data) {
                auto* c = static_cast<Ctx*>(data);
                gst_pad_add_probe(
                    pad, GST_PAD_PROBE_TYPE_DATA_DOWNSTREAM,
                    [](GstPad*, GstPadProbeInfo*, gpointer) { return GST_PAD_PROBE_DROP; }, nullptr,
                    nullptr);
                gst_pad_unlink(pad, c->mixer_pad);
                gst_element_release_request_pad(c->mixer, c->mixer_pad);
                g_mutex_lock(&c->lock);
                c->done = true;
                g_cond_signal(&c->cond);
                g_mutex_unlock(&c->lock);
                return GST_PAD_PROBE_REMOVE;
            },
            &ctx, nullptr);
        g_mutex_lock(&ctx.lock);
        while (!ctx.done)
            g_cond_wait(&ctx.cond, &ctx.lock);
        g_mutex_unlock(&ctx.lock);
        g_mutex_clear(&ctx.lock);
        g_cond_clear(&ctx.cond);
        gst_object_unref(mixer_pad);
        mixer_pad = nullptr;
        gst_element_set_state(bin, GST_STATE_NULL);
        gst_bin_remove(GST_BIN(p.pipeline.get()), bin);
        bin = nullptr;
    }

    ~Input()
    {
        if (mixer_pad)
            gst_object_unref(mixer_pad);
    }
};

// Counts, in the rectangle [x0, x1) x [y0, y1) of an RGB sample, the pixels
// that are near white and those that are much darker than `cell`.
struct LabelPixels {
    int white = 0;
    int dark = 0;
};
LabelPixels count_label_pixels(GstSample* sample, int x0, int y0, int x1, int y1, const Rgb& cell)
{
    GstVideoInfo info;
    CHECK_TRUE(gst_video_info_from_caps(&info, gst_sample_get_caps(sample)));
    GstVideoFrame frame;
    CHECK_TRUE(gst_video_frame_map(&frame, &info, gst_sample_get_buffer(sample), GST_MAP_READ));
    LabelPixels n;
    for (int y = y0; y < y1; y++) {
        const guint8* row = static_cast<const guint8*>(GST_VIDEO_FRAME_PLANE_DATA(&frame, 0)) +
                            y * GST_VIDEO_FRAME_PLANE_STRIDE(&frame, 0);
        for (int x = x0; x < x1; x++) {
            int r = row[x * 3], g = row[x * 3 + 1], b = row[x * 3 + 2];
            if (r > 200 && g > 200 && b > 200)
                n.white++;
            else if (r + g + b < (cell.r + cell.g + cell.b) / 2)
                n.dark++;
        }
    }
    gst_video_frame_unmap(&frame);
    return n;
}

// Writes an RGB sample as a PNG into the test log dir (ZUMZI_TEST_LOG_DIR,
// else the temporary directory); returns its path.
std::string save_png(GstSample* sample, const char* name)
{
    const char* dir = g_getenv("ZUMZI_TEST_LOG_DIR");
    std::string path = std::string(dir ? dir : g_get_tmp_dir()) + "/" + name;
    g_mkdir_with_parents(dir ? dir : g_get_tmp_dir(), 0755);
    GstCaps* png_caps = gst_caps_new_empty_simple("image/png");
    GError* error = nullptr;
    GstSample* png = gst_video_convert_sample(sample, png_caps, 10 * GST_SECOND, &error);
    gst_caps_unref(png_caps);
    if (!png)
        FAIL(error ? error->message : "no png");
    GstMapInfo map;
    GstBuffer* buffer = gst_sample_get_buffer(png);
    CHECK_TRUE(gst_buffer_map(buffer, &map, GST_MAP_READ));
    CHECK_TRUE(g_file_set_contents(path.c_str(), reinterpret_cast<const gchar*>(map.data),
                                   gssize(map.size), nullptr));
    gst_buffer_unmap(buffer, &map);
    gst_sample_unref(png);
    return path;
}

}  // namespace

TEST_GROUP(Mixer){void setup() override{init_gstreamer();
}
}
;

TEST(Mixer, OutputHasThePresetSizeAndGoesOnBlackWithoutInputs)
{
    MixerPipeline p;
    CHECK_TRUE(set_state(p.pipeline.get(), GST_STATE_PLAYING));
    p.wait_frames(5);
    GstCaps* caps = p.output_caps();
    CHECK(caps != nullptr);
    GstStructure* s = gst_caps_get_structure(caps, 0);
    int w = 0, h = 0, fn = 0, fd = 0;
    gst_structure_get_int(s, "width", &w);
    gst_structure_get_int(s, "height", &h);
    gst_structure_get_fraction(s, "framerate", &fn, &fd);
    STRCMP_EQUAL("I420", gst_structure_get_string(s, "format"));
    gst_caps_unref(caps);
    CHECK_EQUAL(W, w);
    CHECK_EQUAL(H, h);
    CHECK_EQUAL(10, fn);
    CHECK_EQUAL(1, fd);
    p.expect_color(BLACK, W / 2, H / 2, "empty mixer");
    p.check_no_gap();
}

TEST(Mixer, PresetSetsSizeAndRateThatPropertiesOverride)
{
    ElementPtr mixer(gst_element_factory_make("zumzimixer", nullptr));
    gst_util_set_object_arg(G_OBJECT(mixer.get()), "preset", "fhd");
    int w = 0, h = 0;
    g_object_get(mixer.get(), "width", &w, "height", &h, nullptr);
    CHECK_EQUAL(1920, w);
    CHECK_EQUAL(1080, h);
    gst_util_set_object_arg(G_OBJECT(mixer.get()), "preset", "4k");
    g_object_get(mixer.get(), "width", &w, "height", &h, nullptr);
    CHECK_EQUAL(3840, w);
    CHECK_EQUAL(2160, h);

    MixerPipeline p("preset=hd width=256 height=144 framerate=10/1");
    CHECK_TRUE(set_state(p.pipeline.get(), GST_STATE_PLAYING));
    p.wait_frames(2);
    GstCaps* caps = p.output_caps();
    GstStructure* s = gst_caps_get_structure(caps, 0);
    gst_structure_get_int(s, "width", &w);
    gst_structure_get_int(s, "height", &h);
    gst_caps_unref(caps);
    CHECK_EQUAL(256, w);
    CHECK_EQUAL(144, h);
}

TEST(Mixer, InputsComeAndGoWhilePlayingWithoutAGap)
{
    MixerPipeline p;
    CHECK_TRUE(set_state(p.pipeline.get(), GST_STATE_PLAYING));
    p.wait_frames(3);

    Input red(p, "red", 640, 480);
    STRCMP_EQUAL("video_0", GST_PAD_NAME(red.mixer_pad));
    p.expect_color(RED, W / 2, H / 2, "one input fills the frame");

    // two inputs: one centred row of the 2x2 grid
    Input blue(p, "blue", 160, 120);
    STRCMP_EQUAL("video_1", GST_PAD_NAME(blue.mixer_pad));
    p.expect_color(RED, W / 4, H / 2, "grid of two, left");
    p.expect_color(BLUE, 3 * W / 4, H / 2, "grid of two, right");
    p.expect_color(BLACK, W / 2, 20, "grid of two, above the row");

    // a third comes and goes
    {
        Input green(p, "green", 320, 240);
        p.expect_color(GREEN, W / 2, 3 * H / 4, "grid of three, bottom row centred");
        green.remove(p);
    }
    p.expect_color(BLACK, W / 2, 3 * H / 4, "after the third left");

    red.remove(p);
    p.expect_color(BLUE, W / 2, H / 2, "the one left fills the frame");
    blue.remove(p);
    p.expect_color(BLACK, W / 2, H / 2, "no input: black");
    p.check_no_gap();
}

TEST(Mixer, InputsAreLetterboxedKeepingTheirAspectRatio)
{
    MixerPipeline p;
    CHECK_TRUE(set_state(p.pipeline.get(), GST_STATE_PLAYING));
    Input wide(p, "red", 320, 80);
    p.expect_color(RED, W / 2, H / 2, "wide input, middle");
    p.expect_color(BLACK, W / 2, 30, "wide input, bar above");
    p.expect_color(BLACK, W / 2, H - 30, "wide input, bar below");
    wide.remove(p);

    Input tall(p, "blue", 60, 240);
    p.expect_color(BLUE, W / 2, H / 2, "tall input, middle");
    p.expect_color(BLACK, 30, H / 2, "tall input, bar left");
    p.expect_color(BLACK, W - 30, H / 2, "tall input, bar right");
    tall.remove(p);
}

TEST(Mixer, SpeakerAndPipLayoutsFollowTheSpeakerProperty)
{
    MixerPipeline p("preset=qvga framerate=10/1 layout=speaker speaker=video_2");
    CHECK_TRUE(set_state(p.pipeline.get(), GST_STATE_PLAYING));
    Input red(p, "red", 320, 240);
    Input green(p, "green", 320, 240, "video_%u", "Greenie");
    Input blue(p, "blue", 320, 240);
    // the speaker area is above a strip of H/5
    p.expect_color(BLUE, W / 2, H / 3, "speaker by pad name");
    g_object_set(p.mixer.get(), "speaker", "Greenie", nullptr);
    p.expect_color(GREEN, W / 2, H / 3, "speaker by label");
    g_object_set(p.mixer.get(), "speaker", "0", nullptr);
    p.expect_color(RED, W / 2, H / 3, "speaker by number");
    // the others are in the strip below
    p.expect_color(GREEN, W / 2 - 32, H - 24, "strip, first other");
    p.expect_color(BLUE, W / 2 + 32, H - 24, "strip, second other");

    gst_util_set_object_arg(G_OBJECT(p.mixer.get()), "layout", "pip");
    p.expect_color(RED, W / 4, H / 4, "pip: speaker full frame");
    // inset W/4 x H/4, bottom right, H/30 from the edges: the next input
    p.expect_color(GREEN, W - 8 - W / 8, H - 8 - H / 8, "pip: inset");
    g_object_set(p.mixer.get(), "speaker", "video_1", nullptr);
    p.expect_color(GREEN, W / 4, H / 4, "pip: new speaker");
    p.expect_color(RED, W - 8 - W / 8, H - 8 - H / 8, "pip: inset is the first other");
    p.check_no_gap();
}

TEST(Mixer, AStalledLiveInputDoesNotStopTheOutput)
{
    MixerPipeline p;
    CHECK_TRUE(set_state(p.pipeline.get(), GST_STATE_PLAYING));
    Input red(p, "red", 320, 240);
    Input blue(p, "blue", 320, 240);
    p.wait_frames(5);
    // a paused live source sends nothing more: its last frame stays
    gst_element_set_state(red.bin, GST_STATE_PAUSED);
    p.wait_frames(20);
    p.expect_color(BLUE, 3 * W / 4, H / 2, "the other input still moves on");
    p.check_no_gap();
    gst_element_set_state(red.bin, GST_STATE_PLAYING);
    p.wait_frames(5);
    red.remove(p);
    blue.remove(p);
}

TEST(Mixer, ManyInputsComeAndGoWhileTheOthersPlayOn)
{
    MixerPipeline p;
    CHECK_TRUE(set_state(p.pipeline.get(), GST_STATE_PLAYING));
    Input steady(p, "blue", 320, 240, "video_%u", "Steady");
    p.wait_frames(3);
    for (int cycle = 0; cycle < 12; cycle++) {
        Input a(p, "red", 640, 360);
        Input b(p, "green", 176, 144, "video_%u", "B");
        p.wait_frames(2);
        if (cycle % 2) {
            a.remove_from_idle_probe(p);
            b.remove(p);
        } else {
            b.remove_from_idle_probe(p);
            a.remove(p);
        }
        p.wait_frames(1);
    }
    p.expect_color(BLUE, W / 2, H / 2, "the steady input alone again");
    p.check_no_gap();
    // only the steady input's branch is left in the bin
    int scalers = 0;
    GstIterator* it = gst_bin_iterate_elements(GST_BIN(p.mixer.get()));
    GValue item = G_VALUE_INIT;
    while (gst_iterator_next(it, &item) == GST_ITERATOR_OK) {
        if (g_str_has_suffix(GST_OBJECT_NAME(g_value_get_object(&item)), "-scale"))
            scalers++;
        g_value_reset(&item);
    }
    g_value_unset(&item);
    gst_iterator_free(it);
    CHECK_EQUAL(1, scalers);
    steady.remove(p);
}

TEST(Mixer, PadNamesCanBeAskedForAndAreNotReused)
{
    ElementPtr mixer(gst_element_factory_make("zumzimixer", nullptr));
    PadPtr seven(gst_element_request_pad_simple(mixer.get(), "video_7"));
    CHECK(seven != nullptr);
    STRCMP_EQUAL("video_7", GST_PAD_NAME(seven.get()));
    CHECK(gst_element_request_pad_simple(mixer.get(), "video_x") == nullptr);
    CHECK(gst_element_request_pad_simple(mixer.get(), "audio_7x") == nullptr);
    PadPtr next(gst_element_request_pad_simple(mixer.get(), "video_%u"));
    STRCMP_EQUAL("video_8", GST_PAD_NAME(next.get()));
    gst_element_release_request_pad(mixer.get(), seven.get());
    PadPtr after(gst_element_request_pad_simple(mixer.get(), "video_%u"));
    STRCMP_EQUAL("video_9", GST_PAD_NAME(after.get()));
    PadPtr audio(gst_element_request_pad_simple(mixer.get(), "audio_%u"));
    STRCMP_EQUAL("audio_0", GST_PAD_NAME(audio.get()));
    // the label is a pad property
    g_object_set(next.get(), "label", "Ann", nullptr);
    gchar* label = nullptr;
    g_object_get(next.get(), "label", &label, nullptr);
    STRCMP_EQUAL("Ann", label);
    g_free(label);
}

namespace {

// Peak of the F32 samples that reach the probe since the last reset.
struct AudioPeak {
    std::mutex lock;
    float peak = 0;
    size_t buffers = 0;
};

}  // namespace

TEST(Mixer, AudioInputsAreMixedAndMuteSilencesOne)
{
    ElementPtr pipeline = parse(
        "zumzimixer name=mix mix.audio_src ! fakesink name=out sync=false "
        "audiotestsrc is-live=true volume=0.5 samplesperbuffer=480 ! mix.audio_0");
    ElementPtr mixer = child(pipeline.get(), "mix");
    ElementPtr out = child(pipeline.get(), "out");
    AudioPeak peak;
    PadPtr sink_pad(gst_element_get_static_pad(out.get(), "sink"));
    gst_pad_add_probe(
        sink_pad.get(), GST_PAD_PROBE_TYPE_BUFFER,
        [](GstPad*, GstPadProbeInfo* info, gpointer data) {
            auto* peak = static_cast<AudioPeak*>(data);
            GstMapInfo map;
            GstBuffer* b = GST_PAD_PROBE_INFO_BUFFER(info);
            if (gst_buffer_map(b, &map, GST_MAP_READ)) {
                const float* f = reinterpret_cast<const float*>(map.data);
                std::lock_guard<std::mutex> g(peak->lock);
                for (size_t i = 0; i < map.size / sizeof(float); i++)
                    peak->peak = std::max(peak->peak, std::fabs(f[i]));
                peak->buffers++;
                gst_buffer_unmap(b, &map);
            }
            return GST_PAD_PROBE_OK;
        },
        &peak, nullptr);

    auto wait_buffers = [&](size_t n) {
        size_t start;
        {
            std::lock_guard<std::mutex> g(peak.lock);
            start = peak.buffers;
            peak.peak = 0;
        }
        for (int i = 0; i < 2000; i++) {
            {
                std::lock_guard<std::mutex> g(peak.lock);
                if (peak.buffers >= start + n)
                    return peak.peak;
            }
            g_usleep(10000);
        }
        FAIL("no audio out of the mixer");
        return 0.0f;
    };

    // The peak of the first window of 20 buffers whose peak passes `above`,
    // or of the last one after 30 s: the input is in the mix once its
    // branch has got its buffers there, which on a loaded machine can be
    // many output buffers after the change.
    auto peak_once_above = [&](float above) {
        gint64 end = g_get_monotonic_time() + 30 * G_TIME_SPAN_SECOND;
        float p = wait_buffers(20);
        while (p <= above && g_get_monotonic_time() < end)
            p = wait_buffers(20);
        return p;
    };

    CHECK_TRUE(set_state(pipeline.get(), GST_STATE_PLAYING));
    CHECK(peak_once_above(0.3f) > 0.3f);

    PadPtr input(gst_element_get_static_pad(mixer.get(), "audio_0"));
    g_object_set(input.get(), "mute", TRUE, nullptr);
    wait_buffers(10);  // what was already mixed
    CHECK(wait_buffers(20) == 0.0f);
    g_object_set(input.get(), "mute", FALSE, "volume", 0.5, nullptr);
    float half = peak_once_above(0.15f);
    CHECK(half > 0.15f && half < 0.35f);

    PadPtr src(gst_element_get_static_pad(mixer.get(), "audio_src"));
    GstCaps* caps = gst_pad_get_current_caps(src.get());
    GstStructure* s = gst_caps_get_structure(caps, 0);
    int rate = 0, channels = 0;
    gst_structure_get_int(s, "rate", &rate);
    gst_structure_get_int(s, "channels", &channels);
    STRCMP_EQUAL("F32LE", gst_structure_get_string(s, "format"));
    gst_caps_unref(caps);
    CHECK_EQUAL(48000, rate);
    CHECK_EQUAL(2, channels);
    gst_element_set_state(pipeline.get(), GST_STATE_NULL);
}

TEST(Mixer, EndsWhenEveryInputHasEnded)
{
    ElementPtr pipeline = parse(
        "zumzimixer name=mix preset=qvga framerate=10/1 "
        "mix.video_src ! fakesink name=v mix.audio_src ! fakesink name=a "
        "videotestsrc num-buffers=10 ! video/x-raw,framerate=10/1 ! mix.video_0 "
        "videotestsrc num-buffers=5 ! video/x-raw,framerate=10/1 ! mix.video_1 "
        "audiotestsrc num-buffers=20 ! mix.audio_0");
    RunResult result;
    run_to_eos(pipeline.get(), result);
    STRCMP_EQUAL("", result.error.c_str());
    CHECK_TRUE(result.eos);

    // video only: the audio side, which never had an input, ends with it
    ElementPtr video_only = parse(
        "zumzimixer name=mix preset=qvga framerate=10/1 "
        "mix.video_src ! fakesink mix.audio_src ! fakesink "
        "videotestsrc num-buffers=10 ! video/x-raw,framerate=10/1 ! mix.video_0");
    RunResult result2;
    run_to_eos(video_only.get(), result2);
    STRCMP_EQUAL("", result2.error.c_str());
    CHECK_TRUE(result2.eos);
}

TEST(Mixer, LabelsAreDrawnAtTheBottomLeftOfTheirCells)
{
    // 640x360 in a 2x2 grid of 320x180 cells, filled by 16:9 inputs
    MixerPipeline p("width=640 height=360 framerate=10/1");
    CHECK_TRUE(set_state(p.pipeline.get(), GST_STATE_PLAYING));
    Input ann(p, "blue", 320, 180, "video_%u", "Ann");
    Input bob(p, "red", 320, 180, "video_%u", "Bob Longname-Example");
    // 4:3 in a 16:9 cell: letterboxed to 240x180 at x 40
    Input zoe(p, "green", 320, 240, "video_%u", "Zoë Ñandú 😀");
    Input none(p, "blue", 320, 180);
    // the label of each labelled cell is in its bottom left corner (white
    // text on a dark box), the top right of the cell is untouched, and the
    // label is on the picture, not on the letterbox bar beside it: what is
    // not so in a frame ("" when all is)
    struct Cell {
        int x, y;
        Rgb colour;
        bool labelled;
    } cells[] = {
        {0, 0, BLUE, true}, {320, 0, RED, true}, {0, 180, GREEN, true}, {320, 180, BLUE, false}};
    auto grid_problem = [&](GstSample* s) -> std::string {
        for (const Cell& c : cells) {
            std::string at = " in the cell at " + std::to_string(c.x) + "," + std::to_string(c.y);
            LabelPixels corner =
                count_label_pixels(s, c.x, c.y + 180 - 40, c.x + 160, c.y + 180, c.colour);
            LabelPixels top = count_label_pixels(s, c.x + 160, c.y, c.x + 270, c.y + 40, c.colour);
            if (c.labelled && (corner.white <= 40 || corner.dark <= 200))
                return "no label" + at + ": " + std::to_string(corner.white) + " white, " +
                       std::to_string(corner.dark) + " dark pixels";
            if (!c.labelled && (corner.white != 0 || corner.dark != 0))
                return "a label" + at + ", which has none";
            if (top.dark != 0)
                return "dark pixels at the top right" + at;
        }
        if (count_label_pixels(s, 0, 180, 38, 360, BLACK).white != 0)
            return "a label on the letterbox bar";
        if (count_label_pixels(s, 40, 320, 200, 360, GREEN).white <= 40)
            return "no label on the letterboxed picture";
        return "";
    };
    GstSample* grid = p.frame_when([&](GstSample* s) { return grid_problem(s).empty(); });
    printf("\n  label snapshot: %s\n", save_png(grid, "mixer-labels-grid.png").c_str());
    STRCMP_EQUAL("", grid_problem(grid).c_str());
    gst_sample_unref(grid);

    // a label can be changed and taken away while playing
    g_object_set(none.mixer_pad, "label", "Dee", nullptr);
    g_object_set(ann.mixer_pad, "label", "", nullptr);
    GstSample* changed = p.frame_when([&](GstSample* s) {
        LabelPixels dee = count_label_pixels(s, 320, 320, 480, 360, BLUE);
        LabelPixels gone = count_label_pixels(s, 0, 140, 160, 180, BLUE);
        return dee.white > 20 && gone.white == 0 && gone.dark == 0;
    });
    LabelPixels dee = count_label_pixels(changed, 320, 320, 480, 360, BLUE);
    LabelPixels gone = count_label_pixels(changed, 0, 140, 160, 180, BLUE);
    CHECK(dee.white > 20);
    CHECK_EQUAL(0, gone.white);
    CHECK_EQUAL(0, gone.dark);
    gst_sample_unref(changed);

    // a smaller cell gets the label scaled down with it: the speaker layout
    // puts the others in a strip of small cells
    gst_util_set_object_arg(G_OBJECT(p.mixer.get()), "layout", "speaker");
    GstSample* speaker = p.frame(6);
    printf("  label snapshot: %s\n", save_png(speaker, "mixer-labels-speaker.png").c_str());
    gst_sample_unref(speaker);
    p.check_no_gap();
    ann.remove(p);
    bob.remove(p);
    zoe.remove(p);
    none.remove(p);
}

TEST(Mixer, ReleasedLabelledInputsLeaveNothingBehind)
{
    MixerPipeline p;
    CHECK_TRUE(set_state(p.pipeline.get(), GST_STATE_PLAYING));
    Input steady(p, "blue", 320, 240, "video_%u", "Steady");
    std::atomic<int> alive{0};
    int watched = 0;
    auto finalized = [](gpointer data, GObject*) { (*static_cast<std::atomic<int>*>(data))--; };
    for (int cycle = 0; cycle < 20; cycle++) {
        Input in(p, cycle % 2 ? "red" : "green", 320, 240, "video_%u", "Label");
        p.wait_frames(2);
        // the input pad and every element of its branch ("video_N-...")
        std::string prefix = std::string(GST_PAD_NAME(in.mixer_pad)) + "-";
        g_object_weak_ref(G_OBJECT(in.mixer_pad), finalized, &alive);
        alive++;
        watched++;
        GstIterator* it = gst_bin_iterate_elements(GST_BIN(p.mixer.get()));
        GValue item = G_VALUE_INIT;
        while (gst_iterator_next(it, &item) == GST_ITERATOR_OK) {
            GObject* e = G_OBJECT(g_value_get_object(&item));
            if (g_str_has_prefix(GST_OBJECT_NAME(e), prefix.c_str())) {
                g_object_weak_ref(e, finalized, &alive);
                alive++;
                watched++;
            }
            g_value_reset(&item);
        }
        g_value_unset(&item);
        gst_iterator_free(it);
        if (cycle % 2)
            in.remove_from_idle_probe(p);
        else
            in.remove(p);
    }
    // the bus messages the branches posted hold refs until they are popped
    // (wait_frames pops them); streaming threads may hold one for a moment
    gint64 end = g_get_monotonic_time() + 30 * G_TIME_SPAN_SECOND;
    while (alive > 0 && g_get_monotonic_time() < end)
        p.wait_frames(1);
    CHECK(watched >= 20 * 4);
    CHECK_EQUAL(0, alive.load());
    p.check_no_gap();
    steady.remove(p);
}
