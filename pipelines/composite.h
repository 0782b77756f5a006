// A room's composite: the live picture and sound of a room, encoded once to
// its outputs (HLS, RTMP, a recording) and once more for WebRTC players
// (WHEP). Built in the room's pipeline when the first output or viewer
// starts, removed when the last of them is gone:
//
//   track tee ! queue (leaky) ! depayloader ! decoder ! convert ! zumzimixer pad
//   zumzimixer video_src ! tee ─┬─ zumzilivesink.video   (while an output runs)
//   zumzimixer audio_src ! tee ─┼─ zumzilivesink.audio   (hls-playlist-location,
//                               │                         rtmp-location, record-location)
//                               ├─ queue ! vp8enc ! rtpvp8pay ! tee   (while a WHEP
//                               └─ queue ! audioconvert ! opusenc !    viewer plays)
//                                  rtpopuspay ! tee
//
// The two RTP tees at the end are Tracks (participant kCompositeParticipant):
// a viewer subscribes to them as to a published track, but they are never
// listed among the room's tracks nor mixed back into the composite. The
// livesink and the WebRTC encode branch each come and go on their own.
//
// Every published, unmuted track of the room has a decode branch from its
// Track's tee into a mixer pad (video: a tile labelled with the display
// name; audio: mixed). Branches come and go while the rest runs: a branch
// is unlinked from an IDLE probe on its tee pad (the publisher and other
// subscribers never wait), then set to NULL and removed, and its mixer pad
// released.
//
// The Room owns one Composite and forwards to it (Room::start_output, ...).
// All methods and callbacks run on the room's main context.
#pragma once

#include <gst/gst.h>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "gst_ref.h"
#include "main_context.h"
#include "track.h"

namespace zumzi::media {

// The participant id of the composite's own tracks (the mix encoded for
// WebRTC), never a real participant's. Their track ids are
// "composite-video" and "composite-audio".
extern const char* const kCompositeParticipant;
// What the composite's WebRTC tracks carry (encoding-names): a WHEP player
// must accept one of them.
extern const char* const kCompositeVideoCodec;  // "VP8"
extern const char* const kCompositeAudioCodec;  // "OPUS"

enum class OutputKind { Hls, Rtmp, Record };
const char* to_string(OutputKind kind);  // "hls", "rtmp", "record"
std::optional<OutputKind> output_kind_from_string(std::string_view name);

enum class OutputState { Starting, Live, Failed, Stopped };
const char* to_string(OutputState state);  // "starting", "live", "failed", "stopped"

enum class Layout { Grid, Speaker, Pip };
const char* to_string(Layout layout);  // "grid", "speaker", "pip"
std::optional<Layout> layout_from_string(std::string_view name);

struct OutputOptions {
    std::string location;  // HLS: directory (index.m3u8 + segments go there)
                           // RTMP: rtmp:// or rtmps:// URL; Record: file path
                           // (.mp4, .mkv, .ts or .flv)
    unsigned segment_seconds = 2;  // HLS
    unsigned playlist_length = 6;  // HLS (segments kept on disk: playlist_length + 2)
};

struct OutputEvent {
    OutputKind kind = OutputKind::Hls;
    // Live: the output got its first keyframe. Failed: `error` says why;
    // the output is already removed, the others go on. Stopped: finalised
    // (a recording has its index and plays to the end).
    OutputState state = OutputState::Starting;
    std::string location;
    std::string error;
};

// One input of the composite: a published, unmuted track and the name
// drawn on its tile.
struct CompositeInput {
    std::shared_ptr<Track> track;
    std::string label;
};

class Composite {
public:
    using OutputCallback = std::function<void(const OutputEvent&)>;

    // `bin` is the room's pipeline; nothing is added to it until an output
    // starts. `latency_ms` is the extra time the mixer waits for inputs.
    Composite(GMainContext* ctx, GstBin* bin, std::string room_id, unsigned latency_ms,
              OutputCallback on_output);
    // Removes whatever is left at once (outputs are not finalised: see
    // finalise()).
    ~Composite();
    Composite(const Composite&) = delete;
    Composite& operator=(const Composite&) = delete;

    // Settings, kept while nothing runs. The layout and labels apply live;
    // the preset ("default" = hd, "qvga", "vga", "hd", "fhd", "4k") sizes
    // the composite when it is built (running outputs keep their size: a
    // recording or stream cannot change resolution midway). False if the
    // preset is unknown.
    bool set_preset(const std::string& preset);
    const std::string& preset() const { return preset_; }
    void set_layout(Layout layout);
    Layout layout() const { return layout_; }
    // The participant whose video is shown large (speaker, pip layouts);
    // "" for the mixer's default (the first input).
    void set_speaker(const std::string& participant_id);

    // What the room wants mixed now: branches are added for new tracks,
    // released for tracks no longer listed, relabelled otherwise. Only
    // remembered while nothing runs. `removed` runs on the main context
    // once the branches this call removes are gone (their tee pads
    // released: the publisher's tee may go then).
    void set_inputs(std::vector<CompositeInput> inputs, std::function<void()> removed = nullptr);

