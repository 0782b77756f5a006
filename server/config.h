// Server configuration: defaults, an INI file (GKeyFile) and command-line
// flags, in that order of precedence. Unknown keys and bad values are errors.
#pragma once

#include <glib.h>

#include <string>
#include <vector>

namespace zumzi {

// One TURN server of [media] turn_servers.
struct TurnServer {
    std::string url;     // as configured: turn(s)://user:pass@host:port[?transport=udp|tcp]
    std::string scheme;  // "turn" or "turns"
    std::string host;
    int port = 0;
    std::string transport;   // "udp", "tcp" or empty
    std::string username;    // percent-decoded
    std::string credential;  // percent-decoded
};

struct Config {
    // [server]
    std::string listen = "127.0.0.1";
    int port = 8080;
    std::string data_dir = "var";      // database and files live here
    int max_body_bytes = 1024 * 1024;  // larger request bodies get 413 TOOLARGE
    std::string tls_certificate;       // PEM; TLS is on when both are set
    std::string tls_key;
    std::string schema_dir;  // migrations; defaults to the built-in path
    std::string web_dir;     // the web client served at /; empty: none (zumzi-server
                             // defaults it to the source tree's web/)
    std::string vendor_dir;  // node_modules of `npm ci`: the npm packages the web client
                             // loads (hls.js at /vendor/hls.js/); empty: none
                             // (zumzi-server defaults it to the source tree's node_modules)

    // [login]
    bool demo = false;               // also accept 123456 as a login code
    int code_ttl = 300;              // seconds a login code stays valid
    int code_resend = 60;            // within this, asking again resends the same code
    int code_max_attempts = 5;       // wrong tries that burn a code
    int rate_window = 900;           // seconds of the rate-limit windows below
    int sends_per_address = 5;       // code deliveries per address per window
    int sends_per_ip = 20;           // code requests per client IP per window
    int verifies_per_ip = 30;        // code checks per client IP per window
    int token_ttl = 30 * 24 * 3600;  // access token lifetime, seconds

    // [rooms]
    int pin_failures_per_user = 10;  // wrong PINs per user per rate window

    // [media]
    std::string host_addresses;  // comma-separated ICE host addresses; empty: all
    int min_port = 0;            // ICE UDP port range; 0 and 0: any port
    int max_port = 0;
    std::string stun_server;   // "stun://host:port", passed to webrtcbin
    int peer_timeout = 15;     // seconds a failed/disconnected/silent session may last
    int connect_timeout = 20;  // seconds a negotiated session may take to connect
    // Comma-separated TURN servers, turn://user:pass@host:port (turns:// for
    // TLS, ?transport=tcp for TCP); for webrtcbin and for clients (joined).
    std::string turn_servers;

    // [chat]
    int max_message_chars = 4096;             // longer message texts get 413 TOOLARGE
    int max_upload_bytes = 10 * 1024 * 1024;  // file uploads
    int call_ring_timeout = 30;               // seconds a call rings before it is missed

    bool tls_enabled() const { return !tls_certificate.empty() && !tls_key.empty(); }
    std::string database_path() const;
};

// Parses a turn_servers value (comma-separated URLs). False and `error`
// on the first bad one (the message never shows a credential).
bool parse_turn_servers(const std::string& value, std::vector<TurnServer>& out, GError** error);

// Reads `path` into `config` (keys absent from the file keep their value).
bool config_load_file(Config& config, const char* path, GError** error);

// Checks cross-field rules (TLS needs both files, ranges). Run after flags.
bool config_validate(const Config& config, GError** error);

}  // namespace zumzi
