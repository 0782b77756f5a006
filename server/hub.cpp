#include "hub.h"

#include <vector>

namespace zumzi {

uint64_t Hub::subscribe(const std::string& topic, Listener listener)
{
    const uint64_t handle = next_++;
    subscriptions_.emplace(handle, Subscription{topic, std::move(listener)});
    topics_[topic][handle] = true;
    return handle;
}

void Hub::unsubscribe(uint64_t handle)
{
    auto it = subscriptions_.find(handle);
    if (it == subscriptions_.end())
        return;
    auto topic = topics_.find(it->second.topic);
    if (topic != topics_.end()) {
        topic->second.erase(handle);
        if (topic->second.empty())
            topics_.erase(topic);
    }
    subscriptions_.erase(it);
}

void Hub::publish(const std::string& topic, const std::string& message, uint64_t skip)
{
    auto it = topics_.find(topic);
    if (it == topics_.end())
        return;
    // Copy the handles: a listener may (un)subscribe while we deliver.
    std::vector<uint64_t> handles;
    handles.reserve(it->second.size());
    for (const auto& [handle, unused] : it->second)
        handles.push_back(handle);
    for (uint64_t handle : handles) {
        if (handle == skip)
            continue;
        auto sub = subscriptions_.find(handle);
        if (sub != subscriptions_.end())
            sub->second.listener(message);
    }
}

size_t Hub::subscriber_count(const std::string& topic) const
{
    auto it = topics_.find(topic);
    return it == topics_.end() ? 0 : it->second.size();
}

}  // namespace zumzi
