// zumzi-server's HTTP front: one SoupServer on the main context that owns the
// REST routes and their services. Request bodies are collected here, bounded
// by max_body_bytes, so no handler ever sees (or buffers) more.
#pragma once

#include "auth.h"
#include "clock.h"
#include "code_delivery.h"
#include "config.h"
#include "otp.h"
#include "rate_limit.h"
#include "router.h"
#include "store.h"
#include "api/context.h"

#include <libsoup/soup.h>

#include <memory>
#include <string>

namespace zumzi {

class Server {
public:
    Server(const Config& config, Store& store, CodeDelivery& delivery,
           Clock clock = system_now_ms);
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    // Starts listening on config.listen:config.port (port 0 picks a free
    // one). Sources attach to the thread-default main context.
    bool listen(GError** error);

    // The base URL actually listened on, e.g. "http://127.0.0.1:8080".
    std::string url() const;
    int port() const;

    Auth& auth() { return auth_; }

private:
    static void on_early(SoupServer*, SoupServerMessage* msg, const char* path, GHashTable*,
                         gpointer self);
    static void on_request(SoupServer*, SoupServerMessage* msg, const char* path, GHashTable*,
                           gpointer self);
    void handle(SoupServerMessage* msg, const char* path);

    const Config& config_;
    Store& store_;
    Clock clock_;
    Auth auth_;
    OtpService otp_;
    RateLimiter pin_failures_;
    Context context_;
    Router router_;
    SoupServer* soup_ = nullptr;
};

}  // namespace zumzi
