// The server-to-server API under /api/v1/admin over real HTTP: the app's
// users and their access tokens, authenticated with the app's API key and
// scoped to its app.
#include "test_server.h"

using namespace zumzi_test;

namespace {

const char* const kUsers = "/api/v1/admin/users";

std::string user_path(const std::string& id, const std::string& rest = {})
{
    return std::string(kUsers) + "/" + id + rest;
}

}  // namespace

TEST_GROUP(Admin)
{
    std::unique_ptr<TestServer> srv;

    void setup() override { srv = std::make_unique<TestServer>(); }
    void teardown() override { srv.reset(); }

    const std::string& key() { return srv->api_key(); }

    std::string create_user(const std::string& body, const std::string& api_key = {})
    {
        Response r = srv->post(kUsers, body, api_key.empty() ? key() : api_key);
        CHECK_STATUS(r, 201);
        return r.str("id");
    }

    long user_count(const std::string& api_key = {})
    {
        Response r = srv->get(kUsers, api_key.empty() ? key() : api_key);
        CHECK_STATUS(r, 200);
        return r.count("users");
    }
};

TEST(Admin, GetApp)
{
    Response app = srv->get("/api/v1/admin/app", key());
    CHECK_STATUS(app, 200);
    STRCMP_EQUAL(srv->default_app().id.c_str(), app.str("id").c_str());
    STRCMP_EQUAL("default", app.str("name").c_str());
    CHECK_TRUE(app.boolean_is("is_default", true));
    CHECK_TRUE(app.num("created_at") > 0);

    const AppKey other = srv->create_app("Other");
    Response b = srv->get("/api/v1/admin/app", other.key);
    CHECK_STATUS(b, 200);
    STRCMP_EQUAL(other.id.c_str(), b.str("id").c_str());
    STRCMP_EQUAL("Other", b.str("name").c_str());
    CHECK_TRUE(b.boolean_is("is_default", false));
}

TEST(Admin, CreateUser)
{
    Response r = srv->post(kUsers,
                           "{\"email\":\" Bob@Example.com\",\"name\":\"Bob\",\"status\":\"Hi\","
                           "\"photo_url\":\"https://example.com/bob.png\"}",
                           key());
    CHECK_STATUS(r, 201);
    CHECK_FALSE(r.str("id").empty());
    STRCMP_EQUAL(user_path(r.str("id")).c_str(), r.header("Location").c_str());
    STRCMP_EQUAL("bob@example.com", r.str("email").c_str());
    CHECK_TRUE(r.is_null("phone"));
    STRCMP_EQUAL("Bob", r.str("name").c_str());
    STRCMP_EQUAL("Hi", r.str("status").c_str());
    STRCMP_EQUAL("https://example.com/bob.png", r.str("photo_url").c_str());

    Response got = srv->get(user_path(r.str("id")), key());
    CHECK_STATUS(got, 200);
    STRCMP_EQUAL(r.str("id").c_str(), got.str("id").c_str());
    STRCMP_EQUAL("bob@example.com", got.str("email").c_str());
    STRCMP_EQUAL("Bob", got.str("name").c_str());

    // By phone, named after the number when no name is given.
    Response phone = srv->post(kUsers, "{\"phone\":\"+49 (30) 1234-5678\"}", key());
    CHECK_STATUS(phone, 201);
    STRCMP_EQUAL("+493012345678", phone.str("phone").c_str());
    CHECK_TRUE(phone.is_null("email"));
    STRCMP_EQUAL("+493012345678", phone.str("name").c_str());

    // A user made here logs in as themself.
    TestUser bob = srv->login("bob@example.com");
    STRCMP_EQUAL(r.str("id").c_str(), bob.id.c_str());
    LONGS_EQUAL(2, user_count());
}

TEST(Admin, DuplicateUserIsRefused)
{
    create_user("{\"email\":\"carol@example.com\",\"phone\":\"+15550100001\"}");
    CHECK_ERROR(srv->post(kUsers, "{\"email\":\"carol@example.com\"}", key()), 409, "EXISTS");
    CHECK_ERROR(srv->post(kUsers, "{\"email\":\"CAROL@example.com \"}", key()), 409, "EXISTS");
    CHECK_ERROR(srv->post(kUsers, "{\"phone\":\"+1 555 010 0001\"}", key()), 409, "EXISTS");
    LONGS_EQUAL(1, user_count());
}

