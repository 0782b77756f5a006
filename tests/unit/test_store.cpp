// store: apps, users, tokens, login codes, rooms and members, each test on a
// fresh database in its own temporary directory.
#include <glib.h>

#include <algorithm>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "store.h"

// Last: CppUTest redefines `new` for its leak checker.
#include <CppUTest/TestHarness.h>

using namespace zumzi;

namespace {

User make_user(const std::string& app_id, const std::string& email, const std::string& phone,
               const std::string& name = "")
{
    User u;
    u.app_id = app_id;
    u.email = email;
    u.phone = phone;
    u.name = name;
    return u;
}

Room make_room(const std::string& id, const std::string& app_id, const std::string& owner_id,
               int64_t created_at)
{
    Room r;
    r.id = id;
    r.app_id = app_id;
    r.owner_id = owner_id;
    r.name = "Room " + id;
    r.preset = "default";
    r.participant_pin = "111111";
    r.viewer_pin = "222222";
    r.created_at = created_at;
    return r;
}

Member make_member(const std::string& room_id, const std::string& user_id, const std::string& role,
                   uint32_t permissions, int64_t joined_at)
{
    Member m;
    m.room_id = room_id;
    m.user_id = user_id;
    m.role = role;
    m.permissions = permissions;
    m.joined_at = joined_at;
    return m;
}

AccessToken make_token(const std::string& id, const User& user, int64_t created_at,
                       int64_t expires_at)
{
    AccessToken t;
    t.id = id;
    t.user_id = user.id;
    t.app_id = user.app_id;
    t.created_at = created_at;
    t.expires_at = expires_at;
    return t;
}

std::vector<std::string> room_ids(const std::vector<Room>& rooms)
{
    std::vector<std::string> out;
    for (const Room& r : rooms)
        out.push_back(r.id);
    return out;
}

std::string joined(const std::vector<std::string>& v)
{
    std::string out;
    for (const std::string& s : v)
        out += (out.empty() ? "" : ",") + s;
    return out;
}

}  // namespace

TEST_GROUP(Store)
{
    std::string dir;
    std::string db_path;
    std::unique_ptr<Store> store;
    App app;
    App other_app;

    void setup() override
    {
        char* d = g_dir_make_tmp("zumzi-store-XXXXXX", nullptr);
        CHECK(d != nullptr);
        dir = d;
        g_free(d);
        db_path = dir + "/zumzi.db";
        open();
        app = store->create_app("Main", "hash-main", true);
        other_app = store->create_app("Other", "hash-other", false);
    }
    void teardown() override
    {
        store.reset();
        std::error_code ec;
        std::filesystem::remove_all(dir, ec);
    }

    void open()
    {
        store.reset();
        GError* error = nullptr;
        store = Store::open(db_path, ZUMZI_SCHEMA_DIR, &error);
        CHECK_TEXT(store != nullptr, error ? error->message : "");
        g_clear_error(&error);
    }

    User add_user(const std::string& app_id, const std::string& email,
                  const std::string& phone = "")
    {
        User u = make_user(app_id, email, phone, "name of " + email + phone);
        CHECK(store->create_user(u));
        return u;
    }
};

// ---- apps ------------------------------------------------------------------

TEST(Store, CreateApp)
{
    CHECK(g_str_has_prefix(app.id.c_str(), "app_"));
    STRCMP_EQUAL("Main", app.name.c_str());
    CHECK(app.is_default);
    CHECK(app.created_at > 0);
    CHECK(app.id != other_app.id);

    auto found = store->find_app(other_app.id);
    CHECK(found.has_value());
    STRCMP_EQUAL("Other", found->name.c_str());
    CHECK_FALSE(found->is_default);
    LONGS_EQUAL(other_app.created_at, found->created_at);
    CHECK_FALSE(store->find_app("app_missing").has_value());
}

TEST(Store, DefaultApp)
{
    auto d = store->default_app();
    CHECK(d.has_value());
    STRCMP_EQUAL(app.id.c_str(), d->id.c_str());
}

TEST(Store, NoDefaultAppInFreshDatabase)
{
    store.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
    std::filesystem::create_directories(dir);
    open();
    CHECK_FALSE(store->default_app().has_value());
    LONGS_EQUAL(0, store->list_apps().size());
    store->create_app("Not default", "h", false);
    CHECK_FALSE(store->default_app().has_value());
}

TEST(Store, FindAppByKeyHash)
{
    auto a = store->find_app_by_key_hash("hash-other");
    CHECK(a.has_value());
    STRCMP_EQUAL(other_app.id.c_str(), a->id.c_str());
    CHECK_FALSE(store->find_app_by_key_hash("hash-othe").has_value());
    CHECK_FALSE(store->find_app_by_key_hash("hash-otherx").has_value());
    CHECK_FALSE(store->find_app_by_key_hash("").has_value());
}

