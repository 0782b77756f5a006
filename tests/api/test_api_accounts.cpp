// Accounts over real HTTP: one-time-code login by e-mail or phone, demo
// mode, wrong and expired codes, resending, rate limits, logout, profile and
// other users' public profiles.
#include "test_server.h"

using namespace zumzi_test;

namespace {

const char* const kLogin = "/api/v1/login";
const char* const kProfile = "/api/v1/profile";

// A 6-digit code guaranteed to differ from `code`.
std::string wrong_code(const std::string& code)
{
    std::string wrong = code;
    wrong.back() = static_cast<char>('0' + (wrong.back() - '0' + 1) % 10);
    return wrong;
}

}  // namespace

TEST_GROUP(Accounts)
{
    std::unique_ptr<TestServer> srv;

    void teardown() override { srv.reset(); }

    TestServer& start(const TestServer::Configure& configure = {})
    {
        srv = std::make_unique<TestServer>(configure);
        return *srv;
    }

    Response ask(const std::string& email, const std::string& name = {})
    {
        std::string body = "{\"email\":" + json_string(email);
        if (!name.empty())
            body += ",\"name\":" + json_string(name);
        return srv->post(kLogin, body + "}");
    }

    Response verify(const std::string& email, const std::string& code)
    {
        return srv->post(kLogin, "{\"email\":" + json_string(email) +
                                     ",\"code\":" + json_string(code) + "}");
    }

    std::string code_for(const std::string& address)
    {
        auto code = srv->delivery().last_for(address);
        CHECK_TRUE_TEXT(code.has_value(), ("no code delivered to " + address).c_str());
        return code->code;
    }

    long user_count()
    {
        Response users = srv->get("/api/v1/admin/users", srv->api_key());
        CHECK_STATUS(users, 200);
        return users.count("users");
    }
};

TEST(Accounts, CodeIsDeliveredAndTradedForATokenAndUser)
{
    start();
    Response asked = ask("  Alice@Example.COM ", "Alice Liddell");
    CHECK_STATUS(asked, 200);
    CHECK_TRUE(asked.boolean_is("sent", true));
    CHECK_TRUE(asked.boolean_is("resent", false));
    STRCMP_EQUAL("alice@example.com", asked.str("address").c_str());
    LONGS_EQUAL(srv->clock().now() + 300 * 1000, asked.num("expires_at"));

    LONGS_EQUAL(1, srv->delivery().count());
    const DeliveredCode delivered = srv->delivery().all().front();
    STRCMP_EQUAL(srv->default_app().id.c_str(), delivered.app_id.c_str());
    STRCMP_EQUAL("alice@example.com", delivered.address.c_str());
    CHECK_TRUE(is_digits(delivered.code, 6));

    Response in = verify("alice@example.com", delivered.code);
    CHECK_STATUS(in, 200);
    STRCMP_CONTAINS("zt_", in.str("token").c_str());
    CHECK_FALSE(in.str("token_id").empty());
    STRCMP_EQUAL(srv->default_app().id.c_str(), in.str("app_id").c_str());
    LONGS_EQUAL(srv->clock().now() + int64_t(srv->config().token_ttl) * 1000,
                in.num("expires_at"));
    STRCMP_EQUAL("Alice Liddell", in.str("user.name").c_str());
    STRCMP_EQUAL("alice@example.com", in.str("user.email").c_str());
    CHECK_TRUE(in.is_null("user.phone"));
    STRCMP_EQUAL("", in.str("user.status").c_str());
    STRCMP_EQUAL("", in.str("user.photo_url").c_str());

    Response me = srv->get(kProfile, in.str("token"));
    CHECK_STATUS(me, 200);
    STRCMP_EQUAL(in.str("user.id").c_str(), me.str("id").c_str());
    STRCMP_EQUAL("Alice Liddell", me.str("name").c_str());
    STRCMP_EQUAL("alice@example.com", me.str("email").c_str());

    // The code is used up.
    CHECK_ERROR(verify("alice@example.com", delivered.code), 401, "CODEEXPIRED");
}

