// Who is online: the number of open WebSocket sessions per user. In memory,
// main-loop thread only; last-seen times are kept by the store.
#pragma once

#include <string>
#include <unordered_map>

namespace zumzi {

class Presence {
public:
    // True when this is the user's first session: they just came online.
    bool add(const std::string& user_id);
    // True when this was the user's last session: they just went offline.
    bool remove(const std::string& user_id);
    bool online(const std::string& user_id) const;
    size_t online_users() const { return sessions_.size(); }

private:
    std::unordered_map<std::string, int> sessions_;  // user id -> open sessions
};

}  // namespace zumzi
