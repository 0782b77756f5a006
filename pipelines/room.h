// A conference room: one GstPipeline (PLAYING for the room's lifetime), its
// bus watch, its participants and their published tracks. Every published
// track is forwarded to every other participant's subscribe session.
//
// All methods and callbacks run on the main context given at construction.
#pragma once

#include <gst/gst.h>

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "gst_ref.h"
#include "media_config.h"
#include "participant.h"
#include "track.h"

namespace zumzi::media {

struct RoomCallbacks {
    std::function<void(const TrackInfo&)> on_track_published;
    std::function<void(const TrackInfo&)> on_track_unpublished;
    // An error message from the pipeline's bus (the room keeps running).
    std::function<void(const std::string& message)> on_error;
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

    static std::string track_id(const std::string& participant_id, const std::string& mid);

    // Engine internal: a publisher pad delivered its caps (main context).
    void on_track_ready(Participant& publisher, GstElement* tee, GstCaps* caps,
                        const std::string& mid, std::shared_ptr<KeyframeGate> gate);

private:
    static gboolean on_bus_message(GstBus* bus, GstMessage* message, gpointer data);
    void subscribe(Participant& subscriber, Track& track);

    std::string id_;
    GMainContext* ctx_;
    MediaConfig config_;
    RoomCallbacks callbacks_;
    GstPtr<GstPipeline> pipeline_;
    GSource* bus_watch_ = nullptr;
    std::map<std::string, std::shared_ptr<Participant>> participants_;
    std::map<std::string, std::shared_ptr<Track>> tracks_;
    std::vector<std::string> order_;  // track ids, oldest first
};

}  // namespace zumzi::media