TEST(Accounts, WithoutANameTheUserIsNamedAfterTheAddress)
{
    start();
    TestUser bob = srv->login("bob.builder@example.com");
    Response me = srv->get(kProfile, bob.token);
    CHECK_STATUS(me, 200);
    STRCMP_EQUAL("bob.builder", me.str("name").c_str());
}

TEST(Accounts, SecondLoginFindsTheSameUser)
{
    start();
    CHECK_STATUS(ask("carol@example.com", "Carol"), 200);
    Response first = verify("carol@example.com", code_for("carol@example.com"));
    CHECK_STATUS(first, 200);

    CHECK_STATUS(ask("CAROL@example.com", "Someone Else"), 200);
    Response second = verify("carol@EXAMPLE.com", code_for("carol@example.com"));
    CHECK_STATUS(second, 200);

    STRCMP_EQUAL(first.str("user.id").c_str(), second.str("user.id").c_str());
    CHECK_TRUE(first.str("token") != second.str("token"));
    // An existing user's profile is not rewritten by logging in.
    STRCMP_EQUAL("Carol", second.str("user.name").c_str());
    CHECK_STATUS(srv->get(kProfile, first.str("token")), 200);
    CHECK_STATUS(srv->get(kProfile, second.str("token")), 200);
    LONGS_EQUAL(1, user_count());
}

TEST(Accounts, LogoutRevokesOnlyThatToken)
{
    start();
    TestUser one = srv->login("dave@example.com");
    TestUser two = srv->login("dave@example.com");
    STRCMP_EQUAL(one.id.c_str(), two.id.c_str());

    Response out = srv->post("/api/v1/logout", "", one.token);
    CHECK_STATUS(out, 200);
    CHECK_TRUE(out.boolean_is("ok", true));

    CHECK_ERROR(srv->get(kProfile, one.token), 401, "AUTHFAIL");
    CHECK_ERROR(srv->post("/api/v1/logout", "", one.token), 401, "AUTHFAIL");
    CHECK_ERROR(srv->post("/api/v1/rooms", "{\"name\":\"x\"}", one.token), 401, "AUTHFAIL");
    CHECK_STATUS(srv->get(kProfile, two.token), 200);

    Response tokens = srv->get("/api/v1/admin/users/" + one.id + "/tokens", srv->api_key());
    CHECK_STATUS(tokens, 200);
    LONGS_EQUAL(2, tokens.count("tokens"));
    int revoked = 0;
    for (long i = 0; i < tokens.count("tokens"); i++)
        revoked += tokens.boolean_is("tokens." + std::to_string(i) + ".revoked", true);
    LONGS_EQUAL(1, revoked);
}

TEST(Accounts, ProfileNeedsAValidToken)
{
    start();
    Response anonymous = srv->get(kProfile);
    CHECK_ERROR(anonymous, 401, "AUTHFAIL");
    STRCMP_EQUAL("Bearer", anonymous.header("WWW-Authenticate").c_str());
    CHECK_ERROR(srv->get(kProfile, "zt_not-a-real-token"), 401, "AUTHFAIL");
    RequestOptions basic;
    basic.send_body = false;
    basic.headers = {{"Authorization", "Basic dXNlcjpwYXNz"}};
    CHECK_ERROR(srv->request("GET", kProfile, {}, {}, basic), 401, "AUTHFAIL");
    CHECK_ERROR(srv->put(kProfile, "{\"name\":\"x\"}", "zt_nope"), 401, "AUTHFAIL");
}

TEST(Accounts, AccessTokenExpiresWithTheClock)
{
    start([](zumzi::Config& c) { c.token_ttl = 3600; });
    TestUser erin = srv->login("erin@example.com");
    srv->advance_s(3599);
    CHECK_STATUS(srv->get(kProfile, erin.token), 200);
    srv->advance_s(1);
    CHECK_ERROR(srv->get(kProfile, erin.token), 401, "AUTHFAIL");
}

