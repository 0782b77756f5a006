// No acknowledged message is lost: the real zumzi-server binary is killed
// with SIGKILL right after it acknowledged ("sent") a burst of messages, then
// started again on the same data directory, which still has every one of
// them, in order, and delivers them to the recipient who was offline.
//
// $ZUMZI_SERVER is the binary, $ZUMZI_SCHEMA_DIR the schema migrations.
#include <gio/gio.h>
#include <glib/gstdio.h>

#include <csignal>
#include <filesystem>
#include <string>
#include <vector>

#include "ws_client.h"

using namespace zumzi_test;

namespace {

const int kMessages = 200;

// One run of the server; stdout is read line by line until it listens,
// stderr goes to a file.
class ServerProcess {
public:
    ServerProcess(const std::string& data_dir, const std::string& log_path)
    {
        const char* binary = g_getenv("ZUMZI_SERVER");
        const char* schema = g_getenv("ZUMZI_SCHEMA_DIR");
        CHECK_TEXT(binary && schema, "ZUMZI_SERVER and ZUMZI_SCHEMA_DIR must be set");
        g_autoptr(GSubprocessLauncher) launcher =
            g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDOUT_PIPE);
        g_subprocess_launcher_set_stderr_file_path(launcher, log_path.c_str());
        g_autoptr(GError) error = nullptr;
        proc_ =
            g_subprocess_launcher_spawn(launcher, &error, binary, "--data-dir", data_dir.c_str(),
                                        "--port", "0", "--schema-dir", schema, nullptr);
        CHECK_TEXT(proc_ != nullptr, error ? error->message : "spawn failed");
        out_ = g_data_input_stream_new(g_subprocess_get_stdout_pipe(proc_));
        // The first start prints the default app's API key, then every start
        // says where it listens.
        for (;;) {
            gsize length = 0;
            g_autofree char* line = g_data_input_stream_read_line(out_, &length, nullptr, nullptr);
            if (!line)
                break;
            std::string text(line, length);
            if (text.rfind("    ", 0) == 0 && text.find(' ', 4) == std::string::npos)
                api_key_ = text.substr(4);
            const size_t at = text.find("listening on ");
            if (at != std::string::npos) {
                url_ = text.substr(at + 13, text.find("/ ", at) - at - 13);
                break;
            }
        }
        CHECK_TEXT(!url_.empty(), "the server did not say where it listens");
    }

    ~ServerProcess()
    {
        if (proc_) {
            g_subprocess_force_exit(proc_);
            g_subprocess_wait(proc_, nullptr, nullptr);
        }
        g_clear_object(&out_);
        g_clear_object(&proc_);
    }

    void kill9()
    {
        g_subprocess_send_signal(proc_, SIGKILL);
        g_subprocess_wait(proc_, nullptr, nullptr);
        CHECK_TRUE(g_subprocess_get_if_signaled(proc_));
        LONGS_EQUAL(SIGKILL, g_subprocess_get_term_sig(proc_));
    }

    const std::string& url() const { return url_; }
    const std::string& api_key() const { return api_key_; }

private:
    GSubprocess* proc_ = nullptr;
    GDataInputStream* out_ = nullptr;
    std::string url_;
    std::string api_key_;
};

