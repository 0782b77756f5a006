// zumzilivesink: recordings that ffprobe plays to the end at the right size
// and duration, HLS playlists whose segments decode, max-files bounding the
// segments on disk, one encode for several outputs, outputs started and
// stopped while PLAYING, and a failing RTMP target that leaves the other
// outputs running. QVGA at 10 fps, a few seconds each.
#include <gio/gio.h>
#include <glib/gstdio.h>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstring>
#include <string>
#include <vector>

#include "plugin_test.h"
// After the standard headers: it brings CppUTest.
#include "../gst_elements.h"
#include "../nginx_rtmp.h"

// Last: CppUTest redefines `new` for its leak checker.
#include <CppUTest/TestHarness.h>

using namespace zumzi::plugin_test;
using zumzi_test::closed_port;
using zumzi_test::NginxRtmp;
using zumzi_test::count_made_by;
using zumzi_test::for_each_element;
using zumzi_test::made_by;

namespace {

// `seconds` of QVGA video at 10 fps and 48 kHz audio, not live (as fast as
// the encoder goes), into the livesink named out.
std::string sources(int seconds, bool live = false)
{
    std::string is_live = live ? " is-live=true" : "";
    std::string video_buffers = live ? "" : " num-buffers=" + std::to_string(seconds * 10);
    std::string audio_buffers = live ? "" : " num-buffers=" + std::to_string(seconds * 10);
    return " videotestsrc" + is_live + video_buffers +
           " ! video/x-raw,width=320,height=240,framerate=10/1 ! out.video"
           " audiotestsrc" +
           is_live + audio_buffers +
           " samplesperbuffer=4800 ! audio/x-raw,rate=48000,channels=2 ! out.audio";
}

// The segment file names a playlist lists, in order.
std::vector<std::string> playlist_segments(const std::string& playlist)
{
    std::vector<std::string> out;
    gchar** lines = g_strsplit(playlist.c_str(), "\n", -1);
    for (gchar** l = lines; *l; l++) {
        g_strstrip(*l);
        if (**l && **l != '#')
            out.push_back(*l);
    }
    g_strfreev(lines);
    return out;
}

std::string field_string(const GstStructure* s, const char* name)
{
    const char* v = gst_structure_get_string(s, name);
    return v ? v : "";
}

// The zumzi-livesink messages of `output` with `status`.
int count_status(const RunResult& r, const char* output, const char* status)
{
    int n = 0;
    for (const GstStructure* s : r.named("zumzi-livesink"))
        if (field_string(s, "output") == output && field_string(s, "status") == status)
            n++;
    return n;
}

// The timestamps (s) of the video packets in a file, or of its keyframes
// only, in file order.
std::vector<double> video_packet_times(const std::string& path, bool keyframes_only = false)
{
    Command c = run_command({"ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
                             "packet=pts_time,flags", "-of", "csv=p=0", path},
                            "", {}, 60000);
    std::vector<double> out;
    gchar** lines = g_strsplit(c.out.c_str(), "\n", -1);
    for (gchar** l = lines; *l; l++)
        if (**l && (!keyframes_only || strstr(*l, ",K")))
            out.push_back(g_ascii_strtod(*l, nullptr));
    g_strfreev(lines);
    return out;
}

// The timestamps (s) of the video keyframes in a file.
std::vector<double> keyframe_times(const std::string& path)
{
    return video_packet_times(path, true);
}

void check_recording(const std::string& path, double seconds)
{
    Probe p = ffprobe(path);
    if (!p.ok)
        FAIL(("ffprobe " + path + ": " + p.error).c_str());
    STRCMP_EQUAL("h264", p.video_codec.c_str());
    STRCMP_EQUAL("aac", p.audio_codec.c_str());
    CHECK_EQUAL(320, p.width);
    CHECK_EQUAL(240, p.height);
    if (p.duration < seconds - 1 || p.duration > seconds + 1)
        FAIL(g_strdup_printf("%s: duration %.3f, ran %.1f s", path.c_str(), p.duration, seconds));
    // every frame decodes, to the end
    Probe frames = ffprobe(path, true);
    if (!frames.ok)
        FAIL(("decoding " + path + ": " + frames.error).c_str());
    CHECK(frames.video_frames >= int(seconds * 10) - 2);
}

}  // namespace

