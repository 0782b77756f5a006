/* The gstzumzi plugin: Zumzi's live-output elements, usable from gst-launch
 * with GST_PLUGIN_PATH=<build>/plugins (docs/plugins.md). Built twice: as
 * that loadable module, and (with GST_PLUGIN_BUILD_STATIC) as a static
 * library the server links and registers with gst_zumzi_register_static(). */
#include <gst/gst.h>

#include "gstzumzi.h"

#include "gstzumzilivesink.h"
#include "gstzumzimixer.h"
#include "gstzumzispeaker.h"

static gboolean plugin_init(GstPlugin* plugin)
{
    gboolean ok = FALSE;
    ok |= GST_ELEMENT_REGISTER(zumzimixer, plugin);
    ok |= GST_ELEMENT_REGISTER(zumzispeaker, plugin);
    ok |= GST_ELEMENT_REGISTER(zumzilivesink, plugin);
    return ok;
}

GST_PLUGIN_DEFINE(GST_VERSION_MAJOR, GST_VERSION_MINOR, zumzi,
                  "Zumzi live output: video mixer with layouts, active speaker detection, "
                  "encoding to HLS, RTMP and recordings",
                  plugin_init, VERSION, "MIT/X11", PACKAGE_NAME, PACKAGE_ORIGIN)

#ifdef GST_PLUGIN_BUILD_STATIC
gboolean gst_zumzi_register_static(void)
{
    static gsize once = 0;
    if (g_once_init_enter(&once)) {
        GST_PLUGIN_STATIC_REGISTER(zumzi);
        g_once_init_leave(&once, 1);
    }
    return gst_registry_find_plugin(gst_registry_get(), "zumzi") != NULL;
}
#endif