TEST(Admin, CreateUserValidates)
{
    const char* bodies[] = {
        "{}",
        "{\"name\":\"Nobody\"}",
        "{\"email\":\"nope\"}",
        "{\"phone\":\"12\"}",
        "{\"email\":\"dan@example.com\",\"name\":\"\"}",
        "{\"email\":\"dan@example.com\",\"name\":\"a\\u0001\"}",
        "{\"email\":\"dan@example.com\",\"photo_url\":\"ftp://x.example.com/a\"}",
        "{\"email\":7}",
    };
    for (const char* body : bodies)
        CHECK_ERROR(srv->post(kUsers, body, key()), 400, "BADREQUEST");
    LONGS_EQUAL(0, user_count());
}

TEST(Admin, ListUsersPagesWithLimitAndOffset)
{
    std::vector<std::string> ids;
    for (int i = 0; i < 5; i++)
        ids.push_back(create_user("{\"email\":\"user" + std::to_string(i) + "@example.com\"}"));

    Response all = srv->get(kUsers, key());
    CHECK_STATUS(all, 200);
    LONGS_EQUAL(5, all.count("users"));
    LONGS_EQUAL(100, all.num("limit"));
    LONGS_EQUAL(0, all.num("offset"));
    std::vector<std::string> listed;
    for (int i = 0; i < 5; i++)
        listed.push_back(all.str("users." + std::to_string(i) + ".id"));
    for (const std::string& id : ids)
        CHECK_TRUE(all.find("users", "id", id) != "<none>");

    Response page = srv->get(std::string(kUsers) + "?limit=2&offset=1", key());
    CHECK_STATUS(page, 200);
    LONGS_EQUAL(2, page.count("users"));
    LONGS_EQUAL(2, page.num("limit"));
    LONGS_EQUAL(1, page.num("offset"));
    STRCMP_EQUAL(listed[1].c_str(), page.str("users.0.id").c_str());
    STRCMP_EQUAL(listed[2].c_str(), page.str("users.1.id").c_str());

    Response tail = srv->get(std::string(kUsers) + "?limit=10&offset=4", key());
    LONGS_EQUAL(1, tail.count("users"));
    STRCMP_EQUAL(listed[4].c_str(), tail.str("users.0.id").c_str());
    LONGS_EQUAL(0, srv->get(std::string(kUsers) + "?offset=5", key()).count("users"));
    LONGS_EQUAL(1000, srv->get(std::string(kUsers) + "?limit=1000", key()).num("limit"));

    for (const char* query : {"?limit=0", "?limit=-1", "?limit=abc", "?limit=1001",
                              "?offset=-3", "?offset=", "?limit=2x"})
        CHECK_ERROR(srv->get(std::string(kUsers) + query, key()), 400, "BADREQUEST");
}

TEST(Admin, GetUnknownUserIsNotFound)
{
    CHECK_ERROR(srv->get(user_path("u_doesnotexist"), key()), 404, "NOTFOUND");
    CHECK_ERROR(srv->del(user_path("u_doesnotexist"), key()), 404, "NOTFOUND");
    CHECK_ERROR(srv->post(user_path("u_doesnotexist", "/tokens"), "", key()), 404, "NOTFOUND");
    CHECK_ERROR(srv->get(user_path("u_doesnotexist", "/tokens"), key()), 404, "NOTFOUND");
    CHECK_ERROR(srv->del(user_path("u_doesnotexist", "/tokens"), key()), 404, "NOTFOUND");
    CHECK_ERROR(srv->del("/api/v1/admin/tokens/t_doesnotexist", key()), 404, "NOTFOUND");
}

