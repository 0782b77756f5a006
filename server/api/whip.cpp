// WHIP ingest and WHEP playback (see whip.h and docs/protocol.md).
#include "whip.h"

#include <algorithm>

#include "../crypto.h"
#include "../live_output.h"
#include "../membership.h"
#include "../permissions.h"
#include "routes.h"
#include "views.h"

namespace zumzi {

namespace {

const char* kind_name(bool publish)
{
    return publish ? "WHIP" : "WHEP";
}

// Who presents the bearer credential, and what they may do in the room.
struct Caller {
    std::string user_id;  // empty for a PIN
    std::string name;
    std::string role;
    uint32_t permissions = 0;
};

Caller authenticate(Context& ctx, Request& req, const Room& room, bool publish)
{
    auto credential = Auth::bearer(req.header("Authorization"));
    if (!credential)
        fail(401, "AUTHFAIL", "missing 'Authorization: Bearer <PIN or access token>'");
    // Wrong PINs count per client address: there is no user to count them for.
    const std::string key = "ip:" + req.client_ip();
    const int64_t now = ctx.clock();
    if (!ctx.pin_failures.allows(key, now))
        fail_rate_limited(ctx.pin_failures.retry_after(key, now),
                          "too many wrong PINs: try again later");
    Caller caller;
    caller.name = kind_name(publish);
    if (auto role = role_for_pin(room, *credential)) {
        caller.role = *role;
    } else {
        auto principal = ctx.auth.user_from_token(*credential);
        if (!principal || principal->app.id != room.app_id) {
            ctx.pin_failures.hit(key, now);
            fail(403, "BADPIN",
                 "the bearer credential is neither a PIN of this room nor an "
                 "access token of its app");
        }
        auto member = find_membership(ctx, room, *principal);
        if (!member) {
            require_not_removed(ctx, room, principal->user.id);
            fail(403, "NOTMEMBER", "join the room first");
        }
        caller.user_id = principal->user.id;
        caller.role = member->role;
        caller.permissions = member->permissions;
        return caller;
    }
    if (room.locked)
        fail(403, "LOCKED", "the room is locked: no new members may join");
    caller.permissions = role_permissions(caller.role);
    return caller;
}

}  // namespace

WhipService::WhipService(Context& ctx, Hub& hub, LiveRooms& live, media::RoomRegistry& media)
    : ctx_(ctx), hub_(hub), live_(live), media_(media), self_(std::make_shared<WhipService*>(this))
{
}

WhipService::~WhipService()
{
    shutting_down_ = true;
    while (!sessions_.empty())
        end(sessions_.begin()->first, nullptr);
}

Reply WhipService::start(Request& req, bool publish, bool composite)
{
    const std::string room_id = req.param(0);
    // Room ids are unique across apps; the URL is all a WHIP client has.
    auto room = ctx_.store.find_room_by_id(room_id);
    if (!Auth::bearer(req.header("Authorization")))
        fail(401, "AUTHFAIL", "missing 'Authorization: Bearer <PIN or access token>'");
    if (!room)
        fail(404, "NOTFOUND", "no such room");
    const Caller caller = authenticate(ctx_, req, *room, publish);
    if (publish && !has_permission(caller.permissions, kPublish))
        fail(403, "PERMISSION", "you may not publish in this room");
    if (!publish && !has_permission(caller.permissions, kSubscribe))
        fail(403, "PERMISSION", "you may not watch this room");

    const char* type = soup_message_headers_get_content_type(
        soup_server_message_get_request_headers(req.message()), nullptr);
    if (!type || g_ascii_strcasecmp(type, "application/sdp") != 0)
        fail(415, "BADMEDIATYPE", "send the SDP offer as Content-Type: application/sdp");
    const std::string sdp(req.body());
    if (sdp.empty() || !g_utf8_validate(sdp.data(), static_cast<gssize>(sdp.size()), nullptr))
        fail(400, "BADREQUEST", "the body must be an SDP offer");
    // The composite plays the room's mix: somebody must be in the call, and
    // the offer must be a WHEP offer before anything is built for it.
    const std::string from =
        composite ? media::kCompositeParticipant : req.query("participant").value_or("");
    if (composite) {
        if (!media_.find(room->id))
            fail(409, "ROOMIDLE", "nobody is in the room: there is no live picture to play");
        switch (media::Participant::check_composite_offer(sdp)) {
            case media::Participant::ViewOffer::BadSdp:
                fail(400, "BADREQUEST", "the body is not a valid SDP offer");
            case media::Participant::ViewOffer::NotRecvOnly:
                fail(400, "BADREQUEST",
                     "a WHEP offer only receives: every audio and video m-line must be "
                     "a=recvonly");
            case media::Participant::ViewOffer::NothingToPlay:
                fail(400, "BADREQUEST",
                     "the live picture is VP8 video and Opus audio: the offer lists neither");
            default:
                break;
        }
    }

    LiveParticipant me{"", caller.user_id, caller.name, caller.role, caller.permissions,
                       0,  ctx_.clock()};
    const LiveParticipant added = live_.add(room->id, me);
    auto session = std::make_unique<Session>();
    session->id = random_id("", 16);
    session->room_id = room->id;
    session->participant_id = added.id;
    session->user_id = caller.user_id;
    session->publish = publish;
    const std::string sid = session->id;

    // WHIP publishes only, WHEP receives only what view_offer links.
    media_.set_preset(room->id, room->preset);
    session->media = media_.join(room->id, added.id, callbacks(sid), false);
    auto undo = [&]() {
        if (session->media)
            media_.leave(room->id, added.id);
        live_.remove(room->id, added.id);
    };
    if (!session->media) {
        undo();
        fail(500, "INTERNAL", "the server could not complete the request");
    }
    if (publish && ctx_.live_outputs)
        ctx_.live_outputs->participant_joined(room->id, added.id, added.name);
    if (composite) {
        // Keeps the composite running (built now if nothing else runs it)
        // until this session ends.
        auto media_room = media_.find(room->id);
        if (ctx_.live_outputs)
            ctx_.live_outputs->prepare_composite(room->id);
        if (!media_room || !media_room->add_composite_viewer(added.id)) {
            undo();
            fail(500, "INTERNAL", "the live picture could not be prepared");
        }
    }
    std::weak_ptr<WhipService*> weak = self_;
    auto done = [weak, sid](bool ok, const std::string& sdp_or_error) {
        if (auto self = weak.lock())
            (*self)->on_answer(sid, ok, sdp_or_error);
    };
    if (publish) {
        if (!session->media->publish_offer(sdp, done, true)) {
            undo();
            fail(400, "BADREQUEST", "the body is not a valid SDP offer");
        }
    } else {
        switch (session->media->view_offer(sdp, from, done)) {
            case media::Participant::ViewOffer::Accepted:
                break;
            case media::Participant::ViewOffer::BadSdp:
                undo();
                fail(400, "BADREQUEST", "the body is not a valid SDP offer");
            case media::Participant::ViewOffer::NotRecvOnly:
                undo();
                fail(400, "BADREQUEST",
                     "a WHEP offer only receives: every audio and video m-line must be "
                     "a=recvonly");
            case media::Participant::ViewOffer::NothingToPlay:
                undo();
                if (composite)
                    fail(400, "BADREQUEST",
                         "the live picture is VP8 video and Opus audio: the offer lists "
                         "neither");
                if (!from.empty())
                    fail(404, "NOTFOUND",
                         "participant '%s' publishes nothing this offer can receive", from.c_str());
                fail(404, "NOTFOUND", "nothing this offer can receive is published in the room");
            case media::Participant::ViewOffer::Closed:
                undo();
                fail(500, "INTERNAL", "the server could not complete the request");
        }
    }

    // The answer comes later, with its ICE candidates.
    SoupServerMessage* msg = req.message();
    session->pending = SOUP_SERVER_MESSAGE(g_object_ref(msg));
    session->disconnected_handler =
        g_signal_connect(msg, "disconnected", G_CALLBACK(on_disconnected), session.get());
    soup_server_message_pause(msg);
    sessions_.emplace(sid, std::move(session));

    JsonOut event;
    event.set("type", "participant_joined")
        .set("room", room->id)
        .set("participant", participant_json(added));
    hub_.publish(roster_topic(room->id), to_json_text(std::move(event)));
    g_message("%s session %s: %s joined room %s", kind_name(publish), sid.c_str(), added.id.c_str(),
              room->id.c_str());
    Reply reply;
    reply.deferred = true;
    return reply;
}

void WhipService::on_disconnected(SoupServerMessage*, gpointer data)
{
    static_cast<Session*>(data)->disconnected = true;
}

void WhipService::on_answer(const std::string& session_id, bool ok, const std::string& sdp_or_error)
{
    auto it = sessions_.find(session_id);
    if (it == sessions_.end() || !it->second->pending)
        return;
    Session& s = *it->second;
    if (!ok) {
        g_message("%s session %s: offer refused: %s", kind_name(s.publish), session_id.c_str(),
                  sdp_or_error.c_str());
        ApiError error{400, "BADREQUEST", "offer refused: " + sdp_or_error};
        end(session_id, &error);
        return;
    }
    SoupServerMessage* msg = s.pending;
    s.pending = nullptr;
    g_signal_handler_disconnect(msg, s.disconnected_handler);
    if (s.disconnected) {
        // Nobody to answer: the session would only wait for its timeout.
        g_object_unref(msg);
        end(session_id, nullptr);
        return;
    }
    SoupMessageHeaders* h = soup_server_message_get_response_headers(msg);
    const std::string location =
        std::string(s.publish ? "/whip/" : "/whep/") + s.room_id + "/" + s.id;
    soup_message_headers_replace(h, "Location", location.c_str());
    soup_message_headers_replace(h, "Cache-Control", "no-store");
    soup_server_message_set_status(msg, SOUP_STATUS_CREATED, nullptr);
    soup_server_message_set_response(msg, "application/sdp", SOUP_MEMORY_COPY, sdp_or_error.data(),
                                     sdp_or_error.size());
    soup_server_message_unpause(msg);
    g_object_unref(msg);
    watch_silence(session_id);
}

void WhipService::watch_silence(const std::string& session_id)
{
    auto it = sessions_.find(session_id);
    if (it == sessions_.end() || !it->second->media)
        return;
    Session& s = *it->second;
    if (!s.silence_timer)
        s.silence_timer = std::make_shared<media::Timer>();
    const gint64 timeout_us = static_cast<gint64>(ctx_.config.peer_timeout) * 1000000;
    const gint64 last = s.media->last_received_us();
    if (last > 0 && g_get_monotonic_time() - last > timeout_us) {
        // end() drops the timer that is running us.
        auto running = s.silence_timer;
        g_message("WHIP/WHEP session %s: media silence, ended", session_id.c_str());
        end(session_id, nullptr, "media timeout");
        return;
    }
    // Checked four times per timeout: the session ends within 1.25x.
    const unsigned period_ms =
        std::max(250u, static_cast<unsigned>(ctx_.config.peer_timeout) * 250u);
    std::weak_ptr<WhipService*> weak = self_;
    s.silence_timer->start(g_main_context_get_thread_default(), period_ms, [weak, session_id] {
        if (auto self = weak.lock())
            (*self)->watch_silence(session_id);
    });
}

media::ParticipantCallbacks WhipService::callbacks(const std::string& session_id)
{
    std::weak_ptr<WhipService*> weak = self_;
    media::ParticipantCallbacks cb;
    // No trickle: the answer carries the candidates (ICE gathering complete).
    cb.on_connection_state = [weak, session_id](media::Session, const std::string& state) {
        if (auto self = weak.lock())
            (*self)->on_media_state(session_id, state);
    };
    // A client that never does ICE (or vanishes before DTLS is up) sends
    // no packet: the silence watch never starts for it.
    cb.on_connect_timeout = [weak, session_id](media::Session) {
        auto self = weak.lock();
        if (!self || !(*self)->sessions_.count(session_id))
            return;
        g_message("WHIP/WHEP session %s: never connected, ended", session_id.c_str());
        (*self)->end(session_id, nullptr, "media timeout");
    };
    cb.on_error = [session_id](media::Session session, const std::string& message) {
        g_message("WHIP/WHEP session %s: %s session: %s", session_id.c_str(),
                  media::to_string(session), message.c_str());
    };
    return cb;
}

// Nobody says goodbye over WHIP when a broadcaster vanishes: a session that
// stays failed or disconnected past peer_timeout is ended.
void WhipService::on_media_state(const std::string& session_id, const std::string& state)
{
    auto it = sessions_.find(session_id);
    if (it == sessions_.end())
        return;
    Session& s = *it->second;
    if (state == "failed" || state == "disconnected") {
        if (!s.dead_timer)
            s.dead_timer = std::make_shared<media::Timer>();
        if (s.dead_timer->active())
            return;
        std::weak_ptr<WhipService*> weak = self_;
        s.dead_timer->start(
            g_main_context_get_thread_default(),
            static_cast<unsigned>(ctx_.config.peer_timeout) * 1000u, [weak, session_id]() {
                auto self = weak.lock();
                if (!self)
                    return;
                auto found = (*self)->sessions_.find(session_id);
                if (found == (*self)->sessions_.end())
                    return;
                // end() drops the timer that is running us.
                auto running = found->second->dead_timer;
                g_message("WHIP/WHEP session %s: media timed out", session_id.c_str());
                (*self)->end(session_id, nullptr, "media timeout");
            });
    } else if (state == "connected" && s.dead_timer) {
        s.dead_timer->cancel();
    }
}

bool WhipService::end_participant(const std::string& room_id, const std::string& participant_id,
                                  const std::string& reason)
{
    for (const auto& [sid, s] : sessions_) {
        if (s->room_id != room_id || s->participant_id != participant_id)
            continue;
        const ApiError error =
            reason == "removed"
                ? ApiError{403, "REMOVED", "a moderator removed you from this room"}
                : ApiError{403, "PERMISSION", "a moderator took away the permission you need"};
        g_message("%s session %s ended by a moderator (%s)", kind_name(s->publish), sid.c_str(),
                  reason.c_str());
        end(sid, &error, reason);
        return true;
    }
    return false;
}

void WhipService::permissions_changed(const std::string& room_id, const std::string& participant_id,
                                      uint32_t permissions)
{
    for (const auto& [sid, s] : sessions_) {
        if (s->room_id != room_id || s->participant_id != participant_id)
            continue;
        if (!has_permission(permissions, s->publish ? kPublish : kSubscribe))
            end_participant(room_id, participant_id, "permission");
        return;
    }
}

void WhipService::end(std::string session_id, const ApiError* error, const std::string& reason)
{
    auto it = sessions_.find(session_id);
    if (it == sessions_.end())
        return;
    std::unique_ptr<Session> s = std::move(it->second);
    sessions_.erase(it);
    if (s->dead_timer)
        s->dead_timer->cancel();
    if (s->silence_timer)
        s->silence_timer->cancel();
    if (SoupServerMessage* msg = s->pending) {
        s->pending = nullptr;
        g_signal_handler_disconnect(msg, s->disconnected_handler);
        if (!shutting_down_ && !s->disconnected) {
            send_error(msg, error
                                ? *error
                                : ApiError{500, "INTERNAL", "the session ended before its answer"});
            soup_server_message_unpause(msg);
        }
        g_object_unref(msg);
    }
    media_.leave(s->room_id, s->participant_id);
    live_.remove(s->room_id, s->participant_id);
    JsonOut event;
    event.set("type", "participant_left")
        .set("room", s->room_id)
        .set("participant_id", s->participant_id)
        .set("user_id", s->user_id)
        .set("reason", reason);
    hub_.publish(roster_topic(s->room_id), to_json_text(std::move(event)));
    g_message("%s session %s ended", kind_name(s->publish), session_id.c_str());
}

Reply WhipService::stop(Request& req, bool publish)
{
    auto it = sessions_.find(req.param(1));
    if (it == sessions_.end() || it->second->room_id != req.param(0) ||
        it->second->publish != publish || it->second->pending)
        fail(404, "NOTFOUND", "no such %s session", kind_name(publish));
    end(it->first, nullptr);
    Reply reply;
    reply.body.set("ok", true);
    return reply;
}

namespace {

WhipService& service(Context& ctx)
{
    if (!ctx.whip)
        fail(500, "INTERNAL", "the server could not complete the request");
    return *ctx.whip;
}

}  // namespace

void add_whip_routes(Router& router)
{
    router.add("POST", "/whip/{room}",
               [](Context& ctx, Request& req) { return service(ctx).start(req, true); });
    router.add("DELETE", "/whip/{room}/{session}",
               [](Context& ctx, Request& req) { return service(ctx).stop(req, true); });
    router.add("POST", "/whep/{room}",
               [](Context& ctx, Request& req) { return service(ctx).start(req, false); });
    // The room's composite (its live picture and sound) as one video and
    // one audio track; DELETE on the Location as for any WHEP session.
    router.add("POST", "/whep/{room}/live",
               [](Context& ctx, Request& req) { return service(ctx).start(req, false, true); });
    router.add("DELETE", "/whep/{room}/{session}",
               [](Context& ctx, Request& req) { return service(ctx).stop(req, false); });
}

}  // namespace zumzi