TEST_GROUP(LiveSink){void setup() override{init_gstreamer();
}
}
;

TEST(LiveSink, RecordingsPlayToTheEndInEveryContainer)
{
    for (const char* extension : {"mp4", "mkv", "ts", "flv"}) {
        TempDir dir;
        std::string file = dir.file(std::string("rec.") + extension);
        ElementPtr pipeline = parse("zumzilivesink name=out record-location=" + file + sources(3));
        RunResult r;
        run_to_eos(pipeline.get(), r);
        STRCMP_EQUAL("", r.error.c_str());
        CHECK_TRUE(r.eos);
        CHECK_EQUAL(1, count_status(r, "record", "started"));
        check_recording(file, 3.0);
        // a keyframe every two seconds
        auto keys = keyframe_times(file);
        CHECK_EQUAL(2u, keys.size());
        DOUBLES_EQUAL(2.0, keys[1] - keys[0], 0.01);
    }
}

TEST(LiveSink, HlsWritesAValidPlaylistOfDecodableSegments)
{
    TempDir dir;
    std::string playlist = dir.file("index.m3u8");
    // HLS and a recording at once: one encoder for both
    ElementPtr pipeline =
        parse("zumzilivesink name=out target-duration=1 hls-playlist-location=" + playlist +
              " record-location=" + dir.file("all.mkv") + sources(4));
    ElementPtr out = child(pipeline.get(), "out");
    CHECK_TRUE(set_state(pipeline.get(), GST_STATE_PAUSED));
    CHECK_EQUAL(1, count_made_by(out.get(), "x264enc"));
    CHECK_EQUAL(1, count_made_by(out.get(), "hlssink2"));
    CHECK_EQUAL(1, count_made_by(out.get(), "matroskamux"));
    RunResult r;
    run_to_eos(pipeline.get(), r);
    STRCMP_EQUAL("", r.error.c_str());
    CHECK_TRUE(r.eos);

    std::string text = read_file(playlist);
    CHECK_TRUE(g_str_has_prefix(text.c_str(), "#EXTM3U"));
    CHECK(text.find("#EXT-X-TARGETDURATION:") != std::string::npos);
    CHECK(text.find("#EXT-X-ENDLIST") != std::string::npos);
    auto segments = playlist_segments(text);
    CHECK(segments.size() >= 3);
    double total = 0;
    for (const std::string& name : segments) {
        Probe p = ffprobe(dir.file(name), true);
        if (!p.ok)
            FAIL(("segment " + name + ": " + p.error).c_str());
        CHECK_EQUAL(320, p.width);
        CHECK_EQUAL(240, p.height);
        CHECK(p.video_frames > 0);
        total += ffprobe(dir.file(name)).duration;
    }
    CHECK(total > 3.0 && total < 5.0);
    // with one-second segments, a keyframe every half second
    auto keys = keyframe_times(dir.file("all.mkv"));
    CHECK_EQUAL(8u, keys.size());
    for (size_t i = 1; i < keys.size(); i++)
        DOUBLES_EQUAL(0.5, keys[i] - keys[i - 1], 0.01);
    check_recording(dir.file("all.mkv"), 4.0);
}

TEST(LiveSink, MaxFilesBoundsTheSegmentsOnDisk)
{
    TempDir dir;
    ElementPtr pipeline = parse(
        "zumzilivesink name=out target-duration=1 max-files=3 playlist-length=2 "
        "hls-playlist-location=" +
        dir.file("live.m3u8") + " hls-location=" + dir.file("part%03d.ts") + sources(8));
    RunResult r;
    run_to_eos(pipeline.get(), r);
    STRCMP_EQUAL("", r.error.c_str());
    CHECK_TRUE(r.eos);
    int ts_files = 0;
    for (const std::string& name : dir.list())
        if (g_str_has_suffix(name.c_str(), ".ts")) {
            CHECK_TRUE(g_str_has_prefix(name.c_str(), "part"));
            ts_files++;
        }
    CHECK(ts_files >= 2);
    CHECK(ts_files <= 3);
    auto segments = playlist_segments(read_file(dir.file("live.m3u8")));
    CHECK(segments.size() >= 1 && segments.size() <= 2);
    for (const std::string& name : segments)
        CHECK_TRUE(ffprobe(dir.file(name)).ok);
    // the newest segments are the ones kept
    CHECK(segments.back() >= "part006.ts");
}

