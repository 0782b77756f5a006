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
    // Receiving jitterbuffer of publish sessions: low, we only forward.
    unsigned latency_ms = 40;
    // At most one keyframe request per track in this interval.
    unsigned keyframe_min_interval_ms = 300;
};

// Turns off libnice's UPnP on webrtcbin's "ice-agent" (a GstWebRTCICE).
void disable_upnp(GObject* webrtc_ice);

// Applies bundle policy, ICE restrictions and latency to a new webrtcbin.
void configure_webrtcbin(GstElement* webrtc, const MediaConfig& config);

}  // namespace zumzi::media
