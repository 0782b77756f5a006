// otp: one-time login codes over a real store, a recording delivery and a
// clock the tests move by hand.
#include <glib.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "otp.h"

// Last: CppUTest redefines `new` for its leak checker.
#include <CppUTest/TestHarness.h>

using namespace zumzi;

namespace {

// Remembers every code it was asked to deliver.
class RecordingDelivery : public CodeDelivery {
public:
    struct Delivery {
        std::string app_id, address, code;
    };
    void deliver(const std::string& app_id, const std::string& address,
                 const std::string& code) override
    {
        sent.push_back({app_id, address, code});
    }
    const std::string& last_code() const { return sent.back().code; }
    std::vector<Delivery> sent;
};

using Send = OtpService::SendResult;
using Check = OtpService::CheckResult;

const char* kAddr = "ada@example.org";
const char* kIp = "192.0.2.1";

}  // namespace

TEST_GROUP(Otp)
{
    std::string dir;
    std::unique_ptr<Store> store;
    std::string app;
    Config config;
    RecordingDelivery delivery;
    int64_t now = 1'700'000'000'000;
    std::unique_ptr<OtpService> otp;

    void setup() override
    {
        char* d = g_dir_make_tmp("zumzi-otp-XXXXXX", nullptr);
        CHECK(d != nullptr);
        dir = d;
        g_free(d);
        GError* error = nullptr;
        store = Store::open(dir + "/zumzi.db", ZUMZI_SCHEMA_DIR, &error);
        CHECK_TEXT(store != nullptr, error ? error->message : "");
        g_clear_error(&error);
        app = store->create_app("Main", "hash", true).id;
        start();
    }
    void teardown() override
    {
        otp.reset();
        store.reset();
        std::error_code ec;
        std::filesystem::remove_all(dir, ec);
    }

    // (Re)creates the service, e.g. after changing `config`.
    void start()
    {
        otp = std::make_unique<OtpService>(config, *store, delivery, [this] { return now; });
    }

    OtpService::Sent request(const std::string& address = kAddr, const std::string& ip = kIp,
                             const std::string& name = "")
    {
        return otp->request(app, address, name, ip);
    }
    OtpService::Checked verify(const std::string& code, const std::string& address = kAddr,
                               const std::string& ip = kIp)
    {
        return otp->verify(app, address, code, ip);
    }
    // A code that is certainly not `code`.
    static std::string other_than(const std::string& code)
    {
        std::string wrong = code;
        wrong[0] = wrong[0] == '9' ? '0' : static_cast<char>(wrong[0] + 1);
        return wrong;
    }
};

TEST(Otp, RequestDeliversSixDigitCode)
{
    auto sent = request();
    CHECK(sent.result == Send::Sent);
    LONGS_EQUAL(now + config.code_ttl * 1000LL, sent.expires_at);
    LONGS_EQUAL(1, delivery.sent.size());
    STRCMP_EQUAL(app.c_str(), delivery.sent[0].app_id.c_str());
    STRCMP_EQUAL(kAddr, delivery.sent[0].address.c_str());
    const std::string& code = delivery.last_code();
    LONGS_EQUAL(6, code.size());
    CHECK_TEXT(code.find_first_not_of("0123456789") == std::string::npos, code.c_str());
    // It is pending in the store, so a restart keeps it.
    auto stored = store->find_login_code(app, kAddr);
    CHECK(stored.has_value());
    STRCMP_EQUAL(code.c_str(), stored->code.c_str());
}

TEST(Otp, AskingAgainWithinResendResendsSameCode)
{
    CHECK(request().result == Send::Sent);
    const std::string first = delivery.last_code();
    const int64_t expires = store->find_login_code(app, kAddr)->expires_at;
    now += config.code_resend * 1000LL - 1;
    auto again = request();
    CHECK(again.result == Send::Resent);
    LONGS_EQUAL(expires, again.expires_at);  // resending does not extend it
    LONGS_EQUAL(2, delivery.sent.size());
    STRCMP_EQUAL(first.c_str(), delivery.last_code().c_str());
    CHECK(verify(first).result == Check::Ok);
}

