// config: the INI file and the cross-field checks.
#include <glib.h>
#include <glib/gstdio.h>

#include <string>

#include "config.h"

// Last: CppUTest redefines `new` for its leak checker.
#include <CppUTest/TestHarness.h>

using namespace zumzi;

TEST_GROUP(Config)
{
    char* dir = nullptr;
    std::string path;
    GError* error = nullptr;

    void setup() override
    {
        dir = g_dir_make_tmp("zumzi-config-XXXXXX", nullptr);
        CHECK(dir != nullptr);
        g_autofree char* p = g_build_filename(dir, "zumzi.ini", nullptr);
        path = p;
    }
    void teardown() override
    {
        g_clear_error(&error);
        g_remove(path.c_str());
        g_rmdir(dir);
        g_free(dir);
    }

    void write(const std::string& text)
    {
        CHECK(g_file_set_contents(path.c_str(), text.c_str(), -1, nullptr));
    }

    // Loads `text` into a default Config and expects it to be refused; returns
    // the message.
    std::string refused(const std::string& text)
    {
        write(text);
        Config config;
        g_clear_error(&error);
        CHECK_FALSE(config_load_file(config, path.c_str(), &error));
        CHECK(error != nullptr);
        return error ? error->message : "";
    }

    bool contains(const std::string& haystack, const std::string& needle)
    {
        return haystack.find(needle) != std::string::npos;
    }
};

TEST(Config, DefaultsAreValid)
{
    Config config;
    CHECK(config_validate(config, &error));
    CHECK_FALSE(config.tls_enabled());
    CHECK_FALSE(config.demo);
    STRCMP_EQUAL("127.0.0.1", config.listen.c_str());
    LONGS_EQUAL(8080, config.port);
}

TEST(Config, LoadsEveryKey)
{
    write(
        "[server]\n"
        "listen = 0.0.0.0\n"
        "port = 9443\n"
        "data_dir = /srv/zumzi\n"
        "max_body_bytes = 2048\n"
        "tls_certificate = /etc/zumzi/cert.pem\n"
        "tls_key = /etc/zumzi/key.pem\n"
        "schema_dir = /usr/share/zumzi/schema\n"
        "web_dir = /usr/share/zumzi/web\n"
        "vendor_dir = /usr/share/zumzi/node_modules\n"
        "[login]\n"
        "demo = true\n"
        "code_ttl = 120\n"
        "code_resend = 30\n"
        "code_max_attempts = 3\n"
        "rate_window = 600\n"
        "sends_per_address = 4\n"
        "sends_per_ip = 11\n"
        "verifies_per_ip = 12\n"
        "token_ttl = 3600\n"
        "[rooms]\n"
        "pin_failures_per_user = 7\n"
        "[media]\n"
        "peer_timeout = 9\n"
        "connect_timeout = 6\n");
    Config c;
    CHECK_TEXT(config_load_file(c, path.c_str(), &error), error ? error->message : "");
    STRCMP_EQUAL("0.0.0.0", c.listen.c_str());
    LONGS_EQUAL(9443, c.port);
    STRCMP_EQUAL("/srv/zumzi", c.data_dir.c_str());
    LONGS_EQUAL(2048, c.max_body_bytes);
    STRCMP_EQUAL("/etc/zumzi/cert.pem", c.tls_certificate.c_str());
    STRCMP_EQUAL("/etc/zumzi/key.pem", c.tls_key.c_str());
    STRCMP_EQUAL("/usr/share/zumzi/schema", c.schema_dir.c_str());
    STRCMP_EQUAL("/usr/share/zumzi/web", c.web_dir.c_str());
    STRCMP_EQUAL("/usr/share/zumzi/node_modules", c.vendor_dir.c_str());
    CHECK(c.demo);
    LONGS_EQUAL(120, c.code_ttl);
    LONGS_EQUAL(30, c.code_resend);
    LONGS_EQUAL(3, c.code_max_attempts);
    LONGS_EQUAL(600, c.rate_window);
    LONGS_EQUAL(4, c.sends_per_address);
    LONGS_EQUAL(11, c.sends_per_ip);
    LONGS_EQUAL(12, c.verifies_per_ip);
    LONGS_EQUAL(3600, c.token_ttl);
    LONGS_EQUAL(7, c.pin_failures_per_user);
    LONGS_EQUAL(9, c.peer_timeout);
    LONGS_EQUAL(6, c.connect_timeout);
    CHECK(c.tls_enabled());
    CHECK(config_validate(c, &error));
    g_autofree char* db = g_build_filename("/srv/zumzi", "zumzi.db", nullptr);
    STRCMP_EQUAL(db, c.database_path().c_str());
}

TEST(Config, AbsentKeysKeepTheirValue)
{
    write("[server]\nport = 1234\n");
    Config c;
    c.listen = "::";
    c.demo = true;
    CHECK(config_load_file(c, path.c_str(), &error));
    LONGS_EQUAL(1234, c.port);
    STRCMP_EQUAL("::", c.listen.c_str());
    CHECK(c.demo);
    LONGS_EQUAL(300, c.code_ttl);
}