TEST(Accounts, ProfileUpdateIsStored)
{
    start();
    TestUser frank = srv->login("frank@example.com");
    Response put = srv->put(kProfile,
                            "{\"name\":\"  Frank Zappa  \",\"status\":\"On tour\","
                            "\"photo_url\":\"https://example.com/frank.jpg\"}",
                            frank.token);
    CHECK_STATUS(put, 200);
    STRCMP_EQUAL("Frank Zappa", put.str("name").c_str());

    Response me = srv->get(kProfile, frank.token);
    CHECK_STATUS(me, 200);
    STRCMP_EQUAL("Frank Zappa", me.str("name").c_str());
    STRCMP_EQUAL("On tour", me.str("status").c_str());
    STRCMP_EQUAL("https://example.com/frank.jpg", me.str("photo_url").c_str());
    STRCMP_EQUAL("frank@example.com", me.str("email").c_str());

    // One field at a time; the others stay. Empty status and photo clear them.
    CHECK_STATUS(srv->put(kProfile, "{\"status\":\"\"}", frank.token), 200);
    CHECK_STATUS(srv->put(kProfile, "{\"photo_url\":\"\"}", frank.token), 200);
    me = srv->get(kProfile, frank.token);
    STRCMP_EQUAL("Frank Zappa", me.str("name").c_str());
    STRCMP_EQUAL("", me.str("status").c_str());
    STRCMP_EQUAL("", me.str("photo_url").c_str());

    // 128 characters is the limit, counted in characters, not bytes.
    std::string long_name;
    for (int i = 0; i < 128; i++)
        long_name += "\xc3\xa9";  // é
    CHECK_STATUS(srv->put(kProfile, "{\"name\":" + json_string(long_name) + "}", frank.token),
                 200);
    STRCMP_EQUAL(long_name.c_str(), srv->get(kProfile, frank.token).str("name").c_str());
}

TEST(Accounts, AnotherUsersPublicProfileInTheSameAppOnly)
{
    start();
    TestUser ann = srv->make_user("ann@example.com", "Ann");
    TestUser bob = srv->make_user("bob@example.com", "Bob");
    CHECK_STATUS(srv->put(kProfile, "{\"status\":\"Climbing\",\"photo_url\":\"https://example.com/b.jpg\"}",
                          bob.token),
                 200);
    // Not a contact of Ann's: name, status and photo, no address.
    Response got = srv->get("/api/v1/users/" + bob.id, ann.token);
    CHECK_STATUS(got, 200);
    STRCMP_EQUAL(bob.id.c_str(), got.str("id").c_str());
    STRCMP_EQUAL("Bob", got.str("name").c_str());
    STRCMP_EQUAL("Climbing", got.str("status").c_str());
    STRCMP_EQUAL("https://example.com/b.jpg", got.str("photo_url").c_str());
    CHECK_FALSE(got.has("email"));
    CHECK_FALSE(got.has("phone"));

    // Another app's user is not found, nor is a made-up id; a token is needed.
    AppKey other = srv->create_app("Other");
    TestUser eve = srv->make_user("eve@example.com", "Eve", other.key);
    CHECK_ERROR(srv->get("/api/v1/users/" + eve.id, ann.token), 404, "NOTFOUND");
    CHECK_ERROR(srv->get("/api/v1/users/" + bob.id, eve.token), 404, "NOTFOUND");
    CHECK_ERROR(srv->get("/api/v1/users/u_nosuchuser", ann.token), 404, "NOTFOUND");
    CHECK_ERROR(srv->get("/api/v1/users/" + bob.id), 401, "AUTHFAIL");
}

