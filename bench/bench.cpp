// zumzi-bench: measures the Zumzi server with headless WebRTC bots on
// 127.0.0.1 (docs/benchmarks.md).
//
// The server runs as its own process (started here, or one already running
// given with --server/--token/--server-pid) so that its CPU, memory and
// threads can be read from /proc alone. The bots all run in this process on
// one GMainContext; they cost CPU on the same cores, which the output says.
//
// Scenario A "1 -> N": one publisher (VP8 + Opus) and N subscribers that
// publish nothing, for growing N. Scenario B "N-party": N bots that all
// publish and subscribe. Each step: a fresh room, joins (staggered), wait
// until every subscriber decoded a first video frame and audio buffer of
// every publisher, settle, then a fixed measurement window.
//
// With --whip/--whep, scenario A runs against any WHIP/WHEP server (Zumzi
// or another): the publisher POSTs to the WHIP URL, each subscriber to the
// WHEP URL; --server-pid names the process whose CPU is measured.
//
// With --janus, scenario A runs against a Janus VideoRoom over Janus's
// HTTP API (bench/janus/ starts one): the bench creates a room per step,
// the publisher bot joins and publishes, each subscriber bot subscribes to
// its feed; --server-pid names the Janus process. Same bots, same media,
// same figures: the side-by-side comparison of docs/benchmarks.md.
#include <fcntl.h>
#include <ftw.h>
#include <glib-unix.h>
#include <glib/gstdio.h>
#include <gst/gst.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cstdarg>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "bot.h"
#include "janus.h"
#include "rest.h"

using namespace zumzi::bot;

namespace {

// --- Options -----------------------------------------------------------------

struct Options {
    std::string server_bin;
    std::string server_url;  // external server
    std::string token;
    int server_pid = 0;  // external server's pid, for CPU/memory (optional)
    // Any WHIP/WHEP server: scenario A only, publisher via WHIP, subscribers
    // via WHEP, bearer tokens (or PINs) per endpoint.
    std::string whip_url, whep_url, whip_token, whep_token;
    bool http() const { return !whip_url.empty(); }
    // A Janus VideoRoom: scenario A only, through Janus's HTTP API root.
    std::string janus_url;
    bool janus() const { return !janus_url.empty(); }
    std::string json_path;
    std::string scenario = "both";
    int max_n = 16;
    int min_n = 1;      // skip smaller steps of A (quick A/B runs of one size)
    int min_party = 2;  // same for B
    int max_party = 6;
    double seconds = 10;
    double settle = 1;
    double stagger = 0.2;
    int width = 640, height = 360, fps = 30, kbps = 500;
    unsigned latency_ms = 100;
    int audio_level_id = 1;
    // The bots' only ICE host address (127.0.0.x: see bench/janus/).
    std::string ice_address = "127.0.0.1";
    bool decode = true;
    bool keep_going = false;  // do not stop at the first step under 95%
    bool verbose = false;
};

volatile bool g_interrupted = false;

// --- /proc ---------------------------------------------------------------------

struct ThreadSample {
    std::string comm;
    long long ticks = 0;
    long long ctx_voluntary = 0;
    long long ctx_involuntary = 0;
};

struct ProcSample {
    bool ok = false;
    gint64 at_us = 0;
    long long ticks = 0;  // utime + stime of the whole process
    long long rss_kb = 0;
    int threads = 0;
    std::map<int, ThreadSample> tasks;  // by tid
    long long ctx_voluntary() const
    {
        long long n = 0;
        for (const auto& [tid, t] : tasks)
            n += t.ctx_voluntary;
        return n;
    }
    long long ctx_involuntary() const
    {
        long long n = 0;
        for (const auto& [tid, t] : tasks)
            n += t.ctx_involuntary;
        return n;
    }
};

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

// Parses a stat line: comm (between the first '(' and the last ')') and
// the fields after it (index 0 = field 3, "state").
bool parse_stat(const std::string& text, std::string* comm, std::vector<std::string>* fields)
{
    auto open = text.find('(');
    auto close = text.rfind(')');
    if (open == std::string::npos || close == std::string::npos || close < open)
        return false;
    *comm = text.substr(open + 1, close - open - 1);
    std::istringstream rest(text.substr(close + 1));
    std::string f;
    fields->clear();
    while (rest >> f)
        fields->push_back(f);
    return fields->size() > 17;
}

long long status_field(const std::string& status, const char* key)
{
    auto pos = status.find(key);
    if (pos == std::string::npos)
        return -1;
    return std::atoll(status.c_str() + pos + strlen(key));
}

ProcSample sample_process(int pid, bool with_tasks)
{
    ProcSample s;
    s.at_us = g_get_monotonic_time();
    std::string base = "/proc/" + std::to_string(pid);
    std::string text, comm;
    std::vector<std::string> fields;
    if (!read_text(base + "/stat", &text) || !parse_stat(text, &comm, &fields))
        return s;
    s.ticks = std::atoll(fields[11].c_str()) + std::atoll(fields[12].c_str());
    s.threads = std::atoi(fields[17].c_str());
    if (read_text(base + "/status", &text))
        s.rss_kb = status_field(text, "VmRSS:");
    s.ok = true;
    if (!with_tasks)
        return s;
    GDir* dir = g_dir_open((base + "/task").c_str(), 0, nullptr);
    if (!dir)
        return s;
    while (const gchar* name = g_dir_read_name(dir)) {
        int tid = std::atoi(name);
        std::string tbase = base + "/task/" + name;
        ThreadSample t;
        if (!read_text(tbase + "/stat", &text) || !parse_stat(text, &t.comm, &fields))
            continue;
        t.ticks = std::atoll(fields[11].c_str()) + std::atoll(fields[12].c_str());
        if (read_text(tbase + "/status", &text)) {
            t.ctx_voluntary = status_field(text, "voluntary_ctxt_switches:");
            t.ctx_involuntary = status_field(text, "nonvoluntary_ctxt_switches:");
        }
        s.tasks[tid] = t;
    }
    g_dir_close(dir);
    return s;
}

// Machine-wide CPU ticks (busy, total) from /proc/stat: other processes
// on the machine (compilers, tests) distort every figure, so say how busy it was.
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

// Thread names without digits: "queue12:src" -> "queue:src".
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
    long long ctx_switches = 0;
};

// CPU and context switches per thread group between two samples (threads
// present in both).
std::vector<GroupCost> group_costs(const ProcSample& a, const ProcSample& b)
{
    std::map<std::string, GroupCost> groups;
    for (const auto& [tid, t1] : b.tasks) {
        GroupCost& g = groups[thread_group(t1.comm)];
        g.name = thread_group(t1.comm);
        g.threads++;
        auto it = a.tasks.find(tid);
        if (it == a.tasks.end())
            continue;
        g.cpu_ms += ticks_to_ms(t1.ticks - it->second.ticks);
        g.ctx_switches += (t1.ctx_voluntary - it->second.ctx_voluntary) +
                          (t1.ctx_involuntary - it->second.ctx_involuntary);
    }
    std::vector<GroupCost> out;
    for (auto& [name, g] : groups)
        out.push_back(g);
    std::sort(out.begin(), out.end(),
              [](const GroupCost& x, const GroupCost& y) { return x.cpu_ms > y.cpu_ms; });
    return out;
}

// --- Encoder output counts -----------------------------------------------------
//
// zumzi::bot::Bot does not say how many frames it published. An emission
// hook on GstBin::element-added sees every vp8enc/opusenc the bots create
// (gst_parse_bin_from_description adds them to their bin) and puts a
// buffer probe on its src pad; the owner is found through the element's
// top-level parent, the pipeline named after the bot.