TEST(Config, EmptyFileIsFine)
{
    write("# nothing here\n");
    Config c;
    CHECK(config_load_file(c, path.c_str(), &error));
    LONGS_EQUAL(8080, c.port);
}

TEST(Config, ExampleConfigLoadsAndValidates)
{
    // The shipped example must stay in step with the keys the server knows.
    g_autofree char* example =
        g_build_filename(ZUMZI_SCHEMA_DIR, "..", "zumzi.example.ini", nullptr);
    Config c;
    CHECK_TEXT(config_load_file(c, example, &error), error ? error->message : "");
    CHECK(config_validate(c, &error));
    CHECK(c.demo);
}

TEST(Config, UnknownKeyIsRefusedByName)
{
    std::string msg = refused("[server]\nport = 8080\nprot = 8081\n");
    CHECK_TEXT(contains(msg, "prot"), msg.c_str());
    CHECK_TEXT(contains(msg, "server"), msg.c_str());
    CHECK_TEXT(contains(msg, path), msg.c_str());
}

TEST(Config, KeyInWrongGroupIsRefused)
{
    std::string msg = refused("[login]\nport = 8080\n");
    CHECK_TEXT(contains(msg, "port"), msg.c_str());
    CHECK_TEXT(contains(msg, "login"), msg.c_str());
}

TEST(Config, UnknownGroupIsRefusedNamingIt)
{
    std::string msg = refused("[video]\nbitrate = 1000\n");
    CHECK_TEXT(contains(msg, "unknown group [video]"), msg.c_str());
}

TEST(Config, EmptyUnknownGroupIsRefusedToo)
{
    std::string msg = refused("[server]\nport = 8080\n[sever]\n");
    CHECK_TEXT(contains(msg, "[sever]"), msg.c_str());
}

TEST(Config, BadIntegerIsRefused)
{
    for (const char* v : {"abc", "12x", "0x10", "1.5", "", "99999999999999999999"}) {
        std::string msg = refused(std::string("[server]\nport = ") + v + "\n");
        CHECK_TEXT(contains(msg, "port"), msg.c_str());
        CHECK_TEXT(contains(msg, "integer"), msg.c_str());
    }
}

TEST(Config, OutOfRangeIntegerIsRefused)
{
    std::string msg = refused("[server]\nport = 65536\n");
    CHECK_TEXT(contains(msg, "port"), msg.c_str());
    CHECK_TEXT(contains(msg, "65535"), msg.c_str());
    msg = refused("[server]\nport = -1\n");
    CHECK_TEXT(contains(msg, "port"), msg.c_str());
    msg = refused("[login]\ncode_ttl = 5\n");
    CHECK_TEXT(contains(msg, "code_ttl"), msg.c_str());
    msg = refused("[login]\ncode_max_attempts = 0\n");
    CHECK_TEXT(contains(msg, "code_max_attempts"), msg.c_str());
    msg = refused("[server]\nmax_body_bytes = 100\n");
    CHECK_TEXT(contains(msg, "max_body_bytes"), msg.c_str());
    msg = refused("[media]\nconnect_timeout = 0\n");
    CHECK_TEXT(contains(msg, "connect_timeout"), msg.c_str());
}

TEST(Config, RangeBoundsAreInclusive)
{
    write("[server]\nport = 65535\n[login]\ncode_ttl = 10\ncode_resend = 0\n");
    Config c;
    CHECK_TEXT(config_load_file(c, path.c_str(), &error), error ? error->message : "");
    LONGS_EQUAL(65535, c.port);
    LONGS_EQUAL(10, c.code_ttl);
    LONGS_EQUAL(0, c.code_resend);
}

TEST(Config, BoolValues)
{
    struct {
        const char* text;
        bool value;
    } cases[] = {{"true", true}, {"1", true}, {"false", false}, {"0", false}};
    for (const auto& k : cases) {
        write(std::string("[login]\ndemo = ") + k.text + "\n");
        Config c;
        c.demo = !k.value;
        CHECK_TEXT(config_load_file(c, path.c_str(), &error), k.text);
        CHECK_EQUAL(k.value, c.demo);
    }
}

TEST(Config, BadBoolIsRefused)
{
    for (const char* v : {"yes", "on", "2", ""}) {
        std::string msg = refused(std::string("[login]\ndemo = ") + v + "\n");
        CHECK_TEXT(contains(msg, "demo"), msg.c_str());
        CHECK_TEXT(contains(msg, "true or false"), msg.c_str());
    }
}

TEST(Config, MissingFileIsAnError)
{
    g_autofree char* missing = g_build_filename(dir, "nope.ini", nullptr);
    Config c;
    CHECK_FALSE(config_load_file(c, missing, &error));
    CHECK(error != nullptr);
    CHECK_TEXT(contains(error->message, missing), error->message);
    CHECK(g_error_matches(error, G_FILE_ERROR, G_FILE_ERROR_NOENT));
}