TEST(Accounts, ProfileValidationRefusesAndChangesNothing)
{
    start();
    TestUser gina = srv->login("gina@example.com");
    CHECK_STATUS(srv->put(kProfile,
                          "{\"name\":\"Gina\",\"status\":\"Here\","
                          "\"photo_url\":\"http://example.com/g.png\"}",
                          gina.token),
                 200);

    const std::string bad_bodies[] = {
        "{\"name\":\"\"}",
        "{\"name\":\"   \"}",
        "{\"name\":" + json_string(std::string(129, 'x')) + "}",
        "{\"name\":\"a\\u0001b\"}",
        "{\"name\":\"line\\nbreak\"}",
        "{\"name\":\"tab\\there\"}",
        "{\"name\":\"del\\u007f\"}",
        "{\"status\":" + json_string(std::string(257, 's')) + "}",
        "{\"status\":\"bell\\u0007\"}",
        "{\"photo_url\":\"ftp://example.com/g.png\"}",
        "{\"photo_url\":\"javascript:alert(1)\"}",
        "{\"photo_url\":\"file:///etc/passwd\"}",
        "{\"photo_url\":\"not a url\"}",
        "{\"photo_url\":\"http://\"}",
        "{\"photo_url\":\"https://example.com/" + std::string(2048, 'p') + "\"}",
        // A good field does not get through with a bad one.
        "{\"name\":\"New Name\",\"photo_url\":\"data:image/png;base64,AAAA\"}",
        "{\"status\":\"New\",\"name\":\"\"}",
    };
    for (const std::string& body : bad_bodies) {
        Response r = srv->put(kProfile, body, gina.token);
        CHECK_ERROR(r, 400, "BADREQUEST");
    }
    Response me = srv->get(kProfile, gina.token);
    CHECK_STATUS(me, 200);
    STRCMP_EQUAL("Gina", me.str("name").c_str());
    STRCMP_EQUAL("Here", me.str("status").c_str());
    STRCMP_EQUAL("http://example.com/g.png", me.str("photo_url").c_str());
}

TEST(Accounts, NameGivenWithTheRequestIsValidated)
{
    start();
    CHECK_ERROR(ask("hank@example.com", std::string(129, 'h')), 400, "BADREQUEST");
    CHECK_ERROR(srv->post(kLogin, "{\"email\":\"hank@example.com\",\"name\":\"a\\u0007b\"}"), 400,
                "BADREQUEST");
    LONGS_EQUAL(0, srv->delivery().count());
}

TEST(Accounts, DemoModeAccepts123456)
{
    start([](zumzi::Config& c) { c.demo = true; });
    CHECK_STATUS(ask("ivy@example.com", "Ivy"), 200);
    const std::string real = code_for("ivy@example.com");
    Response in = verify("ivy@example.com", "123456");
    CHECK_STATUS(in, 200);
    STRCMP_EQUAL("Ivy", in.str("user.name").c_str());
    CHECK_STATUS(srv->get(kProfile, in.str("token")), 200);
    // The demo login used up the pending code.
    if (real != "123456")
        CHECK_ERROR(verify("ivy@example.com", real), 401, "CODEEXPIRED");

    // No code needs to be asked for first.
    Response direct = verify("jack@example.com", "123456");
    CHECK_STATUS(direct, 200);
    STRCMP_EQUAL("jack@example.com", direct.str("user.email").c_str());
    LONGS_EQUAL(2, user_count());
}

TEST(Accounts, Without123456DemoModeRefusesIt)
{
    start();  // demo is off by default
    CHECK_FALSE(srv->config().demo);
    CHECK_ERROR(verify("kim@example.com", "123456"), 401, "CODEEXPIRED");

    CHECK_STATUS(ask("kim@example.com"), 200);
    const std::string real = code_for("kim@example.com");
    if (real != "123456") {
        Response r = verify("kim@example.com", "123456");
        CHECK_ERROR(r, 401, "BADCODE");
    }
    LONGS_EQUAL(0, user_count());
    CHECK_STATUS(verify("kim@example.com", real), 200);
}

TEST(Accounts, WrongCodesCountDownAndBurnTheCode)
{
    start();
    CHECK_STATUS(ask("lee@example.com"), 200);
    const std::string real = code_for("lee@example.com");
    const std::string wrong = wrong_code(real);

    for (int left = 4; left >= 1; left--) {
        Response r = verify("lee@example.com", wrong);
        CHECK_ERROR(r, 401, "BADCODE");
        // The message says how many tries are left.
        STRCMP_CONTAINS(std::to_string(left).c_str(), r.error_message().c_str());
    }
    CHECK_ERROR(verify("lee@example.com", wrong), 401, "BADCODE");

    // Burnt: even the right code is refused now.
    CHECK_ERROR(verify("lee@example.com", real), 401, "CODEEXPIRED");
    LONGS_EQUAL(0, user_count());

    // Asking again gives a fresh code that works.
    Response again = ask("lee@example.com");
    CHECK_STATUS(again, 200);
    CHECK_TRUE(again.boolean_is("resent", false));
    LONGS_EQUAL(2, srv->delivery().count());
    CHECK_STATUS(verify("lee@example.com", code_for("lee@example.com")), 200);
}

