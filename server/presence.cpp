#include "presence.h"

namespace zumzi {

bool Presence::add(const std::string& user_id)
{
    return ++sessions_[user_id] == 1;
}

bool Presence::remove(const std::string& user_id)
{
    auto it = sessions_.find(user_id);
    if (it == sessions_.end())
        return false;
    if (--it->second > 0)
        return false;
    sessions_.erase(it);
    return true;
}

bool Presence::online(const std::string& user_id) const
{
    return sessions_.count(user_id) != 0;
}

}  // namespace zumzi
