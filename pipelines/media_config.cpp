#include "media_config.h"

#include <gst/webrtc/webrtc.h>

namespace zumzi::media {

// libnice's NiceAgent does UPnP port mapping by default: it multicasts SSDP
// on every interface and talks to whatever router answers. A server never
// wants that (and tests must stay on loopback).
void disable_upnp(GObject* webrtc_ice)
{
    if (!g_object_class_find_property(G_OBJECT_GET_CLASS(webrtc_ice), "agent"))
        return;
    GObject* nice = nullptr;
    g_object_get(webrtc_ice, "agent", &nice, nullptr);
    if (!nice)
        return;
    if (g_object_class_find_property(G_OBJECT_GET_CLASS(nice), "upnp"))
        g_object_set(nice, "upnp", FALSE, nullptr);
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
    disable_upnp(agent);
    g_object_unref(agent);
}

}  // namespace zumzi::media
