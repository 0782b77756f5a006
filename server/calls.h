// 1-1 voice/video calls as signaling on the WebSocket: call, ringing,
// answer, reject (or busy), hang up, missed when nobody answers within
// [chat] call_ring_timeout. An answered call becomes a two-member room of
// the media engine, which both sides then join like any room. Calls live in
// memory only. See docs/protocol.md ("Calls"). Main-loop thread only.
#pragma once

#include <glib.h>

#include <map>
#include <string>

#include "api/context.h"

namespace zumzi {

class Chat;
class WsSession;

class Calls {
public:
    Calls(Context& ctx, Chat& chat) : ctx_(ctx), chat_(chat) {}
    ~Calls();
    Calls(const Calls&) = delete;
    Calls& operator=(const Calls&) = delete;

    bool handles(const std::string& type) const;
    void handle(WsSession& session, const std::string& type, JsonNode* id,
                const JsonFields& fields);
    // The user's last session closed: their calls end.
    void user_offline(const std::string& user_id);
    size_t active() const { return calls_.size(); }

private:
    struct Call {
        std::string id;
        std::string app_id;
        std::string caller;
        std::string callee;
        bool video = true;
        std::string state;  // "calling", "ringing", "active"
        std::string room;   // once answered
        GSource* timer = nullptr;
    };

    void start(WsSession& session, JsonNode* id, const JsonFields& fields);
    Call& find(const WsSession& session, const JsonFields& fields);
    void end(const std::string& call_id, const std::string& reason);
    bool busy(const std::string& user_id) const;
    static gboolean on_ring_timeout(gpointer data);

    Context& ctx_;
    Chat& chat_;
    std::map<std::string, Call> calls_;  // by call id
};

}  // namespace zumzi
