// Bad input of every kind over real HTTP: each gets a clear error and changes
// nothing. Also routing errors, CORS, app namespaces and TLS.
#include <gio/gio.h>

#include "test_server.h"

using namespace zumzi_test;

namespace {

const char* const kRooms = "/api/v1/rooms";

std::string room_path(const std::string& id, const std::string& rest = {})
{
    return std::string(kRooms) + "/" + id + rest;
}

}  // namespace

TEST_GROUP(Errors)
{
    std::unique_ptr<TestServer> srv;

    void teardown() override { srv.reset(); }

    TestServer& start(const TestServer::Configure& configure = {})
    {
        srv = std::make_unique<TestServer>(configure);
        return *srv;
    }

    // The user's rooms, for "nothing was stored" checks.
    long rooms_of(const TestUser& user)
    {
        Response list = srv->get(kRooms, user.token);
        CHECK_STATUS(list, 200);
        return list.count("rooms");
    }

    std::string create_room(const TestUser& owner, const std::string& name = "Room")
    {
        Response r = srv->post(kRooms, "{\"name\":" + json_string(name) + "}", owner.token);
        CHECK_STATUS(r, 201);
        return r.str("id");
    }
};

TEST(Errors, MalformedJsonIsRefusedAndStoresNothing)
{
    start();
    TestUser alice = srv->make_user("alice@example.com");
    const char* bodies[] = {
        "{name:",
        "{\"name\": \"x\"",
        "{\"name\":}",
        "not json at all",
        "{\"name\":\"a\",}",
        "{\"name\":\"a\"} trailing",
    };
    for (const char* body : bodies) {
        Response r = srv->post(kRooms, body, alice.token);
        CHECK_ERROR(r, 400, "BADREQUEST");
    }
    LONGS_EQUAL(0, rooms_of(alice));
}

TEST(Errors, JsonThatIsNotAnObjectIsRefused)
{
    start();
    TestUser alice = srv->make_user("alice@example.com");
    for (const char* body : {"[1,2]", "[]", "\"room\"", "42", "null", "true"}) {
        CHECK_ERROR(srv->post(kRooms, body, alice.token), 400, "BADREQUEST");
        CHECK_ERROR(srv->post("/api/v1/login", body), 400, "BADREQUEST");
    }
    LONGS_EQUAL(0, rooms_of(alice));
    LONGS_EQUAL(0, srv->delivery().count());
}

