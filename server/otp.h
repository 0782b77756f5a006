// One-time login codes: 6 digits, valid for code_ttl, the same code resent
// when asked again within code_resend, burnt after code_max_attempts wrong
// tries, rate-limited per address and per client IP. Pending codes live in
// the store, so a restart does not lose them.
#pragma once

#include <string>

#include "clock.h"
#include "code_delivery.h"
#include "config.h"
#include "rate_limit.h"
#include "store.h"

namespace zumzi {

// The code demo mode also accepts, as users of the original demo expect.
inline constexpr const char* kDemoCode = "123456";

class OtpService {
public:
    OtpService(const Config& config, Store& store, CodeDelivery& delivery, Clock clock);

    enum class SendResult { Sent, Resent, RateLimited };
    struct Sent {
        SendResult result;
        int64_t retry_after_ms = 0;  // when RateLimited
        int64_t expires_at = 0;      // when Sent or Resent
    };
    // `name` is kept with the code and handed back by verify().
    Sent request(const std::string& app_id, const std::string& address, const std::string& name,
                 const std::string& client_ip);

    enum class CheckResult { Ok, Wrong, Expired, RateLimited };
    struct Checked {
        CheckResult result;
        int attempts_left = 0;       // when Wrong
        int64_t retry_after_ms = 0;  // when RateLimited
        std::string name;            // when Ok: the name given with the request
    };
    // A successful check consumes the code.
    Checked verify(const std::string& app_id, const std::string& address, const std::string& code,
                   const std::string& client_ip);

private:
    const Config& config_;
    Store& store_;
    CodeDelivery& delivery_;
    Clock clock_;
    RateLimiter sends_per_address_;
    RateLimiter sends_per_ip_;
    RateLimiter verifies_per_ip_;
};

}  // namespace zumzi
