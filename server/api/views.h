// The JSON shapes of stored records, as the API documents them.
#pragma once

#include "../config.h"
#include "../http.h"
#include "../live_rooms.h"
#include "../store.h"
#include "track.h"

namespace zumzi {

// `with_contact`: include email and phone (the user themself, or the app).
JsonOut user_json(const User& user, bool with_contact);
JsonOut token_json(const AccessToken& token);
// `membership` is the caller's (may be null); PINs only when `show_pins`.
JsonOut room_json(const Room& room, const Member* membership, bool show_pins);
JsonOut member_json(const Member& member);
// A member a moderator removed: {user_id, name, by, at}.
JsonOut ban_json(const RoomBan& ban);
// Someone in a room right now, as roster events carry them.
JsonOut participant_json(const LiveParticipant& participant);
// The STUN and TURN servers of the config in RTCPeerConnection's
// iceServers format ({"urls": [...], "username", "credential"}).
std::vector<JsonOut> ice_servers_json(const Config& config);
// A published track of the media engine, as track events carry it.

JsonOut track_json(const media::TrackInfo& track);

}  // namespace zumzi