TEST(Errors, WrongTypesAreRefusedAndChangeNothing)
{
    start();
    TestUser alice = srv->make_user("alice@example.com", "Alice");
    TestUser bob = srv->make_user("bob@example.com", "Bob");

    // Room names and presets must be strings.
    for (const char* body : {"{\"name\":5}", "{\"name\":null}", "{\"name\":[\"a\"]}",
                             "{\"name\":{\"x\":1}}", "{\"name\":true}",
                             "{\"name\":\"ok\",\"preset\":3}"}) {
        CHECK_ERROR(srv->post(kRooms, body, alice.token), 400, "BADREQUEST");
    }
    LONGS_EQUAL(0, rooms_of(alice));

    Response created = srv->post(kRooms, "{\"name\":\"Standup\"}", alice.token);
    CHECK_STATUS(created, 201);
    const std::string id = created.str("id");
    const std::string pin = created.str("participant_pin");

    // A PIN given as a number does not join.
    CHECK_ERROR(srv->post(room_path(id, "/join"), "{\"pin\":" + pin + "}", bob.token), 400,
                "BADREQUEST");
    CHECK_ERROR(srv->get(room_path(id), bob.token), 403, "NOTMEMBER");

    // 'locked' must be a boolean.
    for (const char* body : {"{\"locked\":\"true\"}", "{\"locked\":1}", "{\"locked\":null}"}) {
        CHECK_ERROR(srv->patch(room_path(id), body, alice.token), 400, "BADREQUEST");
    }
    CHECK_ERROR(srv->patch(room_path(id), "{\"name\":42}", alice.token), 400, "BADREQUEST");
    Response room = srv->get(room_path(id), alice.token);
    CHECK_STATUS(room, 200);
    CHECK_TRUE(room.boolean_is("locked", false));
    STRCMP_EQUAL("Standup", room.str("name").c_str());

    // Member permissions must be an array of strings.
    CHECK_STATUS(srv->post(room_path(id, "/join"), "{\"pin\":\"" + pin + "\"}", bob.token), 200);
    for (const char* body : {"{\"permissions\":\"publish\"}", "{\"permissions\":[1]}",
                             "{\"permissions\":[\"publish\",null]}"}) {
        CHECK_ERROR(srv->patch(room_path(id, "/members/" + bob.id), body, alice.token), 400,
                    "BADREQUEST");
    }
    Response members = srv->get(room_path(id, "/members"), alice.token);
    CHECK_STATUS(members, 200);
    const std::string bob_entry = members.find("members", "user_id", bob.id);
    STRCMP_EQUAL("publisher", members.str(bob_entry + ".role").c_str());
    CHECK_TRUE(members.contains_string(bob_entry + ".permissions", "publish"));

    // Login, profile and admin fields.
    CHECK_ERROR(srv->post("/api/v1/login", "{\"email\":5}"), 400, "BADREQUEST");
    CHECK_ERROR(srv->post("/api/v1/login", "{\"phone\":5550100}"), 400, "BADREQUEST");
    CHECK_ERROR(srv->post("/api/v1/login", "{\"email\":\"c@example.com\",\"code\":123456}"), 400,
                "BADREQUEST");
    CHECK_ERROR(srv->put("/api/v1/profile", "{\"name\":5}", alice.token), 400, "BADREQUEST");
    CHECK_ERROR(srv->post("/api/v1/admin/users/" + alice.id + "/tokens", "{\"ttl\":\"3600\"}",
                          srv->api_key()),
                400, "BADREQUEST");
    CHECK_ERROR(srv->post("/api/v1/admin/users/" + alice.id + "/tokens", "{\"ttl\":3600.5}",
                          srv->api_key()),
                400, "BADREQUEST");
    Response profile = srv->get("/api/v1/profile", alice.token);
    STRCMP_EQUAL("Alice", profile.str("name").c_str());
    Response tokens = srv->get("/api/v1/admin/users/" + alice.id + "/tokens", srv->api_key());
    LONGS_EQUAL(1, tokens.count("tokens"));
}

TEST(Errors, MissingFieldsAreRefused)
{
    start();
    TestUser alice = srv->make_user("alice@example.com");
    TestUser bob = srv->make_user("bob@example.com");
    TestUser carol = srv->make_user("carol@example.com");
    Response created = srv->post(kRooms, "{\"name\":\"Room\"}", alice.token);
    CHECK_STATUS(created, 201);
    const std::string id = created.str("id");
    CHECK_STATUS(srv->post(room_path(id, "/join"),
                           "{\"pin\":\"" + created.str("viewer_pin") + "\"}", bob.token),
                 200);

    CHECK_ERROR(srv->post(kRooms, "{}", alice.token), 400, "BADREQUEST");
    CHECK_ERROR(srv->post(kRooms, "{\"preset\":\"hd\"}", alice.token), 400, "BADREQUEST");
    CHECK_ERROR(srv->post("/api/v1/login", "{}"), 400, "BADREQUEST");
    CHECK_ERROR(srv->post("/api/v1/login", "{\"code\":\"123456\"}"), 400, "BADREQUEST");
    CHECK_ERROR(srv->put("/api/v1/profile", "{}", alice.token), 400, "BADREQUEST");
    CHECK_ERROR(srv->patch(room_path(id), "{}", alice.token), 400, "BADREQUEST");
    CHECK_ERROR(srv->post(room_path(id, "/join"), "{}", carol.token), 400, "BADREQUEST");
    CHECK_ERROR(srv->patch(room_path(id, "/members/" + bob.id), "{}", alice.token), 400,
                "BADREQUEST");
    CHECK_ERROR(srv->post("/api/v1/admin/users", "{}", srv->api_key()), 400, "BADREQUEST");
    CHECK_ERROR(srv->post("/api/v1/admin/users", "{\"name\":\"No Address\"}", srv->api_key()),
                400, "BADREQUEST");

    LONGS_EQUAL(1, rooms_of(alice));
    LONGS_EQUAL(0, rooms_of(carol));
    CHECK_ERROR(srv->get(room_path(id), carol.token), 403, "NOTMEMBER");
    Response members = srv->get(room_path(id, "/members"), alice.token);
    LONGS_EQUAL(2, members.count("members"));
    const std::string bob_entry = members.find("members", "user_id", bob.id);
    STRCMP_EQUAL("viewer", members.str(bob_entry + ".role").c_str());
    CHECK_FALSE(members.contains_string(bob_entry + ".permissions", "publish"));
    CHECK_TRUE(members.contains_string(bob_entry + ".permissions", "subscribe"));
    Response users = srv->get("/api/v1/admin/users", srv->api_key());
    LONGS_EQUAL(3, users.count("users"));
    LONGS_EQUAL(0, srv->delivery().count());
}

