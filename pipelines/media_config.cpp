#include "media_config.h"

#include <gst/webrtc/webrtc.h>

namespace zumzi::media {

// Settings of webrtcbin's libnice NiceAgent (GstWebRTCNice's "agent"):
// - UPnP off: by default it multicasts SSDP on every interface and talks to
//   whatever router answers. A server never wants that (and tests must stay
//   on loopback).
// - Ta, the pacing of connectivity checks, at 5 ms instead of 20: webrtcbin
//   makes the agent nominate regularly (a construct-only choice), so the
//   controlling side, the server in every subscribe session, spends two
//   ticks after the first successful check before the pair is selected
//   (measured: 40 of the 64 ms ICE took on loopback). RFC 8445 14.2 allows
//   Ta down to 5 ms; the timer only runs while checks do (about 5 s).
void tune_nice_agent(GObject* webrtc_ice)
{
    if (!g_object_class_find_property(G_OBJECT_GET_CLASS(webrtc_ice), "agent"))
        return;
    GObject* nice = nullptr;
    g_object_get(webrtc_ice, "agent", &nice, nullptr);
    if (!nice)
        return;
    GObjectClass* klass = G_OBJECT_GET_CLASS(nice);
    if (g_object_class_find_property(klass, "upnp"))
        g_object_set(nice, "upnp", FALSE, nullptr);
    if (g_object_class_find_property(klass, "stun-pacing-timer"))
        g_object_set(nice, "stun-pacing-timer", kIceCheckPacingMs, nullptr);
    g_object_unref(nice);
}

namespace {

// webrtcbin puts a `clocksync` (sync=true) in front of every send stream,
// to pace a non-live upstream. Forwarded RTP is live and already on time:
// the clock wait per packet and subscriber is pure cost, and it would run
// in the publisher's streaming thread, which does the fan-out.
void on_deep_element_added(GstBin*, GstBin*, GstElement* element, gpointer)
{
    GstElementFactory* factory = gst_element_get_factory(element);
    if (factory && g_strcmp0(GST_OBJECT_NAME(factory), "clocksync") == 0)
        g_object_set(element, "sync", FALSE, nullptr);
}

}  // namespace

void configure_webrtcbin(GstElement* webrtc, const MediaConfig& config)
{
    g_signal_connect(webrtc, "deep-element-added", G_CALLBACK(on_deep_element_added), nullptr);
    g_object_set(webrtc, "bundle-policy", GST_WEBRTC_BUNDLE_POLICY_MAX_BUNDLE, "latency",
                 config.latency_ms, nullptr);
    if (!config.stun_server.empty())
        g_object_set(webrtc, "stun-server", config.stun_server.c_str(), nullptr);
    for (const auto& turn : config.turn_servers) {
        gboolean ok = FALSE;
        g_signal_emit_by_name(webrtc, "add-turn-server", turn.c_str(), &ok);
        if (!ok)
            g_warning("webrtcbin refused a TURN server (expected turn(s)://user:pass@host:port)");
    }

    GObject* agent = nullptr;
    g_object_get(webrtc, "ice-agent", &agent, nullptr);
    if (!agent)
        return;
    for (const auto& address : config.host_addresses) {
        gboolean ok = FALSE;
        g_signal_emit_by_name(agent, "add-local-ip-address", address.c_str(), &ok);
    }
    if (config.min_port || config.max_port)
        g_object_set(agent, "min-rtp-port", config.min_port, "max-rtp-port",
                     config.max_port ? config.max_port : 65535u, nullptr);
    if (g_object_class_find_property(G_OBJECT_GET_CLASS(agent), "ice-tcp"))
        g_object_set(agent, "ice-tcp", config.ice_tcp ? TRUE : FALSE, nullptr);
    tune_nice_agent(agent);
    g_object_unref(agent);
}

}  // namespace zumzi::media