TEST(LiveSink, OutputsStartAndStopWhilePlayingWithoutDisturbingTheOthers)
{
    TempDir dir;
    std::string playlist = dir.file("index.m3u8");
    ElementPtr pipeline = parse(
        "zumzilivesink name=out target-duration=1 playlist-length=0 "
        "hls-playlist-location=" +
        playlist + sources(0, true));
    ElementPtr out = child(pipeline.get(), "out");
    RunResult r;
    auto wait_for = [&](const char* output, const char* status, int count) {
        bool ok = watch_bus(pipeline.get(), 30000, [&](GstMessage* m) {
            if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_ERROR) {
                GError* e = nullptr;
                gst_message_parse_error(m, &e, nullptr);
                r.error = e->message;
                g_error_free(e);
                return true;
            }
            if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_ELEMENT && gst_message_get_structure(m))
                r.element_messages.push_back(gst_structure_copy(gst_message_get_structure(m)));
            return count_status(r, output, status) >= count;
        });
        STRCMP_EQUAL("", r.error.c_str());
        CHECK_TRUE(ok);
    };
    auto segments_now = [&]() { return playlist_segments(read_file(playlist)).size(); };
    auto wait_segments = [&](size_t n) {
        for (int i = 0; i < 3000 && segments_now() < n; i++)
            g_usleep(10000);
        CHECK(segments_now() >= n);
    };

    CHECK_TRUE(set_state(pipeline.get(), GST_STATE_PLAYING));
    wait_for("hls", "started", 1);

    // a recording starts at a keyframe, and stops finalised
    std::string first = dir.file("first.mkv");
    g_object_set(out.get(), "record-location", first.c_str(), nullptr);
    wait_for("record", "started", 1);
    size_t before = segments_now();
    wait_segments(before + 2);
    // changing the location finalises the first file and starts a second
    std::string second = dir.file("second.mp4");
    g_object_set(out.get(), "record-location", second.c_str(), nullptr);
    wait_for("record", "stopped", 1);
    wait_for("record", "started", 2);
    Probe p = ffprobe(first, true);
    if (!p.ok)
        FAIL(p.error.c_str());
    CHECK_EQUAL(320, p.width);
    CHECK(p.video_frames >= 10);
    CHECK_EQUAL(1, count_made_by(out.get(), "matroskamux") + count_made_by(out.get(), "mp4mux"));

    before = segments_now();
    wait_segments(before + 2);
    g_object_set(out.get(), "record-location", nullptr, nullptr);
    wait_for("record", "stopped", 2);
    CHECK_EQUAL(0, count_made_by(out.get(), "mp4mux"));
    p = ffprobe(second, true);
    if (!p.ok)
        FAIL(p.error.c_str());
    CHECK_EQUAL(240, p.height);
    CHECK(p.video_frames >= 10);
    // both start at 0, hold at least the two segments' worth they ran
    // for, and every 100 ms of their video has its frame (no hole). The
    // video is measured by its own packets: the container's duration also
    // spans the audio, which goes on past the last frame by as much as the
    // video encoder lagged behind the audio one when the recording was
    // stopped (0.6 s on a loaded machine: duration 3.2 s, video 0 to 2.6 s).
    for (const std::string& file : {first, second}) {
        Probe d = ffprobe(file);
        Probe f = ffprobe(file, true);
        std::vector<double> times = video_packet_times(file);
        std::sort(times.begin(), times.end());
        CHECK(times.size() >= 10);
        double span = times.back() - times.front() + 0.1;
        double largest_step = 0;
        for (size_t i = 1; i < times.size(); i++)
            largest_step = std::max(largest_step, times[i] - times[i - 1]);
        if (d.duration <= 1.0 || std::fabs(f.video_frames - span * 10) > 2 || largest_step > 0.15)
            FAIL(
                g_strdup_printf("%s: duration %.3f, video %.3f to %.3f, %d frames decoded, "
                                "%zu packets, largest step %.3f",
                                file.c_str(), d.duration, times.front(), times.back() + 0.1,
                                f.video_frames, times.size(), largest_step));
        Command start = run_command({"ffprobe", "-v", "error", "-show_entries", "format=start_time",
                                     "-of", "csv=p=0", file},
                                    "", {}, 60000);
        DOUBLES_EQUAL(0.0, g_ascii_strtod(start.out.c_str(), nullptr), 0.1);
    }

    // HLS went on all along and still does
    before = segments_now();
    wait_segments(before + 1);
    RunResult end;
    stop_with_eos(pipeline.get(), end);
    STRCMP_EQUAL("", end.error.c_str());
    CHECK_TRUE(end.eos);
    CHECK(read_file(playlist).find("#EXT-X-ENDLIST") != std::string::npos);
    CHECK_EQUAL(0, count_status(r, "hls", "stopped") + count_status(r, "hls", "error"));
}

