// Shared helpers of the gstzumzi plugin suites: GStreamer set-up with the
// plugin from the build tree (GST_PLUGIN_PATH, set by meson), pipelines and
// their buses, temporary directories and ffprobe.
#pragma once

#include <gst/gst.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace zumzi::plugin_test {

// gst_init once; fails the test when the plugin's elements are missing.
void init_gstreamer();

struct ObjectUnref {
    void operator()(gpointer p) const
    {
        if (p)
            gst_object_unref(p);
    }
};
// Sets a top-level element (a pipeline) to NULL before dropping it: a test
// that fails while its pipeline plays leaves through here, and disposing of
// a PLAYING pipeline leaves its streaming threads running on freed objects
// (GStreamer-CRITICAL "Trying to dispose element ... in PLAYING", then a
// hang or a crash in whichever test runs next).
struct ElementUnref {
    void operator()(GstElement* e) const
    {
        if (!e)
            return;
        if (!GST_OBJECT_PARENT(e))
            gst_element_set_state(e, GST_STATE_NULL);
        gst_object_unref(e);
    }
};
using ElementPtr = std::unique_ptr<GstElement, ElementUnref>;
using PadPtr = std::unique_ptr<GstPad, ObjectUnref>;

// gst_parse_launch, or a test failure naming the parse error.
ElementPtr parse(const std::string& description);

// A named element of a bin (a ref), or a test failure.
ElementPtr child(GstElement* bin, const char* name);

// Sets the state and waits for it (live pipelines: no preroll); false on
// failure.
bool set_state(GstElement* element, GstState state);

// Pops bus messages for up to `timeout_ms`, calling `on_message` for each;
// stops early when it returns true. Returns whether it did.
bool watch_bus(GstElement* pipeline, int timeout_ms,
               const std::function<bool(GstMessage*)>& on_message);

struct RunResult {
    bool eos = false;
    std::string error;                            // the first ERROR message, if any
    std::vector<std::string> warnings;            // WARNING messages
    std::vector<GstStructure*> element_messages;  // copies; freed by ~RunResult
    ~RunResult();
    RunResult() = default;
    RunResult(const RunResult&) = delete;
    RunResult& operator=(const RunResult&) = delete;
    // The element messages called `name`.
    std::vector<const GstStructure*> named(const char* name) const;
};

// Plays `pipeline` until EOS, an error or `timeout_ms`; collects messages,
// then sets it to NULL.
void run_to_eos(GstElement* pipeline, RunResult& result, int timeout_ms = 60000);

// Sends EOS to the pipeline and waits for it on the bus, collecting.
void stop_with_eos(GstElement* pipeline, RunResult& result, int timeout_ms = 30000);

// A fresh directory under $TMPDIR, removed by ~TempDir.
class TempDir {
public:
    TempDir();
    ~TempDir();
    const std::string& path() const { return path_; }
    std::string file(const std::string& name) const { return path_ + "/" + name; }
    // The names of the files in it (not recursive), sorted.
    std::vector<std::string> list() const;

private:
    std::string path_;
};

// What ffprobe says about a media file.
struct Probe {
    bool ok = false;    // ffprobe ran and exited 0
    std::string error;  // its stderr when not
    int width = 0;      // first video stream
    int height = 0;
    std::string video_codec;
    std::string audio_codec;
    double duration = -1;   // container duration, seconds
    int video_frames = -1;  // decoded frames (when counted)
};

// Runs ffprobe on `path`; with `count_frames` it decodes the whole video
// stream (-count_frames) and errors in the stream make it fail.
Probe ffprobe(const std::string& path, bool count_frames = false);

// Reads a whole file ("" when missing).
std::string read_file(const std::string& path);

// The run of a command: exit status (-1: killed by the timeout), output.
struct Command {
    int status = -1;
    std::string out;
    std::string err;
};
Command run_command(const std::vector<std::string>& argv, const std::string& cwd,
                    const std::vector<std::string>& env, int timeout_ms);

}  // namespace zumzi::plugin_test
