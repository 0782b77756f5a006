// Room moderation, the one place both the REST API (api/rooms.cpp) and the
// WebSocket (ws_session.cpp) go through: editing and locking the room,
// changing a member's permissions, removing a member (and keeping them out
// until a moderator lets them back in), muting a participant. Each action
// checks everything first (ApiError, nothing changed), stores the change,
// then applies it at once to the live room: the participants' WebSocket
// sessions, their media in the engine (pipelines/ API only) and the events
// everyone in the room gets. See docs/api.md and docs/protocol.md.
// Main-loop thread only.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "api/context.h"
#include "hub.h"
#include "live_rooms.h"
#include "room_registry.h"

namespace zumzi {

class WsSession;

class Moderation {
public:
    // The WebSocket session with this id, or nullptr if it is gone.
    using FindSession = std::function<WsSession*(uint64_t session_id)>;

    Moderation(Context& ctx, Hub& hub, LiveRooms& live, media::RoomRegistry& media,
               FindSession find_session);
    Moderation(const Moderation&) = delete;
    Moderation& operator=(const Moderation&) = delete;

    // PATCH /rooms/{id}: 'name' and 'preset' (owner), 'locked' and 'last_n'
    // (moderate), at least one. Every live participant gets room_updated.
    // Returns the room; `caller` gets the caller's membership.
    Room edit_room(const Principal& me, const std::string& room_id, const JsonFields& fields,
                   Member& caller);
    // lock_room: 'locked' only (moderate).
    Room lock_room(const Principal& me, const std::string& room_id, bool locked);

    // PATCH /rooms/{id}/members/{user}, set_permissions: replaces the
    // member's permissions with 'permissions' (moderate; never the owner's).
    Member set_permissions(const Principal& me, const std::string& room_id,
                           const std::string& user_id, const JsonFields& fields);

    // DELETE /rooms/{id}/members/{user}, remove_participant. Removing
    // someone else (moderate) bans them: their live sessions in the room get
    // left with reason "removed", and they may not join again until
    // readmitted. Removing yourself is leaving (no ban; reason "left"). The
    // owner is never removed.
    void remove_member(const Principal& me, const std::string& room_id, const std::string& user_id);
    // GET /rooms/{id}/bans (moderate).
    std::vector<RoomBan> bans(const Principal& me, const std::string& room_id);
    // DELETE /rooms/{id}/bans/{user}, readmit (moderate): they may join again.
    void readmit(const Principal& me, const std::string& room_id, const std::string& user_id);

    // POST /rooms/{id}/members/{user}/mute (every live participant of the
    // user) and mute_participant (one participant), 'kind' "audio"
    // (default), "video" or "all" (moderate). Returns the ids of the tracks
    // muted now (already muted ones are left alone).
    std::vector<std::string> mute_member(const Principal& me, const std::string& room_id,
                                         const std::string& user_id, const JsonFields& fields);
    std::vector<std::string> mute_participant(const Principal& me, const std::string& room_id,
                                              const std::string& participant_id,
                                              const JsonFields& fields);

    // The stored membership of `member` changed (a moderator, or a viewer
    // who joined again with the participant PIN): every live participant of
    // that user in the room follows now, and the room hears
    // participant_updated for each one that changed.
    void apply_member(const Room& room, const Member& member);

    // While a moderator's mute is applied: their user id, for the "by" of
    // the track_muted events the engine reports meanwhile. Empty otherwise.
    const std::string& muting_by() const { return muting_by_; }

private:
    std::vector<std::string> mute(const std::string& room_id,
                                  const std::vector<std::string>& participant_ids,
                                  const std::string& kind, const std::string& by);
    // Takes every live participant of `user_id` out of the room.
    void end_live(const std::string& room_id, const std::string& user_id,
                  const std::string& reason);
    // room_updated to every live participant, as each of them sees the room.
    void room_changed(const Room& room);

    Context& ctx_;
    Hub& hub_;
    LiveRooms& live_;
    media::RoomRegistry& media_;
    FindSession find_session_;
    std::string muting_by_;
};

}  // namespace zumzi