TEST(LiveSink, AFailingRtmpTargetLeavesTheOtherOutputsRunning)
{
    TempDir dir;
    std::string file = dir.file("kept.mp4");
    std::string url = "rtmp://127.0.0.1:" + std::to_string(closed_port()) + "/live/test";
    ElementPtr pipeline = parse("zumzilivesink name=out rtmp-location=" + url +
                                " record-location=" + file + sources(3));
    RunResult r;
    run_to_eos(pipeline.get(), r);
    STRCMP_EQUAL("", r.error.c_str());
    CHECK_TRUE(r.eos);
    CHECK_EQUAL(1, count_status(r, "rtmp", "error"));
    // never shown as live: it never connected
    CHECK_EQUAL(0, count_status(r, "rtmp", "started"));
    CHECK_EQUAL(1, count_status(r, "record", "started"));
    CHECK(!r.warnings.empty());
    for (const GstStructure* s : r.named("zumzi-livesink"))
        if (field_string(s, "status") == "error") {
            STRCMP_EQUAL(url.c_str(), field_string(s, "location").c_str());
            CHECK(!field_string(s, "error").empty());
        }
    check_recording(file, 3.0);
}

TEST(LiveSink, AnRtmpServerThatNeverAnswersIsNotStarted)
{
    // a socket that listens but never accepts: the TCP connection is made
    // (by the kernel), the RTMP handshake is never answered
    GSocket* server =
        g_socket_new(G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, nullptr);
    GInetAddress* loopback = g_inet_address_new_loopback(G_SOCKET_FAMILY_IPV4);
    GSocketAddress* address = g_inet_socket_address_new(loopback, 0);
    CHECK_TRUE(g_socket_bind(server, address, TRUE, nullptr));
    CHECK_TRUE(g_socket_listen(server, nullptr));
    GSocketAddress* bound = g_socket_get_local_address(server, nullptr);
    int port = g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(bound));
    g_object_unref(bound);
    g_object_unref(address);
    g_object_unref(loopback);

    TempDir dir;
    std::string url = "rtmp://127.0.0.1:" + std::to_string(port) + "/live/silent";
    ElementPtr pipeline = parse("zumzilivesink name=out rtmp-location=" + url +
                                " record-location=" + dir.file("kept.mkv") + sources(0, true));
    RunResult r;
    CHECK_TRUE(set_state(pipeline.get(), GST_STATE_PLAYING));
    // the recording starts and runs on for a while; meanwhile the RTMP
    // output has had its keyframes and waits for the handshake
    int record_started = 0;
    watch_bus(pipeline.get(), 30000, [&](GstMessage* m) {
        if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_ELEMENT && gst_message_get_structure(m))
            r.element_messages.push_back(gst_structure_copy(gst_message_get_structure(m)));
        record_started = count_status(r, "record", "started");
        return record_started > 0;
    });
    watch_bus(pipeline.get(), 1500, [&](GstMessage* m) {
        if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_ELEMENT && gst_message_get_structure(m))
            r.element_messages.push_back(gst_structure_copy(gst_message_get_structure(m)));
        return false;
    });
    gst_element_set_state(pipeline.get(), GST_STATE_NULL);
    g_socket_close(server, nullptr);
    g_object_unref(server);
    CHECK_EQUAL(1, record_started);
    CHECK_EQUAL(0, count_status(r, "rtmp", "started"));
}