struct EncoderCount {
    bool video = true;
    std::atomic<uint64_t> buffers{0};
    GstElement* element = nullptr;  // weak
};

std::mutex g_enc_lock;
std::vector<std::shared_ptr<EncoderCount>> g_encoders;

GstPadProbeReturn on_encoded(GstPad*, GstPadProbeInfo* info, gpointer data)
{
    auto* c = static_cast<EncoderCount*>(data);
    if (info->type & GST_PAD_PROBE_TYPE_BUFFER_LIST)
        c->buffers += gst_buffer_list_length(GST_PAD_PROBE_INFO_BUFFER_LIST(info));
    else
        c->buffers++;
    return GST_PAD_PROBE_OK;
}

void on_encoder_finalized(gpointer data, GObject*)
{
    auto* c = static_cast<EncoderCount*>(data);
    std::lock_guard<std::mutex> guard(g_enc_lock);
    c->element = nullptr;
    g_encoders.erase(std::remove_if(g_encoders.begin(), g_encoders.end(),
                                    [c](const std::shared_ptr<EncoderCount>& e) {
                                        return e.get() == c;
                                    }),
                     g_encoders.end());
}

gboolean on_element_added(GSignalInvocationHint*, guint n_params, const GValue* params, gpointer)
{
    if (n_params < 2)
        return TRUE;
    auto* element = GST_ELEMENT(g_value_get_object(&params[1]));
    GstElementFactory* factory = element ? gst_element_get_factory(element) : nullptr;
    if (!factory)
        return TRUE;
    const gchar* name = GST_OBJECT_NAME(factory);
    bool video = g_str_equal(name, "vp8enc");
    if (!video && !g_str_equal(name, "opusenc"))
        return TRUE;
    {
        std::lock_guard<std::mutex> guard(g_enc_lock);
        for (const auto& e : g_encoders)
            if (e->element == element)
                return TRUE;  // seen (added to its bin again)
    }
    auto count = std::make_shared<EncoderCount>();
    count->video = video;
    count->element = element;
    g_autoptr(GstPad) src = gst_element_get_static_pad(element, "src");
    if (!src)
        return TRUE;
    gst_pad_add_probe(src, GstPadProbeType(GST_PAD_PROBE_TYPE_BUFFER | GST_PAD_PROBE_TYPE_BUFFER_LIST),
                      on_encoded, count.get(), nullptr);
    g_object_weak_ref(G_OBJECT(element), on_encoder_finalized, count.get());
    std::lock_guard<std::mutex> guard(g_enc_lock);
    g_encoders.push_back(count);
    return TRUE;
}

std::string top_level_name(GstElement* element)
{
    GstObject* obj = GST_OBJECT(gst_object_ref(element));
    while (GstObject* parent = gst_object_get_parent(obj)) {
        gst_object_unref(obj);
        obj = parent;
    }
    std::string name = GST_OBJECT_NAME(obj) ? GST_OBJECT_NAME(obj) : "";
    gst_object_unref(obj);
    return name;
}

// Encoded buffers so far, by bot name (its pipeline name).
struct Encoded {
    uint64_t video = 0;
    uint64_t audio = 0;
};
std::map<std::string, Encoded> encoded_by_bot()
{
    std::map<std::string, Encoded> out;
    std::lock_guard<std::mutex> guard(g_enc_lock);
    for (const auto& e : g_encoders) {
        if (!e->element)
            continue;
        Encoded& x = out[top_level_name(e->element)];
        (e->video ? x.video : x.audio) += e->buffers.load();
    }
    return out;
}

// --- The server process --------------------------------------------------------

int rm_entry(const char* path, const struct stat*, int, struct FTW*)
{
    return remove(path);
}

struct ServerProcess {
    GSubprocess* proc = nullptr;
    std::string dir;  // temporary data dir (config, database, log)
    std::string url;
    int pid = 0;

    std::string log_tail() const
    {
        std::string text;
        read_text(dir + "/server.log", &text);
        if (text.size() > 3000)
            text = text.substr(text.size() - 3000);
        return text;
    }

    bool start(const std::string& bin, std::string* error)
    {
        g_autoptr(GError) err = nullptr;
        gchar* tmp = g_dir_make_tmp("zumzi-bench-XXXXXX", &err);
        if (!tmp) {
            *error = err->message;
            return false;
        }
        dir = tmp;
        g_free(tmp);
        // Loopback-only ICE, demo login; everything else at its default.
        const char* ini = "[login]\ndemo = true\n\n[media]\nhost_addresses = 127.0.0.1\n";
        std::string config = dir + "/zumzi.ini";
        if (!g_file_set_contents(config.c_str(), ini, -1, &err)) {
            *error = err->message;
            return false;
        }
        std::string data = dir + "/data";
        std::string log = dir + "/server.log";
        g_autoptr(GSubprocessLauncher) launcher =
            g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDERR_MERGE);
        g_subprocess_launcher_set_stdout_file_path(launcher, log.c_str());
        // The server dies with us even if we crash.
        g_subprocess_launcher_set_child_setup(
            launcher, [](gpointer) { prctl(PR_SET_PDEATHSIG, SIGTERM); }, nullptr, nullptr);
        proc = g_subprocess_launcher_spawn(launcher, &err, bin.c_str(), "--demo", "--listen",
                                           "127.0.0.1", "--port", "0", "--data-dir", data.c_str(),
                                           "--config", config.c_str(), nullptr);
        if (!proc) {
            *error = bin + ": " + err->message;
            return false;
        }
        const gchar* id = g_subprocess_get_identifier(proc);
        pid = id ? std::atoi(id) : 0;
        // "Zumzi 0.1.0 listening on http://127.0.0.1:PORT/ (...)"
        gint64 end = g_get_monotonic_time() + 15 * G_USEC_PER_SEC;
        while (g_get_monotonic_time() < end && !g_interrupted) {
            std::string text;
            read_text(log, &text);
            auto pos = text.find("listening on ");
            if (pos != std::string::npos) {
                auto start = pos + strlen("listening on ");
                auto stop = text.find_first_of(" \n", start);
                if (stop != std::string::npos) {
                    url = text.substr(start, stop - start);
                    while (!url.empty() && url.back() == '/')
                        url.pop_back();
                    return true;
                }
            }
            if (g_subprocess_get_identifier(proc) == nullptr) {
                *error = "the server exited:\n" + text;
                return false;
            }
            g_main_context_iteration(nullptr, FALSE);
            g_usleep(20000);
        }
        *error = "the server did not say 'listening on' in 15 s:\n" + log_tail();
        return false;
    }

    void stop()
    {
        if (proc) {
            g_subprocess_send_signal(proc, SIGTERM);
            gint64 end = g_get_monotonic_time() + 10 * G_USEC_PER_SEC;
            while (g_subprocess_get_identifier(proc) && g_get_monotonic_time() < end) {
                g_main_context_iteration(nullptr, FALSE);
                g_usleep(20000);
            }
            if (g_subprocess_get_identifier(proc)) {
                g_printerr("zumzi-bench: the server ignored SIGTERM; killing it\n");
                g_subprocess_force_exit(proc);
            }
            g_subprocess_wait(proc, nullptr, nullptr);
            g_object_unref(proc);
            proc = nullptr;
        }
        if (!dir.empty()) {
            nftw(dir.c_str(), rm_entry, 16, FTW_DEPTH | FTW_PHYS);
            dir.clear();
        }
    }
};

// --- Steps ---------------------------------------------------------------------

