// Messaging: 1-1, group and room-chat messages over the WebSocket, their
// receipts, typing indicators and presence, and the conversation rules the
// REST handlers share (who may read or post where). Every event to clients
// goes through the hub, on the topic "user:<id>" of each recipient; a
// message is stored (committed) before anyone, the sender included, hears of
// it. See docs/protocol.md ("Chat"). Main-loop thread only.
#pragma once

#include <json-glib/json-glib.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "api/context.h"
#include "calls.h"
#include "hub.h"
#include "presence.h"

namespace zumzi {

class WsSession;

// The hub topic of one user's sessions.
inline std::string user_topic(const std::string& user_id)
{
    return "user:" + user_id;
}

// A conversation as one caller may use it.
struct Conversation {
    std::string id;      // "dm:<a>:<b>", "group:<id>", "room:<id>"
    std::string kind;    // "dm", "group", "room"
    std::string target;  // dm: the other user's id; group or room: its id
    std::string name;    // dm: the other user's name; group or room: its name
    int64_t since = 0;   // the caller sees messages sent from then on (ms)
    bool can_send = false;
    bool can_read = false;
};

// The id of the 1-1 conversation of two users.
std::string dm_conversation(const std::string& a, const std::string& b);

JsonOut message_json(const Message& message);

class Chat {
public:
    Chat(Context& ctx, Hub& hub);
    Chat(const Chat&) = delete;
    Chat& operator=(const Chat&) = delete;

    // A WebSocket session opened: it hears the user's events from now on,
    // the user's peers hear that they are online, and the session gets every
    // message that reached the user while they were away (oldest first,
    // then "synced").
    void attach(WsSession& session);
    // The session closed (idempotent); the last one of a user stores the
    // last-seen time and tells the peers.
    void detach(WsSession& session);

    bool handles(const std::string& type) const;
    // Handles a chat message of the WebSocket protocol; throws ApiError.
    void handle(WsSession& session, const std::string& type, JsonNode* id,
                const JsonFields& fields);

    // The conversation `id` as `me` may use it: NOTFOUND when it does not
    // exist in the caller's app, NOTMEMBER when they are not in it.
    Conversation open(const Principal& me, const std::string& id);
    // The users who receive a conversation's messages.
    std::vector<std::string> recipients(const Conversation& conversation);
    // Deletes `message_id` for everyone; only its sender may. Everyone in the
    // conversation hears of it except the session with hub handle `skip`.
    Message delete_message(const Principal& me, int64_t message_id, uint64_t skip = 0);
    // {"user", "online", "last_seen"} of a user, after {"type": type} if given.
    JsonOut presence_json(const std::string& user_id, const char* type = nullptr);

    bool online(const std::string& user_id) const { return presence_.online(user_id); }

    // Sends `text` to every session of `users` except the one with hub
    // handle `skip`.
    void publish(const std::vector<std::string>& users, const std::string& text, uint64_t skip = 0);

private:
    struct Client {
        WsSession* session = nullptr;
        uint64_t handle = 0;  // hub subscription to the user's topic
    };

    Conversation target_of(const Principal& me, const JsonFields& fields);
    void check_not_blocked(const Principal& me, const Conversation& c);
    void handle_send(WsSession& session, JsonNode* id, const JsonFields& fields);
    void handle_receipt(WsSession& session, JsonNode* id, const JsonFields& fields);
    void handle_typing(WsSession& session, JsonNode* id, const JsonFields& fields);
    void handle_delete(WsSession& session, JsonNode* id, const JsonFields& fields);
    void handle_presence(WsSession& session, JsonNode* id, const JsonFields& fields);
    uint64_t handle_of(const WsSession& session) const;
    void send_backlog(WsSession& session);

    Context& ctx_;
    Hub& hub_;
    Presence presence_;
    std::map<uint64_t, Client> clients_;  // by session id
    Calls calls_{ctx_, *this};
};

}  // namespace zumzi
