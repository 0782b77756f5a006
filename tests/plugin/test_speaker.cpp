// zumzispeaker: the loudest of its streams becomes the speaker once it has
// held for hold-time (in running time), quieter-than-threshold streams never
// do, audio passes through unchanged. Fed by GstHarness with buffers of
// chosen loudness and timestamps, so every decision is deterministic; and
// once in a live pipeline of two audiotestsrc.
#include <gst/check/gstharness.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "plugin_test.h"

// Last: CppUTest redefines `new` for its leak checker.
#include <CppUTest/TestHarness.h>

using namespace zumzi::plugin_test;

namespace {

constexpr int RATE = 48000;
constexpr GstClockTime STEP = 10 * GST_MSECOND;  // one buffer
constexpr GstClockTime MS = GST_MSECOND;

struct Decision {
    std::string pad;
    std::string previous;
    guint64 running_time = 0;
    double level_db = 0;
};

// A zumzispeaker with two harnessed streams, driven in lockstep.
struct Speaker {
    GstElement* element = nullptr;
    GstHarness* h[2] = {nullptr, nullptr};
    GstBus* bus = nullptr;
    GstClockTime now = 0;

    Speaker(GstClockTime hold_time, double threshold = -40.0)
    {
        element = gst_element_factory_make("zumzispeaker", nullptr);
        CHECK(element != nullptr);
        gst_object_ref_sink(element);
        g_object_set(element, "hold-time", (guint64)hold_time, "interval", (guint64)(100 * MS),
                     "threshold", threshold, nullptr);
        bus = gst_bus_new();
        gst_element_set_bus(element, bus);
        for (int i = 0; i < 2; i++) {
            GstPad* pad = gst_element_request_pad_simple(element, "sink_%u");
            CHECK(pad != nullptr);
            gchar* sink = g_strdup_printf("sink_%d", i);
            gchar* src = g_strdup_printf("src_%d", i);
            STRCMP_EQUAL(sink, GST_PAD_NAME(pad));
            gst_object_unref(pad);
            h[i] = gst_harness_new_with_element(element, sink, src);
            g_free(sink);
            g_free(src);
            gst_harness_set_src_caps_str(
                h[i], "audio/x-raw,format=S16LE,layout=interleaved,rate=48000,channels=1");
            gst_harness_play(h[i]);
        }
    }
    ~Speaker()
    {
        for (GstHarness* harness : h)
            if (harness)
                gst_harness_teardown(harness);
        gst_element_set_state(element, GST_STATE_NULL);
        gst_object_unref(element);
        gst_object_unref(bus);
    }

    // A sine of peak `amplitude` (0..1) for one STEP at `pts`.
    static GstBuffer* tone(double amplitude, GstClockTime pts)
    {
        const int samples = RATE / 100;
        GstBuffer* b = gst_buffer_new_allocate(nullptr, samples * 2, nullptr);
        GstMapInfo map;
        gst_buffer_map(b, &map, GST_MAP_WRITE);
        auto* s = reinterpret_cast<gint16*>(map.data);
        guint64 offset = pts / STEP * samples;
        for (int i = 0; i < samples; i++)
            s[i] = gint16(amplitude * 32767 * std::sin(2 * M_PI * 440 * (offset + i) / RATE));
        gst_buffer_unmap(b, &map);
        GST_BUFFER_PTS(b) = pts;
        GST_BUFFER_DURATION(b) = STEP;
        return b;
    }

    // Both streams for `duration` at the given amplitudes (stream 1 may be
    // gone: amplitude < 0).
    void play(GstClockTime duration, double a0, double a1)
    {
        for (GstClockTime end = now + duration; now < end; now += STEP) {
            for (int i = 0; i < 2; i++) {
                double a = i == 0 ? a0 : a1;
                if (a < 0 || !h[i])
                    continue;
                CHECK_EQUAL(GST_FLOW_OK, gst_harness_push(h[i], tone(a, now)));
                gst_buffer_unref(gst_harness_pull(h[i]));
            }
        }
    }