TEST(Errors, EmptyBodyIsRefused)
{
    start();
    TestUser alice = srv->make_user("alice@example.com");
    const std::string id = create_room(alice);

    CHECK_ERROR(srv->post(kRooms, "", alice.token), 400, "BADREQUEST");
    CHECK_ERROR(srv->post("/api/v1/login", ""), 400, "BADREQUEST");
    CHECK_ERROR(srv->put("/api/v1/profile", "", alice.token), 400, "BADREQUEST");
    CHECK_ERROR(srv->patch(room_path(id), "", alice.token), 400, "BADREQUEST");
    RequestOptions no_body;
    no_body.send_body = false;
    CHECK_ERROR(srv->request("POST", kRooms, {}, alice.token, no_body), 400, "BADREQUEST");
    LONGS_EQUAL(1, rooms_of(alice));
}

TEST(Errors, InvalidUtf8IsRefused)
{
    start();
    TestUser alice = srv->make_user("alice@example.com", "Alice");
    const char* bodies[] = {
        "{\"name\":\"\xff\xfe\"}",
        "{\"name\":\"caf\xc3\"}",
        "{\"name\":\"\xc0\xaf\"}",          // overlong '/'
        "{\"name\":\"\xed\xa0\x80\"}",      // a UTF-16 surrogate
        "{\"name\":\"ok\"}\xe2\x82",
    };
    for (const char* body : bodies) {
        CHECK_ERROR(srv->post(kRooms, body, alice.token), 400, "BADREQUEST");
        CHECK_ERROR(srv->put("/api/v1/profile", body, alice.token), 400, "BADREQUEST");
    }
    LONGS_EQUAL(0, rooms_of(alice));
    STRCMP_EQUAL("Alice", srv->get("/api/v1/profile", alice.token).str("name").c_str());
}

TEST(Errors, OversizedBodyWithContentLengthIs413)
{
    start([](zumzi::Config& c) { c.max_body_bytes = 4096; });
    TestUser alice = srv->make_user("alice@example.com");
    const std::string big = "{\"name\":\"Big\",\"pad\":\"" + std::string(8000, 'x') + "\"}";

    RequestOptions expect;
    expect.expect_continue = true;
    CHECK_ERROR(srv->request("POST", kRooms, big, alice.token, expect), 413, "TOOLARGE");
    CHECK_ERROR(srv->request("POST", "/api/v1/login",
                             "{\"email\":\"a@example.com\",\"pad\":\"" + std::string(5000, ' ') +
                                 "\"}",
                             {}, expect),
                413, "TOOLARGE");
    // Refused before the route is even looked at.
    CHECK_ERROR(srv->request("POST", "/api/v1/nowhere", big, {}, expect), 413, "TOOLARGE");
    CHECK_STATUS(srv->get("/api/v1/health"), 200);
    LONGS_EQUAL(0, rooms_of(alice));
    LONGS_EQUAL(0, srv->delivery().count());

    // Exactly at the limit is fine.
    std::string fits = "{\"name\":\"Fits\"}";
    fits += std::string(4096 - fits.size(), ' ');
    Response ok = srv->post(kRooms, fits, alice.token);
    CHECK_STATUS(ok, 201);
    STRCMP_EQUAL("Fits", ok.str("name").c_str());
    LONGS_EQUAL(1, rooms_of(alice));
}

