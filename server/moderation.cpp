#include "moderation.h"

#include "api/validate.h"
#include "api/views.h"
#include "api/whip.h"
#include "live_output.h"
#include "membership.h"
#include "permissions.h"
#include "ws_session.h"

namespace zumzi {

namespace {

void require_permission(const Member& member, Permission p, const char* what)
{
    if (!has_permission(member.permissions, p))
        fail(403, "PERMISSION", "you may not %s", what);
}

// 'kind' of a mute: "audio" (the default), "video" or "all".
std::string mute_kind(const JsonFields& fields)
{
    const std::string kind = fields.string_field("kind").value_or("audio");
    if (kind != "audio" && kind != "video" && kind != "all")
        fail(400, "BADREQUEST", "'kind' must be \"audio\", \"video\" or \"all\"");
    return kind;
}

bool kind_matches(const std::string& kind, media::TrackKind track)
{
    return kind == "all" || (kind == "audio") == (track == media::TrackKind::Audio);
}

}  // namespace

Moderation::Moderation(Context& ctx, Hub& hub, LiveRooms& live, media::RoomRegistry& media,
                       FindSession find_session)
    : ctx_(ctx), hub_(hub), live_(live), media_(media), find_session_(std::move(find_session))
{
}

// ---- the room ---------------------------------------------------------------

Room Moderation::edit_room(const Principal& me, const std::string& room_id,
                           const JsonFields& fields, Member& caller)
{
    Room room = load_room(ctx_, me, room_id);
    caller = require_membership(ctx_, room, me);
    // Which permission it needs depends on the fields: read them first.
    auto name = fields.string_field("name");
    auto preset = fields.string_field("preset");
    auto locked = fields.bool_field("locked");
    const bool has_last_n = fields.has_field("last_n");
    if (!name && !preset && !locked && !has_last_n)
        fail(400, "BADREQUEST", "give at least one of 'name', 'preset', 'locked', 'last_n'");
    if ((name || preset) && room.owner_id != me.user.id)
        fail(403, "PERMISSION", "only the owner may rename the room or change its preset");
    if (locked)
        require_permission(caller, kModerate, "lock or unlock this room");
    if (has_last_n)
        require_permission(caller, kModerate, "change the room's last-N");
    const int new_last_n = has_last_n ? check_last_n(fields.int_field("last_n")) : room.last_n;
    if (name)
        room.name = check_text(*name, "name", 1, 128);
    if (preset)
        room.preset = check_preset(*preset);
    if (locked)
        room.locked = *locked;
    room.last_n = new_last_n;
    ctx_.store.update_room(room);
    // A live room follows at once.
    if (has_last_n)
        media_.set_last_n(room.id, static_cast<unsigned>(room.last_n));
    if (preset)
        media_.set_preset(room.id, room.preset);
    if (preset && ctx_.live_outputs)
        ctx_.live_outputs->preset_changed(room.id, room.preset);
    room_changed(room);
    return room;
}

Room Moderation::lock_room(const Principal& me, const std::string& room_id, bool locked)
{
    Room room = load_room(ctx_, me, room_id);
    require_permission(require_membership(ctx_, room, me), kModerate, "lock or unlock this room");
    room.locked = locked;
    ctx_.store.update_room(room);
    room_changed(room);
    return room;
}

void Moderation::room_changed(const Room& room)
{
    for (const LiveParticipant& p : live_.participants(room.id)) {
        WsSession* session = p.session_id ? find_session_(p.session_id) : nullptr;
        if (!session)
            continue;  // WHIP/WHEP sessions have no signaling channel
        const Member as{room.id, p.user_id, p.name, p.role, p.permissions, p.joined_at};
        JsonOut out;
        out.set("type", "room_updated")
            .set("room", room_json(room, &as, p.user_id == room.owner_id));
        session->send(to_json_text(std::move(out)));
    }
}

// ---- members ----------------------------------------------------------------

Member Moderation::set_permissions(const Principal& me, const std::string& room_id,
                                   const std::string& user_id, const JsonFields& fields)
{
    Room room = load_room(ctx_, me, room_id);
    require_permission(require_membership(ctx_, room, me), kModerate,
                       "change members' permissions in this room");
    auto target = ctx_.store.find_member(room.id, user_id);
    if (!target)
        fail(404, "NOTFOUND", "no such member in this room");
    if (target->role == "owner")
        fail(403, "PERMISSION", "the owner's permissions cannot be changed");
    auto names = fields.string_list_field("permissions");
    if (!names)
        fail(400, "BADREQUEST", "'permissions' is required");
    auto flags = parse_permission_names(*names);
    if (!flags)
        fail(400, "BADREQUEST",
             "'permissions' may hold publish, subscribe, list, chat_send, chat_receive, "
             "record, moderate");
    target->permissions = *flags;
    ctx_.store.put_member(*target);
    apply_member(room, *target);
    return *target;
}

void Moderation::apply_member(const Room& room, const Member& member)
{
    auto media_room = media_.find(room.id);
    for (const LiveParticipant& p : live_.participants(room.id)) {
        if (p.user_id != member.user_id ||
            (p.role == member.role && p.permissions == member.permissions))
            continue;
        const uint32_t changed = p.permissions ^ member.permissions;
        live_.update(room.id, p.id, member.role, member.permissions);
        if (p.session_id) {
            if (WsSession* session = find_session_(p.session_id))
                session->set_permissions(room.id, member.permissions);
            // The engine follows: tracks withheld or published again,
            // forwarding to this participant paused or resumed.
            if (media_room && (changed & kPublish))
                media_room->set_may_publish(p.id, has_permission(member.permissions, kPublish));
            if (media_room && (changed & kSubscribe))
                media_room->set_receiving(p.id, has_permission(member.permissions, kSubscribe));
        } else if (ctx_.whip) {
            // A WHIP/WHEP session that may no longer do its one thing ends.
            ctx_.whip->permissions_changed(room.id, p.id, member.permissions);
        }
        const LiveParticipant* updated = live_.find(room.id, p.id);
        if (!updated)
            continue;  // its session ended
        JsonOut event;
        event.set("type", "participant_updated")
            .set("room", room.id)
            .set("participant", participant_json(*updated));
        hub_.publish(room_topic(room.id), to_json_text(std::move(event)));
    }
}

void Moderation::remove_member(const Principal& me, const std::string& room_id,
                               const std::string& user_id)
{
    Room room = load_room(ctx_, me, room_id);
    Member caller = require_membership(ctx_, room, me);
    const bool self = user_id == me.user.id;
    if (!self)
        require_permission(caller, kModerate, "remove members from this room");
    if (user_id == room.owner_id)
        fail(403, "PERMISSION", "the owner cannot leave or be removed; delete the room instead");
    const bool removed = self ? ctx_.store.delete_member(room.id, user_id)
                              : ctx_.store.remove_and_ban_member(
                                    RoomBan{room.id, user_id, "", me.user.id, ctx_.clock()});
    if (!removed)
        fail(404, "NOTFOUND", "no such member in this room");
    end_live(room.id, user_id, self ? "left" : "removed");
}

void Moderation::end_live(const std::string& room_id, const std::string& user_id,
                          const std::string& reason)
{
    for (const LiveParticipant& p : live_.participants(room_id)) {
        if (p.user_id != user_id)
            continue;
        if (p.session_id) {
            if (WsSession* session = find_session_(p.session_id))
                session->remove_from(room_id, reason);
        } else if (ctx_.whip) {
            ctx_.whip->end_participant(room_id, p.id, reason);
        }
    }
}

std::vector<RoomBan> Moderation::bans(const Principal& me, const std::string& room_id)
{
    Room room = load_room(ctx_, me, room_id);
    require_permission(require_membership(ctx_, room, me), kModerate,
                       "see who was removed from this room");
    return ctx_.store.list_bans(room.id);
}

void Moderation::readmit(const Principal& me, const std::string& room_id,
                         const std::string& user_id)
{
    Room room = load_room(ctx_, me, room_id);
    require_permission(require_membership(ctx_, room, me), kModerate,
                       "let removed members back into this room");
    if (!ctx_.store.delete_ban(room.id, user_id))
        fail(404, "NOTFOUND", "no such removed member in this room");
}

// ---- mute -------------------------------------------------------------------

std::vector<std::string> Moderation::mute_member(const Principal& me, const std::string& room_id,
                                                 const std::string& user_id,
                                                 const JsonFields& fields)
{
    Room room = load_room(ctx_, me, room_id);
    require_permission(require_membership(ctx_, room, me), kModerate,
                       "mute participants in this room");
    if (user_id != room.owner_id && !ctx_.store.find_member(room.id, user_id))
        fail(404, "NOTFOUND", "no such member in this room");
    const std::string kind = mute_kind(fields);
    std::vector<std::string> participants;
    for (const LiveParticipant& p : live_.participants(room.id))
        if (p.user_id == user_id)
            participants.push_back(p.id);
    return mute(room.id, participants, kind, me.user.id);
}

std::vector<std::string> Moderation::mute_participant(const Principal& me,
                                                      const std::string& room_id,
                                                      const std::string& participant_id,
                                                      const JsonFields& fields)
{
    Room room = load_room(ctx_, me, room_id);
    require_permission(require_membership(ctx_, room, me), kModerate,
                       "mute participants in this room");
    if (!live_.find(room.id, participant_id))
        fail(404, "NOTFOUND", "no participant '%s' in this room", participant_id.c_str());
    return mute(room.id, {participant_id}, mute_kind(fields), me.user.id);
}

std::vector<std::string> Moderation::mute(const std::string& room_id,
                                          const std::vector<std::string>& participant_ids,
                                          const std::string& kind, const std::string& by)
{
    std::vector<std::string> muted;
    auto room = media_.find(room_id);
    if (!room)
        return muted;
    struct Actor {  // the engine reports each mute synchronously, with "by"
        std::string& slot;
        Actor(std::string& s, const std::string& by) : slot(s) { slot = by; }
        ~Actor() { slot.clear(); }
    } actor(muting_by_, by);
    for (const media::TrackInfo& t : room->tracks()) {
        if (t.muted || !kind_matches(kind, t.kind))
            continue;
        bool ours = false;
        for (const std::string& id : participant_ids)
            ours = ours || id == t.participant_id;
        if (ours && room->set_track_muted(t.id, true))
            muted.push_back(t.id);
    }
    return muted;
}

}  // namespace zumzi