TEST(Admin, DeleteUserRevokesEverything)
{
    TestUser erin = srv->make_user("erin@example.com", "Erin");
    TestUser frank = srv->make_user("frank@example.com");
    Response room = srv->post("/api/v1/rooms", "{\"name\":\"Erin's\"}", erin.token);
    CHECK_STATUS(room, 201);
    CHECK_STATUS(srv->post("/api/v1/rooms/" + room.str("id") + "/join",
                           "{\"pin\":\"" + room.str("participant_pin") + "\"}", frank.token),
                 200);
    CHECK_STATUS(srv->get("/api/v1/profile", erin.token), 200);

    Response deleted = srv->del(user_path(erin.id), key());
    CHECK_STATUS(deleted, 200);
    CHECK_TRUE(deleted.boolean_is("ok", true));

    CHECK_ERROR(srv->get("/api/v1/profile", erin.token), 401, "AUTHFAIL");
    CHECK_ERROR(srv->get(user_path(erin.id), key()), 404, "NOTFOUND");
    CHECK_ERROR(srv->del(user_path(erin.id), key()), 404, "NOTFOUND");
    LONGS_EQUAL(1, user_count());
    // Their rooms went with them.
    CHECK_ERROR(srv->get("/api/v1/rooms/" + room.str("id"), frank.token), 404, "NOTFOUND");
    LONGS_EQUAL(0, srv->get("/api/v1/rooms", frank.token).count("rooms"));
    CHECK_STATUS(srv->get("/api/v1/profile", frank.token), 200);
}

TEST(Admin, IssueTokenWithTtl)
{
    const std::string id = create_user("{\"email\":\"gus@example.com\",\"name\":\"Gus\"}");
    Response t = srv->post(user_path(id, "/tokens"), "{\"ttl\":3600}", key());
    CHECK_STATUS(t, 201);
    STRCMP_CONTAINS("zt_", t.str("token").c_str());
    CHECK_FALSE(t.str("id").empty());
    STRCMP_EQUAL(("/api/v1/admin/tokens/" + t.str("id")).c_str(), t.header("Location").c_str());
    STRCMP_EQUAL(id.c_str(), t.str("user_id").c_str());
    CHECK_TRUE(t.boolean_is("revoked", false));
    LONGS_EQUAL(srv->clock().now(), t.num("created_at"));
    LONGS_EQUAL(t.num("created_at") + 3600 * 1000, t.num("expires_at"));

    Response me = srv->get("/api/v1/profile", t.str("token"));
    CHECK_STATUS(me, 200);
    STRCMP_EQUAL(id.c_str(), me.str("id").c_str());
    STRCMP_EQUAL("Gus", me.str("name").c_str());

    srv->advance_s(3600);
    CHECK_ERROR(srv->get("/api/v1/profile", t.str("token")), 401, "AUTHFAIL");

    // No body, or a body without ttl: the configured lifetime.
    Response plain = srv->post(user_path(id, "/tokens"), "", key());
    CHECK_STATUS(plain, 201);
    LONGS_EQUAL(plain.num("created_at") + int64_t(srv->config().token_ttl) * 1000,
                plain.num("expires_at"));
    Response empty_object = srv->post(user_path(id, "/tokens"), "{}", key());
    CHECK_STATUS(empty_object, 201);
    LONGS_EQUAL(plain.num("expires_at"), empty_object.num("expires_at"));

    // Bounds: one minute to one year.
    CHECK_STATUS(srv->post(user_path(id, "/tokens"), "{\"ttl\":60}", key()), 201);
    CHECK_STATUS(srv->post(user_path(id, "/tokens"), "{\"ttl\":31536000}", key()), 201);
    for (const char* body : {"{\"ttl\":59}", "{\"ttl\":0}", "{\"ttl\":-5}", "{\"ttl\":31536001}",
                             "{\"ttl\":\"3600\"}", "{\"ttl\":null}", "[3600]", "{ttl"}) {
        CHECK_ERROR(srv->post(user_path(id, "/tokens"), body, key()), 400, "BADREQUEST");
    }
    Response tokens = srv->get(user_path(id, "/tokens"), key());
    LONGS_EQUAL(5, tokens.count("tokens"));
}

