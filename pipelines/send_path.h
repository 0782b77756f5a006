// What webrtcbin 1.22 puts in every send stream that forwarding does not
// use, and taking it out. Every forwarded packet crosses a subscriber's
// send path once per subscriber, in the publisher's streaming thread (the
// fan-out), so each element and ghost pad on it is paid per packet and
// subscriber:
//
//   sink_%u ─ clocksync ─ bin(rtpulpfecenc ─ rtpredenc) ─ rtpfunnel ─ rtpbin:
//     rtpsession ─ bin(rtprtxsend) ─ transport: srtpenc ─ clocksync ─ funnel ─ nicesink
//
// Subscribe sessions never negotiate RED, ULPFEC or RTX (no transceiver
// here sets fec-type or do-nack), so the FEC bin and the RTX sender only
// pass packets on, and the input clocksync does not sync (configure_webrtcbin).
// Removing them takes a third of the pads off every forwarded packet's way.
// And rtpfunnel re-sends the segment down the whole path whenever audio and
// video alternate (almost every packet): repeats of the same segment are
// dropped at its src pad.
#pragma once

#include <gst/gst.h>

namespace zumzi::media {

// Before any pad is requested: webrtcbin's rtpbin gets no RTX sender (its
// request-aux-sender handler is blocked). For a session that only sends
// forwarded media and never negotiates RTX.
void drop_rtx_sender(GstElement* webrtc);

// Once the m-line of `sinkpad` (a webrtcbin sink pad) is negotiated, i.e.
// webrtcbin has linked it: point the pad straight at rtpfunnel, skipping
// the clocksync and the FEC encoder bin, when that bin does nothing (no
// FEC, no RED) and filter repeated segments at rtpfunnel's src pad (once
// per rtpfunnel). Call it while nothing flows into
// the pad. Does nothing (and returns false) if the path is not the one
// above or was already shortened.
bool shorten_send_path(GstPad* sinkpad);

}  // namespace zumzi::media
