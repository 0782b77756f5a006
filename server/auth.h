// Who is calling: user access tokens and app API keys. Secrets are random
// 256-bit values shown once and stored as SHA-256 digests; a lookup is by
// digest followed by a constant-time comparison.
#pragma once

#include <optional>
#include <string>

#include "clock.h"
#include "store.h"

namespace zumzi {

// A caller authenticated with a user access token.
struct Principal {
    App app;
    User user;
    AccessToken token;
};

class Auth {
public:
    Auth(Store& store, Clock clock) : store_(store), clock_(std::move(clock)) {}

    // A new app and its API key (returned here only).
    std::pair<App, std::string> create_app(const std::string& name, bool is_default);

    // A new access token for `user`, valid `ttl_seconds`; the secret is
    // returned here only.
    std::pair<AccessToken, std::string> issue_token(const User& user, int64_t ttl_seconds);

    std::optional<Principal> user_from_token(const std::string& secret);
    std::optional<App> app_from_api_key(const std::string& key);

    // The credential of an `Authorization: Bearer <credential>` header value.
    static std::optional<std::string> bearer(const char* header_value);

private:
    Store& store_;
    Clock clock_;
};

}  // namespace zumzi
