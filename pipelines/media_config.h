// Engine-wide settings: ICE addresses and ports, jitterbuffer latency,
// keyframe request rate limit. Filled by the server from its config.
#pragma once

#include <gst/gst.h>

#include <string>
#include <vector>

namespace zumzi::media {

struct MediaConfig {
    // Host candidates only on these addresses (empty: every interface).
    std::vector<std::string> host_addresses;
    // UDP port range for ICE (0, 0: any).
    unsigned min_port = 0;
    unsigned max_port = 0;
    bool ice_tcp = false;
    std::string stun_server;  // "stun://host:port" or empty
    // "turn://user:pass@host:port" or "turns://..." (webrtcbin's format).
    std::vector<std::string> turn_servers;
    // Receiving jitterbuffer of publish sessions: low, we only forward.
    unsigned latency_ms = 40;
    // At most one keyframe request per track in this interval.
    unsigned keyframe_min_interval_ms = 100;
    // Talking indicator from the RTP audio-level extension (RFC 6464): a
    // packet at or above this loudness (-dBov, 0 = loudest, 127 = silence)
    // is voice; a participant starts speaking after `speaking_min_voiced`
    // voiced packets within one tick and stops after `speaking_hold_ms`
    // without any.
    unsigned speaking_level = 50;
    unsigned speaking_min_voiced = 3;
    unsigned speaking_hold_ms = 1000;
    unsigned speaking_tick_ms = 200;
    // Video of at most this many publishers is forwarded (0: all), unless a
    // room sets its own with Room::set_last_n().
    unsigned last_n = 0;
    // A session that was negotiated (an offer or answer went out or came
    // in) must reach connection-state "connected" (ICE and DTLS up) within
    // this long, or its participant hears on_connect_timeout (0: never). A
    // client that vanished before connecting never sends a packet, so the
    // media-silence watch, which starts with the first one, cannot see it.
    unsigned connect_timeout_ms = 20000;
};

// The RTP header extension carrying audio levels.
constexpr const char* kAudioLevelUri = "urn:ietf:params:rtp-hdrext:ssrc-audio-level";
// The id forwarded packets carry the audio level under, whatever id their
// publisher used: the only header extension subscribe offers declare (see
// Participant: every publisher's packets are renumbered to it on entry).
constexpr int kForwardedAudioLevelId = 1;
// Where an extension of a publisher that sat under kForwardedAudioLevelId
// goes instead: an id no subscribe offer declares, which receivers ignore.
constexpr int kParkedExtensionId = 14;
// Transport-wide congestion control sequence numbers (the feedback is
// `a=rtcp-fb:<pt> transport-cc`).
constexpr const char* kTwccUri =
    "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01";

// ICE connectivity check pacing (libnice's Ta) in ms, the least RFC 8445
// allows.
constexpr guint kIceCheckPacingMs = 5;

// Turns off libnice's UPnP and sets its check pacing on webrtcbin's
// "ice-agent" (a GstWebRTCICE).
void tune_nice_agent(GObject* webrtc_ice);

// Applies bundle policy, ICE restrictions and latency to a new webrtcbin.
void configure_webrtcbin(GstElement* webrtc, const MediaConfig& config);

}  // namespace zumzi::media
