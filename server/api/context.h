// What every REST handler works with: the services of the server, and the
// two ways a caller proves who it is.
#pragma once

#include <memory>

#include "../auth.h"
#include "../clock.h"
#include "../config.h"
#include "../http.h"
#include "../otp.h"
#include "../rate_limit.h"
#include "../store.h"

namespace zumzi {

class Chat;
class LiveOutputs;
class Moderation;
class WhipService;
namespace media {
class RoomRegistry;
}

struct Context {
    const Config& config;
    Store& store;
    Auth& auth;
    OtpService& otp;
    RateLimiter& pin_failures;  // wrong room PINs per user
    Clock clock;
    WhipService* whip = nullptr;           // WHIP/WHEP sessions (api/whip.cpp)
    media::RoomRegistry* media = nullptr;  // live rooms (settings that apply at once)
    Chat* chat = nullptr;                  // messaging (chat.cpp)
    Moderation* moderation = nullptr;      // moderating rooms, live (moderation.cpp)
    LiveOutputs* live_outputs = nullptr;   // HLS, RTMP, recordings (live_output.cpp)
    // Expires with the server: work finishing later (answer_after) checks it.
    std::shared_ptr<void> alive = std::make_shared<int>(0);
};

// The user behind `Authorization: Bearer <access token>`, or 401 AUTHFAIL.
Principal require_user(Context& ctx, Request& req);

// The app behind `Authorization: Bearer <API key>`, or 401 AUTHFAIL.
App require_app_key(Context& ctx, Request& req);

}  // namespace zumzi