struct PairRatio {
    std::string subscriber, publisher;
    double video = 0, audio = 0;  // received / encoded in the window
};

struct StepResult {
    std::string scenario;  // "A" or "B"
    int n = 0;             // subscribers (A) or parties (B)
    int bots = 0;
    int publishers = 0;
    int streams = 0;  // forwarded streams (video + audio)
    bool all_started = false;
    int failed_bots = 0;
    double window_s = 0;
    // Server.
    bool have_server = false;
    double server_cpu_ms = 0;
    double ms_per_stream_s = 0;
    double server_cpu_pct = 0;  // of one core
    long long rss_base_kb = 0, rss_kb = 0;
    int threads_base = 0, threads = 0;
    // After everyone left and the server settled: what was not given back.
    long long rss_after_kb = 0;
    int threads_after = 0;
    int bench_threads_after = 0;  // this process, after its bots were destroyed
    std::string leftover_threads;   // server thread names more numerous than before the step
    bool have_marginal = false;
    double marginal_ms_per_stream_s = 0;  // vs the previous step of the scenario
    double ctx_per_s = 0;
    double ctx_voluntary_per_s = 0;
    std::vector<GroupCost> groups;
    // Bench process (the bots).
    double bench_cpu_pct = 0;
    double other_cpu_pct = 0;  // everything else on the machine, % of one core
    long long bench_rss_kb = 0;
    int bench_threads = 0;
    // Delivery.
    std::vector<PairRatio> pairs;
    double min_ratio = 0, mean_ratio = 0;
    double min_video = 0, min_audio = 0;
    double publisher_fps = 0;  // encoded video frames per second, mean over publishers
    std::vector<double> first_frame_ms;
    double ftf_median = -1, ftf_p95 = -1;
    // A: medians over the subscribers of ms from join to each step before
    // the first frame (JoinTimeline), -1: none reached it.
    double sdp_median = -1, connected_median = -1, first_packet_median = -1;
    bool ok = false;
};

double percentile(std::vector<double> v, double p)
{
    if (v.empty())
        return -1;
    std::sort(v.begin(), v.end());
    double idx = p * double(v.size() - 1);
    size_t lo = size_t(idx);
    size_t hi = std::min(lo + 1, v.size() - 1);
    return v[lo] + (v[hi] - v[lo]) * (idx - double(lo));
}

struct Bench {
    Options opt;
    std::string url;
    std::string token;
    int server_pid = 0;
    int room_counter = 0;
    uint64_t janus_room_base = 0;  // Janus room ids: this + room_counter
    GMainContext* ctx = nullptr;

    bool wait(const std::function<bool()>& cond, double seconds)
    {
        return wait_until(
            ctx, [&] { return g_interrupted || cond(); }, int(seconds * 1000));
    }
    void sleep(double seconds)
    {
        wait([] { return false; }, seconds);
    }

    ProcSample server_sample(bool tasks) const
    {
        return server_pid ? sample_process(server_pid, tasks) : ProcSample{};
    }

    std::unique_ptr<Bot> make_bot(const RoomInfo& room, const std::string& name, bool publish,
                                  bool subscribe, const std::string& janus_feed = {})
    {
        BotOptions o;
        if (opt.janus()) {
            o.mode = publish ? BotMode::JanusPublisher : BotMode::JanusSubscriber;
            o.url = opt.janus_url;
            o.room = room.id;
            o.feed = janus_feed;
        } else if (opt.http()) {
            o.mode = publish ? BotMode::Whip : BotMode::Whep;
            o.url = publish ? opt.whip_url : opt.whep_url;
            o.token = publish ? opt.whip_token : opt.whep_token;
        } else {
            o.server_url = url;
            o.token = token;
            o.room = room.id;
            o.pin = room.participant_pin;
        }
        o.name = name;
        o.width = opt.width;
        o.height = opt.height;
        o.fps = opt.fps;
        o.video_kbps = opt.kbps;
        o.audio_level_id = opt.audio_level_id;
        o.publish_video = publish;
        o.publish_audio = publish;
        o.subscribe = subscribe && opt.decode;
        o.latency_ms = opt.latency_ms;
        o.ice_addresses = {opt.ice_address};
        o.verbose = opt.verbose;
        return std::make_unique<Bot>(o);
    }

    // Waits until the server's thread count is back near `threads` (its
    // room pipeline is gone), or has not changed for a second (threads
    // the server never ends, see threads_after).
    void wait_server_idle(int threads)
    {
        if (!server_pid)
            return;
        int last = -1;
        gint64 since = g_get_monotonic_time();
        wait(
            [&] {
                int now = server_sample(false).threads;
                if (now <= threads + 1)
                    return true;
                if (now != last) {
                    last = now;
                    since = g_get_monotonic_time();
                }
                return g_get_monotonic_time() - since > G_USEC_PER_SEC;
            },
            8);
    }