TEST(Store, DuplicateKeyHashIsAnError)
{
    CHECK_THROWS(StoreError, store->create_app("Copy", "hash-main", false));
    LONGS_EQUAL(2, store->list_apps().size());
}

TEST(Store, ListApps)
{
    auto apps = store->list_apps();
    LONGS_EQUAL(2, apps.size());
    std::set<std::string> ids{apps[0].id, apps[1].id};
    CHECK(ids.count(app.id));
    CHECK(ids.count(other_app.id));
}

// ---- users -----------------------------------------------------------------

TEST(Store, CreateAndFindUser)
{
    User u = make_user(app.id, "ada@example.org", "", "Ada");
    u.status = "hi";
    u.photo_url = "https://example.org/ada.png";
    CHECK(store->create_user(u));
    CHECK(g_str_has_prefix(u.id.c_str(), "u_"));
    CHECK(u.created_at > 0);

    auto f = store->find_user(app.id, u.id);
    CHECK(f.has_value());
    STRCMP_EQUAL(u.id.c_str(), f->id.c_str());
    STRCMP_EQUAL(app.id.c_str(), f->app_id.c_str());
    STRCMP_EQUAL("ada@example.org", f->email.c_str());
    STRCMP_EQUAL("", f->phone.c_str());
    STRCMP_EQUAL("Ada", f->name.c_str());
    STRCMP_EQUAL("hi", f->status.c_str());
    STRCMP_EQUAL("https://example.org/ada.png", f->photo_url.c_str());
    LONGS_EQUAL(u.created_at, f->created_at);

    // Users of one app are invisible from another.
    CHECK_FALSE(store->find_user(other_app.id, u.id).has_value());
    CHECK_FALSE(store->find_user(app.id, "u_missing").has_value());
}

TEST(Store, FindUserByEmailAndPhone)
{
    User a = add_user(app.id, "a@example.org");
    User b = add_user(app.id, "", "+15550001");
    User c = add_user(app.id, "c@example.org", "+15550002");

    auto f = store->find_user_by_email(app.id, "a@example.org");
    CHECK(f.has_value());
    STRCMP_EQUAL(a.id.c_str(), f->id.c_str());
    f = store->find_user_by_phone(app.id, "+15550001");
    CHECK(f.has_value());
    STRCMP_EQUAL(b.id.c_str(), f->id.c_str());
    STRCMP_EQUAL("", f->email.c_str());
    f = store->find_user_by_phone(app.id, "+15550002");
    CHECK(f.has_value());
    STRCMP_EQUAL(c.id.c_str(), f->id.c_str());
    f = store->find_user_by_email(app.id, "c@example.org");
    CHECK(f.has_value());
    STRCMP_EQUAL(c.id.c_str(), f->id.c_str());

    CHECK_FALSE(store->find_user_by_email(app.id, "nobody@example.org").has_value());
    CHECK_FALSE(store->find_user_by_phone(app.id, "+15559999").has_value());
    CHECK_FALSE(store->find_user_by_email(other_app.id, "a@example.org").has_value());
    CHECK_FALSE(store->find_user_by_phone(other_app.id, "+15550001").has_value());
    // The absent email of a phone user is not "".
    CHECK_FALSE(store->find_user_by_email(app.id, "").has_value());
}

TEST(Store, EmailUniquePerApp)
{
    User first = add_user(app.id, "same@example.org");
    User dup = make_user(app.id, "same@example.org", "");
    CHECK_FALSE(store->create_user(dup));
    CHECK_FALSE(store->find_user(app.id, dup.id).has_value());

    // The same address is a different user in another app.
    User elsewhere = make_user(other_app.id, "same@example.org", "");
    CHECK(store->create_user(elsewhere));
    CHECK(elsewhere.id != first.id);
    auto f = store->find_user_by_email(other_app.id, "same@example.org");
    CHECK(f.has_value());
    STRCMP_EQUAL(elsewhere.id.c_str(), f->id.c_str());
    f = store->find_user_by_email(app.id, "same@example.org");
    STRCMP_EQUAL(first.id.c_str(), f->id.c_str());
}

TEST(Store, PhoneUniquePerApp)
{
    add_user(app.id, "", "+15550100");
    User dup = make_user(app.id, "x@example.org", "+15550100");
    CHECK_FALSE(store->create_user(dup));
    User elsewhere = make_user(other_app.id, "", "+15550100");
    CHECK(store->create_user(elsewhere));
}

TEST(Store, MissingEmailsOrPhonesDoNotCollide)
{
    // Many users without a phone (or without an email) are fine: the absent
    // value is NULL, not a shared empty string.
    add_user(app.id, "one@example.org");
    add_user(app.id, "two@example.org");
    add_user(app.id, "", "+15550201");
    add_user(app.id, "", "+15550202");
    LONGS_EQUAL(4, store->list_users(app.id, 100, 0).size());
}

