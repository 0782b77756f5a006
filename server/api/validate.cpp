#include "validate.h"

#include <glib.h>

#include <cerrno>

#include "../http.h"
#include "preset.h"

namespace zumzi {

static std::string trimmed(const std::string& value)
{
    g_autofree char* copy = g_strstrip(g_strdup(value.c_str()));
    return copy;
}

std::string normalize_email(const std::string& value)
{
    std::string email = trimmed(value);
    g_autofree char* lower = g_ascii_strdown(email.c_str(), -1);
    email = lower;
    const size_t at = email.find('@');
    const bool ok = email.size() <= 254 && at != std::string::npos && at > 0 &&
                    email.find('@', at + 1) == std::string::npos &&
                    email.find('.', at + 2) != std::string::npos && email.back() != '.' &&
                    email.find_first_of(" \t\r\n<>()[],;:\"\\") == std::string::npos &&
                    g_utf8_validate(email.c_str(), -1, nullptr);
    if (!ok)
        fail(400, "BADREQUEST", "'email' is not a valid e-mail address");
    return email;
}

std::string normalize_phone(const std::string& value)
{
    std::string digits;
    const std::string v = trimmed(value);
    for (size_t i = 0; i < v.size(); i++) {
        const char c = v[i];
        if (g_ascii_isdigit(c))
            digits += c;
        else if (c == '+' && i == 0)
            continue;
        else if (c == ' ' || c == '-' || c == '.' || c == '(' || c == ')')
            continue;
        else
            fail(400, "BADREQUEST",
                 "'phone' may hold only digits, a leading '+', spaces, dashes, dots and brackets");
    }
    if (digits.size() < 7 || digits.size() > 15)
        fail(400, "BADREQUEST", "'phone' must have 7 to 15 digits");
    return "+" + digits;
}

std::string check_text(const std::string& value, const char* field, size_t min, size_t max)
{
    if (!g_utf8_validate(value.c_str(), static_cast<gssize>(value.size()), nullptr))
        fail(400, "BADREQUEST", "'%s' is not valid UTF-8", field);
    std::string text = trimmed(value);
    for (const char* p = text.c_str(); *p; p = g_utf8_next_char(p)) {
        if (g_unichar_iscntrl(g_utf8_get_char(p)))
            fail(400, "BADREQUEST", "'%s' must not contain control characters", field);
    }
    const size_t chars = static_cast<size_t>(g_utf8_strlen(text.c_str(), -1));
    if (chars < min || chars > max)
        fail(400, "BADREQUEST", "'%s' must have %zu to %zu characters", field, min, max);
    return text;
}

std::string check_url(const std::string& value, const char* field)
{
    std::string url = trimmed(value);
    if (url.empty())
        return url;
    if (url.size() > 2048)
        fail(400, "BADREQUEST", "'%s' is longer than 2048 bytes", field);
    g_autoptr(GUri) uri = g_uri_parse(url.c_str(), G_URI_FLAGS_NONE, nullptr);
    const char* scheme = uri ? g_uri_get_scheme(uri) : nullptr;
    if (!uri || !scheme ||
        (g_ascii_strcasecmp(scheme, "http") != 0 && g_ascii_strcasecmp(scheme, "https") != 0) ||
        !g_uri_get_host(uri) || !*g_uri_get_host(uri))
        fail(400, "BADREQUEST", "'%s' must be an http or https URL", field);
    return url;
}

std::string check_rtmp_url(const std::string& value, const char* field)
{
    const std::string url = trimmed(value);
    if (url.empty())
        fail(400, "BADREQUEST", "'%s' is required: an rtmp:// or rtmps:// URL", field);
    if (url.size() > 2048)
        fail(400, "BADREQUEST", "'%s' is longer than 2048 bytes", field);
    for (char c : url)
        if (static_cast<unsigned char>(c) <= ' ' || c == 0x7f)
            fail(400, "BADREQUEST", "'%s' must not contain spaces or control characters", field);
    g_autoptr(GUri) uri = g_uri_parse(url.c_str(), G_URI_FLAGS_NONE, nullptr);
    const char* scheme = uri ? g_uri_get_scheme(uri) : nullptr;
    if (!uri || !scheme ||
        (g_ascii_strcasecmp(scheme, "rtmp") != 0 && g_ascii_strcasecmp(scheme, "rtmps") != 0) ||
        !g_uri_get_host(uri) || !*g_uri_get_host(uri))
        fail(400, "BADREQUEST", "'%s' must be an rtmp:// or rtmps:// URL with a host", field);
    return url;
}

int query_int(const std::optional<std::string>& value, const char* field, int fallback, int min,
              int max)
{
    if (!value)
        return fallback;
    char* end = nullptr;
    errno = 0;
    const long long v = g_ascii_strtoll(value->c_str(), &end, 10);
    if (value->empty() || *end != '\0' || errno != 0 || v < min || v > max)
        fail(400, "BADREQUEST", "'%s' must be an integer from %d to %d", field, min, max);
    return static_cast<int>(v);
}

std::string check_preset(const std::string& value)
{
    const Preset* preset = find_preset(value);
    if (!preset) {
        std::string names;
        for (const Preset& p : all_presets())
            names += (names.empty() ? "" : ", ") + std::string(p.name);
        fail(400, "BADREQUEST", "'preset' must be one of %s", names.c_str());
    }
    return std::string(preset->name);
}

int check_last_n(const std::optional<int64_t>& value)
{
    if (!value)
        return 0;
    if (*value < 0 || *value > kMaxLastN)
        fail(400, "BADREQUEST", "'last_n' must be an integer from 0 (all) to %d",
             static_cast<int>(kMaxLastN));
    return static_cast<int>(*value);
}

}  // namespace zumzi
