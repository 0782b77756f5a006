// What a room member may do: permission flags, the roles that grant them and
// their names in the API ("publish", "subscribe", ...).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace zumzi {

enum Permission : uint32_t {
    kPublish = 1u << 0,      // send audio, video and screen shares
    kSubscribe = 1u << 1,    // receive others' media
    kList = 1u << 2,         // see who is in the room
    kChatSend = 1u << 3,     // post to the room chat
    kChatReceive = 1u << 4,  // read the room chat
    kRecord = 1u << 5,       // start/stop recordings and download them
    kModerate = 1u << 6,     // mute, remove, promote members, lock the room
};

constexpr uint32_t kAllPermissions = (1u << 7) - 1;

// Roles stored per member: "owner" (everything), "publisher" (participant
// PIN), "viewer" (viewer PIN: receives and chats, never publishes).
uint32_t role_permissions(std::string_view role);

inline bool has_permission(uint32_t flags, Permission p)
{
    return (flags & p) != 0;
}

// Flags as their API names, in a fixed order.
std::vector<std::string> permission_names(uint32_t flags);

// API names to flags; nullopt if a name is unknown.
std::optional<uint32_t> parse_permission_names(const std::vector<std::string>& names);

}  // namespace zumzi