    StepResult run_step(const std::string& scenario, int n)
    {
        StepResult r;
        r.scenario = scenario;
        r.n = n;
        const bool fanout = scenario == "A";
        RoomInfo room;
        std::string err;
        std::string room_name = "bench-" + scenario + "-" + std::to_string(n);
        const std::string tag = scenario + std::to_string(++room_counter) + "-";
        if (opt.janus()) {
            room.id = std::to_string(janus_room_base + uint64_t(room_counter));
            if (!janus_create_room(opt.janus_url, janus_room_base + uint64_t(room_counter), 1, &err)) {
                g_printerr("zumzi-bench: create Janus room: %s\n", err.c_str());
                return r;
            }
        } else if (!opt.http() && !create_room(url, token, room_name, "", &room, &err)) {
            g_printerr("zumzi-bench: create room: %s\n", err.c_str());
            return r;
        }

        ProcSample base = server_sample(true);
        r.rss_base_kb = base.rss_kb;
        r.threads_base = base.threads;

        std::vector<std::unique_ptr<Bot>> bots;
        std::vector<Bot*> publishers, subscribers;
        if (fanout) {
            bots.push_back(make_bot(room, tag + "pub", true, false));
            publishers.push_back(bots.back().get());
            bots.back()->start();
            // The publisher is up when the server says its publish session
            // connected.
            wait(
                [&] {
                    auto& cs = publishers[0]->connection_states();
                    auto it = cs.find("publish");
                    return (it != cs.end() && it->second == "connected") ||
                           !publishers[0]->errors().empty();
                },
                15);
            sleep(0.3);
            for (int i = 0; i < n && !g_interrupted; i++) {
                bots.push_back(make_bot(room, tag + "sub" + std::to_string(i + 1), false, true,
                                        publishers[0]->participant_id()));
                subscribers.push_back(bots.back().get());
                bots.back()->start();
                if (opt.stagger > 0)
                    sleep(opt.stagger);
            }
        } else {
            for (int i = 0; i < n && !g_interrupted; i++) {
                bots.push_back(make_bot(room, tag + "p" + std::to_string(i + 1), true, true));
                publishers.push_back(bots.back().get());
                subscribers.push_back(bots.back().get());
                bots.back()->start();
                if (opt.stagger > 0)
                    sleep(opt.stagger);
            }
        }
        r.bots = int(bots.size());
        r.publishers = int(publishers.size());
        for (Bot* s : subscribers)
            for (Bot* p : publishers)
                if (s != p)
                    r.streams += 2;

        // WHEP and Janus: whatever the server sends, from the one publisher.
        const bool any_publisher = opt.http() || opt.janus();
        auto has_everything = [&](Bot* s) {
            if (any_publisher)
                return s->video_frames() > 0 && s->audio_buffers() > 0;
            for (Bot* p : publishers) {
                if (p == s)
                    continue;
                if (p->participant_id().empty() || s->video_frames_from(p->participant_id()) == 0 ||
                    s->audio_buffers_from(p->participant_id()) == 0)
                    return false;
            }
            return true;
        };
        // Without decoding, count packets instead.
        auto has_packets = [&](Bot* s) {
            if (any_publisher)
                return s->packets() > 0;
            for (Bot* p : publishers)
                if (p != s && (p->participant_id().empty() || s->packets_from(p->participant_id()) == 0))
                    return false;
            return true;
        };
        auto started = [&](Bot* s) { return opt.decode ? has_everything(s) : has_packets(s); };
        r.all_started = wait(
            [&] {
                for (Bot* s : subscribers)
                    if (!started(s))
                        return false;
                return true;
            },
            20 + 0.5 * n);
        for (Bot* s : subscribers)
            if (!started(s) || !s->errors().empty())
                r.failed_bots++;
        sleep(opt.settle);

        // Window.
        auto count = [&](Bot* s, Bot* p, bool video) -> uint64_t {
            if (any_publisher)
                return !opt.decode ? s->packets() : video ? s->video_frames() : s->audio_buffers();
            if (!opt.decode)
                return s->packets_from(p->participant_id());
            return video ? s->video_frames_from(p->participant_id())
                         : s->audio_buffers_from(p->participant_id());
        };
        struct PairCount {
            uint64_t video = 0, audio = 0;
        };
        std::map<std::pair<Bot*, Bot*>, PairCount> c0;
        for (Bot* s : subscribers)
            for (Bot* p : publishers)
                if (s != p)
                    c0[{s, p}] = {count(s, p, true), count(s, p, false)};
        auto e0 = encoded_by_bot();
        ProcSample s0 = server_sample(true);
        ProcSample b0 = sample_process(getpid(), false);
        auto m0 = machine_ticks();

        sleep(opt.seconds);

        ProcSample s1 = server_sample(true);
        ProcSample b1 = sample_process(getpid(), false);
        auto m1 = machine_ticks();
        auto e1 = encoded_by_bot();
        std::map<std::pair<Bot*, Bot*>, PairCount> c1;
        for (Bot* s : subscribers)
            for (Bot* p : publishers)
                if (s != p)
                    c1[{s, p}] = {count(s, p, true), count(s, p, false)};

        r.window_s = double(b1.at_us - b0.at_us) / 1e6;
        if (s0.ok && s1.ok) {
            r.have_server = true;
            r.server_cpu_ms = ticks_to_ms(s1.ticks - s0.ticks);
            double sw = double(s1.at_us - s0.at_us) / 1e6;
            r.server_cpu_pct = 100.0 * r.server_cpu_ms / (sw * 1000.0);
            if (r.streams > 0)
                r.ms_per_stream_s = r.server_cpu_ms / (r.streams * sw);
            r.rss_kb = s1.rss_kb;
            r.threads = s1.threads;
            r.ctx_per_s = double((s1.ctx_voluntary() + s1.ctx_involuntary()) -
                                 (s0.ctx_voluntary() + s0.ctx_involuntary())) /
                          sw;
            r.ctx_voluntary_per_s = double(s1.ctx_voluntary() - s0.ctx_voluntary()) / sw;
            r.groups = group_costs(s0, s1);
        }
        r.bench_cpu_pct = 100.0 * ticks_to_ms(b1.ticks - b0.ticks) / (r.window_s * 1000.0);
        r.bench_rss_kb = b1.rss_kb;
        {
            double busy = 100.0 * ticks_to_ms(m1.first - m0.first) / (r.window_s * 1000.0);
            r.other_cpu_pct = std::max(0.0, busy - r.bench_cpu_pct - (r.have_server ? r.server_cpu_pct : 0));
        }
        r.bench_threads = b1.threads;

        // Delivery: per (subscriber, publisher), decoded in the window over
        // what the publisher's encoder produced in it (frames only when
        // decoding; see below).
        double fps_sum = 0;
        for (Bot* p : publishers) {
            const std::string& name = p->options().name;
            uint64_t v = e1[name].video - e0[name].video;
            fps_sum += double(v) / r.window_s;
        }
        r.publisher_fps = publishers.empty() ? 0 : fps_sum / double(publishers.size());
        r.min_ratio = r.min_video = r.min_audio = subscribers.empty() ? 0 : 1e9;
        double sum = 0;
        int pairs = 0;
        for (Bot* s : subscribers)
            for (Bot* p : publishers) {
                if (s == p)
                    continue;
                const std::string& name = p->options().name;
                double ev = double(e1[name].video - e0[name].video);
                double ea = double(e1[name].audio - e0[name].audio);
                PairRatio pr;
                pr.subscriber = s->options().name;
                pr.publisher = name;
                const PairCount& a = c0[{s, p}];
                const PairCount& b = c1[{s, p}];
                pr.video = ev > 0 ? double(b.video - a.video) / ev : 0;
                pr.audio = ea > 0 ? double(b.audio - a.audio) / ea : 0;
                r.pairs.push_back(pr);
                r.min_video = std::min(r.min_video, pr.video);
                r.min_audio = std::min(r.min_audio, pr.audio);
                r.min_ratio = std::min({r.min_ratio, pr.video, pr.audio});
                sum += std::min(pr.video, pr.audio);
                pairs++;
            }
        r.mean_ratio = pairs ? sum / pairs : 0;
        if (!opt.decode) {
            // Packets, not frames: only "arrived at all" is meaningful.
            r.min_video = r.min_audio = r.min_ratio = r.failed_bots ? 0 : 1;
        }

        // Join (A) or track announcement (B) to first decoded video frame.
        for (Bot* s : subscribers) {
            if (fanout) {
                if (s->first_frame_ms() >= 0)
                    r.first_frame_ms.push_back(double(s->first_frame_ms()));
            } else {
                for (const auto& t : s->tracks())
                    if (t.kind == "video" && t.first_frame_after_publish_ms >= 0)
                        r.first_frame_ms.push_back(double(t.first_frame_after_publish_ms));
            }
        }
        if (fanout) {
            std::vector<double> sdp, connected, packet;
            for (Bot* s : subscribers) {
                JoinTimeline t = s->join_timeline();
                if (t.sdp_ms >= 0)
                    sdp.push_back(double(t.sdp_ms));
                if (t.connected_ms >= 0)
                    connected.push_back(double(t.connected_ms));
                if (t.first_packet_ms >= 0)
                    packet.push_back(double(t.first_packet_ms));
            }
            r.sdp_median = percentile(sdp, 0.5);
            r.connected_median = percentile(connected, 0.5);
            r.first_packet_median = percentile(packet, 0.5);
        }
        r.ftf_median = percentile(r.first_frame_ms, 0.5);
        r.ftf_p95 = percentile(r.first_frame_ms, 0.95);
        r.ok = r.all_started && r.failed_bots == 0 && r.min_ratio >= 0.95;

        for (auto& b : bots) {
            for (const auto& e : b->errors())
                g_printerr("zumzi-bench: %s: %s\n", b->options().name.c_str(), e.c_str());
            b->leave();
        }
        wait(
            [&] {
                for (auto& b : bots)
                    if (b->state() == BotState::Leaving)
                        return false;
                return true;
            },
            5);
        bots.clear();
        if (opt.janus() && !janus_destroy_room(opt.janus_url, std::stoull(room.id), &err))
            g_printerr("zumzi-bench: destroy Janus room: %s\n", err.c_str());
        wait_server_idle(r.threads_base);
        ProcSample after = server_sample(true);
        {
            std::map<std::string, int> before_n, after_n;
            for (const auto& [tid, t] : base.tasks)
                before_n[thread_group(t.comm)]++;
            for (const auto& [tid, t] : after.tasks)
                after_n[thread_group(t.comm)]++;
            for (const auto& [name, n] : after_n)
                if (n > before_n[name])
                    r.leftover_threads += (r.leftover_threads.empty() ? "" : ", ") + name + " +" +
                                          std::to_string(n - before_n[name]);
        }
        r.rss_after_kb = after.rss_kb;
        r.threads_after = after.threads;
        r.bench_threads_after = sample_process(getpid(), false).threads;
        return r;
    }
};

