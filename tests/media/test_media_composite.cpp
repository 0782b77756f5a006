// The room's composite and its live outputs: bots publish VP8 and H.264
// into a room, the composite goes to HLS, a recording and RTMP; what the
// outputs write is read back with ffprobe.
#include <arpa/inet.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <gst/sdp/sdp.h>
#include <gst/webrtc/webrtc.h>
#include <unistd.h>

#include <atomic>
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

    // A muted camera leaves the mix, and comes back unmuted.
    std::string bob_camera;
    for (const auto& t : room->tracks())
        if (t.participant_id == "bob" && t.kind == TrackKind::Video)
            bob_camera = t.id;
    CHECK_TRUE(room->set_track_muted(bob_camera, true));
    CHECK_TRUE(wait_until([&]() { return video_labels(mixer).size() == 1; }));
    CHECK_TRUE(room->set_track_muted(bob_camera, false));
    CHECK_TRUE(wait_until([&]() { return video_labels(mixer).size() == 2; }));

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

TEST(MediaComposite, RtmpAloneFailsAndTheCompositeGoes)
{
    auto alice = Bot::create(*registry, "rtmp", "alice");
    alice->publish();
    CHECK_TRUE(wait_until([&]() { return registry->find("rtmp")->tracks().size() == 2; }));
    auto room = registry->find("rtmp");
    CHECK_TRUE(room->set_composite_preset("qvga"));
    const std::set<std::string> baseline = child_names(room->pipeline());
    OutputOptions rtmp;
    rtmp.location = "rtmp://127.0.0.1:" + std::to_string(closed_port()) + "/live/room";
    CHECK_TRUE(room->start_output(OutputKind::Rtmp, rtmp));
    CHECK_TRUE(wait_until([&]() { return has(OutputKind::Rtmp, OutputState::Failed); }));
    CHECK_FALSE(room->output_running(OutputKind::Rtmp));
    // The only output: the composite goes with it.
    CHECK_TRUE(room->composite().elements().empty());
    CHECK_TRUE(wait_until([&]() { return child_names(room->pipeline()) == baseline; }));
    spin(300);
    // Reported as the output's failure, not as an error of the room.
    CHECK_EQUAL(0u, errors.size());
    // It may be started again (a retry), and fails again.
    events.clear();
    CHECK_TRUE(room->start_output(OutputKind::Rtmp, rtmp));
    CHECK_TRUE(wait_until([&]() { return has(OutputKind::Rtmp, OutputState::Failed); }));
    CHECK_TRUE(wait_until([&]() { return child_names(room->pipeline()) == baseline; }));
    spin(300);
    CHECK_EQUAL(0u, errors.size());
    alice->leave();
}

