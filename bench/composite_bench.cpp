// zumzi-composite-bench: what the live output costs the server
// (docs/benchmarks.md, "Composite and HLS").
//
// Each case is N participants composited by zumzimixer at a room preset
// (hd, fhd) and sent to HLS by zumzilivesink, in this process. A
// participant is what the server receives in a real room: a VP8 stream
// (640x360 or 1280x720, 30 fps, ~500 kbit/s CBR, the bots' encoder settings)
// and an Opus stream. Those are encoded ONCE into memory before anything is
// measured and then replayed live: appsrc (is-live, running-time timestamps,
// the server's jitterbuffer latency) ! vp8dec ! videoconvert ! the mixer's
// video pad, and appsrc ! opusdec ! its audio pad, looping. So a case costs
// decoding + compositing + H.264/AAC encoding + HLS, not the inputs' encode.
//
// Per case: frames out of the mixer and out of x264 per wall second, the
// process's CPU (getrusage) in ms per second and in % of all cores, the
// rest of the machine's load (/proc/stat), real time or not, and the HLS
// latency: the wall time a frame of a given PTS enters the mixer (a probe
// on the mixer's video pad) to the wall time the segment holding that PTS
// first appears in the playlist (polled every 5 ms; the segment's running
// time span comes from hlssink2's splitmuxsink fragment messages).
#include <glib/gstdio.h>
#include <gst/app/gstappsink.h>
#include <gst/app/gstappsrc.h>
#include <gst/gst.h>
#include <sys/resource.h>
#include <unistd.h>
#include <json-glib/json-glib.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

// --- Options -----------------------------------------------------------------

struct Options {
    std::vector<int> inputs = {4, 9, 16};
    std::vector<std::string> presets = {"hd", "fhd"};
    int in_width = 640, in_height = 360;
    int kbps = 500;
    double clip_seconds = 10;
    double warmup = 3;
    double seconds = 15;
    int repeat = 1;
    int input_latency_ms = 40;  // pipelines/media_config.h: webrtcbin latency
    int segment = 2;            // HLS target-duration
    std::string stage = "full";
    std::string json_path;
    bool labels = true;
    bool verbose = false;
    // profiling: override what zumzilivesink chose for its x264enc
    std::string x264_preset;
    int x264_threads = -1;
};

std::string fmt(const char* format, ...) G_GNUC_PRINTF(1, 2);
std::string fmt(const char* format, ...)
{
    va_list args;
    va_start(args, format);
    gchar* s = g_strdup_vprintf(format, args);
    va_end(args);
    std::string out = s;
    g_free(s);
    return out;
}

bool read_text(const std::string& path, std::string* out)
{
    std::ifstream in(path);
    if (!in)
        return false;
    std::stringstream ss;
    ss << in.rdbuf();
    *out = ss.str();
    return true;
}

// --- CPU -----------------------------------------------------------------------

double process_cpu_ms()
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000.0 +
           (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000.0;
}

// Machine-wide busy and total ticks from /proc/stat.
std::pair<long long, long long> machine_ticks()
{
    std::string text;
    read_text("/proc/stat", &text);
    std::istringstream in(text.substr(0, text.find('\n')));
    std::string cpu;
    in >> cpu;
    long long v = 0, total = 0, idle = 0;
    for (int i = 0; in >> v && i < 8; i++) {
        total += v;
        if (i == 3 || i == 4)  // idle, iowait
            idle += v;
    }
    return {total - idle, total};
}

double ticks_to_ms(long long ticks)
{
    static const long hz = sysconf(_SC_CLK_TCK);
    return ticks * 1000.0 / double(hz > 0 ? hz : 100);
}

// This process's threads: tid -> (name, utime+stime ticks).
std::map<int, std::pair<std::string, long long>> thread_ticks()
{
    std::map<int, std::pair<std::string, long long>> out;
    GDir* dir = g_dir_open("/proc/self/task", 0, nullptr);
    if (!dir)
        return out;
    while (const gchar* name = g_dir_read_name(dir)) {
        std::string text;
        if (!read_text(std::string("/proc/self/task/") + name + "/stat", &text))
            continue;
        auto open = text.find('('), close = text.rfind(')');
        if (open == std::string::npos || close == std::string::npos)
            continue;
        std::istringstream rest(text.substr(close + 1));
        std::vector<std::string> f;
        std::string s;
        while (rest >> s)
            f.push_back(s);
        if (f.size() < 13)
            continue;
        out[std::atoi(name)] = {text.substr(open + 1, close - open - 1),
                                std::atoll(f[11].c_str()) + std::atoll(f[12].c_str())};
    }
    g_dir_close(dir);
    return out;
}

// "v12:src" -> "v:src": threads grouped by name without digits.
std::string thread_group(const std::string& comm)
{
    std::string out;
    for (char c : comm)
        if (!isdigit(static_cast<unsigned char>(c)))
            out += c;
    return out.empty() ? comm : out;
}

struct GroupCost {
    std::string name;
    int threads = 0;
    double cpu_ms = 0;
};

std::vector<GroupCost> group_costs(const std::map<int, std::pair<std::string, long long>>& a,
                                   const std::map<int, std::pair<std::string, long long>>& b)
{
    std::map<std::string, GroupCost> groups;
    for (const auto& [tid, t] : b) {
        GroupCost& g = groups[thread_group(t.first)];
        g.name = thread_group(t.first);
        g.threads++;
        auto it = a.find(tid);
        g.cpu_ms += ticks_to_ms(t.second - (it == a.end() ? 0 : it->second.second));
    }
    std::vector<GroupCost> out;
    for (auto& [name, g] : groups)
        out.push_back(g);
    std::sort(out.begin(), out.end(),
              [](const GroupCost& x, const GroupCost& y) { return x.cpu_ms > y.cpu_ms; });
    return out;
}

// --- Pre-encoded participant clips --------------------------------------------

struct Clip {
    std::string pattern;
    GstCaps* vcaps = nullptr;
    GstCaps* acaps = nullptr;
    std::vector<GstBuffer*> video;
    std::vector<GstBuffer*> audio;
    double video_kbps = 0;
    int keyframes = 0;

