// Secrets: random tokens, codes and ids, hashing for storage, and
// constant-time comparison. Everything random comes from getrandom(2).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace zumzi {

// `n` bytes from the kernel's CSPRNG. Aborts if the kernel cannot give them:
// a server that cannot make secrets must not run.
std::string random_bytes(size_t n);

// A 256-bit secret as URL-safe base64 without padding (43 chars), prefixed
// with `prefix` (e.g. "zt_" for access tokens, "zk_" for API keys).
std::string random_secret(std::string_view prefix);

// `n` decimal digits, uniformly distributed (rejection sampling).
std::string random_digits(size_t n);

// An identifier of `n` characters from a lower-case alphabet without look-alike
// characters, prefixed with `prefix`.
std::string random_id(std::string_view prefix, size_t n);

// Lower-case hex SHA-256 of `data`: how secrets are stored.
std::string sha256_hex(std::string_view data);

// Compares two strings in time that depends only on their lengths.
bool constant_time_equal(std::string_view a, std::string_view b);

}  // namespace zumzi
