// The room's composite and its live outputs: bots publish VP8 and H.264
// into a room, the composite goes to HLS, a recording and RTMP; what the
// outputs write is read back with ffprobe.
#include <arpa/inet.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <set>
#include <string>
#include <vector>

#include "media_bot.h"
#include "room_registry.h"

// Last: CppUTest redefines `new` for its leak checker.
#include <CppUTest/TestHarness.h>

using namespace zumzi::media;
using namespace zumzi::media::test;

namespace {

struct Probe {
    bool ok = false;
    struct Stream {
        std::string type;
        int width = 0;
        int height = 0;
    };
    std::vector<Stream> streams;
    double duration = 0;  // s, from the container (0 if it has none)
    const Stream* find(const std::string& type) const
    {
        for (const auto& s : streams)
            if (s.type == type)
                return &s;
        return nullptr;
    }
};

Probe ffprobe(const std::string& path)
{
    Probe probe;
    gchar* out = nullptr;
    gchar* err = nullptr;
    gint status = 0;
    const gchar* argv[] = {"ffprobe", "-v", "error", "-show_entries",
                           "stream=codec_type,width,height:format=duration", "-of", "json",
                           path.c_str(), nullptr};
    if (!g_spawn_sync(nullptr, const_cast<gchar**>(argv), nullptr, G_SPAWN_SEARCH_PATH, nullptr,
                      nullptr, &out, &err, &status, nullptr)) {
        return probe;
    }
    if (g_spawn_check_wait_status(status, nullptr)) {
        JsonParser* parser = json_parser_new();
        if (json_parser_load_from_data(parser, out, -1, nullptr)) {
            JsonObject* root = json_node_get_object(json_parser_get_root(parser));
            probe.ok = true;
            if (json_object_has_member(root, "streams")) {
                JsonArray* streams = json_object_get_array_member(root, "streams");
                for (guint i = 0; i < json_array_get_length(streams); i++) {
                    JsonObject* s = json_array_get_object_element(streams, i);
                    Probe::Stream stream;
                    stream.type = json_object_get_string_member_with_default(s, "codec_type", "");
                    stream.width = static_cast<int>(json_object_get_int_member_with_default(s, "width", 0));
                    stream.height =
                        static_cast<int>(json_object_get_int_member_with_default(s, "height", 0));
                    probe.streams.push_back(stream);
                }
            }
            if (json_object_has_member(root, "format")) {
                JsonObject* format = json_object_get_object_member(root, "format");
                const gchar* d = json_object_get_string_member_with_default(format, "duration", "0");
                probe.duration = g_ascii_strtod(d, nullptr);
            }
        }
        g_object_unref(parser);
    } else {
        g_printerr("ffprobe %s: %s\n", path.c_str(), err ? err : "");
    }
    g_free(out);
    g_free(err);
    return probe;
}

std::string read_file(const std::string& path)
{
    gchar* text = nullptr;
    if (!g_file_get_contents(path.c_str(), &text, nullptr, nullptr))
        return "";
    std::string s = text;
    g_free(text);
    return s;
}

// Segment file names listed in an HLS playlist, in order.
std::vector<std::string> playlist_segments(const std::string& playlist)
{
    std::vector<std::string> names;
    gchar** lines = g_strsplit(read_file(playlist).c_str(), "\n", -1);
    for (gchar** l = lines; *l; l++)
        if (**l && **l != '#')
            names.push_back(g_strstrip(*l));
    g_strfreev(lines);
    return names;
}

// A TCP port on 127.0.0.1 that nothing listens on.
int closed_port()
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof(addr);
    bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    close(fd);
    return ntohs(addr.sin_port);
}

std::set<std::string> child_names(GstPipeline* pipeline)
{
    std::set<std::string> names;
    GstIterator* it = gst_bin_iterate_elements(GST_BIN(pipeline));
    GValue item = G_VALUE_INIT;
    while (gst_iterator_next(it, &item) == GST_ITERATOR_OK) {
        names.insert(GST_OBJECT_NAME(g_value_get_object(&item)));
        g_value_reset(&item);
    }
    g_value_unset(&item);
    gst_iterator_free(it);
    return names;
}

GstElement* composite_mixer(const Room& room)
{
    for (GstElement* e : room.composite().elements()) {
        GstElementFactory* f = gst_element_get_factory(e);
        if (f && g_str_equal(GST_OBJECT_NAME(f), "zumzimixer"))
            return e;
    }
    return nullptr;
}

