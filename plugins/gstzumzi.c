/* The gstzumzi plugin: Zumzi's live-output elements, usable from gst-launch
 * with GST_PLUGIN_PATH=<build>/plugins (docs/plugins.md). */
#include <gst/gst.h>

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
