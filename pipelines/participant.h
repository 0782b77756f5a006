// One participant of a room: a publish session (webrtcbin receiving the
// participant's tracks; the client offers, the engine answers) and a
// subscribe session (webrtcbin sending other participants' tracks; the
// engine offers, the client answers). Each side always offers in the same
// direction, so renegotiations never cross.
//
// All methods and callbacks run on the main context of the RoomRegistry.
#pragma once

#include <gst/gst.h>
#include <gst/sdp/sdp.h>
#include <gst/webrtc/webrtc.h>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "gst_ref.h"
#include "main_context.h"
#include "media_config.h"
#include "rtp_sender.h"
#include "track.h"

namespace zumzi::media {

class Room;

enum class Session { Publish, Subscribe };

const char* to_string(Session session);

// The "stream track" msid of an SDP media section: its a=msid, or the msid
// of its a=ssrc lines (where webrtcbin 1.22 writes it). Empty if none.
std::string sdp_media_msid(const GstSDPMedia* media);

struct ParticipantCallbacks {
    // A local ICE candidate of `session` for the client (trickle ICE).
    std::function<void(Session session, unsigned mline, const std::string& candidate)>
        on_ice_candidate;
    // The subscribe session has a new offer; reply with subscribe_answer().
    std::function<void(const std::string& sdp)> on_subscribe_offer;
    // webrtcbin's connection-state ("new", "connecting", "connected",
    // "disconnected", "failed", "closed"); the server times out dead peers.
    std::function<void(Session session, const std::string& state)> on_connection_state;
    // A negotiation step failed (bad SDP, refused answer).
    std::function<void(Session session, const std::string& message)> on_error;
    // `session` was negotiated (the first publish or WHEP offer came in, or
    // a subscribe offer went out) but did not reach "connected" within
    // MediaConfig::connect_timeout_ms: the client vanished before ICE and
    // DTLS completed, or never answered. Once per session; end the
    // participant as for a dead peer.
    std::function<void(Session session)> on_connect_timeout;
};

class Participant : public std::enable_shared_from_this<Participant> {
public:
    // (done, sdp or error): the answer to a publish offer.
    using AnswerCallback = std::function<void(bool ok, const std::string& sdp_or_error)>;

    Participant(std::string id, std::weak_ptr<Room> room, GMainContext* ctx, GstBin* bin,
                const MediaConfig& config, ParticipantCallbacks callbacks);
    ~Participant();
    Participant(const Participant&) = delete;
    Participant& operator=(const Participant&) = delete;

    const std::string& id() const { return id_; }

    // The client's offer for the publish session (first or renegotiation).
    // `done` runs later on the main context with the answer SDP; local ICE
    // candidates follow through on_ice_candidate. Returns false (and
    // changes nothing) when `sdp` does not parse.
    // `complete_ice` (WHIP, no trickle): `done` gets the local description
    // only once ICE gathering is complete (at most 5 s), candidates included.
    bool publish_offer(const std::string& sdp, AnswerCallback done, bool complete_ice = false);

    enum class ViewOffer { Accepted, BadSdp, NotRecvOnly, NothingToPlay, Closed };
    // WHEP: the client's recvonly offer for the subscribe session of a
    // participant joined with `subscribe = false`. The room's current
    // tracks at the time of the offer, since WHEP has no renegotiation:
    // each audio/video m-line gets the most recently published track of its
    // kind (only tracks of `from_participant` when it is not empty; the
    // composite's tracks when it is kCompositeParticipant) whose
    // codec the offer lists and that no earlier m-line got. Its SENDONLY
    // sink pad has explicit codec-preferences (the offer's payload type),
    // the branch from the track's tee rewrites the payload type to it, and
    // the pad rewrites SSRC, sequence numbers and timestamps so that the
    // m-line keeps one valid stream when its track is swapped (see
    // refill_view). An m-line that gets no track is answered inactive.
    // `done` gets the answer with its ICE candidates (gathering complete,
    // at most 5 s). BadSdp / NotRecvOnly / NothingToPlay: nothing changed.
    ViewOffer view_offer(const std::string& sdp, const std::string& from_participant,
                         AnswerCallback done);
    // The checks view_offer() makes of a WHEP offer for the composite from
    // the SDP alone, for a caller that wants them before it builds anything:
    // BadSdp, NotRecvOnly, NothingToPlay (no m-line lists the composite's
    // video or audio codec), else Accepted.
    static ViewOffer check_composite_offer(const std::string& sdp);
    // Track ids a view_offer() linked (WHEP), in m-line order; "" for an
    // m-line whose track went away and that has none now.
    std::vector<std::string> viewed_tracks() const;

    // The client's answer to the last on_subscribe_offer. False if it does
    // not parse; a refused answer is reported through on_error.
    bool subscribe_answer(const std::string& sdp);

    // A remote ICE candidate from the client for `session`.
    void add_ice_candidate(Session session, unsigned mline, const std::string& candidate);

    // When the client last sent media: an RTP packet of a track it
    // publishes, or an RTCP report on either session (g_get_monotonic_time()
    // microseconds; 0 if never). A client whose ICE agent still answers but
    // whose media stopped (a frozen tab, a paused pipeline) shows here, not
    // in the connection state. RTCP comes every few seconds (rtpbin's
    // interval, up to 7.5 s): a pure subscriber looks silent between.
    gint64 last_received_us() const { return last_rx_ ? last_rx_->load() : 0; }

    // The tracks this participant publishes right now.
    std::vector<TrackInfo> published_tracks() const;

