// Zumzi's own send path for one session: on a subscribe session forwarded
// RTP leaves through SRTP and the ICE agent directly, not through
// webrtcbin's send chain; on a publish session, keyframe requests do.
//
// webrtcbin carries every forwarded packet, per subscriber, through
// rtpfunnel, rtpbin's rtpsession, the transport bins, srtpenc and nicesink,
// a dozen pads and several locks each (docs/benchmarks.md, "Where a
// forwarded packet's CPU goes"). A forwarder needs none of it: the packet
// is final when it reaches the subscriber's sink pad. So once the session
// is connected, a probe on each sink pad protects the packet with the
// session's own DTLS-SRTP keys (read from webrtcbin's srtpenc, one
// SrtpContext of ours, srtp.h) and hands it to the session's NiceAgent, in
// the publisher's streaming thread, and drops it there.
//
// What webrtcbin still does for the session: SDP, ICE, DTLS, and receiving
// the subscriber's RTCP. Caps and other events still reach its rtpsession,
// which therefore knows the forwarded SSRCs as its own and turns the
// subscriber's PLI/FIR into the upstream keyframe request the tracks
// forward to publishers (track.h). rtpsession sees no packets, so it would
// only send empty receiver reports about these SSRCs, under an SRTCP index
// of srtpenc's own: its outgoing RTCP is dropped, and this sender sends the
// sender reports (a wall-clock to RTP timestamp mapping per SSRC, what the
// subscriber's lip sync needs) with its own context, about once a second
// per stream.
//
// Until start() succeeds (or if it cannot: no single bundled transport,
// no keys, a cipher other than AES-128 counter mode) packets take
// webrtcbin's path, so a session always sends. ZUMZI_WEBRTCBIN_SEND=1 in
// the environment leaves every session to webrtcbin, to compare the two
// (docs/benchmarks.md).
//
// On a publish session (Role::Feedback) it sends only keyframe requests:
// a PLI straight to the publisher, under an SSRC of its own, when a new
// subscriber needs a keyframe. rtpsession would send it as early RTCP, and
// RFC 4585 allows one early packet per regular interval: with subscribers
// joining a few hundred ms apart, every other one waited for the next
// regular report (docs/benchmarks.md, "First frame").
#pragma once

#include <gst/gst.h>

#include <cstdint>
#include <memory>

namespace zumzi::media {

class RtpSender {
public:
    enum class Role {
        Forward,   // a subscribe session: forwarded RTP and its sender reports
        Feedback,  // a publish session: keyframe requests (webrtcbin sends the rest)
    };

    // `webrtc`: the session's webrtcbin (bundle-policy max-bundle).
    explicit RtpSender(GstElement* webrtc, Role role = Role::Forward);
    ~RtpSender();
    RtpSender(const RtpSender&) = delete;
    RtpSender& operator=(const RtpSender&) = delete;

    // Adds the sending probe to a sink pad of the webrtcbin. Add it after
    // any probe that still changes the packets (the WHEP view rewriter).
    void attach(GstPad* sinkpad);

    // Once the session is connected (DTLS has set srtpenc's keys): finds
    // the transport and takes over sending. False (and webrtcbin keeps
    // sending) if it cannot. Main context; a second call does nothing.
    bool start();
    bool active() const;
    // Stops sending, for good, before the session goes to NULL: a send in
    // progress finishes first, none starts after. Main context.
    void stop();

    // Feedback: sends a PLI for the remote sender's `media_ssrc` (RFC 4585
    // 6.3.1, in a compound packet after an empty receiver report), now.
    // False if the sender is not active or the send failed: the caller
    // then leaves the request to rtpsession. Any thread.
    bool request_keyframe(uint32_t media_ssrc);
    // Feedback: the SSRC its RTCP goes out under.
    uint32_t ssrc() const;

    // RTP packets, RTCP sender reports and keyframe requests sent, and
    // sends the ICE agent refused (diagnostics and tests).
    uint64_t packets_sent() const;
    uint64_t reports_sent() const;
    uint64_t keyframe_requests_sent() const;
    uint64_t send_errors() const;

    struct State;

private:
    GstElement* webrtc_;  // not owned: the Participant holds it
    Role role_;
    std::shared_ptr<State> state_;
    gulong pair_handler_ = 0;  // on the agent, which the State holds
};

}  // namespace zumzi::media