    // See Room::start_output / stop_output / output_running.
    bool start_output(OutputKind kind, const OutputOptions& options);
    bool stop_output(OutputKind kind, std::function<void()> done = nullptr);
    bool output_running(OutputKind kind) const;
    bool running() const { return mixer_ != nullptr; }

    // WHEP viewers of the composite. add_viewer() builds the composite if
    // it is not running and the WebRTC encode branch if it has none: the
    // mix to VP8 (realtime, the preset's bitrate, a keyframe every 2 s and
    // whenever a viewer asks: its PLI/FIR reaches the encoder as an
    // upstream GstForceKeyUnit) and to Opus, each into the tee of a Track
    // (tracks()). False if already a viewer or the branch cannot be built
    // (nothing changes then).
    bool add_viewer(const std::string& viewer_id);
    // The viewer is gone; call it once its subscriptions to tracks() are
    // removed. The encode branch goes with the last viewer, the composite
    // with the last of outputs and viewers.
    void remove_viewer(const std::string& viewer_id);
    bool has_viewer(const std::string& viewer_id) const { return viewers_.count(viewer_id) != 0; }
    size_t viewer_count() const { return viewers_.size(); }
    // The encoded mix (video, then audio) while a viewer plays; empty
    // otherwise.
    const std::vector<std::shared_ptr<Track>>& tracks() const { return tracks_; }

    // Stops every output (Stopped events once finalised, or after
    // `timeout_ms` at the latest, then with an error) and removes the
    // composite (once no viewer is left either); `done` runs afterwards on
    // the main context.
    void finalise(unsigned timeout_ms, std::function<void()> done);

    // A message from the room's bus: true if it was the composite's (its
    // livesink's `zumzi-livesink` element messages, its warnings and
    // errors), which the room then does not handle further.
    bool handle_message(GstMessage* message);

    // The elements the composite has in the room's pipeline (tests).
    std::vector<GstElement*> elements() const;

private:
    struct Branch;
    // One consumer of the mix (the livesink, or the WebRTC encode branch):
    // a pad of each mix tee linked to it, and its elements.
    struct MixSink {
        std::vector<std::shared_ptr<GstElement>> tees;  // the mix tees, with...
        std::vector<std::shared_ptr<GstPad>> tee_pads;  // ...their pads linked to it
        std::vector<std::shared_ptr<GstElement>> elements;  // upstream first
    };
    struct Output {
        OutputOptions options;
        std::string location;  // the livesink's location property
        bool live = false;
        bool stopping = false;
        std::vector<std::function<void()>> done;
        std::unique_ptr<Timer> timeout;  // while stopping
    };

    bool build();
    // Takes the mixer, its tees, the livesink, the encode branch and the
    // decode branches out of the pipeline (the last output and viewer are
    // gone); completes on its own.
    void teardown();
    // Links a consumer whose elements are in the bin already: `video` and
    // `audio` are its sink pads (either may be null). False if not linked
    // (the caller removes it).
    bool attach(MixSink& sink, GstPad* video, GstPad* audio);
    // Unlinks a consumer from the mix tees when idle, then sets its
    // elements to NULL and removes them; completes on its own.
    void detach(std::shared_ptr<MixSink> sink);
    // Takes out a consumer that never ran (a failed attach) at once.
    void remove_now(MixSink& sink);
    bool add_livesink();
    bool add_webrtc();
    // Takes out what nobody uses any more (see add_viewer, output_ended).
    void release_unused();
    void add_branch(const CompositeInput& input);
    void remove_branch(const std::string& track_id, std::function<void()> done);
    void apply_speaker();
    bool stop(OutputKind kind, std::function<void()> done, unsigned timeout_ms);
    // The output is over (Stopped or Failed): forgotten, reported, and the
    // composite removed if it was the last.
    void output_ended(OutputKind kind, OutputState state, const std::string& error);

    GMainContext* ctx_;
    GstPtr<GstBin> bin_;
    std::string room_id_;
    unsigned latency_ms_;
    OutputCallback on_output_;
    std::string preset_ = "default";
    std::string built_preset_;  // the running mixer's ("default" resolved)
    Layout layout_ = Layout::Grid;
    std::string speaker_;  // participant id
    std::vector<CompositeInput> inputs_;
    GstPtr<GstElement> mixer_;
    GstPtr<GstElement> video_tee_;  // the mix, for each consumer
    GstPtr<GstElement> audio_tee_;
    GstPtr<GstElement> livesink_;
    std::shared_ptr<MixSink> live_sink_;  // the livesink's links
    std::shared_ptr<MixSink> webrtc_;     // the WebRTC encode branch
    std::vector<std::shared_ptr<Track>> tracks_;  // its tees as Tracks
    std::set<std::string> viewers_;
    std::map<std::string, std::shared_ptr<Branch>> branches_;  // by track id
    std::map<OutputKind, Output> outputs_;
};

}  // namespace zumzi::media
