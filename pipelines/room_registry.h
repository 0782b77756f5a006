// Rooms by id. A Room is created on the first join and dropped from the
// registry when its last participant leaves; its pipeline is destroyed once
// that participant's teardown is over. Local today; the seam where rooms
// would be placed on other nodes later.
//
// The registry registers the gstzumzi plugin's elements (zumzimixer,
// zumzilivesink, ...) in the process on construction: no GST_PLUGIN_PATH.
//
// Create the registry on the thread whose thread-default GMainContext runs
// the server: every call and callback of the engine happens there.
#pragma once

#include <glib.h>

#include <functional>
#include <map>
#include <memory>
#include <string>

#include "media_config.h"
#include "participant.h"
#include "room.h"
#include "track.h"

namespace zumzi::media {

struct RegistryCallbacks {
    std::function<void(const std::string& room_id, const TrackInfo&)> on_track_published;
    std::function<void(const std::string& room_id, const TrackInfo&)> on_track_unpublished;
    std::function<void(const std::string& room_id, const TrackInfo&)> on_track_muted;
    std::function<void(const std::string& room_id, const std::string& participant_id,
                       bool speaking)>
        on_speaking;
    std::function<void(const std::string& room_id, const std::string& message)> on_error;
    // The room left the registry (last participant gone). Its running
    // outputs are finalised afterwards (on_output: Stopped).
    std::function<void(const std::string& room_id)> on_room_closed;
    // A live output of the room changed state (Room::start_output).
    std::function<void(const std::string& room_id, const OutputEvent&)> on_output;
};

class RoomRegistry {
public:
    explicit RoomRegistry(MediaConfig config = {}, RegistryCallbacks callbacks = {});
    ~RoomRegistry();
    RoomRegistry(const RoomRegistry&) = delete;
    RoomRegistry& operator=(const RoomRegistry&) = delete;

    // Joins `participant_id` to `room_id`, creating the room on first use.
    // nullptr if the participant is already in that room. `subscribe`
    // false: it receives nothing (no subscribe offers), e.g. a publisher
    // without the subscribe permission.
    std::shared_ptr<Participant> join(const std::string& room_id, const std::string& participant_id,
                                      ParticipantCallbacks callbacks, bool subscribe = true);

    // The last-N setting of a room (0: forward every video), applied now if
    // the room is live and to the room when it opens. Rooms without one use
    // MediaConfig::last_n.
    void set_last_n(const std::string& room_id, unsigned n);
    // The room's resolution preset (preset.h), remembered like last-N:
    // publishers start their video bitrate at its target (Room::set_preset).
    void set_preset(const std::string& room_id, const std::string& preset);

    // Removes the participant; the room goes when it was the last one.
    // `done` runs once its elements are gone. False if unknown.
    bool leave(const std::string& room_id, const std::string& participant_id,
               std::function<void()> done = nullptr);

    std::shared_ptr<Room> find(const std::string& room_id) const;
    size_t size() const { return rooms_.size(); }
    GMainContext* context() const { return ctx_; }
    const MediaConfig& config() const { return config_; }

private:
    GMainContext* ctx_;
    MediaConfig config_;
    RegistryCallbacks callbacks_;
    std::map<std::string, std::shared_ptr<Room>> rooms_;
    std::map<std::string, unsigned> last_n_;      // by room id
    std::map<std::string, std::string> presets_;  // by room id
};

}  // namespace zumzi::media