TEST(Errors, OversizedChunkedBodyIs413)
{
    start([](zumzi::Config& c) { c.max_body_bytes = 4096; });
    TestUser alice = srv->make_user("alice@example.com");
    RequestOptions chunked;
    chunked.chunked = true;

    const std::string big = "{\"name\":\"Big\",\"pad\":\"" + std::string(64 * 1024, 'x') + "\"}";
    CHECK_ERROR(srv->request("POST", kRooms, big, alice.token, chunked), 413, "TOOLARGE");
    LONGS_EQUAL(0, rooms_of(alice));

    // A chunked body within the limit is read as usual.
    Response ok = srv->request("POST", kRooms, "{\"name\":\"Chunked\"}", alice.token, chunked);
    CHECK_STATUS(ok, 201);
    STRCMP_EQUAL("Chunked", ok.str("name").c_str());
    LONGS_EQUAL(1, rooms_of(alice));
}

TEST(Errors, UnknownRouteIs404)
{
    start();
    TestUser alice = srv->make_user("alice@example.com");
    CHECK_ERROR(srv->get("/api/v1/nope"), 404, "NOTFOUND");
    CHECK_ERROR(srv->get("/api/v2/health"), 404, "NOTFOUND");
    CHECK_ERROR(srv->get("/api/v1/rooms/abc/def/ghi", alice.token), 404, "NOTFOUND");
    CHECK_ERROR(srv->post("/api/v1/rooms/abc/nope", "{}", alice.token), 404, "NOTFOUND");
    CHECK_ERROR(srv->get("/nothing/here"), 404, "NOTFOUND");
    CHECK_STATUS(srv->get("/api/v1/health"), 200);
}

TEST(Errors, WrongMethodIs405WithAllow)
{
    start();
    TestUser alice = srv->make_user("alice@example.com");

    Response r = srv->put(kRooms, "{\"name\":\"x\"}", alice.token);
    CHECK_ERROR(r, 405, "BADMETHOD");
    STRCMP_CONTAINS("POST", r.header("Allow").c_str());
    STRCMP_CONTAINS("GET", r.header("Allow").c_str());
    LONGS_EQUAL(0, rooms_of(alice));

    r = srv->del("/api/v1/login");
    CHECK_ERROR(r, 405, "BADMETHOD");
    STRCMP_EQUAL("POST", r.header("Allow").c_str());

    r = srv->post("/api/v1/health", "{}");
    CHECK_ERROR(r, 405, "BADMETHOD");
    STRCMP_EQUAL("GET", r.header("Allow").c_str());

    r = srv->put("/api/v1/rooms/abc", "{}", alice.token);
    CHECK_ERROR(r, 405, "BADMETHOD");
    STRCMP_EQUAL("GET, PATCH, DELETE", r.header("Allow").c_str());

    r = srv->post("/api/v1/profile", "{\"name\":\"x\"}", alice.token);
    CHECK_ERROR(r, 405, "BADMETHOD");
    STRCMP_EQUAL("GET, PUT", r.header("Allow").c_str());
}

TEST(Errors, HeadIsGetWithoutABody)
{
    start();
    RequestOptions head;
    head.send_body = false;
    Response r = srv->request("HEAD", "/api/v1/health", {}, {}, head);
    CHECK_STATUS(r, 200);
    STRCMP_EQUAL("", r.body.c_str());
    STRCMP_CONTAINS("application/json", r.header("Content-Type").c_str());

    Response denied = srv->request("HEAD", "/api/v1/profile", {}, {}, head);
    CHECK_STATUS(denied, 401);
    STRCMP_EQUAL("", denied.body.c_str());
    Response wrong = srv->request("HEAD", "/api/v1/login", {}, {}, head);
    CHECK_STATUS(wrong, 405);
    STRCMP_EQUAL("POST", wrong.header("Allow").c_str());
}

