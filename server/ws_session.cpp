#include "ws_session.h"

#include <algorithm>

#include "api/views.h"
#include "chat.h"
#include "live_output.h"
#include "membership.h"
#include "moderation.h"
#include "permissions.h"

namespace zumzi {

namespace {

// A reply carries the request's id back, whatever JSON scalar it was.
JsonOut reply(const char* type, JsonNode* id)
{
    JsonOut out;
    out.set("type", type);
    if (id)
        out.set_node("id", id);
    return out;
}

}  // namespace

WsSession::WsSession(uint64_t id, Context& ctx, Hub& hub, LiveRooms& live,
                     media::RoomRegistry& media, SoupWebsocketConnection* connection,
                     Principal principal, Closed closed)
    : id_(id),
      ctx_(ctx),
      hub_(hub),
      live_(live),
      media_(media),
      connection_(SOUP_WEBSOCKET_CONNECTION(g_object_ref(connection))),
      principal_(std::move(principal)),
      closed_(std::move(closed))
{
    soup_websocket_connection_set_max_incoming_payload_size(
        connection_, static_cast<guint64>(ctx_.config.max_body_bytes));
    soup_websocket_connection_set_keepalive_interval(connection_, 30);
    g_signal_connect(connection_, "message", G_CALLBACK(on_message), this);
    g_signal_connect(connection_, "closed", G_CALLBACK(on_closed), this);

    JsonOut welcome;
    welcome.set("type", "welcome")
        .set("session_id", std::to_string(id_))
        .set("user", user_json(principal_.user, true));
    send(to_json_text(std::move(welcome)));
    if (ctx_.chat)
        ctx_.chat->attach(*this);
}

WsSession::~WsSession()
{
    if (ctx_.chat)
        ctx_.chat->detach(*this);
    while (!rooms_.empty())
        leave(rooms_.begin()->first);
    g_signal_handlers_disconnect_by_data(connection_, this);
    if (soup_websocket_connection_get_state(connection_) == SOUP_WEBSOCKET_STATE_OPEN)
        soup_websocket_connection_close(connection_, SOUP_WEBSOCKET_CLOSE_GOING_AWAY, nullptr);
    g_object_unref(connection_);
}

void WsSession::send(const std::string& text)
{
    if (soup_websocket_connection_get_state(connection_) == SOUP_WEBSOCKET_STATE_OPEN)
        soup_websocket_connection_send_text(connection_, text.c_str());
}

void WsSession::on_message(SoupWebsocketConnection*, gint type, GBytes* message, gpointer self)
{
    auto* session = static_cast<WsSession*>(self);
    if (type != SOUP_WEBSOCKET_DATA_TEXT) {
        session->reply_error(nullptr, ApiError{400, "BADREQUEST", "send JSON text frames"});
        return;
    }
    gsize size = 0;
    const char* data = static_cast<const char*>(g_bytes_get_data(message, &size));
    session->handle(std::string_view(data, size));
}

void WsSession::on_closed(SoupWebsocketConnection*, gpointer self)
{
    auto* session = static_cast<WsSession*>(self);
    // The owner destroys us; leave the rooms now so others hear it at once.
    if (session->ctx_.chat)
        session->ctx_.chat->detach(*session);
    while (!session->rooms_.empty())
        session->leave(session->rooms_.begin()->first);
    if (session->closed_)
        session->closed_(session->id_);
}

void WsSession::handle(std::string_view text)
{
    g_autoptr(JsonParser) parser = json_parser_new_immutable();
    JsonNode* id = nullptr;
    try {
        JsonObject* object = parse_json_object(parser, text);
        id = json_object_get_member(object, "id");
        if (id && !JSON_NODE_HOLDS_VALUE(id) && !JSON_NODE_HOLDS_NULL(id)) {
            id = nullptr;
            fail(400, "BADREQUEST", "'id' must be a string or a number");
        }
        JsonFields fields(object);
        auto type = fields.string_field("type");
        if (!type)
            fail(400, "BADREQUEST", "'type' is required");
        if (*type == "ping")
            handle_ping(id);
        else if (*type == "join")
            handle_join(id, fields);
        else if (*type == "leave")
            handle_leave(id, fields);
        else if (*type == "publish")
            handle_publish(id, fields);
        else if (*type == "subscribe_answer")
            handle_subscribe_answer(id, fields);
        else if (*type == "ice")
            handle_ice(fields);
        else if (*type == "mute_track" || *type == "unmute_track")
            handle_mute(id, fields, *type == "mute_track");
        else if (*type == "subscribe_track" || *type == "unsubscribe_track")
            handle_track_subscription(id, fields, *type == "subscribe_track");
        else if (*type == "audio_only")
            handle_audio_only(id, fields);
        else if (*type == "set_permissions")
            handle_set_permissions(id, fields);
        else if (*type == "remove_participant")
            handle_remove_participant(id, fields);
        else if (*type == "readmit")
            handle_readmit(id, fields);
        else if (*type == "mute_participant")
            handle_mute_participant(id, fields);
        else if (*type == "lock_room")
            handle_lock_room(id, fields);
        else if (*type == "live_start")
            handle_live_start(id, fields);
        else if (*type == "live_stop")
            handle_live_stop(id, fields);
        else if (*type == "live_layout")
            handle_live_layout(id, fields);
        else if (ctx_.chat && ctx_.chat->handles(*type))
            ctx_.chat->handle(*this, *type, id, fields);
        else
            fail(400, "BADREQUEST", "unknown message type '%s'", type->c_str());
    } catch (const ApiError& e) {
        reply_error(id, e);
    } catch (const StoreError& e) {
        g_warning("ws session %" G_GUINT64_FORMAT ": store error: %s", id_, e.what());
        reply_error(id, ApiError{500, "INTERNAL", "the server could not complete the request"});
    }
}

void WsSession::reply_error(JsonNode* id, const ApiError& error)
{
    JsonOut inner;
    inner.set("code", error.code).set("message", error.message);
    if (error.retry_after_s > 0)
        inner.set("retry_after", error.retry_after_s);
    JsonOut out = reply("error", id);
    out.set("error", std::move(inner));
    send(to_json_text(std::move(out)));
}

void WsSession::handle_ping(JsonNode* id)
{
    JsonOut out = reply("pong", id);
    out.set("time", ctx_.clock());
    send(to_json_text(std::move(out)));
}

void WsSession::handle_join(JsonNode* id, const JsonFields& fields)
{
    const std::string room_id = fields.required_string("room");
    // "media": false: roster and chat only, no media sessions (a viewer
    // page that plays the HLS stream).
    const bool with_media = fields.bool_field("media").value_or(true);
    const Room room = load_room(ctx_, principal_, room_id);
    if (rooms_.count(room.id))
        fail(409, "ALREADYJOINED", "this connection is already in the room");
    const Member member = join_room(ctx_, principal_, room, fields.string_field("pin"));
    // A viewer who came back with the participant PIN publishes at once in
    // its other sessions too.
    if (ctx_.moderation)
        ctx_.moderation->apply_member(room, member);

    LiveParticipant me{"",          principal_.user.id, principal_.user.name,
                       member.role, member.permissions, id_,
                       ctx_.clock()};
    // Who was there before us, for the reply.
    const std::vector<LiveParticipant> others = live_.participants(room.id);
    const LiveParticipant& added = live_.add(room.id, me);

    Joined joined;
    joined.participant_id = added.id;
    joined.permissions = member.permissions;
    joined.room_handle =
        hub_.subscribe(room_topic(room.id), [this](const std::string& m) { send(m); });
    if (has_permission(member.permissions, kList))
        joined.roster_handle =
            hub_.subscribe(roster_topic(room.id), [this](const std::string& m) { send(m); });

    JsonOut event;
    event.set("type", "participant_joined")
        .set("room", room.id)
        .set("participant", participant_json(added));
    hub_.publish(roster_topic(room.id), to_json_text(std::move(event)), joined.roster_handle);
    rooms_.emplace(room.id, joined);

    std::vector<JsonOut> list;
    if (has_permission(member.permissions, kList))
        for (const LiveParticipant& p : others)
            list.push_back(participant_json(p));
    std::vector<JsonOut> tracks;
    if (auto live_room = media_.find(room.id))
        for (const media::TrackInfo& t : live_room->tracks())
            tracks.push_back(track_json(t));
    JsonOut out = reply("joined", id);
    out.set("room", room_json(room, &member, member.role == "owner"))
        .set("participant_id", joined.participant_id)
        .set("participants", std::move(list))
        .set("tracks", std::move(tracks))
        .set("ice_servers", ice_servers_json(ctx_.config))
        .set("media", with_media);
    if (ctx_.live_outputs)
        out.set("live", ctx_.live_outputs->live_json(room.id, member.permissions));
    send(to_json_text(std::move(out)));
    if (!with_media)
        return;

    // Into the media room last: its offers and candidates follow the reply.
    media_.set_last_n(room.id, static_cast<unsigned>(room.last_n));
    media_.set_preset(room.id, room.preset);
    auto participant = media_.join(room.id, joined.participant_id, media_callbacks(room.id),
                                   has_permission(member.permissions, kSubscribe));
    auto it = rooms_.find(room.id);
    if (it != rooms_.end()) {
        it->second.media = participant;
        watch_silence(room.id);
        if (ctx_.live_outputs)
            ctx_.live_outputs->participant_joined(room.id, joined.participant_id,
                                                  principal_.user.name);
    }
}

media::ParticipantCallbacks WsSession::media_callbacks(const std::string& room_id)
{
    std::weak_ptr<WsSession*> weak = self_;
    media::ParticipantCallbacks callbacks;
    callbacks.on_ice_candidate = [weak, room_id](media::Session session, unsigned mline,
                                                 const std::string& candidate) {
        auto self = weak.lock();
        if (!self)
            return;
        JsonOut out;
        out.set("type", "ice")
            .set("room", room_id)
            .set("session", media::to_string(session))
            .set("mline", static_cast<int64_t>(mline))
            .set("candidate", candidate);
        (*self)->send(to_json_text(std::move(out)));
    };
    callbacks.on_subscribe_offer = [weak, room_id](const std::string& sdp) {
        auto self = weak.lock();
        if (!self)
            return;
        JsonOut out;
        out.set("type", "subscribe_offer").set("room", room_id).set("sdp", sdp);
        (*self)->send(to_json_text(std::move(out)));
    };
    callbacks.on_connection_state = [weak, room_id](media::Session session,
                                                    const std::string& state) {
        if (auto self = weak.lock())
            (*self)->on_media_state(room_id, session, state);
    };
    // Negotiated but never connected (the client vanished, or never
    // answered): it would otherwise stay in the room forever.
    callbacks.on_connect_timeout = [weak, room_id](media::Session) {
        if (auto self = weak.lock())
            (*self)->media_timed_out(room_id, "never connected");
    };
    callbacks.on_error = [weak, room_id](media::Session session, const std::string& message) {
        auto self = weak.lock();
        if (!self)
            return;
        JsonOut inner;
        inner.set("code", "MEDIA").set("message", message);
        JsonOut out;
        out.set("type", "error")
            .set("room", room_id)
            .set("session", media::to_string(session))
            .set("error", std::move(inner));
        (*self)->send(to_json_text(std::move(out)));
    };
    return callbacks;
}

// A session that fails, or stays disconnected past peer_timeout, ends the
// participant: GStreamer alone never notices a peer that vanished.
void WsSession::on_media_state(const std::string& room_id, media::Session session,
                               const std::string& state)
{
    auto it = rooms_.find(room_id);
    if (it == rooms_.end())
        return;
    JsonOut out;
    out.set("type", "connection_state")
        .set("room", room_id)
        .set("session", media::to_string(session))
        .set("state", state);
    send(to_json_text(std::move(out)));

    Joined& joined = it->second;
    if (state == "failed" || state == "disconnected") {
        if (!joined.dead_timer)
            joined.dead_timer = std::make_shared<media::Timer>();
        if (!joined.dead_timer->active()) {
            std::weak_ptr<WsSession*> weak = self_;
            joined.dead_timer->start(g_main_context_get_thread_default(),
                                     static_cast<unsigned>(ctx_.config.peer_timeout) * 1000u,
                                     [weak, room_id] {
                                         if (auto self = weak.lock())
                                             (*self)->media_timed_out(room_id, "connection state");
                                     });
        }
    } else if (state == "connected" && joined.dead_timer) {
        joined.dead_timer->cancel();
    }
}

// Media silence: a client whose ICE agent still answers keep-alives but
// that sends nothing else (a frozen tab, a paused pipeline) never changes
// its connection state. Once media has flowed, no RTP/RTCP packet on
// either session for peer_timeout ends the participant too.
void WsSession::watch_silence(const std::string& room_id)
{
    auto it = rooms_.find(room_id);
    if (it == rooms_.end() || !it->second.media)
        return;
    Joined& joined = it->second;
    if (!joined.silence_timer)
        joined.silence_timer = std::make_shared<media::Timer>();
    const gint64 timeout_us = static_cast<gint64>(ctx_.config.peer_timeout) * 1000000;
    const gint64 last = joined.media->last_received_us();
    if (last > 0 && g_get_monotonic_time() - last > timeout_us) {
        media_timed_out(room_id, "media silence");
        return;
    }
    // Checked four times per timeout: the participant goes within 1.25x.
    const unsigned period_ms =
        std::max(250u, static_cast<unsigned>(ctx_.config.peer_timeout) * 250u);
    std::weak_ptr<WsSession*> weak = self_;
    joined.silence_timer->start(g_main_context_get_thread_default(), period_ms, [weak, room_id] {
        if (auto self = weak.lock())
            (*self)->watch_silence(room_id);
    });
}

void WsSession::media_timed_out(const std::string& room_id, const char* why)
{
    auto it = rooms_.find(room_id);
    if (it == rooms_.end())
        return;
    // leave() drops the timers, one of which is running us: keep them alive.
    std::shared_ptr<media::Timer> dead = it->second.dead_timer;
    std::shared_ptr<media::Timer> silence = it->second.silence_timer;
    g_message("ws session: media of room %s timed out (%s)", room_id.c_str(), why);
    remove_from(room_id, "media timeout");
}

void WsSession::remove_from(const std::string& room_id, const std::string& reason)
{
    if (!rooms_.count(room_id))
        return;
    leave(room_id, reason);
    JsonOut out;
    out.set("type", "left").set("room", room_id).set("reason", reason);
    send(to_json_text(std::move(out)));
}

void WsSession::set_permissions(const std::string& room_id, uint32_t permissions)
{
    auto it = rooms_.find(room_id);
    if (it == rooms_.end())
        return;
    Joined& joined = it->second;
    joined.permissions = permissions;
    const bool list = has_permission(permissions, kList);
    if (list && !joined.roster_handle)
        joined.roster_handle =
            hub_.subscribe(roster_topic(room_id), [this](const std::string& m) { send(m); });
    else if (!list && joined.roster_handle) {
        hub_.unsubscribe(joined.roster_handle);
        joined.roster_handle = 0;
    }
}

WsSession::Joined& WsSession::joined_room(const JsonFields& fields)
{
    const std::string room_id = fields.required_string("room");
    auto it = rooms_.find(room_id);
    if (it == rooms_.end())
        fail(404, "NOTJOINED", "this connection is not in that room");
    if (!it->second.media)
        fail(409, "NOMEDIA", "this connection joined the room without media (\"media\": false)");
    return it->second;
}

void WsSession::handle_publish(JsonNode* id, const JsonFields& fields)
{
    Joined& joined = joined_room(fields);
    if (!has_permission(joined.permissions, kPublish))
        fail(403, "PERMISSION", "you may not publish in this room");
    const std::string sdp = fields.required_string("sdp");
    const std::string room_id = fields.required_string("room");
    std::weak_ptr<WsSession*> weak = self_;
    std::shared_ptr<JsonNode> request_id(id ? json_node_copy(id) : nullptr, [](JsonNode* n) {
        if (n)
            json_node_unref(n);
    });
    const bool parsed = joined.media->publish_offer(
        sdp, [weak, room_id, request_id](bool ok, const std::string& sdp_or_error) {
            auto self = weak.lock();
            if (!self)
                return;
            if (!ok) {
                (*self)->reply_error(request_id.get(),
                                     ApiError{400, "BADREQUEST", "offer refused: " + sdp_or_error});
                return;
            }
            JsonOut out = reply("publish_answer", request_id.get());
            out.set("room", room_id).set("sdp", sdp_or_error);
            (*self)->send(to_json_text(std::move(out)));
        });
    if (!parsed)
        fail(400, "BADREQUEST", "'sdp' is not a valid SDP offer");
}

void WsSession::handle_subscribe_answer(JsonNode* id, const JsonFields& fields)
{
    // Whatever the permissions: the engine offers only what it may send, and
    // a participant whose 'subscribe' was taken away still answers the
    // offers that take tracks away.
    Joined& joined = joined_room(fields);
    if (!joined.media->subscribe_answer(fields.required_string("sdp")))
        fail(400, "BADREQUEST", "'sdp' is not a valid SDP answer");
    send(to_json_text(reply("ack", id)));
}

void WsSession::handle_ice(const JsonFields& fields)
{
    Joined& joined = joined_room(fields);
    const std::string session = fields.required_string("session");
    media::Session which;
    if (session == "publish")
        which = media::Session::Publish;
    else if (session == "subscribe")
        which = media::Session::Subscribe;
    else
        fail(400, "BADREQUEST", "'session' must be \"publish\" or \"subscribe\"");
    auto mline = fields.int_field("mline");
    if (!mline || *mline < 0 || *mline > 1000)
        fail(400, "BADREQUEST", "'mline' must be an m-line index");
    const std::string candidate = fields.required_string("candidate");
    if (candidate.size() > 1024 ||
        (!candidate.empty() && !g_str_has_prefix(candidate.c_str(), "candidate:")))
        fail(400, "BADREQUEST", "'candidate' must be an ICE candidate (\"candidate:...\")");
    joined.media->add_ice_candidate(which, static_cast<unsigned>(*mline), candidate);
}

std::shared_ptr<media::Room> WsSession::media_room(const std::string& room_id)
{
    auto room = media_.find(room_id);
    if (!room)
        fail(404, "NOTJOINED", "this connection is not in that room");
    return room;
}

// A publisher mutes or unmutes one of its own tracks: nobody receives it
// while muted; everyone in the room gets track_muted.
void WsSession::handle_mute(JsonNode* id, const JsonFields& fields, bool muted)
{
    Joined& joined = joined_room(fields);
    const std::string room_id = fields.required_string("room");
    const std::string track_id = fields.required_string("track");
    auto room = media_room(room_id);
    auto track = room->track(track_id);
    if (!track)
        fail(404, "NOTFOUND", "no track '%s' in this room", track_id.c_str());
    if (track->info().participant_id != joined.participant_id)
        fail(403, "PERMISSION", "you may only mute your own tracks");
    room->set_track_muted(track_id, muted);
    JsonOut out = reply("ack", id);
    out.set("room", room_id).set("track", track_id).set("muted", muted);
    send(to_json_text(std::move(out)));
}

// A subscriber chooses to receive one track of someone else or not.
void WsSession::handle_track_subscription(JsonNode* id, const JsonFields& fields, bool subscribe)
{
    Joined& joined = joined_room(fields);
    if (!has_permission(joined.permissions, kSubscribe))
        fail(403, "PERMISSION", "you may not subscribe in this room");
    const std::string room_id = fields.required_string("room");
    const std::string track_id = fields.required_string("track");
    auto room = media_room(room_id);
    switch (room->set_subscribed(joined.participant_id, track_id, subscribe)) {
        case media::Room::Choice::Ok:
            break;
        case media::Room::Choice::UnknownTrack:
            fail(404, "NOTFOUND", "no track '%s' in this room", track_id.c_str());
        case media::Room::Choice::OwnTrack:
            fail(400, "BADREQUEST", "'%s' is your own track", track_id.c_str());
        case media::Room::Choice::UnknownParticipant:
            fail(404, "NOTJOINED", "this connection is not in that room");
    }
    JsonOut out = reply("ack", id);
    out.set("room", room_id).set("track", track_id).set("subscribed", subscribe);
    send(to_json_text(std::move(out)));
}

// No video at all for this subscriber (or video again).
void WsSession::handle_audio_only(JsonNode* id, const JsonFields& fields)
{
    Joined& joined = joined_room(fields);
    if (!has_permission(joined.permissions, kSubscribe))
        fail(403, "PERMISSION", "you may not subscribe in this room");
    const std::string room_id = fields.required_string("room");
    auto enabled = fields.bool_field("enabled");
    if (!enabled)
        fail(400, "BADREQUEST", "'enabled' is required (true or false)");
    auto room = media_room(room_id);
    if (room->set_audio_only(joined.participant_id, *enabled) != media::Room::Choice::Ok)
        fail(404, "NOTJOINED", "this connection is not in that room");
    JsonOut out = reply("ack", id);
    out.set("room", room_id).set("audio_only", *enabled);
    send(to_json_text(std::move(out)));
}

void WsSession::handle_leave(JsonNode* id, const JsonFields& fields)
{
    const std::string room_id = fields.required_string("room");
    if (!rooms_.count(room_id))
        fail(404, "NOTJOINED", "this connection is not in that room");
    leave(room_id);
    JsonOut out = reply("left", id);
    out.set("room", room_id);
    send(to_json_text(std::move(out)));
}

void WsSession::leave(std::string room_id, const std::string& reason)
{
    auto it = rooms_.find(room_id);
    if (it == rooms_.end())
        return;
    const Joined joined = it->second;
    rooms_.erase(it);
    hub_.unsubscribe(joined.room_handle);
    if (joined.roster_handle)
        hub_.unsubscribe(joined.roster_handle);
    live_.remove(room_id, joined.participant_id);
    if (joined.dead_timer)
        joined.dead_timer->cancel();
    if (joined.silence_timer)
        joined.silence_timer->cancel();
    if (joined.media)
        media_.leave(room_id, joined.participant_id);
    JsonOut event;
    event.set("type", "participant_left")
        .set("room", room_id)
        .set("participant_id", joined.participant_id)
        .set("user_id", principal_.user.id)
        .set("reason", reason);
    hub_.publish(roster_topic(room_id), to_json_text(std::move(event)));
}

// ---- moderation -------------------------------------------------------------

Moderation& WsSession::moderation()
{
    if (!ctx_.moderation)
        fail(500, "INTERNAL", "the server could not complete the request");
    return *ctx_.moderation;
}

void WsSession::handle_set_permissions(JsonNode* id, const JsonFields& fields)
{
    const std::string room_id = fields.required_string("room");
    const std::string user_id = fields.required_string("user_id");
    const Member member = moderation().set_permissions(principal_, room_id, user_id, fields);
    JsonOut out = reply("ack", id);
    out.set("room", room_id).set("member", member_json(member));
    send(to_json_text(std::move(out)));
}

void WsSession::handle_remove_participant(JsonNode* id, const JsonFields& fields)
{
    const std::string room_id = fields.required_string("room");
    const std::string user_id = fields.required_string("user_id");
    moderation().remove_member(principal_, room_id, user_id);
    JsonOut out = reply("ack", id);
    out.set("room", room_id).set("user_id", user_id);
    send(to_json_text(std::move(out)));
}

void WsSession::handle_readmit(JsonNode* id, const JsonFields& fields)
{
    const std::string room_id = fields.required_string("room");
    const std::string user_id = fields.required_string("user_id");
    moderation().readmit(principal_, room_id, user_id);
    JsonOut out = reply("ack", id);
    out.set("room", room_id).set("user_id", user_id);
    send(to_json_text(std::move(out)));
}

void WsSession::handle_mute_participant(JsonNode* id, const JsonFields& fields)
{
    const std::string room_id = fields.required_string("room");
    const std::string participant_id = fields.required_string("participant_id");
    const std::vector<std::string> muted =
        moderation().mute_participant(principal_, room_id, participant_id, fields);
    JsonOut out = reply("ack", id);
    out.set("room", room_id).set("participant_id", participant_id).set("muted", muted);
    send(to_json_text(std::move(out)));
}

void WsSession::handle_lock_room(JsonNode* id, const JsonFields& fields)
{
    const std::string room_id = fields.required_string("room");
    auto locked = fields.bool_field("locked");
    if (!locked)
        fail(400, "BADREQUEST", "'locked' is required (true or false)");
    const Room room = moderation().lock_room(principal_, room_id, *locked);
    JsonOut out = reply("ack", id);
    out.set("room", room.id).set("locked", room.locked);
    send(to_json_text(std::move(out)));
}

}  // namespace zumzi

