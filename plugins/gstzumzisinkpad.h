/* GstZumziSinkPad: the base of the request sink pads of zumzimixer and
 * zumzispeaker. A ghost pad that can be released while data flows: once
 * release has begun, whatever upstream still pushes into it is dropped and
 * answered GST_FLOW_OK (never FLUSHING or NOT_LINKED, which would stop or
 * fail a live upstream), so the element can take the internal branch down
 * without touching any other input. */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_ZUMZI_SINK_PAD (gst_zumzi_sink_pad_get_type())
G_DECLARE_DERIVABLE_TYPE(GstZumziSinkPad, gst_zumzi_sink_pad, GST, ZUMZI_SINK_PAD, GstGhostPad)

struct _GstZumziSinkPadClass {
    GstGhostPadClass parent_class;
};

/* From now on data into the pad is dropped: call first when releasing it. */
void gst_zumzi_sink_pad_begin_release(GstZumziSinkPad* pad);

/* Adds a probe on `srcpad` (the last internal pad before the shared
 * aggregator) that drops everything, so pushes still running through the
 * branch end there with GST_FLOW_OK. */
gulong gst_zumzi_sink_pad_drop_at(GstPad* srcpad);

/* Takes the internal branch `elements` (NULL-terminated list of the bin's
 * children fed by `pad`) down: sets them to NULL and removes them from
 * `bin`, unlinks `pad` from its upstream peer and removes it from `bin`. */
void gst_zumzi_sink_pad_remove_branch(GstZumziSinkPad* pad, GstBin* bin, GstElement** elements);

G_END_DECLS
