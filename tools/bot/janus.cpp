// Janus VideoRoom over Janus's plain HTTP API
// (https://janus.conf.meetecho.com/docs/rest.html): the blocking room
// set-up of janus.h, and the bots' Janus mode (Bot members declared in
// bot.h).
//
// A Janus bot is one Janus session with one VideoRoom handle, like one
// browser tab: POST /janus {"janus":"create"} -> session, POST
// /janus/SESSION {"janus":"attach"} -> handle, requests as POST
// /janus/SESSION/HANDLE {"janus":"message","body":...,"jsep":...} (Janus
// acks, the result comes as an event), events by long-polling GET
// /janus/SESSION?maxev=10, a keepalive every 25 s, and {"janus":"destroy"}
// on the session to leave.
#include "janus.h"

#include <gst/webrtc/webrtc.h>
#include <libsoup/soup.h>

#include "bot.h"
#include "json_util.h"

namespace zumzi::bot {

namespace {

// Verbose logs cut messages short unless ZUMZI_BOT_FULL_LOG is set (as in bot.cpp).
int log_limit()
{
    static const bool full = g_getenv("ZUMZI_BOT_FULL_LOG") != nullptr;
    return full ? 1 << 24 : 300;
}

std::string transaction()
{
    static unsigned n = 0;
    return "zb" + std::to_string(++n);
}

std::string id_text(JsonObject* o, const char* key)
{
    const gint64 id = json::get_int(o, key, 0);
    return id > 0 ? std::to_string(id) : json::get_str(o, key);
}

// "Janus error 458: No such session" from {"janus":"error","error":{...}},
// the plugin's {"error_code":..,"error":..} in plugindata, or "".
std::string janus_error(JsonObject* reply)
{
    if (!reply)
        return "not a JSON object";
    if (json::get_str(reply, "janus") == "error") {
        JsonObject* e = json::get_obj(reply, "error");
        return "Janus error " + std::to_string(json::get_int(e, "code", 0)) + ": " +
               json::get_str(e, "reason");
    }
    JsonObject* plugin = json::get_obj(reply, "plugindata");
    JsonObject* data = plugin ? json::get_obj(plugin, "data") : nullptr;
    if (data && json::has(data, "error"))
        return "VideoRoom error " + std::to_string(json::get_int(data, "error_code", 0)) + ": " +
               json::get_str(data, "error");
    return {};
}

// Blocking POST of `body` to `url`; the reply's JSON text, or "" with *error.
std::string post_blocking(SoupSession* session, const std::string& url, const std::string& body,
                          std::string* error)
{
    g_autoptr(SoupMessage) msg = soup_message_new("POST", url.c_str());
    if (!msg) {
        *error = "bad URL " + url;
        return {};
    }
    g_autoptr(GBytes) bytes = g_bytes_new(body.data(), body.size());
    soup_message_set_request_body_from_bytes(msg, "application/json", bytes);
    g_autoptr(GError) err = nullptr;
    g_autoptr(GBytes) reply = soup_session_send_and_read(session, msg, nullptr, &err);
    if (!reply) {
        *error = url + ": " + (err ? err->message : "request failed");
        return {};
    }
    gsize size = 0;
    const char* data = static_cast<const char*>(g_bytes_get_data(reply, &size));
    std::string text(data ? data : "", size);
    if (soup_message_get_status(msg) != SOUP_STATUS_OK) {
        *error = url + ": HTTP " + std::to_string(soup_message_get_status(msg)) + ": " + text;
        return {};
    }
    return text;
}

// One synchronous VideoRoom request through a session made for it.
bool room_request(const std::string& url, JsonNode* body, std::string* error)
{
    g_autoptr(SoupSession) http = soup_session_new();
    soup_session_set_proxy_resolver(http, nullptr);
    std::string text = post_blocking(
        http, url, json::object({{"janus", json::str("create")}, {"transaction", json::str(transaction())}}),
        error);
    json::Doc created(text);
    if (text.empty() || !janus_error(created.object()).empty()) {
        if (error->empty())
            *error = janus_error(created.object());
        json_node_unref(body);
        return false;
    }
    const std::string session =
        url + "/" + id_text(json::get_obj(created.object(), "data"), "id");
    text = post_blocking(http, session,
                         json::object({{"janus", json::str("attach")},
                                       {"plugin", json::str("janus.plugin.videoroom")},
                                       {"transaction", json::str(transaction())}}),
                         error);
    json::Doc attached(text);
    bool ok = !text.empty() && janus_error(attached.object()).empty();
    if (ok) {
        const std::string handle =
            session + "/" + id_text(json::get_obj(attached.object(), "data"), "id");
        text = post_blocking(http, handle,
                             json::object({{"janus", json::str("message")},
                                           {"transaction", json::str(transaction())},
                                           {"body", body}}),
                             error);
        body = nullptr;
        json::Doc reply(text);
        ok = !text.empty() && janus_error(reply.object()).empty();
        if (!text.empty() && !ok)
            *error = janus_error(reply.object());
    } else if (error->empty()) {
        *error = janus_error(attached.object());
    }
    if (body)
        json_node_unref(body);
    std::string ignored;
    post_blocking(http, session,
                  json::object({{"janus", json::str("destroy")}, {"transaction", json::str(transaction())}}),
                  &ignored);
    return ok;
}

}  // namespace

bool janus_create_room(const std::string& url, uint64_t room, int publishers, std::string* error)
{
    return room_request(url,
                        json::object_node({{"request", json::str("create")},
                                           {"room", json::integer(int64_t(room))},
                                           {"publishers", json::integer(publishers)},
                                           {"permanent", json::boolean(false)}}),
                        error);
}

bool janus_destroy_room(const std::string& url, uint64_t room, std::string* error)
{
    return room_request(url,
                        json::object_node({{"request", json::str("destroy")},
                                           {"room", json::integer(int64_t(room))},
                                           {"permanent", json::boolean(false)}}),
                        error);
}

// --- Bot: Janus mode -----------------------------------------------------------

// A refused or failed request: the bot has failed. While leaving (the
// destroy itself failed) it is over: stop.
void Bot::janus_failed(const std::string& message)
{
    error(message);
    if (state_ == BotState::Left)
        return;
    const bool leaving = state_ == BotState::Leaving;
    state_ = BotState::Failed;
    if (leaving) {
        g_cancellable_cancel(cancel_.get());
        stop_pipeline();
    }
}

void Bot::start_janus()
{
    if (options_.url.empty() || options_.room.empty() ||
        (options_.mode == BotMode::JanusSubscriber && options_.feed.empty())) {
        janus_failed("Janus: the URL, the room and (subscriber) the feed are needed");
        return;
    }
    open_http_session();
    janus_post("", json::object({{"janus", json::str("create")}, {"transaction", json::str(transaction())}}),
               [this](JsonObject* reply) {
                   session_id_ = id_text(json::get_obj(reply, "data"), "id");
                   log("Janus session %s", session_id_.c_str());
                   janus_poll();
                   janus_keepalive();
                   janus_post("/" + session_id_,
                              json::object({{"janus", json::str("attach")},
                                            {"plugin", json::str("janus.plugin.videoroom")},
                                            {"transaction", json::str(transaction())}}),
                              [this](JsonObject* reply) {
                                  janus_handle_ = id_text(json::get_obj(reply, "data"), "id");
                                  if (options_.mode == BotMode::JanusPublisher) {
                                      add_camera_and_mic();
                                      if (sources_.empty()) {
                                          janus_failed("Janus: nothing to publish");
                                          return;
                                      }
                                      schedule_publish_offer();  // -> janus_send_gathered
                                      return;
                                  }
                                  JsonNode* feed = json::object_node(
                                      {{"feed", json::integer(g_ascii_strtoll(
                                                    options_.feed.c_str(), nullptr, 10))}});
                                  janus_message(json::object_node(
                                                    {{"request", json::str("join")},
                                                     {"ptype", json::str("subscriber")},
                                                     {"room", json::integer(g_ascii_strtoll(
                                                                  options_.room.c_str(), nullptr, 10))},
                                                     {"streams", json::array({feed})}}),
                                                nullptr, {});
                              });
               });
}

void Bot::janus_post(const std::string& path, const std::string& body,
                     std::function<void(JsonObject*)> done)
{
    g_main_context_push_thread_default(ctx_.get());
    SoupMessage* msg = soup_message_new("POST", (options_.url + path).c_str());
    if (!msg) {
        g_main_context_pop_thread_default(ctx_.get());
        janus_failed("bad Janus URL: " + options_.url + path);
        return;
    }
    g_autoptr(GBytes) bytes = g_bytes_new(body.data(), body.size());
    soup_message_set_request_body_from_bytes(msg, "application/json", bytes);
    if (options_.verbose)
        log("POST %s%s %.*s", options_.url.c_str(), path.c_str(), log_limit(), body.c_str());
    struct Data {
        std::weak_ptr<Bot*> self;
        SoupMessage* msg;
        std::function<void(JsonObject*)> done;
    };
    soup_session_send_and_read_async(
        http_.get(), msg, G_PRIORITY_DEFAULT, cancel_.get(),
        [](GObject* source, GAsyncResult* result, gpointer data) {
            auto* d = static_cast<Data*>(data);
            GError* err = nullptr;
            GBytes* reply = soup_session_send_and_read_finish(SOUP_SESSION(source), result, &err);
            if (auto self = d->self.lock())
                (*self)->on_janus_reply(d->msg, reply, err, d->done);
            if (reply)
                g_bytes_unref(reply);
            if (err)
                g_error_free(err);
            g_object_unref(d->msg);
            delete d;
        },
        new Data{self_, msg, std::move(done)});
    g_main_context_pop_thread_default(ctx_.get());
}

void Bot::on_janus_reply(SoupMessage* msg, GBytes* body, const GError* err,
                         const std::function<void(JsonObject*)>& done)
{
    if (!body) {
        if (!g_error_matches(err, G_IO_ERROR, G_IO_ERROR_CANCELLED))
            janus_failed(std::string("Janus: request failed: ") + (err ? err->message : "?"));
        return;
    }
    gsize size = 0;
    const char* data = static_cast<const char*>(g_bytes_get_data(body, &size));
    const std::string text(data ? data : "", size);
    if (soup_message_get_status(msg) != SOUP_STATUS_OK) {
        janus_failed("Janus: HTTP " + std::to_string(soup_message_get_status(msg)) + ": " + text);
        return;
    }
    json::Doc doc(text);
    std::string problem = janus_error(doc.object());
    if (!problem.empty()) {
        janus_failed(problem);
        return;
    }
    if (done)
        done(doc.object());
}

// A VideoRoom request; Janus acks it and sends the result as an event.
void Bot::janus_message(JsonNode* body, const char* jsep_type, const std::string& sdp)
{
    std::vector<std::pair<std::string, JsonNode*>> fields = {
        {"janus", json::str("message")}, {"transaction", json::str(transaction())}, {"body", body}};
    if (jsep_type)
        fields.push_back({"jsep", json::object_node({{"type", json::str(jsep_type)},
                                                     {"sdp", json::str(sdp)}})});
    const bool with_sdp = jsep_type != nullptr;
    janus_post("/" + session_id_ + "/" + janus_handle_, json::object(fields),
               [this, with_sdp](JsonObject*) {
                   // The SDP had every candidate we have.
                   if (with_sdp)
                       janus_post("/" + session_id_ + "/" + janus_handle_,
                                  json::object({{"janus", json::str("trickle")},
                                                {"transaction", json::str(transaction())},
                                                {"candidate", json::object_node({{"completed",
                                                                                  json::boolean(true)}})}}),
                                  {});
               });
}

// Our SDP with all its candidates: the publisher's offer or the
// subscriber's answer (post_when_gathered).
void Bot::janus_send_gathered(GstElement* webrtc, const std::string& sdp)
{
    const gint64 room = g_ascii_strtoll(options_.room.c_str(), nullptr, 10);
    if (webrtc == pub_)
        janus_message(json::object_node({{"request", json::str("joinandconfigure")},
                                         {"ptype", json::str("publisher")},
                                         {"room", json::integer(room)},
                                         {"display", json::str(options_.name)}}),
                      "offer", sdp);
    else
        janus_message(json::object_node({{"request", json::str("start")}}), "answer", sdp);
}

void Bot::janus_poll()
{
    if (session_id_.empty() || state_ == BotState::Leaving || state_ == BotState::Left ||
        state_ == BotState::Failed)
        return;
    g_main_context_push_thread_default(ctx_.get());
    std::string url = options_.url + "/" + session_id_ + "?maxev=10";
    SoupMessage* msg = soup_message_new("GET", url.c_str());
    soup_session_send_and_read_async(
        http_.get(), msg, G_PRIORITY_DEFAULT, cancel_.get(),
        [](GObject* source, GAsyncResult* result, gpointer data) {
            auto* w = static_cast<std::weak_ptr<Bot*>*>(data);
            GError* err = nullptr;
            GBytes* reply = soup_session_send_and_read_finish(SOUP_SESSION(source), result, &err);
            if (auto self = w->lock())
                (*self)->on_janus_poll(reply, err);
            if (reply)
                g_bytes_unref(reply);
            if (err)
                g_error_free(err);
            delete w;
        },
        new std::weak_ptr<Bot*>(self_));
    g_object_unref(msg);
    g_main_context_pop_thread_default(ctx_.get());
}

void Bot::on_janus_poll(GBytes* body, const GError* err)
{
    if (!body) {
        if (!g_error_matches(err, G_IO_ERROR, G_IO_ERROR_CANCELLED) && state_ != BotState::Leaving &&
            state_ != BotState::Left)
            janus_failed(std::string("Janus: long poll failed: ") + (err ? err->message : "?"));
        return;
    }
    gsize size = 0;
    const char* data = static_cast<const char*>(g_bytes_get_data(body, &size));
    g_autoptr(JsonParser) parser = json_parser_new();
    if (!json_parser_load_from_data(parser, data ? data : "", gssize(size), nullptr)) {
        janus_failed("Janus: the long poll's reply is not JSON");
        return;
    }
    // maxev: an array of events (or one object).
    JsonNode* root = json_parser_get_root(parser);
    if (root && JSON_NODE_HOLDS_ARRAY(root)) {
        JsonArray* events = json_node_get_array(root);
        for (guint i = 0; i < json_array_get_length(events); i++)
            if (JsonObject* e = json_array_get_object_element(events, i))
                on_janus_event(e);
    } else if (root && JSON_NODE_HOLDS_OBJECT(root)) {
        on_janus_event(json_node_get_object(root));
    }
    janus_poll();
}

void Bot::on_janus_event(JsonObject* event)
{
    const std::string type = json::get_str(event, "janus");
    if (options_.verbose) {
        g_autoptr(JsonNode) node = json_node_init_object(json_node_alloc(), event);
        log("<- %.*s", log_limit(), json::to_text(json_node_ref(node)).c_str());
    }
    const bool publisher = options_.mode == BotMode::JanusPublisher;
    if (type == "event") {
        std::string problem = janus_error(event);
        if (!problem.empty()) {
            janus_failed(problem);
            return;
        }
        JsonObject* plugin = json::get_obj(event, "plugindata");
        JsonObject* data = plugin ? json::get_obj(plugin, "data") : nullptr;
        const std::string what = data ? json::get_str(data, "videoroom") : "";
        if (what == "joined" && publisher)
            participant_id_ = id_text(data, "id");
        if (!publisher && what == "event" && json::get_str(data, "started") == "ok" &&
            state_ == BotState::Joining)
            state_ = BotState::Joined;
        JsonObject* jsep = json::get_obj(event, "jsep");
        if (!jsep)
            return;
        const std::string jsep_type = json::get_str(jsep, "type");
        if (publisher && jsep_type == "answer") {
            const size_t errors = errors_.size();
            handle_publish_answer(json::get_str(jsep, "sdp"));
            if (errors_.size() == errors && state_ == BotState::Joining)
                state_ = BotState::Joined;
        } else if (!publisher && jsep_type == "offer") {
            handle_subscribe_offer(json::get_str(jsep, "sdp"));
        } else {
            error("Janus sent an unexpected " + jsep_type);
        }
    } else if (type == "trickle") {
        JsonObject* c = json::get_obj(event, "candidate");
        if (c && !json::get_bool(c, "completed", false))
            handle_ice(publisher ? "publish" : "subscribe",
                       static_cast<unsigned>(json::get_int(c, "sdpMLineIndex", 0)),
                       json::get_str(c, "candidate"));
    } else if (type == "hangup") {
        if (state_ == BotState::Joining || state_ == BotState::Joined)
            janus_failed("Janus hung up: " + json::get_str(event, "reason"));
    }
    // webrtcup, media, slowlink, detached, keepalive: logged only.
}

void Bot::janus_keepalive()
{
    GSource* timer = g_timeout_source_new_seconds(25);
    g_source_set_callback(
        timer,
        [](gpointer data) -> gboolean {
            auto self = static_cast<std::weak_ptr<Bot*>*>(data)->lock();
            if (!self)
                return G_SOURCE_REMOVE;
            Bot* bot = *self;
            bot->janus_post("/" + bot->session_id_,
                            json::object({{"janus", json::str("keepalive")},
                                          {"transaction", json::str(transaction())}}),
                            {});
            return G_SOURCE_CONTINUE;
        },
        new std::weak_ptr<Bot*>(self_),
        [](gpointer data) { delete static_cast<std::weak_ptr<Bot*>*>(data); });
    janus_keepalive_timer_ = g_source_attach(timer, ctx_.get());
    g_source_unref(timer);
}

void Bot::janus_leave()
{
    if (janus_keepalive_timer_) {
        if (GSource* s = g_main_context_find_source_by_id(ctx_.get(), janus_keepalive_timer_))
            g_source_destroy(s);
        janus_keepalive_timer_ = 0;
    }
    auto finish = [this] {
        if (cancel_)
            g_cancellable_cancel(cancel_.get());  // the long poll
        if (state_ != BotState::Failed)
            state_ = BotState::Left;
        stop_pipeline();
    };
    if (session_id_.empty() || state_ == BotState::Left || state_ == BotState::Leaving) {
        if (state_ != BotState::Leaving)
            finish();
        return;
    }
    // Destroying the session detaches the handle and hangs up its
    // PeerConnection on Janus's side (a publisher leaves its room).
    const bool failed = state_ == BotState::Failed;
    state_ = BotState::Leaving;
    janus_post("/" + session_id_,
               json::object({{"janus", json::str("destroy")}, {"transaction", json::str(transaction())}}),
               [this, finish, failed](JsonObject*) {
                   log("Janus session %s destroyed", session_id_.c_str());
                   finish();
                   if (failed)
                       state_ = BotState::Failed;
               });
    // A refused destroy (the session gone already) ends in janus_failed.
}

}  // namespace zumzi::bot
