#include "ws_session.h"

#include "api/views.h"
#include "chat.h"
#include "membership.h"
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
    const Room room = load_room(ctx_, principal_, room_id);
    if (rooms_.count(room.id))
        fail(409, "ALREADYJOINED", "this connection is already in the room");
    const Member member = join_room(ctx_, principal_, room, fields.string_field("pin"));

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
        .set("tracks", std::move(tracks));
    send(to_json_text(std::move(out)));

    // Into the media room last: its offers and candidates follow the reply.
    auto participant = media_.join(room.id, joined.participant_id, media_callbacks(room.id),
                                   has_permission(member.permissions, kSubscribe));
    auto it = rooms_.find(room.id);
    if (it != rooms_.end())
        it->second.media = participant;
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
            joined.dead_timer->start(
                g_main_context_get_thread_default(),
                static_cast<unsigned>(ctx_.config.peer_timeout) * 1000u, [weak, room_id] {
                    auto self = weak.lock();
                    if (!self)
                        return;
                    auto it = (*self)->rooms_.find(room_id);
                    if (it == (*self)->rooms_.end())
                        return;
                    // leave() drops the timer that is running us: keep it alive.
                    std::shared_ptr<media::Timer> running = it->second.dead_timer;
                    g_message("ws session: media of room %s timed out", room_id.c_str());
                    (*self)->leave(room_id);
                    JsonOut out;
                    out.set("type", "left").set("room", room_id).set("reason", "media timeout");
                    (*self)->send(to_json_text(std::move(out)));
                });
        }
    } else if (state == "connected" && joined.dead_timer) {
        joined.dead_timer->cancel();
    }
}

WsSession::Joined& WsSession::joined_room(const JsonFields& fields)
{
    const std::string room_id = fields.required_string("room");
    auto it = rooms_.find(room_id);
    if (it == rooms_.end() || !it->second.media)
        fail(404, "NOTJOINED", "this connection is not in that room");
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
    Joined& joined = joined_room(fields);
    if (!has_permission(joined.permissions, kSubscribe))
        fail(403, "PERMISSION", "you may not subscribe in this room");
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

void WsSession::leave(std::string room_id)
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
    if (joined.media)
        media_.leave(room_id, joined.participant_id);
    JsonOut event;
    event.set("type", "participant_left")
        .set("room", room_id)
        .set("participant_id", joined.participant_id)
        .set("user_id", principal_.user.id);
    hub_.publish(roster_topic(room_id), to_json_text(std::move(event)));
}

}  // namespace zumzi
