// docs/plugins.md stays true: every command of its `sh` blocks runs (exit
// status 0) and the files it writes are read back with ffprobe; every
// property and pad property of the elements is documented there.
#include <glib/gstdio.h>

#include <string>
#include <vector>

#include "plugin_test.h"

// Last: CppUTest redefines `new` for its leak checker.
#include <CppUTest/TestHarness.h>

using namespace zumzi::plugin_test;

namespace {

struct DocCommand {
    std::string text;
    int line = 0;
};

std::string doc_path()
{
    const char* root = g_getenv("ZUMZI_SOURCE_ROOT");
    if (!root)
        FAIL("ZUMZI_SOURCE_ROOT is not set (meson sets it)");
    return std::string(root) + "/docs/plugins.md";
}

// The commands of the ```sh blocks, continuation lines joined.
std::vector<DocCommand> doc_commands(const std::string& markdown)
{
    std::vector<DocCommand> out;
    gchar** lines = g_strsplit(markdown.c_str(), "\n", -1);
    bool in_sh = false;
    std::string pending;
    int pending_line = 0;
    for (int i = 0; lines[i]; i++) {
        std::string line = lines[i];
        if (line.rfind("```", 0) == 0) {
            in_sh = !in_sh && line == "```sh";
            continue;
        }
        if (!in_sh)
            continue;
        if (pending.empty())
            pending_line = i + 1;
        bool continued = !line.empty() && line.back() == '\\';
        if (continued)
            line.pop_back();
        pending += line + " ";
        if (!continued) {
            gchar* stripped = g_strstrip(g_strdup(pending.c_str()));
            if (*stripped)
                out.push_back({stripped, pending_line});
            g_free(stripped);
            pending.clear();
        }
    }
    g_strfreev(lines);
    return out;
}

std::vector<std::string> playlist_segments(const std::string& text)
{
    std::vector<std::string> out;
    gchar** lines = g_strsplit(text.c_str(), "\n", -1);
    for (gchar** l = lines; *l; l++) {
        g_strstrip(*l);
        if (**l && **l != '#')
            out.push_back(*l);
    }
    g_strfreev(lines);
    return out;
}

// Checks what a gst-launch line wrote into `dir`; returns "" or a problem.
std::string check_outputs(const std::vector<std::string>& argv, const std::string& dir,
                          const Command& run)
{
    for (const std::string& arg : argv) {
        size_t eq = arg.find('=');
        if (eq == std::string::npos)
            continue;
        std::string key = arg.substr(0, eq);
        std::string value = arg.substr(eq + 1);
        std::string path = g_path_is_absolute(value.c_str()) ? value : dir + "/" + value;
        if (key == "record-location") {
            Probe p = ffprobe(path, true);
            if (!p.ok || p.video_frames <= 0)
                return "recording " + value + " does not decode: " + p.error;
        } else if (key == "hls-playlist-location") {
            std::string text = read_file(path);
            if (text.find("#EXTM3U") != 0 || text.find("#EXT-X-ENDLIST") == std::string::npos)
                return "playlist " + value + " is not a finished HLS playlist";
            gchar* base = g_path_get_dirname(path.c_str());
            auto segments = playlist_segments(text);
            std::string problem = segments.empty() ? "playlist " + value + " is empty" : "";
            for (const std::string& s : segments)
                if (!ffprobe(std::string(base) + "/" + s, true).ok)
                    problem = "segment " + s + " does not decode";
            g_free(base);
            if (!problem.empty())
                return problem;
        } else if (key == "location" && value.find('%') != std::string::npos) {
            // a multifilesink pattern: some file of it exists
            std::string prefix = value.substr(0, value.find('%'));
            std::string suffix = value.substr(value.rfind('.'));
            bool found = false;
            GDir* d = g_dir_open(dir.c_str(), 0, nullptr);
            while (const gchar* name = d ? g_dir_read_name(d) : nullptr)
                if (g_str_has_prefix(name, prefix.c_str()) &&
                    g_str_has_suffix(name, suffix.c_str()))
                    found = true;
            if (d)
                g_dir_close(d);
            if (!found)
                return "no file of " + value;
        }
    }
    bool prints_messages = false;
    bool has_speaker = false;
    for (const std::string& arg : argv) {
        prints_messages |= arg == "-m";
        has_speaker |= arg == "zumzispeaker";
    }
    if (prints_messages && has_speaker && run.out.find("zumzi-speaker, pad=") == std::string::npos)
        return "no zumzi-speaker message printed";
    return "";
}

}  // namespace

TEST_GROUP(PluginDocs){void setup() override{init_gstreamer();
}
}
;

