// Zumzi's own send path for one subscribe session: forwarded RTP leaves
// through SRTP and the ICE agent directly, not through webrtcbin's send
// chain.
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
#pragma once

#include <gst/gst.h>

#include <cstdint>
#include <memory>

namespace zumzi::media {

class RtpSender {
public:
    // `webrtc`: the subscribe session's webrtcbin (bundle-policy max-bundle).
    explicit RtpSender(GstElement* webrtc);
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

    // RTP packets and RTCP sender reports sent, and sends the ICE agent
    // refused (diagnostics and tests).
    uint64_t packets_sent() const;
    uint64_t reports_sent() const;
    uint64_t send_errors() const;

    struct State;

private:
    GstElement* webrtc_;  // not owned: the Participant holds it
    std::shared_ptr<State> state_;
    gulong pair_handler_ = 0;  // on the agent, which the State holds
};

}  // namespace zumzi::media