TEST(Admin, ListRevokeOneAndRevokeAllTokens)
{
    const std::string id = create_user("{\"email\":\"hal@example.com\"}");
    std::vector<Response> issued;
    for (int i = 0; i < 3; i++) {
        issued.push_back(srv->post(user_path(id, "/tokens"), "", key()));
        CHECK_STATUS(issued.back(), 201);
    }
    Response list = srv->get(user_path(id, "/tokens"), key());
    CHECK_STATUS(list, 200);
    LONGS_EQUAL(3, list.count("tokens"));
    for (const Response& t : issued) {
        const std::string entry = list.find("tokens", "id", t.str("id"));
        CHECK_TRUE(list.boolean_is(entry + ".revoked", false));
        // Secrets are shown once, never listed.
        CHECK_FALSE(list.has(entry + ".token"));
    }
    CHECK_TRUE(list.body.find(issued[0].str("token")) == std::string::npos);

    // Revoke one.
    Response revoked = srv->del("/api/v1/admin/tokens/" + issued[0].str("id"), key());
    CHECK_STATUS(revoked, 200);
    CHECK_TRUE(revoked.boolean_is("ok", true));
    CHECK_ERROR(srv->get("/api/v1/profile", issued[0].str("token")), 401, "AUTHFAIL");
    CHECK_STATUS(srv->get("/api/v1/profile", issued[1].str("token")), 200);
    CHECK_ERROR(srv->del("/api/v1/admin/tokens/" + issued[0].str("id"), key()), 404, "NOTFOUND");
    list = srv->get(user_path(id, "/tokens"), key());
    CHECK_TRUE(list.boolean_is(list.find("tokens", "id", issued[0].str("id")) + ".revoked", true));

    // Revoke the rest.
    Response all = srv->del(user_path(id, "/tokens"), key());
    CHECK_STATUS(all, 200);
    LONGS_EQUAL(2, all.num("revoked"));
    for (const Response& t : issued)
        CHECK_ERROR(srv->get("/api/v1/profile", t.str("token")), 401, "AUTHFAIL");
    LONGS_EQUAL(0, srv->del(user_path(id, "/tokens"), key()).num("revoked"));

    // The user is still there and may get a new token.
    Response fresh = srv->post(user_path(id, "/tokens"), "", key());
    CHECK_STATUS(fresh, 201);
    CHECK_STATUS(srv->get("/api/v1/profile", fresh.str("token")), 200);
}

TEST(Admin, MissingOrWrongApiKeyIsRefused)
{
    create_user("{\"email\":\"ian@example.com\"}");
    const std::string bad_keys[] = {"", "zk_wrong", key() + "x", key().substr(0, key().size() - 1)};
    for (const std::string& bad : bad_keys) {
        CHECK_ERROR(srv->get("/api/v1/admin/app", bad), 401, "AUTHFAIL");
        CHECK_ERROR(srv->get(kUsers, bad), 401, "AUTHFAIL");
        CHECK_ERROR(srv->post(kUsers, "{\"email\":\"jo@example.com\"}", bad), 401, "AUTHFAIL");
    }
    RequestOptions basic;
    basic.send_body = false;
    basic.headers = {{"Authorization", "Basic " + key()}};
    CHECK_ERROR(srv->request("GET", kUsers, {}, {}, basic), 401, "AUTHFAIL");
    basic.headers = {{"Authorization", key()}};
    CHECK_ERROR(srv->request("GET", kUsers, {}, {}, basic), 401, "AUTHFAIL");
    // The scheme is case-insensitive, as HTTP says.
    basic.headers = {{"Authorization", "bearer " + key()}};
    CHECK_STATUS(srv->request("GET", kUsers, {}, {}, basic), 200);
    LONGS_EQUAL(1, user_count());
}

