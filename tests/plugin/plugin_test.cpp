#include "plugin_test.h"

#include <gio/gio.h>
#include <glib/gstdio.h>

#include <algorithm>
#include <cstdlib>

// Last: CppUTest redefines `new` for its leak checker.
#include <CppUTest/TestHarness.h>

namespace zumzi::plugin_test {

void init_gstreamer()
{
    static bool done = false;
    if (!done) {
        gst_init(nullptr, nullptr);
        done = true;
    }
    for (const char* name : {"zumzimixer", "zumzispeaker", "zumzilivesink"}) {
        GstElementFactory* f = gst_element_factory_find(name);
        if (!f)
            FAIL(
                g_strdup_printf("element %s not found: is GST_PLUGIN_PATH (%s) the build's "
                                "plugins/?",
                                name, g_getenv("GST_PLUGIN_PATH")));
        gst_object_unref(f);
    }
}

ElementPtr parse(const std::string& description)
{
    GError* error = nullptr;
    GstElement* e = gst_parse_launch(description.c_str(), &error);
    if (error) {
        std::string message = error->message;
        g_error_free(error);
        if (e)
            gst_object_unref(e);
        FAIL(("parse error: " + message + " in: " + description).c_str());
    }
    return ElementPtr(e);
}

ElementPtr child(GstElement* bin, const char* name)
{
    GstElement* e = gst_bin_get_by_name(GST_BIN(bin), name);
    if (!e)
        FAIL((std::string("no element ") + name).c_str());
    return ElementPtr(e);
}

bool set_state(GstElement* element, GstState state)
{
    GstStateChangeReturn ret = gst_element_set_state(element, state);
    if (ret == GST_STATE_CHANGE_FAILURE)
        return false;
    if (ret == GST_STATE_CHANGE_ASYNC)
        ret = gst_element_get_state(element, nullptr, nullptr, 30 * GST_SECOND);
    return ret != GST_STATE_CHANGE_FAILURE;
}

bool watch_bus(GstElement* pipeline, int timeout_ms,
               const std::function<bool(GstMessage*)>& on_message)
{
    GstBus* bus = gst_element_get_bus(pipeline);
    gint64 end = g_get_monotonic_time() + gint64(timeout_ms) * 1000;
    bool stopped = false;
    while (!stopped) {
        gint64 left = end - g_get_monotonic_time();
        if (left <= 0)
            break;
        GstMessage* m = gst_bus_timed_pop(bus, GstClockTime(left) * 1000);
        if (!m)
            break;
        stopped = on_message(m);
        gst_message_unref(m);
    }
    gst_object_unref(bus);
    return stopped;
}

RunResult::~RunResult()
{
    for (GstStructure* s : element_messages)
        gst_structure_free(s);
}

std::vector<const GstStructure*> RunResult::named(const char* name) const
{
    std::vector<const GstStructure*> out;
    for (const GstStructure* s : element_messages)
        if (gst_structure_has_name(s, name))
            out.push_back(s);
    return out;
}

static bool collect(GstMessage* m, RunResult& result)
{
    switch (GST_MESSAGE_TYPE(m)) {
        case GST_MESSAGE_EOS:
            result.eos = true;
            return true;
        case GST_MESSAGE_ERROR: {
            GError* error = nullptr;
            gchar* debug = nullptr;
            gst_message_parse_error(m, &error, &debug);
            if (result.error.empty())
                result.error = std::string(GST_OBJECT_NAME(GST_MESSAGE_SRC(m))) + ": " +
                               error->message + " (" + (debug ? debug : "") + ")";
            g_error_free(error);
            g_free(debug);
            return true;
        }
        case GST_MESSAGE_WARNING: {
            GError* error = nullptr;
            gst_message_parse_warning(m, &error, nullptr);
            result.warnings.push_back(error->message);
            g_error_free(error);
            return false;
        }
        case GST_MESSAGE_ELEMENT:
            if (gst_message_get_structure(m))
                result.element_messages.push_back(gst_structure_copy(gst_message_get_structure(m)));
            return false;
        default:
            return false;
    }
}

void run_to_eos(GstElement* pipeline, RunResult& result, int timeout_ms)
{
    if (!set_state(pipeline, GST_STATE_PLAYING)) {
        // the reason is on the bus
        watch_bus(pipeline, 1000, [&](GstMessage* m) { return collect(m, result); });
        if (result.error.empty())
            result.error = "state change to PLAYING failed";
        gst_element_set_state(pipeline, GST_STATE_NULL);
        return;
    }
    watch_bus(pipeline, timeout_ms, [&](GstMessage* m) { return collect(m, result); });
    gst_element_set_state(pipeline, GST_STATE_NULL);
}

void stop_with_eos(GstElement* pipeline, RunResult& result, int timeout_ms)
{
    gst_element_send_event(pipeline, gst_event_new_eos());
    watch_bus(pipeline, timeout_ms, [&](GstMessage* m) { return collect(m, result); });
    gst_element_set_state(pipeline, GST_STATE_NULL);
}

TempDir::TempDir()
{
    GError* error = nullptr;
    gchar* dir = g_dir_make_tmp("zumzi-plugin-XXXXXX", &error);
    if (!dir) {
        std::string message = error->message;
        g_error_free(error);
        FAIL(message.c_str());
    }
    path_ = dir;
    g_free(dir);
}

static void remove_tree(const std::string& path)
{
    GDir* dir = g_dir_open(path.c_str(), 0, nullptr);
    if (dir) {
        while (const gchar* name = g_dir_read_name(dir)) {
            std::string child = path + "/" + name;
            if (g_file_test(child.c_str(), G_FILE_TEST_IS_DIR))
                remove_tree(child);
            else
                g_unlink(child.c_str());
        }
        g_dir_close(dir);
    }
    g_rmdir(path.c_str());
}

TempDir::~TempDir()
{
    remove_tree(path_);
}

std::vector<std::string> TempDir::list() const
{
    std::vector<std::string> names;
    GDir* dir = g_dir_open(path_.c_str(), 0, nullptr);
    if (dir) {
        while (const gchar* name = g_dir_read_name(dir))
            names.push_back(name);
        g_dir_close(dir);
    }
    std::sort(names.begin(), names.end());
    return names;
}

std::string read_file(const std::string& path)
{
    gchar* contents = nullptr;
    gsize length = 0;
    if (!g_file_get_contents(path.c_str(), &contents, &length, nullptr))
        return "";
    std::string out(contents, length);
    g_free(contents);
    return out;
}

Command run_command(const std::vector<std::string>& argv, const std::string& cwd,
                    const std::vector<std::string>& env, int timeout_ms)
{
    Command result;
    GSubprocessLauncher* launcher = g_subprocess_launcher_new(
        GSubprocessFlags(G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE));
    if (!cwd.empty())
        g_subprocess_launcher_set_cwd(launcher, cwd.c_str());
    for (const std::string& kv : env) {
        size_t eq = kv.find('=');
        g_subprocess_launcher_setenv(launcher, kv.substr(0, eq).c_str(), kv.substr(eq + 1).c_str(),
                                     TRUE);
    }
    std::vector<const gchar*> args;
    for (const std::string& a : argv)
        args.push_back(a.c_str());
    args.push_back(nullptr);
    GError* error = nullptr;
    GSubprocess* process = g_subprocess_launcher_spawnv(launcher, args.data(), &error);
    g_object_unref(launcher);
    if (!process) {
        result.err = error->message;
        g_error_free(error);
        return result;
    }

    // communicate, bounded by the timeout (a hung command fails the test)
    GMainContext* context = g_main_context_new();
    g_main_context_push_thread_default(context);
    GCancellable* cancellable = g_cancellable_new();
    GSource* timer = g_timeout_source_new(timeout_ms);
    g_source_set_callback(
        timer,
        [](gpointer data) -> gboolean {
            g_subprocess_force_exit(G_SUBPROCESS(data));
            return G_SOURCE_REMOVE;
        },
        process, nullptr);
    g_source_attach(timer, context);
    gchar* out = nullptr;
    gchar* err = nullptr;
    g_subprocess_communicate_utf8(process, nullptr, cancellable, &out, &err, nullptr);
    g_source_destroy(timer);
    g_source_unref(timer);
    g_object_unref(cancellable);
    g_main_context_pop_thread_default(context);
    g_main_context_unref(context);

    result.out = out ? out : "";
    result.err = err ? err : "";
    g_free(out);
    g_free(err);
    if (g_subprocess_get_if_exited(process))
        result.status = g_subprocess_get_exit_status(process);
    g_object_unref(process);
    return result;
}

static std::string field(const std::string& text, const std::string& section,
                         const std::string& key)
{
    // ffprobe -of flat-ish "default" output: [STREAM]...key=value...[/STREAM]
    size_t start = text.find("[" + section + "]");
    while (start != std::string::npos) {
        size_t end = text.find("[/" + section + "]", start);
        std::string block = text.substr(start, end == std::string::npos ? end : end - start);
        size_t at = block.find("\n" + key + "=");
        if (at != std::string::npos) {
            at += key.size() + 2;
            return block.substr(at, block.find('\n', at) - at);
        }
        start = end == std::string::npos ? end : text.find("[" + section + "]", end);
    }
    return "";
}

Probe ffprobe(const std::string& path, bool count_frames)
{
    Probe probe;
    std::vector<std::string> argv = {"ffprobe", "-v", "error", "-show_format", "-show_streams"};
    if (count_frames) {
        argv.insert(argv.end(), {"-count_frames", "-select_streams", "v:0"});
    }
    argv.push_back(path);
    Command c = run_command(argv, "", {}, 60000);
    probe.ok = c.status == 0 && (!count_frames || c.err.empty());
    probe.error = c.err;
    // one block per stream; find the video and the audio one
    size_t pos = 0;
    while ((pos = c.out.find("[STREAM]", pos)) != std::string::npos) {
        size_t end = c.out.find("[/STREAM]", pos);
        std::string block = c.out.substr(pos, end - pos);
        std::string type = field(block, "STREAM", "codec_type");
        if (type == "video" && probe.video_codec.empty()) {
            probe.video_codec = field(block, "STREAM", "codec_name");
            probe.width = atoi(field(block, "STREAM", "width").c_str());
            probe.height = atoi(field(block, "STREAM", "height").c_str());
            std::string frames = field(block, "STREAM", "nb_read_frames");
            if (!frames.empty() && frames != "N/A")
                probe.video_frames = atoi(frames.c_str());
        } else if (type == "audio" && probe.audio_codec.empty()) {
            probe.audio_codec = field(block, "STREAM", "codec_name");
        }
        pos = end;
    }
    std::string duration = field(c.out, "FORMAT", "duration");
    if (!duration.empty() && duration != "N/A")
        probe.duration = g_ascii_strtod(duration.c_str(), nullptr);
    return probe;
}

}  // namespace zumzi::plugin_test
