#include "config.h"

#include <cerrno>
#include <climits>

namespace zumzi {

namespace {

// One configurable key: exactly one of the member pointers is set.
struct Key {
    const char* group;
    const char* name;
    std::string Config::*text = nullptr;
    int Config::*number = nullptr;
    bool Config::*flag = nullptr;
    int min = 0, max = 0;  // for numbers
};

Key str_key(const char* g, const char* n, std::string Config::*m)
{
    return {g, n, m, nullptr, nullptr};
}
Key int_key(const char* g, const char* n, int Config::*m, int lo, int hi)
{
    return {g, n, nullptr, m, nullptr, lo, hi};
}
Key bool_key(const char* g, const char* n, bool Config::*m)
{
    return {g, n, nullptr, nullptr, m};
}

const Key keys[] = {
    str_key("server", "listen", &Config::listen),
    int_key("server", "port", &Config::port, 0, 65535),
    str_key("server", "data_dir", &Config::data_dir),
    int_key("server", "max_body_bytes", &Config::max_body_bytes, 1024, INT_MAX),
    str_key("server", "tls_certificate", &Config::tls_certificate),
    str_key("server", "tls_key", &Config::tls_key),
    str_key("server", "schema_dir", &Config::schema_dir),
    str_key("server", "web_dir", &Config::web_dir),
    str_key("server", "vendor_dir", &Config::vendor_dir),
    bool_key("login", "demo", &Config::demo),
    int_key("login", "code_ttl", &Config::code_ttl, 10, 86400),
    int_key("login", "code_resend", &Config::code_resend, 0, 86400),
    int_key("login", "code_max_attempts", &Config::code_max_attempts, 1, 100),
    int_key("login", "rate_window", &Config::rate_window, 1, 86400),
    int_key("login", "sends_per_address", &Config::sends_per_address, 1, 100000),
    int_key("login", "sends_per_ip", &Config::sends_per_ip, 1, 100000),
    int_key("login", "verifies_per_ip", &Config::verifies_per_ip, 1, 100000),
    int_key("login", "token_ttl", &Config::token_ttl, 60, INT_MAX),
    int_key("rooms", "pin_failures_per_user", &Config::pin_failures_per_user, 1, 100000),
    str_key("media", "host_addresses", &Config::host_addresses),
    int_key("media", "min_port", &Config::min_port, 0, 65535),
    int_key("media", "max_port", &Config::max_port, 0, 65535),
    str_key("media", "stun_server", &Config::stun_server),
    int_key("media", "peer_timeout", &Config::peer_timeout, 1, 3600),
    int_key("media", "connect_timeout", &Config::connect_timeout, 1, 3600),
    str_key("media", "turn_servers", &Config::turn_servers),
    int_key("chat", "max_message_chars", &Config::max_message_chars, 1, 1000000),
    int_key("chat", "max_upload_bytes", &Config::max_upload_bytes, 1024, INT_MAX),
    int_key("chat", "call_ring_timeout", &Config::call_ring_timeout, 1, 600),
};

const Key* find_key(const char* group, const char* name)
{
    for (const Key& k : keys)
        if (g_str_equal(k.group, group) && g_str_equal(k.name, name))
            return &k;
    return nullptr;
}

bool set_value(Config& config, const Key& key, const char* path, GKeyFile* file, GError** error)
{
    g_autofree char* raw = g_key_file_get_value(file, key.group, key.name, nullptr);
    g_autofree char* value = g_strstrip(g_strdup(raw ? raw : ""));
    if (key.text) {
        config.*key.text = value;
        return true;
    }
    if (key.flag) {
        if (g_str_equal(value, "true") || g_str_equal(value, "1")) {
            config.*key.flag = true;
            return true;
        }
        if (g_str_equal(value, "false") || g_str_equal(value, "0")) {
            config.*key.flag = false;
            return true;
        }
        g_set_error(error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                    "%s: [%s] %s = '%s': expected true or false", path, key.group, key.name, value);
        return false;
    }
    {
        char* end = nullptr;
        errno = 0;
        long long v = g_ascii_strtoll(value, &end, 10);
        if (*value == '\0' || *end != '\0' || errno != 0 || v < key.min || v > key.max) {
            g_set_error(error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                        "%s: [%s] %s = '%s': expected an integer from %d to %d", path, key.group,
                        key.name, value, key.min, key.max);
            return false;
        }
        config.*key.number = static_cast<int>(v);
        return true;
    }
}

}  // namespace

std::string Config::database_path() const
{
    g_autofree char* p = g_build_filename(data_dir.c_str(), "zumzi.db", nullptr);
    return p;
}

bool config_load_file(Config& config, const char* path, GError** error)
{
    g_autoptr(GKeyFile) file = g_key_file_new();
    g_autoptr(GError) local = nullptr;
    if (!g_key_file_load_from_file(file, path, G_KEY_FILE_NONE, &local)) {
        g_set_error(error, local->domain, local->code, "%s: %s", path, local->message);
        return false;
    }
    gsize n_groups = 0;
    g_auto(GStrv) groups = g_key_file_get_groups(file, &n_groups);
    for (gsize g = 0; g < n_groups; g++) {
        bool known_group = false;
        for (const Key& k : keys)
            known_group = known_group || g_str_equal(k.group, groups[g]);
        if (!known_group) {
            g_set_error(error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_GROUP_NOT_FOUND,
                        "%s: unknown group [%s] (known: [server], [login], [rooms], [media])", path,
                        groups[g]);
            return false;
        }
        gsize n_keys = 0;
        g_auto(GStrv) names = g_key_file_get_keys(file, groups[g], &n_keys, nullptr);
        for (gsize k = 0; k < n_keys; k++) {
            const Key* key = find_key(groups[g], names[k]);
            if (!key) {
                g_set_error(error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_KEY_NOT_FOUND,
                            "%s: unknown key '%s' in group [%s]", path, names[k], groups[g]);
                return false;
            }
            if (!set_value(config, *key, path, file, error))
                return false;
        }
    }
    return true;
}

bool config_validate(const Config& config, GError** error)
{
    if (config.tls_certificate.empty() != config.tls_key.empty()) {
        g_set_error(error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                    "TLS needs both tls_certificate and tls_key");
        return false;
    }
    if (config.port < 0 || config.port > 65535) {
        g_set_error(error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                    "port %d is out of range 0-65535", config.port);
        return false;
    }
    if (config.listen.empty() || !g_hostname_is_ip_address(config.listen.c_str())) {
        g_set_error(error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                    "listen = '%s': expected an IP address (127.0.0.1, 0.0.0.0, ::)",
                    config.listen.c_str());
        return false;
    }
    if ((config.min_port == 0) != (config.max_port == 0) || config.min_port > config.max_port) {
        g_set_error(error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                    "media port range %d-%d: set both, min <= max", config.min_port,
                    config.max_port);
        return false;
    }
    if (!config.stun_server.empty() && !g_str_has_prefix(config.stun_server.c_str(), "stun://")) {
        g_set_error(error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                    "stun_server = '%s': expected stun://host:port", config.stun_server.c_str());
        return false;
    }
    {
        std::vector<TurnServer> turn;
        if (!parse_turn_servers(config.turn_servers, turn, error))
            return false;
    }
    {
        g_auto(GStrv) addresses = g_strsplit(config.host_addresses.c_str(), ",", -1);
        for (char** a = addresses; *a; a++) {
            g_strstrip(*a);
            if (**a && !g_hostname_is_ip_address(*a)) {
                g_set_error(error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                            "host_addresses: '%s' is not an IP address", *a);
                return false;
            }
        }
    }
    if (config.data_dir.empty()) {
        g_set_error(error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                    "data_dir must not be empty");
        return false;
    }
    return true;
}

bool parse_turn_servers(const std::string& value, std::vector<TurnServer>& out, GError** error)
{
    out.clear();
    g_auto(GStrv) items = g_strsplit(value.c_str(), ",", -1);
    int index = 0;
    for (char** item = items; *item; item++) {
        g_strstrip(*item);
        if (!**item)
            continue;
        index++;
        auto bad = [&](const char* why) {
            g_set_error(error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE,
                        "turn_servers: entry %d: %s (expected "
                        "turn://user:password@host:port or turns://..., optionally "
                        "?transport=udp|tcp)",
                        index, why);
            return false;
        };
        g_autoptr(GUri) uri = g_uri_parse(*item, G_URI_FLAGS_HAS_PASSWORD, nullptr);
        if (!uri)
            return bad("not a URL");
        TurnServer server;
        server.url = *item;
        server.scheme = g_uri_get_scheme(uri);
        if (server.scheme != "turn" && server.scheme != "turns")
            return bad("the scheme must be turn or turns");
        const char* host = g_uri_get_host(uri);
        if (!host || !*host)
            return bad("no host");
        server.host = host;
        server.port = g_uri_get_port(uri);
        if (server.port <= 0 || server.port > 65535)
            return bad("no port");
        const char* user = g_uri_get_user(uri);
        const char* password = g_uri_get_password(uri);
        if (!user || !*user || !password || !*password)
            return bad("a username and a password are required");
        server.username = user;
        server.credential = password;
        const char* path = g_uri_get_path(uri);
        if (path && *path)
            return bad("unexpected path");
        if (const char* query = g_uri_get_query(uri)) {
            if (g_str_equal(query, "transport=udp"))
                server.transport = "udp";
            else if (g_str_equal(query, "transport=tcp"))
                server.transport = "tcp";
            else
                return bad("the only query allowed is transport=udp or transport=tcp");
        }
        out.push_back(std::move(server));
    }
    return true;
}

}  // namespace zumzi
