// A WebSocket client for the tests, on the test thread's default main
// context: connects with an access token, queues every text frame it gets
// and hands them out by type. Waits (by iterating the main context) up to
// 20 s for what a test asks for; nothing here asserts on time. With
// ZUMZI_TEST_TRACE set, every frame in and out is printed to stderr.
#pragma once

#include <deque>

#include "test_server.h"

namespace zumzi_test {

class WsClient {
public:
    // Connects to `server` with `token` (empty: no token) and waits for the
    // upgrade to succeed or fail.
    WsClient(TestServer& server, const std::string& token) : WsClient(server.url(), token) {}

    // `base_url` as "http://127.0.0.1:PORT".
    WsClient(const std::string& base_url, const std::string& token)
    {
        session_ = soup_session_new();
        // No proxy lookups: libproxy is not safe when lookups overlap.
        soup_session_set_proxy_resolver(session_, nullptr);
        std::string url = base_url + "/api/v1/ws";
        if (!token.empty())
            url += "?token=" + token;
        msg_ = soup_message_new("GET", url.c_str());
        soup_session_websocket_connect_async(session_, msg_, nullptr, nullptr, G_PRIORITY_DEFAULT,
                                             nullptr, on_connected, this);
        wait_until([this] { return done_; });
        status_ = static_cast<int>(soup_message_get_status(msg_));
    }

    ~WsClient()
    {
        close();
        g_clear_object(&msg_);
        g_clear_object(&session_);
    }

    bool connected() const { return connection_ != nullptr; }
    int handshake_status() const { return status_; }

    void send(const std::string& text)
    {
        CHECK_TRUE(connection_ != nullptr);
        if (g_getenv("ZUMZI_TEST_TRACE"))
            g_printerr("ws %p >> %s\n", static_cast<void*>(this), text.c_str());
        soup_websocket_connection_send_text(connection_, text.c_str());
    }

    void send_binary(const std::string& data)
    {
        soup_websocket_connection_send_binary(connection_, data.data(), data.size());
    }

    // The next message of `type` (others before it stay queued), waiting up
    // to 20 s; an empty Response (status 0, no json) if none came.
    Response next(const std::string& type)
    {
        Response found;
        wait_until([&] {
            for (auto it = queue_.begin(); it != queue_.end(); ++it) {
                if (type_of(*it) == type) {
                    found = parse(*it);
                    queue_.erase(it);
                    return true;
                }
            }
            return closed_;
        });
        return found;
    }

    // True when a message of `type` is already queued. Call after a ping
    // round trip: everything sent to us before the pong has arrived by then.
    bool has_queued(const std::string& type) const
    {
        for (const std::string& m : queue_)
            if (type_of(m) == type)
                return true;
        return false;
    }

    // A ping round trip: afterwards every message the server queued for us
    // before it has been received.
    void sync()
    {
        static int n = 0;
        const std::string id = "sync-" + std::to_string(++n);
        send("{\"type\":\"ping\",\"id\":" + json_string(id) + "}");
        Response pong = next("pong");
        CHECK_EQUAL(id, pong.str("id"));
    }

    // Every queued message of `type`, in arrival order (taken off the queue).
    std::vector<Response> take_all(const std::string& type)
    {
        std::vector<Response> out;
        for (auto it = queue_.begin(); it != queue_.end();) {
            if (type_of(*it) == type) {
                out.push_back(parse(*it));
                it = queue_.erase(it);
            } else {
                ++it;
            }
        }
        return out;
    }

    // Sends `text` and returns the reply with the same "id" (a string): the
    // first frame whose id matches, of any type.
    Response request(const std::string& text, const std::string& id)
    {
        send(text);
        Response found;
        wait_until([&] {
            for (auto it = queue_.begin(); it != queue_.end(); ++it) {
                Response r = parse(*it);
                if (r.has("id") && r.str("id") == id) {
                    found = r;
                    queue_.erase(it);
                    return true;
                }
            }
            return closed_;
        });
        return found;
    }

    bool wait_closed()
    {
        wait_until([this] { return closed_; });
        return closed_;
    }

    void close()
    {
        if (connection_ &&
            soup_websocket_connection_get_state(connection_) == SOUP_WEBSOCKET_STATE_OPEN) {
            soup_websocket_connection_close(connection_, SOUP_WEBSOCKET_CLOSE_NORMAL, nullptr);
            wait_until([this] { return closed_; });
        }
        if (connection_) {
            g_signal_handlers_disconnect_by_data(connection_, this);
            g_clear_object(&connection_);
        }
    }

private:
    static void on_connected(GObject* source, GAsyncResult* result, gpointer self)
    {
        auto* client = static_cast<WsClient*>(self);
        client->connection_ =
            soup_session_websocket_connect_finish(SOUP_SESSION(source), result, nullptr);
        if (client->connection_) {
            g_signal_connect(client->connection_, "message", G_CALLBACK(on_message), client);
            g_signal_connect(client->connection_, "closed", G_CALLBACK(on_closed), client);
        }
        client->done_ = true;
    }

    static void on_message(SoupWebsocketConnection*, gint, GBytes* message, gpointer self)
    {
        gsize size = 0;
        const char* data = static_cast<const char*>(g_bytes_get_data(message, &size));
        if (g_getenv("ZUMZI_TEST_TRACE"))
            g_printerr("ws %p << %.*s\n", self, static_cast<int>(size), data);
        static_cast<WsClient*>(self)->queue_.emplace_back(data, size);
    }

    static void on_closed(SoupWebsocketConnection*, gpointer self)
    {
        static_cast<WsClient*>(self)->closed_ = true;
    }

    static std::string type_of(const std::string& text)
    {
        Response r = parse(text);
        return r.str("type");
    }

    static Response parse(const std::string& text)
    {
        Response r;
        r.status = 200;
        r.body = text;
        g_autoptr(JsonParser) parser = json_parser_new();
        if (json_parser_load_from_data(parser, text.data(), static_cast<gssize>(text.size()),
                                       nullptr) &&
            json_parser_get_root(parser))
            r.json.reset(json_node_copy(json_parser_get_root(parser)), json_node_unref);
        return r;
    }

    template <class Condition>
    static void wait_until(Condition condition)
    {
        const int64_t deadline = g_get_monotonic_time() + 20 * G_USEC_PER_SEC;
        while (!condition() && g_get_monotonic_time() < deadline) {
            if (!g_main_context_iteration(nullptr, FALSE))
                g_usleep(1000);
        }
    }

    SoupSession* session_ = nullptr;
    SoupMessage* msg_ = nullptr;
    SoupWebsocketConnection* connection_ = nullptr;
    std::deque<std::string> queue_;
    bool done_ = false;
    bool closed_ = false;
    int status_ = 0;
};

}  // namespace zumzi_test