TEST(LiveSink, AFailingOnlyOutputIsAnError)
{
    std::string url = "rtmp://127.0.0.1:" + std::to_string(closed_port()) + "/live/test";
    ElementPtr pipeline = parse("zumzilivesink name=out rtmp-location=" + url + sources(3));
    RunResult r;
    run_to_eos(pipeline.get(), r);
    CHECK(!r.error.empty());
    CHECK_FALSE(r.eos);
}

TEST(LiveSink, AnUnknownRecordingContainerIsAClearError)
{
    TempDir dir;
    ElementPtr pipeline =
        parse("zumzilivesink name=out record-location=" + dir.file("x.avi") + sources(1));
    RunResult r;
    run_to_eos(pipeline.get(), r);
    CHECK(r.error.find("x.avi") != std::string::npos);
    CHECK(r.error.find(".mkv") != std::string::npos);
    CHECK(dir.list().empty());
}

TEST(LiveSink, WithoutOutputsItStillEnds)
{
    ElementPtr pipeline = parse("zumzilivesink name=out" + sources(1));
    RunResult r;
    run_to_eos(pipeline.get(), r);
    STRCMP_EQUAL("", r.error.c_str());
    CHECK_TRUE(r.eos);
}

// The speed preset of the x264enc in `out`, by x264enc's own name
std::string encoder_speed(GstElement* out)
{
    std::string preset;
    for_each_element(out, [&](GstElement* e) {
        if (!made_by(e, "x264enc"))
            return;
        GParamSpec* spec = g_object_class_find_property(G_OBJECT_GET_CLASS(e), "speed-preset");
        GValue ev = G_VALUE_INIT;
        g_value_init(&ev, spec->value_type);
        g_object_get_property(G_OBJECT(e), "speed-preset", &ev);
        GEnumClass* klass = G_ENUM_CLASS(g_type_class_peek(spec->value_type));
        GEnumValue* enum_value = g_enum_get_value(klass, g_value_get_enum(&ev));
        preset = enum_value ? enum_value->value_nick : "";
        g_value_unset(&ev);
    });
    return preset;
}

TEST(LiveSink, TheSpeedPresetReachesTheEncoder)
{
    ElementPtr by_default = parse("zumzilivesink name=out" + sources(1));
    STRCMP_EQUAL("superfast", encoder_speed(child(by_default.get(), "out").get()).c_str());
    ElementPtr set = parse("zumzilivesink name=out speed-preset=veryfast" + sources(1));
    ElementPtr out = child(set.get(), "out");
    STRCMP_EQUAL("veryfast", encoder_speed(out.get()).c_str());
    // and it still encodes
    TempDir dir;
    g_object_set(out.get(), "record-location", dir.file("v.mkv").c_str(), NULL);
    RunResult r;
    run_to_eos(set.get(), r);
    STRCMP_EQUAL("", r.error.c_str());
    check_recording(dir.file("v.mkv"), 1.0);
}

TEST(LiveSink, VideoOnlyRecording)
{
    TempDir dir;
    std::string file = dir.file("video.mp4");
    ElementPtr pipeline =
        parse("zumzilivesink name=out record-location=" + file +
              " videotestsrc num-buffers=20 ! video/x-raw,width=160,height=120,framerate=10/1 ! "
              "out.video");
    RunResult r;
    run_to_eos(pipeline.get(), r);
    STRCMP_EQUAL("", r.error.c_str());
    CHECK_TRUE(r.eos);
    Probe p = ffprobe(file);
    CHECK_TRUE(p.ok);
    CHECK_EQUAL(160, p.width);
    STRCMP_EQUAL("", p.audio_codec.c_str());
}