    // The zumzi-speaker messages posted since the last call.
    std::vector<Decision> decisions()
    {
        std::vector<Decision> out;
        while (GstMessage* m = gst_bus_pop_filtered(bus, GST_MESSAGE_ELEMENT)) {
            const GstStructure* s = gst_message_get_structure(m);
            if (gst_structure_has_name(s, "zumzi-speaker")) {
                Decision d;
                d.pad = gst_structure_get_string(s, "pad");
                d.previous = gst_structure_get_string(s, "previous");
                gst_structure_get_uint64(s, "running-time", &d.running_time);
                gst_structure_get_double(s, "level-db", &d.level_db);
                guint index = 99;
                gst_structure_get_uint(s, "index", &index);
                CHECK_EQUAL(d.pad == "sink_0" ? 0u : 1u, index);
                out.push_back(d);
            }
            gst_message_unref(m);
        }
        return out;
    }

    std::string current()
    {
        gchar* name = nullptr;
        g_object_get(element, "speaker", &name, nullptr);
        std::string out = name ? name : "";
        g_free(name);
        return out;
    }
};

}  // namespace

TEST_GROUP(Speaker){void setup() override{init_gstreamer();
}
}
;

TEST(Speaker, TheLoudestBecomesSpeakerAfterTheHoldTimeAndShortBurstsDoNotSwitch)
{
    const GstClockTime hold = 300 * MS;
    Speaker s(hold);
    CHECK_EQUAL("", s.current());

    // A talks, B murmurs above the threshold: A after the hold time
    s.play(1000 * MS, 0.5, 0.03);
    auto d = s.decisions();
    CHECK_EQUAL(1u, d.size());
    STRCMP_EQUAL("sink_0", d[0].pad.c_str());
    STRCMP_EQUAL("", d[0].previous.c_str());
    CHECK(d[0].running_time >= hold);
    CHECK(d[0].running_time <= hold + 200 * MS);
    CHECK(d[0].level_db > -12 && d[0].level_db < -6);  // a 0.5 sine: -9 dBFS RMS
    STRCMP_EQUAL("sink_0", s.current().c_str());

    // B is louder for less than the hold time, then A again: no switch
    s.play(200 * MS, 0.5, 0.9);
    s.play(300 * MS, 0.5, 0.03);
    CHECK_EQUAL(0u, s.decisions().size());

    // B louder for long enough: B, no earlier than the hold time after it began
    GstClockTime b_starts = s.now;
    s.play(1000 * MS, 0.03, 0.9);
    d = s.decisions();
    CHECK_EQUAL(1u, d.size());
    STRCMP_EQUAL("sink_1", d[0].pad.c_str());
    STRCMP_EQUAL("sink_0", d[0].previous.c_str());
    CHECK(d[0].running_time >= b_starts + hold);
    CHECK(d[0].running_time <= b_starts + hold + 200 * MS);
    STRCMP_EQUAL("sink_1", s.current().c_str());

    // silence keeps the speaker
    s.play(1000 * MS, 0.0, 0.0);
    CHECK_EQUAL(0u, s.decisions().size());
    STRCMP_EQUAL("sink_1", s.current().c_str());
}

TEST(Speaker, ZeroHoldSwitchesAtTheFirstMeasurement)
{
    Speaker s(0);
    s.play(100 * MS, 0.03, 0.5);
    auto d = s.decisions();
    CHECK(d.size() >= 1);
    STRCMP_EQUAL("sink_1", d.back().pad.c_str());
    CHECK_EQUAL(100 * MS, d.back().running_time);
    s.play(100 * MS, 0.5, 0.03);
    d = s.decisions();
    CHECK_EQUAL(1u, d.size());
    STRCMP_EQUAL("sink_0", d[0].pad.c_str());
}

TEST(Speaker, NobodyBelowTheThresholdBecomesSpeaker)
{
    Speaker s(100 * MS, -40.0);
    s.play(1500 * MS, 0.005, 0.008);  // about -49 and -45 dBFS
    CHECK_EQUAL(0u, s.decisions().size());
    CHECK_EQUAL("", s.current());
    g_object_set(s.element, "threshold", -50.0, nullptr);
    s.play(500 * MS, 0.005, 0.008);
    auto d = s.decisions();
    CHECK_EQUAL(1u, d.size());
    STRCMP_EQUAL("sink_1", d[0].pad.c_str());
}

