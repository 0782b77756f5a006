// The engine's SRTP (pipelines/srtp.h) against RFC 3711's key derivation
// test vectors, and against libsrtp2 as the receiver: every packet it
// protects must unprotect there to the original, across a sequence number
// wrap and with a late packet from before it, and a changed bit must fail.
#include <srtp2/srtp.h>

#include <cstring>
#include <string>
#include <vector>

#include "srtp.h"

// Last: CppUTest redefines `new` for its leak checker.
#include <CppUTest/TestHarness.h>

using zumzi::media::srtp_derive;
using zumzi::media::SrtpContext;

namespace {

std::vector<uint8_t> hex(const std::string& text)
{
    std::vector<uint8_t> bytes;
    for (size_t i = 0; i + 1 < text.size(); i += 2)
        bytes.push_back(static_cast<uint8_t>(std::stoi(text.substr(i, 2), nullptr, 16)));
    return bytes;
}

const std::vector<uint8_t> kMaster =
    hex("E1F97A0D3E018BE0D64FA32C06DE4139"  // key
        "0EC675AD498AFEEBB6960B3AABE6");    // salt

// An RTP packet: `csrcs` CSRCs, an optional one-byte-header extension, an
// optional padding of 3 octets.
std::vector<uint8_t> rtp_packet(uint16_t seq, uint32_t ssrc, int csrcs, bool extension,
                                bool padding, size_t payload)
{
    std::vector<uint8_t> p = {static_cast<uint8_t>(0x80 | (padding ? 0x20 : 0) |
                                                   (extension ? 0x10 : 0) | csrcs),
                              96,
                              static_cast<uint8_t>(seq >> 8),
                              static_cast<uint8_t>(seq),
                              0x12,
                              0x34,
                              0x56,
                              0x78,
                              static_cast<uint8_t>(ssrc >> 24),
                              static_cast<uint8_t>(ssrc >> 16),
                              static_cast<uint8_t>(ssrc >> 8),
                              static_cast<uint8_t>(ssrc)};
    for (int i = 0; i < csrcs * 4; i++)
        p.push_back(static_cast<uint8_t>(0xc0 + i));
    if (extension)
        for (uint8_t b : {0xbe, 0xde, 0x00, 0x01, 0x10, 0xaa, 0x00, 0x00})
            p.push_back(b);
    for (size_t i = 0; i < payload; i++)
        p.push_back(static_cast<uint8_t>(i * 7 + seq));
    if (padding)
        for (uint8_t b : {0, 0, 3})
            p.push_back(b);
    return p;
}

// A libsrtp2 receiving session for the same master key.
struct Receiver {
    srtp_t session = nullptr;
    explicit Receiver(bool short_tag)
    {
        srtp_init();
        srtp_policy_t policy;
        std::memset(&policy, 0, sizeof(policy));
        if (short_tag)
            srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32(&policy.rtp);
        else
            srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtp);
        srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&policy.rtcp);
        policy.ssrc.type = ssrc_any_inbound;
        policy.key = const_cast<uint8_t*>(kMaster.data());
        policy.window_size = 128;
        CHECK_EQUAL(srtp_err_status_ok, srtp_create(&session, &policy));
    }
    ~Receiver() { srtp_dealloc(session); }

    // Protects `packet` with `sender`, unprotects it here: the status, and
    // whether the result is the original.
    srtp_err_status_t round_trip(SrtpContext& sender, const std::vector<uint8_t>& packet,
                                 bool rtcp, bool tamper = false)
    {
        std::vector<uint8_t> buffer(packet);
        buffer.resize(packet.size() + SrtpContext::kMaxTrailer);
        int length = rtcp ? sender.protect_rtcp(buffer.data(), static_cast<int>(packet.size()))
                          : sender.protect_rtp(buffer.data(), static_cast<int>(packet.size()));
        CHECK_TRUE(length > static_cast<int>(packet.size()));
        buffer.resize(static_cast<size_t>(length) + SRTP_MAX_TRAILER_LEN);
        if (tamper)
            buffer[packet.size() - 1] ^= 0x01;
        srtp_err_status_t status = rtcp ? srtp_unprotect_rtcp(session, buffer.data(), &length)
                                        : srtp_unprotect(session, buffer.data(), &length);
        if (status == srtp_err_status_ok) {
            CHECK_EQUAL(packet.size(), static_cast<size_t>(length));
            buffer.resize(static_cast<size_t>(length));
            CHECK_TRUE(buffer == packet);
        }
        return status;
    }
};

}  // namespace