    ~Clip()
    {
        for (GstBuffer* b : video)
            gst_buffer_unref(b);
        for (GstBuffer* b : audio)
            gst_buffer_unref(b);
        if (vcaps)
            gst_caps_unref(vcaps);
        if (acaps)
            gst_caps_unref(acaps);
    }
};

// Moving test pictures of different kinds (a camera picture is neither a
// flat colour nor noise): each clip is one of these, participants cycle.
const char* const kPatterns[] = {
    "smpte horizontal-speed=2",
    "ball motion=wavy background-color=0xff4060a0 foreground-color=0xffe0e0e0",
    "zone-plate kx2=20 ky2=20 kt=1",
    "colors horizontal-speed=-3",
};

// Encodes a clip as the bots do (vp8enc deadline=1 cpu-used=8 CBR) plus
// Opus, as fast as it goes, into memory. One keyframe at the start: the
// clip loops from it; a WebRTC sender only sends keyframes on request.
bool encode_clip(const Options& opt, const char* pattern, int index, Clip* clip)
{
    int frames = int(opt.clip_seconds * 30 + 0.5);
    int packets = int(opt.clip_seconds * 50 + 0.5);  // 20 ms Opus frames
    std::string desc = fmt(
        "videotestsrc pattern=%s num-buffers=%d ! "
        "video/x-raw,format=I420,width=%d,height=%d,framerate=30/1 ! "
        "vp8enc deadline=1 cpu-used=8 end-usage=cbr target-bitrate=%d keyframe-max-dist=%d ! "
        "appsink name=v sync=false "
        "audiotestsrc wave=sine freq=%d volume=0.2 samplesperbuffer=960 num-buffers=%d ! "
        "audio/x-raw,rate=48000,channels=1 ! opusenc ! appsink name=a sync=false",
        pattern, frames, opt.in_width, opt.in_height, opt.kbps * 1000, frames + 1,
        220 + 110 * index, packets);
    GError* err = nullptr;
    GstElement* p = gst_parse_launch(desc.c_str(), &err);
    if (!p) {
        g_printerr("composite-bench: %s\n", err ? err->message : "bad clip pipeline");
        g_clear_error(&err);
        return false;
    }
    GstElement* vsink = gst_bin_get_by_name(GST_BIN(p), "v");
    GstElement* asink = gst_bin_get_by_name(GST_BIN(p), "a");
    gst_element_set_state(p, GST_STATE_PLAYING);
    guint64 bytes = 0;
    while (GstSample* s = gst_app_sink_pull_sample(GST_APP_SINK(vsink))) {
        if (!clip->vcaps)
            clip->vcaps = gst_caps_ref(gst_sample_get_caps(s));
        GstBuffer* b = gst_sample_get_buffer(s);
        bytes += gst_buffer_get_size(b);
        if (!GST_BUFFER_FLAG_IS_SET(b, GST_BUFFER_FLAG_DELTA_UNIT))
            clip->keyframes++;
        clip->video.push_back(gst_buffer_ref(b));
        gst_sample_unref(s);
    }
    while (GstSample* s = gst_app_sink_pull_sample(GST_APP_SINK(asink))) {
        if (!clip->acaps)
            clip->acaps = gst_caps_ref(gst_sample_get_caps(s));
        clip->audio.push_back(gst_buffer_ref(gst_sample_get_buffer(s)));
        gst_sample_unref(s);
    }
    GstBus* bus = gst_element_get_bus(p);
    GstMessage* m = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR);
    if (m) {
        gst_message_parse_error(m, &err, nullptr);
        g_printerr("composite-bench: encoding a clip: %s\n", err->message);
        g_clear_error(&err);
        gst_message_unref(m);
    }
    gst_object_unref(bus);
    gst_element_set_state(p, GST_STATE_NULL);
    gst_object_unref(vsink);
    gst_object_unref(asink);
    gst_object_unref(p);
    clip->pattern = pattern;
    clip->video_kbps = bytes * 8.0 / 1000.0 / (clip->video.size() / 30.0);
    return !m && clip->video.size() == size_t(frames) && !clip->audio.empty() && clip->vcaps &&
           clip->acaps;
}

// --- One case --------------------------------------------------------------------

struct Stamp {
    GstClockTime pts;
    GstClockTime at;  // clock time when seen
};

struct Input {
    int index = 0;
    const Clip* clip = nullptr;
    GstElement* vsrc = nullptr;
    GstElement* asrc = nullptr;
    std::vector<Stamp> entered;  // frames entering the mixer (its streaming thread only)
};

// A segment as splitmuxsink opened and closed it (hlssink2 writes through
// a stream sink, so its messages carry no file name: the k-th fragment is
// the k-th segment to appear in the playlist).
struct Fragment {
    GstClockTime start_rt = GST_CLOCK_TIME_NONE, end_rt = GST_CLOCK_TIME_NONE;
};

struct Listed {
    std::string name;
    GstClockTime at;  // first seen in the playlist (clock time)
};

struct Case {
    int inputs = 0;
    std::string preset;
    int rep = 0;
    GstClockTime base_time = 0;
    GstClock* clock = nullptr;
    std::vector<Input> in;
    std::mutex lock;  // below
    std::vector<Stamp> mixed;    // frames out of the mixer
    std::vector<Stamp> encoded;  // frames out of x264
    std::vector<Fragment> fragments;  // in order
    std::vector<Listed> listed;       // segments in the order they appeared
    std::string error;
};

struct Result {
    int inputs = 0;
    std::string preset, stage;
    int rep = 0;
    std::string error;
    double window_s = 0;
    double out_fps = 0, enc_fps = 0, in_fps_min = 0;
    double cpu_ms_per_s = 0, cpu_pct_cores = 0, other_pct = 0;
    double cpu_ms_per_frame = 0, need_pct_cores = 0;  // per frame out; that x 30 fps
    double out_lag_med = 0, out_lag_max = 0, enc_lag_med = 0, enc_lag_max = 0;
    double enc_lag_growth = 0;
    double in_lag_med = 0, in_lag_max = 0;
    std::vector<double> hls_ms;  // per frame and input
    std::vector<double> hls_segment_min_ms;
    int segments = 0;
    bool realtime = false;
    std::vector<GroupCost> groups;
};