// --- Output --------------------------------------------------------------------

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

std::string machine_model()
{
    std::string text;
    read_text("/proc/cpuinfo", &text);
    auto pos = text.find("model name");
    if (pos == std::string::npos)
        return "unknown";
    auto colon = text.find(':', pos);
    auto end = text.find('\n', colon);
    std::string m = text.substr(colon + 1, end - colon - 1);
    m.erase(0, m.find_first_not_of(' '));
    return m;
}

std::string os_name()
{
    std::string text;
    read_text("/etc/os-release", &text);
    auto pos = text.find("PRETTY_NAME=");
    if (pos == std::string::npos)
        return "unknown";
    auto end = text.find('\n', pos);
    std::string v = text.substr(pos + 12, end - pos - 12);
    v.erase(std::remove(v.begin(), v.end(), '"'), v.end());
    return v;
}

double per_n(long long now, long long base, int n)
{
    return n > 0 ? double(now - base) / n : 0;
}

void print_table(const std::vector<StepResult>& steps)
{
    printf("\n%-4s %4s %4s %7s %6s %7s %6s %6s %6s %6s %7s %6s %6s %7s %6s %5s %6s %8s\n", "scen",
           "N", "strm", "ms/st-s", "marg", "srvCPU%", "bench%", "oth%", "minRx%", "avgRx%", "pub_fps",
           "ftf50", "ftf95", "RSS_MB", "MB/N", "thr", "thr/N", "ctxsw/s");
    for (const auto& r : steps) {
        const int denom = r.n;
        printf("%-4s %4d %4d %7s %6s %7s %6.0f %6.0f %6.1f %6.1f %7.1f %6.0f %6.0f %7s %6s %5s %6s %8s %s\n",
               r.scenario.c_str(), r.n, r.streams,
               r.have_server ? fmt("%.2f", r.ms_per_stream_s).c_str() : "n/a",
               r.have_marginal ? fmt("%.2f", r.marginal_ms_per_stream_s).c_str() : "-",
               r.have_server ? fmt("%.0f", r.server_cpu_pct).c_str() : "n/a", r.bench_cpu_pct,
               r.other_cpu_pct, 100 * r.min_ratio, 100 * r.mean_ratio, r.publisher_fps, r.ftf_median, r.ftf_p95,
               r.have_server ? fmt("%.1f", r.rss_kb / 1024.0).c_str() : "n/a",
               r.have_server ? fmt("%.2f", per_n(r.rss_kb, r.rss_base_kb, denom) / 1024.0).c_str()
                             : "n/a",
               r.have_server ? fmt("%d", r.threads).c_str() : "n/a",
               r.have_server ? fmt("%.1f", per_n(r.threads, r.threads_base, denom)).c_str() : "n/a",
               r.have_server ? fmt("%.0f", r.ctx_per_s).c_str() : "n/a",
               r.ok ? "" : (r.failed_bots ? fmt("<95%% (%d bots incomplete)", r.failed_bots).c_str()
                                          : "<95%"));
    }
}

void print_groups(const StepResult& r)
{
    if (!r.have_server || r.groups.empty())
        return;
    printf("\nServer threads by name, %s N=%d (%.1f s window; CPU ms, context switches):\n",
           r.scenario.c_str(), r.n, r.window_s);
    printf("  %-22s %7s %9s %7s %10s\n", "thread", "count", "CPU ms", "CPU%", "ctxsw/s");
    double total = 0;
    for (const auto& g : r.groups)
        total += g.cpu_ms;
    int shown = 0;
    for (const auto& g : r.groups) {
        if (shown++ >= 12)
            break;
        printf("  %-22s %7d %9.0f %6.1f%% %10.0f\n", g.name.c_str(), g.threads, g.cpu_ms,
               total > 0 ? 100 * g.cpu_ms / total : 0, g.ctx_switches / r.window_s);
    }
}

void json_step(JsonBuilder* b, const StepResult& r)
{
    auto num = [&](const char* k, double v) {
        json_builder_set_member_name(b, k);
        json_builder_add_double_value(b, v);
    };
    auto integer = [&](const char* k, gint64 v) {
        json_builder_set_member_name(b, k);
        json_builder_add_int_value(b, v);
    };
    auto null_or = [&](const char* k, bool have, double v) {
        json_builder_set_member_name(b, k);
        if (have)
            json_builder_add_double_value(b, v);
        else
            json_builder_add_null_value(b);
    };
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "scenario");
    json_builder_add_string_value(b, r.scenario.c_str());
    integer("n", r.n);
    integer("bots", r.bots);
    integer("publishers", r.publishers);
    integer("forwarded_streams", r.streams);
    json_builder_set_member_name(b, "ok");
    json_builder_add_boolean_value(b, r.ok);
    integer("incomplete_bots", r.failed_bots);
    num("window_s", r.window_s);
    null_or("server_cpu_ms", r.have_server, r.server_cpu_ms);
    null_or("server_cpu_ms_per_stream_s", r.have_server, r.ms_per_stream_s);
    null_or("server_cpu_percent", r.have_server, r.server_cpu_pct);
    null_or("server_rss_base_kb", r.have_server, double(r.rss_base_kb));
    null_or("server_rss_kb", r.have_server, double(r.rss_kb));
    null_or("server_rss_kb_per_n", r.have_server, per_n(r.rss_kb, r.rss_base_kb, r.n));
    null_or("server_threads_base", r.have_server, r.threads_base);
    null_or("server_threads", r.have_server, r.threads);
    null_or("server_threads_per_n", r.have_server, per_n(r.threads, r.threads_base, r.n));
    null_or("server_marginal_cpu_ms_per_stream_s", r.have_marginal,
            r.marginal_ms_per_stream_s);
    null_or("server_rss_after_leave_kb", r.have_server, double(r.rss_after_kb));
    null_or("server_threads_after_leave", r.have_server, r.threads_after);
    json_builder_set_member_name(b, "server_threads_left_after_leave");
    json_builder_add_string_value(b, r.leftover_threads.c_str());
    null_or("server_ctx_switches_per_s", r.have_server, r.ctx_per_s);
    null_or("server_voluntary_ctx_switches_per_s", r.have_server, r.ctx_voluntary_per_s);
    num("bench_cpu_percent", r.bench_cpu_pct);
    num("other_cpu_percent", r.other_cpu_pct);
    integer("bench_rss_kb", r.bench_rss_kb);
    integer("bench_threads", r.bench_threads);
    integer("bench_threads_after_leave", r.bench_threads_after);
    num("publisher_fps", r.publisher_fps);
    num("min_received_ratio", r.min_ratio);
    num("mean_received_ratio", r.mean_ratio);
    num("min_video_ratio", r.min_video);
    num("min_audio_ratio", r.min_audio);
    num("first_frame_ms_median", r.ftf_median);
    num("first_frame_ms_p95", r.ftf_p95);
    num("sdp_ms_median", r.sdp_median);
    num("connected_ms_median", r.connected_median);
    num("first_packet_ms_median", r.first_packet_median);
    json_builder_set_member_name(b, "first_frame_ms");
    json_builder_begin_array(b);
    for (double v : r.first_frame_ms)
        json_builder_add_double_value(b, v);
    json_builder_end_array(b);
    json_builder_set_member_name(b, "pairs");
    json_builder_begin_array(b);
    for (const auto& p : r.pairs) {
        json_builder_begin_object(b);
        json_builder_set_member_name(b, "subscriber");
        json_builder_add_string_value(b, p.subscriber.c_str());
        json_builder_set_member_name(b, "publisher");
        json_builder_add_string_value(b, p.publisher.c_str());
        num("video_ratio", p.video);
        num("audio_ratio", p.audio);
        json_builder_end_object(b);
    }
    json_builder_end_array(b);
    json_builder_set_member_name(b, "server_thread_groups");
    json_builder_begin_array(b);
    for (const auto& g : r.groups) {
        json_builder_begin_object(b);
        json_builder_set_member_name(b, "name");
        json_builder_add_string_value(b, g.name.c_str());
        integer("threads", g.threads);
        num("cpu_ms", g.cpu_ms);
        integer("ctx_switches", g.ctx_switches);
        json_builder_end_object(b);
    }
    json_builder_end_array(b);
    json_builder_end_object(b);
}

