#include "otp.h"

#include <glib.h>

#include "crypto.h"

namespace zumzi {

OtpService::OtpService(const Config& config, Store& store, CodeDelivery& delivery, Clock clock)
    : config_(config),
      store_(store),
      delivery_(delivery),
      clock_(std::move(clock)),
      sends_per_address_(config.sends_per_address, config.rate_window * 1000LL),
      sends_per_ip_(config.sends_per_ip, config.rate_window * 1000LL),
      verifies_per_ip_(config.verifies_per_ip, config.rate_window * 1000LL)
{
}

OtpService::Sent OtpService::request(const std::string& app_id, const std::string& address,
                                     const std::string& name, const std::string& client_ip)
{
    const int64_t now = clock_();
    const std::string address_key = app_id + "\n" + address;
    if (!sends_per_ip_.allows(client_ip, now))
        return {SendResult::RateLimited, sends_per_ip_.retry_after(client_ip, now)};
    if (!sends_per_address_.allows(address_key, now))
        return {SendResult::RateLimited, sends_per_address_.retry_after(address_key, now)};
    sends_per_ip_.hit(client_ip, now);
    sends_per_address_.hit(address_key, now);

    auto pending = store_.find_login_code(app_id, address);
    if (pending && pending->expires_at > now &&
        now - pending->created_at < config_.code_resend * 1000LL &&
        pending->attempts < config_.code_max_attempts) {
        if (!name.empty() && name != pending->name) {
            pending->name = name;
            store_.put_login_code(*pending);
        }
        delivery_.deliver(app_id, address, pending->code);
        return {SendResult::Resent, 0, pending->expires_at};
    }
    LoginCode code{app_id, address, random_digits(6), name, now, now + config_.code_ttl * 1000LL,
                   0};
    store_.put_login_code(code);
    delivery_.deliver(app_id, address, code.code);
    return {SendResult::Sent, 0, code.expires_at};
}

OtpService::Checked OtpService::verify(const std::string& app_id, const std::string& address,
                                       const std::string& code, const std::string& client_ip)
{
    const int64_t now = clock_();
    if (!verifies_per_ip_.hit(client_ip, now))
        return {CheckResult::RateLimited, 0, verifies_per_ip_.retry_after(client_ip, now)};

    auto pending = store_.find_login_code(app_id, address);
    if (config_.demo && constant_time_equal(code, kDemoCode)) {
        if (pending)
            store_.delete_login_code(app_id, address);
        return {CheckResult::Ok, 0, 0, pending ? pending->name : ""};
    }
    if (!pending || pending->expires_at <= now || pending->attempts >= config_.code_max_attempts) {
        if (pending)
            store_.delete_login_code(app_id, address);
        return {CheckResult::Expired};
    }
    if (constant_time_equal(code, pending->code)) {
        store_.delete_login_code(app_id, address);
        return {CheckResult::Ok, 0, 0, pending->name};
    }
    int attempts = pending->attempts + 1;
    if (attempts >= config_.code_max_attempts) {
        store_.delete_login_code(app_id, address);  // burnt: a new code must be requested
        return {CheckResult::Wrong, 0};
    }
    store_.set_login_code_attempts(app_id, address, attempts);
    return {CheckResult::Wrong, config_.code_max_attempts - attempts};
}

}  // namespace zumzi