TEST(Errors, CorsPreflightAndHeaders)
{
    start();
    RequestOptions preflight;
    preflight.send_body = false;
    preflight.headers = {{"Origin", "https://app.example.com"},
                         {"Access-Control-Request-Method", "PATCH"},
                         {"Access-Control-Request-Headers", "authorization, content-type"}};
    Response r = srv->request("OPTIONS", "/api/v1/rooms/abc", {}, {}, preflight);
    CHECK_STATUS(r, 204);
    STRCMP_EQUAL("*", r.header("Access-Control-Allow-Origin").c_str());
    STRCMP_CONTAINS("PATCH", r.header("Access-Control-Allow-Methods").c_str());
    STRCMP_CONTAINS("DELETE", r.header("Access-Control-Allow-Methods").c_str());
    STRCMP_CONTAINS("Authorization", r.header("Access-Control-Allow-Headers").c_str());
    STRCMP_CONTAINS("Content-Type", r.header("Access-Control-Allow-Headers").c_str());
    CHECK_FALSE(r.header("Access-Control-Max-Age").empty());

    // Ordinary answers, errors included, carry the CORS headers too.
    Response ok = srv->get("/api/v1/health");
    CHECK_STATUS(ok, 200);
    STRCMP_EQUAL("*", ok.header("Access-Control-Allow-Origin").c_str());
    Response err = srv->get("/api/v1/profile");
    CHECK_ERROR(err, 401, "AUTHFAIL");
    STRCMP_EQUAL("*", err.header("Access-Control-Allow-Origin").c_str());
    STRCMP_CONTAINS("Retry-After", err.header("Access-Control-Expose-Headers").c_str());
}

TEST(Errors, AppsAreSeparateNamespaces)
{
    start();
    const AppKey b = srv->create_app("b");
    TestUser alice_a = srv->login("alice@example.com");
    Response created = srv->post(kRooms, "{\"name\":\"A's room\"}", alice_a.token);
    CHECK_STATUS(created, 201);
    const std::string id = created.str("id");
    const std::string pin = created.str("participant_pin");
    const std::string viewer_pin = created.str("viewer_pin");

    // The same e-mail in app B is another user.
    TestUser alice_b = srv->login("alice@example.com", b.id);
    CHECK_TRUE(alice_b.id != alice_a.id);
    Response profile_b = srv->get("/api/v1/profile", alice_b.token);
    CHECK_STATUS(profile_b, 200);
    STRCMP_EQUAL(alice_b.id.c_str(), profile_b.str("id").c_str());
    STRCMP_EQUAL("alice@example.com", profile_b.str("email").c_str());
    CHECK_STATUS(srv->put("/api/v1/profile", "{\"name\":\"Alice B\"}", alice_b.token), 200);
    STRCMP_EQUAL("alice", srv->get("/api/v1/profile", alice_a.token).str("name").c_str());

    // Nothing of A is visible from B.
    Response list = srv->get(kRooms, alice_b.token);
    CHECK_STATUS(list, 200);
    LONGS_EQUAL(0, list.count("rooms"));
    CHECK_ERROR(srv->get(room_path(id), alice_b.token), 404, "NOTFOUND");
    CHECK_ERROR(srv->post(room_path(id, "/join"), "{\"pin\":\"" + pin + "\"}", alice_b.token),
                404, "NOTFOUND");
    CHECK_ERROR(srv->post(room_path(id, "/join"), "{\"pin\":\"" + viewer_pin + "\"}",
                          alice_b.token),
                404, "NOTFOUND");
    CHECK_ERROR(srv->patch(room_path(id), "{\"name\":\"Taken\"}", alice_b.token), 404,
                "NOTFOUND");
    CHECK_ERROR(srv->patch(room_path(id), "{\"locked\":true}", alice_b.token), 404, "NOTFOUND");
    CHECK_ERROR(srv->del(room_path(id), alice_b.token), 404, "NOTFOUND");
    CHECK_ERROR(srv->get(room_path(id, "/members"), alice_b.token), 404, "NOTFOUND");
    CHECK_ERROR(srv->del(room_path(id, "/members/" + alice_a.id), alice_b.token), 404,
                "NOTFOUND");

    // A's room is as it was.
    Response room = srv->get(room_path(id), alice_a.token);
    CHECK_STATUS(room, 200);
    STRCMP_EQUAL("A's room", room.str("name").c_str());
    CHECK_TRUE(room.boolean_is("locked", false));
    Response members = srv->get(room_path(id, "/members"), alice_a.token);
    LONGS_EQUAL(1, members.count("members"));
    STRCMP_EQUAL(alice_a.id.c_str(), members.str("members.0.user_id").c_str());

    // And B's rooms are invisible from A.
    Response b_room = srv->post(kRooms, "{\"name\":\"B's room\"}", alice_b.token);
    CHECK_STATUS(b_room, 201);
    CHECK_ERROR(srv->get(room_path(b_room.str("id")), alice_a.token), 404, "NOTFOUND");
    Response list_a = srv->get(kRooms, alice_a.token);
    LONGS_EQUAL(1, list_a.count("rooms"));
    STRCMP_EQUAL(id.c_str(), list_a.str("rooms.0.id").c_str());
}

