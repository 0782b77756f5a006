// One WebSocket connection (/api/v1/ws): its protocol state machine, a
// handler per message type, the rooms it has joined and its hub
// subscriptions. Signaling, chat and presence all travel on it; see
// docs/protocol.md. Main-loop thread only.
#pragma once

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include <functional>
#include <map>
#include <string>

#include "api/context.h"
#include "hub.h"
#include "live_rooms.h"

namespace zumzi {

class WsSession {
public:
    using Closed = std::function<void(uint64_t session_id)>;

    WsSession(uint64_t id, Context& ctx, Hub& hub, LiveRooms& live,
              SoupWebsocketConnection* connection, Principal principal, Closed closed);
    ~WsSession();  // leaves every room and closes the connection if open
    WsSession(const WsSession&) = delete;
    WsSession& operator=(const WsSession&) = delete;

    uint64_t id() const { return id_; }
    const Principal& principal() const { return principal_; }

    // Sends a message (JSON text) if the connection is open.
    void send(const std::string& text);

private:
    struct Joined {
        std::string participant_id;
        uint32_t permissions = 0;
        uint64_t room_handle = 0;    // hub: room events
        uint64_t roster_handle = 0;  // hub: participant events, with 'list' only
    };

    static void on_message(SoupWebsocketConnection*, gint type, GBytes* message, gpointer self);
    static void on_closed(SoupWebsocketConnection*, gpointer self);
    void handle(std::string_view text);
    void reply_error(JsonNode* id, const struct ApiError& error);

    void handle_ping(JsonNode* id);
    void handle_join(JsonNode* id, const JsonFields& fields);
    void handle_leave(JsonNode* id, const JsonFields& fields);
    void leave(std::string room_id);  // by value: callers pass map keys it erases

    uint64_t id_;
    Context& ctx_;
    Hub& hub_;
    LiveRooms& live_;
    SoupWebsocketConnection* connection_;
    Principal principal_;
    Closed closed_;
    std::map<std::string, Joined> rooms_;  // by room id
};

}  // namespace zumzi
