// zumzi-chat-bench: messages per second through one zumzi-server with N
// WebSocket clients in one group, and the delivery latency (send to arrival
// at each other member) median and p99. Starts the real server binary on
// 127.0.0.1 with a fresh data directory, makes N users and a group of all
// of them over the admin and REST APIs, connects N WebSockets, then:
//   1. one message at a time (latency without queueing);
//   2. a window of W messages in flight from rotating senders (throughput).
// The clients run in this process on one thread, so their own parsing is
// part of every figure. See docs/benchmarks.md ("Chat").
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace {

struct Options {
    int clients = 100;
    int messages = 2000;  // in the throughput phase
    int window = 50;      // messages in flight there
    int probes = 200;     // one-at-a-time messages
    std::string server = ZUMZI_SERVER_PATH;
    std::string schema = ZUMZI_SCHEMA_DIR;
};

int64_t now_us()
{
    return g_get_monotonic_time();
}

void iterate_until(const std::function<bool()>& done, int64_t timeout_us)
{
    const int64_t deadline = now_us() + timeout_us;
    while (!done() && now_us() < deadline)
        if (!g_main_context_iteration(nullptr, FALSE))
            g_usleep(100);
}

std::string json_str(JsonObject* o, const char* name)
{
    return json_object_has_member(o, name) ? json_object_get_string_member(o, name) : "";
}

struct Bench;

struct Client {
    Bench* bench = nullptr;
    int index = 0;
    std::string id, token;
    SoupSession* session = nullptr;
    SoupWebsocketConnection* ws = nullptr;
    bool synced = false;
};

struct Bench {
    Options opt;
    std::string url, key, group;
    std::vector<std::unique_ptr<Client>> clients;
    std::map<std::string, int64_t> sent_at;  // client_id -> send time (us)
    std::vector<int64_t> latencies;          // us, one per delivery
    int64_t acks = 0, deliveries = 0;
    bool recording = true;

    void on_frame(Client& c, const char* data, size_t size)
    {
        const int64_t t = now_us();
        g_autoptr(JsonParser) p = json_parser_new();
        if (!json_parser_load_from_data(p, data, static_cast<gssize>(size), nullptr))
            return;
        JsonObject* o = json_node_get_object(json_parser_get_root(p));
        const std::string type = json_str(o, "type");
        if (type == "synced") {
            c.synced = true;
        } else if (type == "sent") {
            acks++;
        } else if (type == "message") {
            JsonObject* m = json_object_get_object_member(o, "message");
            auto it = sent_at.find(json_str(m, "client_id"));
            deliveries++;
            if (it != sent_at.end() && recording)
                latencies.push_back(t - it->second);
        } else if (type == "error") {
            g_printerr("error frame: %.*s\n", static_cast<int>(size), data);
        }
    }

    void send(Client& c, const std::string& client_id)
    {
        const std::string frame = "{\"type\":\"send\",\"group\":\"" + group +
                                  "\",\"client_id\":\"" + client_id +
                                  "\",\"text\":\"benchmark message " + client_id + "\"}";
        sent_at[client_id] = now_us();
        soup_websocket_connection_send_text(c.ws, frame.c_str());
    }
};

JsonNode* http(SoupSession* s, const std::string& method, const std::string& url,
               const std::string& body, const std::string& bearer, int* status)
{
    g_autoptr(SoupMessage) msg = soup_message_new(method.c_str(), url.c_str());
    if (!body.empty()) {
        g_autoptr(GBytes) b = g_bytes_new(body.data(), body.size());
        soup_message_set_request_body_from_bytes(msg, "application/json", b);
    }
    soup_message_headers_replace(soup_message_get_request_headers(msg), "Authorization",
                                 ("Bearer " + bearer).c_str());
    g_autoptr(GBytes) reply = soup_session_send_and_read(s, msg, nullptr, nullptr);
    *status = static_cast<int>(soup_message_get_status(msg));
    if (!reply)
        return nullptr;
    g_autoptr(JsonParser) p = json_parser_new();
    gsize n = 0;
    const char* d = static_cast<const char*>(g_bytes_get_data(reply, &n));
    if (!json_parser_load_from_data(p, d, static_cast<gssize>(n), nullptr))
        return nullptr;
    return json_node_copy(json_parser_get_root(p));
}

void on_message(SoupWebsocketConnection*, gint, GBytes* message, gpointer data)
{
    auto* c = static_cast<Client*>(data);
    gsize n = 0;
    const char* d = static_cast<const char*>(g_bytes_get_data(message, &n));
    c->bench->on_frame(*c, d, n);
}

void on_connected(GObject* source, GAsyncResult* res, gpointer data)
{
    auto* c = static_cast<Client*>(data);
    c->ws = soup_session_websocket_connect_finish(SOUP_SESSION(source), res, nullptr);
    if (c->ws) {
        soup_websocket_connection_set_max_incoming_payload_size(c->ws, 0);
        g_signal_connect(c->ws, "message", G_CALLBACK(on_message), c);
    }
}

double percentile(std::vector<int64_t> v, double q)
{
    if (v.empty())
        return 0;
    std::sort(v.begin(), v.end());
    const size_t i = std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())));
    return static_cast<double>(v[i]) / 1000.0;
}

}  // namespace