TEST(Accounts, BadlyFormedCodeIsRefusedWithoutCostingATry)
{
    start([](zumzi::Config& c) { c.code_max_attempts = 1; });
    CHECK_STATUS(ask("mia@example.com"), 200);
    for (const char* code : {"12345", "1234567", "12a456", "", "１２３４５６"})
        CHECK_ERROR(verify("mia@example.com", code), 400, "BADREQUEST");
    CHECK_STATUS(verify("mia@example.com", code_for("mia@example.com")), 200);
}

TEST(Accounts, ExpiredCodeIsRefused)
{
    start();
    CHECK_STATUS(ask("ned@example.com"), 200);
    const std::string first = code_for("ned@example.com");
    srv->advance_s(299);
    CHECK_STATUS(verify("ned@example.com", first), 200);

    CHECK_STATUS(ask("ned@example.com"), 200);
    const std::string second = code_for("ned@example.com");
    srv->advance_s(300);
    CHECK_ERROR(verify("ned@example.com", second), 401, "CODEEXPIRED");
    // And it stays refused.
    CHECK_ERROR(verify("ned@example.com", second), 401, "CODEEXPIRED");
}

TEST(Accounts, AskingAgainWithinAMinuteResendsTheSameCode)
{
    start();
    Response first = ask("olga@example.com", "First Name");
    CHECK_STATUS(first, 200);
    srv->advance_s(59);
    Response second = ask("olga@example.com", "Second Name");
    CHECK_STATUS(second, 200);
    CHECK_TRUE(second.boolean_is("resent", true));
    LONGS_EQUAL(first.num("expires_at"), second.num("expires_at"));

    auto sent = srv->delivery().all();
    LONGS_EQUAL(2, sent.size());
    STRCMP_EQUAL(sent[0].code.c_str(), sent[1].code.c_str());

    // The latest name is the one the new user gets.
    Response in = verify("olga@example.com", sent[1].code);
    CHECK_STATUS(in, 200);
    STRCMP_EQUAL("Second Name", in.str("user.name").c_str());

    // After the resend window a new code is made.
    CHECK_STATUS(ask("olga@example.com"), 200);
    srv->advance_s(61);
    Response later = ask("olga@example.com");
    CHECK_STATUS(later, 200);
    CHECK_TRUE(later.boolean_is("resent", false));
    LONGS_EQUAL(srv->clock().now() + 300 * 1000, later.num("expires_at"));
}

TEST(Accounts, CodeRequestsAreRateLimitedPerAddress)
{
    start([](zumzi::Config& c) {
        c.sends_per_address = 3;
        c.rate_window = 900;
    });
    for (int i = 0; i < 3; i++)
        CHECK_STATUS(ask("pat@example.com"), 200);
    Response limited = ask("PAT@example.com");
    CHECK_ERROR(limited, 429, "RATELIMIT");
    // The clock is frozen, so the wait is the whole window.
    STRCMP_EQUAL("900", limited.header("Retry-After").c_str());
    LONGS_EQUAL(3, srv->delivery().count());

    // Another address is not affected, and the code sent still works.
    CHECK_STATUS(ask("quinn@example.com"), 200);
    CHECK_STATUS(verify("pat@example.com", code_for("pat@example.com")), 200);

    srv->advance_s(899);
    CHECK_ERROR(ask("pat@example.com"), 429, "RATELIMIT");
    srv->advance_s(1);
    CHECK_STATUS(ask("pat@example.com"), 200);
}

