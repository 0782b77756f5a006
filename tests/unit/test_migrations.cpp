// Schema migrations applied by Store::open: numbered files, one transaction
// each, a failing file leaves the database at the version before it.
#include <glib.h>
#include <sqlite3.h>

#include <filesystem>
#include <string>

#include "store.h"

// Last: CppUTest redefines `new` for its leak checker.
#include <CppUTest/TestHarness.h>

using namespace zumzi;

namespace {

int count_sql_files(const std::string& dir)
{
    int n = 0;
    for (const auto& entry : std::filesystem::directory_iterator(dir))
        if (entry.path().extension() == ".sql") n++;
    return n;
}

std::string read_file(const std::string& path)
{
    g_autofree char* text = nullptr;
    CHECK_TEXT(g_file_get_contents(path.c_str(), &text, nullptr, nullptr), path.c_str());
    return text ? text : "";
}

void write_file(const std::string& path, const std::string& text)
{
    CHECK_TEXT(g_file_set_contents(path.c_str(), text.c_str(), -1, nullptr), path.c_str());
}

bool contains(const std::string& haystack, const std::string& needle)
{
    return haystack.find(needle) != std::string::npos;
}

// The database seen without the Store: what is really on disk.
class RawDb {
public:
    explicit RawDb(const std::string& path)
    {
        CHECK(sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK);
    }
    ~RawDb() { sqlite3_close(db_); }
    RawDb(const RawDb&) = delete;
    RawDb& operator=(const RawDb&) = delete;

    // The first column of the first row of `sql` as an integer (0 if none).
    int64_t scalar(const std::string& sql)
    {
        sqlite3_stmt* st = nullptr;
        CHECK_TEXT(sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr) == SQLITE_OK,
                   sqlite3_errmsg(db_));
        int64_t v = 0;
        if (sqlite3_step(st) == SQLITE_ROW) v = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        return v;
    }
    void exec(const std::string& sql)
    {
        char* msg = nullptr;
        int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &msg);
        CHECK_TEXT(rc == SQLITE_OK, msg ? msg : "");
        sqlite3_free(msg);
    }
    int user_version() { return static_cast<int>(scalar("PRAGMA user_version")); }
    bool has_table(const std::string& name)
    {
        return scalar("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = '" +
                      name + "'") == 1;
    }

private:
    sqlite3* db_ = nullptr;
};

}  // namespace

TEST_GROUP(Migrations)
{
    std::string dir;
    std::string db_path;
    std::string schema;  // a private schema directory the test can break
    GError* error = nullptr;

    void setup() override
    {
        char* d = g_dir_make_tmp("zumzi-migrations-XXXXXX", nullptr);
        CHECK(d != nullptr);
        dir = d;
        g_free(d);
        db_path = dir + "/zumzi.db";
        schema = dir + "/schema";
        std::filesystem::create_directory(schema);
        write_file(schema + "/0001_init.sql",
                   read_file(std::string(ZUMZI_SCHEMA_DIR) + "/0001_init.sql"));
    }
    void teardown() override
    {
        g_clear_error(&error);
        std::error_code ec;
        std::filesystem::remove_all(dir, ec);
    }

    std::unique_ptr<Store> open(const std::string& schema_dir)
    {
        g_clear_error(&error);
        return Store::open(db_path, schema_dir, &error);
    }
    std::unique_ptr<Store> open_ok(const std::string& schema_dir)
    {
        auto s = open(schema_dir);
        CHECK_TEXT(s != nullptr, error ? error->message : "");
        return s;
    }
    std::string refused(const std::string& schema_dir)
    {
        auto s = open(schema_dir);
        CHECK(s == nullptr);
        CHECK(error != nullptr);
        return error ? error->message : "";
    }
};

