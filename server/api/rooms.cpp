// Rooms, the data side: create, list mine, read, edit, delete, join with a
// PIN, and the member list with per-member permissions.
#include <glib.h>

#include "../crypto.h"
#include "../membership.h"
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

std::string check_preset(const std::string& value)
{
    const Preset* preset = find_preset(value);
    if (!preset) {
        std::string names;
        for (const Preset& p : all_presets())
            names += (names.empty() ? "" : ", ") + std::string(p.name);
        fail(400, "BADREQUEST", "'preset' must be one of %s", names.c_str());
    }
    return std::string(preset->name);
}

// Camera videos a room forwards at most (latest speakers first); 0: all.
constexpr int64_t kMaxLastN = 100;

int check_last_n(Request& req)
{
    auto value = req.int_field("last_n");
    if (!value)
        return 0;
    if (*value < 0 || *value > kMaxLastN)
        fail(400, "BADREQUEST", "'last_n' must be an integer from 0 (all) to %d",
             static_cast<int>(kMaxLastN));
    return static_cast<int>(*value);
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
    room.last_n = check_last_n(req);
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

Reply edit_room(Context& ctx, Request& req)
{
    Principal me = require_user(ctx, req);
    Room room = load_room(ctx, me, req.param(0));
    Member member = require_membership(ctx, room, me);
    auto name = req.string_field("name");
    auto preset = req.string_field("preset");
    auto locked = req.bool_field("locked");
    const bool last_n = req.has_field("last_n");
    if (!name && !preset && !locked && !last_n)
        fail(400, "BADREQUEST", "give at least one of 'name', 'preset', 'locked', 'last_n'");
    if ((name || preset) && room.owner_id != me.user.id)
        fail(403, "PERMISSION", "only the owner may rename the room or change its preset");
    if (locked)
        require_permission(member, kModerate, "lock or unlock this room");
    if (last_n)
        require_permission(member, kModerate, "change the room's last-N");
    const int new_last_n = last_n ? check_last_n(req) : room.last_n;
    if (name)
        room.name = check_text(*name, "name", 1, 128);
    if (preset)
        room.preset = check_preset(*preset);
    if (locked)
        room.locked = *locked;
    room.last_n = new_last_n;
    ctx.store.update_room(room);
    // A live room follows at once.
    if (last_n && ctx.media)
        ctx.media->set_last_n(room.id, static_cast<unsigned>(room.last_n));
    return room_reply(room, member);
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
    Reply reply;
    reply.body.set("ok", true);
    return reply;
}

Reply post_join(Context& ctx, Request& req)
{
    Principal me = require_user(ctx, req);
    Room room = load_room(ctx, me, req.param(0));
    return room_reply(room, join_room(ctx, me, room, req.string_field("pin")));
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
    Room room = load_room(ctx, me, req.param(0));
    require_permission(require_membership(ctx, room, me), kModerate,
                       "change members' permissions in this room");
    auto target = ctx.store.find_member(room.id, req.param(1));
    if (!target)
        fail(404, "NOTFOUND", "no such member in this room");
    if (target->role == "owner")
        fail(403, "PERMISSION", "the owner's permissions cannot be changed");
    auto names = req.string_list_field("permissions");
    if (!names)
        fail(400, "BADREQUEST", "'permissions' is required");
    auto flags = parse_permission_names(*names);
    if (!flags)
        fail(400, "BADREQUEST",
             "'permissions' may hold publish, subscribe, list, chat_send, chat_receive, "
             "record, moderate");
    target->permissions = *flags;
    ctx.store.put_member(*target);
    Reply reply;
    reply.body = member_json(*target);
    return reply;
}

Reply remove_member(Context& ctx, Request& req)
{
    Principal me = require_user(ctx, req);
    Room room = load_room(ctx, me, req.param(0));
    Member caller = require_membership(ctx, room, me);
    const std::string& user_id = req.param(1);
    if (user_id != me.user.id)
        require_permission(caller, kModerate, "remove members from this room");
    if (user_id == room.owner_id)
        fail(403, "PERMISSION", "the owner cannot leave or be removed; delete the room instead");
    if (!ctx.store.delete_member(room.id, user_id))
        fail(404, "NOTFOUND", "no such member in this room");
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
}

}  // namespace zumzi