TEST(Accounts, CodeRequestsAreRateLimitedPerIp)
{
    start([](zumzi::Config& c) { c.sends_per_ip = 3; });
    CHECK_STATUS(ask("r1@example.com"), 200);
    CHECK_STATUS(ask("r2@example.com"), 200);
    CHECK_STATUS(srv->post(kLogin, "{\"phone\":\"+44 20 7946 0000\"}"), 200);
    Response limited = ask("r4@example.com");
    CHECK_ERROR(limited, 429, "RATELIMIT");
    STRCMP_EQUAL("900", limited.header("Retry-After").c_str());
    LONGS_EQUAL(3, srv->delivery().count());
    CHECK_FALSE(srv->delivery().last_for("r4@example.com").has_value());
}

TEST(Accounts, CodeChecksAreRateLimitedPerIp)
{
    start([](zumzi::Config& c) { c.verifies_per_ip = 3; });
    CHECK_STATUS(ask("sam@example.com"), 200);
    const std::string real = code_for("sam@example.com");
    for (int i = 0; i < 3; i++)
        CHECK_ERROR(verify("sam@example.com", wrong_code(real)), 401, "BADCODE");
    Response limited = verify("sam@example.com", real);
    CHECK_ERROR(limited, 429, "RATELIMIT");
    CHECK_FALSE(limited.header("Retry-After").empty());
    LONGS_EQUAL(0, user_count());
}

TEST(Accounts, PhoneLoginNormalisesTheNumber)
{
    start();
    Response asked = srv->post(kLogin, "{\"phone\":\"+1 (555) 010-9999\",\"name\":\"Tess\"}");
    CHECK_STATUS(asked, 200);
    STRCMP_EQUAL("+15550109999", asked.str("address").c_str());
    const std::string code = code_for("+15550109999");

    Response in = srv->post(kLogin, "{\"phone\":\"1.555.010.9999\",\"code\":\"" + code + "\"}");
    CHECK_STATUS(in, 200);
    STRCMP_EQUAL("+15550109999", in.str("user.phone").c_str());
    CHECK_TRUE(in.is_null("user.email"));
    STRCMP_EQUAL("Tess", in.str("user.name").c_str());

    CHECK_STATUS(srv->post(kLogin, "{\"phone\":\"+1 555 010 9999\"}"), 200);
    Response again = srv->post(kLogin, "{\"phone\":\"+15550109999\",\"code\":\"" +
                                           code_for("+15550109999") + "\"}");
    CHECK_STATUS(again, 200);
    STRCMP_EQUAL(in.str("user.id").c_str(), again.str("user.id").c_str());
    LONGS_EQUAL(1, user_count());
}

TEST(Accounts, BadAddressesAreRefused)
{
    start();
    const char* emails[] = {"not-an-email", "a@b", "@example.com", "a@@example.com",
                            "a b@example.com", "a@example.com.", "", "a@.com",
                            "<a@example.com>"};
    for (const char* email : emails)
        CHECK_ERROR(srv->post(kLogin, "{\"email\":" + json_string(email) + "}"), 400,
                    "BADREQUEST");
    const char* phones[] = {"12345", "+1 555 abc 0000", "1234567890123456", "++15550109999",
                            "", "555-0100 ext 5", "+1/555/0109999"};
    for (const char* phone : phones)
        CHECK_ERROR(srv->post(kLogin, "{\"phone\":" + json_string(phone) + "}"), 400,
                    "BADREQUEST");
    CHECK_ERROR(srv->post(kLogin, "{\"email\":\"uma@example.com\",\"phone\":\"+15550100000\"}"),
                400, "BADREQUEST");
    CHECK_ERROR(srv->post(kLogin, "{\"email\":" +
                                      json_string(std::string(250, 'u') + "@example.com") + "}"),
                400, "BADREQUEST");
    LONGS_EQUAL(0, srv->delivery().count());
}

TEST(Accounts, UnknownAppIsNotFound)
{
    start();
    CHECK_ERROR(srv->post(kLogin, "{\"email\":\"val@example.com\",\"app\":\"app_nope\"}"), 404,
                "NOTFOUND");
    CHECK_ERROR(srv->post(kLogin, "{\"email\":\"val@example.com\",\"app\":\"app_nope\","
                                  "\"code\":\"123456\"}"),
                404, "NOTFOUND");
    LONGS_EQUAL(0, srv->delivery().count());
}
