#include "views.h"

#include "../permissions.h"
#include "preset.h"

namespace zumzi {

JsonOut user_json(const User& user, bool with_contact)
{
    JsonOut out;
    out.set("id", user.id)
        .set("name", user.name)
        .set("status", user.status)
        .set("photo_url", user.photo_url);
    if (with_contact) {
        if (user.email.empty())
            out.set_null("email");
        else
            out.set("email", user.email);
        if (user.phone.empty())
            out.set_null("phone");
        else
            out.set("phone", user.phone);
        out.set("created_at", user.created_at);
    }
    return out;
}

JsonOut token_json(const AccessToken& token)
{
    JsonOut out;
    out.set("id", token.id)
        .set("user_id", token.user_id)
        .set("created_at", token.created_at)
        .set("expires_at", token.expires_at)
        .set("revoked", token.revoked);
    return out;
}

JsonOut room_json(const Room& room, const Member* membership, bool show_pins)
{
    JsonOut out;
    out.set("id", room.id).set("name", room.name).set("preset", room.preset);
    if (const Preset* p = find_preset(room.preset)) {
        out.set("width", p->width).set("height", p->height).set("framerate", p->framerate);
    }
    out.set("owner_id", room.owner_id)
        .set("locked", room.locked)
        .set("last_n", static_cast<int64_t>(room.last_n))
        .set("created_at", room.created_at);
    if (show_pins) {
        out.set("participant_pin", room.participant_pin).set("viewer_pin", room.viewer_pin);
    }
    if (membership) {
        out.set("role", membership->role)
            .set("permissions", permission_names(membership->permissions));
    }
    return out;
}

JsonOut member_json(const Member& member)
{
    JsonOut out;
    out.set("user_id", member.user_id)
        .set("name", member.user_name)
        .set("role", member.role)
        .set("permissions", permission_names(member.permissions))
        .set("joined_at", member.joined_at);
    return out;
}

JsonOut ban_json(const RoomBan& ban)
{
    JsonOut out;
    out.set("user_id", ban.user_id).set("name", ban.user_name).set("by", ban.by).set("at", ban.at);
    return out;
}

JsonOut participant_json(const LiveParticipant& p)
{
    JsonOut out;
    out.set("participant_id", p.id)
        .set("user_id", p.user_id)
        .set("name", p.name)
        .set("role", p.role)
        .set("permissions", permission_names(p.permissions))
        .set("joined_at", p.joined_at);
    return out;
}

JsonOut track_json(const media::TrackInfo& track)
{
    JsonOut out;
    out.set("id", track.id)
        .set("participant_id", track.participant_id)
        .set("kind", media::to_string(track.kind))
        .set("codec", track.codec)
        .set("label", track.label)
        .set("msid", track.msid)
        .set("muted", track.muted);
    return out;
}

std::vector<JsonOut> ice_servers_json(const Config& config)
{
    std::vector<JsonOut> servers;
    if (g_str_has_prefix(config.stun_server.c_str(), "stun://")) {
        JsonOut stun;
        stun.set("urls", std::vector<std::string>{"stun:" + config.stun_server.substr(7)});
        servers.push_back(std::move(stun));
    }
    std::vector<TurnServer> turn;
    if (parse_turn_servers(config.turn_servers, turn, nullptr))
        for (const TurnServer& t : turn) {
            // RFC 7065 URIs, as RTCPeerConnection takes them.
            std::string host = t.host.find(':') != std::string::npos ? "[" + t.host + "]" : t.host;
            std::string url = t.scheme + ":" + host + ":" + std::to_string(t.port);
            if (!t.transport.empty())
                url += "?transport=" + t.transport;
            JsonOut out;
            out.set("urls", std::vector<std::string>{url})
                .set("username", t.username)
                .set("credential", t.credential);
            servers.push_back(std::move(out));
        }
    return servers;
}

}  // namespace zumzi
