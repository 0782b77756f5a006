#include "permissions.h"

namespace zumzi {

namespace {

struct Name {
    Permission flag;
    const char* name;
};

constexpr Name names[] = {
    {kPublish, "publish"},    {kSubscribe, "subscribe"},      {kList, "list"},
    {kChatSend, "chat_send"}, {kChatReceive, "chat_receive"}, {kRecord, "record"},
    {kModerate, "moderate"},
};

}  // namespace

uint32_t role_permissions(std::string_view role)
{
    if (role == "owner")
        return kAllPermissions;
    if (role == "publisher")
        return kPublish | kSubscribe | kList | kChatSend | kChatReceive;
    if (role == "viewer")
        return kSubscribe | kList | kChatSend | kChatReceive;
    return 0;
}

std::vector<std::string> permission_names(uint32_t flags)
{
    std::vector<std::string> out;
    for (const Name& n : names)
        if (flags & n.flag)
            out.emplace_back(n.name);
    return out;
}

std::optional<uint32_t> parse_permission_names(const std::vector<std::string>& list)
{
    uint32_t flags = 0;
    for (const std::string& s : list) {
        bool found = false;
        for (const Name& n : names) {
            if (s == n.name) {
                flags |= n.flag;
                found = true;
            }
        }
        if (!found)
            return std::nullopt;
    }
    return flags;
}

}  // namespace zumzi
