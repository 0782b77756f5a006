#include "srtp.h"

#include <gst/gst.h>
#include <nettle/aes.h>
#include <nettle/ctr.h>
#include <nettle/hmac.h>

#include <cstring>

namespace zumzi::media {

namespace {

constexpr size_t kKeyLength = 16;
constexpr size_t kSaltLength = 14;
constexpr size_t kAuthKeyLength = 20;

// AES-128 in counter mode from `iv`, XORed into `data` in place.
void aes_ctr(const aes128_ctx* aes, const uint8_t iv[AES_BLOCK_SIZE], uint8_t* data,
             size_t length)
{
    uint8_t counter[AES_BLOCK_SIZE];
    std::memcpy(counter, iv, sizeof(counter));
    ctr_crypt(aes, reinterpret_cast<nettle_cipher_func*>(aes128_encrypt), AES_BLOCK_SIZE,
              counter, length, data, data);
}

// RFC 3711 4.1.1: the salt, with the SSRC in octets 4-7 and the packet
// index (48 bits for SRTP, 31 for SRTCP) in octets 8-13, shifted by 16 bits.
void packet_iv(const uint8_t salt[kSaltLength], uint32_t ssrc, uint64_t index,
               uint8_t iv[AES_BLOCK_SIZE])
{
    std::memset(iv, 0, AES_BLOCK_SIZE);
    std::memcpy(iv, salt, kSaltLength);
    for (int i = 0; i < 4; i++)
        iv[4 + i] ^= static_cast<uint8_t>(ssrc >> (24 - 8 * i));
    for (int i = 0; i < 6; i++)
        iv[8 + i] ^= static_cast<uint8_t>(index >> (40 - 8 * i));
}

}  // namespace

void srtp_derive(const uint8_t master_key[16], const uint8_t master_salt[14], uint8_t label,
                 uint8_t* out, size_t length)
{
    aes128_ctx aes;
    aes128_set_encrypt_key(&aes, master_key);
    // x = key_id XOR master salt, key_id = label || (index DIV kdr = 0)
    // in the low 56 bits; the counter starts at x * 2^16.
    uint8_t iv[AES_BLOCK_SIZE] = {};
    std::memcpy(iv, master_salt, kSaltLength);
    iv[7] ^= label;
    std::memset(out, 0, length);
    aes_ctr(&aes, iv, out, length);
    std::memset(&aes, 0, sizeof(aes));
}

// The session keys of one direction (SRTP or SRTCP).
struct SrtpContext::Keys {
    aes128_ctx aes;
    hmac_sha1_ctx hmac;  // keyed: inner and outer states ready
    uint8_t salt[kSaltLength];

    Keys(const uint8_t* master, uint8_t first_label)
    {
        uint8_t key[kKeyLength], auth[kAuthKeyLength];
        srtp_derive(master, master + kKeyLength, first_label, key, sizeof(key));
        srtp_derive(master, master + kKeyLength, first_label + 1, auth, sizeof(auth));
        srtp_derive(master, master + kKeyLength, first_label + 2, salt, sizeof(salt));
        aes128_set_encrypt_key(&aes, key);
        hmac_sha1_set_key(&hmac, sizeof(auth), auth);
        std::memset(key, 0, sizeof(key));
        std::memset(auth, 0, sizeof(auth));
    }
    ~Keys()
    {
        std::memset(this, 0, sizeof(*this));
    }
};

SrtpContext::SrtpContext(const uint8_t* master, size_t rtp_tag, size_t rtcp_tag)
    : rtp_(std::make_unique<Keys>(master, 0)),
      rtcp_(std::make_unique<Keys>(master, 3)),
      rtp_tag_(rtp_tag),
      rtcp_tag_(rtcp_tag)
{
}

SrtpContext::~SrtpContext() = default;

SrtpContext::Stream& SrtpContext::stream(uint32_t ssrc)
{
    for (auto& s : streams_)
        if (s.ssrc == ssrc)
            return s;
    streams_.push_back(Stream{ssrc});
    return streams_.back();
}

int SrtpContext::protect_rtp(uint8_t* packet, int length)
{
    if (length < 12 || (packet[0] >> 6) != 2)
        return -1;
    int header = 12 + 4 * (packet[0] & 0x0f);
    if (packet[0] & 0x10) {
        if (length < header + 4)
            return -1;
        header += 4 + 4 * ((packet[header + 2] << 8) | packet[header + 3]);
    }
    if (length < header)
        return -1;
    const uint16_t seq = static_cast<uint16_t>((packet[2] << 8) | packet[3]);
    const uint32_t ssrc = GST_READ_UINT32_BE(packet + 8);

    // RFC 3711 3.3.1 and appendix A: the rollover counter follows the
    // highest sequence number sent; a late packet from before a wrap is
    // sent under the previous counter.
    Stream& s = stream(ssrc);
    uint32_t roc = s.roc;
    if (!s.started) {
        s.started = true;
        s.highest = seq;
    } else if (s.highest < 32768) {
        if (seq > s.highest + 32768 && roc > 0)
            roc--;
    } else if (seq < s.highest - 32768) {
        roc++;
    }
    if (roc > s.roc || (roc == s.roc && static_cast<uint16_t>(seq - s.highest) < 32768)) {
        s.roc = roc;
        s.highest = seq;
    }
    const uint64_t index = (static_cast<uint64_t>(roc) << 16) | seq;

    uint8_t iv[AES_BLOCK_SIZE];
    packet_iv(rtp_->salt, ssrc, index, iv);
    aes_ctr(&rtp_->aes, iv, packet + header, static_cast<size_t>(length - header));

    uint8_t roc_bytes[4], digest[SHA1_DIGEST_SIZE];
    GST_WRITE_UINT32_BE(roc_bytes, roc);
    hmac_sha1_update(&rtp_->hmac, static_cast<size_t>(length), packet);
    hmac_sha1_update(&rtp_->hmac, sizeof(roc_bytes), roc_bytes);
    hmac_sha1_digest(&rtp_->hmac, sizeof(digest), digest);
    std::memcpy(packet + length, digest, rtp_tag_);
    return length + static_cast<int>(rtp_tag_);
}

int SrtpContext::protect_rtcp(uint8_t* packet, int length)
{
    if (length < 8 || (packet[0] >> 6) != 2)
        return -1;
    const uint32_t ssrc = GST_READ_UINT32_BE(packet + 4);
    Stream& s = stream(ssrc);
    s.rtcp_index = (s.rtcp_index + 1) & 0x7fffffff;

    uint8_t iv[AES_BLOCK_SIZE];
    packet_iv(rtcp_->salt, ssrc, s.rtcp_index, iv);
    aes_ctr(&rtcp_->aes, iv, packet + 8, static_cast<size_t>(length - 8));
    GST_WRITE_UINT32_BE(packet + length, 0x80000000u | s.rtcp_index);  // E: encrypted
    length += 4;

    uint8_t digest[SHA1_DIGEST_SIZE];
    hmac_sha1_update(&rtcp_->hmac, static_cast<size_t>(length), packet);
    hmac_sha1_digest(&rtcp_->hmac, sizeof(digest), digest);
    std::memcpy(packet + length, digest, rtcp_tag_);
    return length + static_cast<int>(rtcp_tag_);
}

}  // namespace zumzi::media
