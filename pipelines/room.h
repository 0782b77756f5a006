// A conference room: one GstPipeline (PLAYING for the room's lifetime), its
// bus watch, its participants and their published tracks. Every published
// track is forwarded to every other participant's subscribe session.
//
// All methods and callbacks run on the main context given at construction.
#pragma once

#include <gst/gst.h>

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "composite.h"
#include "gst_ref.h"
#include "main_context.h"
#include "media_config.h"
#include "participant.h"
#include "track.h"

namespace zumzi::media {

struct RoomCallbacks {
    std::function<void(const TrackInfo&)> on_track_published;
    std::function<void(const TrackInfo&)> on_track_unpublished;
    // A track was muted or unmuted (its info carries the new state).
    std::function<void(const TrackInfo&)> on_track_muted;
    // A participant started or stopped speaking (audio-level extension).
    std::function<void(const std::string& participant_id, bool speaking)> on_speaking;
    // An error message from the pipeline's bus (the room keeps running).
    // Errors of the composite's outputs come through on_output instead.
    std::function<void(const std::string& message)> on_error;
    // A live output (HLS, RTMP, recording) changed state: Live, Failed or
    // Stopped (start_output() returning true means Starting).
    std::function<void(const OutputEvent&)> on_output;
};

class Room : public std::enable_shared_from_this<Room> {
public:
    Room(std::string id, GMainContext* ctx, const MediaConfig& config, RoomCallbacks callbacks);
    ~Room();
    Room(const Room&) = delete;
    Room& operator=(const Room&) = delete;

    const std::string& id() const { return id_; }

    // Adds a participant (nullptr if `participant_id` is already here). It
    // is subscribed to every track already published and to every later
    // one, unless `subscribe` is false.
    std::shared_ptr<Participant> join(const std::string& participant_id,
                                      ParticipantCallbacks callbacks, bool subscribe = true);

    // Removes a participant: its tracks are unpublished (subscribers are
    // renegotiated), its branches unlinked from IDLE probes, its elements
    // set to NULL and removed; `done` runs on the main context afterwards.
    // False if unknown.
    bool leave(const std::string& participant_id, std::function<void()> done = nullptr);

    // Stops forwarding one track (the publisher stopped it): subscribers are
    // unlinked and renegotiated. False if unknown.
    bool unpublish_track(const std::string& track_id);

    std::shared_ptr<Participant> participant(const std::string& participant_id) const;
    std::shared_ptr<Track> track(const std::string& track_id) const;
    std::vector<TrackInfo> tracks() const;  // in the order they were published
    size_t participant_count() const { return participants_.size(); }

    GstPipeline* pipeline() const { return pipeline_.get(); }

    // --- What each subscriber receives -----------------------------------
    // A subscription is forwarded unless one of these pauses it (no
    // renegotiation: the branch just stops sending packets; a video branch
    // that resumes gets a keyframe):
    //  - the track is muted (set_track_muted), for every subscriber;
    //  - the subscriber unsubscribed from it (set_subscribed), or chose
    //    audio only (set_audio_only) and it is video;
    //  - it is camera video of a publisher outside the last-N set (see
    //    set_last_n). Screen shares (label "screen") are never subject to
    //    last-N, nor are WHEP viewers (they picked their tracks).

    // Mutes or unmutes a track for everyone: its publisher's choice, or a
    // moderator's. on_track_muted runs when the state changed. False if the
    // track is unknown.
    bool set_track_muted(const std::string& track_id, bool muted);

    enum class Choice { Ok, UnknownParticipant, UnknownTrack, OwnTrack };
    // `subscriber_id` receives `track_id` or not. Remembered for as long as
    // the track exists.
    Choice set_subscribed(const std::string& subscriber_id, const std::string& track_id,
                          bool subscribed);
    // The subscriber receives no video at all (or video again).
    Choice set_audio_only(const std::string& subscriber_id, bool audio_only);
    bool subscribed(const std::string& subscriber_id, const std::string& track_id) const;
    bool audio_only(const std::string& subscriber_id) const;

