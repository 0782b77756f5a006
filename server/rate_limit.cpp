#include "rate_limit.h"

namespace zumzi {

void RateLimiter::prune(std::deque<int64_t>& q, int64_t now) const
{
    while (!q.empty() && q.front() <= now - window_ms_)
        q.pop_front();
}

void RateLimiter::prune_all(int64_t now)
{
    for (auto it = events_.begin(); it != events_.end();) {
        prune(it->second, now);
        it = it->second.empty() ? events_.erase(it) : std::next(it);
    }
}

bool RateLimiter::allows(const std::string& key, int64_t now)
{
    auto it = events_.find(key);
    if (it == events_.end())
        return true;
    prune(it->second, now);
    return static_cast<int>(it->second.size()) < max_;
}

bool RateLimiter::hit(const std::string& key, int64_t now)
{
    // Sweep idle keys now and then so memory stays bounded by the active ones.
    if (++hits_since_sweep_ >= 1024) {
        hits_since_sweep_ = 0;
        prune_all(now);
    }
    auto& q = events_[key];
    prune(q, now);
    if (static_cast<int>(q.size()) >= max_)
        return false;
    q.push_back(now);
    return true;
}

int64_t RateLimiter::retry_after(const std::string& key, int64_t now)
{
    auto it = events_.find(key);
    if (it == events_.end())
        return 0;
    prune(it->second, now);
    if (static_cast<int>(it->second.size()) < max_)
        return 0;
    return it->second.front() + window_ms_ - now;
}

}  // namespace zumzi
