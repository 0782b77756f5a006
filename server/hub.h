// Every event for connected clients goes through the hub: publishers name a
// topic ("room:<id>", "user:<id>"), subscribers (WebSocket sessions) receive
// the serialised message. In-process today; the seam where a Redis pub/sub
// bridge goes when Zumzi runs on several nodes. Main-loop thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <unordered_map>

namespace zumzi {

// The topics of a room: its events for every participant, and its roster
// events for those allowed to list participants.
inline std::string room_topic(const std::string& room_id)
{
    return "room:" + room_id;
}

inline std::string roster_topic(const std::string& room_id)
{
    return "roster:" + room_id;
}

class Hub {
public:
    using Listener = std::function<void(const std::string& message)>;

    // Returns a handle for unsubscribe().
    uint64_t subscribe(const std::string& topic, Listener listener);
    void unsubscribe(uint64_t handle);

    // Delivers `message` to every subscriber of `topic` except `skip` (a
    // handle, 0 for none), in subscription order. Listeners may subscribe or
    // unsubscribe while being called.
    void publish(const std::string& topic, const std::string& message, uint64_t skip = 0);

    size_t subscriber_count(const std::string& topic) const;

private:
    struct Subscription {
        std::string topic;
        Listener listener;
    };
    uint64_t next_ = 1;
    std::map<uint64_t, Subscription> subscriptions_;                    // by handle, in order
    std::unordered_map<std::string, std::map<uint64_t, bool>> topics_;  // topic -> handles
};

}  // namespace zumzi
