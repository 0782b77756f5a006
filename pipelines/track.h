// A published track: the publisher webrtcbin's src pad feeds a `tee` with
// RTP as received (no depayloading). Each subscription is a tee src pad
// linked straight to a subscriber webrtcbin's sink pad (no queue, no thread
// of its own: the publisher's streaming thread does the fan-out). Forwarding
// keeps the publisher's payload type and SSRC, so the subscriber's offer
// (built from the forwarded caps) describes exactly the packets it sends.
#pragma once

#include <gst/gst.h>

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "gst_ref.h"
#include "main_context.h"

namespace zumzi::media {

enum class TrackKind { Audio, Video };

const char* to_string(TrackKind kind);

struct TrackInfo {
    std::string id;              // unique in the room: "<participant>-<mid>"
    std::string participant_id;  // the publisher
    TrackKind kind = TrackKind::Video;
    std::string codec;  // encoding-name: "VP8", "OPUS", "H264"
    std::string mid;    // in the publisher's publish session
    std::string msid;   // the publisher's a=msid ("stream track"), may be empty
    std::string label;  // msid stream id, e.g. "camera" or "screen"
    unsigned ssrc = 0;
    int payload = -1;
    bool muted = false;  // the publisher (or a moderator) muted it: nobody gets it
};

// Rate limiting shared by the main context and the keyframe pad probe.
struct KeyframeGate {
    std::atomic<gint64> last_us{0};
    gint64 min_interval_us = 300000;
};

// Whether packets may pass to one subscriber: only once its answer is
// applied, and not while paused. Read by the streaming thread.
struct Gate {
    std::atomic<bool> open{false};
    std::atomic<bool> paused{false};
    bool passes() const { return open.load() && !paused.load(); }
};

class Track {
public:
    // `tee` is already linked to the publisher's src pad (see Participant).
    Track(GMainContext* ctx, GstBin* bin, GstElement* tee, std::shared_ptr<KeyframeGate> gate,
          TrackInfo info);
    ~Track();
    Track(const Track&) = delete;
    Track& operator=(const Track&) = delete;

    const TrackInfo& info() const { return info_; }
    GstElement* tee() const { return tee_.get(); }

    // Links a new tee src pad to `sinkpad`. Main context.
    // `payload` >= 0: the branch rewrites the RTP payload type (packets and
    // caps) to it, for a subscriber that chose its own (a WHEP offer).
    bool add_subscription(const std::string& subscriber_id, GstPad* sinkpad, int payload = -1);

    // Unlinks the branch in an IDLE probe on the tee's src pad (the
    // publisher and other subscribers never wait), then releases the tee
    // pad on the main context and calls `done` there. `flush_peer` is not
    // needed any more (no queue thread can be blocked in an unnegotiated
    // webrtcbin pad: the gate never sends packets there) and is ignored.
    void remove_subscription(const std::string& subscriber_id, bool flush_peer,
                             std::function<void()> done);

    // Lets packets through to the subscriber. Until then the branch only
    // carries events (the caps the offer is built from): no packet reaches
    // a subscriber before the answer that describes it was applied.
    void open_subscription(const std::string& subscriber_id);

    // Stops (or resumes) sending packets to one subscriber without touching
    // the negotiated session: a muted track, a video outside last-N, or a
    // subscriber that unsubscribed costs no forwarding. A resumed video
    // branch needs a keyframe: call request_keyframe(). Main context.
    void set_paused(const std::string& subscriber_id, bool paused);
    bool paused(const std::string& subscriber_id) const;

    bool has_subscription(const std::string& subscriber_id) const;
    std::vector<std::string> subscribers() const;

    // Asks the publisher for a keyframe (PLI), rate-limited; a request
    // inside the interval is deferred, not lost. Main context.
    void request_keyframe();

private:
    struct Subscription {
        std::shared_ptr<GstPad> tee_pad;
        std::shared_ptr<GstPad> sinkpad;
        std::shared_ptr<Gate> gate;
    };

    GMainContext* ctx_;
    GstPtr<GstBin> bin_;
    GstPtr<GstElement> tee_;
    std::shared_ptr<KeyframeGate> gate_;
    TrackInfo info_;
    std::map<std::string, Subscription> subscriptions_;
    Timer keyframe_timer_;
};

// Builds the upstream event the publisher's rtpsession turns into a PLI.
GstEvent* make_force_key_unit(unsigned ssrc, int payload);

}  // namespace zumzi::media