    // Forwards the camera video of at most `n` publishers (0: all): those
    // who started speaking most recently; publishers who never spoke rank
    // after them in the order they joined. A publisher whose cameras are
    // all muted takes no place.
    void set_last_n(unsigned n);
    unsigned last_n() const { return last_n_; }
    // Publishers whose camera video is forwarded now (all when last-N is 0),
    // most recent speaker first.
    std::vector<std::string> forwarded_video() const;
    bool speaking(const std::string& participant_id) const;
    // Whether a subscription currently sends packets (test/diagnostics).
    bool forwarding(const std::string& track_id, const std::string& subscriber_id) const;

    // --- Moderation ---------------------------------------------------------
    // Whether a participant may publish (true when it joins). Taking it
    // away unpublishes its tracks now (on_track_unpublished for each, the
    // subscribers renegotiate) and withholds them, and any track it starts
    // sending later, until it is given back: then they are published again
    // (on_track_published) from the same publish session, without the
    // publisher renegotiating. False if the participant is unknown.
    bool set_may_publish(const std::string& participant_id, bool may);
    bool may_publish(const std::string& participant_id) const;

    // Whether a participant receives the others' tracks. Taking it away
    // pauses every subscription it has (no renegotiation, as for a mute)
    // and adds no new track to its subscribe session; giving it back
    // resumes them (keyframes are requested) and subscribes it to the
    // tracks it lacks, then renegotiates. A participant that joined with
    // `subscribe` false (and is no WHEP viewer) becomes a subscriber then.
    // False if the participant is unknown.
    bool set_receiving(const std::string& participant_id, bool receiving);
    bool receiving(const std::string& participant_id) const;

    // The room's resolution preset (preset.h). A publisher's video starts
    // at the preset's bitrate: publish answers carry
    // x-google-start-bitrate=<video_kbps> in each video codec's fmtp (a
    // browser otherwise starts near 300 kbps and needs many seconds to
    // reach an HD room's size). False if unknown (nothing changes). Until
    // set, answers carry no start bitrate.
    bool set_preset(const std::string& preset);
    // The preset's video_kbps, 0 before set_preset().
    unsigned video_start_kbps() const { return video_start_kbps_; }

    // --- Live output: the room's composite (composite.h) ---------------------
    // The composite's preset as in preset.h ("default" means hd); it sizes
    // the composite when the first output starts (running outputs keep
    // their size). False if unknown (nothing changes).
    bool set_composite_preset(const std::string& preset);
    // grid, speaker (the active speaker large) or pip; applied live.
    void set_layout(Layout layout);
    Layout layout() const;
    // The name drawn on the participant's tiles (its id until set).
    void set_display_name(const std::string& participant_id, const std::string& name);
    // Starts one output; the composite is built on the first one (every
    // published, unmuted track is decoded into the mixer). False if that
    // kind runs already or the options are invalid (nothing changes).
    // Events come through on_output.
    bool start_output(OutputKind kind, const OutputOptions& options);
    // Stops one output; `done` runs on the main context once it is
    // finalised (after its Stopped event). The composite goes when the
    // last output stopped. False if not running.
    bool stop_output(OutputKind kind, std::function<void()> done = nullptr);
    bool output_running(OutputKind kind) const;
    // Stops every running output and waits until they are finalised (at
    // most `timeout_ms`), then removes the composite and runs `done`. The
    // registry calls it when the room closes; the room stays alive until
    // `done` ran.
    void finalise_outputs(std::function<void()> done, unsigned timeout_ms = 10000);
    const Composite& composite() const { return *composite_; }

    // --- WHEP viewers of the composite ---------------------------------------
    // `participant_id` (joined without subscribing) is to play the
    // composite: it is built if nothing runs it yet, with its WebRTC encode
    // branch (Composite::add_viewer). Then its view_offer() with
    // from_participant kCompositeParticipant gets the composite's tracks.
    // It keeps the composite running like an output until it leaves.
    // False if the participant is unknown, views it already, or the
    // composite cannot be built (nothing changes).
    bool add_composite_viewer(const std::string& participant_id);