TEST(Migrations, FreshDatabaseGetsEveryFile)
{
    const int files = count_sql_files(ZUMZI_SCHEMA_DIR);
    CHECK(files >= 1);
    {
        auto store = open_ok(ZUMZI_SCHEMA_DIR);
        LONGS_EQUAL(files, store->schema_version());
    }
    RawDb raw(db_path);
    LONGS_EQUAL(files, raw.user_version());
    for (const char* table : {"apps", "users", "tokens", "login_codes", "rooms", "room_members"})
        CHECK_TEXT(raw.has_table(table), table);
    // WAL mode is persistent and the store asked for it.
    sqlite3* db = nullptr;
    CHECK(sqlite3_open(db_path.c_str(), &db) == SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    CHECK(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, nullptr) == SQLITE_OK);
    CHECK(sqlite3_step(st) == SQLITE_ROW);
    STRCMP_EQUAL("wal", reinterpret_cast<const char*>(sqlite3_column_text(st, 0)));
    sqlite3_finalize(st);
    sqlite3_close(db);
}

TEST(Migrations, ReopeningIsANoOp)
{
    std::string app_id;
    {
        auto store = open_ok(ZUMZI_SCHEMA_DIR);
        app_id = store->create_app("Keep", "hash", true).id;
    }
    const int version = RawDb(db_path).user_version();
    for (int i = 0; i < 2; i++) {
        auto store = open_ok(ZUMZI_SCHEMA_DIR);
        LONGS_EQUAL(version, store->schema_version());
        auto app = store->find_app(app_id);
        CHECK(app.has_value());
        STRCMP_EQUAL("Keep", app->name.c_str());
        LONGS_EQUAL(1, store->list_apps().size());
    }
}

TEST(Migrations, PrivateSchemaDirStartsAtOne)
{
    auto store = open_ok(schema);
    LONGS_EQUAL(1, store->schema_version());
}

TEST(Migrations, NewFileIsAppliedOnNextOpen)
{
    {
        auto store = open_ok(schema);
        store->create_app("Before", "hash", true);
    }
    write_file(schema + "/0002_extra.sql",
               "CREATE TABLE extra (x INTEGER NOT NULL);\n"
               "INSERT INTO extra VALUES (7);\n");
    {
        auto store = open_ok(schema);
        LONGS_EQUAL(2, store->schema_version());
        CHECK(store->default_app().has_value());
    }
    RawDb raw(db_path);
    LONGS_EQUAL(2, raw.user_version());
    LONGS_EQUAL(7, raw.scalar("SELECT x FROM extra"));
}

TEST(Migrations, BrokenFileLeavesDatabaseAtPreviousVersion)
{
    {
        auto store = open_ok(schema);
        store->create_app("Before", "hash-before", true);
    }
    // The first statement would succeed; the second fails. Neither may stay.
    write_file(schema + "/0002_broken.sql",
               "CREATE TABLE half (x INTEGER);\n"
               "INSERT INTO apps (id, name, api_key_hash, is_default, created_at) "
               "VALUES ('app_intruder', 'Intruder', 'h2', 0, 1);\n"
               "INSERT INTO no_such_table VALUES (1);\n");
    std::string msg = refused(schema);
    CHECK_TEXT(contains(msg, "0002_broken.sql"), msg.c_str());

    {
        RawDb raw(db_path);
        LONGS_EQUAL(1, raw.user_version());
        CHECK_FALSE(raw.has_table("half"));
        LONGS_EQUAL(1, raw.scalar("SELECT count(*) FROM apps"));
        LONGS_EQUAL(1, raw.scalar("SELECT count(*) FROM apps WHERE name = 'Before' AND "
                                  "api_key_hash = 'hash-before' AND is_default = 1"));
        LONGS_EQUAL(0, raw.scalar("SELECT count(*) FROM apps WHERE id = 'app_intruder'"));
    }

    // Trying again fails the same way and still changes nothing.
    msg = refused(schema);
    CHECK_TEXT(contains(msg, "0002_broken.sql"), msg.c_str());
    LONGS_EQUAL(1, RawDb(db_path).user_version());

    // Once the file is fixed it applies on top of the intact data.
    write_file(schema + "/0002_broken.sql", "CREATE TABLE half (x INTEGER);\n");
    auto store = open_ok(schema);
    LONGS_EQUAL(2, store->schema_version());
    CHECK(store->find_app_by_key_hash("hash-before").has_value());
}