TEST(Config, SyntaxErrorIsAnError)
{
    std::string msg = refused("this is not an ini file\n");
    CHECK_TEXT(contains(msg, path), msg.c_str());
}

TEST(Config, ValidateTlsNeedsBoth)
{
    Config c;
    c.tls_certificate = "/etc/cert.pem";
    CHECK_FALSE(config_validate(c, &error));
    CHECK(error != nullptr);
    CHECK_TEXT(contains(error->message, "tls_key"), error->message);
    g_clear_error(&error);

    c.tls_certificate.clear();
    c.tls_key = "/etc/key.pem";
    CHECK_FALSE(c.tls_enabled());
    CHECK_FALSE(config_validate(c, &error));
    g_clear_error(&error);

    c.tls_certificate = "/etc/cert.pem";
    CHECK(c.tls_enabled());
    CHECK(config_validate(c, &error));
}

TEST(Config, ValidateListenAddress)
{
    Config c;
    for (const char* ok : {"127.0.0.1", "0.0.0.0", "::", "::1", "192.168.1.20"}) {
        c.listen = ok;
        CHECK_TEXT(config_validate(c, &error), ok);
    }
    for (const char* bad : {"", "localhost", "example.org", "256.1.1.1", "1.2.3", "127.0.0.1:80"}) {
        c.listen = bad;
        g_clear_error(&error);
        CHECK_FALSE_TEXT(config_validate(c, &error), bad);
        CHECK(error != nullptr);
        CHECK_TEXT(contains(error->message, "listen"), error->message);
    }
}

TEST(Config, ValidatePortRange)
{
    Config c;
    c.port = 70000;  // flags bypass the file's range check
    CHECK_FALSE(config_validate(c, &error));
    CHECK(error != nullptr);
    CHECK_TEXT(contains(error->message, "70000"), error->message);
    g_clear_error(&error);
    c.port = 0;
    CHECK(config_validate(c, &error));
}

TEST(Config, ValidateDataDirNotEmpty)
{
    Config c;
    c.data_dir = "";
    CHECK_FALSE(config_validate(c, &error));
    CHECK(error != nullptr);
    CHECK_TEXT(contains(error->message, "data_dir"), error->message);
}

TEST(Config, TurnServersAreParsedAndDecoded)
{
    write(
        "[media]\n"
        "stun_server = stun://127.0.0.1:3478\n"
        "turn_servers = turn://alice:s%3Acret@127.0.0.1:3478?transport=tcp , "
        "turns://bob:pw@turn.example.org:5349\n");
    Config config;
    CHECK_TRUE(config_load_file(config, path.c_str(), &error));
    CHECK_TRUE(config_validate(config, &error));
    std::vector<TurnServer> turn;
    CHECK_TRUE(parse_turn_servers(config.turn_servers, turn, &error));
    LONGS_EQUAL(2, turn.size());
    STRCMP_EQUAL("turn", turn[0].scheme.c_str());
    STRCMP_EQUAL("127.0.0.1", turn[0].host.c_str());
    LONGS_EQUAL(3478, turn[0].port);
    STRCMP_EQUAL("tcp", turn[0].transport.c_str());
    STRCMP_EQUAL("alice", turn[0].username.c_str());
    STRCMP_EQUAL("s:cret", turn[0].credential.c_str());
    // webrtcbin gets the URL as written.
    STRCMP_EQUAL("turn://alice:s%3Acret@127.0.0.1:3478?transport=tcp", turn[0].url.c_str());
    STRCMP_EQUAL("turns", turn[1].scheme.c_str());
    STRCMP_EQUAL("turn.example.org", turn[1].host.c_str());
    LONGS_EQUAL(5349, turn[1].port);
    STRCMP_EQUAL("", turn[1].transport.c_str());
    // Empty: none.
    CHECK_TRUE(parse_turn_servers("", turn, &error));
    LONGS_EQUAL(0, turn.size());
}

TEST(Config, BadTurnServersAreRefusedWithoutShowingTheCredential)
{
    const char* bad[] = {
        "stun://u:secretpw@127.0.0.1:3478",  // not TURN
        "turn://127.0.0.1:3478",             // no credentials
        "turn://u@127.0.0.1:3478",           // no password
        "turn://u:secretpw@127.0.0.1",       // no port
        "turn://u:secretpw@:3478",           // no host
        "turn://u:secretpw@127.0.0.1:3478?transport=sctp",
        "turn://u:secretpw@127.0.0.1:3478/path",
        "not a url secretpw",
        "turn://u:secretpw@127.0.0.1:3478, turn://",  // the second one
    };
    for (const char* value : bad) {
        Config config;
        config.turn_servers = value;
        g_clear_error(&error);
        CHECK_FALSE_TEXT(config_validate(config, &error), value);
        CHECK(error != nullptr);
        CHECK_TEXT(contains(error->message, "turn_servers"), error->message);
        CHECK_FALSE_TEXT(contains(error->message, "secretpw"), error->message);
    }
}