// A blocking JSON request on the test thread.
Response http(const std::string& method, const std::string& url, const std::string& body,
              const std::string& bearer)
{
    g_autoptr(SoupSession) session = soup_session_new();
    soup_session_set_proxy_resolver(session, nullptr);
    g_autoptr(SoupMessage) msg = soup_message_new(method.c_str(), url.c_str());
    if (!body.empty()) {
        g_autoptr(GBytes) bytes = g_bytes_new(body.data(), body.size());
        soup_message_set_request_body_from_bytes(msg, "application/json", bytes);
    }
    if (!bearer.empty())
        soup_message_headers_replace(soup_message_get_request_headers(msg), "Authorization",
                                     ("Bearer " + bearer).c_str());
    Response r;
    g_autoptr(GError) error = nullptr;
    g_autoptr(GBytes) reply = soup_session_send_and_read(session, msg, nullptr, &error);
    if (!reply) {
        r.transport_error = error->message;
        return r;
    }
    r.status = static_cast<int>(soup_message_get_status(msg));
    gsize size = 0;
    const char* data = static_cast<const char*>(g_bytes_get_data(reply, &size));
    r.body.assign(data, size);
    g_autoptr(JsonParser) parser = json_parser_new();
    if (json_parser_load_from_data(parser, r.body.data(), static_cast<gssize>(r.body.size()),
                                   nullptr) &&
        json_parser_get_root(parser))
        r.json.reset(json_node_copy(json_parser_get_root(parser)), json_node_unref);
    return r;
}

TestUser make_user(const ServerProcess& server, const std::string& email)
{
    Response created = http("POST", server.url() + "/api/v1/admin/users",
                            "{\"email\":" + json_string(email) + "}", server.api_key());
    CHECK_STATUS(created, 201);
    Response token =
        http("POST", server.url() + "/api/v1/admin/users/" + created.str("id") + "/tokens", "",
             server.api_key());
    CHECK_STATUS(token, 201);
    return {created.str("id"), token.str("token"), email};
}

}  // namespace

TEST_GROUP(ChatCrash)
{
    std::string dir;
    void setup() override
    {
        g_autofree char* d = g_dir_make_tmp("zumzi-chat-crash-XXXXXX", nullptr);
        dir = d;
    }
    void teardown() override
    {
        std::filesystem::remove_all(dir);
    }
};

TEST(ChatCrash, EveryAcknowledgedMessageSurvivesSigkill)
{
    const std::string data = dir + "/data";
    std::vector<int64_t> ids;
    TestUser ann, bob;
    {
        ServerProcess server(data, dir + "/first.log");
        CHECK_TEXT(!server.api_key().empty(), "no API key printed on first start");
        ann = make_user(server, "ann@example.com");
        bob = make_user(server, "bob@example.com");
        WsClient a(server.url(), ann.token);
        CHECK_TRUE(a.connected());
        a.next("synced");
        // A burst, sent without waiting; the kill comes the moment the last
        // acknowledgement is in.
        for (int i = 0; i < kMessages; i++)
            a.send("{\"type\":\"send\",\"id\":" + std::to_string(i) +
                   ",\"user\":" + json_string(bob.id) + ",\"client_id\":\"k-" + std::to_string(i) +
                   "\",\"text\":\"message " + std::to_string(i) + "\"}");
        for (int i = 0; i < kMessages; i++) {
            Response sent = a.next("sent");
            CHECK_EQUAL_TEXT(i, sent.num("id"), sent.body.c_str());
            ids.push_back(sent.num("message.id"));
        }
        server.kill9();
    }

    ServerProcess again(data, dir + "/second.log");
    Response history =
        http("GET",
             again.url() + "/api/v1/conversations/" +
                 (ann.id < bob.id ? "dm:" + ann.id + ":" + bob.id : "dm:" + bob.id + ":" + ann.id) +
                 "/messages?limit=200",
             "", bob.token);
    CHECK_STATUS(history, 200);
    LONGS_EQUAL(kMessages, history.count("messages"));
    for (int i = 0; i < kMessages; i++) {
        const std::string at = "messages." + std::to_string(kMessages - 1 - i);
        CHECK_EQUAL(ids[static_cast<size_t>(i)], history.num(at + ".id"));
        CHECK_EQUAL("message " + std::to_string(i), history.str(at + ".text"));
    }

    // Bob was offline all along: he gets all of them now, in order.
    WsClient b(again.url(), bob.token);
    for (int i = 0; i < kMessages; i++)
        CHECK_EQUAL(ids[static_cast<size_t>(i)], b.next("message").num("message.id"));
    CHECK_EQUAL(kMessages, b.next("synced").num("count"));
}