    // Test and diagnostics access.
    // The publish session is null until the first publish offer.
    GstElement* publish_webrtcbin() const { return publish_.get(); }
    GstElement* subscribe_webrtcbin() const { return subscribe_.get(); }
    size_t subscribe_slots() const { return slots_.size(); }
    const RtpSender& sender() const { return *sender_; }
    // The publish session's keyframe request sender; null before publishing.
    const RtpSender* feedback_sender() const { return feedback_.get(); }

    // --- Engine internals (main context), public for the signal handlers ---
    struct PublishState {  // shared with webrtcbin signal handlers
        GMainContext* ctx;
        std::weak_ptr<Participant> self;
        gint64 keyframe_interval_us;
        std::shared_ptr<std::atomic<gint64>> last_rx;  // see last_received_us()
        std::mutex lock;
        std::vector<GstPtr<GstElement>> tees;  // one per publisher src pad
        // Sends keyframe requests to the publisher once the publish
        // session is connected (null until the session exists).
        std::shared_ptr<RtpSender> feedback;
    };
    void start();  // adds the subscribe webrtcbin to the pipeline (after make_shared)
    const ParticipantCallbacks& callbacks() const { return callbacks_; }
    std::string remote_msid(const std::string& mid) const;
    // The a=extmap id of `uri` in the client's publish offer for `mid`
    // (what the answer accepted), or 0.
    int remote_extmap_id(const std::string& mid, const std::string& uri) const;
    void on_publish_pad_ready(GstElement* tee, GstCaps* caps, const std::string& mid,
                              std::shared_ptr<KeyframeGate> gate);
    void on_publish_pad_ended(const std::string& mid);
    void on_connection_state(Session session, const std::string& state);
    void on_offer_created(const std::string& error, const std::string& sdp);
    void on_subscribe_answer_applied(const std::string& error);
    void on_view_answer_applied(bool ok, const std::string& sdp_or_error, AnswerCallback done);
    void finish_when_gathered(GstElement* webrtc, AnswerCallback done);
    void apply_view_offer(std::shared_ptr<GstWebRTCSessionDescription> offer, AnswerCallback done);
    void answer_view_offer(GstWebRTCSessionDescription* offer, const AnswerCallback& done);
    // A send pad's caps or a session's ICE gathering state changed (posted
    // from their notify handlers): the waits on them check again.
    void poke_waits();

private:
    // The publish webrtcbin, created and added to the pipeline on first use.
    GstElement* publish_session();
    void connect_session_signals(GstElement* webrtc, Session session);

    friend class Room;
    struct Slot {
        GstPtr<GstPad> sinkpad;
        TrackKind kind;
        std::string codec;
        std::string track_id;  // empty: free, reusable by the next track of this kind
        unsigned ssrc = 0;
        bool offered = false;         // the current track is in the pending offer
        bool negotiated = false;      // the current track is in an applied answer
        bool pad_negotiated = false;  // the pad was ever part of an applied answer
    };
    // Called by Room (main context).
    GstPad* acquire_slot(const TrackInfo& track);
    bool slot_negotiated(const std::string& track_id) const;
    void release_slot(const std::string& track_id);
    void renegotiate();
    void offer_subscribe();  // renegotiate(), once the slots have their caps
    void watch_send_caps(GstPad* sinkpad);
    void shutdown();  // elements to NULL and out of the bin

    void request_keyframes();
    // Starts `session`'s connect deadline (see on_connect_timeout) unless
    // it runs already or the session connected once.
    void arm_connect_timer(Session session);
    // Lets packets through to every negotiated slot and view, once the
    // subscribe session is connected.
    void open_negotiated();

    std::string id_;
    std::weak_ptr<Room> room_;
    GMainContext* ctx_;
    GstPtr<GstBin> bin_;
    MediaConfig config_;
    ParticipantCallbacks callbacks_;
    GstPtr<GstElement> publish_;
    GstPtr<GstElement> subscribe_;
    // Sends what the subscribe session forwards, once it is connected.
    std::unique_ptr<RtpSender> sender_;
    // Sends keyframe requests on the publish session (with publish_).
    std::shared_ptr<RtpSender> feedback_;
    std::shared_ptr<PublishState> publish_state_;
    std::shared_ptr<std::atomic<gint64>> last_rx_ = std::make_shared<std::atomic<gint64>>(0);
    std::vector<Slot> slots_;
    bool awaiting_answer_ = false;
    bool renegotiate_again_ = false;
    Wait caps_wait_;  // for the send pads' caps (subscribe offer, WHEP answer)
    // Per session (Publish, Subscribe): the connect deadline, and whether
    // the session ever reached "connected".
    Timer connect_timers_[2];
    bool connected_[2] = {false, false};
    bool closed_ = false;
    bool subscribes_ = true;
    // WHEP: the m-lines view_offer() answered with a track. An m-line keeps
    // its pad, kind, codec and payload type for the session; the track that
    // feeds it may change (refill_view).
    struct View {
        std::string track_id;  // empty: silent, waiting for a track of its kind
        GstPtr<GstPad> sinkpad;
        TrackKind kind;
        std::string codec;
        int payload = -1;
        bool negotiated = false;
    };
    // A silent view of `track`'s kind and codec gets it (Room, main context).
    void refill_view(const std::string& except_track_id);
    bool view_accepts(const View& view, const TrackInfo& track) const;
    bool feed_view(View& view, Track& track);
    std::vector<View> views_;
    std::string view_from_;  // view_offer()'s from_participant
    bool view_offered_ = false;
    // Waiting for ICE gathering before handing out an answer (WHIP/WHEP);
    // gather_done_ is the pending answer's callback, failed by shutdown().
    Wait gather_wait_;
    AnswerCallback gather_done_;
};

}  // namespace zumzi::media
