// /api/v1/groups: chat groups. Create with a name and members, read, rename
// or change the photo (admins), add and remove members and admins (admins),
// leave, delete (the owner). Members of a group hear of every change on
// the WebSocket ("group_updated", "group_deleted").
#include <algorithm>
#include <set>

#include "../chat.h"
#include "../crypto.h"
#include "../files.h"
#include "context.h"
#include "routes.h"
#include "uploads.h"
#include "validate.h"
#include "views.h"

namespace zumzi {

namespace {

const size_t kMaxMembers = 1000;

JsonOut group_json(const Group& group, const std::vector<GroupMember>& members)
{
    std::vector<JsonOut> list;
    for (const GroupMember& m : members) {
        JsonOut member;
        member.set("user_id", m.user_id)
            .set("name", m.user_name)
            .set("role", m.role)
            .set("joined_at", m.joined_at);
        list.push_back(std::move(member));
    }
    JsonOut out;
    out.set("id", group.id)
        .set("conversation", "group:" + group.id)
        .set("name", group.name)
        .set("photo_url", group.photo_url)
        .set("owner_id", group.owner_id)
        .set("created_at", group.created_at)
        .set("members", std::move(list));
    return out;
}

Group load_group(Context& ctx, const Principal& me, const std::string& id)
{
    auto group = ctx.store.find_group(me.app.id, id);
    if (!group)
        fail(404, "NOTFOUND", "no such group");
    return *group;
}

GroupMember require_group_member(Context& ctx, const Group& group, const Principal& me)
{
    auto member = ctx.store.find_group_member(group.id, me.user.id);
    if (!member)
        fail(403, "NOTMEMBER", "you are not a member of this group");
    return *member;
}

GroupMember require_group_admin(Context& ctx, const Group& group, const Principal& me)
{
    GroupMember member = require_group_member(ctx, group, me);
    if (member.role != "owner" && member.role != "admin")
        fail(403, "PERMISSION", "only the group's admins may do this");
    return member;
}

std::vector<std::string> user_ids(const std::vector<GroupMember>& members)
{
    std::vector<std::string> out;
    for (const GroupMember& m : members)
        out.push_back(m.user_id);
    return out;
}

// Tells the members (and `also`, e.g. someone just removed) what the group
// looks like now.
Reply changed(Context& ctx, const Group& group, std::vector<std::string> also = {},
              int status = 200)
{
    const std::vector<GroupMember> members = ctx.store.list_group_members(group.id);
    JsonOut event;
    event.set("type", "group_updated").set("group", group_json(group, members));
    std::vector<std::string> to = user_ids(members);
    to.insert(to.end(), also.begin(), also.end());
    ctx.chat->publish(to, to_json_text(std::move(event)));
    Reply reply;
    reply.status = status;
    reply.body = group_json(group, members);
    return reply;
}

std::string check_role(const std::string& role)
{
    if (role != "admin" && role != "member")
        fail(400, "BADREQUEST", "'role' must be \"admin\" or \"member\"");
    return role;
}

Reply create_group(Context& ctx, Request& req)
{
    Principal me = require_user(ctx, req);
    Group group;
    group.id = random_id("g_", 12);
    group.app_id = me.app.id;
    group.owner_id = me.user.id;
    group.name = check_text(req.required_string("name"), "name", 1, 128);
    group.photo_url = check_url(req.string_field("photo_url").value_or(""), "photo_url");
    group.created_at = ctx.clock();
    const std::vector<std::string> ids =
        req.string_list_field("members").value_or(std::vector<std::string>{});
    if (ids.size() > kMaxMembers)
        fail(400, "BADREQUEST", "a group has at most %zu members", kMaxMembers);
    std::vector<GroupMember> members{
        {group.id, me.user.id, me.user.name, "owner", group.created_at}};
    std::set<std::string> seen{me.user.id};
    for (const std::string& id : ids) {
        if (!seen.insert(id).second)
            continue;
        auto user = ctx.store.find_user(me.app.id, id);
        if (!user)
            fail(404, "NOTFOUND", "no such user: %s", id.c_str());
        members.push_back({group.id, user->id, user->name, "member", group.created_at});
    }
    ctx.store.create_group(group, members);
    Reply reply = changed(ctx, group, {}, 201);
    reply.location = "/api/v1/groups/" + group.id;
    return reply;
}

Reply list_groups(Context& ctx, Request& req)
{
    Principal me = require_user(ctx, req);
    std::vector<JsonOut> list;
    for (const Group& g : ctx.store.groups_of_user(me.app.id, me.user.id))
        list.push_back(group_json(g, ctx.store.list_group_members(g.id)));
    Reply reply;
    reply.body.set("groups", std::move(list));
    return reply;
}

Reply get_group(Context& ctx, Request& req)
{
    Principal me = require_user(ctx, req);
    const Group group = load_group(ctx, me, req.param(0));
    require_group_member(ctx, group, me);
    Reply reply;
    reply.body = group_json(group, ctx.store.list_group_members(group.id));
    return reply;
}

Reply edit_group(Context& ctx, Request& req)
{
    Principal me = require_user(ctx, req);
    Group group = load_group(ctx, me, req.param(0));
    require_group_admin(ctx, group, me);
    auto name = req.string_field("name");
    auto photo = req.string_field("photo_url");
    if (!name && !photo)
        fail(400, "BADREQUEST", "give at least one of 'name', 'photo_url'");
    if (name)
        group.name = check_text(*name, "name", 1, 128);
    if (photo)
        group.photo_url = check_url(*photo, "photo_url");
    ctx.store.update_group(group);
    return changed(ctx, group);
}

Reply delete_group(Context& ctx, Request& req)
{
    Principal me = require_user(ctx, req);
    const Group group = load_group(ctx, me, req.param(0));
    require_group_member(ctx, group, me);
    if (group.owner_id != me.user.id)
        fail(403, "PERMISSION", "only the owner may delete the group");
    const std::vector<std::string> members = user_ids(ctx.store.list_group_members(group.id));
    ctx.store.delete_group(me.app.id, group.id);
    JsonOut event;
    event.set("type", "group_deleted").set("group_id", group.id);
    ctx.chat->publish(members, to_json_text(std::move(event)));
    Reply reply;
    reply.body.set("ok", true);
    return reply;
}

Reply add_member(Context& ctx, Request& req)
{
    Principal me = require_user(ctx, req);
    const Group group = load_group(ctx, me, req.param(0));
    require_group_admin(ctx, group, me);
    const std::string user_id = req.required_string("user_id");
    const std::string role = check_role(req.string_field("role").value_or("member"));
    auto user = ctx.store.find_user(me.app.id, user_id);
    if (!user)
        fail(404, "NOTFOUND", "no such user");
    if (ctx.store.find_group_member(group.id, user->id))
        fail(409, "EXISTS", "already a member of this group");
    if (ctx.store.list_group_members(group.id).size() >= kMaxMembers)
        fail(400, "BADREQUEST", "a group has at most %zu members", kMaxMembers);
    ctx.store.put_group_member({group.id, user->id, user->name, role, ctx.clock()});
    return changed(ctx, group, {}, 201);
}

Reply edit_member(Context& ctx, Request& req)
{
    Principal me = require_user(ctx, req);
    const Group group = load_group(ctx, me, req.param(0));
    require_group_admin(ctx, group, me);
    auto member = ctx.store.find_group_member(group.id, req.param(1));
    if (!member)
        fail(404, "NOTFOUND", "no such member");
    const std::string role = check_role(req.required_string("role"));
    if (member->role == "owner")
        fail(403, "PERMISSION", "the owner's role does not change");
    member->role = role;
    ctx.store.put_group_member(*member);
    return changed(ctx, group);
}

// An admin removes a member; anyone but the owner may remove themself
// (leave).
Reply remove_member(Context& ctx, Request& req)
{
    Principal me = require_user(ctx, req);
    const Group group = load_group(ctx, me, req.param(0));
    const std::string& user_id = req.param(1);
    if (user_id != me.user.id)
        require_group_admin(ctx, group, me);
    else
        require_group_member(ctx, group, me);
    auto member = ctx.store.find_group_member(group.id, user_id);
    if (!member)
        fail(404, "NOTFOUND", "no such member");
    if (member->role == "owner")
        fail(403, "PERMISSION", "the owner cannot leave the group; delete it instead");
    ctx.store.delete_group_member(group.id, user_id);
    return changed(ctx, group, {user_id});
}

// Admins upload the group's photo like a profile photo: its 100x100
// thumbnail, readable by everyone in the app, becomes photo_url.
Reply upload_group_photo(Context& ctx, Request& req)
{
    Principal me = require_user(ctx, req);
    Group group = load_group(ctx, me, req.param(0));
    require_group_admin(ctx, group, me);
    const std::string group_id = group.id;
    return store_upload_then(ctx, req, me, true, true, [&ctx, me, group_id](const File& file) {
        // The group as it is now: it may have changed while the picture decoded.
        Group now = load_group(ctx, me, group_id);
        require_group_admin(ctx, now, me);
        now.photo_url = "/api/v1/files/" + file.id + "/thumbnail";
        ctx.store.update_group(now);
        return changed(ctx, now);
    });
}

}  // namespace

void add_groups_routes(Router& router)
{
    router.add("POST", "/api/v1/groups", create_group);
    router.add("GET", "/api/v1/groups", list_groups);
    router.add("GET", "/api/v1/groups/{id}", get_group);
    router.add("PATCH", "/api/v1/groups/{id}", edit_group);
    router.add("POST", "/api/v1/groups/{id}/photo", upload_group_photo);
    router.add("DELETE", "/api/v1/groups/{id}", delete_group);
    router.add("POST", "/api/v1/groups/{id}/members", add_member);
    router.add("PATCH", "/api/v1/groups/{id}/members/{user}", edit_member);
    router.add("DELETE", "/api/v1/groups/{id}/members/{user}", remove_member);
}

}  // namespace zumzi