TEST(Store, UserNeedsEmailOrPhone)
{
    User nobody = make_user(app.id, "", "");
    CHECK_THROWS(StoreError, store->create_user(nobody));
    LONGS_EQUAL(0, store->list_users(app.id, 100, 0).size());
}

TEST(Store, ListUsersPages)
{
    std::vector<std::string> created;
    for (int i = 0; i < 7; i++)
        created.push_back(add_user(app.id, "p" + std::to_string(i) + "@example.org").id);
    add_user(other_app.id, "p0@example.org");

    auto all = store->list_users(app.id, 100, 0);
    LONGS_EQUAL(7, all.size());
    for (size_t i = 1; i < all.size(); i++)
        CHECK(all[i - 1].created_at <= all[i].created_at);

    std::vector<std::string> paged;
    for (int offset = 0; offset < 10; offset += 3) {
        auto page = store->list_users(app.id, 3, offset);
        LONGS_EQUAL(offset < 6 ? 3 : (offset == 6 ? 1 : 0), page.size());
        for (const User& u : page) {
            STRCMP_EQUAL(app.id.c_str(), u.app_id.c_str());
            paged.push_back(u.id);
        }
    }
    std::vector<std::string> all_ids;
    for (const User& u : all)
        all_ids.push_back(u.id);
    STRCMP_EQUAL(joined(all_ids).c_str(), joined(paged).c_str());
    std::sort(created.begin(), created.end());
    std::sort(all_ids.begin(), all_ids.end());
    STRCMP_EQUAL(joined(created).c_str(), joined(all_ids).c_str());

    LONGS_EQUAL(0, store->list_users(app.id, 0, 0).size());
    LONGS_EQUAL(1, store->list_users(other_app.id, 100, 0).size());
}

TEST(Store, UpdateProfile)
{
    User u = add_user(app.id, "ada@example.org");
    u.name = "Ada Lovelace";
    u.status = "computing";
    u.photo_url = "/files/ada.png";
    u.email = "changed@example.org";  // not part of the profile
    CHECK(store->update_profile(u));
    auto f = store->find_user(app.id, u.id);
    STRCMP_EQUAL("Ada Lovelace", f->name.c_str());
    STRCMP_EQUAL("computing", f->status.c_str());
    STRCMP_EQUAL("/files/ada.png", f->photo_url.c_str());
    STRCMP_EQUAL("ada@example.org", f->email.c_str());

    User missing = u;
    missing.id = "u_missing";
    CHECK_FALSE(store->update_profile(missing));
    User wrong_app = u;
    wrong_app.app_id = other_app.id;
    wrong_app.name = "Mallory";
    CHECK_FALSE(store->update_profile(wrong_app));
    STRCMP_EQUAL("Ada Lovelace", store->find_user(app.id, u.id)->name.c_str());
}

TEST(Store, DeleteUserCascades)
{
    User gone = add_user(app.id, "gone@example.org");
    User stays = add_user(app.id, "stays@example.org");
    store->create_token(make_token("t_gone", gone, 1, 1'000'000), "th-gone");
    store->create_token(make_token("t_stays", stays, 1, 1'000'000), "th-stays");
    // A room `gone` owns (with `stays` in it) and a room `stays` owns (with
    // `gone` in it).
    store->create_room(make_room("r_owned", app.id, gone.id, 10),
                       make_member("r_owned", gone.id, "owner", 127, 10));
    store->put_member(make_member("r_owned", stays.id, "viewer", 30, 11));
    store->create_room(make_room("r_other", app.id, stays.id, 20),
                       make_member("r_other", stays.id, "owner", 127, 20));
    store->put_member(make_member("r_other", gone.id, "publisher", 31, 21));

    CHECK_FALSE(store->delete_user(other_app.id, gone.id));  // wrong app: nothing
    CHECK(store->find_user(app.id, gone.id).has_value());
    CHECK(store->delete_user(app.id, gone.id));
    CHECK_FALSE(store->delete_user(app.id, gone.id));

    CHECK_FALSE(store->find_user(app.id, gone.id).has_value());
    CHECK_FALSE(store->find_token_by_hash("th-gone").has_value());
    LONGS_EQUAL(0, store->list_tokens(gone.id).size());
    CHECK_FALSE(store->find_room(app.id, "r_owned").has_value());
    CHECK_FALSE(store->find_member("r_owned", stays.id).has_value());
    CHECK_FALSE(store->find_member("r_other", gone.id).has_value());

    // Everything of the other user is still there.
    CHECK(store->find_user(app.id, stays.id).has_value());
    CHECK(store->find_token_by_hash("th-stays").has_value());
    CHECK(store->find_room(app.id, "r_other").has_value());
    LONGS_EQUAL(1, store->list_members("r_other").size());
    STRCMP_EQUAL("r_other", joined(room_ids(store->rooms_of_user(app.id, stays.id))).c_str());
}

// ---- tokens ----------------------------------------------------------------

