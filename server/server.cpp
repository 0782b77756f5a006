#include "server.h"

#include <gio/gio.h>

#include "api/routes.h"
#include "api/views.h"
#include "api/whip.h"

namespace zumzi {

namespace {

// The request body as it arrives, capped at the configured limit. Kept on the
// message as object data.
struct BodyBuffer {
    std::string data;
    size_t limit = 0;
    bool too_large = false;
};

const char* const kBodyKey = "zumzi-body";

void on_got_chunk(SoupServerMessage* msg, GBytes* chunk, gpointer)
{
    auto* body = static_cast<BodyBuffer*>(g_object_get_data(G_OBJECT(msg), kBodyKey));
    if (!body || body->too_large)
        return;
    gsize size = 0;
    const char* data = static_cast<const char*>(g_bytes_get_data(chunk, &size));
    if (body->data.size() + size > body->limit) {
        body->too_large = true;
        body->data.clear();
        body->data.shrink_to_fit();
        return;
    }
    body->data.append(data, size);
}

media::MediaConfig media_config(const Config& config)
{
    media::MediaConfig media;
    g_auto(GStrv) addresses = g_strsplit(config.host_addresses.c_str(), ",", -1);
    for (char** a = addresses; *a; a++) {
        g_strstrip(*a);
        if (**a)
            media.host_addresses.emplace_back(*a);
    }
    media.min_port = static_cast<unsigned>(config.min_port);
    media.max_port = static_cast<unsigned>(config.max_port);
    media.stun_server = config.stun_server;
    media.connect_timeout_ms = static_cast<unsigned>(config.connect_timeout) * 1000u;
    std::vector<TurnServer> turn;
    if (parse_turn_servers(config.turn_servers, turn, nullptr))
        for (const TurnServer& t : turn)
            media.turn_servers.push_back(t.url);
    return media;
}

ApiError too_large(size_t limit)
{
    return ApiError{413, "TOOLARGE",
                    "the request body is larger than " + std::to_string(limit) + " bytes"};
}

void add_cors_headers(SoupServerMessage* msg)
{
    // Bearer tokens, never cookies: any origin may call the API.
    SoupMessageHeaders* h = soup_server_message_get_response_headers(msg);
    soup_message_headers_replace(h, "Access-Control-Allow-Origin", "*");
    soup_message_headers_replace(h, "Access-Control-Expose-Headers", "Location, Retry-After");
}

}  // namespace

Server::Server(const Config& config, Store& store, CodeDelivery& delivery, Clock clock)
    : config_(config),
      store_(store),
      clock_(clock),
      auth_(store, clock),
      otp_(config, store, delivery, clock),
      pin_failures_(config.pin_failures_per_user, config.rate_window * 1000LL),
      context_{config, store, auth_, otp_, pin_failures_, clock, nullptr},
      static_files_(config.web_dir, config.vendor_dir),
      media_(media_config(config), registry_callbacks())
{
    whip_ = std::make_unique<WhipService>(context_, hub_, live_, media_);
    context_.whip = whip_.get();
    context_.media = &media_;
    moderation_ = std::make_unique<Moderation>(context_, hub_, live_, media_,
                                               [this](uint64_t id) { return find_session(id); });
    context_.moderation = moderation_.get();
    live_outputs_ = std::make_unique<LiveOutputs>(context_, live_, media_,
                                                  [this](uint64_t id) { return find_session(id); });
    context_.live_outputs = live_outputs_.get();
    chat_ = std::make_unique<Chat>(context_, hub_);
    context_.chat = chat_.get();
    add_all_routes(router_);
    soup_ = soup_server_new("server-header", "zumzi/" ZUMZI_VERSION " ", nullptr);
    soup_server_add_early_handler(soup_, nullptr, on_early, this, nullptr);
    soup_server_add_handler(soup_, nullptr, on_request, this, nullptr);
    // The WebSocket path: on_ws_request authenticates before the upgrade,
    // on_websocket takes the connection after it.
    soup_server_add_handler(soup_, "/api/v1/ws", on_ws_request, this, nullptr);
    soup_server_add_websocket_handler(soup_, "/api/v1/ws", nullptr, nullptr, on_websocket, this,
                                      nullptr);
}

Server::~Server()
{
    if (reap_source_) {
        g_source_destroy(reap_source_);
        g_source_unref(reap_source_);
    }
    closing_.clear();
    sessions_.clear();
    if (soup_) {
        soup_server_disconnect(soup_);
        g_object_unref(soup_);
    }
}

bool Server::listen(GError** error)
{
    SoupServerListenOptions options = static_cast<SoupServerListenOptions>(0);
    if (config_.tls_enabled()) {
        g_autoptr(GTlsCertificate) cert = g_tls_certificate_new_from_files(
            config_.tls_certificate.c_str(), config_.tls_key.c_str(), error);
        if (!cert)
            return false;
        soup_server_set_tls_certificate(soup_, cert);
        options = SOUP_SERVER_LISTEN_HTTPS;
    }
    g_autoptr(GSocketAddress) address =
        g_inet_socket_address_new_from_string(config_.listen.c_str(), config_.port);
    if (!address) {
        g_set_error(error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "bad listen address '%s'",
                    config_.listen.c_str());
        return false;
    }
    return soup_server_listen(soup_, address, options, error);
}

std::string Server::url() const
{
    GSList* uris = soup_server_get_uris(soup_);
    std::string out;
    if (uris) {
        g_autofree char* s = g_uri_to_string(static_cast<GUri*>(uris->data));
        out = s;
        if (!out.empty() && out.back() == '/')
            out.pop_back();
    }
    g_slist_free_full(uris, reinterpret_cast<GDestroyNotify>(g_uri_unref));
    return out;
}

int Server::port() const
{
    GSList* uris = soup_server_get_uris(soup_);
    int port = uris ? g_uri_get_port(static_cast<GUri*>(uris->data)) : -1;
    g_slist_free_full(uris, reinterpret_cast<GDestroyNotify>(g_uri_unref));
    return port;
}

// After the headers, before any body: refuse a declared oversized body at
// once, and collect the body ourselves so a chunked one stays bounded too.
void Server::on_early(SoupServer*, SoupServerMessage* msg, const char* path, GHashTable*,
                      gpointer user_data)
{
    auto* self = static_cast<Server*>(user_data);
    // File uploads (api/files.cpp) may be larger than any JSON body.
    const bool upload =
        g_str_equal(soup_server_message_get_method(msg), "POST") &&
        (g_str_equal(path, "/api/v1/files") || g_str_equal(path, "/api/v1/profile/photo") ||
         (g_str_has_prefix(path, "/api/v1/groups/") && g_str_has_suffix(path, "/photo")));
    const size_t limit =
        static_cast<size_t>(upload ? self->config_.max_upload_bytes : self->config_.max_body_bytes);
    SoupMessageHeaders* headers = soup_server_message_get_request_headers(msg);
    if (soup_message_headers_get_encoding(headers) == SOUP_ENCODING_CONTENT_LENGTH &&
        soup_message_headers_get_content_length(headers) > static_cast<goffset>(limit)) {
        add_cors_headers(msg);
        send_error(msg, too_large(limit));
        // The unread body is not worth keeping the connection for.
        soup_message_headers_replace(soup_server_message_get_response_headers(msg), "Connection",
                                     "close");
        return;
    }
    auto* body = new BodyBuffer;
    body->limit = limit;
    g_object_set_data_full(G_OBJECT(msg), kBodyKey, body,
                           [](gpointer p) { delete static_cast<BodyBuffer*>(p); });
    soup_message_body_set_accumulate(soup_server_message_get_request_body(msg), FALSE);
    g_signal_connect(msg, "got-chunk", G_CALLBACK(on_got_chunk), nullptr);
}

void Server::on_request(SoupServer*, SoupServerMessage* msg, const char* path, GHashTable*,
                        gpointer user_data)
{
    static_cast<Server*>(user_data)->handle(msg, path);
}

namespace {

const char* const kPrincipalKey = "zumzi-principal";

}  // namespace

// Before the upgrade: the access token comes as ?token= (browsers cannot set
// headers on a WebSocket) or as Authorization: Bearer.
void Server::on_ws_request(SoupServer*, SoupServerMessage* msg, const char*, GHashTable* query,
                           gpointer user_data)
{
    auto* self = static_cast<Server*>(user_data);
    const char* token =
        query ? static_cast<const char*>(g_hash_table_lookup(query, "token")) : nullptr;
    std::optional<std::string> credential;
    if (token && *token)
        credential = std::string(token);
    else
        credential = Auth::bearer(soup_message_headers_get_one(
            soup_server_message_get_request_headers(msg), "Authorization"));
    std::optional<Principal> principal;
    try {
        if (credential)
            principal = self->auth_.user_from_token(*credential);
    } catch (const StoreError& e) {
        g_warning("ws: store error: %s", e.what());
        send_error(msg, ApiError{500, "INTERNAL", "the server could not complete the request"});
        return;
    }
    if (!principal) {
        send_error(msg, ApiError{401, "AUTHFAIL",
                                 credential ? "the access token is unknown, expired or revoked"
                                            : "connect with ?token=<access token>"});
        return;
    }
    g_object_set_data_full(G_OBJECT(msg), kPrincipalKey, new Principal(*principal),
                           [](gpointer p) { delete static_cast<Principal*>(p); });
}

void Server::on_websocket(SoupServer*, SoupServerMessage* msg, const char*,
                          SoupWebsocketConnection* connection, gpointer user_data)
{
    auto* self = static_cast<Server*>(user_data);
    auto* principal = static_cast<Principal*>(g_object_get_data(G_OBJECT(msg), kPrincipalKey));
    if (!principal) {
        soup_websocket_connection_close(connection, SOUP_WEBSOCKET_CLOSE_POLICY_VIOLATION,
                                        "not authenticated");
        return;
    }
    const uint64_t id = self->next_session_++;
    self->sessions_.emplace(
        id, std::make_unique<WsSession>(id, self->context_, self->hub_, self->live_, self->media_,
                                        connection, *principal,
                                        [self](uint64_t closed) { self->session_closed(closed); }));
}

WsSession* Server::find_session(uint64_t id)
{
    auto it = sessions_.find(id);
    return it == sessions_.end() ? nullptr : it->second.get();
}

media::RegistryCallbacks Server::registry_callbacks()
{
    media::RegistryCallbacks callbacks;
    callbacks.on_track_published = [this](const std::string& room, const media::TrackInfo& t) {
        publish_track_event("track_published", room, t);
    };
    callbacks.on_track_unpublished = [this](const std::string& room, const media::TrackInfo& t) {
        publish_track_event("track_unpublished", room, t);
    };
    callbacks.on_track_muted = [this](const std::string& room, const media::TrackInfo& t) {
        JsonOut event;
        event.set("type", "track_muted")
            .set("room", room)
            .set("track_id", t.id)
            .set("participant_id", t.participant_id)
            .set("muted", t.muted);
        // A moderator's mute says who (a publisher's own does not).
        if (moderation_ && !moderation_->muting_by().empty())
            event.set("by", moderation_->muting_by());
        event.set("track", track_json(t));
        hub_.publish(room_topic(room), to_json_text(std::move(event)));
    };
    callbacks.on_speaking = [this](const std::string& room, const std::string& participant_id,
                                   bool speaking) {
        JsonOut event;
        event.set("type", "speaking")
            .set("room", room)
            .set("participant_id", participant_id)
            .set("speaking", speaking);
        hub_.publish(room_topic(room), to_json_text(std::move(event)));
    };
    callbacks.on_error = [](const std::string& room, const std::string& message) {
        g_warning("media room %s: %s", room.c_str(), message.c_str());
    };
    callbacks.on_output = [this](const std::string& room, const media::OutputEvent& event) {
        if (live_outputs_)
            live_outputs_->on_output(room, event);
    };
    callbacks.on_room_closed = [this](const std::string& room) {
        if (live_outputs_)
            live_outputs_->on_room_closed(room);
    };
    return callbacks;
}

// Track events go to everyone in the room through the hub.
void Server::publish_track_event(const char* type, const std::string& room_id,
                                 const media::TrackInfo& track)
{
    JsonOut event;
    event.set("type", type).set("room", room_id).set("track", track_json(track));
    hub_.publish(room_topic(room_id), to_json_text(std::move(event)));
}

void Server::session_closed(uint64_t id)
{
    auto it = sessions_.find(id);
    if (it == sessions_.end())
        return;
    closing_.push_back(std::move(it->second));
    sessions_.erase(it);
    if (reap_source_)
        return;
    // On the context the server runs on (tests run it in a thread of its own).
    reap_source_ = g_idle_source_new();
    g_source_set_callback(
        reap_source_,
        [](gpointer user_data) -> gboolean {
            auto* self = static_cast<Server*>(user_data);
            g_source_unref(self->reap_source_);
            self->reap_source_ = nullptr;
            self->closing_.clear();
            return G_SOURCE_REMOVE;
        },
        this, nullptr);
    g_source_attach(reap_source_, g_main_context_get_thread_default());
}

void Server::handle(SoupServerMessage* msg, const char* path)
{
    const char* method = soup_server_message_get_method(msg);
    // WHIP/WHEP players run in browsers too: same CORS rules as the API.
    // HLS players too (hls.js on another origin).
    const bool api = g_str_has_prefix(path, "/api/") || g_str_has_prefix(path, "/whip/") ||
                     g_str_has_prefix(path, "/whep/") || g_str_has_prefix(path, "/live/");
    if (api)
        add_cors_headers(msg);
    if (api && g_str_equal(method, "OPTIONS")) {
        SoupMessageHeaders* h = soup_server_message_get_response_headers(msg);
        soup_message_headers_replace(h, "Access-Control-Allow-Methods",
                                     "GET, POST, PUT, PATCH, DELETE, OPTIONS");
        soup_message_headers_replace(h, "Access-Control-Allow-Headers",
                                     "Authorization, Content-Type");
        soup_message_headers_replace(h, "Access-Control-Max-Age", "86400");
        soup_server_message_set_status(msg, SOUP_STATUS_NO_CONTENT, nullptr);
        return;
    }

    auto* body = static_cast<BodyBuffer*>(g_object_get_data(G_OBJECT(msg), kBodyKey));
    try {
        if (body && body->too_large)
            throw too_large(body->limit);
        Router::Match match = router_.match(method, path);
        if (!match.handler && match.allowed.empty() && !api &&
            (g_str_equal(method, "GET") || g_str_equal(method, "HEAD"))) {
            static_files_.serve(msg, path);  // the web client, or 404
            return;
        }
        if (!match.handler) {
            if (match.allowed.empty())
                fail(404, "NOTFOUND", "no such endpoint: %s", path);
            soup_message_headers_replace(soup_server_message_get_response_headers(msg), "Allow",
                                         match.allowed.c_str());
            fail(405, "BADMETHOD", "%s is not allowed here; use %s", method, match.allowed.c_str());
        }
        Request request(msg, std::move(match.params),
                        body ? std::string_view(body->data) : std::string_view());
        Reply reply = (*match.handler)(context_, request);
        if (reply.deferred)
            return;
        send_reply(msg, std::move(reply));
    } catch (const ApiError& e) {
        send_error(msg, e);
    } catch (const StoreError& e) {
        g_warning("%s %s: store error: %s", method, path, e.what());
        send_error(msg, ApiError{500, "INTERNAL", "the server could not complete the request"});
    } catch (const std::exception& e) {
        g_warning("%s %s: %s", method, path, e.what());
        send_error(msg, ApiError{500, "INTERNAL", "the server could not complete the request"});
    }
    g_debug("%s %s -> %u", method, path, soup_server_message_get_status(msg));
}

}  // namespace zumzi
