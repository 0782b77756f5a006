// SRTP and SRTCP protection (RFC 3711) for what the engine sends itself
// (rtp_sender.h): AES-128 counter mode with HMAC-SHA1 tags, the cipher of
// both DTLS-SRTP profiles GStreamer 1.22 negotiates
// (SRTP_AES128_CM_SHA1_80 and _32, RFC 5764).
//
// libsrtp2 could do it, but Debian builds it on NSS, which sets up a
// PK11 context for every packet's HMAC: SRTP was a sixth of the server's
// CPU when forwarding. Here the session keys are derived once, the HMAC's
// inner and outer hash states are kept (nettle, with AES-NI and SHA-NI
// where the CPU has them), and protecting a packet allocates nothing.
//
// One context protects any number of outbound SSRCs; it keeps a rollover
// counter per SSRC for SRTP and an index per SSRC for SRTCP. Not
// thread-safe: the caller serialises.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace zumzi::media {

// RFC 3711 4.3.1 with a key derivation rate of 0: `length` bytes of the
// session key of `label` (0: SRTP encryption, 1: SRTP authentication,
// 2: SRTP salt, 3-5: the same for SRTCP) from a 16-byte master key and a
// 14-byte master salt.
void srtp_derive(const uint8_t master_key[16], const uint8_t master_salt[14], uint8_t label,
                 uint8_t* out, size_t length);

class SrtpContext {
public:
    static constexpr size_t kMasterLength = 30;  // key (16) + salt (14), as DTLS exports it
    static constexpr size_t kMaxTrailer = 4 + 10;  // SRTCP index + the longest tag

    // `master`: kMasterLength bytes. `rtp_tag` and `rtcp_tag`: the HMAC-SHA1
    // tag lengths in bytes, 10 (80 bits) or 4 (32 bits).
    SrtpContext(const uint8_t* master, size_t rtp_tag, size_t rtcp_tag);
    ~SrtpContext();
    SrtpContext(const SrtpContext&) = delete;
    SrtpContext& operator=(const SrtpContext&) = delete;

    // Encrypts and authenticates the RTP packet in `packet` (`length`
    // bytes; room for kMaxTrailer more). Returns the protected length, or
    // -1 if it is not an RTP packet.
    int protect_rtp(uint8_t* packet, int length);
    // The same for a compound RTCP packet (encrypted after its first 8
    // octets, then the E flag and SRTCP index, then the tag).
    int protect_rtcp(uint8_t* packet, int length);

private:
    struct Keys;
    struct Stream {
        uint32_t ssrc = 0;
        bool started = false;
        uint32_t roc = 0;       // rollover counter
        uint16_t highest = 0;   // highest sequence number sent in this roc
        uint32_t rtcp_index = 0;
    };
    Stream& stream(uint32_t ssrc);

    std::unique_ptr<Keys> rtp_;
    std::unique_ptr<Keys> rtcp_;
    size_t rtp_tag_;
    size_t rtcp_tag_;
    std::vector<Stream> streams_;
};

}  // namespace zumzi::media