TEST(Otp, AfterResendPeriodANewCode)
{
    CHECK(request().result == Send::Sent);
    const int64_t first_expires = store->find_login_code(app, kAddr)->expires_at;
    now += config.code_resend * 1000LL;
    auto again = request();
    CHECK(again.result == Send::Sent);
    LONGS_EQUAL(now + config.code_ttl * 1000LL, again.expires_at);
    CHECK(again.expires_at > first_expires);
    LONGS_EQUAL(2, delivery.sent.size());
    auto stored = store->find_login_code(app, kAddr);
    STRCMP_EQUAL(delivery.last_code().c_str(), stored->code.c_str());
    LONGS_EQUAL(now, stored->created_at);
    CHECK(verify(delivery.last_code()).result == Check::Ok);
}

TEST(Otp, ValidUntilTtl)
{
    request();
    now += config.code_ttl * 1000LL - 1;
    auto r = verify(delivery.last_code());
    CHECK(r.result == Check::Ok);
}

TEST(Otp, ExpiredAfterTtl)
{
    request();
    const std::string code = delivery.last_code();
    now += config.code_ttl * 1000LL;
    CHECK(verify(code).result == Check::Expired);
    CHECK_FALSE(store->find_login_code(app, kAddr).has_value());
    now += 1000;
    CHECK(verify(code).result == Check::Expired);
}

TEST(Otp, ShortTtlExpiresBeforeResendPeriod)
{
    // With a TTL shorter than the resend period, asking again after expiry
    // must not "resend" a dead code.
    config.code_ttl = 10;
    config.code_resend = 60;
    start();
    request();
    now += 11'000;
    auto again = request();
    CHECK(again.result == Send::Sent);
    CHECK(again.expires_at > now);
    CHECK(verify(delivery.last_code()).result == Check::Ok);
}

TEST(Otp, WrongCodeCountsDownAndBurns)
{
    request();
    const std::string code = delivery.last_code();
    const std::string wrong = other_than(code);
    for (int left = config.code_max_attempts - 1; left >= 1; left--) {
        auto r = verify(wrong);
        CHECK(r.result == Check::Wrong);
        LONGS_EQUAL(left, r.attempts_left);
        LONGS_EQUAL(config.code_max_attempts - left, store->find_login_code(app, kAddr)->attempts);
    }
    auto fifth = verify(wrong);
    CHECK(fifth.result == Check::Wrong);
    LONGS_EQUAL(0, fifth.attempts_left);
    // Burnt: even the right code is refused now.
    CHECK(verify(code).result == Check::Expired);
}

TEST(Otp, RightCodeAfterSomeWrongTries)
{
    request();
    const std::string code = delivery.last_code();
    CHECK(verify(other_than(code)).result == Check::Wrong);
    CHECK(verify(other_than(code)).result == Check::Wrong);
    CHECK(verify(code).result == Check::Ok);
}

TEST(Otp, BurntCodeCanBeReplacedByANewRequest)
{
    request();
    const std::string code = delivery.last_code();
    for (int i = 0; i < config.code_max_attempts; i++) verify(other_than(code));
    auto again = request();  // still within code_resend, but the old code is gone
    CHECK(again.result == Send::Sent);
    CHECK(verify(delivery.last_code()).result == Check::Ok);
}

TEST(Otp, MaxAttemptsFollowsConfig)
{
    config.code_max_attempts = 2;
    start();
    request();
    const std::string code = delivery.last_code();
    auto r = verify(other_than(code));
    CHECK(r.result == Check::Wrong);
    LONGS_EQUAL(1, r.attempts_left);
    r = verify(other_than(code));
    CHECK(r.result == Check::Wrong);
    LONGS_EQUAL(0, r.attempts_left);
    CHECK(verify(code).result == Check::Expired);
}