// Mixer video pad labels, by pad name.
std::map<std::string, std::string> video_labels(GstElement* mixer)
{
    std::map<std::string, std::string> labels;
    GstIterator* it = gst_element_iterate_sink_pads(mixer);
    GValue item = G_VALUE_INIT;
    while (gst_iterator_next(it, &item) == GST_ITERATOR_OK) {
        GstPad* pad = GST_PAD(g_value_get_object(&item));
        if (g_str_has_prefix(GST_PAD_NAME(pad), "video_")) {
            gchar* label = nullptr;
            g_object_get(pad, "label", &label, nullptr);
            labels[GST_PAD_NAME(pad)] = label ? label : "";
            g_free(label);
        }
        g_value_reset(&item);
    }
    g_value_unset(&item);
    gst_iterator_free(it);
    return labels;
}

void remove_tree(const std::string& path)
{
    gchar* cmd = g_strdup_printf("rm -rf '%s'", path.c_str());
    if (system(cmd) != 0)
        g_printerr("could not remove %s\n", path.c_str());
    g_free(cmd);
}

}  // namespace

TEST_GROUP(MediaComposite)
{
    std::unique_ptr<RoomRegistry> registry;
    std::vector<OutputEvent> events;
    std::vector<std::string> errors;
    std::string dir;

    void setup() override
    {
        RegistryCallbacks callbacks;
        callbacks.on_output = [this](const std::string&, const OutputEvent& e) {
            g_printerr("[output] %s %s %s %s\n", to_string(e.kind), to_string(e.state),
                       e.location.c_str(), e.error.c_str());
            events.push_back(e);
        };
        callbacks.on_error = [this](const std::string&, const std::string& m) {
            errors.push_back(m);
        };
        registry = std::make_unique<RoomRegistry>(loopback_config(), callbacks);
        gchar* tmp = g_dir_make_tmp("zumzi-composite-XXXXXX", nullptr);
        dir = tmp;
        g_free(tmp);
    }
    void teardown() override
    {
        wait_until([this]() { return registry->size() == 0; }, 5000);
        spin(200);
        registry.reset();
        remove_tree(dir);
    }
    const OutputEvent* find(OutputKind kind, OutputState state) const
    {
        for (const auto& e : events)
            if (e.kind == kind && e.state == state)
                return &e;
        return nullptr;
    }
    bool has(OutputKind kind, OutputState state) const { return find(kind, state) != nullptr; }
};

