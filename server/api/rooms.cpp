// Rooms, the data side: create, list mine, read, edit, delete, join with a
// PIN, and the member list with per-member permissions. What moderators do
// (and what follows live) is in moderation.cpp.
#include <glib.h>

#include "../crypto.h"
#include "../live_output.h"
#include "../membership.h"
#include "../moderation.h"
#include "../permissions.h"
#include "context.h"
#include "preset.h"
#include "room_registry.h"
#include "routes.h"
#include "validate.h"
#include "views.h"

namespace zumzi {

namespace {

void require_permission(const Member& member, Permission p, const char* what)
{
    if (!has_permission(member.permissions, p))
        fail(403, "PERMISSION", "you may not %s", what);
}

Reply room_reply(const Room& room, const Member& member, int status = 200)
{
    Reply reply;
    reply.status = status;
    reply.body = room_json(room, &member, member.role == "owner");
    return reply;
}

Reply create_room(Context& ctx, Request& req)
{
    Principal me = require_user(ctx, req);
    Room room;
    room.name = check_text(req.required_string("name"), "name", 1, 128);
    room.preset = check_preset(req.string_field("preset").value_or("default"));
    room.last_n = check_last_n(req.int_field("last_n"));
    room.id = random_id("", 10);
    room.app_id = me.app.id;
    room.owner_id = me.user.id;
    room.participant_pin = random_digits(8);
    do {
        room.viewer_pin = random_digits(8);
    } while (room.viewer_pin == room.participant_pin);
    room.created_at = ctx.clock();
    Member owner{room.id, me.user.id, me.user.name, "owner", kAllPermissions, room.created_at};
    ctx.store.create_room(room, owner);
    Reply reply = room_reply(room, owner, 201);
    reply.location = "/api/v1/rooms/" + room.id;
    return reply;
}

Reply list_rooms(Context& ctx, Request& req)
{
    Principal me = require_user(ctx, req);
    std::vector<JsonOut> rooms;
    for (const Room& room : ctx.store.rooms_of_user(me.app.id, me.user.id)) {
        auto member = find_membership(ctx, room, me);
        rooms.push_back(room_json(room, member ? &*member : nullptr, room.owner_id == me.user.id));
    }
    Reply reply;
    reply.body.set("rooms", std::move(rooms));
    return reply;
}

Reply get_room(Context& ctx, Request& req)
{
    Principal me = require_user(ctx, req);
    Room room = load_room(ctx, me, req.param(0));
    return room_reply(room, require_membership(ctx, room, me));
}

Moderation& moderation(Context& ctx)
{
    if (!ctx.moderation)
        fail(500, "INTERNAL", "the server could not complete the request");
    return *ctx.moderation;
}

Reply edit_room(Context& ctx, Request& req)
{
    Principal me = require_user(ctx, req);
    Member caller;
    Room room = moderation(ctx).edit_room(me, req.param(0), JsonFields(req.json()), caller);
    return room_reply(room, caller);
}

Reply delete_room(Context& ctx, Request& req)
{
    Principal me = require_user(ctx, req);
    Room room = load_room(ctx, me, req.param(0));
    if (room.owner_id != me.user.id) {
        require_membership(ctx, room, me);
        fail(403, "PERMISSION", "only the owner may delete the room");
    }
    ctx.store.delete_room(me.app.id, room.id);
    if (ctx.live_outputs)
        ctx.live_outputs->room_deleted(room.id);
    Reply reply;
    reply.body.set("ok", true);
    return reply;
}

Reply post_join(Context& ctx, Request& req)
{
    Principal me = require_user(ctx, req);
    Room room = load_room(ctx, me, req.param(0));
    Member member = join_room(ctx, me, room, req.string_field("pin"));
    // A viewer who came back with the participant PIN publishes at once.
    if (ctx.moderation)
        ctx.moderation->apply_member(room, member);
    return room_reply(room, member);
}

Reply list_members(Context& ctx, Request& req)
{
    Principal me = require_user(ctx, req);
    Room room = load_room(ctx, me, req.param(0));
    require_permission(require_membership(ctx, room, me), kList,
                       "list the participants of this room");
    std::vector<JsonOut> members;
    for (const Member& m : ctx.store.list_members(room.id))
        members.push_back(member_json(m));
    Reply reply;
    reply.body.set("members", std::move(members));
    return reply;
}

Reply edit_member(Context& ctx, Request& req)
{
    Principal me = require_user(ctx, req);
    Reply reply;
    reply.body = member_json(
        moderation(ctx).set_permissions(me, req.param(0), req.param(1), JsonFields(req.json())));
    return reply;
}

Reply remove_member(Context& ctx, Request& req)
{
    Principal me = require_user(ctx, req);
    moderation(ctx).remove_member(me, req.param(0), req.param(1));
    Reply reply;
    reply.body.set("ok", true);
    return reply;
}

Reply mute_member(Context& ctx, Request& req)
{
    Principal me = require_user(ctx, req);
    std::vector<std::string> muted =
        moderation(ctx).mute_member(me, req.param(0), req.param(1), JsonFields(req.json()));
    Reply reply;
    reply.body.set("ok", true).set("muted", muted);
    return reply;
}

Reply list_bans(Context& ctx, Request& req)
{
    Principal me = require_user(ctx, req);
    std::vector<JsonOut> bans;
    for (const RoomBan& ban : moderation(ctx).bans(me, req.param(0)))
        bans.push_back(ban_json(ban));
    Reply reply;
    reply.body.set("bans", std::move(bans));
    return reply;
}

Reply readmit(Context& ctx, Request& req)
{
    Principal me = require_user(ctx, req);
    moderation(ctx).readmit(me, req.param(0), req.param(1));
    Reply reply;
    reply.body.set("ok", true);
    return reply;
}

Reply list_presets(Context&, Request&)
{
    std::vector<JsonOut> presets;
    for (const Preset& p : all_presets()) {
        JsonOut out;
        out.set("name", std::string(p.name))
            .set("width", p.width)
            .set("height", p.height)
            .set("framerate", p.framerate)
            .set("video_kbps", p.video_kbps);
        presets.push_back(std::move(out));
    }
    Reply reply;
    reply.body.set("presets", std::move(presets));
    return reply;
}

}  // namespace

void add_rooms_routes(Router& router)
{
    router.add("GET", "/api/v1/presets", list_presets);
    router.add("POST", "/api/v1/rooms", create_room);
    router.add("GET", "/api/v1/rooms", list_rooms);
    router.add("GET", "/api/v1/rooms/{id}", get_room);
    router.add("PATCH", "/api/v1/rooms/{id}", edit_room);
    router.add("DELETE", "/api/v1/rooms/{id}", delete_room);
    router.add("POST", "/api/v1/rooms/{id}/join", post_join);
    router.add("GET", "/api/v1/rooms/{id}/members", list_members);
    router.add("PATCH", "/api/v1/rooms/{id}/members/{user}", edit_member);
    router.add("DELETE", "/api/v1/rooms/{id}/members/{user}", remove_member);
    router.add("POST", "/api/v1/rooms/{id}/members/{user}/mute", mute_member);
    router.add("GET", "/api/v1/rooms/{id}/bans", list_bans);
    router.add("DELETE", "/api/v1/rooms/{id}/bans/{user}", readmit);
}

}  // namespace zumzi
