/* zumzimixer: composites any number of live video inputs in a layout and
 * mixes any number of audio inputs; inputs come and go while PLAYING. */
#pragma once

#include <gst/gst.h>

#include "gstzumzisinkpad.h"

G_BEGIN_DECLS

#define GST_TYPE_ZUMZI_MIXER (gst_zumzi_mixer_get_type())
G_DECLARE_FINAL_TYPE(GstZumziMixer, gst_zumzi_mixer, GST, ZUMZI_MIXER, GstBin)

#define GST_TYPE_ZUMZI_MIXER_VIDEO_PAD (gst_zumzi_mixer_video_pad_get_type())
G_DECLARE_FINAL_TYPE(GstZumziMixerVideoPad, gst_zumzi_mixer_video_pad, GST, ZUMZI_MIXER_VIDEO_PAD,
                     GstZumziSinkPad)

#define GST_TYPE_ZUMZI_MIXER_AUDIO_PAD (gst_zumzi_mixer_audio_pad_get_type())
G_DECLARE_FINAL_TYPE(GstZumziMixerAudioPad, gst_zumzi_mixer_audio_pad, GST, ZUMZI_MIXER_AUDIO_PAD,
                     GstZumziSinkPad)

GST_ELEMENT_REGISTER_DECLARE(zumzimixer);

G_END_DECLS
