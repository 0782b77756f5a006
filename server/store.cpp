#include "store.h"

#include <gio/gio.h>

#include <algorithm>
#include <cstring>

#include "crypto.h"

namespace zumzi {

// A cached prepared statement, bound positionally and reset when it goes out
// of scope, so no call can leave a statement half-stepped.
class Store::Statement {
public:
    Statement(sqlite3* db, sqlite3_stmt* stmt) : db_(db), stmt_(stmt) {}
    ~Statement()
    {
        sqlite3_reset(stmt_);
        sqlite3_clear_bindings(stmt_);
    }
    Statement(const Statement&) = delete;
    Statement& operator=(const Statement&) = delete;
    Statement(Statement&& other) noexcept : db_(other.db_), stmt_(other.stmt_), index_(other.index_)
    {
        other.stmt_ = nullptr;
    }

    Statement& bind(const std::string& v)
    {
        check(sqlite3_bind_text(stmt_, ++index_, v.data(), static_cast<int>(v.size()),
                                SQLITE_TRANSIENT));
        return *this;
    }
    // Empty strings become NULL: optional columns such as email or phone.
    Statement& bind_or_null(const std::string& v)
    {
        if (v.empty()) {
            check(sqlite3_bind_null(stmt_, ++index_));
            return *this;
        }
        return bind(v);
    }
    Statement& bind(int64_t v)
    {
        check(sqlite3_bind_int64(stmt_, ++index_, v));
        return *this;
    }
    Statement& bind(int v) { return bind(static_cast<int64_t>(v)); }
    Statement& bind(uint32_t v) { return bind(static_cast<int64_t>(v)); }
    Statement& bind(bool v) { return bind(static_cast<int64_t>(v ? 1 : 0)); }

    // Steps once: true when a row is available.
    bool step()
    {
        int rc = sqlite3_step(stmt_);
        if (rc == SQLITE_ROW)
            return true;
        if (rc == SQLITE_DONE)
            return false;
        last_rc_ = rc;
        throw StoreError(std::string("sqlite: ") + sqlite3_errmsg(db_));
    }
    // Runs to completion; returns the number of rows changed.
    int run()
    {
        while (step()) {
        }
        return sqlite3_changes(db_);
    }
    // Like run() but returns false instead of throwing on a UNIQUE violation.
    bool run_unique()
    {
        int rc = sqlite3_step(stmt_);
        if (rc == SQLITE_DONE)
            return true;
        if ((rc & 0xff) == SQLITE_CONSTRAINT &&
            sqlite3_extended_errcode(db_) == SQLITE_CONSTRAINT_UNIQUE)
            return false;
        throw StoreError(std::string("sqlite: ") + sqlite3_errmsg(db_));
    }

    std::string text(int col)
    {
        const unsigned char* t = sqlite3_column_text(stmt_, col);
        return t ? reinterpret_cast<const char*>(t) : "";
    }
    int64_t i64(int col) { return sqlite3_column_int64(stmt_, col); }

private:
    void check(int rc)
    {
        if (rc != SQLITE_OK)
            throw StoreError(std::string("sqlite bind: ") + sqlite3_errmsg(db_));
    }
    sqlite3* db_;
    sqlite3_stmt* stmt_;
    int index_ = 0;
    int last_rc_ = SQLITE_OK;
};

namespace {

// Runs its body in a write transaction; rolls back unless commit() was called.
class Transaction {
public:
    explicit Transaction(sqlite3* db) : db_(db) { exec("BEGIN IMMEDIATE"); }
    ~Transaction()
    {
        if (!done_)
            sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
    }
    void commit()
    {
        exec("COMMIT");
        done_ = true;
    }

private:
    void exec(const char* sql)
    {
        char* msg = nullptr;
        if (sqlite3_exec(db_, sql, nullptr, nullptr, &msg) != SQLITE_OK) {
            std::string what = std::string("sqlite: ") + (msg ? msg : "?");
            sqlite3_free(msg);
            throw StoreError(what);
        }
    }
    sqlite3* db_;
    bool done_ = false;
};

int64_t now_ms()
{
    return g_get_real_time() / 1000;
}

GQuark store_error_quark()
{
    return g_quark_from_static_string("zumzi-store-error");
}

}  // namespace

Store::Store(sqlite3* db) : db_(db) {}

Store::~Store()
{
    for (auto& [sql, stmt] : statements_)
        sqlite3_finalize(stmt);
    sqlite3_close(db_);
}

Store::Statement Store::prepare(const char* sql)
{
    auto it = statements_.find(sql);
    if (it == statements_.end()) {
        sqlite3_stmt* stmt = nullptr;
        if (sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, nullptr) !=
            SQLITE_OK)
            throw StoreError(std::string("sqlite prepare: ") + sqlite3_errmsg(db_));
        it = statements_.emplace(sql, stmt).first;
    }
    return Statement(db_, it->second);
}

void Store::exec(const char* sql)
{
    char* msg = nullptr;
    if (sqlite3_exec(db_, sql, nullptr, nullptr, &msg) != SQLITE_OK) {
        std::string what = std::string("sqlite: ") + (msg ? msg : "?");
        sqlite3_free(msg);
        throw StoreError(what);
    }
}

