#include "crypto.h"

#include <glib.h>
#include <sys/random.h>

#include <cerrno>

namespace zumzi {

std::string random_bytes(size_t n)
{
    std::string out(n, '\0');
    size_t got = 0;
    while (got < n) {
        ssize_t r = getrandom(out.data() + got, n - got, 0);
        if (r < 0) {
            if (errno == EINTR)
                continue;
            g_error("getrandom failed: %s", g_strerror(errno));
        }
        got += static_cast<size_t>(r);
    }
    return out;
}

std::string random_secret(std::string_view prefix)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string bytes = random_bytes(32);
    std::string out(prefix);
    // 32 bytes = 256 bits -> 43 base64 characters (the last carries 4 bits).
    unsigned acc = 0;
    int bits = 0;
    for (unsigned char b : bytes) {
        acc = (acc << 8) | b;
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out += alphabet[(acc >> bits) & 0x3f];
        }
    }
    if (bits > 0)
        out += alphabet[(acc << (6 - bits)) & 0x3f];
    return out;
}

static std::string random_from_alphabet(std::string_view alphabet, size_t n)
{
    // Rejection sampling keeps every character equally likely.
    const unsigned limit = 256 - (256 % alphabet.size());
    std::string out;
    out.reserve(n);
    while (out.size() < n) {
        for (unsigned char b : random_bytes(n * 2)) {
            if (b >= limit)
                continue;
            out += alphabet[b % alphabet.size()];
            if (out.size() == n)
                break;
        }
    }
    return out;
}

std::string random_digits(size_t n)
{
    return random_from_alphabet("0123456789", n);
}

std::string random_id(std::string_view prefix, size_t n)
{
    return std::string(prefix) + random_from_alphabet("abcdefghjkmnpqrstuvwxyz23456789", n);
}

std::string sha256_hex(std::string_view data)
{
    g_autofree char* hex = g_compute_checksum_for_data(
        G_CHECKSUM_SHA256, reinterpret_cast<const guchar*>(data.data()), data.size());
    return hex;
}

bool constant_time_equal(std::string_view a, std::string_view b)
{
    if (a.size() != b.size())
        return false;
    volatile unsigned char diff = 0;
    for (size_t i = 0; i < a.size(); i++)
        diff = diff | (static_cast<unsigned char>(a[i]) ^ static_cast<unsigned char>(b[i]));
    return diff == 0;
}

}  // namespace zumzi
