// Checks and normalisation of user-supplied values. Each throws BADREQUEST
// with a message naming the field.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace zumzi {

// Lower-cased, trimmed e-mail address of at most 254 characters.
std::string normalize_email(const std::string& value);

// Phone number as '+' and 7-15 digits; spaces, dashes, dots and brackets are
// dropped.
std::string normalize_phone(const std::string& value);

// Trimmed UTF-8 text of `min`..`max` characters without control characters.
std::string check_text(const std::string& value, const char* field, size_t min, size_t max);

// Empty, or an http(s) URL of at most 2048 bytes.
std::string check_url(const std::string& value, const char* field);

// An rtmp:// or rtmps:// URL with a host, at most 2048 bytes, without
// spaces or control characters (an RTMP push target).
std::string check_rtmp_url(const std::string& value, const char* field);

// A preset name (case-insensitive) as the room stores it.
std::string check_preset(const std::string& value);

// Camera videos a room forwards at most (latest speakers first); 0: all.
constexpr int64_t kMaxLastN = 100;
// A room's 'last_n': absent gives 0.
int check_last_n(const std::optional<int64_t>& value);

// An integer query parameter from `min` to `max`, or `fallback` when absent.
int query_int(const std::optional<std::string>& value, const char* field, int fallback, int min,
              int max);

}  // namespace zumzi
