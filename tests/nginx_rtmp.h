// Shared by the suites that push RTMP (tests/plugin/test_livesink.cpp,
// tests/integration/test_live.cpp): nginx with Debian's RTMP module on
// 127.0.0.1, recording every stream it receives, and a port where nothing
// listens. Header-only: GIO and CppUTest.
#pragma once

#include <gio/gio.h>

#include <csignal>
#include <string>

// Last: CppUTest redefines `new` for its leak checker.
#include <CppUTest/TestHarness.h>

namespace zumzi_test {

// A TCP port on 127.0.0.1 where nothing listens (bound, then closed).
inline int closed_port()
{
    GSocket* socket =
        g_socket_new(G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, nullptr);
    GInetAddress* loopback = g_inet_address_new_loopback(G_SOCKET_FAMILY_IPV4);
    GSocketAddress* address = g_inet_socket_address_new(loopback, 0);
    g_socket_bind(socket, address, TRUE, nullptr);
    GSocketAddress* bound = g_socket_get_local_address(socket, nullptr);
    int port = g_inet_socket_address_get_port(G_INET_SOCKET_ADDRESS(bound));
    g_object_unref(bound);
    g_object_unref(address);
    g_object_unref(loopback);
    g_socket_close(socket, nullptr);
    g_object_unref(socket);
    return port;
}

// nginx with Debian's RTMP module, on 127.0.0.1:`port`, application "live",
// recording every stream it receives as <dir>/<stream>.flv; stopped by the
// destructor. `dir` must outlive it.
class NginxRtmp {
public:
    NginxRtmp(const std::string& dir, int port) : dir_(dir)
    {
        const std::string conf = dir + "/nginx.conf";
        const std::string text =
            "load_module /usr/lib/nginx/modules/ngx_rtmp_module.so;\n"
            "daemon off;\nmaster_process off;\n"
            "pid " +
            dir + "/nginx.pid;\nerror_log " + dir +
            "/error.log info;\nevents { worker_connections 64; }\n"
            "rtmp { server { listen 127.0.0.1:" +
            std::to_string(port) + ";\n application live { live on; record all; record_path " +
            dir + "; record_unique off; } } }\n";
        CHECK_TRUE(g_file_set_contents(conf.c_str(), text.c_str(), -1, nullptr));
        GError* error = nullptr;
        process_ = g_subprocess_new(G_SUBPROCESS_FLAGS_NONE, &error, "nginx", "-c", conf.c_str(),
                                    "-p", dir.c_str(), nullptr);
        if (!process_)
            FAIL(error->message);
        // listening when a connection succeeds
        for (int i = 0; i < 1000; i++) {
            GSocketClient* client = g_socket_client_new();
            GSocketConnection* c =
                g_socket_client_connect_to_host(client, "127.0.0.1", port, nullptr, nullptr);
            g_object_unref(client);
            if (c) {
                g_object_unref(c);
                return;
            }
            g_usleep(10000);
        }
        gchar* log = nullptr;
        g_file_get_contents((dir + "/error.log").c_str(), &log, nullptr, nullptr);
        const std::string message = std::string("nginx did not listen: ") + (log ? log : "");
        g_free(log);
        FAIL(message.c_str());
    }
    ~NginxRtmp()
    {
        if (process_) {
            g_subprocess_send_signal(process_, SIGTERM);
            g_subprocess_wait(process_, nullptr, nullptr);
            g_object_unref(process_);
        }
    }
    NginxRtmp(const NginxRtmp&) = delete;
    NginxRtmp& operator=(const NginxRtmp&) = delete;

    // What nginx recorded of stream `name`.
    std::string recording(const std::string& name) const { return dir_ + "/" + name + ".flv"; }

private:
    std::string dir_;
    GSubprocess* process_ = nullptr;
};

}  // namespace zumzi_test