TEST(Admin, UserTokensAndApiKeysAreNotInterchangeable)
{
    TestUser kay = srv->make_user("kay@example.com");
    CHECK_STATUS(srv->get("/api/v1/profile", kay.token), 200);

    // A user's access token is no API key...
    CHECK_ERROR(srv->get("/api/v1/admin/app", kay.token), 401, "AUTHFAIL");
    CHECK_ERROR(srv->get(kUsers, kay.token), 401, "AUTHFAIL");
    CHECK_ERROR(srv->post(kUsers, "{\"email\":\"evil@example.com\"}", kay.token), 401,
                "AUTHFAIL");
    CHECK_ERROR(srv->post(user_path(kay.id, "/tokens"), "", kay.token), 401, "AUTHFAIL");
    CHECK_ERROR(srv->del(user_path(kay.id), kay.token), 401, "AUTHFAIL");

    // ...and an API key is no access token.
    CHECK_ERROR(srv->get("/api/v1/profile", key()), 401, "AUTHFAIL");
    CHECK_ERROR(srv->get("/api/v1/rooms", key()), 401, "AUTHFAIL");
    CHECK_ERROR(srv->post("/api/v1/rooms", "{\"name\":\"x\"}", key()), 401, "AUTHFAIL");
    CHECK_ERROR(srv->post("/api/v1/logout", "", key()), 401, "AUTHFAIL");

    LONGS_EQUAL(1, user_count());
    CHECK_STATUS(srv->get(user_path(kay.id), key()), 200);
    LONGS_EQUAL(1, srv->get(user_path(kay.id, "/tokens"), key()).count("tokens"));
}

TEST(Admin, AnAppsKeyCannotSeeOrTouchAnotherAppsUsers)
{
    const AppKey b = srv->create_app("b");
    TestUser lou = srv->make_user("lou@example.com", "Lou");
    Response lou_token = srv->get(user_path(lou.id, "/tokens"), key());
    const std::string token_id = lou_token.str("tokens.0.id");

    CHECK_ERROR(srv->get(user_path(lou.id), b.key), 404, "NOTFOUND");
    CHECK_ERROR(srv->del(user_path(lou.id), b.key), 404, "NOTFOUND");
    CHECK_ERROR(srv->post(user_path(lou.id, "/tokens"), "", b.key), 404, "NOTFOUND");
    CHECK_ERROR(srv->get(user_path(lou.id, "/tokens"), b.key), 404, "NOTFOUND");
    CHECK_ERROR(srv->del(user_path(lou.id, "/tokens"), b.key), 404, "NOTFOUND");
    CHECK_ERROR(srv->del("/api/v1/admin/tokens/" + token_id, b.key), 404, "NOTFOUND");
    LONGS_EQUAL(0, user_count(b.key));

    // Nothing happened to Lou.
    CHECK_STATUS(srv->get(user_path(lou.id), key()), 200);
    CHECK_STATUS(srv->get("/api/v1/profile", lou.token), 200);
    Response tokens = srv->get(user_path(lou.id, "/tokens"), key());
    LONGS_EQUAL(1, tokens.count("tokens"));
    CHECK_TRUE(tokens.boolean_is("tokens.0.revoked", false));

    // The same address may exist in both apps, as different users.
    Response lou_b = srv->post(kUsers, "{\"email\":\"lou@example.com\"}", b.key);
    CHECK_STATUS(lou_b, 201);
    CHECK_TRUE(lou_b.str("id") != lou.id);
    CHECK_ERROR(srv->get(user_path(lou_b.str("id")), key()), 404, "NOTFOUND");
    LONGS_EQUAL(1, user_count(b.key));
    LONGS_EQUAL(1, user_count());
    Response list_b = srv->get(kUsers, b.key);
    STRCMP_EQUAL(lou_b.str("id").c_str(), list_b.str("users.0.id").c_str());

    // A token of app B's user works, and it belongs to app B.
    Response token_b = srv->post(user_path(lou_b.str("id"), "/tokens"), "", b.key);
    CHECK_STATUS(token_b, 201);
    Response me_b = srv->get("/api/v1/profile", token_b.str("token"));
    STRCMP_EQUAL(lou_b.str("id").c_str(), me_b.str("id").c_str());
    CHECK_ERROR(srv->del("/api/v1/admin/tokens/" + token_b.str("id"), key()), 404, "NOTFOUND");
    CHECK_STATUS(srv->get("/api/v1/profile", token_b.str("token")), 200);
}
