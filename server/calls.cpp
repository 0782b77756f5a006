#include "calls.h"

#include "api/views.h"
#include "chat.h"
#include "crypto.h"
#include "permissions.h"
#include "ws_session.h"

namespace zumzi {

namespace {

JsonOut call_json(const std::string& id, const std::string& caller, const std::string& callee,
                  bool video, const std::string& state)
{
    JsonOut out;
    out.set("id", id)
        .set("caller", caller)
        .set("callee", callee)
        .set("video", video)
        .set("state", state);
    return out;
}

struct TimerData {
    Calls* calls;
    std::string call_id;
};

}  // namespace

Calls::~Calls()
{
    for (auto& [id, call] : calls_)
        if (call.timer) {
            g_source_destroy(call.timer);
            g_source_unref(call.timer);
        }
}

bool Calls::handles(const std::string& type) const
{
    return type == "call" || type == "ringing" || type == "answer" || type == "reject" ||
           type == "hangup";
}

bool Calls::busy(const std::string& user_id) const
{
    for (const auto& [id, call] : calls_)
        if (call.caller == user_id || call.callee == user_id)
            return true;
    return false;
}

void Calls::handle(WsSession& session, const std::string& type, JsonNode* id,
                   const JsonFields& fields)
{
    if (type == "call") {
        start(session, id, fields);
        return;
    }
    Call& call = find(session, fields);
    const std::string& me = session.principal().user.id;
    const std::string call_id = call.id;
    JsonOut ack;
    ack.set("type", "ack");
    if (id)
        ack.set_node("id", id);
    if (type == "ringing") {
        if (me != call.callee || call.state == "active")
            fail(409, "BADSTATE", "only the callee's device rings, before answering");
        call.state = "ringing";
        session.send(to_json_text(std::move(ack)));
        JsonOut event;
        event.set("type", "call_ringing").set("call", call_id);
        chat_.publish({call.caller}, to_json_text(std::move(event)));
    } else if (type == "answer") {
        if (me != call.callee)
            fail(403, "PERMISSION", "only the callee answers");
        if (call.state == "active")
            fail(409, "BADSTATE", "the call was already answered");
        // The media side: a room of two, both members with publish rights.
        Room room;
        room.id = random_id("", 10);
        room.app_id = call.app_id;
        room.owner_id = call.caller;
        room.name = "Call";
        room.preset = "default";
        room.participant_pin = random_digits(8);
        do {
            room.viewer_pin = random_digits(8);
        } while (room.viewer_pin == room.participant_pin);
        room.created_at = ctx_.clock();
        auto caller = ctx_.store.find_user(call.app_id, call.caller);
        ctx_.store.create_room(room, Member{room.id, call.caller, caller ? caller->name : "",
                                            "owner", kAllPermissions, room.created_at});
        ctx_.store.put_member(Member{room.id, call.callee, session.principal().user.name,
                                     "publisher", role_permissions("publisher"), room.created_at});
        call.state = "active";
        call.room = room.id;
        if (call.timer) {
            g_source_destroy(call.timer);
            g_source_unref(call.timer);
            call.timer = nullptr;
        }
        JsonOut event;
        event.set("type", "call_answered").set("call", call_id).set("room", room.id);
        session.send(to_json_text(std::move(ack)));
        chat_.publish({call.caller, call.callee}, to_json_text(std::move(event)));
    } else if (type == "reject") {
        if (me != call.callee)
            fail(403, "PERMISSION", "only the callee rejects; the caller hangs up");
        if (call.state == "active")
            fail(409, "BADSTATE", "the call was answered: hang up instead");
        session.send(to_json_text(std::move(ack)));
        end(call_id, fields.bool_field("busy").value_or(false) ? "busy" : "rejected");
    } else if (type == "hangup") {
        session.send(to_json_text(std::move(ack)));
        end(call_id, call.state == "active" ? "hangup" : "cancelled");
    }
}

void Calls::start(WsSession& session, JsonNode* id, const JsonFields& fields)
{
    const Principal& me = session.principal();
    const std::string callee = fields.required_string("user");
    if (callee == me.user.id)
        fail(400, "BADREQUEST", "you cannot call yourself");
    auto user = ctx_.store.find_user(me.app.id, callee);
    if (!user)
        fail(404, "NOTFOUND", "no such user");
    if (ctx_.store.is_blocked(me.user.id, callee))
        fail(403, "BLOCKED", "this user does not accept your calls");
    if (busy(me.user.id))
        fail(409, "BUSY", "you are already in a call");
    const bool video = fields.bool_field("video").value_or(true);

    Call call;
    call.id = random_id("c_", 12);
    call.app_id = me.app.id;
    call.caller = me.user.id;
    call.callee = callee;
    call.video = video;
    call.state = "calling";

    JsonOut out;
    out.set("type", "call_started");
    if (id)
        out.set_node("id", id);
    out.set("call", call_json(call.id, call.caller, call.callee, video, "calling"));
    session.send(to_json_text(std::move(out)));

    // Busy or unreachable callees end the call at once.
    const char* reason = busy(callee) ? "busy" : !chat_.online(callee) ? "unavailable" : nullptr;
    if (reason) {
        JsonOut ended;
        ended.set("type", "call_ended").set("call", call.id).set("reason", reason);
        session.send(to_json_text(std::move(ended)));
        return;
    }
    auto* data = new TimerData{this, call.id};
    call.timer = g_timeout_source_new_seconds(static_cast<guint>(ctx_.config.call_ring_timeout));
    g_source_set_callback(call.timer, on_ring_timeout, data,
                          [](gpointer p) { delete static_cast<TimerData*>(p); });
    g_source_attach(call.timer, g_main_context_get_thread_default());
    const std::string call_id = call.id;
    calls_.emplace(call_id, std::move(call));

    JsonOut incoming;
    incoming.set("type", "incoming_call")
        .set("call", call_json(call_id, me.user.id, callee, video, "calling"))
        .set("caller", user_json(me.user, false));
    chat_.publish({callee}, to_json_text(std::move(incoming)));
}

gboolean Calls::on_ring_timeout(gpointer p)
{
    auto* data = static_cast<TimerData*>(p);
    auto it = data->calls->calls_.find(data->call_id);
    if (it != data->calls->calls_.end()) {
        // The source is finishing: end() must not destroy it again.
        g_source_unref(it->second.timer);
        it->second.timer = nullptr;
        data->calls->end(data->call_id, "missed");
    }
    return G_SOURCE_REMOVE;
}

Calls::Call& Calls::find(const WsSession& session, const JsonFields& fields)
{
    auto it = calls_.find(fields.required_string("call"));
    const std::string& me = session.principal().user.id;
    if (it == calls_.end() || (it->second.caller != me && it->second.callee != me))
        fail(404, "NOTFOUND", "no such call");
    return it->second;
}

void Calls::end(const std::string& call_id, const std::string& reason)
{
    auto it = calls_.find(call_id);
    if (it == calls_.end())
        return;
    Call call = it->second;
    calls_.erase(it);
    if (call.timer) {
        g_source_destroy(call.timer);
        g_source_unref(call.timer);
    }
    JsonOut event;
    event.set("type", "call_ended").set("call", call.id).set("reason", reason);
    if (!call.room.empty())
        event.set("room", call.room);
    chat_.publish({call.caller, call.callee}, to_json_text(std::move(event)));
    // The call's room ends with it: no one can join it again (those still
    // in its live session leave on call_ended, as clients do).
    if (!call.room.empty()) {
        try {
            ctx_.store.delete_room(call.app_id, call.room);
        } catch (const StoreError& e) {
            g_warning("calls: could not delete the room of call %s: %s", call.id.c_str(), e.what());
        }
    }
}

void Calls::user_offline(const std::string& user_id)
{
    std::vector<std::string> ids;
    for (const auto& [id, call] : calls_)
        if (call.caller == user_id || call.callee == user_id)
            ids.push_back(id);
    for (const std::string& id : ids)
        end(id, "disconnected");
}

}  // namespace zumzi