TEST(Store, CreateAndFindToken)
{
    User u = add_user(app.id, "t@example.org");
    store->create_token(make_token("t_1", u, 1000, 5000), "hash-1");
    auto f = store->find_token_by_hash("hash-1");
    CHECK(f.has_value());
    STRCMP_EQUAL("hash-1", f->second.c_str());
    const AccessToken& t = f->first;
    STRCMP_EQUAL("t_1", t.id.c_str());
    STRCMP_EQUAL(u.id.c_str(), t.user_id.c_str());
    STRCMP_EQUAL(app.id.c_str(), t.app_id.c_str());
    LONGS_EQUAL(1000, t.created_at);
    LONGS_EQUAL(5000, t.expires_at);
    CHECK_FALSE(t.revoked);
    CHECK_FALSE(store->find_token_by_hash("hash-2").has_value());
    CHECK_FALSE(store->find_token_by_hash("").has_value());
}

TEST(Store, TokenHashIsUnique)
{
    User u = add_user(app.id, "t@example.org");
    store->create_token(make_token("t_1", u, 1, 2), "same");
    CHECK_THROWS(StoreError, store->create_token(make_token("t_2", u, 1, 2), "same"));
}

TEST(Store, TokenForUnknownUserIsRefused)
{
    User ghost = make_user(app.id, "ghost@example.org", "");
    ghost.id = "u_ghost";
    CHECK_THROWS(StoreError, store->create_token(make_token("t_1", ghost, 1, 2), "h"));
    CHECK_FALSE(store->find_token_by_hash("h").has_value());
}

TEST(Store, ListTokensNewestFirst)
{
    User u = add_user(app.id, "t@example.org");
    User v = add_user(app.id, "v@example.org");
    store->create_token(make_token("t_old", u, 100, 9000), "h1");
    store->create_token(make_token("t_new", u, 300, 9000), "h2");
    store->create_token(make_token("t_mid", u, 200, 9000), "h3");
    store->create_token(make_token("t_v", v, 400, 9000), "h4");
    auto list = store->list_tokens(u.id);
    LONGS_EQUAL(3, list.size());
    STRCMP_EQUAL("t_new", list[0].id.c_str());
    STRCMP_EQUAL("t_mid", list[1].id.c_str());
    STRCMP_EQUAL("t_old", list[2].id.c_str());
}

TEST(Store, RevokeToken)
{
    User u = add_user(app.id, "t@example.org");
    store->create_token(make_token("t_1", u, 1, 9000), "h1");
    CHECK_FALSE(store->revoke_token(other_app.id, "t_1", 50));  // wrong app
    CHECK_FALSE(store->find_token_by_hash("h1")->first.revoked);
    CHECK_FALSE(store->revoke_token(app.id, "t_missing", 50));
    CHECK(store->revoke_token(app.id, "t_1", 50));
    CHECK(store->find_token_by_hash("h1")->first.revoked);
    CHECK_FALSE(store->revoke_token(app.id, "t_1", 60));  // already revoked
    CHECK(store->list_tokens(u.id).at(0).revoked);
}

TEST(Store, RevokeUserTokens)
{
    User u = add_user(app.id, "t@example.org");
    User v = add_user(app.id, "v@example.org");
    store->create_token(make_token("t_1", u, 1, 9000), "h1");
    store->create_token(make_token("t_2", u, 2, 9000), "h2");
    store->create_token(make_token("t_3", u, 3, 9000), "h3");
    store->create_token(make_token("t_v", v, 4, 9000), "hv");
    CHECK(store->revoke_token(app.id, "t_2", 10));
    LONGS_EQUAL(2, store->revoke_user_tokens(u.id, 20));  // t_2 already was
    CHECK(store->find_token_by_hash("h1")->first.revoked);
    CHECK(store->find_token_by_hash("h3")->first.revoked);
    CHECK_FALSE(store->find_token_by_hash("hv")->first.revoked);
    LONGS_EQUAL(0, store->revoke_user_tokens(u.id, 30));
    LONGS_EQUAL(0, store->revoke_user_tokens("u_missing", 30));
}

TEST(Store, DeleteExpiredTokens)
{
    User u = add_user(app.id, "t@example.org");
    store->create_token(make_token("t_past", u, 1, 100), "h1");
    store->create_token(make_token("t_edge", u, 1, 200), "h2");
    store->create_token(make_token("t_future", u, 1, 300), "h3");
    LONGS_EQUAL(1, store->delete_expired_tokens(200));
    CHECK_FALSE(store->find_token_by_hash("h1").has_value());
    CHECK(store->find_token_by_hash("h2").has_value());
    CHECK(store->find_token_by_hash("h3").has_value());
    LONGS_EQUAL(1, store->delete_expired_tokens(201));
    LONGS_EQUAL(0, store->delete_expired_tokens(201));
    LONGS_EQUAL(1, store->list_tokens(u.id).size());
}

// ---- login codes -----------------------------------------------------------