const StepResult* largest_ok(const std::vector<StepResult>& steps, const std::string& scenario)
{
    const StepResult* best = nullptr;
    for (const auto& r : steps)
        if (r.scenario == scenario && r.ok && (!best || r.n > best->n))
            best = &r;
    return best;
}

gboolean on_signal(gpointer)
{
    g_interrupted = true;
    return G_SOURCE_CONTINUE;
}

std::string default_server_bin(const char* argv0)
{
    // Next to the bench binary first (build/bench/../server), then the
    // path meson compiled in.
    g_autofree gchar* self = g_file_read_link("/proc/self/exe", nullptr);
    g_autofree gchar* dir = g_path_get_dirname(self ? self : argv0);
    std::string sibling = std::string(dir) + "/../server/zumzi-server";
    if (g_file_test(sibling.c_str(), G_FILE_TEST_IS_EXECUTABLE))
        return sibling;
#ifdef ZUMZI_SERVER_PATH
    return ZUMZI_SERVER_PATH;
#else
    return "zumzi-server";
#endif
}

}  // namespace

int main(int argc, char** argv)
{
    Options opt;
    gchar* server_bin = nullptr;
    gchar* server = nullptr;
    gchar* token = nullptr;
    gchar* json = nullptr;
    gchar* scenario = nullptr;
    gchar* size = nullptr;
    gchar *whip = nullptr, *whep = nullptr, *whip_token = nullptr, *whep_token = nullptr;
    gchar* janus = nullptr;
    gchar* ice_address = nullptr;
    int latency = int(opt.latency_ms);
    gboolean no_decode = FALSE, keep_going = FALSE, verbose = FALSE;
    GOptionEntry entries[] = {
        {"server-bin", 0, 0, G_OPTION_ARG_FILENAME, &server_bin,
         "zumzi-server to start (default: next to this binary, else the build's)", "PATH"},
        {"server", 0, 0, G_OPTION_ARG_STRING, &server,
         "Use this running Zumzi server instead of starting one (127.0.0.1 only)", "URL"},
        {"token", 0, 0, G_OPTION_ARG_STRING, &token,
         "Access token for --server (else demo login, which needs --demo)", "TOKEN"},
        {"server-pid", 0, 0, G_OPTION_ARG_INT, &opt.server_pid,
         "Pid of the --server (or --whip/--whep) server process, for its CPU/memory/threads",
         "PID"},
        {"whip", 0, 0, G_OPTION_ARG_STRING, &whip,
         "Scenario A against any WHIP/WHEP server: the publisher's WHIP URL (127.0.0.1)", "URL"},
        {"whep", 0, 0, G_OPTION_ARG_STRING, &whep, "... and the subscribers' WHEP URL", "URL"},
        {"whip-token", 0, 0, G_OPTION_ARG_STRING, &whip_token,
         "Bearer token (or PIN) for --whip (default: --token)", "TOKEN"},
        {"whep-token", 0, 0, G_OPTION_ARG_STRING, &whep_token,
         "Bearer token (or PIN) for --whep (default: --token)", "TOKEN"},
        {"janus", 0, 0, G_OPTION_ARG_STRING, &janus,
         "Scenario A against a Janus VideoRoom: Janus's HTTP API root, e.g. "
         "http://127.0.0.1:8088/janus (127.0.0.1; see bench/janus/)",
         "URL"},
        {"ice-address", 0, 0, G_OPTION_ARG_STRING, &ice_address,
         "The bots' ICE host address (default 127.0.0.1; a 127.0.0.0/8 address)", "ADDR"},
        {"json", 0, 0, G_OPTION_ARG_FILENAME, &json, "Write the results as JSON here", "FILE"},
        {"scenario", 0, 0, G_OPTION_ARG_STRING, &scenario, "a, b or both (default both)", "S"},
        {"max-n", 0, 0, G_OPTION_ARG_INT, &opt.max_n,
         "Scenario A: most subscribers (default 16; steps 1,2,4,8,12,16,20,...)", "N"},
        {"min-n", 0, 0, G_OPTION_ARG_INT, &opt.min_n,
         "Scenario A: skip the steps under N (default 1)", "N"},
        {"min-party", 0, 0, G_OPTION_ARG_INT, &opt.min_party,
         "Scenario B: skip the steps under N (default 2)", "N"},
        {"max-party", 0, 0, G_OPTION_ARG_INT, &opt.max_party,
         "Scenario B: most parties (default 6; steps 2,3,4,...)", "N"},
        {"seconds", 0, 0, G_OPTION_ARG_DOUBLE, &opt.seconds,
         "Measurement window per step (default 10)", "S"},
        {"settle", 0, 0, G_OPTION_ARG_DOUBLE, &opt.settle,
         "Seconds between the last first frame and the window (default 1)", "S"},
        {"stagger", 0, 0, G_OPTION_ARG_DOUBLE, &opt.stagger,
         "Seconds between bot joins (default 0.2)", "S"},
        {"size", 0, 0, G_OPTION_ARG_STRING, &size, "Video size (default 640x360)", "WxH"},
        {"fps", 0, 0, G_OPTION_ARG_INT, &opt.fps, "Video frame rate (default 30)", "FPS"},
        {"kbps", 0, 0, G_OPTION_ARG_INT, &opt.kbps, "VP8 bitrate (default 500)", "KBPS"},
        {"audio-level-id", 0, 0, G_OPTION_ARG_INT, &opt.audio_level_id,
         "a=extmap id of the publishers' audio level (default 1 as browsers; another id "
         "makes the server renumber their audio packets)",
         "ID"},
        {"latency", 0, 0, G_OPTION_ARG_INT, &latency,
         "Bots' jitterbuffer latency in ms (default 100)", "MS"},
        {"no-decode", 0, 0, G_OPTION_ARG_NONE, &no_decode,
         "Subscribers count RTP packets instead of decoding (cheaper bots; no frame ratio)",
         nullptr},
        {"keep-going", 0, 0, G_OPTION_ARG_NONE, &keep_going,
         "Do not stop a scenario at its first step under 95%", nullptr},
        {"verbose", 'v', 0, G_OPTION_ARG_NONE, &verbose, "Bots log signaling to stderr", nullptr},
        {nullptr, 0, 0, G_OPTION_ARG_NONE, nullptr, nullptr, nullptr},
    };
    GOptionContext* octx = g_option_context_new(
        "- server CPU, memory and delivery for 1->N and N-party rooms on 127.0.0.1");
    g_option_context_add_main_entries(octx, entries, nullptr);
    g_option_context_add_group(octx, gst_init_get_option_group());
    GError* err = nullptr;
    bool parsed = g_option_context_parse(octx, &argc, &argv, &err);
    g_option_context_free(octx);
    auto take = [](gchar* s) {
        std::string v = s ? s : "";
        g_free(s);
        return v;
    };
    opt.server_bin = server_bin ? take(server_bin) : default_server_bin(argv[0]);
    opt.server_url = take(server);
    opt.token = take(token);
    opt.json_path = take(json);
    std::string sc = take(scenario);
    std::string sz = take(size);
    opt.whip_url = take(whip);
    opt.whep_url = take(whep);
    opt.whip_token = take(whip_token);
    opt.whep_token = take(whep_token);
    opt.janus_url = take(janus);
    if (ice_address)
        opt.ice_address = take(ice_address);
    while (!opt.janus_url.empty() && opt.janus_url.back() == '/')
        opt.janus_url.pop_back();
    if (!parsed) {
        g_printerr("zumzi-bench: %s\n", err->message);
        g_error_free(err);
        return 1;
    }
    if (!sc.empty())
        opt.scenario = sc;
    if (opt.scenario != "a" && opt.scenario != "b" && opt.scenario != "both") {
        g_printerr("zumzi-bench: --scenario must be a, b or both\n");
        return 1;
    }
    if (!sz.empty() && sscanf(sz.c_str(), "%dx%d", &opt.width, &opt.height) != 2) {
        g_printerr("zumzi-bench: --size must be WxH\n");
        return 1;
    }
    if (opt.seconds <= 0 || opt.max_n < 1 || opt.max_party < 2 || opt.fps < 1) {
        g_printerr("zumzi-bench: bad --seconds, --max-n, --max-party or --fps\n");
        return 1;
    }
    if (opt.audio_level_id < 1 || opt.audio_level_id > 14) {
        g_printerr("zumzi-bench: --audio-level-id must be 1..14\n");
        return 1;
    }
    opt.latency_ms = unsigned(std::max(0, latency));
    opt.decode = !no_decode;
    opt.keep_going = keep_going;
    opt.verbose = verbose;
    auto local = [](const std::string& url) {
        g_autoptr(GUri) uri = g_uri_parse(url.c_str(), G_URI_FLAGS_NONE, nullptr);
        const char* host = uri ? g_uri_get_host(uri) : nullptr;
        return host && (g_strcmp0(host, "127.0.0.1") == 0 || g_strcmp0(host, "localhost") == 0);
    };
    if (!opt.whip_url.empty() || !opt.whep_url.empty()) {
        if (opt.whip_url.empty() || opt.whep_url.empty()) {
            g_printerr("zumzi-bench: give both --whip and --whep\n");
            return 1;
        }
        if (!local(opt.whip_url) || !local(opt.whep_url)) {
            g_printerr("zumzi-bench: --whip and --whep must be on 127.0.0.1\n");
            return 1;
        }
        if (!opt.server_url.empty() || opt.scenario == "b") {
            g_printerr("zumzi-bench: --whip/--whep run scenario A against their server: no "
                       "--server, no --scenario b\n");
            return 1;
        }
        opt.scenario = "a";
        if (opt.whip_token.empty())
            opt.whip_token = opt.token;
        if (opt.whep_token.empty())
            opt.whep_token = opt.token;
    } else if (!opt.whip_token.empty() || !opt.whep_token.empty()) {
        g_printerr("zumzi-bench: --whip-token/--whep-token go with --whip/--whep\n");
        return 1;
    }
    if (!g_str_has_prefix(opt.ice_address.c_str(), "127.")) {
        g_printerr("zumzi-bench: --ice-address must be in 127.0.0.0/8\n");
        return 1;
    }
    if (opt.janus()) {
        if (!local(opt.janus_url)) {
            g_printerr("zumzi-bench: --janus must be on 127.0.0.1\n");
            return 1;
        }
        if (!opt.server_url.empty() || opt.http() || opt.scenario == "b") {
            g_printerr("zumzi-bench: --janus runs scenario A against Janus: no --server, no "
                       "--whip/--whep, no --scenario b\n");
            return 1;
        }
        opt.scenario = "a";
    }
    if (!opt.server_url.empty()) {
        g_autoptr(GUri) uri = g_uri_parse(opt.server_url.c_str(), G_URI_FLAGS_NONE, nullptr);
        const char* host = uri ? g_uri_get_host(uri) : nullptr;
        if (!host || (g_strcmp0(host, "127.0.0.1") != 0 && g_strcmp0(host, "localhost") != 0)) {
            g_printerr("zumzi-bench: --server must be on 127.0.0.1\n");
            return 1;
        }
        while (!opt.server_url.empty() && opt.server_url.back() == '/')
            opt.server_url.pop_back();
    }

    guint sigint = g_unix_signal_add(SIGINT, on_signal, nullptr);
    guint sigterm = g_unix_signal_add(SIGTERM, on_signal, nullptr);
    g_signal_add_emission_hook(g_signal_lookup("element-added", GST_TYPE_BIN), 0, on_element_added,
                               nullptr, nullptr);

    Bench bench;
    bench.opt = opt;
    bench.ctx = g_main_context_default();
    ServerProcess server_proc;
    int status = 0;
    if (opt.janus()) {
        bench.url = opt.janus_url;
        bench.server_pid = opt.server_pid;
        // Room ids of this run: unlikely to meet another run's on the same Janus.
        bench.janus_room_base = uint64_t(g_random_int_range(1, 1 << 30)) * 1000;
    } else if (opt.http()) {
        bench.url = opt.whep_url;
        bench.server_pid = opt.server_pid;
    } else if (opt.server_url.empty()) {
        std::string e;
        if (!server_proc.start(opt.server_bin, &e)) {
            g_printerr("zumzi-bench: cannot start %s: %s\n", opt.server_bin.c_str(), e.c_str());
            server_proc.stop();
            return 1;
        }
        bench.url = server_proc.url;
        bench.server_pid = server_proc.pid;
    } else {
        bench.url = opt.server_url;
        bench.server_pid = opt.server_pid;
    }
    bench.token = opt.token;
    if (bench.token.empty() && !opt.http() && !opt.janus()) {
        std::string e;
        bench.token = login_demo(bench.url, "bench@example.com", "Bench", &e);
        if (bench.token.empty()) {
            g_printerr("zumzi-bench: login: %s\n", e.c_str());
            server_proc.stop();
            return 1;
        }
    }

    const std::string model = machine_model();
    const long cores = sysconf(_SC_NPROCESSORS_ONLN);
    g_autofree gchar* gst_version = gst_version_string();
    printf("zumzi-bench: %s (server pid %d), %ld cores (%s), %s, %s\n", bench.url.c_str(),
           bench.server_pid, cores, model.c_str(), gst_version, os_name().c_str());
    printf("bots: %dx%d@%d VP8 %d kbit/s + Opus, %s, jitterbuffer %u ms, window %.0f s, "
           "joins %.2f s apart\n",
           opt.width, opt.height, opt.fps, opt.kbps, opt.decode ? "subscribers decode" : "no decoding",
           opt.latency_ms, opt.seconds, opt.stagger);
    printf("NOTE: all bots run in this process on the same %ld cores as the server; their CPU "
           "(bench%%) competes with it.\n",
           cores);
    fflush(stdout);

    // Warm-up: the server loads its GStreamer plugins on its first room;
    // keep that out of the first step's memory figures.
    {
        Bench warm = bench;
        warm.opt.seconds = 1;
        warm.opt.settle = 0;
        printf("warm-up room (not reported)...\n");
        fflush(stdout);
        warm.run_step("A", 1);
        bench.room_counter = warm.room_counter;
    }

    std::vector<StepResult> steps;
    auto marginal = [&](StepResult& r) {
        for (auto it = steps.rbegin() + 1; it != steps.rend(); ++it)
            if (it->scenario == r.scenario && it->have_server && r.have_server &&
                r.streams > it->streams) {
                double now = r.server_cpu_ms / r.window_s, before = it->server_cpu_ms / it->window_s;
                r.marginal_ms_per_stream_s = (now - before) / double(r.streams - it->streams);
                r.have_marginal = true;
                break;
            }
    };
    auto report = [&](StepResult& r) {
        marginal(r);
        printf("  %s N=%-3d streams=%-4d server %s ms/stream-s, CPU %s%%, bench CPU %.0f%%, "
               "others %.0f%%, min received %.1f%%, first frame median %.0f ms p95 %.0f ms%s\n",
               r.scenario.c_str(), r.n, r.streams,
               r.have_server ? fmt("%.2f", r.ms_per_stream_s).c_str() : "n/a",
               r.have_server ? fmt("%.0f", r.server_cpu_pct).c_str() : "n/a", r.bench_cpu_pct,
               r.other_cpu_pct,
               100 * r.min_ratio, r.ftf_median, r.ftf_p95, r.ok ? "" : "  << under 95%");
        if (r.scenario == "A")
            printf("      join to (medians): subscribe SDP %.0f ms, connected %.0f ms, first video "
                   "packet out of the jitterbuffer %.0f ms, first frame %.0f ms\n",
                   r.sdp_median, r.connected_median, r.first_packet_median, r.ftf_median);
        if (r.have_server)
            printf("      after leave: server %d threads (idle before: %d), RSS %.1f MB (before: %.1f MB); "
                   "bench %d threads%s%s\n",
                   r.threads_after, r.threads_base, r.rss_after_kb / 1024.0, r.rss_base_kb / 1024.0,
                   r.bench_threads_after, r.leftover_threads.empty() ? "" : "; server threads left: ",
                   r.leftover_threads.c_str());
        fflush(stdout);
    };
    if (opt.scenario != "b") {
        printf("Scenario A: 1 publisher -> N subscribers\n");
        std::vector<int> ns = {1, 2, 4, 8, 12, 16};
        for (int n = 20; n <= opt.max_n; n += 4)
            ns.push_back(n);
        for (int n : ns) {
            if (n > opt.max_n || g_interrupted)
                break;
            if (n < opt.min_n)
                continue;
            steps.push_back(bench.run_step("A", n));
            report(steps.back());
            if (!steps.back().ok && !opt.keep_going)
                break;
        }
    }
    if (opt.scenario != "a") {
        printf("Scenario B: N-party, everyone publishes and subscribes\n");
        for (int n = std::max(2, opt.min_party); n <= opt.max_party && !g_interrupted; n++) {
            steps.push_back(bench.run_step("B", n));
            report(steps.back());
            if (!steps.back().ok && !opt.keep_going)
                break;
        }
    }

    print_table(steps);
    printf("\nms/st-s: server CPU ms per forwarded stream-second (video and audio streams "
           "counted separately);\nmarg: extra server CPU ms per extra stream-second since the previous step (the fixed cost of\nreceiving the publishers taken out);\nsrvCPU%%/bench%%: CPU of the server / of this process (all "
           "bots) / of everything else on the machine, in %% of one core;\nminRx%%/avgRx%%: frames (video) and buffers (audio) "
           "decoded by a subscriber over those its publisher encoded, worst / mean pair;\n"
           "ftf50/ftf95: first decoded video frame, ms after join (A) or after the track was "
           "announced (B);\nMB/N, thr/N: server RSS and threads over the idle server, per "
           "subscriber (A) or party (B).\n");
    const StepResult* best_a = largest_ok(steps, "A");
    const StepResult* best_b = largest_ok(steps, "B");
    if (opt.scenario != "b")
        printf("Largest N with >= 95%% delivered: A %s", best_a ? fmt("%d", best_a->n).c_str() : "none");
    if (opt.scenario != "a")
        printf("%sB %s", opt.scenario != "b" ? ", " : "Largest N with >= 95% delivered: ",
               best_b ? fmt("%d", best_b->n).c_str() : "none");
    printf("\n");
    for (const auto* r : {best_a, best_b})
        if (r)
            print_groups(*r);
    fflush(stdout);

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
        json_builder_set_member_name(b, "os");
        json_builder_add_string_value(b, os_name().c_str());
        json_builder_end_object(b);
        json_builder_set_member_name(b, "settings");
        json_builder_begin_object(b);
        json_builder_set_member_name(b, "server");
        json_builder_add_string_value(b, opt.janus()               ? opt.janus_url.c_str()
                                         : opt.http()             ? opt.whep_url.c_str()
                                         : opt.server_url.empty() ? opt.server_bin.c_str()
                                                                  : opt.server_url.c_str());
        json_builder_set_member_name(b, "protocol");
        json_builder_add_string_value(b, opt.janus() ? "janus videoroom (http)"
                                         : opt.http() ? "whip/whep"
                                                      : "zumzi websocket");
        json_builder_set_member_name(b, "video");
        json_builder_add_string_value(
            b, fmt("%dx%d@%d VP8 %d kbit/s", opt.width, opt.height, opt.fps, opt.kbps).c_str());
        json_builder_set_member_name(b, "window_s");
        json_builder_add_double_value(b, opt.seconds);
        json_builder_set_member_name(b, "stagger_s");
        json_builder_add_double_value(b, opt.stagger);
        json_builder_set_member_name(b, "decode");
        json_builder_add_boolean_value(b, opt.decode);
        json_builder_set_member_name(b, "bots_in_bench_process");
        json_builder_add_boolean_value(b, TRUE);
        json_builder_end_object(b);
        json_builder_set_member_name(b, "largest_ok_n");
        json_builder_begin_object(b);
        json_builder_set_member_name(b, "A");
        if (best_a)
            json_builder_add_int_value(b, best_a->n);
        else
            json_builder_add_null_value(b);
        json_builder_set_member_name(b, "B");
        if (best_b)
            json_builder_add_int_value(b, best_b->n);
        else
            json_builder_add_null_value(b);
        json_builder_end_object(b);
        json_builder_set_member_name(b, "steps");
        json_builder_begin_array(b);
        for (const auto& r : steps)
            json_step(b, r);
        json_builder_end_array(b);
        json_builder_end_object(b);
        g_autoptr(JsonGenerator) gen = json_generator_new();
        g_autoptr(JsonNode) root = json_builder_get_root(b);
        json_generator_set_root(gen, root);
        json_generator_set_pretty(gen, TRUE);
        GError* werr = nullptr;
        if (!json_generator_to_file(gen, opt.json_path.c_str(), &werr)) {
            g_printerr("zumzi-bench: %s: %s\n", opt.json_path.c_str(), werr->message);
            g_error_free(werr);
            status = 1;
        }
    }

    server_proc.stop();
    g_source_remove(sigint);
    g_source_remove(sigterm);
    if (g_interrupted)
        return 130;
    return status;
}