TEST(Errors, LoginCodeOfOneAppDoesNotWorkInAnother)
{
    start();
    const AppKey b = srv->create_app("b");
    Response asked = srv->post("/api/v1/login", "{\"email\":\"carol@example.com\"}");
    CHECK_STATUS(asked, 200);
    auto code = srv->delivery().last_for("carol@example.com");
    CHECK_TRUE(code.has_value());
    STRCMP_EQUAL(srv->default_app().id.c_str(), code->app_id.c_str());

    Response other = srv->post("/api/v1/login", "{\"email\":\"carol@example.com\",\"app\":\"" +
                                                    b.id + "\",\"code\":\"" + code->code +
                                                    "\"}");
    CHECK_ERROR(other, 401, "CODEEXPIRED");
    Response users_b = srv->get("/api/v1/admin/users", b.key);
    LONGS_EQUAL(0, users_b.count("users"));

    // Still good in its own app.
    Response in = srv->post("/api/v1/login",
                            "{\"email\":\"carol@example.com\",\"code\":\"" + code->code + "\"}");
    CHECK_STATUS(in, 200);
    STRCMP_EQUAL(srv->default_app().id.c_str(), in.str("app_id").c_str());

    CHECK_ERROR(srv->post("/api/v1/login", "{\"email\":\"carol@example.com\",\"app\":\"nope\"}"),
                404, "NOTFOUND");
}

TEST(Errors, TlsServesHttps)
{
    std::string openssl_error;
    bool generated = false;
    start([&](zumzi::Config& c) {
        const std::string cert = c.data_dir + "/cert.pem";
        const std::string key = c.data_dir + "/key.pem";
        const char* argv[] = {"openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                              "-subj", "/CN=127.0.0.1", "-days", "1", "-keyout", key.c_str(),
                              "-out", cert.c_str(), nullptr};
        g_autofree char* err = nullptr;
        gint wait_status = 0;
        g_autoptr(GError) error = nullptr;
        const auto flags =
            static_cast<GSpawnFlags>(G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL);
        generated = g_spawn_sync(nullptr, const_cast<char**>(argv), nullptr, flags, nullptr,
                                 nullptr, nullptr, &err, &wait_status, &error) &&
                    g_spawn_check_wait_status(wait_status, nullptr);
        openssl_error = error ? error->message : (err ? err : "");
        c.tls_certificate = cert;
        c.tls_key = key;
    });
    CHECK_TEXT(generated, openssl_error.c_str());
    STRCMP_CONTAINS("https://127.0.0.1:", srv->url().c_str());

    Response health = srv->get("/api/v1/health");
    CHECK_STATUS(health, 200);
    STRCMP_EQUAL("ok", health.str("status").c_str());

    // The rest of the API works over TLS too.
    TestUser alice = srv->make_user("alice@example.com", "Alice");
    Response profile = srv->get("/api/v1/profile", alice.token);
    CHECK_STATUS(profile, 200);
    STRCMP_EQUAL("Alice", profile.str("name").c_str());
}
