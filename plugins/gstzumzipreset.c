#include "gstzumzipreset.h"

#include <math.h>

static const GstZumziPresetInfo presets[] = {
    {GST_ZUMZI_PRESET_DEFAULT, "default", 640, 360, 30, 600},
    {GST_ZUMZI_PRESET_QVGA, "qvga", 320, 240, 30, 250},
    {GST_ZUMZI_PRESET_VGA, "vga", 640, 480, 30, 800},
    {GST_ZUMZI_PRESET_HD, "hd", 1280, 720, 30, 2000},
    {GST_ZUMZI_PRESET_FHD, "fhd", 1920, 1080, 30, 4000},
    {GST_ZUMZI_PRESET_4K, "4k", 3840, 2160, 30, 12000},
};

GType gst_zumzi_preset_get_type(void)
{
    static GType type = 0;
    static const GEnumValue values[] = {
        {GST_ZUMZI_PRESET_DEFAULT, "640x360 at 30 fps, 600 kbit/s (SD, the room default)",
         "default"},
        {GST_ZUMZI_PRESET_QVGA, "320x240 at 30 fps, 250 kbit/s", "qvga"},
        {GST_ZUMZI_PRESET_VGA, "640x480 at 30 fps, 800 kbit/s", "vga"},
        {GST_ZUMZI_PRESET_HD, "1280x720 at 30 fps, 2000 kbit/s", "hd"},
        {GST_ZUMZI_PRESET_FHD, "1920x1080 at 30 fps, 4000 kbit/s", "fhd"},
        {GST_ZUMZI_PRESET_4K, "3840x2160 at 30 fps, 12000 kbit/s", "4k"},
        {0, NULL, NULL},
    };
    if (g_once_init_enter(&type)) {
        GType t = g_enum_register_static("GstZumziPreset", values);
        g_once_init_leave(&type, t);
    }
    return type;
}

const GstZumziPresetInfo* gst_zumzi_preset_info(GstZumziPreset preset)
{
    for (guint i = 0; i < G_N_ELEMENTS(presets); i++)
        if (presets[i].preset == preset)
            return &presets[i];
    return NULL;
}

guint gst_zumzi_preset_count(void)
{
    return G_N_ELEMENTS(presets);
}

const GstZumziPresetInfo* gst_zumzi_preset_nth(guint i)
{
    return i < G_N_ELEMENTS(presets) ? &presets[i] : NULL;
}

guint gst_zumzi_preset_kbps_for(gint width, gint height, gdouble framerate)
{
    const GstZumziPresetInfo* best = &presets[0];
    gint64 pixels = (gint64)width * height;
    for (guint i = 1; i < G_N_ELEMENTS(presets); i++) {
        gint64 d = ABS(pixels - (gint64)presets[i].width * presets[i].height);
        gint64 bd = ABS(pixels - (gint64)best->width * best->height);
        if (d < bd)
            best = &presets[i];
    }
    if (framerate <= 0)
        framerate = best->framerate;
    return (guint)MAX(100.0, round(best->video_kbps * framerate / best->framerate));
}