TEST(MediaComposite, HlsRecordingRtmpWhileTheRoomChanges)
{
    auto alice = Bot::create(*registry, "live", "alice");
    auto bob = Bot::create(*registry, "live", "bob");
    alice->publish();
    bob->publish_h264();
    CHECK_TRUE(wait_until([&]() {
        return alice->video_frames_from("bob") >= 5 && bob->video_frames_from("alice") >= 5;
    }));
    auto room = registry->find("live");
    CHECK_TRUE(room->set_composite_preset("qvga"));
    room->set_display_name("alice", "Alice A.");
    const std::set<std::string> baseline = child_names(room->pipeline());

    // HLS: Live, a playlist, segments of the preset's size with audio.
    OutputOptions hls;
    hls.location = dir + "/hls";
    hls.segment_seconds = 1;
    hls.playlist_length = 3;
    CHECK_TRUE(room->start_output(OutputKind::Hls, hls));
    CHECK_TRUE(room->output_running(OutputKind::Hls));
    CHECK_FALSE(room->start_output(OutputKind::Hls, hls));  // runs already
    CHECK_TRUE(wait_until([&]() { return has(OutputKind::Hls, OutputState::Live); }));
    STRCMP_EQUAL(hls.location.c_str(), find(OutputKind::Hls, OutputState::Live)->location.c_str());
    const std::string playlist = hls.location + "/index.m3u8";
    CHECK_TRUE(wait_until([&]() { return playlist_segments(playlist).size() >= 2; }));
    Probe segment = ffprobe(hls.location + "/" + playlist_segments(playlist).front());
    CHECK_TRUE(segment.ok);
    CHECK_TRUE(segment.find("video") != nullptr);
    CHECK_TRUE(segment.find("audio") != nullptr);
    CHECK_EQUAL(320, segment.find("video")->width);
    CHECK_EQUAL(240, segment.find("video")->height);

    // Both cameras are tiles with their names (an id until one is set).
    GstElement* mixer = composite_mixer(*room);
    CHECK_TRUE(mixer != nullptr);
    auto labels = video_labels(mixer);
    CHECK_EQUAL(2u, labels.size());
    std::set<std::string> names;
    for (const auto& l : labels)
        names.insert(l.second);
    CHECK_TRUE(names.count("Alice A.") && names.count("bob"));
    room->set_display_name("bob", "Bob B.");
    names.clear();
    for (const auto& l : video_labels(mixer))
        names.insert(l.second);
    CHECK_TRUE(names.count("Bob B."));

    // Speaker layout: the bot that talks is the mixer's speaker.
    room->set_layout(Layout::Speaker);
    CHECK_TRUE(room->layout() == Layout::Speaker);
    // Both talked from the start: quiet first, then Alice starts.
    bob->set_talking(false);
    alice->set_talking(false);
    CHECK_TRUE(wait_until([&]() { return !room->speaking("alice") && !room->speaking("bob"); }));
    alice->set_talking(true);
    CHECK_TRUE(wait_until([&]() {
        gchar* speaker = nullptr;
        g_object_get(mixer, "speaker", &speaker, nullptr);
        std::string s = speaker ? speaker : "";
        g_free(speaker);
        auto l = video_labels(mixer);
        return l.count(s) && l[s] == "Alice A.";
    }));

    // A recording at the same time, stopped after about 4 s.
    OutputOptions rec;
    rec.location = dir + "/room.mp4";
    CHECK_TRUE(room->start_output(OutputKind::Record, rec));
    CHECK_TRUE(wait_until([&]() { return has(OutputKind::Record, OutputState::Live); }));
    const gint64 rec_live = g_get_monotonic_time();
    spin(4000);
    bool rec_done = false;
    const double ran = (g_get_monotonic_time() - rec_live) / 1e6;
    CHECK_TRUE(room->stop_output(OutputKind::Record, [&]() { rec_done = true; }));
    CHECK_TRUE(wait_until([&]() { return rec_done; }));
    CHECK_TRUE(has(OutputKind::Record, OutputState::Stopped));
    CHECK_FALSE(room->output_running(OutputKind::Record));
    CHECK_FALSE(room->stop_output(OutputKind::Record));
    Probe recording = ffprobe(rec.location);
    CHECK_TRUE(recording.ok);
    CHECK_TRUE(recording.find("video") != nullptr);
    CHECK_TRUE(recording.find("audio") != nullptr);
    g_printerr("[record] ran %.2f s, file %.2f s\n", ran, recording.duration);
    CHECK_TRUE(recording.duration > ran - 1.0 && recording.duration < ran + 1.0);

    // A third participant joins and leaves; HLS goes on.
    const size_t two = room->composite().elements().size();
    auto carol = Bot::create(*registry, "live", "carol");
    carol->publish();
    CHECK_TRUE(wait_until([&]() { return video_labels(mixer).size() == 3; }));
    CHECK_TRUE(room->composite().elements().size() > two);
    CHECK_TRUE(wait_until([&]() { return alice->video_frames_from("carol") >= 5; }));
    carol->leave();
    CHECK_TRUE(wait_until([&]() { return video_labels(mixer).size() == 2; }));
    CHECK_EQUAL(two, room->composite().elements().size());
    std::set<std::string> seen;
    for (const auto& s : playlist_segments(playlist))
        seen.insert(s);
    CHECK_TRUE(wait_until([&]() {
        for (const auto& s : playlist_segments(playlist))
            if (!seen.count(s))
                return true;
        return false;
    }));

    // RTMP to a port nobody listens on: Failed, and HLS goes on.
    OutputOptions rtmp;
    rtmp.location = "rtmp://127.0.0.1:" + std::to_string(closed_port()) + "/live/room";
    CHECK_TRUE(room->start_output(OutputKind::Rtmp, rtmp));
    CHECK_TRUE(wait_until([&]() { return has(OutputKind::Rtmp, OutputState::Failed); }));
    CHECK_FALSE(find(OutputKind::Rtmp, OutputState::Failed)->error.empty());
    CHECK_FALSE(room->output_running(OutputKind::Rtmp));
    CHECK_TRUE(room->output_running(OutputKind::Hls));
    seen.clear();
    for (const auto& s : playlist_segments(playlist))
        seen.insert(s);
    CHECK_TRUE(wait_until([&]() {
        for (const auto& s : playlist_segments(playlist))
            if (!seen.count(s))
                return true;
        return false;
    }));
    // The call itself never noticed.
    const int frames = alice->video_frames_from("bob");
    CHECK_TRUE(wait_until([&]() { return alice->video_frames_from("bob") >= frames + 10; }));

    // Stopping the last output removes every element of the composite.
    std::set<std::string> composite_names;
    for (GstElement* e : room->composite().elements())
        composite_names.insert(GST_OBJECT_NAME(e));
    CHECK_TRUE(room->stop_output(OutputKind::Hls));
    CHECK_TRUE(wait_until([&]() { return has(OutputKind::Hls, OutputState::Stopped); }));
    CHECK_TRUE(room->composite().elements().empty());
    CHECK_TRUE(wait_until([&]() { return child_names(room->pipeline()) == baseline; }));
    for (const auto& name : child_names(room->pipeline()))
        CHECK_FALSE(composite_names.count(name));
    CHECK_TRUE(read_file(playlist).find("#EXT-X-ENDLIST") != std::string::npos);
    CHECK_EQUAL(0u, errors.size());
    CHECK_EQUAL(0, alice->errors() + bob->errors() + carol->errors());
    alice->leave();
    bob->leave();
}