// ---- live output ------------------------------------------------------------

namespace zumzi {

LiveOutputs& WsSession::live_outputs()
{
    if (!ctx_.live_outputs)
        fail(500, "INTERNAL", "the server could not complete the request");
    return *ctx_.live_outputs;
}

void WsSession::handle_live_start(JsonNode* id, const JsonFields& fields)
{
    const std::string room_id = fields.required_string("room");
    JsonOut output = live_outputs().start(principal_, room_id, fields);
    JsonOut out = reply("ack", id);
    out.set("room", room_id).set("output", std::move(output));
    send(to_json_text(std::move(out)));
}

// Acknowledged once the output is finalised (a recording's file complete).
void WsSession::handle_live_stop(JsonNode* id, const JsonFields& fields)
{
    const std::string room_id = fields.required_string("room");
    const std::string kind = fields.required_string("kind");
    std::weak_ptr<WsSession*> weak = self_;
    std::shared_ptr<JsonNode> request_id(id ? json_node_copy(id) : nullptr, [](JsonNode* n) {
        if (n)
            json_node_unref(n);
    });
    live_outputs().stop(principal_, room_id, kind, [weak, request_id, room_id](JsonOut output) {
        auto self = weak.lock();
        if (!self)
            return;
        JsonOut out = reply("ack", request_id.get());
        out.set("room", room_id).set("output", std::move(output));
        (*self)->send(to_json_text(std::move(out)));
    });
}

void WsSession::handle_live_layout(JsonNode* id, const JsonFields& fields)
{
    const std::string room_id = fields.required_string("room");
    JsonOut live = live_outputs().set_layout(principal_, room_id, fields);
    JsonOut out = reply("ack", id);
    out.set("room", room_id)
        .set("layout", fields.required_string("layout"))
        .set("live", std::move(live));
    send(to_json_text(std::move(out)));
}

}  // namespace zumzi
