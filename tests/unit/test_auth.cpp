// auth: app API keys, user access tokens and the Authorization header.
#include <glib.h>

#include <filesystem>
#include <memory>
#include <string>

#include "auth.h"
#include "crypto.h"

// Last: CppUTest redefines `new` for its leak checker.
#include <CppUTest/TestHarness.h>

using namespace zumzi;

TEST_GROUP(Auth)
{
    std::string dir;
    std::unique_ptr<Store> store;
    int64_t now = 1'700'000'000'000;
    std::unique_ptr<Auth> auth;

    void setup() override
    {
        char* d = g_dir_make_tmp("zumzi-auth-XXXXXX", nullptr);
        CHECK(d != nullptr);
        dir = d;
        g_free(d);
        GError* error = nullptr;
        store = Store::open(dir + "/zumzi.db", ZUMZI_SCHEMA_DIR, &error);
        CHECK_TEXT(store != nullptr, error ? error->message : "");
        g_clear_error(&error);
        auth = std::make_unique<Auth>(*store, [this] { return now; });
    }
    void teardown() override
    {
        auth.reset();
        store.reset();
        std::error_code ec;
        std::filesystem::remove_all(dir, ec);
    }

    User add_user(const std::string& app_id, const std::string& email)
    {
        User u;
        u.app_id = app_id;
        u.email = email;
        u.name = "User " + email;
        CHECK(store->create_user(u));
        return u;
    }
};

// ---- API keys --------------------------------------------------------------

TEST(Auth, CreateAppReturnsWorkingKey)
{
    auto [app, key] = auth->create_app("Main", true);
    CHECK(g_str_has_prefix(key.c_str(), "zk_"));
    LONGS_EQUAL(3 + 43, key.size());
    STRCMP_EQUAL("Main", app.name.c_str());
    CHECK(app.is_default);

    auto found = auth->app_from_api_key(key);
    CHECK(found.has_value());
    STRCMP_EQUAL(app.id.c_str(), found->id.c_str());
    STRCMP_EQUAL(app.id.c_str(), store->default_app()->id.c_str());
}

TEST(Auth, KeyIsStoredOnlyHashed)
{
    auto [app, key] = auth->create_app("Main", false);
    CHECK_FALSE(store->find_app_by_key_hash(key).has_value());
    auto by_hash = store->find_app_by_key_hash(sha256_hex(key));
    CHECK(by_hash.has_value());
    STRCMP_EQUAL(app.id.c_str(), by_hash->id.c_str());
    // The stored digest is not itself a key.
    CHECK_FALSE(auth->app_from_api_key(sha256_hex(key)).has_value());
}

TEST(Auth, WrongOrModifiedKeyIsRefused)
{
    auto [app, key] = auth->create_app("Main", false);
    std::string flipped = key;
    flipped.back() = flipped.back() == 'A' ? 'B' : 'A';
    CHECK_FALSE(auth->app_from_api_key(flipped).has_value());
    CHECK_FALSE(auth->app_from_api_key(key + "x").has_value());
    CHECK_FALSE(auth->app_from_api_key(key.substr(0, key.size() - 1)).has_value());
    CHECK_FALSE(auth->app_from_api_key(key.substr(3)).has_value());  // without prefix
    CHECK_FALSE(auth->app_from_api_key(" " + key).has_value());
    CHECK_FALSE(auth->app_from_api_key("").has_value());
    CHECK_FALSE(auth->app_from_api_key(random_secret("zk_")).has_value());
}

TEST(Auth, EachAppHasItsOwnKey)
{
    auto [a, key_a] = auth->create_app("A", true);
    auto [b, key_b] = auth->create_app("B", false);
    CHECK(key_a != key_b);
    STRCMP_EQUAL(a.id.c_str(), auth->app_from_api_key(key_a)->id.c_str());
    STRCMP_EQUAL(b.id.c_str(), auth->app_from_api_key(key_b)->id.c_str());
}

// ---- access tokens ---------------------------------------------------------

