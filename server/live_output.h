// Live output of rooms, the one place both the REST API (api/live.cpp,
// api/recordings.cpp) and the WebSocket (ws_session.cpp) go through:
// starting and stopping a room's HLS stream, RTMP push and recording,
// the composite's layout, and the recordings kept afterwards. Each action
// checks everything first (ApiError, nothing changed), then drives the
// room's composite through the pipelines/ API. Every change of an
// output's state reaches the room's participants as live_status.
//
// RTMP targets fail on their own (a server down, a key refused): a failed
// push is retried with exponential backoff (RtmpBackoff) until a moderator
// stops it, and never touches the call or the other outputs. When the room
// closes (its last participant left) the engine finalises every output;
// recordings are then marked done. See docs/api.md and docs/protocol.md.
// Main-loop thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "api/context.h"
#include "live_rooms.h"
#include "room_registry.h"

namespace zumzi {

class WsSession;

// Where a room's files live: the HLS stream in <data_dir>/live/<room>/
// (index.m3u8 and its segments), recordings as
// <data_dir>/recordings/<room>/<id>.mp4.
std::string live_dir(const Config& config, const std::string& room_id);
std::string recording_path(const Config& config, const std::string& room_id,
                           const std::string& recording_id);

// "rtmp://host/app/<key>" with the stream key (the last path segment when
// there are two or more), any user:password and any query masked, for
// showing a target without giving its secret away.
std::string mask_rtmp_url(const std::string& url);

// When a failed RTMP push is tried again: 1 s after the first failure,
// doubling up to 30 s; an attempt that had been live for 30 s or more
// starts over at 1 s.
class RtmpBackoff {
public:
    static constexpr int64_t kFirstMs = 1000;
    static constexpr int64_t kMaxMs = 30000;
    static constexpr int64_t kResetAfterLiveMs = 30000;

    // The delay before the next attempt, after an attempt that failed
    // having been live for `live_ms` (0: it never went live).
    int64_t after_failure(int64_t live_ms);

private:
    int64_t next_ms_ = kFirstMs;
};

class LiveOutputs {
public:
    // The WebSocket session with this id, or nullptr if it is gone.
    using FindSession = std::function<WsSession*(uint64_t session_id)>;
    // Gets the output (as in GET /rooms/{room}/live) once a stop is over.
    using Stopped = std::function<void(JsonOut output)>;

    // Recordings left "recording" by a server that stopped are marked done.
    LiveOutputs(Context& ctx, LiveRooms& live, media::RoomRegistry& media,
                FindSession find_session);
    ~LiveOutputs();
    LiveOutputs(const LiveOutputs&) = delete;
    LiveOutputs& operator=(const LiveOutputs&) = delete;

    // GET /rooms/{room}/live (any member): {"layout":..,"outputs":[..]}.
    JsonOut status(const Principal& me, const std::string& room_id);
    // POST /rooms/{room}/live, live_start: 'kind' "hls" or "rtmp" (with
    // 'url', moderate) or "record" (record or moderate). Returns the output.
    JsonOut start(const Principal& me, const std::string& room_id, const JsonFields& fields);
    // DELETE /rooms/{room}/live/{kind}, live_stop (same permissions as
    // start). Checks at once (ApiError); `done` gets the stopped output
    // once it is finalised (a recording's file complete), always later from
    // the main loop, never within this call.
    void stop(const Principal& me, const std::string& room_id, const std::string& kind,
              Stopped done);
    // PATCH /rooms/{room}/live, live_layout: 'layout' (moderate). Returns
    // the status as GET does.
    JsonOut set_layout(const Principal& me, const std::string& room_id, const JsonFields& fields);

    // The room's live state for `permissions` (errors and RTMP targets only
    // for moderators and record holders), as joined carries it.
    JsonOut live_json(const std::string& room_id, uint32_t permissions) const;

    // The room's composite gets its preset, layout and tile names, as
    // before an output starts; a WHEP player of the composite
    // (POST /whep/{room}/live) calls it before it builds the composite.
    // False if the room has no media room.
    bool prepare_composite(const std::string& room_id);
    // A participant entered the room's media: its tiles get its name.
    void participant_joined(const std::string& room_id, const std::string& participant_id,
                            const std::string& name);
    // The room was deleted: its HLS files and recordings go.
    void room_deleted(const std::string& room_id);
    // The owner changed the room's preset: a running composite follows.
    void preset_changed(const std::string& room_id, const std::string& preset);

    // From the engine (RegistryCallbacks).
    void on_output(const std::string& room_id, const media::OutputEvent& event);
    void on_room_closed(const std::string& room_id);

    // Recordings. GET /rooms/{room}/recordings (record).
    std::vector<Recording> recordings(const Principal& me, const std::string& room_id);
    // GET /rooms/{room}/recordings/{id}/file (record): the recording and its
    // file; 404 while there is none on disk.
    std::pair<Recording, std::string> recording_file(const Principal& me,
                                                     const std::string& room_id,
                                                     const std::string& recording_id);
    // DELETE /rooms/{room}/recordings/{id} (moderate): the row and the file;
    // 409 CONFLICT while it is still recording.
    void delete_recording(const Principal& me, const std::string& room_id,
                          const std::string& recording_id);

private:
    struct Output {
        media::OutputKind kind = media::OutputKind::Hls;
        std::string state;  // "starting", "live", "retrying", "stopping"
        int64_t started_at = 0;
        std::string target;  // RTMP: the URL as given
        std::string error;   // the last failure
        int64_t retry_in_ms = 0;
        std::string recording_id;
        std::string started_by;
        RtmpBackoff backoff;
        gint64 live_since_us = 0;  // monotonic, 0 while not live
        std::shared_ptr<media::Timer> retry;
        std::vector<Stopped> waiting;  // stop requests waiting for the end
    };
    struct RoomOutputs {
        std::map<media::OutputKind, Output> outputs;
        media::Layout layout = media::Layout::Grid;
    };

    // Loads the room, the caller's membership; 404 / 403 as everywhere.
    Member member_of(const Principal& me, const std::string& room_id, Room& room);
    void require_kind_permission(const Member& member, media::OutputKind kind) const;
    // Prepares the composite (preset, layout, names) and starts `output`
    // in the engine; false if the engine refused.
    bool start_in_engine(const std::string& room_id, Output& output);
    void retry_rtmp(const std::string& room_id);
    // The output ended (stopped, failed for good, room closed): files and
    // rows follow, participants hear it, waiting stops are answered.
    void finish(const std::string& room_id, media::OutputKind kind, const std::string& state,
                const std::string& error);
    static JsonOut output_json(const std::string& room_id, const Output& output, bool full);
    // live_status to every participant of the room, as each may see it:
    // the room's layout, and `output` when one changed (nullptr: the layout
    // changed).
    void publish(const std::string& room_id, const Output* output);
    void remove_hls_files(const std::string& room_id) const;

    Context& ctx_;
    LiveRooms& live_;
    media::RoomRegistry& media_;
    FindSession find_session_;
    std::map<std::string, RoomOutputs> rooms_;  // by room id
    // Engine callbacks and timers hold a weak reference: they may outlive us.
    std::shared_ptr<LiveOutputs*> self_;
};

}  // namespace zumzi