GstPadProbeReturn enter_probe(GstPad*, GstPadProbeInfo* info, gpointer data)
{
    auto* in = static_cast<std::pair<Case*, Input*>*>(data);
    GstBuffer* b = GST_PAD_PROBE_INFO_BUFFER(info);
    in->second->entered.push_back({GST_BUFFER_PTS(b), gst_clock_get_time(in->first->clock)});
    return GST_PAD_PROBE_OK;
}

GstPadProbeReturn mixed_probe(GstPad*, GstPadProbeInfo* info, gpointer data)
{
    auto* c = static_cast<Case*>(data);
    GstClockTime now = gst_clock_get_time(c->clock);
    std::lock_guard<std::mutex> g(c->lock);
    c->mixed.push_back({GST_BUFFER_PTS(GST_PAD_PROBE_INFO_BUFFER(info)), now});
    return GST_PAD_PROBE_OK;
}

// x264enc shifts its output segment (room for negative DTS): its PTS are
// turned back into running time with that segment.
GstPadProbeReturn encoded_probe(GstPad* pad, GstPadProbeInfo* info, gpointer data)
{
    auto* c = static_cast<Case*>(data);
    GstClockTime now = gst_clock_get_time(c->clock);
    GstClockTime rt = GST_CLOCK_TIME_NONE;
    if (GstEvent* e = gst_pad_get_sticky_event(pad, GST_EVENT_SEGMENT, 0)) {
        const GstSegment* segment;
        gst_event_parse_segment(e, &segment);
        rt = gst_segment_to_running_time(segment, GST_FORMAT_TIME,
                                         GST_BUFFER_PTS(GST_PAD_PROBE_INFO_BUFFER(info)));
        gst_event_unref(e);
    }
    std::lock_guard<std::mutex> g(c->lock);
    c->encoded.push_back({rt, now});
    return GST_PAD_PROBE_OK;
}

// hlssink2's splitmuxsink says which running times each segment holds;
// errors end the case.
GstBusSyncReply bus_handler(GstBus*, GstMessage* m, gpointer data)
{
    auto* c = static_cast<Case*>(data);
    if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_ERROR) {
        GError* err = nullptr;
        gst_message_parse_error(m, &err, nullptr);
        std::lock_guard<std::mutex> g(c->lock);
        if (c->error.empty())
            c->error = fmt("%s: %s", GST_OBJECT_NAME(GST_MESSAGE_SRC(m)), err->message);
        g_clear_error(&err);
    } else if (GST_MESSAGE_TYPE(m) == GST_MESSAGE_ELEMENT) {
        const GstStructure* s = gst_message_get_structure(m);
        if (g_getenv("COMPOSITE_BENCH_MESSAGES")) {
            g_autofree gchar* text = gst_structure_to_string(s);
            printf("    message from %s: %s\n", GST_OBJECT_NAME(GST_MESSAGE_SRC(m)), text);
        }
        bool opened = gst_structure_has_name(s, "splitmuxsink-fragment-opened");
        bool closed = gst_structure_has_name(s, "splitmuxsink-fragment-closed");
        guint64 rt = GST_CLOCK_TIME_NONE;
        if ((opened || closed) && gst_structure_get_uint64(s, "running-time", &rt)) {
            std::lock_guard<std::mutex> g(c->lock);
            if (opened)
                c->fragments.push_back({rt, GST_CLOCK_TIME_NONE});
            else if (!c->fragments.empty())
                c->fragments.back().end_rt = rt;
        }
    }
    return GST_BUS_PASS;
}

// Pushes every input's pre-encoded frames at their running time, looping:
// what a live source (a jitterbuffer) hands on. One thread for all inputs;
// each appsrc queues and has its own streaming thread that decodes.
void feed(Case* c, std::atomic<bool>* stop)
{
    const GstClockTime vdur = gst_util_uint64_scale_int(GST_SECOND, 1, 30);
    const GstClockTime adur = 20 * GST_MSECOND;
    GstClockTime start = gst_clock_get_time(c->clock) - c->base_time + 20 * GST_MSECOND;
    guint64 vk = 0, ak = 0;
    while (!stop->load()) {
        GstClockTime vt = start + vk * vdur, at = start + ak * adur;
        GstClockTime t = std::min(vt, at);
        GstClockID id = gst_clock_new_single_shot_id(c->clock, c->base_time + t);
        gst_clock_id_wait(id, nullptr);
        gst_clock_id_unref(id);
        for (Input& in : c->in) {
            const Clip& clip = *in.clip;
            if (vt == t) {
                GstBuffer* b = gst_buffer_copy(clip.video[vk % clip.video.size()]);
                GST_BUFFER_PTS(b) = vt;
                GST_BUFFER_DTS(b) = vt;
                GST_BUFFER_DURATION(b) = vdur;
                gst_app_src_push_buffer(GST_APP_SRC(in.vsrc), b);
            }
            if (at == t && in.asrc) {
                GstBuffer* b = gst_buffer_copy(clip.audio[ak % clip.audio.size()]);
                GST_BUFFER_PTS(b) = at;
                GST_BUFFER_DTS(b) = at;
                GST_BUFFER_DURATION(b) = adur;
                gst_app_src_push_buffer(GST_APP_SRC(in.asrc), b);
            }
        }
        if (vt == t)
            vk++;
        if (at == t)
            ak++;
    }
}

// Notes when each segment first appears in the playlist.
void poll_playlist(Case* c, std::string path, std::atomic<bool>* stop)
{
    while (!stop->load()) {
        std::string text;
        if (read_text(path, &text)) {
            GstClockTime now = gst_clock_get_time(c->clock);
            std::istringstream lines(text);
            std::string line;
            std::lock_guard<std::mutex> g(c->lock);
            while (std::getline(lines, line)) {
                if (line.empty() || line[0] == '#')
                    continue;
                g_autofree gchar* name = g_path_get_basename(line.c_str());
                if (std::none_of(c->listed.begin(), c->listed.end(),
                                 [&](const Listed& l) { return l.name == name; }))
                    c->listed.push_back({name, now});
            }
        }
        g_usleep(5000);
    }
}

