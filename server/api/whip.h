// WHIP (RFC 9725) ingest and WHEP playback: a broadcaster (OBS, GStreamer's
// whipsink) publishes into a room with one HTTP POST of its SDP offer; a
// player watches a room's tracks, or its composite, the same way. Each session is a media
// participant of the room (publish-only for WHIP, subscribe-only for WHEP)
// and a live participant in the roster ("WHIP" / "WHEP").
//
// The answer is sent only once ICE gathering is complete, with the
// candidates in the SDP: WHIP/WHEP clients need not trickle. Main loop only.
#pragma once

#include <libsoup/soup.h>

#include <map>
#include <memory>
#include <string>

#include "../hub.h"
#include "../live_rooms.h"
#include "context.h"
#include "room_registry.h"

namespace zumzi {

class WhipService {
public:
    WhipService(Context& ctx, Hub& hub, LiveRooms& live, media::RoomRegistry& media);
    ~WhipService();  // ends every session
    WhipService(const WhipService&) = delete;
    WhipService& operator=(const WhipService&) = delete;

    // POST /whip/{room} (publish) and POST /whep/{room} (!publish): checks
    // everything, starts the session and pauses the message; the answer (or
    // an error) is sent when the engine has it. Throws ApiError otherwise.
    // `composite`: POST /whep/{room}/live, the player gets the room's
    // composite (409 ROOMIDLE when nobody is in the call); the session
    // keeps the composite running, like an output, until it ends.
    Reply start(Request& req, bool publish, bool composite = false);
    // DELETE /whip/{room}/{session}, DELETE /whep/{room}/{session}.
    Reply stop(Request& req, bool publish);

    size_t session_count() const { return sessions_.size(); }

    // Moderation: ends the session of live participant `participant_id`
    // (participant_left carries `reason`; a request still waiting for its
    // answer gets 403 REMOVED or PERMISSION). False if there is none.
    bool end_participant(const std::string& room_id, const std::string& participant_id,
                         const std::string& reason);
    // A moderator changed the permissions of that participant's user: a
    // WHIP session without 'publish', or a WHEP one without 'subscribe',
    // ends (reason "permission").
    void permissions_changed(const std::string& room_id, const std::string& participant_id,
                             uint32_t permissions);

private:
    struct Session {
        std::string id;
        std::string room_id;
        std::string participant_id;
        std::string user_id;
        bool publish = true;
        std::shared_ptr<media::Participant> media;
        SoupServerMessage* pending = nullptr;  // a reference while the answer is made
        gulong disconnected_handler = 0;
        bool disconnected = false;
        std::shared_ptr<media::Timer> dead_timer;
        std::shared_ptr<media::Timer> silence_timer;
    };

    media::ParticipantCallbacks callbacks(const std::string& session_id);
    void on_answer(const std::string& session_id, bool ok, const std::string& sdp_or_error);
    void on_media_state(const std::string& session_id, const std::string& state);
    // Ends a session from which no RTP/RTCP arrived for peer_timeout once
    // media had flowed (a frozen broadcaster or player keeps ICE up).
    void watch_silence(const std::string& session_id);
    // Ends the session: out of the media room and the roster. A request
    // still waiting for its answer gets `error` (unless shutting down).
    // participant_left carries `reason` ("left", "media timeout", ...).
    void end(std::string session_id, const ApiError* error, const std::string& reason = "left");
    static void on_disconnected(SoupServerMessage* msg, gpointer data);

    Context& ctx_;
    Hub& hub_;
    LiveRooms& live_;
    media::RoomRegistry& media_;
    std::map<std::string, std::unique_ptr<Session>> sessions_;
    bool shutting_down_ = false;
    // Engine callbacks hold a weak reference: they may outlive us.
    std::shared_ptr<WhipService*> self_;
};

}  // namespace zumzi