TEST(Auth, IssuedTokenIdentifiesUserAndApp)
{
    auto [app, key] = auth->create_app("Main", true);
    User u = add_user(app.id, "ada@example.org");
    auto [token, secret] = auth->issue_token(u, 3600);
    CHECK(g_str_has_prefix(secret.c_str(), "zt_"));
    LONGS_EQUAL(3 + 43, secret.size());
    CHECK(g_str_has_prefix(token.id.c_str(), "t_"));
    STRCMP_EQUAL(u.id.c_str(), token.user_id.c_str());
    STRCMP_EQUAL(app.id.c_str(), token.app_id.c_str());
    LONGS_EQUAL(now, token.created_at);
    LONGS_EQUAL(now + 3600 * 1000LL, token.expires_at);
    CHECK_FALSE(token.revoked);
    // The id is a public handle, never the secret.
    CHECK(secret.find(token.id) == std::string::npos);

    auto p = auth->user_from_token(secret);
    CHECK(p.has_value());
    STRCMP_EQUAL(u.id.c_str(), p->user.id.c_str());
    STRCMP_EQUAL("ada@example.org", p->user.email.c_str());
    STRCMP_EQUAL(app.id.c_str(), p->app.id.c_str());
    STRCMP_EQUAL(token.id.c_str(), p->token.id.c_str());
    LONGS_EQUAL(token.expires_at, p->token.expires_at);
}

TEST(Auth, TokenIsStoredOnlyHashed)
{
    auto [app, key] = auth->create_app("Main", true);
    User u = add_user(app.id, "ada@example.org");
    auto [token, secret] = auth->issue_token(u, 3600);
    CHECK_FALSE(store->find_token_by_hash(secret).has_value());
    CHECK(store->find_token_by_hash(sha256_hex(secret)).has_value());
    CHECK_FALSE(auth->user_from_token(sha256_hex(secret)).has_value());
}

TEST(Auth, TokensOfDifferentAppsAndUsers)
{
    auto [a, key_a] = auth->create_app("A", true);
    auto [b, key_b] = auth->create_app("B", false);
    User ua = add_user(a.id, "same@example.org");
    User ub = add_user(b.id, "same@example.org");
    User ua2 = add_user(a.id, "second@example.org");
    std::string sa = auth->issue_token(ua, 60).second;
    std::string sb = auth->issue_token(ub, 60).second;
    std::string sa2 = auth->issue_token(ua2, 60).second;
    std::string sa_again = auth->issue_token(ua, 60).second;
    CHECK(sa != sa_again);

    auto pa = auth->user_from_token(sa);
    auto pb = auth->user_from_token(sb);
    auto pa2 = auth->user_from_token(sa2);
    auto pa_again = auth->user_from_token(sa_again);
    CHECK(pa && pb && pa2 && pa_again);
    STRCMP_EQUAL(a.id.c_str(), pa->app.id.c_str());
    STRCMP_EQUAL(ua.id.c_str(), pa->user.id.c_str());
    STRCMP_EQUAL(b.id.c_str(), pb->app.id.c_str());
    STRCMP_EQUAL(ub.id.c_str(), pb->user.id.c_str());
    STRCMP_EQUAL(ua2.id.c_str(), pa2->user.id.c_str());
    STRCMP_EQUAL(ua.id.c_str(), pa_again->user.id.c_str());
    CHECK(pa->token.id != pa_again->token.id);
}

TEST(Auth, WrongTokenIsRefused)
{
    auto [app, key] = auth->create_app("Main", true);
    User u = add_user(app.id, "ada@example.org");
    std::string secret = auth->issue_token(u, 3600).second;
    std::string flipped = secret;
    flipped[5] = flipped[5] == 'a' ? 'b' : 'a';
    CHECK_FALSE(auth->user_from_token(flipped).has_value());
    CHECK_FALSE(auth->user_from_token(secret + "=").has_value());
    CHECK_FALSE(auth->user_from_token("").has_value());
    CHECK_FALSE(auth->user_from_token(random_secret("zt_")).has_value());
    // An API key is not an access token, and the other way round.
    CHECK_FALSE(auth->user_from_token(key).has_value());
    CHECK_FALSE(auth->app_from_api_key(secret).has_value());
    CHECK(auth->user_from_token(secret).has_value());
}

TEST(Auth, ExpiredTokenIsRefused)
{
    auto [app, key] = auth->create_app("Main", true);
    User u = add_user(app.id, "ada@example.org");
    auto [token, secret] = auth->issue_token(u, 60);
    now += 60 * 1000 - 1;
    CHECK(auth->user_from_token(secret).has_value());
    now += 1;
    CHECK_FALSE(auth->user_from_token(secret).has_value());
    now += 24 * 3600 * 1000LL;
    CHECK_FALSE(auth->user_from_token(secret).has_value());
}

TEST(Auth, RevokedTokenIsRefused)
{
    auto [app, key] = auth->create_app("Main", true);
    User u = add_user(app.id, "ada@example.org");
    auto [t1, s1] = auth->issue_token(u, 3600);
    auto [t2, s2] = auth->issue_token(u, 3600);
    CHECK(store->revoke_token(app.id, t1.id, now));
    CHECK_FALSE(auth->user_from_token(s1).has_value());
    CHECK(auth->user_from_token(s2).has_value());  // only that one
    CHECK(store->revoke_user_tokens(u.id, now) == 1);
    CHECK_FALSE(auth->user_from_token(s2).has_value());
}

