/* The geometry of zumzimixer's layouts as a pure function: where each input
 * goes in the output frame. No GStreamer objects, so it is unit-tested on
 * its own (tests/plugin/test_layout.cpp). */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

typedef enum {
    GST_ZUMZI_LAYOUT_GRID,    /* 1, 2x2, 3x3, 4x4, ... equal cells */
    GST_ZUMZI_LAYOUT_SPEAKER, /* the speaker large, the others in a strip below */
    GST_ZUMZI_LAYOUT_PIP,     /* the speaker full frame, one other as an inset */
} GstZumziLayout;

#define GST_TYPE_ZUMZI_LAYOUT (gst_zumzi_layout_get_type())
GType gst_zumzi_layout_get_type(void);

typedef struct {
    gint x, y;          /* top-left corner in the output frame */
    gint width, height; /* the cell the input is scaled and letterboxed into */
    guint zorder;       /* insets above the full-frame picture */
    gboolean visible;   /* FALSE: not shown in this layout (pip's extra inputs) */
} GstZumziCell;

/* Fills cells[0..n_inputs-1] for n_inputs inputs in pad order, in an output
 * frame of width x height. `speaker` is the index (0..n_inputs-1) of the
 * input shown large in the speaker and pip layouts; out of range means the
 * first input. Every cell has an even position and an even, non-zero size
 * (chroma-subsampled formats), and lies inside the frame. */
void gst_zumzi_layout_compute(GstZumziLayout layout, gint width, gint height, guint n_inputs,
                              guint speaker, GstZumziCell* cells);

/* The number of columns (and rows) of the grid for n_inputs inputs:
 * 1 for 0 or 1, 2 for up to 4, 3 for up to 9, 4 for up to 16, ... */
guint gst_zumzi_layout_grid_size(guint n_inputs);

G_END_DECLS