TEST(Store, LoginCodes)
{
    CHECK_FALSE(store->find_login_code(app.id, "a@example.org").has_value());
    store->put_login_code({app.id, "a@example.org", "123456", "Ada", 1000, 301000, 0});
    auto c = store->find_login_code(app.id, "a@example.org");
    CHECK(c.has_value());
    STRCMP_EQUAL(app.id.c_str(), c->app_id.c_str());
    STRCMP_EQUAL("a@example.org", c->address.c_str());
    STRCMP_EQUAL("123456", c->code.c_str());
    STRCMP_EQUAL("Ada", c->name.c_str());
    LONGS_EQUAL(1000, c->created_at);
    LONGS_EQUAL(301000, c->expires_at);
    LONGS_EQUAL(0, c->attempts);

    // Per app: the same address in another app is another code.
    CHECK_FALSE(store->find_login_code(other_app.id, "a@example.org").has_value());
    store->put_login_code({other_app.id, "a@example.org", "999999", "", 1, 2, 0});
    STRCMP_EQUAL("123456", store->find_login_code(app.id, "a@example.org")->code.c_str());

    store->set_login_code_attempts(app.id, "a@example.org", 3);
    LONGS_EQUAL(3, store->find_login_code(app.id, "a@example.org")->attempts);
    LONGS_EQUAL(0, store->find_login_code(other_app.id, "a@example.org")->attempts);

    store->delete_login_code(app.id, "a@example.org");
    CHECK_FALSE(store->find_login_code(app.id, "a@example.org").has_value());
    CHECK(store->find_login_code(other_app.id, "a@example.org").has_value());
    store->delete_login_code(app.id, "a@example.org");  // deleting nothing is fine
}

TEST(Store, PutLoginCodeReplacesThePendingOne)
{
    store->put_login_code({app.id, "+15550300", "111111", "Old", 1, 100, 2});
    store->put_login_code({app.id, "+15550300", "222222", "New", 50, 500, 0});
    auto c = store->find_login_code(app.id, "+15550300");
    STRCMP_EQUAL("222222", c->code.c_str());
    STRCMP_EQUAL("New", c->name.c_str());
    LONGS_EQUAL(50, c->created_at);
    LONGS_EQUAL(500, c->expires_at);
    LONGS_EQUAL(0, c->attempts);
}

TEST(Store, LoginCodeForUnknownAppIsRefused)
{
    CHECK_THROWS(StoreError, store->put_login_code({"app_missing", "a@b.c", "1", "", 1, 2, 0}));
}

// ---- rooms and members -----------------------------------------------------

TEST(Store, CreateRoomWithOwnerMember)
{
    User owner = add_user(app.id, "owner@example.org");
    Room r = make_room("r_1", app.id, owner.id, 5000);
    r.name = "Standup";
    r.preset = "hd";
    store->create_room(r, make_member("r_1", owner.id, "owner", 127, 5000));

    auto f = store->find_room(app.id, "r_1");
    CHECK(f.has_value());
    STRCMP_EQUAL("r_1", f->id.c_str());
    STRCMP_EQUAL(app.id.c_str(), f->app_id.c_str());
    STRCMP_EQUAL(owner.id.c_str(), f->owner_id.c_str());
    STRCMP_EQUAL("Standup", f->name.c_str());
    STRCMP_EQUAL("hd", f->preset.c_str());
    STRCMP_EQUAL("111111", f->participant_pin.c_str());
    STRCMP_EQUAL("222222", f->viewer_pin.c_str());
    CHECK_FALSE(f->locked);
    LONGS_EQUAL(5000, f->created_at);
    CHECK_FALSE(store->find_room(other_app.id, "r_1").has_value());

    auto m = store->find_member("r_1", owner.id);
    CHECK(m.has_value());
    STRCMP_EQUAL("owner", m->role.c_str());
    UNSIGNED_LONGS_EQUAL(127, m->permissions);
    LONGS_EQUAL(5000, m->joined_at);
    STRCMP_EQUAL(owner.name.c_str(), m->user_name.c_str());
}

TEST(Store, CreateRoomIsAllOrNothing)
{
    User owner = add_user(app.id, "owner@example.org");
    // The owner member names a user that does not exist: the room must not
    // be left behind without its owner row.
    CHECK_THROWS(StoreError, store->create_room(make_room("r_1", app.id, owner.id, 1),
                                                make_member("r_1", "u_missing", "owner", 127, 1)));
    CHECK_FALSE(store->find_room(app.id, "r_1").has_value());
    // Equal PINs are refused by the schema.
    Room same = make_room("r_2", app.id, owner.id, 1);
    same.viewer_pin = same.participant_pin;
    CHECK_THROWS(StoreError,
                 store->create_room(same, make_member("r_2", owner.id, "owner", 127, 1)));
    CHECK_FALSE(store->find_room(app.id, "r_2").has_value());
    // The store is still usable afterwards (no transaction left open).
    store->create_room(make_room("r_3", app.id, owner.id, 1),
                       make_member("r_3", owner.id, "owner", 127, 1));
    CHECK(store->find_room(app.id, "r_3").has_value());
}