TEST(PluginDocs, EveryCommandOfTheDocRunsAndWritesWhatItSays)
{
    std::string markdown = read_file(doc_path());
    CHECK(!markdown.empty());
    auto commands = doc_commands(markdown);
    TempDir dir;
    int launched = 0, inspected = 0, skipped = 0;
    const std::string prefix = "GST_PLUGIN_PATH=build/plugins ";
    for (const DocCommand& c : commands) {
        std::string where = "docs/plugins.md:" + std::to_string(c.line) + ": ";
        if (c.text.rfind("mkdir -p ", 0) == 0) {
            std::string sub = c.text.substr(9);
            CHECK_EQUAL(0, g_mkdir_with_parents((dir.path() + "/" + sub).c_str(), 0755));
            continue;
        }
        if (c.text.rfind(prefix, 0) != 0)
            FAIL((where + "a command the test does not know: " + c.text).c_str());
        if (c.text.find("rtmp://") != std::string::npos) {
            // needs an RTMP server: the RTMP output is covered by test_livesink
            skipped++;
            continue;
        }
        gchar** argv = nullptr;
        GError* error = nullptr;
        if (!g_shell_parse_argv(c.text.substr(prefix.size()).c_str(), nullptr, &argv, &error))
            FAIL((where + error->message).c_str());
        std::vector<std::string> args;
        for (gchar** a = argv; *a; a++)
            args.push_back(*a);
        g_strfreev(argv);
        // GST_PLUGIN_PATH (build/plugins from the source root) is the
        // suite's own, inherited
        Command run = run_command(args, dir.path(), {}, 120000);
        if (run.status != 0)
            FAIL((where + "exit status " + std::to_string(run.status) + ": " + c.text + "\n" +
                  run.err + run.out.substr(run.out.size() > 2000 ? run.out.size() - 2000 : 0))
                     .c_str());
        if (args[0] == "gst-inspect-1.0") {
            CHECK(run.out.find("Details") != std::string::npos);
            inspected++;
        } else {
            STRCMP_EQUAL("gst-launch-1.0", args[0].c_str());
            std::string problem = check_outputs(args, dir.path(), run);
            if (!problem.empty())
                FAIL((where + problem + "\n" + run.err +
                      run.out.substr(run.out.size() > 2000 ? run.out.size() - 2000 : 0))
                         .c_str());
            launched++;
        }
    }
    CHECK_EQUAL(4, inspected);
    CHECK(launched >= 6);
    CHECK_EQUAL(1, skipped);
}

TEST(PluginDocs, EveryPropertyIsDocumented)
{
    std::string markdown = read_file(doc_path());
    for (const char* name : {"zumzimixer", "zumzispeaker", "zumzilivesink"}) {
        GstElement* e = gst_element_factory_make(name, nullptr);
        CHECK(e != nullptr);
        guint n = 0;
        GParamSpec** specs = g_object_class_list_properties(G_OBJECT_GET_CLASS(e), &n);
        for (guint i = 0; i < n; i++) {
            if (specs[i]->owner_type != G_OBJECT_TYPE(e))
                continue;  // GstObject's and GstBin's
            std::string quoted = std::string("`") + specs[i]->name + "`";
            if (markdown.find(quoted) == std::string::npos)
                FAIL((std::string(name) + "'s property " + specs[i]->name +
                      " is not in docs/plugins.md")
                         .c_str());
        }
        g_free(specs);
        // pad properties
        GList* templates = gst_element_class_get_pad_template_list(GST_ELEMENT_GET_CLASS(e));
        for (GList* l = templates; l; l = l->next) {
            GstPadTemplate* t = GST_PAD_TEMPLATE(l->data);
            std::string quoted = std::string("`") + GST_PAD_TEMPLATE_NAME_TEMPLATE(t) + "`";
            if (markdown.find(quoted) == std::string::npos)
                FAIL((std::string(name) + "'s pad " + GST_PAD_TEMPLATE_NAME_TEMPLATE(t) +
                      " is not in docs/plugins.md")
                         .c_str());
            GType pad_type = GST_PAD_TEMPLATE_GTYPE(t);
            if (pad_type == G_TYPE_NONE)
                continue;
            GObjectClass* klass = G_OBJECT_CLASS(g_type_class_ref(pad_type));
            GParamSpec** pspecs = g_object_class_list_properties(klass, &n);
            for (guint i = 0; i < n; i++) {
                if (g_type_is_a(GST_TYPE_GHOST_PAD, pspecs[i]->owner_type))
                    continue;  // GstPad's own
                std::string q = std::string("`") + pspecs[i]->name + "`";
                if (markdown.find(q) == std::string::npos)
                    FAIL((std::string(name) + "'s pad property " + pspecs[i]->name +
                          " is not in docs/plugins.md")
                             .c_str());
            }
            g_free(pspecs);
            g_type_class_unref(klass);
        }
        gst_object_unref(e);
    }
}
