/* The gstzumzi plugin registered into the running process, for programs
 * that link the plugin's static library (the Zumzi server) instead of
 * loading libgstzumzi.so from GST_PLUGIN_PATH. */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

/* Registers zumzimixer, zumzispeaker and zumzilivesink with the default
 * registry (gst_plugin_register_static). Call after gst_init(); further
 * calls do nothing. Only in the static library (gstzumzi-static). */
gboolean gst_zumzi_register_static(void);

G_END_DECLS