TEST_GROUP(Srtp){};

// RFC 3711 appendix B.3.
TEST(Srtp, DerivesTheSessionKeysOfRfc3711)
{
    uint8_t key[16], salt[14], auth[20];
    srtp_derive(kMaster.data(), kMaster.data() + 16, 0, key, sizeof(key));
    srtp_derive(kMaster.data(), kMaster.data() + 16, 2, salt, sizeof(salt));
    srtp_derive(kMaster.data(), kMaster.data() + 16, 1, auth, sizeof(auth));
    CHECK_TRUE(std::vector<uint8_t>(key, key + 16) == hex("C61E7A93744F39EE10734AFE3FF7A087"));
    CHECK_TRUE(std::vector<uint8_t>(salt, salt + 14) == hex("30CBBC08863D8C85D49DB34A9AE1"));
    CHECK_TRUE(std::vector<uint8_t>(auth, auth + 20) ==
               hex("CEBE321F6FF7716B6FD4AB49AF256A156D38BAA4"));
}

TEST(Srtp, LibsrtpDecryptsEveryPacketAcrossASequenceWrap)
{
    for (bool short_tag : {false, true}) {
        Receiver receiver(short_tag);
        SrtpContext sender(kMaster.data(), short_tag ? 4 : 10, 10);
        // Two streams, one of them wrapping; every other number skipped
        // before the wrap, then one of those arrives late.
        for (uint32_t seq = 65520; seq < 65536 + 20; seq += (seq < 65536 ? 2 : 1)) {
            const uint16_t s = static_cast<uint16_t>(seq);
            CHECK_EQUAL(srtp_err_status_ok,
                        receiver.round_trip(sender, rtp_packet(s, 0x11223344, 0, false, false, 900),
                                            false));
            CHECK_EQUAL(srtp_err_status_ok,
                        receiver.round_trip(sender, rtp_packet(static_cast<uint16_t>(seq - 60000),
                                                               0x55667788, 0, false, false, 160),
                                            false));
        }
        CHECK_EQUAL(srtp_err_status_ok,
                    receiver.round_trip(sender, rtp_packet(65531, 0x11223344, 0, false, false, 900),
                                        false));
        // CSRCs, a header extension and padding.
        CHECK_EQUAL(srtp_err_status_ok,
                    receiver.round_trip(sender, rtp_packet(30, 0x11223344, 2, true, true, 300),
                                        false));
        // One bit changed: the tag no longer matches.
        CHECK_EQUAL(srtp_err_status_auth_fail,
                    receiver.round_trip(sender, rtp_packet(31, 0x11223344, 0, false, false, 300),
                                        false, true));
    }
}

TEST(Srtp, LibsrtpDecryptsSenderReports)
{
    Receiver receiver(false);
    SrtpContext sender(kMaster.data(), 10, 10);
    // SR without report blocks + SDES CNAME "zumzi".
    std::vector<uint8_t> report = hex(
        "80C80006112233448000000100000002000000030000000400000005"
        "81CA0003112233440105"
        "7A756D7A6900");
    for (int i = 0; i < 5; i++)
        CHECK_EQUAL(srtp_err_status_ok, receiver.round_trip(sender, report, true));
    CHECK_EQUAL(srtp_err_status_auth_fail, receiver.round_trip(sender, report, true, true));
}

TEST(Srtp, RefusesWhatIsNotRtp)
{
    SrtpContext sender(kMaster.data(), 10, 10);
    uint8_t packet[64] = {0x00, 96};
    CHECK_EQUAL(-1, sender.protect_rtp(packet, 40));
    packet[0] = 0x80;
    CHECK_EQUAL(-1, sender.protect_rtp(packet, 8));
    packet[0] = 0x90;  // an extension longer than the packet
    packet[14] = 0xff;
    CHECK_EQUAL(-1, sender.protect_rtp(packet, 20));
}
