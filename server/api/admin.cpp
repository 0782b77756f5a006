// Server-to-server API under /api/v1/admin, authenticated with the app's API
// key: the app's users and their access tokens. Everything is scoped to the
// key's app.
#include <climits>

#include "context.h"
#include "routes.h"
#include "validate.h"
#include "views.h"

namespace zumzi {

namespace {

User load_user(Context& ctx, const App& app, const std::string& id)
{
    auto user = ctx.store.find_user(app.id, id);
    if (!user)
        fail(404, "NOTFOUND", "no such user in this app");
    return *user;
}

Reply get_app(Context& ctx, Request& req)
{
    App app = require_app_key(ctx, req);
    Reply reply;
    reply.body.set("id", app.id)
        .set("name", app.name)
        .set("is_default", app.is_default)
        .set("created_at", app.created_at);
    return reply;
}

Reply create_user(Context& ctx, Request& req)
{
    App app = require_app_key(ctx, req);
    User user;
    user.app_id = app.id;
    auto email = req.string_field("email");
    auto phone = req.string_field("phone");
    if (!email && !phone)
        fail(400, "BADREQUEST", "'email' or 'phone' is required");
    if (email)
        user.email = normalize_email(*email);
    if (phone)
        user.phone = normalize_phone(*phone);
    if (auto name = req.string_field("name"))
        user.name = check_text(*name, "name", 1, 128);
    else
        user.name = !user.email.empty() ? user.email.substr(0, user.email.find('@')) : user.phone;
    if (auto status = req.string_field("status"))
        user.status = check_text(*status, "status", 0, 256);
    if (auto photo = req.string_field("photo_url"))
        user.photo_url = check_url(*photo, "photo_url");
    if (!ctx.store.create_user(user))
        fail(409, "EXISTS", "a user with this email or phone already exists in this app");
    Reply reply;
    reply.status = 201;
    reply.location = "/api/v1/admin/users/" + user.id;
    reply.body = user_json(user, true);
    return reply;
}

Reply list_users(Context& ctx, Request& req)
{
    App app = require_app_key(ctx, req);
    const int limit = query_int(req.query("limit"), "limit", 100, 1, 1000);
    const int offset = query_int(req.query("offset"), "offset", 0, 0, INT_MAX);
    std::vector<JsonOut> users;
    for (const User& u : ctx.store.list_users(app.id, limit, offset))
        users.push_back(user_json(u, true));
    Reply reply;
    reply.body.set("users", std::move(users)).set("limit", limit).set("offset", offset);
    return reply;
}

Reply get_user(Context& ctx, Request& req)
{
    App app = require_app_key(ctx, req);
    Reply reply;
    reply.body = user_json(load_user(ctx, app, req.param(0)), true);
    return reply;
}

Reply delete_user(Context& ctx, Request& req)
{
    App app = require_app_key(ctx, req);
    if (!ctx.store.delete_user(app.id, req.param(0)))
        fail(404, "NOTFOUND", "no such user in this app");
    Reply reply;
    reply.body.set("ok", true);
    return reply;
}

Reply issue_token(Context& ctx, Request& req)
{
    App app = require_app_key(ctx, req);
    User user = load_user(ctx, app, req.param(0));
    int64_t ttl = ctx.config.token_ttl;
    if (auto t = req.int_field("ttl")) {
        if (*t < 60 || *t > 365LL * 24 * 3600)
            fail(400, "BADREQUEST", "'ttl' must be from 60 seconds to one year");
        ttl = *t;
    }
    auto [token, secret] = ctx.auth.issue_token(user, ttl);
    Reply reply;
    reply.status = 201;
    reply.location = "/api/v1/admin/tokens/" + token.id;
    reply.body = token_json(token);
    reply.body.set("token", secret);
    return reply;
}

Reply list_tokens(Context& ctx, Request& req)
{
    App app = require_app_key(ctx, req);
    User user = load_user(ctx, app, req.param(0));
    std::vector<JsonOut> tokens;
    for (const AccessToken& t : ctx.store.list_tokens(user.id))
        tokens.push_back(token_json(t));
    Reply reply;
    reply.body.set("tokens", std::move(tokens));
    return reply;
}

Reply revoke_user_tokens(Context& ctx, Request& req)
{
    App app = require_app_key(ctx, req);
    User user = load_user(ctx, app, req.param(0));
    const int revoked = ctx.store.revoke_user_tokens(user.id, ctx.clock());
    Reply reply;
    reply.body.set("revoked", revoked);
    return reply;
}

Reply revoke_token(Context& ctx, Request& req)
{
    App app = require_app_key(ctx, req);
    if (!ctx.store.revoke_token(app.id, req.param(0), ctx.clock()))
        fail(404, "NOTFOUND", "no such active token in this app");
    Reply reply;
    reply.body.set("ok", true);
    return reply;
}

}  // namespace

void add_admin_routes(Router& router)
{
    router.add("GET", "/api/v1/admin/app", get_app);
    router.add("POST", "/api/v1/admin/users", create_user);
    router.add("GET", "/api/v1/admin/users", list_users);
    router.add("GET", "/api/v1/admin/users/{id}", get_user);
    router.add("DELETE", "/api/v1/admin/users/{id}", delete_user);
    router.add("POST", "/api/v1/admin/users/{id}/tokens", issue_token);
    router.add("GET", "/api/v1/admin/users/{id}/tokens", list_tokens);
    router.add("DELETE", "/api/v1/admin/users/{id}/tokens", revoke_user_tokens);
    router.add("DELETE", "/api/v1/admin/tokens/{id}", revoke_token);
}

}  // namespace zumzi