TEST(Auth, TokenOfDeletedUserIsRefused)
{
    auto [app, key] = auth->create_app("Main", true);
    User u = add_user(app.id, "ada@example.org");
    std::string secret = auth->issue_token(u, 3600).second;
    CHECK(store->delete_user(app.id, u.id));
    CHECK_FALSE(auth->user_from_token(secret).has_value());
}

TEST(Auth, TokenTtlUsesTheClock)
{
    auto [app, key] = auth->create_app("Main", true);
    User u = add_user(app.id, "ada@example.org");
    now = 5'000'000;
    auto token = auth->issue_token(u, 30 * 24 * 3600).first;
    LONGS_EQUAL(5'000'000, token.created_at);
    LONGS_EQUAL(5'000'000 + 30LL * 24 * 3600 * 1000, token.expires_at);
}

// ---- Authorization header --------------------------------------------------

TEST_GROUP(Bearer){};

TEST(Bearer, ExtractsCredential)
{
    auto v = Auth::bearer("Bearer zt_abc");
    CHECK(v.has_value());
    STRCMP_EQUAL("zt_abc", v->c_str());
}

TEST(Bearer, SchemeIsCaseInsensitive)
{
    for (const char* h : {"bearer zt_abc", "BEARER zt_abc", "BeArEr zt_abc"}) {
        auto v = Auth::bearer(h);
        CHECK_TEXT(v.has_value(), h);
        STRCMP_EQUAL("zt_abc", v->c_str());
    }
}

TEST(Bearer, CredentialIsKeptVerbatim)
{
    auto v = Auth::bearer("Bearer AbC-_123");
    CHECK(v.has_value());
    STRCMP_EQUAL("AbC-_123", v->c_str());
}

TEST(Bearer, SpacesAroundAreTrimmed)
{
    for (const char* h :
         {"  Bearer zt_abc", "Bearer    zt_abc", "Bearer zt_abc   ", "   Bearer   zt_abc   "}) {
        auto v = Auth::bearer(h);
        CHECK_TEXT(v.has_value(), h);
        STRCMP_EQUAL_TEXT("zt_abc", v->c_str(), h);
    }
}

TEST(Bearer, MissingOrOtherSchemeIsRefused)
{
    CHECK_FALSE(Auth::bearer(nullptr).has_value());
    CHECK_FALSE(Auth::bearer("").has_value());
    CHECK_FALSE(Auth::bearer("   ").has_value());
    CHECK_FALSE(Auth::bearer("Basic x").has_value());
    CHECK_FALSE(Auth::bearer("Basic dXNlcjpwYXNz").has_value());
    CHECK_FALSE(Auth::bearer("zt_abc").has_value());
    CHECK_FALSE(Auth::bearer("Token zt_abc").has_value());
    CHECK_FALSE(Auth::bearer("Bearerzt_abc").has_value());
    CHECK_FALSE(Auth::bearer("Bear zt_abc").has_value());
}

TEST(Bearer, EmptyCredentialIsRefused)
{
    CHECK_FALSE(Auth::bearer("Bearer").has_value());
    CHECK_FALSE(Auth::bearer("Bearer ").has_value());
    CHECK_FALSE(Auth::bearer("Bearer      ").has_value());
    CHECK_FALSE(Auth::bearer("  bearer   ").has_value());
}

TEST(Bearer, SchemeMustBeFollowedBySpace)
{
    // RFC 9110 separates scheme and credentials with SP.
    CHECK_FALSE(Auth::bearer("Bearer\tzt_abc").has_value());
    CHECK_FALSE(Auth::bearer("Bearer,zt_abc").has_value());
}

TEST(Bearer, OverlongCredentialIsRefused)
{
    std::string ok = "Bearer " + std::string(512, 'a');
    CHECK(Auth::bearer(ok.c_str()).has_value());
    std::string too_long = "Bearer " + std::string(513, 'a');
    CHECK_FALSE(Auth::bearer(too_long.c_str()).has_value());
}

TEST(Bearer, RoundTripWithIssuedSecret)
{
    std::string secret = random_secret("zt_");
    std::string header = "Bearer " + secret;
    auto v = Auth::bearer(header.c_str());
    CHECK(v.has_value());
    STRCMP_EQUAL(secret.c_str(), v->c_str());
}
