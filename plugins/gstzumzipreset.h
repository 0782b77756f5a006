/* Output presets shared by the gstzumzi elements: the names and sizes of the
 * room presets of pipelines/preset.cpp (tests/plugin checks they agree). */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

typedef enum {
    GST_ZUMZI_PRESET_DEFAULT,
    GST_ZUMZI_PRESET_QVGA,
    GST_ZUMZI_PRESET_VGA,
    GST_ZUMZI_PRESET_HD,
    GST_ZUMZI_PRESET_FHD,
    GST_ZUMZI_PRESET_4K,
} GstZumziPreset;

typedef struct {
    GstZumziPreset preset;
    const gchar* name; /* the enum nick, as in the room presets */
    gint width;
    gint height;
    gint framerate;
    guint video_kbps;
} GstZumziPresetInfo;

#define GST_TYPE_ZUMZI_PRESET (gst_zumzi_preset_get_type())
GType gst_zumzi_preset_get_type(void);

/* The description of `preset`, or NULL for a value out of range. */
const GstZumziPresetInfo* gst_zumzi_preset_info(GstZumziPreset preset);

/* The number of presets and the i-th one (in increasing size). */
guint gst_zumzi_preset_count(void);
const GstZumziPresetInfo* gst_zumzi_preset_nth(guint i);

/* The bitrate (kbit/s) for a video of this size and rate: that of the
 * preset with the nearest pixel count, scaled by framerate / 30. */
guint gst_zumzi_preset_kbps_for(gint width, gint height, gdouble framerate);

G_END_DECLS