TEST(Store, RemoveAndBanMemberIsAllOrNothing)
{
    User owner = add_user(app.id, "owner@example.org");
    User bob = add_user(app.id, "bob@example.org");
    User cat = add_user(app.id, "cat@example.org");
    store->create_room(make_room("r_1", app.id, owner.id, 1),
                       make_member("r_1", owner.id, "owner", 127, 1));
    store->put_member(make_member("r_1", bob.id, "publisher", 31, 2));
    store->put_member(make_member("r_1", cat.id, "viewer", 30, 3));

    CHECK_TRUE(store->remove_and_ban_member(RoomBan{"r_1", cat.id, "", owner.id, 500}));
    CHECK_TRUE(store->remove_and_ban_member(RoomBan{"r_1", bob.id, "", owner.id, 400}));
    CHECK_FALSE(store->find_member("r_1", bob.id).has_value());
    CHECK_TRUE(store->is_banned("r_1", bob.id));
    CHECK_FALSE(store->is_banned("r_1", owner.id));
    auto bans = store->list_bans("r_1");
    LONGS_EQUAL(2, bans.size());  // oldest first
    STRCMP_EQUAL(bob.id.c_str(), bans[0].user_id.c_str());
    STRCMP_EQUAL(bob.name.c_str(), bans[0].user_name.c_str());
    STRCMP_EQUAL(owner.id.c_str(), bans[0].by.c_str());
    LONGS_EQUAL(400, bans[0].at);
    STRCMP_EQUAL(cat.id.c_str(), bans[1].user_id.c_str());

    // Not a member (any more): nothing is written.
    CHECK_FALSE(store->remove_and_ban_member(RoomBan{"r_1", bob.id, "", owner.id, 900}));
    LONGS_EQUAL(400, store->list_bans("r_1")[0].at);
    User dan = add_user(app.id, "dan@example.org");
    CHECK_FALSE(store->remove_and_ban_member(RoomBan{"r_1", dan.id, "", owner.id, 900}));
    CHECK_FALSE(store->is_banned("r_1", dan.id));

    CHECK_TRUE(store->delete_ban("r_1", bob.id));
    CHECK_FALSE(store->delete_ban("r_1", bob.id));
    CHECK_FALSE(store->is_banned("r_1", bob.id));
    LONGS_EQUAL(1, store->list_bans("r_1").size());
    // Bans go with the room.
    CHECK_TRUE(store->delete_room(app.id, "r_1"));
    LONGS_EQUAL(0, store->list_bans("r_1").size());
}

TEST(Store, RoomsOfUserNewestFirst)
{
    User me = add_user(app.id, "me@example.org");
    User them = add_user(app.id, "them@example.org");
    User foreign = add_user(other_app.id, "me@example.org");

    store->create_room(make_room("r_mine_old", app.id, me.id, 1000),
                       make_member("r_mine_old", me.id, "owner", 127, 1000));
    store->create_room(make_room("r_joined", app.id, them.id, 2000),
                       make_member("r_joined", them.id, "owner", 127, 2000));
    store->put_member(make_member("r_joined", me.id, "viewer", 30, 2500));
    store->create_room(make_room("r_mine_new", app.id, me.id, 3000),
                       make_member("r_mine_new", me.id, "owner", 127, 3000));
    store->create_room(make_room("r_theirs", app.id, them.id, 4000),
                       make_member("r_theirs", them.id, "owner", 127, 4000));
    store->create_room(make_room("r_foreign", other_app.id, foreign.id, 5000),
                       make_member("r_foreign", foreign.id, "owner", 127, 5000));
    // Even a stray membership in another app's room does not leak it.
    store->put_member(make_member("r_foreign", me.id, "viewer", 30, 5000));

    STRCMP_EQUAL("r_mine_new,r_joined,r_mine_old",
                 joined(room_ids(store->rooms_of_user(app.id, me.id))).c_str());
    STRCMP_EQUAL("r_theirs,r_joined",
                 joined(room_ids(store->rooms_of_user(app.id, them.id))).c_str());
    STRCMP_EQUAL("r_foreign",
                 joined(room_ids(store->rooms_of_user(other_app.id, foreign.id))).c_str());
    LONGS_EQUAL(0, store->rooms_of_user(app.id, foreign.id).size());

    // Leaving a room takes it off the list; owning keeps it on.
    CHECK(store->delete_member("r_joined", me.id));
    STRCMP_EQUAL("r_mine_new,r_mine_old",
                 joined(room_ids(store->rooms_of_user(app.id, me.id))).c_str());
    CHECK(store->delete_member("r_mine_old", me.id));
    STRCMP_EQUAL("r_mine_new,r_mine_old",
                 joined(room_ids(store->rooms_of_user(app.id, me.id))).c_str());
}

