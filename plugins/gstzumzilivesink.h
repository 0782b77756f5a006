/* zumzilivesink: encodes raw video and audio once (H.264 + AAC) and sends
 * them to any of HLS, RTMP and a recording file at the same time; outputs
 * start and stop while PLAYING without disturbing the others. */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_ZUMZI_LIVE_SINK (gst_zumzi_live_sink_get_type())
G_DECLARE_FINAL_TYPE(GstZumziLiveSink, gst_zumzi_live_sink, GST, ZUMZI_LIVE_SINK, GstBin)

GST_ELEMENT_REGISTER_DECLARE(zumzilivesink);

G_END_DECLS