std::unique_ptr<Store> Store::open(const std::string& path, const std::string& schema_dir,
                                   GError** error)
{
    sqlite3* db = nullptr;
    int rc =
        sqlite3_open_v2(path.c_str(), &db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
    if (rc != SQLITE_OK) {
        g_set_error(error, store_error_quark(), rc, "cannot open database %s: %s", path.c_str(),
                    db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        sqlite3_close(db);
        return nullptr;
    }
    std::unique_ptr<Store> store(new Store(db));
    sqlite3_busy_timeout(db, 5000);
    try {
        store->exec("PRAGMA journal_mode = WAL");
        // FULL: a commit is on disk before the caller acknowledges anything.
        store->exec("PRAGMA synchronous = FULL");
        store->exec("PRAGMA foreign_keys = ON");
    } catch (const StoreError& e) {
        g_set_error(error, store_error_quark(), 1, "database %s: %s", path.c_str(), e.what());
        return nullptr;
    }
    if (!store->migrate(schema_dir, error))
        return nullptr;
    return store;
}

int Store::schema_version()
{
    auto st = prepare("PRAGMA user_version");
    return st.step() ? static_cast<int>(st.i64(0)) : 0;
}

// Migrations are data/schema/NNNN_name.sql, numbered from 0001 without gaps.
// Each one runs in its own transaction together with the bump of
// PRAGMA user_version, so a failing file leaves the database at the version
// before it.
bool Store::migrate(const std::string& schema_dir, GError** error)
{
    g_autoptr(GError) local = nullptr;
    g_autoptr(GDir) dir = g_dir_open(schema_dir.c_str(), 0, &local);
    if (!dir) {
        g_set_error(error, store_error_quark(), 1, "schema directory: %s", local->message);
        return false;
    }
    std::vector<std::string> files;
    while (const char* name = g_dir_read_name(dir)) {
        if (g_str_has_suffix(name, ".sql"))
            files.emplace_back(name);
    }
    std::sort(files.begin(), files.end());
    for (size_t i = 0; i < files.size(); i++) {
        const std::string& f = files[i];
        char* end = nullptr;
        long n = strtol(f.c_str(), &end, 10);
        if (end != f.c_str() + 4 || *end != '_' || n != static_cast<long>(i + 1)) {
            g_set_error(error, store_error_quark(), 1,
                        "schema file %s: expected a name like %04zu_description.sql", f.c_str(),
                        i + 1);
            return false;
        }
    }

    int current = schema_version();
    if (current > static_cast<int>(files.size())) {
        g_set_error(error, store_error_quark(), 1,
                    "the database is at schema version %d but this server knows only %zu: "
                    "it was written by a newer Zumzi",
                    current, files.size());
        return false;
    }
    for (size_t i = static_cast<size_t>(current); i < files.size(); i++) {
        g_autofree char* file_path =
            g_build_filename(schema_dir.c_str(), files[i].c_str(), nullptr);
        g_autofree char* sql = nullptr;
        if (!g_file_get_contents(file_path, &sql, nullptr, &local)) {
            g_set_error(error, store_error_quark(), 1, "migration %s: %s", files[i].c_str(),
                        local->message);
            return false;
        }
        try {
            Transaction tx(db_);
            exec(sql);
            g_autofree char* bump = g_strdup_printf("PRAGMA user_version = %zu", i + 1);
            exec(bump);
            tx.commit();
        } catch (const StoreError& e) {
            g_set_error(error, store_error_quark(), 1,
                        "migration %s failed (%s); the database is unchanged at schema "
                        "version %zu",
                        files[i].c_str(), e.what(), i);
            return false;
        }
        g_message("store: applied migration %s", files[i].c_str());
    }
    return true;
}

// ---- row readers ---------------------------------------------------------
// Column lists and the readers that go with them, kept side by side.

#define APP_COLUMNS "id, name, is_default, created_at"
template <class S>
static App app_from(S& st)
{
    return App{st.text(0), st.text(1), st.i64(2) != 0, st.i64(3)};
}

#define USER_COLUMNS "id, app_id, email, phone, name, status, photo_url, created_at"
template <class S>
static User user_from(S& st)
{
    return User{st.text(0), st.text(1), st.text(2), st.text(3),
                st.text(4), st.text(5), st.text(6), st.i64(7)};
}

#define TOKEN_COLUMNS "id, user_id, app_id, created_at, expires_at, revoked_at IS NOT NULL"
template <class S>
static AccessToken token_from(S& st)
{
    return AccessToken{st.text(0), st.text(1), st.text(2), st.i64(3), st.i64(4), st.i64(5) != 0};
}

#define ROOM_COLUMNS                                                                            \
    "rooms.id, rooms.app_id, rooms.owner_id, rooms.name, rooms.preset, rooms.participant_pin, " \
    "rooms.viewer_pin, rooms.locked, rooms.created_at, rooms.last_n"
template <class S>
static Room room_from(S& st)
{
    return Room{st.text(0), st.text(1), st.text(2),     st.text(3), st.text(4),
                st.text(5), st.text(6), st.i64(7) != 0, st.i64(8),  static_cast<int>(st.i64(9))};
}

#define MEMBER_COLUMNS "m.room_id, m.user_id, u.name, m.role, m.permissions, m.joined_at"
template <class S>
static Member member_from(S& st)
{
    return Member{st.text(0), st.text(1), st.text(2), st.text(3), static_cast<uint32_t>(st.i64(4)),
                  st.i64(5)};
}

// ---- apps ----------------------------------------------------------------

App Store::create_app(const std::string& name, const std::string& api_key_hash, bool is_default)
{
    App app{random_id("app_", 12), name, is_default, now_ms()};
    prepare(
        "INSERT INTO apps (id, name, api_key_hash, is_default, created_at) "
        "VALUES (?, ?, ?, ?, ?)")
        .bind(app.id)
        .bind(app.name)
        .bind(api_key_hash)
        .bind(app.is_default)
        .bind(app.created_at)
        .run();
    return app;
}

std::optional<App> Store::default_app()
{
    auto st = prepare("SELECT " APP_COLUMNS " FROM apps WHERE is_default = 1 LIMIT 1");
    if (!st.step())
        return std::nullopt;
    return app_from(st);
}

std::optional<App> Store::find_app(const std::string& id)
{
    auto st = prepare("SELECT " APP_COLUMNS " FROM apps WHERE id = ?");
    st.bind(id);
    if (!st.step())
        return std::nullopt;
    return app_from(st);
}

std::optional<App> Store::find_app_by_key_hash(const std::string& api_key_hash)
{
    auto st = prepare("SELECT " APP_COLUMNS ", api_key_hash FROM apps WHERE api_key_hash = ?");
    st.bind(api_key_hash);
    if (!st.step() || !constant_time_equal(st.text(4), api_key_hash))
        return std::nullopt;
    return app_from(st);
}

std::vector<App> Store::list_apps()
{
    auto st = prepare("SELECT " APP_COLUMNS " FROM apps ORDER BY created_at");
    std::vector<App> out;
    while (st.step())
        out.push_back(app_from(st));
    return out;
}

// ---- users ---------------------------------------------------------------

bool Store::create_user(User& user)
{
    user.id = random_id("u_", 14);
    user.created_at = now_ms();
    return prepare("INSERT INTO users (" USER_COLUMNS ") VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
        .bind(user.id)
        .bind(user.app_id)
        .bind_or_null(user.email)
        .bind_or_null(user.phone)
        .bind(user.name)
        .bind(user.status)
        .bind(user.photo_url)
        .bind(user.created_at)
        .run_unique();
}

std::optional<User> Store::find_user(const std::string& app_id, const std::string& id)
{
    auto st = prepare("SELECT " USER_COLUMNS " FROM users WHERE app_id = ? AND id = ?");
    st.bind(app_id).bind(id);
    if (!st.step())
        return std::nullopt;
    return user_from(st);
}

std::optional<User> Store::find_user_by_email(const std::string& app_id, const std::string& email)
{
    auto st = prepare("SELECT " USER_COLUMNS " FROM users WHERE app_id = ? AND email = ?");
    st.bind(app_id).bind(email);
    if (!st.step())
        return std::nullopt;
    return user_from(st);
}

std::optional<User> Store::find_user_by_phone(const std::string& app_id, const std::string& phone)
{
    auto st = prepare("SELECT " USER_COLUMNS " FROM users WHERE app_id = ? AND phone = ?");
    st.bind(app_id).bind(phone);
    if (!st.step())
        return std::nullopt;
    return user_from(st);
}

std::vector<User> Store::list_users(const std::string& app_id, int limit, int offset)
{
    auto st = prepare("SELECT " USER_COLUMNS
                      " FROM users WHERE app_id = ? "
                      "ORDER BY created_at, id LIMIT ? OFFSET ?");
    st.bind(app_id).bind(limit).bind(offset);
    std::vector<User> out;
    while (st.step())
        out.push_back(user_from(st));
    return out;
}

bool Store::update_profile(const User& user)
{
    return prepare(
               "UPDATE users SET name = ?, status = ?, photo_url = ? "
               "WHERE app_id = ? AND id = ?")
               .bind(user.name)
               .bind(user.status)
               .bind(user.photo_url)
               .bind(user.app_id)
               .bind(user.id)
               .run() == 1;
}

bool Store::delete_user(const std::string& app_id, const std::string& id)
{
    // Tokens, memberships and owned rooms go with the user (ON DELETE CASCADE).
    return prepare("DELETE FROM users WHERE app_id = ? AND id = ?").bind(app_id).bind(id).run() ==
           1;
}

// ---- tokens --------------------------------------------------------------

void Store::create_token(const AccessToken& token, const std::string& token_hash)
{
    prepare(
        "INSERT INTO tokens (id, token_hash, user_id, app_id, created_at, expires_at) "
        "VALUES (?, ?, ?, ?, ?, ?)")
        .bind(token.id)
        .bind(token_hash)
        .bind(token.user_id)
        .bind(token.app_id)
        .bind(token.created_at)
        .bind(token.expires_at)
        .run();
}

std::optional<std::pair<AccessToken, std::string>> Store::find_token_by_hash(
    const std::string& hash)
{
    auto st = prepare("SELECT " TOKEN_COLUMNS ", token_hash FROM tokens WHERE token_hash = ?");
    st.bind(hash);
    if (!st.step())
        return std::nullopt;
    return std::make_pair(token_from(st), st.text(6));
}

std::vector<AccessToken> Store::list_tokens(const std::string& user_id)
{
    auto st = prepare("SELECT " TOKEN_COLUMNS
                      " FROM tokens WHERE user_id = ? "
                      "ORDER BY created_at DESC");
    st.bind(user_id);
    std::vector<AccessToken> out;
    while (st.step())
        out.push_back(token_from(st));
    return out;
}

bool Store::revoke_token(const std::string& app_id, const std::string& token_id, int64_t now)
{
    return prepare(
               "UPDATE tokens SET revoked_at = ? "
               "WHERE app_id = ? AND id = ? AND revoked_at IS NULL")
               .bind(now)
               .bind(app_id)
               .bind(token_id)
               .run() == 1;
}

int Store::revoke_user_tokens(const std::string& user_id, int64_t now)
{
    return prepare("UPDATE tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL")
        .bind(now)
        .bind(user_id)
        .run();
}

int Store::delete_expired_tokens(int64_t now)
{
    return prepare("DELETE FROM tokens WHERE expires_at < ?").bind(now).run();
}

// ---- login codes ---------------------------------------------------------

std::optional<LoginCode> Store::find_login_code(const std::string& app_id,
                                                const std::string& address)
{
    auto st = prepare(
        "SELECT app_id, address, code, name, created_at, expires_at, attempts "
        "FROM login_codes WHERE app_id = ? AND address = ?");
    st.bind(app_id).bind(address);
    if (!st.step())
        return std::nullopt;
    return LoginCode{st.text(0),
                     st.text(1),
                     st.text(2),
                     st.text(3),
                     st.i64(4),
                     st.i64(5),
                     static_cast<int>(st.i64(6))};
}

void Store::put_login_code(const LoginCode& code)
{
    prepare(
        "INSERT OR REPLACE INTO login_codes "
        "(app_id, address, code, name, created_at, expires_at, attempts) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)")
        .bind(code.app_id)
        .bind(code.address)
        .bind(code.code)
        .bind(code.name)
        .bind(code.created_at)
        .bind(code.expires_at)
        .bind(code.attempts)
        .run();
}

void Store::set_login_code_attempts(const std::string& app_id, const std::string& address,
                                    int attempts)
{
    prepare("UPDATE login_codes SET attempts = ? WHERE app_id = ? AND address = ?")
        .bind(attempts)
        .bind(app_id)
        .bind(address)
        .run();
}

void Store::delete_login_code(const std::string& app_id, const std::string& address)
{
    prepare("DELETE FROM login_codes WHERE app_id = ? AND address = ?")
        .bind(app_id)
        .bind(address)
        .run();
}

// ---- rooms and members ---------------------------------------------------

void Store::create_room(const Room& room, const Member& owner)
{
    Transaction tx(db_);
    prepare(
        "INSERT INTO rooms (id, app_id, owner_id, name, preset, participant_pin, viewer_pin, "
        "locked, created_at, last_n) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
        .bind(room.id)
        .bind(room.app_id)
        .bind(room.owner_id)
        .bind(room.name)
        .bind(room.preset)
        .bind(room.participant_pin)
        .bind(room.viewer_pin)
        .bind(room.locked)
        .bind(room.created_at)
        .bind(static_cast<int64_t>(room.last_n))
        .run();
    put_member(owner);
    tx.commit();
}

std::optional<Room> Store::find_room(const std::string& app_id, const std::string& id)
{
    auto st = prepare("SELECT " ROOM_COLUMNS " FROM rooms WHERE app_id = ? AND id = ?");
    st.bind(app_id).bind(id);
    if (!st.step())
        return std::nullopt;
    return room_from(st);
}

std::optional<Room> Store::find_room_by_id(const std::string& id)
{
    auto st = prepare("SELECT " ROOM_COLUMNS " FROM rooms WHERE id = ?");
    st.bind(id);
    if (!st.step())
        return std::nullopt;
    return room_from(st);
}

bool Store::update_room(const Room& room)
{
    return prepare(
               "UPDATE rooms SET name = ?, preset = ?, locked = ?, last_n = ? "
               "WHERE app_id = ? AND id = ?")
               .bind(room.name)
               .bind(room.preset)
               .bind(room.locked)
               .bind(static_cast<int64_t>(room.last_n))
               .bind(room.app_id)
               .bind(room.id)
               .run() == 1;
}

bool Store::delete_room(const std::string& app_id, const std::string& id)
{
    // Members go with the room (ON DELETE CASCADE).
    return prepare("DELETE FROM rooms WHERE app_id = ? AND id = ?").bind(app_id).bind(id).run() ==
           1;
}

std::vector<Room> Store::rooms_of_user(const std::string& app_id, const std::string& user_id)
{
    auto st =
        prepare("SELECT " ROOM_COLUMNS
                " FROM rooms "
                "WHERE rooms.app_id = ? AND (rooms.owner_id = ? OR EXISTS ("
                "  SELECT 1 FROM room_members m WHERE m.room_id = rooms.id AND m.user_id = ?))"
                " ORDER BY rooms.created_at DESC, rooms.id");
    st.bind(app_id).bind(user_id).bind(user_id);
    std::vector<Room> out;
    while (st.step())
        out.push_back(room_from(st));
    return out;
}

void Store::put_member(const Member& member)
{
    prepare(
        "INSERT INTO room_members (room_id, user_id, role, permissions, joined_at) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT (room_id, user_id) DO UPDATE SET "
        "role = excluded.role, permissions = excluded.permissions")
        .bind(member.room_id)
        .bind(member.user_id)
        .bind(member.role)
        .bind(member.permissions)
        .bind(member.joined_at)
        .run();
}

std::optional<Member> Store::find_member(const std::string& room_id, const std::string& user_id)
{
    auto st = prepare("SELECT " MEMBER_COLUMNS
                      " FROM room_members m JOIN users u ON u.id = m.user_id "
                      "WHERE m.room_id = ? AND m.user_id = ?");
    st.bind(room_id).bind(user_id);
    if (!st.step())
        return std::nullopt;
    return member_from(st);
}

std::vector<Member> Store::list_members(const std::string& room_id)
{
    auto st = prepare("SELECT " MEMBER_COLUMNS
                      " FROM room_members m JOIN users u ON u.id = m.user_id "
                      "WHERE m.room_id = ? ORDER BY m.joined_at, m.user_id");
    st.bind(room_id);
    std::vector<Member> out;
    while (st.step())
        out.push_back(member_from(st));
    return out;
}

bool Store::delete_member(const std::string& room_id, const std::string& user_id)
{
    return prepare("DELETE FROM room_members WHERE room_id = ? AND user_id = ?")
               .bind(room_id)
               .bind(user_id)
               .run() == 1;
}

bool Store::remove_and_ban_member(const RoomBan& ban)
{
    Transaction tx(db_);
    if (!delete_member(ban.room_id, ban.user_id))
        return false;  // the transaction rolls back (nothing written)
    prepare(
        "INSERT INTO room_bans (room_id, user_id, banned_by, banned_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (room_id, user_id) DO UPDATE SET "
        "banned_by = excluded.banned_by, banned_at = excluded.banned_at")
        .bind(ban.room_id)
        .bind(ban.user_id)
        .bind(ban.by)
        .bind(ban.at)
        .run();
    tx.commit();
    return true;
}

bool Store::is_banned(const std::string& room_id, const std::string& user_id)
{
    auto st = prepare("SELECT 1 FROM room_bans WHERE room_id = ? AND user_id = ?");
    st.bind(room_id).bind(user_id);
    return st.step();
}

std::vector<RoomBan> Store::list_bans(const std::string& room_id)
{
    auto st = prepare(
        "SELECT b.room_id, b.user_id, u.name, b.banned_by, b.banned_at "
        "FROM room_bans b JOIN users u ON u.id = b.user_id "
        "WHERE b.room_id = ? ORDER BY b.banned_at, b.user_id");
    st.bind(room_id);
    std::vector<RoomBan> out;
    while (st.step())
        out.push_back(RoomBan{st.text(0), st.text(1), st.text(2), st.text(3), st.i64(4)});
    return out;
}

bool Store::delete_ban(const std::string& room_id, const std::string& user_id)
{
    return prepare("DELETE FROM room_bans WHERE room_id = ? AND user_id = ?")
               .bind(room_id)
               .bind(user_id)
               .run() == 1;
}

// ---- recordings ------------------------------------------------------------

#define RECORDING_COLUMNS "id, room_id, started_by, started_at, duration_ms, size, state"
template <class S>
static Recording recording_from(S& st)
{
    return Recording{st.text(0), st.text(1), st.text(2), st.i64(3),
                     st.i64(4),  st.i64(5),  st.text(6)};
}

void Store::create_recording(const Recording& recording)
{
    prepare("INSERT INTO recordings (" RECORDING_COLUMNS ") VALUES (?, ?, ?, ?, ?, ?, ?)")
        .bind(recording.id)
        .bind(recording.room_id)
        .bind(recording.started_by)
        .bind(recording.started_at)
        .bind(recording.duration_ms)
        .bind(recording.size)
        .bind(recording.state)
        .run();
}

std::optional<Recording> Store::find_recording(const std::string& room_id, const std::string& id)
{
    auto st = prepare("SELECT " RECORDING_COLUMNS " FROM recordings WHERE room_id = ? AND id = ?");
    st.bind(room_id).bind(id);
    if (!st.step())
        return std::nullopt;
    return recording_from(st);
}

std::vector<Recording> Store::list_recordings(const std::string& room_id)
{
    auto st = prepare("SELECT " RECORDING_COLUMNS
                      " FROM recordings WHERE room_id = ? ORDER BY started_at DESC, id");
    st.bind(room_id);
    std::vector<Recording> out;
    while (st.step())
        out.push_back(recording_from(st));
    return out;
}

std::vector<Recording> Store::unfinished_recordings()
{
    auto st = prepare("SELECT " RECORDING_COLUMNS " FROM recordings WHERE state = 'recording'");
    std::vector<Recording> out;
    while (st.step())
        out.push_back(recording_from(st));
    return out;
}

bool Store::finish_recording(const std::string& id, int64_t duration_ms, int64_t size)
{
    return prepare(
               "UPDATE recordings SET state = 'done', duration_ms = ?, size = ? "
               "WHERE id = ? AND state = 'recording'")
               .bind(duration_ms)
               .bind(size)
               .bind(id)
               .run() == 1;
}

bool Store::delete_recording(const std::string& room_id, const std::string& id)
{
    return prepare("DELETE FROM recordings WHERE room_id = ? AND id = ?")
               .bind(room_id)
               .bind(id)
               .run() == 1;
}

// ---- groups --------------------------------------------------------------

#define GROUP_COLUMNS "id, app_id, owner_id, name, photo_url, created_at"
template <class S>
static Group group_from(S& st)
{
    return Group{st.text(0), st.text(1), st.text(2), st.text(3), st.text(4), st.i64(5)};
}

#define GROUP_MEMBER_COLUMNS "m.group_id, m.user_id, u.name, m.role, m.joined_at"
template <class S>
static GroupMember group_member_from(S& st)
{
    return GroupMember{st.text(0), st.text(1), st.text(2), st.text(3), st.i64(4)};
}

void Store::create_group(const Group& group, const std::vector<GroupMember>& members)
{
    Transaction tx(db_);
    prepare("INSERT INTO groups (" GROUP_COLUMNS ") VALUES (?, ?, ?, ?, ?, ?)")
        .bind(group.id)
        .bind(group.app_id)
        .bind(group.owner_id)
        .bind(group.name)
        .bind(group.photo_url)
        .bind(group.created_at)
        .run();
    for (const GroupMember& m : members)
        put_group_member(m);
    tx.commit();
}

std::optional<Group> Store::find_group(const std::string& app_id, const std::string& id)
{
    auto st = prepare("SELECT " GROUP_COLUMNS " FROM groups WHERE app_id = ? AND id = ?");
    st.bind(app_id).bind(id);
    if (!st.step())
        return std::nullopt;
    return group_from(st);
}

bool Store::update_group(const Group& group)
{
    return prepare(
               "UPDATE groups SET name = ?, photo_url = ?, owner_id = ? "
               "WHERE app_id = ? AND id = ?")
               .bind(group.name)
               .bind(group.photo_url)
               .bind(group.owner_id)
               .bind(group.app_id)
               .bind(group.id)
               .run() == 1;
}

bool Store::delete_group(const std::string& app_id, const std::string& id)
{
    Transaction tx(db_);
    const bool deleted =
        prepare("DELETE FROM groups WHERE app_id = ? AND id = ?").bind(app_id).bind(id).run() == 1;
    if (deleted) {
        const std::string conversation = "group:" + id;
        prepare("DELETE FROM messages WHERE conversation = ?").bind(conversation).run();
        prepare("DELETE FROM conversation_state WHERE conversation = ?").bind(conversation).run();
    }
    tx.commit();
    return deleted;
}

std::vector<Group> Store::groups_of_user(const std::string& app_id, const std::string& user_id)
{
    auto st = prepare("SELECT " GROUP_COLUMNS
                      " FROM groups WHERE app_id = ? AND id IN ("
                      "  SELECT group_id FROM group_members WHERE user_id = ?)"
                      " ORDER BY created_at DESC, id");
    st.bind(app_id).bind(user_id);
    std::vector<Group> out;
    while (st.step())
        out.push_back(group_from(st));
    return out;
}

void Store::put_group_member(const GroupMember& member)
{
    prepare(
        "INSERT INTO group_members (group_id, user_id, role, joined_at) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (group_id, user_id) DO UPDATE SET role = excluded.role")
        .bind(member.group_id)
        .bind(member.user_id)
        .bind(member.role)
        .bind(member.joined_at)
        .run();
}

std::optional<GroupMember> Store::find_group_member(const std::string& group_id,
                                                    const std::string& user_id)
{
    auto st = prepare("SELECT " GROUP_MEMBER_COLUMNS
                      " FROM group_members m JOIN users u ON u.id = m.user_id "
                      "WHERE m.group_id = ? AND m.user_id = ?");
    st.bind(group_id).bind(user_id);
    if (!st.step())
        return std::nullopt;
    return group_member_from(st);
}

std::vector<GroupMember> Store::list_group_members(const std::string& group_id)
{
    auto st = prepare("SELECT " GROUP_MEMBER_COLUMNS
                      " FROM group_members m JOIN users u ON u.id = m.user_id "
                      "WHERE m.group_id = ? ORDER BY m.joined_at, m.user_id");
    st.bind(group_id);
    std::vector<GroupMember> out;
    while (st.step())
        out.push_back(group_member_from(st));
    return out;
}

bool Store::delete_group_member(const std::string& group_id, const std::string& user_id)
{
    return prepare("DELETE FROM group_members WHERE group_id = ? AND user_id = ?")
               .bind(group_id)
               .bind(user_id)
               .run() == 1;
}

// ---- messages ------------------------------------------------------------

// Messages are always read with their attachment: FROM MESSAGES_WITH_FILES.
#define MESSAGE_COLUMNS                                                                    \
    "m.id, m.app_id, m.conversation, m.sender_id, m.client_id, m.text, m.forwarded_from, " \
    "m.created_at, m.deleted_at, f.id, f.name, f.content_type, f.size, "                   \
    "f.thumbnail IS NOT NULL, f.width, f.height"
#define FILE_JOIN " LEFT JOIN files f ON f.id = m.file_id"
#define MESSAGES_WITH_FILES "messages m" FILE_JOIN
template <class S>
static Message message_from(S& st, int first = 0)
{
    Message m{st.i64(first),      st.text(first + 1), st.text(first + 2),
              st.text(first + 3), st.text(first + 4), st.text(first + 5),
              st.i64(first + 6),  st.i64(first + 7),  st.i64(first + 8)};
    if (!st.text(first + 9).empty()) {
        File f;
        f.id = st.text(first + 9);
        f.name = st.text(first + 10);
        f.content_type = st.text(first + 11);
        f.size = st.i64(first + 12);
        f.thumbnail = st.i64(first + 13) ? "yes" : "";
        f.width = static_cast<int>(st.i64(first + 14));
        f.height = static_cast<int>(st.i64(first + 15));
        m.file = f;
    }
    return m;
}

// The conversations of user ?1 and since when they see them; the room
// permission bit is ?2.
#define MY_CONVERSATIONS                                                                       \
    "mine (conv, since) AS ("                                                                  \
    "  SELECT conversation, 0 FROM conversation_state"                                         \
    "   WHERE user_id = ?1 AND conversation LIKE 'dm:%'"                                       \
    "  UNION ALL SELECT 'group:' || group_id, joined_at FROM group_members WHERE user_id = ?1" \
    "  UNION ALL SELECT 'room:' || room_id, joined_at FROM room_members"                       \
    "   WHERE user_id = ?1 AND (permissions & ?2) != 0)"

std::pair<Message, bool> Store::insert_message(Message message,
                                               const std::vector<std::string>& cursor_users)
{
    Transaction tx(db_);
    {
        auto st = prepare("SELECT " MESSAGE_COLUMNS " FROM " MESSAGES_WITH_FILES
                          " WHERE m.sender_id = ? AND m.client_id = ?");
        st.bind(message.sender_id).bind(message.client_id);
        if (st.step())
            return {message_from(st), false};
    }
    message.created_at = message.created_at ? message.created_at : now_ms();
    prepare(
        "INSERT INTO messages (app_id, conversation, sender_id, client_id, text, "
        "forwarded_from, created_at, file_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")
        .bind(message.app_id)
        .bind(message.conversation)
        .bind(message.sender_id)
        .bind(message.client_id)
        .bind(message.text)
        .bind(message.forwarded_from)
        .bind(message.created_at)
        .bind_or_null(message.file ? message.file->id : std::string())
        .run();
    message.id = sqlite3_last_insert_rowid(db_);
    for (const std::string& user : cursor_users)
        prepare("INSERT OR IGNORE INTO conversation_state (conversation, user_id) VALUES (?, ?)")
            .bind(message.conversation)
            .bind(user)
            .run();
    tx.commit();
    return {message, true};
}

std::optional<Message> Store::find_message(const std::string& app_id, int64_t id)
{
    auto st = prepare("SELECT " MESSAGE_COLUMNS " FROM " MESSAGES_WITH_FILES
                      " WHERE m.app_id = ? AND m.id = ?");
    st.bind(app_id).bind(id);
    if (!st.step())
        return std::nullopt;
    return message_from(st);
}

std::vector<Message> Store::history(const std::string& conversation, int64_t before, int limit,
                                    int64_t since)
{
    auto st = prepare("SELECT " MESSAGE_COLUMNS " FROM " MESSAGES_WITH_FILES
                      " WHERE m.conversation = ? AND m.id < ? "
                      "AND m.created_at >= ? ORDER BY m.id DESC LIMIT ?");
    st.bind(conversation).bind(before > 0 ? before : INT64_MAX).bind(since).bind(limit);
    std::vector<Message> out;
    while (st.step())
        out.push_back(message_from(st));
    return out;
}

std::vector<Message> Store::pending_messages(const std::string& user_id, uint32_t room_receive,
                                             int64_t after, int limit)
{
    auto st = prepare("WITH " MY_CONVERSATIONS " SELECT " MESSAGE_COLUMNS
                      " FROM mine JOIN messages m ON m.conversation = mine.conv" FILE_JOIN
                      " LEFT JOIN conversation_state s"
                      "   ON s.conversation = mine.conv AND s.user_id = ?1"
                      " WHERE m.id > COALESCE(s.delivered_id, 0) AND m.id > ?3"
                      "   AND m.created_at >= mine.since AND m.sender_id != ?1"
                      " ORDER BY m.id LIMIT ?4");
    st.bind(user_id).bind(room_receive).bind(after).bind(limit);
    std::vector<Message> out;
    while (st.step())
        out.push_back(message_from(st));
    return out;
}

std::vector<Message> Store::deleted_since(const std::string& user_id, uint32_t room_receive,
                                          int64_t since, int limit)
{
    auto st = prepare("WITH " MY_CONVERSATIONS " SELECT " MESSAGE_COLUMNS
                      " FROM mine JOIN messages m ON m.conversation = mine.conv" FILE_JOIN
                      " JOIN conversation_state s ON s.conversation = mine.conv AND s.user_id = ?1"
                      " WHERE m.deleted_at IS NOT NULL AND m.deleted_at >= ?3"
                      "   AND m.id <= s.delivered_id AND m.created_at >= mine.since"
                      " ORDER BY m.id LIMIT ?4");
    st.bind(user_id).bind(room_receive).bind(since).bind(limit);
    std::vector<Message> out;
    while (st.step())
        out.push_back(message_from(st));
    return out;
}

std::vector<ConversationSummary> Store::conversations_of(const std::string& user_id,
                                                         uint32_t room_receive, int limit)
{
    auto st =
        prepare("WITH " MY_CONVERSATIONS
                ", last (conv, since, id) AS ("
                "  SELECT conv, since, (SELECT MAX(x.id) FROM messages x"
                "    WHERE x.conversation = mine.conv AND x.created_at >= mine.since) FROM mine)"
                " SELECT last.conv, COALESCE(s.delivered_id, 0), COALESCE(s.read_id, 0),"
                "  (SELECT COUNT(*) FROM messages u WHERE u.conversation = last.conv"
                "    AND u.id > COALESCE(s.read_id, 0) AND u.sender_id != ?1"
                "    AND u.deleted_at IS NULL AND u.created_at >= last.since),"
                "  " MESSAGE_COLUMNS " FROM last LEFT JOIN messages m ON m.id = last.id" FILE_JOIN
                " LEFT JOIN conversation_state s ON s.conversation = last.conv AND s.user_id = ?1"
                " WHERE m.id IS NOT NULL OR last.conv LIKE 'group:%'"
                " ORDER BY COALESCE(m.id, 0) DESC, last.since DESC, last.conv LIMIT ?3");
    st.bind(user_id).bind(room_receive).bind(limit);
    std::vector<ConversationSummary> out;
    while (st.step()) {
        ConversationSummary summary;
        summary.conversation = st.text(0);
        summary.delivered_id = st.i64(1);
        summary.read_id = st.i64(2);
        summary.unread = st.i64(3);
        if (st.i64(4) != 0)
            summary.last = message_from(st, 4);
        out.push_back(std::move(summary));
    }
    return out;
}

int64_t Store::last_message_id(const std::string& conversation)
{
    auto st = prepare("SELECT COALESCE(MAX(id), 0) FROM messages WHERE conversation = ?");
    st.bind(conversation);
    st.step();
    return st.i64(0);
}

ConversationCursor Store::cursor(const std::string& conversation, const std::string& user_id)
{
    auto st = prepare(
        "SELECT delivered_id, read_id FROM conversation_state "
        "WHERE conversation = ? AND user_id = ?");
    st.bind(conversation).bind(user_id);
    if (!st.step())
        return {};
    return ConversationCursor{st.i64(0), st.i64(1)};
}

ConversationCursor Store::advance_cursor(const std::string& conversation,
                                         const std::string& user_id, int64_t up_to, bool read)
{
    // What is read has been delivered too.
    prepare(
        "INSERT INTO conversation_state (conversation, user_id, delivered_id, read_id) "
        "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (conversation, user_id) DO UPDATE SET "
        "delivered_id = MAX(delivered_id, excluded.delivered_id), "
        "read_id = MAX(read_id, excluded.read_id)")
        .bind(conversation)
        .bind(user_id)
        .bind(up_to)
        .bind(read ? up_to : 0)
        .run();
    return cursor(conversation, user_id);
}

bool Store::delete_message(int64_t id, int64_t now)
{
    return prepare(
               "UPDATE messages SET text = '', file_id = NULL, deleted_at = ? "
               "WHERE id = ? AND deleted_at IS NULL")
               .bind(now)
               .bind(id)
               .run() == 1;
}

// ---- files ----------------------------------------------------------------

#define FILE_COLUMNS                                                                     \
    "id, app_id, owner_id, name, content_type, size, storage, COALESCE(thumbnail, ''), " \
    "COALESCE(width, 0), COALESCE(height, 0), public, created_at"

void Store::create_file(const File& file)
{
    prepare(
        "INSERT INTO files (id, app_id, owner_id, name, content_type, size, storage, "
        "thumbnail, width, height, public, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
        .bind(file.id)
        .bind(file.app_id)
        .bind(file.owner_id)
        .bind(file.name)
        .bind(file.content_type)
        .bind(file.size)
        .bind(file.storage)
        .bind_or_null(file.thumbnail)
        .bind(file.width)
        .bind(file.height)
        .bind(file.is_public)
        .bind(file.created_at)
        .run();
}

std::optional<File> Store::find_file(const std::string& app_id, const std::string& id)
{
    auto st = prepare("SELECT " FILE_COLUMNS " FROM files WHERE app_id = ? AND id = ?");
    st.bind(app_id).bind(id);
    if (!st.step())
        return std::nullopt;
    File f;
    f.id = st.text(0);
    f.app_id = st.text(1);
    f.owner_id = st.text(2);
    f.name = st.text(3);
    f.content_type = st.text(4);
    f.size = st.i64(5);
    f.storage = st.text(6);
    f.thumbnail = st.text(7);
    f.width = static_cast<int>(st.i64(8));
    f.height = static_cast<int>(st.i64(9));
    f.is_public = st.i64(10) != 0;
    f.created_at = st.i64(11);
    return f;
}

bool Store::file_readable(const File& file, const std::string& user_id, uint32_t room_receive)
{
    if (file.owner_id == user_id || file.is_public)
        return true;
    auto st = prepare("WITH " MY_CONVERSATIONS
                      " SELECT 1 FROM messages m JOIN mine ON m.conversation = mine.conv"
                      " WHERE m.file_id = ?3 AND m.created_at >= mine.since LIMIT 1");
    st.bind(user_id).bind(room_receive).bind(file.id);
    return st.step();
}

// ---- presence ------------------------------------------------------------

void Store::set_last_seen(const std::string& user_id, int64_t at)
{
    prepare("UPDATE users SET last_seen_at = ? WHERE id = ?").bind(at).bind(user_id).run();
}

int64_t Store::last_seen(const std::string& user_id)
{
    auto st = prepare("SELECT COALESCE(last_seen_at, 0) FROM users WHERE id = ?");
    st.bind(user_id);
    if (!st.step())
        return 0;
    return st.i64(0);
}

std::vector<std::string> Store::peers_of(const std::string& user_id)
{
    auto st = prepare(
        "SELECT s.user_id FROM conversation_state s WHERE s.conversation IN ("
        "  SELECT conversation FROM conversation_state"
        "   WHERE user_id = ?1 AND conversation LIKE 'dm:%') AND s.user_id != ?1"
        " AND s.user_id NOT IN (SELECT blocked_id FROM blocks WHERE user_id = ?1)"
        " UNION SELECT o.user_id FROM group_members o WHERE o.group_id IN ("
        "  SELECT group_id FROM group_members WHERE user_id = ?1) AND o.user_id != ?1"
        " AND o.user_id NOT IN (SELECT blocked_id FROM blocks WHERE user_id = ?1)"
        " UNION SELECT c.owner_id FROM contacts c WHERE c.contact_id = ?1"
        " AND c.owner_id NOT IN (SELECT blocked_id FROM blocks WHERE user_id = ?1)");
    st.bind(user_id);
    std::vector<std::string> out;
    while (st.step())
        out.push_back(st.text(0));
    return out;
}

// ---- contacts and blocks ---------------------------------------------------

bool Store::add_contact(const std::string& owner_id, const std::string& contact_id, int64_t at)
{
    return prepare(
               "INSERT OR IGNORE INTO contacts (owner_id, contact_id, created_at) "
               "VALUES (?, ?, ?)")
               .bind(owner_id)
               .bind(contact_id)
               .bind(at)
               .run() == 1;
}

bool Store::remove_contact(const std::string& owner_id, const std::string& contact_id)
{
    return prepare("DELETE FROM contacts WHERE owner_id = ? AND contact_id = ?")
               .bind(owner_id)
               .bind(contact_id)
               .run() == 1;
}

std::vector<User> Store::list_contacts(const std::string& owner_id)
{
    auto st = prepare("SELECT " USER_COLUMNS
                      " FROM users WHERE id IN (SELECT contact_id FROM contacts WHERE owner_id = ?)"
                      " ORDER BY name, id");
    st.bind(owner_id);
    std::vector<User> out;
    while (st.step())
        out.push_back(user_from(st));
    return out;
}

bool Store::block_user(const std::string& user_id, const std::string& blocked_id, int64_t at)
{
    return prepare(
               "INSERT OR IGNORE INTO blocks (user_id, blocked_id, created_at) "
               "VALUES (?, ?, ?)")
               .bind(user_id)
               .bind(blocked_id)
               .bind(at)
               .run() == 1;
}

bool Store::unblock_user(const std::string& user_id, const std::string& blocked_id)
{
    return prepare("DELETE FROM blocks WHERE user_id = ? AND blocked_id = ?")
               .bind(user_id)
               .bind(blocked_id)
               .run() == 1;
}

std::vector<User> Store::list_blocked(const std::string& user_id)
{
    auto st = prepare("SELECT " USER_COLUMNS
                      " FROM users WHERE id IN (SELECT blocked_id FROM blocks WHERE user_id = ?)"
                      " ORDER BY name, id");
    st.bind(user_id);
    std::vector<User> out;
    while (st.step())
        out.push_back(user_from(st));
    return out;
}

bool Store::is_blocked(const std::string& user_id, const std::string& by_id)
{
    auto st = prepare("SELECT 1 FROM blocks WHERE user_id = ? AND blocked_id = ?");
    st.bind(by_id).bind(user_id);
    return st.step();
}

}  // namespace zumzi
