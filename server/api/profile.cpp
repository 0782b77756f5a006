// GET|PUT /api/v1/profile: the signed-in user's name, status and photo.
#include "context.h"
#include "routes.h"
#include "validate.h"
#include "views.h"

namespace zumzi {

namespace {

Reply get_profile(Context& ctx, Request& req)
{
    Principal me = require_user(ctx, req);
    Reply reply;
    reply.body = user_json(me.user, true);
    return reply;
}

Reply put_profile(Context& ctx, Request& req)
{
    Principal me = require_user(ctx, req);
    User user = me.user;
    auto name = req.string_field("name");
    auto status = req.string_field("status");
    auto photo = req.string_field("photo_url");
    if (!name && !status && !photo)
        fail(400, "BADREQUEST", "give at least one of 'name', 'status', 'photo_url'");
    if (name)
        user.name = check_text(*name, "name", 1, 128);
    if (status)
        user.status = check_text(*status, "status", 0, 256);
    if (photo)
        user.photo_url = check_url(*photo, "photo_url");
    ctx.store.update_profile(user);
    Reply reply;
    reply.body = user_json(user, true);
    return reply;
}

}  // namespace

void add_profile_routes(Router& router)
{
    router.add("GET", "/api/v1/profile", get_profile);
    router.add("PUT", "/api/v1/profile", put_profile);
}

}  // namespace zumzi