TEST(MediaComposite, ClosingTheRoomFinalisesTheRecording)
{
    auto alice = Bot::create(*registry, "rec", "alice");
    auto bob = Bot::create(*registry, "rec", "bob");
    alice->publish();
    bob->publish();
    CHECK_TRUE(wait_until([&]() { return alice->video_frames_from("bob") >= 5; }));
    auto room = registry->find("rec");
    CHECK_TRUE(room->set_composite_preset("qvga"));
    std::weak_ptr<Room> weak = room;
    OutputOptions rec;
    rec.location = dir + "/closing.mkv";
    CHECK_TRUE(room->start_output(OutputKind::Record, rec));
    CHECK_TRUE(wait_until([&]() { return has(OutputKind::Record, OutputState::Live); }));
    spin(2000);
    room.reset();
    alice->leave();
    bob->leave();
    CHECK_EQUAL(0u, registry->size());
    CHECK_TRUE(wait_until([&]() { return has(OutputKind::Record, OutputState::Stopped); }));
    CHECK_TRUE(find(OutputKind::Record, OutputState::Stopped)->error.empty());
    // The room (and its pipeline) goes once the recording is finalised.
    CHECK_TRUE(wait_until([&]() { return weak.expired(); }));
    Probe recording = ffprobe(rec.location);
    CHECK_TRUE(recording.ok);
    CHECK_TRUE(recording.find("video") != nullptr);
    CHECK_TRUE(recording.find("audio") != nullptr);
    CHECK_EQUAL(320, recording.find("video")->width);
    CHECK_TRUE(recording.duration >= 1.0);
}

TEST(MediaComposite, BadOptionsChangeNothing)
{
    auto alice = Bot::create(*registry, "bad", "alice");
    alice->publish();
    CHECK_TRUE(wait_until([&]() { return registry->find("bad")->tracks().size() == 2; }));
    auto room = registry->find("bad");
    const std::set<std::string> baseline = child_names(room->pipeline());
    CHECK_FALSE(room->set_composite_preset("8k"));
    OutputOptions o;
    o.location = "http://127.0.0.1/live";
    CHECK_FALSE(room->start_output(OutputKind::Rtmp, o));
    o.location = "rtmp://";
    CHECK_FALSE(room->start_output(OutputKind::Rtmp, o));
    o.location = dir + "/room.avi";
    CHECK_FALSE(room->start_output(OutputKind::Record, o));
    o.location = dir + "/no/such/dir/room.mp4";
    CHECK_FALSE(room->start_output(OutputKind::Record, o));
    o.location = "";
    CHECK_FALSE(room->start_output(OutputKind::Hls, o));
    o.location = dir + "/hls";
    o.segment_seconds = 0;
    CHECK_FALSE(room->start_output(OutputKind::Hls, o));
    CHECK_FALSE(room->stop_output(OutputKind::Hls));
    for (OutputKind k : {OutputKind::Hls, OutputKind::Rtmp, OutputKind::Record})
        CHECK_FALSE(room->output_running(k));
    CHECK_TRUE(room->composite().elements().empty());
    CHECK_TRUE(child_names(room->pipeline()) == baseline);
    CHECK_EQUAL(0u, events.size());

    CHECK_TRUE(output_kind_from_string("record") == OutputKind::Record);
    CHECK_FALSE(output_kind_from_string("ftp").has_value());
    CHECK_TRUE(layout_from_string("pip") == Layout::Pip);
    CHECK_FALSE(layout_from_string("mosaic").has_value());
    STRCMP_EQUAL("live", to_string(OutputState::Live));
    alice->leave();
}