double median(std::vector<double> v)
{
    if (v.empty())
        return 0;
    std::sort(v.begin(), v.end());
    size_t n = v.size();
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double maximum(const std::vector<double>& v)
{
    return v.empty() ? 0 : *std::max_element(v.begin(), v.end());
}

double ms(GstClockTimeDiff d)
{
    return double(d) / GST_MSECOND;
}

// Frames per second and lag (clock running time at the probe - PTS) of the
// stamps seen in [t0, t1].
void rate_and_lag(const std::vector<Stamp>& stamps, GstClockTime base, GstClockTime t0,
                  GstClockTime t1, double* fps, double* lag_med, double* lag_max,
                  double* lag_growth)
{
    std::vector<double> lags;
    for (const Stamp& s : stamps)
        if (s.at >= t0 && s.at <= t1 && GST_CLOCK_TIME_IS_VALID(s.pts))
            lags.push_back(ms(GstClockTimeDiff(s.at - base) - GstClockTimeDiff(s.pts)));
    *fps = lags.size() / (double(t1 - t0) / GST_SECOND);
    *lag_med = median(lags);
    *lag_max = maximum(lags);
    if (lag_growth) {
        // the last second's median lag minus the first second's
        size_t n = std::min<size_t>(30, lags.size() / 2);
        std::vector<double> first(lags.begin(), lags.begin() + n);
        std::vector<double> last(lags.end() - n, lags.end());
        *lag_growth = n ? median(last) - median(first) : 0;
    }
}

bool remove_tree(const std::string& dir)
{
    GDir* d = g_dir_open(dir.c_str(), 0, nullptr);
    if (!d)
        return false;
    while (const gchar* name = g_dir_read_name(d)) {
        std::string p = dir + "/" + name;
        if (g_file_test(p.c_str(), G_FILE_TEST_IS_DIR))
            remove_tree(p);
        else
            g_unlink(p.c_str());
    }
    g_dir_close(d);
    return g_rmdir(dir.c_str()) == 0;
}

Result run_case(const Options& opt, const std::vector<Clip*>& clips, int inputs,
                const std::string& preset, int rep, const std::string& tmpdir)
{
    Result r;
    r.inputs = inputs;
    r.preset = preset;
    r.stage = opt.stage;
    r.rep = rep;
    Case c;
    c.inputs = inputs;
    c.preset = preset;
    c.rep = rep;
    c.in.resize(inputs);

    const bool with_mixer = opt.stage != "decode";
    const bool with_encoder = opt.stage == "encode" || opt.stage == "full";
    const bool with_hls = opt.stage == "full";
    std::string dir = tmpdir + fmt("/%s-%d-%d", preset.c_str(), inputs, rep);
    std::string playlist = dir + "/index.m3u8";
    g_mkdir_with_parents(dir.c_str(), 0700);

    GstElement* pipeline = gst_pipeline_new("composite");
    c.clock = gst_system_clock_obtain();
    gst_pipeline_use_clock(GST_PIPELINE(pipeline), c.clock);
    GstElement* mixer = nullptr;
    GstElement* out = nullptr;
    if (with_mixer) {
        mixer = gst_element_factory_make("zumzimixer", "mix");
        if (!mixer) {
            r.error = "no zumzimixer element (GST_PLUGIN_PATH?)";
            gst_object_unref(pipeline);
            return r;
        }
        gst_util_set_object_arg(G_OBJECT(mixer), "preset", preset.c_str());
        gst_bin_add(GST_BIN(pipeline), mixer);
        if (with_encoder) {
            out = gst_element_factory_make("zumzilivesink", "out");
            if (with_hls)
                g_object_set(out, "hls-playlist-location", playlist.c_str(), "target-duration",
                             opt.segment, NULL);
            gst_bin_add(GST_BIN(pipeline), out);
            gst_element_link_pads(mixer, "video_src", out, "video");
            gst_element_link_pads(mixer, "audio_src", out, "audio");
        } else {
            for (const char* pad : {"video_src", "audio_src"}) {
                GstElement* sink = gst_element_factory_make("fakesink", nullptr);
                g_object_set(sink, "sync", FALSE, "async", FALSE, NULL);
                gst_bin_add(GST_BIN(pipeline), sink);
                gst_element_link_pads(mixer, pad, sink, "sink");
            }
        }
    }

    std::vector<std::pair<Case*, Input*>> probe_data(inputs);
    for (int i = 0; i < inputs; i++) {
        Input& in = c.in[i];
        in.index = i;
        in.clip = clips[i % clips.size()];
        in.entered.reserve(size_t((opt.warmup + opt.seconds + opt.segment * 3 + 10) * 30));
        probe_data[i] = {&c, &in};
        GstElement* vsrc = gst_element_factory_make("appsrc", fmt("v%d", i).c_str());
        GstElement* vdec = gst_element_factory_make("vp8dec", nullptr);
        GstElement* vconv = gst_element_factory_make("videoconvert", nullptr);
        GstElement* asrc = gst_element_factory_make("appsrc", fmt("a%d", i).c_str());
        GstElement* adec = gst_element_factory_make("opusdec", nullptr);
        for (GstElement* src : {vsrc, asrc})
            g_object_set(src, "is-live", TRUE, "format", GST_FORMAT_TIME, "min-latency",
                         gint64(opt.input_latency_ms) * GST_MSECOND, "max-bytes", guint64(0),
                         NULL);
        g_object_set(vsrc, "caps", in.clip->vcaps, NULL);
        g_object_set(asrc, "caps", in.clip->acaps, NULL);
        gst_bin_add_many(GST_BIN(pipeline), vsrc, vdec, vconv, asrc, adec, NULL);
        gst_element_link_many(vsrc, vdec, vconv, NULL);
        gst_element_link(asrc, adec);
        in.vsrc = vsrc;
        in.asrc = asrc;
        GstPad* vpad = nullptr;
        if (mixer) {
            vpad = gst_element_request_pad_simple(mixer, "video_%u");
            if (opt.labels)
                g_object_set(vpad, "label", fmt("Participant %d", i + 1).c_str(), NULL);
            GstPad* vout = gst_element_get_static_pad(vconv, "src");
            gst_pad_link(vout, vpad);
            gst_object_unref(vout);
            GstPad* apad = gst_element_request_pad_simple(mixer, "audio_%u");
            GstPad* aout = gst_element_get_static_pad(adec, "src");
            gst_pad_link(aout, apad);
            gst_object_unref(aout);
            gst_object_unref(apad);
        } else {
            for (GstElement* last : {vconv, adec}) {
                GstElement* sink = gst_element_factory_make("fakesink", nullptr);
                g_object_set(sink, "sync", FALSE, "async", FALSE, NULL);
                gst_bin_add(GST_BIN(pipeline), sink);
                gst_element_link(last, sink);
                if (last == vconv)
                    vpad = gst_element_get_static_pad(sink, "sink");
            }
        }
        gst_pad_add_probe(vpad, GST_PAD_PROBE_TYPE_BUFFER, enter_probe, &probe_data[i], nullptr);
        gst_object_unref(vpad);
    }
    if (mixer) {
        GstPad* src = gst_element_get_static_pad(mixer, "video_src");
        gst_pad_add_probe(src, GST_PAD_PROBE_TYPE_BUFFER, mixed_probe, &c, nullptr);
        gst_object_unref(src);
    }
    if (out) {
        GstElement* enc = gst_bin_get_by_name(GST_BIN(out), "video-encoder");
        if (enc) {
            if (!opt.x264_preset.empty())
                gst_util_set_object_arg(G_OBJECT(enc), "speed-preset", opt.x264_preset.c_str());
            if (opt.x264_threads >= 0)
                g_object_set(enc, "threads", guint(opt.x264_threads), NULL);
            GstPad* src = gst_element_get_static_pad(enc, "src");
            gst_pad_add_probe(src, GST_PAD_PROBE_TYPE_BUFFER, encoded_probe, &c, nullptr);
            gst_object_unref(src);
            gst_object_unref(enc);
        }
    }

    GstBus* bus = gst_element_get_bus(pipeline);
    gst_bus_set_sync_handler(bus, bus_handler, &c, nullptr);
    gst_element_set_state(pipeline, GST_STATE_PLAYING);
    GstState state = GST_STATE_NULL;
    gst_element_get_state(pipeline, &state, nullptr, 10 * GST_SECOND);
    if (state != GST_STATE_PLAYING && c.error.empty())
        c.error = "the pipeline did not reach PLAYING";

    std::atomic<bool> stop{false};
    std::thread feeder, poller;
    if (c.error.empty()) {
        c.base_time = gst_element_get_base_time(pipeline);
        feeder = std::thread(feed, &c, &stop);
        if (with_hls)
            poller = std::thread(poll_playlist, &c, playlist, &stop);

        auto wait = [&](double s) {
            for (gint64 end = g_get_monotonic_time() + gint64(s * 1e6);
                 g_get_monotonic_time() < end;) {
                g_usleep(50000);
                std::lock_guard<std::mutex> g(c.lock);
                if (!c.error.empty())
                    return false;
            }
            return true;
        };
        if (wait(opt.warmup)) {
            GstClockTime t0 = gst_clock_get_time(c.clock);
            double cpu0 = process_cpu_ms();
            auto m0 = machine_ticks();
            auto th0 = thread_ticks();
            bool ok = wait(opt.seconds);
            GstClockTime t1 = gst_clock_get_time(c.clock);
            double cpu1 = process_cpu_ms();
            auto m1 = machine_ticks();
            auto th1 = thread_ticks();
            // let the segments of the window close and be listed
            if (ok && with_hls)
                wait(opt.segment * 2 + 1.5);
            stop = true;
            feeder.join();
            if (poller.joinable())
                poller.join();
            // no streaming thread writes a stamp any more
            gst_element_set_state(pipeline, GST_STATE_NULL);

            double secs = double(t1 - t0) / GST_SECOND;
            r.window_s = secs;
            r.cpu_ms_per_s = (cpu1 - cpu0) / secs;
            long ncores = sysconf(_SC_NPROCESSORS_ONLN);
            r.cpu_pct_cores = r.cpu_ms_per_s / (10.0 * double(ncores));
            double machine_ms = ticks_to_ms(m1.first - m0.first);
            r.other_pct = std::max(0.0, (machine_ms - (cpu1 - cpu0)) / secs / 10.0);
            r.groups = group_costs(th0, th1);

            std::lock_guard<std::mutex> g(c.lock);
            r.error = c.error;
            rate_and_lag(c.mixed, c.base_time, t0, t1, &r.out_fps, &r.out_lag_med, &r.out_lag_max,
                         nullptr);
            rate_and_lag(c.encoded, c.base_time, t0, t1, &r.enc_fps, &r.enc_lag_med,
                         &r.enc_lag_max, &r.enc_lag_growth);
            std::vector<double> in_lags;
            r.in_fps_min = 1e9;
            for (const Input& in : c.in) {
                double fps, med, mx;
                rate_and_lag(in.entered, c.base_time, t0, t1, &fps, &med, &mx, nullptr);
                r.in_fps_min = std::min(r.in_fps_min, fps);
                in_lags.push_back(med);
                r.in_lag_max = std::max(r.in_lag_max, mx);
            }
            r.in_lag_med = median(in_lags);

            // HLS: each segment that lies inside the window
            GstClockTime w0 = t0 - c.base_time, w1 = t1 - c.base_time;
            for (size_t k = 0; k < c.fragments.size() && k < c.listed.size(); k++) {
                const Fragment& f = c.fragments[k];
                const Listed* listed = &c.listed[k];
                // zumzilivesink's segment names count from 0
                if (listed->name != fmt("segment%05zu.ts", k))
                    r.error = "segment " + listed->name + " out of order";
                if (!GST_CLOCK_TIME_IS_VALID(f.start_rt) || !GST_CLOCK_TIME_IS_VALID(f.end_rt) ||
                    f.start_rt < w0 || f.end_rt > w1 || !r.error.empty())
                    continue;
                r.segments++;
                double seg_min = 1e12;
                for (const Input& in : c.in)
                    for (const Stamp& s : in.entered)
                        if (s.pts >= f.start_rt && s.pts < f.end_rt) {
                            double l = ms(GstClockTimeDiff(listed->at - s.at));
                            r.hls_ms.push_back(l);
                            seg_min = std::min(seg_min, l);
                        }
                if (seg_min < 1e12)
                    r.hls_segment_min_ms.push_back(seg_min);
                if (opt.verbose)
                    printf("    segment %s: %.3f-%.3f s, listed %.3f s (running time)\n",
                           listed->name.c_str(), double(f.start_rt) / GST_SECOND,
                           double(f.end_rt) / GST_SECOND,
                           double(listed->at - c.base_time) / GST_SECOND);
            }
            size_t frames = with_mixer ? 0 : 1;
            for (const Stamp& st : with_mixer ? c.mixed : c.in[0].entered)
                frames += st.at >= t0 && st.at <= t1;
            r.cpu_ms_per_frame = frames ? (cpu1 - cpu0) / double(frames) : 0;
            r.need_pct_cores = r.cpu_ms_per_frame * 30 / (10.0 * double(ncores));
            r.realtime = r.error.empty() && r.out_fps >= 29 && (!with_encoder || r.enc_fps >= 29) &&
                         (!with_encoder || r.enc_lag_growth < 100);
            if (!with_mixer)
                r.realtime = r.error.empty() && r.in_fps_min >= 29;
        }
    }
    if (!stop) {
        stop = true;
        if (feeder.joinable())
            feeder.join();
        if (poller.joinable())
            poller.join();
    }
    if (r.error.empty()) {
        std::lock_guard<std::mutex> g(c.lock);
        r.error = c.error;
    }
    gst_element_set_state(pipeline, GST_STATE_NULL);
    gst_bus_set_sync_handler(bus, nullptr, nullptr, nullptr);
    gst_object_unref(bus);
    gst_object_unref(pipeline);
    if (c.clock)
        gst_object_unref(c.clock);
    remove_tree(dir);
    return r;
}

// --- Output ---------------------------------------------------------------------

void print_header()
{
    printf("\n%-5s %3s %3s %7s %7s %7s %8s %6s %6s %6s %5s %8s %8s %8s %8s %8s %6s %4s\n", "out",
           "N", "rep", "out_fps", "enc_fps", "in_fps", "CPUms/s", "%cores", "ms/fr", "need%",
           "oth%", "inlag50",
           "enclag50", "hls50", "hlsmax", "hlsmin", "segs", "RT");
}

void print_row(const Result& r)
{
    std::vector<double> mins = r.hls_segment_min_ms;
    printf("%-5s %3d %3d %7.1f %7.1f %7.1f %8.0f %6.1f %6.1f %6.1f %5.0f %8.1f %8.1f %8.0f %8.0f %8.0f %6d %4s%s%s\n",
           r.preset.c_str(), r.inputs, r.rep, r.out_fps, r.enc_fps, r.in_fps_min, r.cpu_ms_per_s,
           r.cpu_pct_cores, r.cpu_ms_per_frame, r.need_pct_cores, r.other_pct, r.in_lag_med, r.enc_lag_med, median(r.hls_ms),
           maximum(r.hls_ms), mins.empty() ? 0 : *std::min_element(mins.begin(), mins.end()),
           r.segments, r.realtime ? "yes" : "NO", r.error.empty() ? "" : "  error: ",
           r.error.c_str());
    fflush(stdout);
}

void print_groups(const Result& r)
{
    printf("    threads (CPU ms/s):");
    int shown = 0;
    for (const GroupCost& g : r.groups) {
        if (shown++ == 8 || g.cpu_ms <= 0)
            break;
        printf(" %s x%d %.0f;", g.name.c_str(), g.threads, g.cpu_ms / r.window_s);
    }
    printf("\n");
}

void json_result(JsonBuilder* b, const Result& r)
{
    auto d = [&](const char* k, double v) {
        json_builder_set_member_name(b, k);
        json_builder_add_double_value(b, v);
    };
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "preset");
    json_builder_add_string_value(b, r.preset.c_str());
    json_builder_set_member_name(b, "inputs");
    json_builder_add_int_value(b, r.inputs);
    json_builder_set_member_name(b, "stage");
    json_builder_add_string_value(b, r.stage.c_str());
    json_builder_set_member_name(b, "rep");
    json_builder_add_int_value(b, r.rep);
    json_builder_set_member_name(b, "realtime");
    json_builder_add_boolean_value(b, r.realtime);
    json_builder_set_member_name(b, "error");
    json_builder_add_string_value(b, r.error.c_str());
    d("window_s", r.window_s);
    d("out_fps", r.out_fps);
    d("encoded_fps", r.enc_fps);
    d("input_fps_min", r.in_fps_min);
    d("cpu_ms_per_s", r.cpu_ms_per_s);
    d("cpu_pct_of_all_cores", r.cpu_pct_cores);
    d("other_load_pct_of_one_core", r.other_pct);
    d("cpu_ms_per_frame", r.cpu_ms_per_frame);
    d("cpu_pct_of_all_cores_needed_at_30fps", r.need_pct_cores);
    d("input_lag_ms_median", r.in_lag_med);
    d("input_lag_ms_max", r.in_lag_max);
    d("mixer_out_lag_ms_median", r.out_lag_med);
    d("mixer_out_lag_ms_max", r.out_lag_max);
    d("encoded_lag_ms_median", r.enc_lag_med);
    d("encoded_lag_ms_max", r.enc_lag_max);
    d("encoded_lag_growth_ms", r.enc_lag_growth);
    json_builder_set_member_name(b, "hls_latency_ms");
    json_builder_begin_object(b);
    d("median", median(r.hls_ms));
    d("max", maximum(r.hls_ms));
    d("segment_min_median", median(r.hls_segment_min_ms));
    json_builder_set_member_name(b, "frames");
    json_builder_add_int_value(b, r.hls_ms.size());
    json_builder_set_member_name(b, "segments");
    json_builder_add_int_value(b, r.segments);
    json_builder_end_object(b);
    json_builder_set_member_name(b, "thread_groups");
    json_builder_begin_array(b);
    for (const GroupCost& g : r.groups) {
        json_builder_begin_object(b);
        json_builder_set_member_name(b, "name");
        json_builder_add_string_value(b, g.name.c_str());
        json_builder_set_member_name(b, "threads");
        json_builder_add_int_value(b, g.threads);
        d("cpu_ms_per_s", r.window_s > 0 ? g.cpu_ms / r.window_s : 0);
        json_builder_end_object(b);
    }
    json_builder_end_array(b);
    json_builder_end_object(b);
}