TEST(MediaComposite, RegistryDestroyedWhileLive)
{
    // Server shutdown with an output running: everything goes to NULL
    // without a deadlock (no finalising: see Room::finalise_outputs).
    auto alice = Bot::create(*registry, "down", "alice");
    auto bob = Bot::create(*registry, "down", "bob");
    alice->publish();
    bob->publish();
    CHECK_TRUE(wait_until([&]() { return bob->video_frames_from("alice") >= 5; }));
    auto room = registry->find("down");
    CHECK_TRUE(room->set_composite_preset("qvga"));
    OutputOptions hls;
    hls.location = dir + "/hls";
    CHECK_TRUE(room->start_output(OutputKind::Hls, hls));
    CHECK_TRUE(wait_until([&]() { return has(OutputKind::Hls, OutputState::Live); }));
    GstPipeline* pipeline = room->pipeline();
    g_object_add_weak_pointer(G_OBJECT(pipeline), reinterpret_cast<gpointer*>(&pipeline));
    room.reset();
    alice->forget_registry();
    bob->forget_registry();
    registry.reset();
    CHECK_TRUE(wait_until([&]() { return pipeline == nullptr; }, 5000));
    alice.reset();
    bob.reset();
    registry = std::make_unique<RoomRegistry>(loopback_config());
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

namespace {

// A WHEP player at the engine's API: recvonly VP8 + Opus offered to a
// participant's view_offer(), decoding what arrives.
class Player {
public:
    Player()
    {
        pipeline_ = gst_pipeline_new(nullptr);
        webrtc_ = gst_element_factory_make("webrtcbin", nullptr);
        g_object_set(webrtc_, "bundle-policy", GST_WEBRTC_BUNDLE_POLICY_MAX_BUNDLE, nullptr);
        gst_bin_add(GST_BIN(pipeline_), webrtc_);
        for (const char* text :
             {"application/x-rtp,media=video,encoding-name=VP8,payload=96,clock-rate=90000",
              "application/x-rtp,media=audio,encoding-name=OPUS,payload=111,clock-rate=48000,"
              "encoding-params=(string)2"}) {
            GstCaps* caps = gst_caps_from_string(text);
            GstWebRTCRTPTransceiver* t = nullptr;
            g_signal_emit_by_name(webrtc_, "add-transceiver",
                                  GST_WEBRTC_RTP_TRANSCEIVER_DIRECTION_RECVONLY, caps, &t);
            gst_caps_unref(caps);
            if (t)
                gst_object_unref(t);
        }
        g_signal_connect(webrtc_, "pad-added", G_CALLBACK(on_pad_added), this);
        configure_webrtcbin(webrtc_, loopback_config());
        gst_element_set_state(pipeline_, GST_STATE_PLAYING);
    }
    ~Player()
    {
        gst_element_set_state(pipeline_, GST_STATE_NULL);
        gst_object_unref(pipeline_);
    }

    // Offers to `viewer` (gathering complete first) and applies its answer.
    Participant::ViewOffer view(Participant& viewer, const std::string& from)
    {
        GstPromise* promise = gst_promise_new();
        g_signal_emit_by_name(webrtc_, "create-offer", nullptr, promise);
        gst_promise_wait(promise);
        GstWebRTCSessionDescription* offer = nullptr;
        gst_structure_get(gst_promise_get_reply(promise), "offer",
                          GST_TYPE_WEBRTC_SESSION_DESCRIPTION, &offer, nullptr);
        gst_promise_unref(promise);
        promise = gst_promise_new();
        g_signal_emit_by_name(webrtc_, "set-local-description", offer, promise);
        gst_promise_wait(promise);
        gst_promise_unref(promise);
        gst_webrtc_session_description_free(offer);
        wait_until([this]() {
            GstWebRTCICEGatheringState state;
            g_object_get(webrtc_, "ice-gathering-state", &state, nullptr);
            return state == GST_WEBRTC_ICE_GATHERING_STATE_COMPLETE;
        });
        GstWebRTCSessionDescription* local = nullptr;
        g_object_get(webrtc_, "local-description", &local, nullptr);
        gchar* text = gst_sdp_message_as_text(local->sdp);
        const std::string sdp = text;
        g_free(text);
        gst_webrtc_session_description_free(local);
        GstElement* webrtc = webrtc_;
        return viewer.view_offer(sdp, from, [webrtc](bool ok, const std::string& answer) {
            GstSDPMessage* msg = nullptr;
            if (!ok || gst_sdp_message_new_from_text(answer.c_str(), &msg) != GST_SDP_OK)
                return;
            GstWebRTCSessionDescription* desc =
                gst_webrtc_session_description_new(GST_WEBRTC_SDP_TYPE_ANSWER, msg);
            g_signal_emit_by_name(webrtc, "set-remote-description", desc, nullptr);
            gst_webrtc_session_description_free(desc);
        });
    }

    int video_frames() const { return video_frames_.load(); }
    int audio_buffers() const { return audio_buffers_.load(); }
    int width() const { return width_.load(); }
    int height() const { return height_.load(); }

private:
    static void on_video(GstElement*, GstBuffer*, GstPad* pad, gpointer data)
    {
        auto* self = static_cast<Player*>(data);
        if (GstCaps* caps = gst_pad_get_current_caps(pad)) {
            int w = 0, h = 0;
            const GstStructure* s = gst_caps_get_structure(caps, 0);
            if (gst_structure_get_int(s, "width", &w) && gst_structure_get_int(s, "height", &h)) {
                self->width_ = w;
                self->height_ = h;
            }
            gst_caps_unref(caps);
        }
        self->video_frames_++;
    }
    static void on_audio(GstElement*, GstBuffer*, GstPad*, gpointer data)
    {
        static_cast<Player*>(data)->audio_buffers_++;
    }
    static void on_decoded_pad(GstElement* decodebin, GstPad* pad, gpointer data)
    {
        GstCaps* caps = gst_pad_get_current_caps(pad);
        if (!caps)
            caps = gst_pad_query_caps(pad, nullptr);
        const bool video =
            g_str_has_prefix(gst_structure_get_name(gst_caps_get_structure(caps, 0)), "video/");
        gst_caps_unref(caps);
        GstElement* sink = gst_element_factory_make("fakesink", nullptr);
        g_object_set(sink, "signal-handoffs", TRUE, "sync", FALSE, "async", FALSE, nullptr);
        g_signal_connect(sink, "handoff", video ? G_CALLBACK(on_video) : G_CALLBACK(on_audio),
                         data);
        GstObject* bin = gst_element_get_parent(decodebin);
        gst_bin_add(GST_BIN(bin), sink);
        gst_object_unref(bin);
        gst_element_sync_state_with_parent(sink);
        GstPad* sinkpad = gst_element_get_static_pad(sink, "sink");
        gst_pad_link(pad, sinkpad);
        gst_object_unref(sinkpad);
    }
    static void on_pad_added(GstElement*, GstPad* pad, gpointer data)
    {
        if (GST_PAD_DIRECTION(pad) != GST_PAD_SRC)
            return;
        auto* self = static_cast<Player*>(data);
        GstElement* decodebin = gst_element_factory_make("decodebin", nullptr);
        g_signal_connect(decodebin, "pad-added", G_CALLBACK(on_decoded_pad), self);
        gst_bin_add(GST_BIN(self->pipeline_), decodebin);
        gst_element_sync_state_with_parent(decodebin);
        GstPad* sinkpad = gst_element_get_static_pad(decodebin, "sink");
        gst_pad_link(pad, sinkpad);
        gst_object_unref(sinkpad);
    }

    GstElement* pipeline_ = nullptr;
    GstElement* webrtc_ = nullptr;
    std::atomic<int> video_frames_{0};
    std::atomic<int> audio_buffers_{0};
    std::atomic<int> width_{0};
    std::atomic<int> height_{0};
};

}  // namespace

TEST(MediaComposite, AWhepPlayerOfTheCompositeKeepsItAndClosesTheRoomLast)
{
    auto alice = Bot::create(*registry, "watch", "alice");
    auto bob = Bot::create(*registry, "watch", "bob");
    alice->publish();
    bob->publish();
    auto room = registry->find("watch");
    CHECK_TRUE(wait_until([&]() { return room->tracks().size() == 4; }));
    const std::set<std::string> call_only = child_names(room->pipeline());
    CHECK_TRUE(room->set_composite_preset("qvga"));

    // A viewer that is no participant, or a published track's id: nothing.
    CHECK_FALSE(room->add_composite_viewer("nobody"));
    CHECK_TRUE(room->view_tracks(kCompositeParticipant).empty());
    auto viewer = room->join("viewer", {}, false);
    CHECK_TRUE(viewer != nullptr);
    CHECK_TRUE(room->add_composite_viewer("viewer"));
    CHECK_FALSE(room->add_composite_viewer("viewer"));
    CHECK_TRUE(room->composite().running());
    const auto tracks = room->view_tracks(kCompositeParticipant);
    CHECK_EQUAL(2u, tracks.size());
    STRCMP_EQUAL("composite-video", tracks[0].id.c_str());
    STRCMP_EQUAL("VP8", tracks[0].codec.c_str());
    STRCMP_EQUAL("composite-audio", tracks[1].id.c_str());
    STRCMP_EQUAL("OPUS", tracks[1].codec.c_str());
    // Never among the room's tracks, never mixed back in.
    CHECK_EQUAL(4u, room->tracks().size());

    Player player;
    CHECK_TRUE(player.view(*viewer, kCompositeParticipant) == Participant::ViewOffer::Accepted);
    CHECK_TRUE(wait_until(
        [&]() { return player.video_frames() >= 20 && player.audio_buffers() >= 20; }, 30000));
    CHECK_EQUAL(320, player.width());
    CHECK_EQUAL(240, player.height());
    std::vector<std::string> viewed = viewer->viewed_tracks();
    CHECK_EQUAL(2u, viewed.size());
    STRCMP_EQUAL("composite-video", viewed[0].c_str());
    STRCMP_EQUAL("composite-audio", viewed[1].c_str());
    // Bob keeps getting alice directly (forwarding is untouched).
    const int forwarded = bob->video_frames_from("alice");
    CHECK_TRUE(wait_until([&]() { return bob->video_frames_from("alice") >= forwarded + 10; }));

    // The only viewer leaves: the composite goes, the call is as before.
    viewer.reset();
    CHECK_TRUE(registry->leave("watch", "viewer"));
    CHECK_TRUE(wait_until([&]() { return child_names(room->pipeline()) == call_only; }));
    CHECK_FALSE(room->composite().running());
    CHECK_TRUE(room->view_tracks(kCompositeParticipant).empty());

    // Another viewer; the publishers leave: it still plays the (empty)
    // mix, and leaving last closes the room with nothing left behind.
    auto second = room->join("second", {}, false);
    CHECK_TRUE(room->add_composite_viewer("second"));
    Player player2;
    CHECK_TRUE(player2.view(*second, kCompositeParticipant) == Participant::ViewOffer::Accepted);
    CHECK_TRUE(wait_until([&]() { return player2.video_frames() >= 10; }, 30000));
    alice->leave();
    bob->leave();
    CHECK_TRUE(wait_until([&]() { return room->participant_count() == 1; }));
    const int frames = player2.video_frames();
    CHECK_TRUE(wait_until([&]() { return player2.video_frames() >= frames + 10; }, 30000));
    GstPipeline* pipeline = room->pipeline();
    g_object_add_weak_pointer(G_OBJECT(pipeline), reinterpret_cast<gpointer*>(&pipeline));
    room.reset();
    second.reset();
    CHECK_TRUE(registry->leave("watch", "second"));
    CHECK_TRUE(wait_until([&]() { return registry->size() == 0 && pipeline == nullptr; }, 10000));
    CHECK_TRUE(errors.empty());
}