TEST(Store, UpdateRoom)
{
    User owner = add_user(app.id, "owner@example.org");
    Room r = make_room("r_1", app.id, owner.id, 1);
    store->create_room(r, make_member("r_1", owner.id, "owner", 127, 1));
    r.name = "Renamed";
    r.preset = "fhd";
    r.locked = true;
    r.participant_pin = "333333";  // PINs and owner are not updated
    r.owner_id = "u_else";
    CHECK(store->update_room(r));
    auto f = store->find_room(app.id, "r_1");
    STRCMP_EQUAL("Renamed", f->name.c_str());
    STRCMP_EQUAL("fhd", f->preset.c_str());
    CHECK(f->locked);
    STRCMP_EQUAL("111111", f->participant_pin.c_str());
    STRCMP_EQUAL(owner.id.c_str(), f->owner_id.c_str());

    Room elsewhere = r;
    elsewhere.app_id = other_app.id;
    elsewhere.name = "Hijacked";
    CHECK_FALSE(store->update_room(elsewhere));
    Room missing = r;
    missing.id = "r_missing";
    CHECK_FALSE(store->update_room(missing));
    STRCMP_EQUAL("Renamed", store->find_room(app.id, "r_1")->name.c_str());
}

TEST(Store, DeleteRoomCascadesMembers)
{
    User owner = add_user(app.id, "owner@example.org");
    User guest = add_user(app.id, "guest@example.org");
    store->create_room(make_room("r_1", app.id, owner.id, 1),
                       make_member("r_1", owner.id, "owner", 127, 1));
    store->put_member(make_member("r_1", guest.id, "publisher", 31, 2));
    store->create_room(make_room("r_2", app.id, owner.id, 2),
                       make_member("r_2", owner.id, "owner", 127, 2));

    CHECK_FALSE(store->delete_room(other_app.id, "r_1"));
    CHECK(store->find_room(app.id, "r_1").has_value());
    CHECK(store->delete_room(app.id, "r_1"));
    CHECK_FALSE(store->delete_room(app.id, "r_1"));
    CHECK_FALSE(store->find_room(app.id, "r_1").has_value());
    LONGS_EQUAL(0, store->list_members("r_1").size());
    CHECK_FALSE(store->find_member("r_1", guest.id).has_value());
    LONGS_EQUAL(0, store->rooms_of_user(app.id, guest.id).size());
    // Users and the other room are untouched.
    CHECK(store->find_user(app.id, guest.id).has_value());
    LONGS_EQUAL(1, store->list_members("r_2").size());
}

TEST(Store, Members)
{
    User owner = add_user(app.id, "owner@example.org");
    User b = add_user(app.id, "b@example.org");
    User c = add_user(app.id, "c@example.org");
    store->create_room(make_room("r_1", app.id, owner.id, 1),
                       make_member("r_1", owner.id, "owner", 127, 100));
    store->put_member(make_member("r_1", c.id, "viewer", 30, 300));
    store->put_member(make_member("r_1", b.id, "publisher", 31, 200));

    auto list = store->list_members("r_1");
    LONGS_EQUAL(3, list.size());
    STRCMP_EQUAL(owner.id.c_str(), list[0].user_id.c_str());
    STRCMP_EQUAL(b.id.c_str(), list[1].user_id.c_str());
    STRCMP_EQUAL(c.id.c_str(), list[2].user_id.c_str());
    STRCMP_EQUAL(b.name.c_str(), list[1].user_name.c_str());
    STRCMP_EQUAL("publisher", list[1].role.c_str());
    UNSIGNED_LONGS_EQUAL(31, list[1].permissions);
    LONGS_EQUAL(200, list[1].joined_at);
    STRCMP_EQUAL("r_1", list[2].room_id.c_str());

    CHECK_FALSE(store->find_member("r_1", "u_missing").has_value());
    CHECK_FALSE(store->find_member("r_missing", b.id).has_value());
    LONGS_EQUAL(0, store->list_members("r_missing").size());
}

TEST(Store, PutMemberUpserts)
{
    User owner = add_user(app.id, "owner@example.org");
    User b = add_user(app.id, "b@example.org");
    store->create_room(make_room("r_1", app.id, owner.id, 1),
                       make_member("r_1", owner.id, "owner", 127, 1));
    store->put_member(make_member("r_1", b.id, "viewer", 30, 500));
    // Promotion: role and permissions change, the join time stays.
    store->put_member(make_member("r_1", b.id, "publisher", 31 | 64, 900));
    auto m = store->find_member("r_1", b.id);
    CHECK(m.has_value());
    STRCMP_EQUAL("publisher", m->role.c_str());
    UNSIGNED_LONGS_EQUAL(95, m->permissions);
    LONGS_EQUAL(500, m->joined_at);
    LONGS_EQUAL(2, store->list_members("r_1").size());
}