std::string cpu_model()
{
    std::string text;
    read_text("/proc/cpuinfo", &text);
    auto pos = text.find("model name");
    if (pos == std::string::npos)
        return "unknown";
    auto colon = text.find(':', pos), end = text.find('\n', pos);
    std::string m = text.substr(colon + 1, end - colon - 1);
    return m.substr(m.find_first_not_of(' '));
}

std::vector<int> parse_ints(const std::string& s)
{
    std::vector<int> out;
    gchar** p = g_strsplit(s.c_str(), ",", -1);
    for (gchar** q = p; *q; q++)
        out.push_back(std::atoi(*q));
    g_strfreev(p);
    return out;
}

std::vector<std::string> parse_words(const std::string& s)
{
    std::vector<std::string> out;
    gchar** p = g_strsplit(s.c_str(), ",", -1);
    for (gchar** q = p; *q; q++)
        out.push_back(*q);
    g_strfreev(p);
    return out;
}

}  // namespace

int main(int argc, char** argv)
{
    Options opt;
    gchar *inputs = nullptr, *presets = nullptr, *size = nullptr, *stage = nullptr,
          *json = nullptr, *x264_preset = nullptr;
    gboolean no_labels = FALSE, verbose = FALSE;
    GOptionEntry entries[] = {
        {"inputs", 0, 0, G_OPTION_ARG_STRING, &inputs, "Participants per case (default 4,9,16)",
         "N,N,..."},
        {"presets", 0, 0, G_OPTION_ARG_STRING, &presets, "Output presets (default hd,fhd)",
         "P,P,..."},
        {"input-size", 0, 0, G_OPTION_ARG_STRING, &size,
         "Each participant's VP8 size (default 640x360)", "WxH"},
        {"kbps", 0, 0, G_OPTION_ARG_INT, &opt.kbps, "Each participant's VP8 bitrate (default 500)",
         "KBPS"},
        {"clip-seconds", 0, 0, G_OPTION_ARG_DOUBLE, &opt.clip_seconds,
         "Length of the pre-encoded loop (default 10)", "S"},
        {"warmup", 0, 0, G_OPTION_ARG_DOUBLE, &opt.warmup, "Seconds before the window (default 3)",
         "S"},
        {"seconds", 0, 0, G_OPTION_ARG_DOUBLE, &opt.seconds, "Measurement window (default 15)", "S"},
        {"repeat", 0, 0, G_OPTION_ARG_INT, &opt.repeat,
         "Runs of every case, interleaved (default 1)", "N"},
        {"input-latency", 0, 0, G_OPTION_ARG_INT, &opt.input_latency_ms,
         "Latency the inputs declare, like the server's jitterbuffer (default 40)", "MS"},
        {"segment", 0, 0, G_OPTION_ARG_INT, &opt.segment, "HLS target-duration (default 2)", "S"},
        {"stage", 0, 0, G_OPTION_ARG_STRING, &stage,
         "decode (inputs only), mix (+ zumzimixer), encode (+ zumzilivesink, no output), "
         "full (+ HLS; default)",
         "STAGE"},
        {"x264-preset", 0, 0, G_OPTION_ARG_STRING, &x264_preset,
         "Profiling: override zumzilivesink's x264enc speed-preset", "NAME"},
        {"x264-threads", 0, 0, G_OPTION_ARG_INT, &opt.x264_threads,
         "Profiling: override zumzilivesink's x264enc threads (0: auto)", "N"},
        {"no-labels", 0, 0, G_OPTION_ARG_NONE, &no_labels, "No name labels on the cells", nullptr},
        {"json", 0, 0, G_OPTION_ARG_FILENAME, &json, "Write the results as JSON here", "FILE"},
        {"verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose, "Print every segment", nullptr},
        {nullptr, 0, 0, G_OPTION_ARG_NONE, nullptr, nullptr, nullptr},
    };
#ifdef ZUMZI_PLUGIN_DIR
    // the build's gstzumzi unless the caller points elsewhere
    if (!g_getenv("GST_PLUGIN_PATH"))
        g_setenv("GST_PLUGIN_PATH", ZUMZI_PLUGIN_DIR, TRUE);
#endif
    GOptionContext* octx =
        g_option_context_new("- composite fps, CPU and HLS latency of zumzimixer + zumzilivesink");
    g_option_context_add_main_entries(octx, entries, nullptr);
    g_option_context_add_group(octx, gst_init_get_option_group());
    GError* err = nullptr;
    bool parsed = g_option_context_parse(octx, &argc, &argv, &err);
    g_option_context_free(octx);
    if (!parsed) {
        g_printerr("composite-bench: %s\n", err->message);
        g_error_free(err);
        return 1;
    }
    if (inputs)
        opt.inputs = parse_ints(inputs);
    if (presets)
        opt.presets = parse_words(presets);
    if (size && sscanf(size, "%dx%d", &opt.in_width, &opt.in_height) != 2) {
        g_printerr("composite-bench: --input-size wants WxH\n");
        return 1;
    }
    if (stage)
        opt.stage = stage;
    if (json)
        opt.json_path = json;
    if (x264_preset)
        opt.x264_preset = x264_preset;
    g_free(x264_preset);
    opt.labels = !no_labels;
    opt.verbose = verbose;
    g_free(inputs);
    g_free(presets);
    g_free(size);
    g_free(stage);
    g_free(json);
    if (opt.stage != "decode" && opt.stage != "mix" && opt.stage != "encode" &&
        opt.stage != "full") {
        g_printerr("composite-bench: --stage is decode, mix, encode or full\n");
        return 1;
    }
    for (int n : opt.inputs)
        if (n < 1 || n > 64) {
            g_printerr("composite-bench: --inputs: 1 to 64 per case\n");
            return 1;
        }
    if (opt.in_width < 16 || opt.in_height < 16 || opt.seconds < 2 || opt.repeat < 1 ||
        opt.segment < 1 || opt.clip_seconds < 1) {
        g_printerr("composite-bench: bad --input-size, --seconds, --repeat, --segment or "
                   "--clip-seconds\n");
        return 1;
    }
    for (const char* f : {"zumzimixer", "zumzilivesink", "vp8enc", "vp8dec", "opusenc",
                          "opusdec", "appsrc", "hlssink2", "x264enc"}) {
        GstElementFactory* factory = gst_element_factory_find(f);
        if (!factory) {
            g_printerr("composite-bench: no %s element (GST_PLUGIN_PATH=%s)\n", f,
                       g_getenv("GST_PLUGIN_PATH") ? g_getenv("GST_PLUGIN_PATH") : "");
            return 1;
        }
        gst_object_unref(factory);
    }

    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    std::string model = cpu_model();
    gchar* gst_version = gst_version_string();
    printf("zumzi-composite-bench: %ld cores (%s), %s\n", cores, model.c_str(), gst_version);
    printf("inputs: %dx%d@30 VP8 %d kbit/s CBR + Opus 48 kHz mono, pre-encoded %.0f s loops, "
           "replayed live (latency %d ms); stage %s; warm-up %.0f s, window %.0f s, HLS "
           "segments %d s\n",
           opt.in_width, opt.in_height, opt.kbps, opt.clip_seconds, opt.input_latency_ms,
           opt.stage.c_str(), opt.warmup, opt.seconds, opt.segment);

    std::vector<Clip*> clips;
    int nclips = std::min<int>(G_N_ELEMENTS(kPatterns), *std::max_element(opt.inputs.begin(),
                                                                           opt.inputs.end()));
    for (int i = 0; i < nclips; i++) {
        auto* clip = new Clip;
        if (!encode_clip(opt, kPatterns[i], i, clip)) {
            g_printerr("composite-bench: could not pre-encode clip %d\n", i);
            return 1;
        }
        printf("  clip %d (%s): %zu frames, %d keyframe(s), %.0f kbit/s VP8; %zu Opus packets\n",
               i, clip->pattern.c_str(), clip->video.size(), clip->keyframes, clip->video_kbps,
               clip->audio.size());
        clips.push_back(clip);
    }

    gchar* tmp = g_dir_make_tmp("zumzi-composite-XXXXXX", nullptr);
    std::vector<Result> results;
    print_header();
    for (int rep = 1; rep <= opt.repeat; rep++)
        for (const std::string& preset : opt.presets)
            for (int n : opt.inputs) {
                Result r = run_case(opt, clips, n, preset, rep, tmp);
                print_row(r);
                print_groups(r);
                results.push_back(r);
            }
    remove_tree(tmp);
    g_free(tmp);

    printf("\nout_fps: frames out of the mixer per wall second; enc_fps: frames out of x264; "
           "in_fps: the slowest input's decoded frames per second into the mixer;\n"
           "CPUms/s: this process's CPU (getrusage) per wall second, %%cores of %ld cores; oth%%: "
           "the rest of the machine, %% of one core;\n"
           "ms/fr: CPU ms per frame out of the mixer; need%%: that x 30 fps in %% of all cores "
           "(what 30 fps costs however busy the machine was);\n"
           "inlag50, enclag50: median ms from a frame's running time to the mixer input / the "
           "x264 output;\n"
           "hls50, hlsmax: ms from a frame entering the mixer to its segment being listed in the "
           "playlist; hlsmin: the smallest per segment (the last frame's);\n"
           "RT: real time (out and enc >= 29 fps, x264's lag not growing by 100 ms over the "
           "window).\n",
           cores);

    int status = 0;
    if (!opt.json_path.empty()) {
        g_autoptr(JsonBuilder) b = json_builder_new();
        json_builder_begin_object(b);
        json_builder_set_member_name(b, "machine");
        json_builder_begin_object(b);
        json_builder_set_member_name(b, "cores");
        json_builder_add_int_value(b, cores);
        json_builder_set_member_name(b, "model");
        json_builder_add_string_value(b, model.c_str());
        json_builder_set_member_name(b, "gstreamer");
        json_builder_add_string_value(b, gst_version);
        json_builder_end_object(b);
        json_builder_set_member_name(b, "settings");
        json_builder_begin_object(b);
        json_builder_set_member_name(b, "input");
        json_builder_add_string_value(
            b, fmt("%dx%d@30 VP8 %d kbit/s + Opus", opt.in_width, opt.in_height, opt.kbps).c_str());
        json_builder_set_member_name(b, "clip_kbps");
        json_builder_begin_array(b);
        for (const Clip* c : clips)
            json_builder_add_double_value(b, c->video_kbps);
        json_builder_end_array(b);
        json_builder_set_member_name(b, "stage");
        json_builder_add_string_value(b, opt.stage.c_str());
        json_builder_set_member_name(b, "input_latency_ms");
        json_builder_add_int_value(b, opt.input_latency_ms);
        json_builder_set_member_name(b, "warmup_s");
        json_builder_add_double_value(b, opt.warmup);
        json_builder_set_member_name(b, "window_s");
        json_builder_add_double_value(b, opt.seconds);
        json_builder_set_member_name(b, "segment_s");
        json_builder_add_int_value(b, opt.segment);
        json_builder_set_member_name(b, "labels");
        json_builder_add_boolean_value(b, opt.labels);
        json_builder_end_object(b);
        json_builder_set_member_name(b, "cases");
        json_builder_begin_array(b);
        for (const Result& r : results)
            json_result(b, r);
        json_builder_end_array(b);
        json_builder_end_object(b);
        g_autoptr(JsonGenerator) gen = json_generator_new();
        g_autoptr(JsonNode) root = json_builder_get_root(b);
        json_generator_set_root(gen, root);
        json_generator_set_pretty(gen, TRUE);
        GError* werr = nullptr;
        if (!json_generator_to_file(gen, opt.json_path.c_str(), &werr)) {
            g_printerr("composite-bench: %s: %s\n", opt.json_path.c_str(), werr->message);
            g_error_free(werr);
            status = 1;
        }
    }
    g_free(gst_version);
    for (Clip* c : clips)
        delete c;
    for (const Result& r : results)
        if (!r.error.empty())
            status = 1;
    return status;
}
