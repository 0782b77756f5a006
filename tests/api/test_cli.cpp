// The zumzi-server binary itself, spawned as a child process: flags, config
// errors, the default app's API key on first start, --create-app, and
// refusing a database whose migration fails.
//
// $ZUMZI_SERVER is the binary, $ZUMZI_SCHEMA_DIR the schema migrations.
// A watchdog kills a child that outlives its welcome so a regression fails
// the test instead of hanging it; nothing asserts on time.
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <libsoup/soup.h>
#include <sqlite3.h>

#include <csignal>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <CppUTest/TestHarness.h>

namespace {

const int kWatchdogSeconds = 30;

std::string env_or_empty(const char* name)
{
    const char* v = g_getenv(name);
    return v ? v : "";
}

struct Result {
    bool exited = false;  // exited normally (not by a signal)
    int exit_code = -1;
    int term_signal = 0;
    bool timed_out = false;
    std::string out;
    std::string err;
};

// Called for each line of output; stream 1 is stdout, 2 stderr.
using LineHandler = std::function<void(GSubprocess*, int stream, const std::string& line)>;

struct RunState;

struct Reader {
    RunState* state = nullptr;
    GDataInputStream* in = nullptr;
    int stream = 0;
    bool eof = false;
};

struct RunState {
    GSubprocess* proc = nullptr;
    Result result;
    LineHandler on_line;
    Reader readers[2];
    int readers_open = 0;
    bool waited = false;
};

void read_next(Reader* reader);

void on_line_read(GObject* source, GAsyncResult* res, gpointer data)
{
    auto* reader = static_cast<Reader*>(data);
    gsize length = 0;
    g_autoptr(GError) error = nullptr;
    g_autofree char* line =
        g_data_input_stream_read_line_finish(G_DATA_INPUT_STREAM(source), res, &length, &error);
    if (!line) {
        reader->eof = true;
        reader->state->readers_open--;
        return;
    }
    const std::string text(line, length);
    RunState* state = reader->state;
    (reader->stream == 1 ? state->result.out : state->result.err) += text + "\n";
    if (state->on_line)
        state->on_line(state->proc, reader->stream, text);
    read_next(reader);
}

void read_next(Reader* reader)
{
    g_data_input_stream_read_line_async(reader->in, G_PRIORITY_DEFAULT, nullptr, on_line_read,
                                        reader);
}

void on_waited(GObject*, GAsyncResult*, gpointer data)
{
    static_cast<RunState*>(data)->waited = true;
}

gboolean on_watchdog(gpointer data)
{
    auto* state = static_cast<RunState*>(data);
    state->result.timed_out = true;
    g_subprocess_force_exit(state->proc);
    return G_SOURCE_REMOVE;
}

// Runs the server with `args` until it exits, feeding each output line to
// `on_line` (which may signal the child). With `merge`, stderr goes to `out`.
Result run_server(const std::vector<std::string>& args, const LineHandler& on_line = {},
                  bool merge = false)
{
    Result failed;
    const std::string binary = env_or_empty("ZUMZI_SERVER");
    if (binary.empty()) {
        failed.err = "ZUMZI_SERVER is not set";
        return failed;
    }
    std::vector<const char*> argv{binary.c_str()};
    for (const std::string& a : args)
        argv.push_back(a.c_str());
    argv.push_back(nullptr);

    GMainContext* context = g_main_context_new();
    g_main_context_push_thread_default(context);

    const auto flags = static_cast<GSubprocessFlags>(
        G_SUBPROCESS_FLAGS_STDOUT_PIPE |
        (merge ? G_SUBPROCESS_FLAGS_STDERR_MERGE : G_SUBPROCESS_FLAGS_STDERR_PIPE));
    g_autoptr(GError) error = nullptr;
    g_autoptr(GSubprocess) proc = g_subprocess_newv(argv.data(), flags, &error);
    Result result;
    if (!proc) {
        result.err = std::string("spawn: ") + error->message;
    } else {
        RunState state;
        state.proc = proc;
        state.on_line = on_line;
        g_autoptr(GDataInputStream) out =
            g_data_input_stream_new(g_subprocess_get_stdout_pipe(proc));
        g_autoptr(GDataInputStream) err =
            merge ? nullptr : g_data_input_stream_new(g_subprocess_get_stderr_pipe(proc));
        state.readers[0] = {&state, out, 1};
        read_next(&state.readers[0]);
        state.readers_open = 1;
        if (err) {
            state.readers[1] = {&state, err, 2};
            read_next(&state.readers[1]);
            state.readers_open = 2;
        }
        g_subprocess_wait_async(proc, nullptr, on_waited, &state);

        GSource* watchdog = g_timeout_source_new_seconds(kWatchdogSeconds);
        g_source_set_callback(watchdog, on_watchdog, &state, nullptr);
        g_source_attach(watchdog, context);
        while (state.readers_open > 0 || !state.waited)
            g_main_context_iteration(context, TRUE);
        g_source_destroy(watchdog);
        g_source_unref(watchdog);

        result = state.result;
        result.exited = g_subprocess_get_if_exited(proc);
        if (result.exited)
            result.exit_code = g_subprocess_get_exit_status(proc);
        else if (g_subprocess_get_if_signaled(proc))
            result.term_signal = g_subprocess_get_term_sig(proc);
    }
    while (g_main_context_iteration(context, FALSE)) {
    }
    g_main_context_pop_thread_default(context);
    g_main_context_unref(context);
    return result;
}

std::string describe(const Result& r)
{
    std::string s = "exited=" + std::to_string(r.exited) + " code=" +
                    std::to_string(r.exit_code) + " signal=" + std::to_string(r.term_signal) +
                    (r.timed_out ? " TIMED OUT" : "") + "\n--- stdout:\n" + r.out +
                    "--- stderr:\n" + r.err;
    return s;
}

size_t occurrences(const std::string& haystack, const std::string& needle)
{
    size_t n = 0;
    for (size_t pos = haystack.find(needle); pos != std::string::npos;
         pos = haystack.find(needle, pos + needle.size()))
        n++;
    return n;
}

// The API key printed in `out` ("    zk_..."), or "".
std::string printed_key(const std::string& out)
{
    const size_t pos = out.find("zk_");
    if (pos == std::string::npos)
        return "";
    const size_t end = out.find_first_of(" \n", pos);
    return out.substr(pos, end == std::string::npos ? std::string::npos : end - pos);
}

// The base URL in "listening on http://127.0.0.1:PORT/ (...)".
std::string listening_url(const std::string& line)
{
    const std::string marker = "listening on ";
    const size_t pos = line.find(marker);
    if (pos == std::string::npos)
        return "";
    const size_t start = pos + marker.size();
    std::string url = line.substr(start, line.find(' ', start) - start);
    if (!url.empty() && url.back() == '/')
        url.pop_back();
    return url;
}

// A SIGTERM as soon as the server says it is listening; `each` sees the line first.
LineHandler stop_when_listening(std::function<void(const std::string&)> each = {})
{
    return [each](GSubprocess* proc, int, const std::string& line) {
        if (line.find("listening on") == std::string::npos)
            return;
        if (each)
            each(line);
        g_subprocess_send_signal(proc, SIGTERM);
    };
}

int schema_version_of(const std::string& db_path, bool* has_half_done = nullptr)
{
    sqlite3* db = nullptr;
    if (sqlite3_open_v2(db_path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
        sqlite3_close(db);
        return -1;
    }
    int version = -1;
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, nullptr) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    if (has_half_done) {
        *has_half_done = false;
        if (sqlite3_prepare_v2(db,
                               "SELECT 1 FROM sqlite_master WHERE name = 'half_done' "
                               "OR name = 'also_half_done'",
                               -1, &st, nullptr) == SQLITE_OK &&
            sqlite3_step(st) == SQLITE_ROW)
            *has_half_done = true;
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    return version;
}

// GET `url` with a bearer credential; returns the status and fills `body`.
int http_get(const std::string& url, const std::string& bearer, std::string* body)
{
    g_autoptr(SoupSession) session = soup_session_new_with_options("timeout", 20, nullptr);
    soup_session_set_proxy_resolver(session, nullptr);
    g_autoptr(SoupMessage) msg = soup_message_new("GET", url.c_str());
    if (!msg)
        return -1;
    soup_message_headers_replace(soup_message_get_request_headers(msg), "Authorization",
                                 ("Bearer " + bearer).c_str());
    g_autoptr(GBytes) bytes = soup_session_send_and_read(session, msg, nullptr, nullptr);
    if (!bytes)
        return -1;
    gsize size = 0;
    const char* data = static_cast<const char*>(g_bytes_get_data(bytes, &size));
    body->assign(data ? data : "", size);
    return static_cast<int>(soup_message_get_status(msg));
}

}  // namespace

TEST_GROUP(Cli)
{
    std::string tmp;
    std::string schema_dir;

    void setup() override
    {
        g_autofree char* dir = g_dir_make_tmp("zumzi-cli-XXXXXX", nullptr);
        CHECK_TRUE_TEXT(dir != nullptr, "cannot make a temporary directory");
        tmp = dir;
        schema_dir = env_or_empty("ZUMZI_SCHEMA_DIR");
        CHECK_FALSE_TEXT(env_or_empty("ZUMZI_SERVER").empty(), "ZUMZI_SERVER is not set");
        CHECK_FALSE_TEXT(schema_dir.empty(), "ZUMZI_SCHEMA_DIR is not set");
    }

    void teardown() override
    {
        std::error_code ec;
        if (!tmp.empty())
            std::filesystem::remove_all(tmp, ec);
    }

    std::string path(const std::string& name) { return tmp + "/" + name; }

    std::string write(const std::string& name, const std::string& text)
    {
        const std::string p = path(name);
        CHECK_TRUE_TEXT(g_file_set_contents(p.c_str(), text.c_str(), -1, nullptr), p.c_str());
        return p;
    }

    std::vector<std::string> base_args(const std::string& data = "data")
    {
        return {"--data-dir", path(data), "--port", "0", "--schema-dir", schema_dir};
    }

    // Runs with an INI file; the server must refuse it.
    Result run_with_config(const std::string& ini)
    {
        std::vector<std::string> args = base_args();
        args.push_back("--config");
        args.push_back(write("zumzi.ini", ini));
        return run_server(args, stop_when_listening());
    }
};

TEST(Cli, Version)
{
    Result r = run_server({"--version"});
    CHECK_TEXT(r.exited && r.exit_code == 0, describe(r).c_str());
    STRCMP_EQUAL("zumzi-server " ZUMZI_VERSION "\n", r.out.c_str());
}

TEST(Cli, UnknownConfigKeyIsNamed)
{
    Result r = run_with_config("[server]\nport = 0\nbogus_key = 1\n");
    CHECK_TEXT(r.exited && r.exit_code != 0, describe(r).c_str());
    STRCMP_CONTAINS("bogus_key", r.err.c_str());
    CHECK_TEXT(r.out.find("listening on") == std::string::npos, describe(r).c_str());
    // Refused before anything was written.
    CHECK_FALSE(g_file_test(path("data").c_str(), G_FILE_TEST_EXISTS));

    Result group = run_with_config("[nosuchgroup]\nthing = 1\n");
    CHECK_TEXT(group.exited && group.exit_code != 0, describe(group).c_str());
    STRCMP_CONTAINS("nosuchgroup", group.err.c_str());
}

TEST(Cli, BadConfigValueIsNamed)
{
    struct Case {
        const char* ini;
        const char* named;
    };
    const Case cases[] = {
        {"[login]\ncode_ttl = soon\n", "code_ttl"},
        {"[login]\ndemo = maybe\n", "demo"},
        {"[server]\nport = 70000\n", "port"},
        {"[server]\nmax_body_bytes = 10\n", "max_body_bytes"},
        {"[login]\ncode_max_attempts = 0\n", "code_max_attempts"},
        {"[server]\nlisten = localhost\n", "listen"},
        {"[server]\ntls_certificate = /nonexistent/cert.pem\n", "tls_key"},
    };
    for (const Case& c : cases) {
        Result r = run_with_config(c.ini);
        CHECK_TEXT(r.exited && r.exit_code != 0, (c.ini + describe(r)).c_str());
        STRCMP_CONTAINS(c.named, r.err.c_str());
        CHECK_TEXT(r.out.find("listening on") == std::string::npos, describe(r).c_str());
    }
}

TEST(Cli, BadFlagsAreRefused)
{
    std::vector<std::string> args = base_args();
    args.push_back("--no-such-flag");
    Result unknown = run_server(args, stop_when_listening());
    CHECK_TEXT(unknown.exited && unknown.exit_code != 0, describe(unknown).c_str());
    STRCMP_CONTAINS("no-such-flag", unknown.err.c_str());

    Result port = run_server({"--data-dir", path("data"), "--port", "70000"},
                             stop_when_listening());
    CHECK_TEXT(port.exited && port.exit_code != 0, describe(port).c_str());
    STRCMP_CONTAINS("port", port.err.c_str());

    Result extra = run_server({"--data-dir", path("data"), "--port", "0", "stray"},
                              stop_when_listening());
    CHECK_TEXT(extra.exited && extra.exit_code != 0, describe(extra).c_str());
    STRCMP_CONTAINS("stray", extra.err.c_str());
}

TEST(Cli, FirstStartPrintsTheApiKeyOnce)
{
    std::string first_url;
    Result first = run_server(base_args(), stop_when_listening([&](const std::string& line) {
                                  first_url = listening_url(line);
                              }),
                              true);
    CHECK_TEXT(first.exited && first.exit_code == 0, describe(first).c_str());
    STRCMP_CONTAINS("listening on http://127.0.0.1:", first.out.c_str());
    LONGS_EQUAL_TEXT(1, occurrences(first.out, "zk_"), first.out.c_str());
    const std::string key = printed_key(first.out);
    CHECK_TEXT(key.size() > 10, first.out.c_str());
    CHECK_FALSE(first_url.empty());
    CHECK_TRUE(g_file_test(path("data/zumzi.db").c_str(), G_FILE_TEST_EXISTS));

    // Started again on the same data: no new key, and the printed one is the
    // default app's real key.
    int status = 0;
    std::string body;
    Result second = run_server(base_args(), stop_when_listening([&](const std::string& line) {
                                   status = http_get(listening_url(line) + "/api/v1/admin/app",
                                                     key, &body);
                               }),
                               true);
    CHECK_TEXT(second.exited && second.exit_code == 0, describe(second).c_str());
    STRCMP_CONTAINS("listening on", second.out.c_str());
    LONGS_EQUAL_TEXT(0, occurrences(second.out, "zk_"), second.out.c_str());
    LONGS_EQUAL_TEXT(200, status, body.c_str());
    STRCMP_CONTAINS("\"is_default\":true", body.c_str());
}

TEST(Cli, CreateAppPrintsAKeyAndExits)
{
    Result r = run_server({"--data-dir", path("data"), "--schema-dir", schema_dir, "--port", "0",
                           "--create-app", "Billing"},
                          stop_when_listening());
    CHECK_TEXT(r.exited && r.exit_code == 0, describe(r).c_str());
    STRCMP_CONTAINS("App 'Billing'", r.out.c_str());
    LONGS_EQUAL_TEXT(1, occurrences(r.out, "zk_"), r.out.c_str());
    CHECK_TEXT(r.out.find("listening on") == std::string::npos, describe(r).c_str());
    const std::string billing_key = printed_key(r.out);

    Result again = run_server({"--data-dir", path("data"), "--schema-dir", schema_dir, "--port",
                               "0", "--create-app", "Billing"},
                              stop_when_listening());
    CHECK_TEXT(again.exited && again.exit_code == 0, describe(again).c_str());
    const std::string second_key = printed_key(again.out);
    CHECK_TRUE(second_key.size() > 10);
    CHECK_TRUE(second_key != billing_key);

    // The key works against the running server and names its app.
    int status = 0;
    std::string body;
    Result serve = run_server(base_args(), stop_when_listening([&](const std::string& line) {
                                  status = http_get(listening_url(line) + "/api/v1/admin/app",
                                                    billing_key, &body);
                              }),
                              true);
    CHECK_TEXT(serve.exited && serve.exit_code == 0, describe(serve).c_str());
    LONGS_EQUAL_TEXT(200, status, body.c_str());
    STRCMP_CONTAINS("\"name\":\"Billing\"", body.c_str());
    STRCMP_CONTAINS("\"is_default\":false", body.c_str());
}

TEST(Cli, BrokenMigrationIsRefusedAndLeavesTheDatabaseAtVersion1)
{
    const std::string schema = path("schema");
    CHECK_EQUAL(0, g_mkdir(schema.c_str(), 0700));
    g_autofree char* init = nullptr;
    const std::string init_path = schema_dir + "/0001_init.sql";
    CHECK_TRUE_TEXT(g_file_get_contents(init_path.c_str(), &init, nullptr, nullptr),
                    init_path.c_str());
    write("schema/0001_init.sql", init);
    write("schema/0002_broken.sql",
          "CREATE TABLE half_done (id INTEGER PRIMARY KEY);\n"
          "ALTER TABLE users ADD COLUMN nickname TEXT;\n"
          "THIS IS NOT SQL;\n"
          "CREATE TABLE also_half_done (id INTEGER);\n");

    std::vector<std::string> args = {"--data-dir", path("data"), "--port", "0",
                                     "--schema-dir", schema};
    Result r = run_server(args, stop_when_listening());
    CHECK_TEXT(r.exited && r.exit_code != 0, describe(r).c_str());
    STRCMP_CONTAINS("0002_broken.sql", r.err.c_str());
    CHECK_TEXT(r.out.find("listening on") == std::string::npos, describe(r).c_str());
    CHECK_TEXT(r.out.find("zk_") == std::string::npos, describe(r).c_str());

    bool half_done = true;
    LONGS_EQUAL(1, schema_version_of(path("data/zumzi.db"), &half_done));
    CHECK_FALSE_TEXT(half_done, "a statement of the failed migration was kept");

    // Still refused on the next start, and still at version 1.
    Result again = run_server(args, stop_when_listening());
    CHECK_TEXT(again.exited && again.exit_code != 0, describe(again).c_str());
    STRCMP_CONTAINS("0002_broken.sql", again.err.c_str());
    LONGS_EQUAL(1, schema_version_of(path("data/zumzi.db"), &half_done));
    CHECK_FALSE(half_done);

    // Once the migration is fixed the same database starts.
    write("schema/0002_broken.sql", "CREATE TABLE fixed (id INTEGER);\n");
    Result fixed = run_server(args, stop_when_listening(), true);
    CHECK_TEXT(fixed.exited && fixed.exit_code == 0, describe(fixed).c_str());
    STRCMP_CONTAINS("listening on", fixed.out.c_str());
    LONGS_EQUAL(2, schema_version_of(path("data/zumzi.db")));
}
