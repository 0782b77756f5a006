#include "membership.h"

#include "crypto.h"
#include "permissions.h"

namespace zumzi {

Room load_room(Context& ctx, const Principal& me, const std::string& id)
{
    auto room = ctx.store.find_room(me.app.id, id);
    if (!room)
        fail(404, "NOTFOUND", "no such room");
    return *room;
}

std::optional<Member> find_membership(Context& ctx, const Room& room, const Principal& me)
{
    auto member = ctx.store.find_member(room.id, me.user.id);
    if (!member && room.owner_id == me.user.id) {
        member = Member{room.id, me.user.id, me.user.name, "owner", kAllPermissions, ctx.clock()};
        ctx.store.put_member(*member);
    }
    return member;
}

Member require_membership(Context& ctx, const Room& room, const Principal& me)
{
    auto member = find_membership(ctx, room, me);
    if (!member)
        fail(403, "NOTMEMBER", "join the room first");
    return *member;
}

std::optional<std::string> role_for_pin(const Room& room, const std::string& pin)
{
    if (constant_time_equal(pin, room.participant_pin))
        return std::string("publisher");
    if (constant_time_equal(pin, room.viewer_pin))
        return std::string("viewer");
    return std::nullopt;
}

void require_not_removed(Context& ctx, const Room& room, const std::string& user_id)
{
    if (user_id != room.owner_id && ctx.store.is_banned(room.id, user_id))
        fail(403, "REMOVED", "a moderator removed you from this room");
}

Member join_room(Context& ctx, const Principal& me, const Room& room,
                 const std::optional<std::string>& pin)
{
    auto existing = find_membership(ctx, room, me);
    if (!existing)
        require_not_removed(ctx, room, me.user.id);
    if (!pin) {
        if (existing)
            return *existing;
        fail(400, "BADREQUEST", "'pin' is required to join");
    }
    if (existing && existing->role == "owner")
        return *existing;

    const int64_t now = ctx.clock();
    if (!ctx.pin_failures.allows(me.user.id, now))
        fail_rate_limited(ctx.pin_failures.retry_after(me.user.id, now),
                          "too many wrong PINs: try again later");
    const auto granted = role_for_pin(room, *pin);
    if (!granted) {
        ctx.pin_failures.hit(me.user.id, now);
        fail(403, "BADPIN", "wrong PIN for this room");
    }
    const std::string role = *granted;

    if (existing) {
        if (existing->role == "viewer" && role == "publisher") {
            existing->role = role;
            existing->permissions |= kPublish;
            ctx.store.put_member(*existing);
        }
        return *existing;
    }
    if (room.locked)
        fail(403, "LOCKED", "the room is locked: no new members may join");
    Member member{room.id, me.user.id, me.user.name, role, role_permissions(role), now};
    ctx.store.put_member(member);
    return member;
}

}  // namespace zumzi
