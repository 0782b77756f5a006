#include "live_rooms.h"

#include "crypto.h"

namespace zumzi {

const LiveParticipant& LiveRooms::add(const std::string& room_id, LiveParticipant participant)
{
    participant.id = random_id("p_", 12);
    auto& room = rooms_[room_id];
    return room.emplace(next_++, std::move(participant)).first->second;
}

bool LiveRooms::remove(const std::string& room_id, const std::string& participant_id)
{
    auto room = rooms_.find(room_id);
    if (room == rooms_.end())
        return false;
    for (auto it = room->second.begin(); it != room->second.end(); ++it) {
        if (it->second.id == participant_id) {
            room->second.erase(it);
            if (room->second.empty())
                rooms_.erase(room);
            return true;
        }
    }
    return false;
}

std::vector<LiveParticipant> LiveRooms::participants(const std::string& room_id) const
{
    std::vector<LiveParticipant> out;
    auto room = rooms_.find(room_id);
    if (room != rooms_.end())
        for (const auto& [order, p] : room->second)
            out.push_back(p);
    return out;
}

const LiveParticipant* LiveRooms::find(const std::string& room_id,
                                       const std::string& participant_id) const
{
    auto room = rooms_.find(room_id);
    if (room == rooms_.end())
        return nullptr;
    for (const auto& [order, p] : room->second)
        if (p.id == participant_id)
            return &p;
    return nullptr;
}

bool LiveRooms::update(const std::string& room_id, const std::string& participant_id,
                       const std::string& role, uint32_t permissions)
{
    auto room = rooms_.find(room_id);
    if (room == rooms_.end())
        return false;
    for (auto& [order, p] : room->second)
        if (p.id == participant_id) {
            p.role = role;
            p.permissions = permissions;
            return true;
        }
    return false;
}

}  // namespace zumzi