TEST(Speaker, AudioPassesThroughUnchanged)
{
    Speaker s(0);
    GstBuffer* in = Speaker::tone(0.3, 0);
    gst_buffer_ref(in);
    CHECK_EQUAL(GST_FLOW_OK, gst_harness_push(s.h[0], in));
    GstBuffer* out = gst_harness_pull(s.h[0]);
    CHECK(out != nullptr);
    GstMapInfo a, b;
    gst_buffer_map(in, &a, GST_MAP_READ);
    gst_buffer_map(out, &b, GST_MAP_READ);
    CHECK_EQUAL(a.size, b.size);
    CHECK_EQUAL(0, memcmp(a.data, b.data, a.size));
    gst_buffer_unmap(in, &a);
    gst_buffer_unmap(out, &b);
    CHECK_EQUAL(GST_BUFFER_PTS(in), GST_BUFFER_PTS(out));
    gst_buffer_unref(in);
    gst_buffer_unref(out);
}

TEST(Speaker, ReleasingTheSpeakerLetsTheNextLoudestTakeOver)
{
    Speaker s(200 * MS);
    s.play(600 * MS, 0.5, 0.05);
    auto d = s.decisions();
    CHECK_EQUAL(1u, d.size());
    STRCMP_EQUAL("sink_0", d[0].pad.c_str());

    // the harness' teardown releases the request pad it was given
    gst_harness_teardown(s.h[0]);
    s.h[0] = nullptr;
    CHECK(gst_element_get_static_pad(s.element, "sink_0") == nullptr);
    CHECK(gst_element_get_static_pad(s.element, "src_0") == nullptr);
    CHECK_EQUAL("", s.current());

    s.play(600 * MS, -1, 0.05);
    d = s.decisions();
    CHECK_EQUAL(1u, d.size());
    STRCMP_EQUAL("sink_1", d[0].pad.c_str());
    STRCMP_EQUAL("", d[0].previous.c_str());
}

TEST(Speaker, PicksTheLouderOfTwoLiveSources)
{
    ElementPtr pipeline = parse(
        "zumzispeaker name=spk hold-time=200000000 post-levels=true "
        "audiotestsrc is-live=true volume=0.05 ! spk.sink_0 spk.src_0 ! fakesink name=f0 "
        "audiotestsrc is-live=true volume=0.8 ! spk.sink_1 spk.src_1 ! fakesink name=f1");
    CHECK_TRUE(set_state(pipeline.get(), GST_STATE_PLAYING));
    std::vector<std::string> speakers;
    int level_messages[2] = {0, 0};
    std::string error;
    // until a speaker and a second of levels after it, or 20 s
    GstClockTime until = GST_CLOCK_TIME_NONE;
    watch_bus(pipeline.get(), 20000, [&](GstMessage* m) {
        if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_ERROR) {
            error = "error on the bus";
            return true;
        }
        const GstStructure* s = gst_message_get_structure(m);
        if (GST_MESSAGE_TYPE(m) != GST_MESSAGE_ELEMENT || !s)
            return false;
        if (gst_structure_has_name(s, "zumzi-speaker")) {
            speakers.push_back(gst_structure_get_string(s, "pad"));
            gst_structure_get_uint64(s, "running-time", &until);
            until += GST_SECOND;
        } else if (gst_structure_has_name(s, "zumzi-level")) {
            guint index = 0;
            guint64 t = 0;
            gst_structure_get_uint(s, "index", &index);
            gst_structure_get_uint64(s, "running-time", &t);
            CHECK(index < 2);
            level_messages[index]++;
            if (GST_CLOCK_TIME_IS_VALID(until) && t >= until)
                return true;
        }
        return false;
    });
    gst_element_set_state(pipeline.get(), GST_STATE_NULL);
    STRCMP_EQUAL("", error.c_str());
    CHECK_EQUAL(1u, speakers.size());
    STRCMP_EQUAL("sink_1", speakers[0].c_str());
    CHECK(level_messages[0] >= 5);
    CHECK(level_messages[1] >= 5);
}