TEST(LiveSink, RtmpReachesARealServer)
{
    TempDir server_dir;
    int port = closed_port();
    NginxRtmp nginx(server_dir.path(), port);
    std::string url = "rtmp://127.0.0.1:" + std::to_string(port) + "/live/room";
    ElementPtr pipeline = parse("zumzilivesink name=out rtmp-location=" + url + sources(0, true));
    RunResult r;
    CHECK_TRUE(set_state(pipeline.get(), GST_STATE_PLAYING));
    // three seconds of media, as counted by nginx's recording of it
    std::string flv = nginx.recording("room");
    for (int i = 0; i < 300; i++) {
        watch_bus(pipeline.get(), 100, [&](GstMessage* m) {
            if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_ELEMENT && gst_message_get_structure(m))
                r.element_messages.push_back(gst_structure_copy(gst_message_get_structure(m)));
            if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_ERROR)
                r.error = "error";
            return false;
        });
        if (!r.error.empty() || ffprobe(flv).duration >= 3.0)
            break;
    }
    stop_with_eos(pipeline.get(), r);
    STRCMP_EQUAL("", r.error.c_str());
    CHECK_TRUE(r.eos);
    CHECK_EQUAL(1, count_status(r, "rtmp", "started"));
    CHECK_EQUAL(0, count_status(r, "rtmp", "error"));
    Probe p = ffprobe(flv, true);
    if (!p.ok)
        FAIL(p.error.c_str());
    CHECK_EQUAL(320, p.width);
    CHECK_EQUAL(240, p.height);
    STRCMP_EQUAL("aac", ffprobe(flv).audio_codec.c_str());
    CHECK(p.video_frames >= 28);
}

TEST(LiveSink, RtmpCanBeRetriedAfterAFailureWhileTheRecordingGoesOn)
{
    TempDir dir, server_dir;
    int port = closed_port();
    std::string url = "rtmp://127.0.0.1:" + std::to_string(port) + "/live/retry";
    std::string file = dir.file("kept.mkv");
    ElementPtr pipeline = parse("zumzilivesink name=out rtmp-location=" + url +
                                " record-location=" + file + sources(0, true));
    ElementPtr out = child(pipeline.get(), "out");
    RunResult r;
    auto wait_for = [&](const char* status, int count) {
        bool ok = watch_bus(pipeline.get(), 30000, [&](GstMessage* m) {
            if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_ERROR)
                r.error = "error on the bus";
            if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_ELEMENT && gst_message_get_structure(m))
                r.element_messages.push_back(gst_structure_copy(gst_message_get_structure(m)));
            return !r.error.empty() || count_status(r, "rtmp", status) >= count;
        });
        STRCMP_EQUAL("", r.error.c_str());
        CHECK_TRUE(ok);
    };
    CHECK_TRUE(set_state(pipeline.get(), GST_STATE_PLAYING));
    wait_for("error", 1);
    // the server is back: the application sets the location again
    NginxRtmp nginx(server_dir.path(), port);
    g_object_set(out.get(), "rtmp-location", url.c_str(), nullptr);
    wait_for("started", 1);
    std::string flv = nginx.recording("retry");
    for (int i = 0; i < 300 && ffprobe(flv).duration < 1.0; i++)
        g_usleep(100000);
    g_object_set(out.get(), "rtmp-location", nullptr, nullptr);
    wait_for("stopped", 1);
    Probe p = ffprobe(flv, true);
    if (!p.ok)
        FAIL(p.error.c_str());
    CHECK(p.video_frames >= 10);

    RunResult end;
    stop_with_eos(pipeline.get(), end);
    STRCMP_EQUAL("", end.error.c_str());
    CHECK_TRUE(end.eos);
    Probe rec = ffprobe(file, true);
    if (!rec.ok)
        FAIL(rec.error.c_str());
    CHECK(rec.video_frames > p.video_frames);
    CHECK_EQUAL(1, count_status(r, "record", "started"));
    CHECK_EQUAL(0, count_status(r, "record", "error"));
}
