#include "auth.h"

#include <glib.h>

#include "crypto.h"

namespace zumzi {

std::pair<App, std::string> Auth::create_app(const std::string& name, bool is_default)
{
    std::string key = random_secret("zk_");
    App app = store_.create_app(name, sha256_hex(key), is_default);
    return {app, key};
}

std::pair<AccessToken, std::string> Auth::issue_token(const User& user, int64_t ttl_seconds)
{
    std::string secret = random_secret("zt_");
    const int64_t now = clock_();
    AccessToken token{random_id("t_", 14),      user.id, user.app_id, now,
                      now + ttl_seconds * 1000, false};
    store_.create_token(token, sha256_hex(secret));
    return {token, secret};
}

std::optional<Principal> Auth::user_from_token(const std::string& secret)
{
    const std::string hash = sha256_hex(secret);
    auto found = store_.find_token_by_hash(hash);
    if (!found || !constant_time_equal(found->second, hash))
        return std::nullopt;
    const AccessToken& token = found->first;
    if (token.revoked || token.expires_at <= clock_())
        return std::nullopt;
    auto app = store_.find_app(token.app_id);
    auto user = store_.find_user(token.app_id, token.user_id);
    if (!app || !user)
        return std::nullopt;
    return Principal{*app, *user, token};
}

std::optional<App> Auth::app_from_api_key(const std::string& key)
{
    return store_.find_app_by_key_hash(sha256_hex(key));
}

std::optional<std::string> Auth::bearer(const char* header_value)
{
    if (!header_value)
        return std::nullopt;
    const char* p = header_value;
    while (*p == ' ')
        p++;
    if (g_ascii_strncasecmp(p, "Bearer ", 7) != 0)
        return std::nullopt;
    p += 7;
    while (*p == ' ')
        p++;
    std::string value(p);
    while (!value.empty() && value.back() == ' ')
        value.pop_back();
    if (value.empty() || value.size() > 512)
        return std::nullopt;
    return value;
}

}  // namespace zumzi