TEST(Store, PutMemberChecksReferences)
{
    User owner = add_user(app.id, "owner@example.org");
    store->create_room(make_room("r_1", app.id, owner.id, 1),
                       make_member("r_1", owner.id, "owner", 127, 1));
    CHECK_THROWS(StoreError,
                 store->put_member(make_member("r_missing", owner.id, "viewer", 30, 1)));
    CHECK_THROWS(StoreError, store->put_member(make_member("r_1", "u_missing", "viewer", 30, 1)));
    LONGS_EQUAL(1, store->list_members("r_1").size());
}

TEST(Store, DeleteMember)
{
    User owner = add_user(app.id, "owner@example.org");
    User b = add_user(app.id, "b@example.org");
    store->create_room(make_room("r_1", app.id, owner.id, 1),
                       make_member("r_1", owner.id, "owner", 127, 1));
    store->put_member(make_member("r_1", b.id, "viewer", 30, 2));
    CHECK(store->delete_member("r_1", b.id));
    CHECK_FALSE(store->delete_member("r_1", b.id));
    CHECK_FALSE(store->find_member("r_1", b.id).has_value());
    CHECK(store->find_member("r_1", owner.id).has_value());
    CHECK(store->find_user(app.id, b.id).has_value());
}

TEST(Store, DataSurvivesReopen)
{
    User u = add_user(app.id, "keep@example.org");
    store->create_room(make_room("r_1", app.id, u.id, 1),
                       make_member("r_1", u.id, "owner", 127, 1));
    store->create_token(make_token("t_1", u, 1, 9000), "h1");
    store->put_login_code({app.id, "keep@example.org", "424242", "", 1, 9000, 1});
    open();
    CHECK(store->find_user(app.id, u.id).has_value());
    CHECK(store->find_room(app.id, "r_1").has_value());
    CHECK(store->find_member("r_1", u.id).has_value());
    CHECK(store->find_token_by_hash("h1").has_value());
    STRCMP_EQUAL("424242", store->find_login_code(app.id, "keep@example.org")->code.c_str());
    STRCMP_EQUAL(app.id.c_str(), store->default_app()->id.c_str());
}

TEST(Store, TextIsStoredVerbatim)
{
    User u = make_user(app.id, "ünïcode@example.org", "", "Zoë 'quoted'; DROP TABLE users; --");
    u.status = std::string("tab\tnewline\n");
    CHECK(store->create_user(u));
    auto f = store->find_user_by_email(app.id, "ünïcode@example.org");
    CHECK(f.has_value());
    STRCMP_EQUAL("Zoë 'quoted'; DROP TABLE users; --", f->name.c_str());
    STRCMP_EQUAL("tab\tnewline\n", f->status.c_str());
    LONGS_EQUAL(1, store->list_users(app.id, 10, 0).size());
}

TEST(Store, RecordingsAreFinishedOnceAndGoWithTheirRoom)
{
    User owner = add_user(app.id, "owner@example.org");
    store->create_room(make_room("r_1", app.id, owner.id, 1),
                       make_member("r_1", owner.id, "owner", 127, 1));
    store->create_recording(Recording{"rec_a", "r_1", owner.id, 100, 0, 0, "recording"});
    store->create_recording(Recording{"rec_b", "r_1", owner.id, 200, 0, 0, "recording"});

    auto unfinished = store->unfinished_recordings();
    CHECK_EQUAL(2u, unfinished.size());
    CHECK_TRUE(store->finish_recording("rec_a", 61250, 4718220));
    CHECK_FALSE(store->finish_recording("rec_a", 1, 1));  // done already: kept as it was
    CHECK_FALSE(store->finish_recording("rec_nope", 1, 1));
    unfinished = store->unfinished_recordings();
    CHECK_EQUAL(1u, unfinished.size());
    CHECK_EQUAL(std::string("rec_b"), unfinished[0].id);

    auto a = store->find_recording("r_1", "rec_a");
    CHECK_TRUE(a.has_value());
    CHECK_EQUAL(std::string("done"), a->state);
    CHECK_EQUAL(61250, a->duration_ms);
    CHECK_EQUAL(4718220, a->size);
    CHECK_FALSE(store->find_recording("r_2", "rec_a").has_value());  // by room

    auto list = store->list_recordings("r_1");  // newest first
    CHECK_EQUAL(2u, list.size());
    CHECK_EQUAL(std::string("rec_b"), list[0].id);
    CHECK_EQUAL(std::string("rec_a"), list[1].id);

    CHECK_TRUE(store->delete_recording("r_1", "rec_a"));
    CHECK_FALSE(store->delete_recording("r_1", "rec_a"));
    CHECK_TRUE(store->delete_room(app.id, "r_1"));
    CHECK_TRUE(store->list_recordings("r_1").empty());
    CHECK_TRUE(store->unfinished_recordings().empty());
}
