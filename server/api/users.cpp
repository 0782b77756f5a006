// GET /api/v1/users/{id}: another user's public profile (name, status,
// photo), in the caller's app only; what a client shows for someone who
// is not among its contacts (the title of a 1-1 conversation). E-mail and
// phone stay private here, as in the contact list.
#include "context.h"
#include "routes.h"
#include "views.h"

namespace zumzi {

namespace {

Reply get_user(Context& ctx, Request& req)
{
    Principal me = require_user(ctx, req);
    auto user = ctx.store.find_user(me.app.id, req.param(0));
    if (!user)
        fail(404, "NOTFOUND", "no such user");
    Reply reply;
    reply.body = user_json(*user, false);
    return reply;
}

}  // namespace

void add_users_routes(Router& router)
{
    router.add("GET", "/api/v1/users/{id}", get_user);
}

}  // namespace zumzi
