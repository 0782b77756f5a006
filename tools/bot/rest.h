// Blocking REST helpers for bot set-up: log in (demo mode) and create a
// room. They use their own SoupSession and do not iterate any context, so
// call them before starting bots.
#pragma once

#include <string>

namespace zumzi::bot {

struct RoomInfo {
    std::string id;
    std::string participant_pin;
    std::string viewer_pin;
};

// POST /api/v1/login twice: asks for a code, then sends 123456. Works only
// against a server started with --demo (or `demo = true` in [login]).
// Returns the access token, or "" with *error set.
std::string login_demo(const std::string& server_url, const std::string& email,
                       const std::string& name, std::string* error);

// POST /api/v1/rooms as the token's user (who becomes the owner).
bool create_room(const std::string& server_url, const std::string& token, const std::string& name,
                 const std::string& preset, RoomInfo* room, std::string* error);

}  // namespace zumzi::bot
