// POST /api/v1/login (ask for a code, then trade it for an access token) and
// POST /api/v1/logout.
#include <glib.h>

#include "context.h"
#include "routes.h"
#include "validate.h"
#include "views.h"

namespace zumzi {

namespace {

struct Address {
    std::string value;
    bool is_email;
};

Address address_of(Request& req)
{
    auto email = req.string_field("email");
    auto phone = req.string_field("phone");
    if (email && phone)
        fail(400, "BADREQUEST", "give either 'email' or 'phone', not both");
    if (email)
        return {normalize_email(*email), true};
    if (phone)
        return {normalize_phone(*phone), false};
    fail(400, "BADREQUEST", "'email' or 'phone' is required");
}

App app_of(Context& ctx, Request& req)
{
    auto app_id = req.string_field("app");
    std::optional<App> app = app_id ? ctx.store.find_app(*app_id) : ctx.store.default_app();
    if (!app)
        fail(404, "NOTFOUND", "no such app");
    return *app;
}

[[noreturn]] void rate_limited(int64_t retry_after_ms)
{
    fail_rate_limited(retry_after_ms, "too many attempts: try again later");
}

// The user with this address, created on first login.
User sign_up_or_in(Context& ctx, const App& app, const Address& address,
                   const std::optional<std::string>& name)
{
    auto existing = address.is_email ? ctx.store.find_user_by_email(app.id, address.value)
                                     : ctx.store.find_user_by_phone(app.id, address.value);
    if (existing)
        return *existing;
    User user;
    user.app_id = app.id;
    (address.is_email ? user.email : user.phone) = address.value;
    if (name)
        user.name = *name;
    else
        user.name =
            address.is_email ? address.value.substr(0, address.value.find('@')) : address.value;
    if (!ctx.store.create_user(user))
        fail(409, "EXISTS", "this address was registered at the same moment: try again");
    g_message("login: new user %s (%s) in app %s", user.id.c_str(), address.value.c_str(),
              app.id.c_str());
    return user;
}

Reply login(Context& ctx, Request& req)
{
    const Address address = address_of(req);
    std::optional<std::string> name;
    if (auto n = req.string_field("name"))
        name = check_text(*n, "name", 1, 128);
    const App app = app_of(ctx, req);
    auto code = req.string_field("code");
    Reply reply;

    if (!code) {
        auto sent = ctx.otp.request(app.id, address.value, name.value_or(""), req.client_ip());
        if (sent.result == OtpService::SendResult::RateLimited)
            rate_limited(sent.retry_after_ms);
        reply.body.set("sent", true)
            .set("address", address.value)
            .set("resent", sent.result == OtpService::SendResult::Resent)
            .set("expires_at", sent.expires_at);
        return reply;
    }

    if (code->size() != 6 || code->find_first_not_of("0123456789") != std::string::npos)
        fail(400, "BADREQUEST", "'code' must be the 6 digits that were sent");
    auto checked = ctx.otp.verify(app.id, address.value, *code, req.client_ip());
    switch (checked.result) {
        case OtpService::CheckResult::RateLimited:
            rate_limited(checked.retry_after_ms);
        case OtpService::CheckResult::Expired:
            fail(401, "CODEEXPIRED",
                 "no valid code for this address: it expired or was never "
                 "sent; ask for a new one");
        case OtpService::CheckResult::Wrong:
            if (checked.attempts_left == 0)
                fail(401, "BADCODE",
                     "wrong code; too many wrong tries burnt it, ask for a new one");
            fail(401, "BADCODE", "wrong code; tries left: %d", checked.attempts_left);
        case OtpService::CheckResult::Ok:
            break;
    }
    if (!name && !checked.name.empty())
        name = checked.name;
    User user = sign_up_or_in(ctx, app, address, name);
    auto [token, secret] = ctx.auth.issue_token(user, ctx.config.token_ttl);
    reply.body.set("token", secret)
        .set("token_id", token.id)
        .set("expires_at", token.expires_at)
        .set("app_id", app.id)
        .set("user", user_json(user, true));
    return reply;
}

Reply logout(Context& ctx, Request& req)
{
    Principal me = require_user(ctx, req);
    ctx.store.revoke_token(me.app.id, me.token.id, ctx.clock());
    Reply reply;
    reply.body.set("ok", true);
    return reply;
}

}  // namespace

void add_login_routes(Router& router)
{
    router.add("POST", "/api/v1/login", login);
    router.add("POST", "/api/v1/logout", logout);
}

}  // namespace zumzi
