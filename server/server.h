// zumzi-server's HTTP front: one SoupServer on the main context that owns the
// REST routes and their services. Request bodies are collected here, bounded
// by max_body_bytes, so no handler ever sees (or buffers) more.
#pragma once

#include <libsoup/soup.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "api/context.h"
#include "auth.h"
#include "chat.h"
#include "clock.h"
#include "code_delivery.h"
#include "config.h"
#include "hub.h"
#include "live_output.h"
#include "live_rooms.h"
#include "moderation.h"
#include "otp.h"
#include "rate_limit.h"
#include "room_registry.h"
#include "router.h"
#include "static_files.h"
#include "store.h"
#include "ws_session.h"

namespace zumzi {

class WhipService;

class Server {
public:
    Server(const Config& config, Store& store, CodeDelivery& delivery, Clock clock = system_now_ms);
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    // Starts listening on config.listen:config.port (port 0 picks a free
    // one). Sources attach to the thread-default main context.
    bool listen(GError** error);

    // The base URL actually listened on, e.g. "http://127.0.0.1:8080".
    std::string url() const;
    int port() const;

    Auth& auth() { return auth_; }
    Hub& hub() { return hub_; }
    LiveRooms& live_rooms() { return live_; }
    media::RoomRegistry& media() { return media_; }
    WhipService& whip() { return *whip_; }
    Moderation& moderation() { return *moderation_; }
    LiveOutputs& live_outputs() { return *live_outputs_; }
    size_t session_count() const { return sessions_.size(); }

private:
    static void on_early(SoupServer*, SoupServerMessage* msg, const char* path, GHashTable*,
                         gpointer self);
    static void on_request(SoupServer*, SoupServerMessage* msg, const char* path, GHashTable*,
                           gpointer self);
    void handle(SoupServerMessage* msg, const char* path);
    static void on_ws_request(SoupServer*, SoupServerMessage* msg, const char* path, GHashTable*,
                              gpointer self);
    static void on_websocket(SoupServer*, SoupServerMessage* msg, const char* path,
                             SoupWebsocketConnection* connection, gpointer self);
    void session_closed(uint64_t id);
    media::RegistryCallbacks registry_callbacks();
    WsSession* find_session(uint64_t id);
    void publish_track_event(const char* type, const std::string& room_id,
                             const media::TrackInfo& track);

    const Config& config_;
    Store& store_;
    Clock clock_;
    Auth auth_;
    OtpService otp_;
    RateLimiter pin_failures_;
    Context context_;
    Router router_;
    StaticFiles static_files_;  // the web client at /
    Hub hub_;
    LiveRooms live_;
    std::unique_ptr<Chat> chat_;  // after hub_: unsubscribes from it
    media::RoomRegistry media_;
    std::unique_ptr<WhipService> whip_;  // after media_: ends its sessions first
    std::unique_ptr<Moderation> moderation_;
    std::unique_ptr<LiveOutputs> live_outputs_;
    // WebSocket sessions by id; closed ones wait in closing_ for an idle
    // callback, so none is destroyed inside its own signal handler.
    std::map<uint64_t, std::unique_ptr<WsSession>> sessions_;
    std::vector<std::unique_ptr<WsSession>> closing_;
    GSource* reap_source_ = nullptr;
    uint64_t next_session_ = 1;
    SoupServer* soup_ = nullptr;
};

}  // namespace zumzi