TEST(Otp, SuccessfulVerifyConsumesCode)
{
    request();
    const std::string code = delivery.last_code();
    CHECK(verify(code).result == Check::Ok);
    CHECK_FALSE(store->find_login_code(app, kAddr).has_value());
    CHECK(verify(code).result == Check::Expired);
}

TEST(Otp, NoCodeRequestedIsExpired)
{
    CHECK(verify("123456").result == Check::Expired);
    CHECK(verify("").result == Check::Expired);
}

TEST(Otp, CodeIsBoundToAddressAndApp)
{
    request("a@example.org");
    const std::string code_a = delivery.last_code();
    CHECK(verify(code_a, "b@example.org").result == Check::Expired);
    CHECK(otp->verify("app_other", "a@example.org", code_a, kIp).result == Check::Expired);
    CHECK(verify(code_a, "a@example.org").result == Check::Ok);
}

TEST(Otp, CodesSurviveRestart)
{
    request();
    const std::string code = delivery.last_code();
    start();  // a new service over the same store
    CHECK(verify(code).result == Check::Ok);
}

TEST(Otp, PerAddressSendLimit)
{
    // Each request from a different IP, so only the address limit applies.
    for (int i = 0; i < config.sends_per_address; i++) {
        auto r = request(kAddr, "198.51.100." + std::to_string(i));
        CHECK(r.result != Send::RateLimited);
        now += 1000;
    }
    const size_t delivered = delivery.sent.size();
    auto limited = request(kAddr, "203.0.113.9");
    CHECK(limited.result == Send::RateLimited);
    CHECK(limited.retry_after_ms > 0);
    CHECK(limited.retry_after_ms <= config.rate_window * 1000LL);
    LONGS_EQUAL(delivered, delivery.sent.size());  // nothing delivered

    // Other addresses are not affected.
    CHECK(request("other@example.org", "203.0.113.9").result == Send::Sent);

    // After waiting what it said, the address may ask again.
    now += limited.retry_after_ms - 1;
    CHECK(request(kAddr, "203.0.113.10").result == Send::RateLimited);
    now += 1;
    auto ok = request(kAddr, "203.0.113.10");
    CHECK(ok.result == Send::Sent);
    CHECK(verify(delivery.last_code()).result == Check::Ok);
}

TEST(Otp, PerAddressLimitIsPerApp)
{
    std::string other_app = store->create_app("Other", "hash-2", false).id;
    for (int i = 0; i < config.sends_per_address; i++) CHECK(request().result != Send::RateLimited);
    CHECK(request().result == Send::RateLimited);
    CHECK(otp->request(other_app, kAddr, "", kIp).result == Send::Sent);
}

TEST(Otp, PerIpSendLimit)
{
    for (int i = 0; i < config.sends_per_ip; i++)
        CHECK(request("user" + std::to_string(i) + "@example.org").result == Send::Sent);
    const size_t delivered = delivery.sent.size();
    auto limited = request("late@example.org");
    CHECK(limited.result == Send::RateLimited);
    CHECK(limited.retry_after_ms > 0);
    LONGS_EQUAL(config.rate_window * 1000LL, limited.retry_after_ms);
    LONGS_EQUAL(delivered, delivery.sent.size());
    CHECK_FALSE(store->find_login_code(app, "late@example.org").has_value());

    // Another client is not affected.
    CHECK(request("late@example.org", "192.0.2.2").result == Send::Sent);

    now += limited.retry_after_ms;
    CHECK(request("later@example.org").result == Send::Sent);
}

TEST(Otp, RateLimitedRequestsDoNotCountAgainstTheAddress)
{
    // An address refused because its client IP was limited keeps its own
    // budget intact.
    config.sends_per_ip = 1;
    start();
    CHECK(request("x@example.org", kIp).result == Send::Sent);
    for (int i = 0; i < 10; i++) CHECK(request(kAddr, kIp).result == Send::RateLimited);
    for (int i = 0; i < config.sends_per_address; i++)
        CHECK(request(kAddr, "192.0.2." + std::to_string(100 + i)).result != Send::RateLimited);
}

