/* zumzispeaker: passes audio inputs through and tells, on the bus, which of
 * them is the active speaker (the loudest, held for a while). */
#pragma once

#include <gst/gst.h>

#include "gstzumzisinkpad.h"

G_BEGIN_DECLS

#define GST_TYPE_ZUMZI_SPEAKER (gst_zumzi_speaker_get_type())
G_DECLARE_FINAL_TYPE(GstZumziSpeaker, gst_zumzi_speaker, GST, ZUMZI_SPEAKER, GstBin)

#define GST_TYPE_ZUMZI_SPEAKER_PAD (gst_zumzi_speaker_pad_get_type())
G_DECLARE_FINAL_TYPE(GstZumziSpeakerPad, gst_zumzi_speaker_pad, GST, ZUMZI_SPEAKER_PAD,
                     GstZumziSinkPad)

GST_ELEMENT_REGISTER_DECLARE(zumzispeaker);

G_END_DECLS