TEST(Migrations, BrokenFirstFileLeavesFreshDatabaseEmpty)
{
    g_autofree char* bad = g_build_filename(dir.c_str(), "bad", nullptr);
    std::filesystem::create_directory(bad);
    write_file(std::string(bad) + "/0001_init.sql",
               "CREATE TABLE ok (x INTEGER);\nTHIS IS NOT SQL;\n");
    std::string msg = refused(bad);
    CHECK_TEXT(contains(msg, "0001_init.sql"), msg.c_str());
    RawDb raw(db_path);
    LONGS_EQUAL(0, raw.user_version());
    CHECK_FALSE(raw.has_table("ok"));
}

TEST(Migrations, GapInNumberingIsRefused)
{
    write_file(schema + "/0003_skipped_two.sql", "CREATE TABLE t3 (x INTEGER);\n");
    std::string msg = refused(schema);
    CHECK_TEXT(contains(msg, "0003_skipped_two.sql"), msg.c_str());
    // Nothing was applied, not even 0001.
    RawDb raw(db_path);
    LONGS_EQUAL(0, raw.user_version());
    CHECK_FALSE(raw.has_table("apps"));
    CHECK_FALSE(raw.has_table("t3"));
}

TEST(Migrations, GapAfterExistingVersionIsRefused)
{
    {
        auto store = open_ok(schema);
        store->create_app("Before", "hash", true);
    }
    write_file(schema + "/0003_late.sql", "CREATE TABLE t3 (x INTEGER);\n");
    std::string msg = refused(schema);
    CHECK_TEXT(contains(msg, "0003_late.sql"), msg.c_str());
    RawDb raw(db_path);
    LONGS_EQUAL(1, raw.user_version());
    CHECK_FALSE(raw.has_table("t3"));
    LONGS_EQUAL(1, raw.scalar("SELECT count(*) FROM apps"));
}

TEST(Migrations, BadlyNamedFileIsRefused)
{
    for (const char* name : {"init.sql", "1_init.sql", "00002_x.sql", "0002-x.sql"}) {
        std::string path = schema + "/" + name;
        write_file(path, "SELECT 1;\n");
        std::string msg = refused(schema);
        CHECK_TEXT(contains(msg, name), msg.c_str());
        std::filesystem::remove(path);
    }
    LONGS_EQUAL(0, RawDb(db_path).user_version());
}

TEST(Migrations, OtherFilesAreIgnored)
{
    write_file(schema + "/README.md", "not a migration\n");
    write_file(schema + "/0002_notes.txt", "not a migration either\n");
    auto store = open_ok(schema);
    LONGS_EQUAL(1, store->schema_version());
}

TEST(Migrations, NewerDatabaseIsRefused)
{
    const int files = count_sql_files(ZUMZI_SCHEMA_DIR);
    {
        auto store = open_ok(ZUMZI_SCHEMA_DIR);
        store->create_app("Future", "hash", true);
    }
    RawDb(db_path).exec("PRAGMA user_version = " + std::to_string(files + 1));
    std::string msg = refused(ZUMZI_SCHEMA_DIR);
    CHECK_TEXT(contains(msg, std::to_string(files + 1)), msg.c_str());
    CHECK_TEXT(contains(msg, "newer"), msg.c_str());
    RawDb raw(db_path);
    LONGS_EQUAL(files + 1, raw.user_version());
    LONGS_EQUAL(1, raw.scalar("SELECT count(*) FROM apps"));
}

TEST(Migrations, MissingSchemaDirIsAnError)
{
    std::string msg = refused(dir + "/no-such-dir");
    CHECK_TEXT(contains(msg, "schema"), msg.c_str());
}

TEST(Migrations, UnopenableDatabaseIsAnError)
{
    db_path = dir + "/no-such-dir/zumzi.db";
    std::string msg = refused(schema);
    CHECK_TEXT(contains(msg, db_path), msg.c_str());
}