    // What a WHEP view may show: the composite's tracks for
    // kCompositeParticipant, else the published tracks (as tracks()).
    std::vector<TrackInfo> view_tracks(const std::string& from_participant) const;
    // A published track or one of the composite's.
    std::shared_ptr<Track> view_track(const std::string& track_id) const;

    static std::string track_id(const std::string& participant_id, const std::string& mid);

    // Engine internal: a publisher pad delivered its caps (main context).
    void on_track_ready(Participant& publisher, GstElement* tee, GstCaps* caps,
                        const std::string& mid, std::shared_ptr<KeyframeGate> gate);

    // Audio level state of one audio track, written by its pad probe.
    struct Levels {
        int ext_id = 0;          // the extmap id of ssrc-audio-level
        unsigned threshold = 0;  // -dBov at or below which a packet is voice
        std::atomic<unsigned> voiced{0};
        std::atomic<unsigned> packets{0};
        std::atomic<gint64> last_voiced_us{0};
        unsigned ticked = 0;  // `voiced` at the last tick (main context)
    };

private:
    struct Choices {
        std::set<std::string> unsubscribed;  // track ids
        bool audio_only = false;
    };
    struct Speaker {
        bool speaking = false;
    };
    static gboolean on_bus_message(GstBus* bus, GstMessage* message, gpointer data);
    // A track taken down for a participant that may not publish, kept to
    // be published again when it may.
    struct Withheld {
        std::shared_ptr<Track> track;
        std::shared_ptr<Levels> levels;  // may be null
        bool muted = false;
    };
    // False if nothing was added to the subscriber's session.
    bool subscribe(Participant& subscriber, Track& track);
    // Into tracks_, forwarded to every other participant; on_track_published.
    void publish(std::shared_ptr<Track> track);
    // Out of tracks_, unlinked from every subscriber; on_track_unpublished.
    void take_down(std::shared_ptr<Track> track);
    void withhold(const std::string& track_id);
    void start_levels(const std::string& track_id, std::shared_ptr<Levels> levels);
    bool should_pause(const Track& track, const std::string& subscriber_id) const;
    // Recomputes the last-N set and pauses/resumes every subscription.
    void update_forwarding();
    void forget_track(const std::string& track_id);
    std::shared_ptr<Levels> watch_levels(Participant& publisher, GstElement* tee,
                                         const TrackInfo& info);
    void on_levels_tick();
    // Tells the composite which tracks to mix and who speaks; `removed`
    // runs once the branches taken out are gone.
    void update_composite(std::function<void()> removed = nullptr);

    std::string id_;
    GMainContext* ctx_;
    MediaConfig config_;
    RoomCallbacks callbacks_;
    GstPtr<GstPipeline> pipeline_;
    GSource* bus_watch_ = nullptr;
    std::map<std::string, std::shared_ptr<Participant>> participants_;
    std::map<std::string, std::shared_ptr<Track>> tracks_;
    std::vector<std::string> order_;          // track ids, oldest first
    std::set<std::string> muted_;             // track ids
    std::map<std::string, Choices> choices_;  // by subscriber id
    unsigned last_n_ = 0;
    unsigned video_start_kbps_ = 0;
    std::vector<std::string> recent_;  // participant ids, latest speaker first
    std::set<std::string> forwarded_;  // last-N set (when last_n_ > 0)
    std::map<std::string, std::shared_ptr<Levels>> levels_;  // by audio track id
    std::map<std::string, Speaker> speakers_;                // by participant id
    std::set<std::string> barred_;                           // participants that may not publish
    std::map<std::string, std::vector<Withheld>> withheld_;  // by participant id
    std::set<std::string> deaf_;                             // participants that receive nothing
    Timer levels_timer_;
    std::map<std::string, std::string> display_names_;  // by participant id
    std::unique_ptr<Composite> composite_;
};

}  // namespace zumzi::media
