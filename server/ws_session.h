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
#include "room_registry.h"

namespace zumzi {

class LiveOutputs;
class Moderation;

class WsSession {
public:
    using Closed = std::function<void(uint64_t session_id)>;

    WsSession(uint64_t id, Context& ctx, Hub& hub, LiveRooms& live, media::RoomRegistry& media,
              SoupWebsocketConnection* connection, Principal principal, Closed closed);
    ~WsSession();  // leaves every room and closes the connection if open
    WsSession(const WsSession&) = delete;
    WsSession& operator=(const WsSession&) = delete;

    uint64_t id() const { return id_; }
    const Principal& principal() const { return principal_; }

    // Sends a message (JSON text) if the connection is open.
    void send(const std::string& text);

    // Moderation (moderation.cpp) of this session's participant in
    // `room_id`; nothing if it is not there. What it may do changed: later
    // requests are checked against `permissions`, and it hears roster
    // events only with 'list'.
    void set_permissions(const std::string& room_id, uint32_t permissions);
    // Takes the participant out of the room: it gets
    // {"type":"left","room":...,"reason":reason}, the others participant_left.
    void remove_from(const std::string& room_id, const std::string& reason);

private:
    struct Joined {
        std::string participant_id;
        uint32_t permissions = 0;
        uint64_t room_handle = 0;    // hub: room events
        uint64_t roster_handle = 0;  // hub: participant events, with 'list' only
        std::shared_ptr<media::Participant> media;
        // Runs while a media session is failed or disconnected; when it fires
        // the participant is taken out of the room.
        std::shared_ptr<media::Timer> dead_timer;
        // Checks media silence periodically (watch_silence).
        std::shared_ptr<media::Timer> silence_timer;
    };

    static void on_message(SoupWebsocketConnection*, gint type, GBytes* message, gpointer self);
    static void on_closed(SoupWebsocketConnection*, gpointer self);
    void handle(std::string_view text);
    void reply_error(JsonNode* id, const struct ApiError& error);

    void handle_ping(JsonNode* id);
    void handle_join(JsonNode* id, const JsonFields& fields);
    void handle_leave(JsonNode* id, const JsonFields& fields);
    void handle_publish(JsonNode* id, const JsonFields& fields);
    void handle_subscribe_answer(JsonNode* id, const JsonFields& fields);
    void handle_ice(const JsonFields& fields);
    void handle_mute(JsonNode* id, const JsonFields& fields, bool muted);
    void handle_track_subscription(JsonNode* id, const JsonFields& fields, bool subscribe);
    void handle_audio_only(JsonNode* id, const JsonFields& fields);
    // Moderation requests (see Moderation).
    void handle_set_permissions(JsonNode* id, const JsonFields& fields);
    void handle_remove_participant(JsonNode* id, const JsonFields& fields);
    void handle_readmit(JsonNode* id, const JsonFields& fields);
    void handle_mute_participant(JsonNode* id, const JsonFields& fields);
    void handle_lock_room(JsonNode* id, const JsonFields& fields);
    // Live output requests (see LiveOutputs).
    void handle_live_start(JsonNode* id, const JsonFields& fields);
    void handle_live_stop(JsonNode* id, const JsonFields& fields);
    void handle_live_layout(JsonNode* id, const JsonFields& fields);
    Moderation& moderation();
    LiveOutputs& live_outputs();
    std::shared_ptr<media::Room> media_room(const std::string& room_id);  // or NOTJOINED
    Joined& joined_room(const JsonFields& fields);                        // or NOTJOINED
    media::ParticipantCallbacks media_callbacks(const std::string& room_id);
    void on_media_state(const std::string& room_id, media::Session session,
                        const std::string& state);
    void watch_silence(const std::string& room_id);
    void media_timed_out(const std::string& room_id, const char* why);
    // By value: callers pass map keys it erases. participant_left carries
    // `reason` ("left", "media timeout", "removed").
    void leave(std::string room_id, const std::string& reason = "left");

    uint64_t id_;
    Context& ctx_;
    Hub& hub_;
    LiveRooms& live_;
    media::RoomRegistry& media_;
    SoupWebsocketConnection* connection_;
    Principal principal_;
    Closed closed_;
    std::map<std::string, Joined> rooms_;  // by room id
    // Engine callbacks hold a weak reference: they may run after we are gone.
    std::shared_ptr<WsSession*> self_ = std::make_shared<WsSession*>(this);
};

}  // namespace zumzi
