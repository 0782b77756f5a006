// Sliding-window rate limiter: at most `max` events per key in any `window`.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <unordered_map>

namespace zumzi {

class RateLimiter {
public:
    RateLimiter(int max, int64_t window_ms) : max_(max), window_ms_(window_ms) {}

    // Records an event for `key` at `now` and returns true, or returns false
    // (recording nothing) when the key is already at its limit.
    bool hit(const std::string& key, int64_t now);

    // Whether an event for `key` at `now` would be allowed; records nothing.
    bool allows(const std::string& key, int64_t now);

    // Milliseconds until `key` may have another event (0 when it may now).
    int64_t retry_after(const std::string& key, int64_t now);

    void forget(const std::string& key) { events_.erase(key); }

private:
    void prune(std::deque<int64_t>& q, int64_t now) const;
    void prune_all(int64_t now);

    int max_;
    int64_t window_ms_;
    std::unordered_map<std::string, std::deque<int64_t>> events_;
    uint64_t hits_since_sweep_ = 0;
};

}  // namespace zumzi
