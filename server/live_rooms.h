// Who is in each room right now: the participants of live sessions (a
// WebSocket connection that joined), as opposed to stored members. A user
// connected twice is two participants. Main-loop thread only. When the media
// engine lands, each live room also owns its pipeline through the registry.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace zumzi {

struct LiveParticipant {
    std::string id;  // "p_…", unique per join
    std::string user_id;
    std::string name;
    std::string role;
    uint32_t permissions = 0;
    uint64_t session_id = 0;  // the WebSocket session it belongs to
    int64_t joined_at = 0;
};

class LiveRooms {
public:
    // Adds `participant` (its id is assigned here) to `room_id`.
    const LiveParticipant& add(const std::string& room_id, LiveParticipant participant);
    // Removes and returns whether it was there; a room without participants
    // is forgotten.
    bool remove(const std::string& room_id, const std::string& participant_id);
    // In join order.
    std::vector<LiveParticipant> participants(const std::string& room_id) const;
    // The participant, or nullptr (valid until the room changes).
    const LiveParticipant* find(const std::string& room_id,
                                const std::string& participant_id) const;
    // A moderator changed what the participant may do; false if unknown.
    bool update(const std::string& room_id, const std::string& participant_id,
                const std::string& role, uint32_t permissions);
    size_t room_count() const { return rooms_.size(); }

private:
    // room id -> participants in join order (participant ids sort by a counter)
    std::map<std::string, std::map<uint64_t, LiveParticipant>> rooms_;
    uint64_t next_ = 1;
};

}  // namespace zumzi
