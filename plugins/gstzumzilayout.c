#include "gstzumzilayout.h"

GType gst_zumzi_layout_get_type(void)
{
    static GType type = 0;
    static const GEnumValue values[] = {
        {GST_ZUMZI_LAYOUT_GRID, "Equal cells: 1, 2x2, 3x3, 4x4 by the number of inputs", "grid"},
        {GST_ZUMZI_LAYOUT_SPEAKER, "The speaker large, the others in a strip below", "speaker"},
        {GST_ZUMZI_LAYOUT_PIP, "The speaker full frame, the next input as a small inset", "pip"},
        {0, NULL, NULL},
    };
    if (g_once_init_enter(&type)) {
        GType t = g_enum_register_static("GstZumziLayout", values);
        g_once_init_leave(&type, t);
    }
    return type;
}

/* Rounds down to an even number, at least 2. */
static gint even(gint v)
{
    v &= ~1;
    return v < 2 ? 2 : v;
}

/* Rounds down to an even number, at least 0 (positions). */
static gint even_pos(gint v)
{
    return v < 0 ? 0 : (v & ~1);
}

guint gst_zumzi_layout_grid_size(guint n_inputs)
{
    guint k = 1;
    while (k * k < n_inputs)
        k++;
    return k;
}

static void set_cell(GstZumziCell* cell, gint x, gint y, gint w, gint h, guint zorder,
                     gboolean visible)
{
    cell->x = even_pos(x);
    cell->y = even_pos(y);
    cell->width = even(w);
    cell->height = even(h);
    cell->zorder = zorder;
    cell->visible = visible;
}

static void layout_grid(gint width, gint height, guint n, GstZumziCell* cells)
{
    guint k = gst_zumzi_layout_grid_size(n);
    gint cw = even(width / (gint)k);
    gint ch = even(height / (gint)k);
    guint rows = (n + k - 1) / k;
    gint y0 = (height - (gint)rows * ch) / 2;
    for (guint i = 0; i < n; i++) {
        guint row = i / k;
        guint col = i % k;
        /* the last row, when not full, is centred */
        guint in_row = MIN(k, n - row * k);
        gint x0 = (width - (gint)in_row * cw) / 2;
        set_cell(&cells[i], x0 + (gint)col * cw, y0 + (gint)row * ch, cw, ch, 0, TRUE);
    }
}

static void layout_speaker(gint width, gint height, guint n, guint speaker, GstZumziCell* cells)
{
    if (n == 1) {
        set_cell(&cells[0], 0, 0, width, height, 0, TRUE);
        return;
    }
    gint strip_h = even(height / 5);
    set_cell(&cells[speaker], 0, 0, width, height - strip_h, 0, TRUE);
    guint others = n - 1;
    guint slots = MAX(5u, others);
    gint tw = even(width / (gint)slots);
    gint th = even(MIN(strip_h, (gint)((gint64)tw * height / width)));
    gint x0 = (width - (gint)others * tw) / 2;
    gint y = height - strip_h + (strip_h - th) / 2;
    guint slot = 0;
    for (guint i = 0; i < n; i++) {
        if (i == speaker)
            continue;
        set_cell(&cells[i], x0 + (gint)slot * tw, y, tw, th, 0, TRUE);
        slot++;
    }
}

static void layout_pip(gint width, gint height, guint n, guint speaker, GstZumziCell* cells)
{
    set_cell(&cells[speaker], 0, 0, width, height, 0, TRUE);
    gint iw = even(width / 4);
    gint ih = even(height / 4);
    gint margin = even_pos(height / 30);
    gboolean inset_done = FALSE;
    for (guint i = 0; i < n; i++) {
        if (i == speaker)
            continue;
        /* the first other input is the inset; the rest are hidden at the same
         * place and size, so showing one later needs no new size */
        set_cell(&cells[i], width - iw - margin, height - ih - margin, iw, ih, 1, !inset_done);
        inset_done = TRUE;
    }
}

void gst_zumzi_layout_compute(GstZumziLayout layout, gint width, gint height, guint n_inputs,
                              guint speaker, GstZumziCell* cells)
{
    g_return_if_fail(width >= 2 && height >= 2);
    if (n_inputs == 0)
        return;
    g_return_if_fail(cells != NULL);
    if (speaker >= n_inputs)
        speaker = 0;
    switch (layout) {
        case GST_ZUMZI_LAYOUT_SPEAKER:
            layout_speaker(width, height, n_inputs, speaker, cells);
            break;
        case GST_ZUMZI_LAYOUT_PIP:
            layout_pip(width, height, n_inputs, speaker, cells);
            break;
        case GST_ZUMZI_LAYOUT_GRID:
        default:
            layout_grid(width, height, n_inputs, cells);
            break;
    }
}