TEST(Otp, VerifiesPerIpLimit)
{
    config.verifies_per_ip = 3;
    start();
    request();
    const std::string code = delivery.last_code();
    for (int i = 0; i < 3; i++)
        CHECK(verify("000000", "nobody@example.org").result == Check::Expired);
    auto limited = verify(code);
    CHECK(limited.result == Check::RateLimited);
    CHECK(limited.retry_after_ms > 0);
    LONGS_EQUAL(config.rate_window * 1000LL, limited.retry_after_ms);
    // A rate-limited check does not touch the code ...
    LONGS_EQUAL(0, store->find_login_code(app, kAddr)->attempts);
    // ... and another client may still check it.
    CHECK(verify(code, kAddr, "192.0.2.2").result == Check::Ok);

    now += limited.retry_after_ms;
    CHECK(verify("000000", "nobody@example.org").result == Check::Expired);
}

TEST(Otp, DemoModeAcceptsDemoCodeForAnyAddress)
{
    config.demo = true;
    start();
    auto r = verify(kDemoCode, "never-asked@example.org");
    CHECK(r.result == Check::Ok);
    STRCMP_EQUAL("", r.name.c_str());
    r = verify(kDemoCode, "+15550000");
    CHECK(r.result == Check::Ok);
}

TEST(Otp, DemoModeConsumesPendingCodeAndKeepsName)
{
    config.demo = true;
    start();
    request(kAddr, kIp, "Ada");
    const std::string code = delivery.last_code();
    auto r = verify(kDemoCode);
    CHECK(r.result == Check::Ok);
    STRCMP_EQUAL("Ada", r.name.c_str());
    CHECK_FALSE(store->find_login_code(app, kAddr).has_value());
    if (code != kDemoCode) CHECK(verify(code).result == Check::Expired);
}

TEST(Otp, DemoModeStillChecksOtherCodes)
{
    config.demo = true;
    start();
    store->put_login_code({app, kAddr, "111111", "", now, now + 300'000, 0});
    auto r = verify("222222");
    CHECK(r.result == Check::Wrong);
    LONGS_EQUAL(config.code_max_attempts - 1, r.attempts_left);
    CHECK(verify("111111").result == Check::Ok);
}

TEST(Otp, WithoutDemoTheDemoCodeIsJustWrong)
{
    CHECK_FALSE(config.demo);
    store->put_login_code({app, kAddr, "111111", "", now, now + 300'000, 0});
    auto r = verify(kDemoCode);
    CHECK(r.result == Check::Wrong);
    LONGS_EQUAL(config.code_max_attempts - 1, r.attempts_left);
    CHECK(verify(kDemoCode, "never-asked@example.org").result == Check::Expired);
    CHECK(verify("111111").result == Check::Ok);
}

TEST(Otp, NameComesBackFromVerify)
{
    request(kAddr, kIp, "Ada Lovelace");
    auto r = verify(delivery.last_code());
    CHECK(r.result == Check::Ok);
    STRCMP_EQUAL("Ada Lovelace", r.name.c_str());
}

TEST(Otp, ResendUpdatesNameButEmptyNameKeepsIt)
{
    request(kAddr, kIp, "Ada");
    CHECK(request(kAddr, kIp, "Ada L.").result == Send::Resent);
    CHECK(request(kAddr, kIp, "").result == Send::Resent);
    auto r = verify(delivery.last_code());
    CHECK(r.result == Check::Ok);
    STRCMP_EQUAL("Ada L.", r.name.c_str());
}

TEST(Otp, DeliveryUsesTheGivenApp)
{
    std::string other_app = store->create_app("Other", "hash-2", false).id;
    otp->request(other_app, kAddr, "", kIp);
    STRCMP_EQUAL(other_app.c_str(), delivery.sent.back().app_id.c_str());
    CHECK_FALSE(store->find_login_code(app, kAddr).has_value());
    CHECK(store->find_login_code(other_app, kAddr).has_value());
}