int main(int argc, char** argv)
{
    Bench bench;
    Options& opt = bench.opt;
    for (int i = 1; i + 1 < argc; i += 2) {
        const std::string a = argv[i];
        if (a == "--clients")
            opt.clients = std::max(2, atoi(argv[i + 1]));
        else if (a == "--messages")
            opt.messages = std::max(1, atoi(argv[i + 1]));
        else if (a == "--window")
            opt.window = std::max(1, atoi(argv[i + 1]));
        else if (a == "--probes")
            opt.probes = std::max(1, atoi(argv[i + 1]));
        else if (a == "--server")
            opt.server = argv[i + 1];
        else {
            g_printerr(
                "usage: %s [--clients N] [--messages N] [--window N] [--probes N] "
                "[--server PATH]\n",
                argv[0]);
            return 2;
        }
    }

    g_autofree char* dir = g_dir_make_tmp("zumzi-chat-bench-XXXXXX", nullptr);
    const std::string data = std::string(dir) + "/data";
    g_autoptr(GSubprocessLauncher) launcher =
        g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDOUT_PIPE);
    g_subprocess_launcher_set_stderr_file_path(launcher,
                                               (std::string(dir) + "/server.log").c_str());
    g_autoptr(GError) error = nullptr;
    g_autoptr(GSubprocess) proc = g_subprocess_launcher_spawn(
        launcher, &error, opt.server.c_str(), "--data-dir", data.c_str(), "--port", "0",
        "--schema-dir", opt.schema.c_str(), nullptr);
    if (!proc) {
        g_printerr("cannot start %s: %s\n", opt.server.c_str(), error->message);
        return 1;
    }
    g_autoptr(GDataInputStream) out = g_data_input_stream_new(g_subprocess_get_stdout_pipe(proc));
    for (;;) {
        gsize n = 0;
        g_autofree char* line = g_data_input_stream_read_line(out, &n, nullptr, nullptr);
        if (!line)
            break;
        std::string text(line, n);
        if (text.rfind("    zk_", 0) == 0)
            bench.key = text.substr(4);
        const size_t at = text.find("listening on ");
        if (at != std::string::npos) {
            bench.url = text.substr(at + 13, text.find("/ ", at) - at - 13);
            break;
        }
    }
    if (bench.url.empty() || bench.key.empty()) {
        g_printerr("the server did not start\n");
        return 1;
    }

    g_autoptr(SoupSession) http_session = soup_session_new();
    soup_session_set_proxy_resolver(http_session, nullptr);
    std::string members;
    for (int i = 0; i < opt.clients; i++) {
        auto c = std::make_unique<Client>();
        c->bench = &bench;
        c->index = i;
        int status = 0;
        JsonNode* u =
            http(http_session, "POST", bench.url + "/api/v1/admin/users",
                 "{\"email\":\"user" + std::to_string(i) + "@bench.local\"}", bench.key, &status);
        c->id = json_str(json_node_get_object(u), "id");
        json_node_unref(u);
        JsonNode* t =
            http(http_session, "POST", bench.url + "/api/v1/admin/users/" + c->id + "/tokens", "",
                 bench.key, &status);
        c->token = json_str(json_node_get_object(t), "token");
        json_node_unref(t);
        if (i > 0)
            members += std::string(members.empty() ? "" : ",") + "\"" + c->id + "\"";
        bench.clients.push_back(std::move(c));
    }
    int status = 0;
    JsonNode* g = http(http_session, "POST", bench.url + "/api/v1/groups",
                       "{\"name\":\"bench\",\"members\":[" + members + "]}",
                       bench.clients[0]->token, &status);
    bench.group = json_str(json_node_get_object(g), "id");
    json_node_unref(g);
    if (status != 201) {
        g_printerr("group creation failed: %d\n", status);
        return 1;
    }

    for (auto& c : bench.clients) {
        c->session = soup_session_new();
        soup_session_set_proxy_resolver(c->session, nullptr);
        SoupMessage* msg =
            soup_message_new("GET", (bench.url + "/api/v1/ws?token=" + c->token).c_str());
        soup_session_websocket_connect_async(c->session, msg, nullptr, nullptr, G_PRIORITY_DEFAULT,
                                             nullptr, on_connected, c.get());
        g_object_unref(msg);
    }
    iterate_until(
        [&] {
            for (auto& c : bench.clients)
                if (!c->synced)
                    return false;
            return true;
        },
        60 * G_USEC_PER_SEC);
    const int others = opt.clients - 1;

    // 1. One at a time: each message is delivered to everyone before the next.
    for (int i = 0; i < opt.probes; i++) {
        Client& sender = *bench.clients[static_cast<size_t>(i % opt.clients)];
        const int64_t want = bench.deliveries + others;
        const int64_t acks = bench.acks + 1;
        bench.send(sender, "p" + std::to_string(i));
        iterate_until([&] { return bench.deliveries >= want && bench.acks >= acks; },
                      30 * G_USEC_PER_SEC);
    }
    std::vector<int64_t> quiet = bench.latencies;
    bench.latencies.clear();

    // 2. A window of messages in flight, senders rotating.
    const int64_t start_acks = bench.acks, start_deliveries = bench.deliveries;
    const int64_t t0 = now_us();
    int sent = 0;
    while (sent < opt.messages) {
        while (sent < opt.messages && sent - (bench.acks - start_acks) < opt.window) {
            bench.send(*bench.clients[static_cast<size_t>(sent % opt.clients)],
                       "t" + std::to_string(sent));
            sent++;
        }
        g_main_context_iteration(nullptr, TRUE);
    }
    const int64_t want = start_deliveries + static_cast<int64_t>(opt.messages) * others;
    iterate_until(
        [&] { return bench.acks - start_acks >= opt.messages && bench.deliveries >= want; },
        120 * G_USEC_PER_SEC);
    const double seconds = static_cast<double>(now_us() - t0) / 1e6;
    const int64_t delivered = bench.deliveries - start_deliveries;

    std::printf("clients: %d in one group; server: %s\n", opt.clients, opt.server.c_str());
    std::printf(
        "one at a time: %d messages, %zu deliveries, latency median %.2f ms, p99 %.2f "
        "ms\n",
        opt.probes, quiet.size(), percentile(quiet, 0.5), percentile(quiet, 0.99));
    std::printf(
        "window %d: %d messages acked in %.2f s = %.0f messages/s, %.0f deliveries/s "
        "(%lld of %lld delivered), latency median %.2f ms, p99 %.2f ms\n",
        opt.window, opt.messages, seconds, opt.messages / seconds,
        static_cast<double>(delivered) / seconds, static_cast<long long>(delivered),
        static_cast<long long>(static_cast<int64_t>(opt.messages) * others),
        percentile(bench.latencies, 0.5), percentile(bench.latencies, 0.99));

    for (auto& c : bench.clients) {
        if (c->ws) {
            g_signal_handlers_disconnect_by_data(c->ws, c.get());
            g_object_unref(c->ws);
        }
        g_object_unref(c->session);
    }
    g_subprocess_send_signal(proc, SIGTERM);
    g_subprocess_wait(proc, nullptr, nullptr);
    std::filesystem::remove_all(dir);
    return delivered == static_cast<int64_t>(opt.messages) * others ? 0 : 1;
}
