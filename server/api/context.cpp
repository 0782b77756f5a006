#include "context.h"

namespace zumzi {

Principal require_user(Context& ctx, Request& req)
{
    auto credential = Auth::bearer(req.header("Authorization"));
    if (!credential)
        fail(401, "AUTHFAIL", "missing 'Authorization: Bearer <access token>'");
    auto principal = ctx.auth.user_from_token(*credential);
    if (!principal)
        fail(401, "AUTHFAIL", "the access token is unknown, expired or revoked");
    return *principal;
}

App require_app_key(Context& ctx, Request& req)
{
    auto credential = Auth::bearer(req.header("Authorization"));
    if (!credential)
        fail(401, "AUTHFAIL", "missing 'Authorization: Bearer <API key>'");
    auto app = ctx.auth.app_from_api_key(*credential);
    if (!app)
        fail(401, "AUTHFAIL", "the API key is not valid");
    return *app;
}

}  // namespace zumzi
