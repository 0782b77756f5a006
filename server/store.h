// The store: every SQL statement of Zumzi lives in this module. SQLite in WAL
// mode with foreign keys on; schema migrations from data/schema/ are applied
// at open. Each method is one short transaction (or one statement), so a
// method that returned has committed.
#pragma once

#include <glib.h>
#include <sqlite3.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

namespace zumzi {

// A failure of the database itself (disk full, corruption): the request that
// hit it fails with a 500 and nothing is half-written.
struct StoreError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct App {
    std::string id;
    std::string name;
    bool is_default = false;
    int64_t created_at = 0;  // ms since the epoch, as every time in the store
};

struct User {
    std::string id;
    std::string app_id;
    std::string email;  // empty when the user signed up by phone
    std::string phone;  // empty when the user signed up by email
    std::string name;
    std::string status;
    std::string photo_url;
    int64_t created_at = 0;
};

struct AccessToken {
    std::string id;  // public handle, used to revoke; the secret is stored hashed
    std::string user_id;
    std::string app_id;
    int64_t created_at = 0;
    int64_t expires_at = 0;
    bool revoked = false;
};

struct LoginCode {
    std::string app_id;
    std::string address;  // normalised email or phone
    std::string code;
    std::string name;  // display name given with the request, for a new user
    int64_t created_at = 0;
    int64_t expires_at = 0;
    int attempts = 0;
};

struct Room {
    std::string id;
    std::string app_id;
    std::string owner_id;
    std::string name;
    std::string preset;
    std::string participant_pin;
    std::string viewer_pin;
    bool locked = false;
    int64_t created_at = 0;
    int last_n = 0;  // camera videos forwarded, latest speakers first; 0: all
};

struct Member {
    std::string room_id;
    std::string user_id;
    std::string user_name;  // read-only, joined from users
    std::string role;
    uint32_t permissions = 0;
    int64_t joined_at = 0;
};

// A member a moderator removed from a room: they may not join it again
// until a moderator lets them back in.
struct RoomBan {
    std::string room_id;
    std::string user_id;
    std::string user_name;  // read-only, joined from users
    std::string by;         // the moderator's user id
    int64_t at = 0;
};

// A recording of a room's composite; the file is
// <data_dir>/recordings/<room_id>/<id>.mp4.
struct Recording {
    std::string id;  // "rec_..."
    std::string room_id;
    std::string started_by;  // user id
    int64_t started_at = 0;
    int64_t duration_ms = 0;  // set when done
    int64_t size = 0;         // bytes, set when done
    std::string state;        // "recording" or "done"
};

struct Group {
    std::string id;
    std::string app_id;
    std::string owner_id;
    std::string name;
    std::string photo_url;
    int64_t created_at = 0;
};

struct GroupMember {
    std::string group_id;
    std::string user_id;
    std::string user_name;  // read-only, joined from users
    std::string role;       // "owner", "admin" or "member"
    int64_t joined_at = 0;
};

// An uploaded file (the bytes are on disk under `storage`).
struct File {
    std::string id;
    std::string app_id;
    std::string owner_id;
    std::string name;
    std::string content_type;
    int64_t size = 0;
    std::string storage;
    std::string thumbnail;  // empty: none
    int width = 0;          // pictures only
    int height = 0;
    bool is_public = false;
    int64_t created_at = 0;
};

// A chat message. Ids grow with every message of the server, so they order
// messages within and across conversations.
struct Message {
    int64_t id = 0;
    std::string app_id;
    std::string conversation;  // "dm:<a>:<b>", "group:<id>" or "room:<id>"
    std::string sender_id;
    std::string client_id;  // the sender's own id for it: resends are idempotent
    std::string text;
    int64_t forwarded_from = 0;  // 0: not forwarded
    int64_t created_at = 0;
    int64_t deleted_at = 0;  // 0: not deleted
    // The attachment, without storage names (thumbnail is "yes" when it has one).
    std::optional<File> file;
};

// A conversation a user takes part in, for their list of recent ones.
struct ConversationSummary {
    std::string conversation;
    std::optional<Message> last;  // none yet
    int64_t unread = 0;
    int64_t delivered_id = 0;
    int64_t read_id = 0;
};

struct ConversationCursor {
    int64_t delivered_id = 0;
    int64_t read_id = 0;
};

class Store {
public:
    // Opens (creating if needed) the database at `path` and applies the
    // migrations found in `schema_dir`. On failure the database is left as it
    // was and `error` says why.
    static std::unique_ptr<Store> open(const std::string& path, const std::string& schema_dir,
                                       GError** error);
    ~Store();
    Store(const Store&) = delete;
    Store& operator=(const Store&) = delete;

    int schema_version();

    // Apps
    App create_app(const std::string& name, const std::string& api_key_hash, bool is_default);
    std::optional<App> default_app();
    std::optional<App> find_app(const std::string& id);
    std::optional<App> find_app_by_key_hash(const std::string& api_key_hash);
    std::vector<App> list_apps();

    // Users. create_user returns false when the email or phone is taken in that app.
    bool create_user(User& user);
    std::optional<User> find_user(const std::string& app_id, const std::string& id);
    std::optional<User> find_user_by_email(const std::string& app_id, const std::string& email);
    std::optional<User> find_user_by_phone(const std::string& app_id, const std::string& phone);
    std::vector<User> list_users(const std::string& app_id, int limit, int offset);
    bool update_profile(const User& user);
    bool delete_user(const std::string& app_id, const std::string& id);

    // Access tokens, looked up by the hash of the secret.
    void create_token(const AccessToken& token, const std::string& token_hash);
    // Returns the token row and its stored hash (for a constant-time recheck).
    std::optional<std::pair<AccessToken, std::string>> find_token_by_hash(const std::string& hash);
    std::vector<AccessToken> list_tokens(const std::string& user_id);
    bool revoke_token(const std::string& app_id, const std::string& token_id, int64_t now);
    int revoke_user_tokens(const std::string& user_id, int64_t now);
    int delete_expired_tokens(int64_t now);

    // Login codes: at most one pending code per address per app.
    std::optional<LoginCode> find_login_code(const std::string& app_id, const std::string& address);
    void put_login_code(const LoginCode& code);
    void set_login_code_attempts(const std::string& app_id, const std::string& address,
                                 int attempts);
    void delete_login_code(const std::string& app_id, const std::string& address);

    // Rooms and members
    void create_room(const Room& room, const Member& owner);
    std::optional<Room> find_room(const std::string& app_id, const std::string& id);
    // By id alone (room ids are unique across apps): WHIP/WHEP URLs carry
    // only the room id and a PIN.
    std::optional<Room> find_room_by_id(const std::string& id);
    bool update_room(const Room& room);
    bool delete_room(const std::string& app_id, const std::string& id);
    // Rooms the user owns or is a member of, newest first.
    std::vector<Room> rooms_of_user(const std::string& app_id, const std::string& user_id);
    void put_member(const Member& member);
    std::optional<Member> find_member(const std::string& room_id, const std::string& user_id);
    std::vector<Member> list_members(const std::string& room_id);
    bool delete_member(const std::string& room_id, const std::string& user_id);
    // Removes the member and records the ban, in one transaction; false
    // (and nothing changed) if they were not a member.
    bool remove_and_ban_member(const RoomBan& ban);
    bool is_banned(const std::string& room_id, const std::string& user_id);
    // Oldest first.
    std::vector<RoomBan> list_bans(const std::string& room_id);
    bool delete_ban(const std::string& room_id, const std::string& user_id);

    // Recordings
    void create_recording(const Recording& recording);
    std::optional<Recording> find_recording(const std::string& room_id, const std::string& id);
    // Newest first.
    std::vector<Recording> list_recordings(const std::string& room_id);
    // Every recording still in state "recording", of any room (at start-up:
    // left so by a server that stopped).
    std::vector<Recording> unfinished_recordings();
    // Marks it done with its duration and size; false if it was not recording.
    bool finish_recording(const std::string& id, int64_t duration_ms, int64_t size);
    bool delete_recording(const std::string& room_id, const std::string& id);

    // Groups
    void create_group(const Group& group, const std::vector<GroupMember>& members);
    std::optional<Group> find_group(const std::string& app_id, const std::string& id);
    bool update_group(const Group& group);
    bool delete_group(const std::string& app_id, const std::string& id);
    std::vector<Group> groups_of_user(const std::string& app_id, const std::string& user_id);
    void put_group_member(const GroupMember& member);
    std::optional<GroupMember> find_group_member(const std::string& group_id,
                                                 const std::string& user_id);
    std::vector<GroupMember> list_group_members(const std::string& group_id);
    bool delete_group_member(const std::string& group_id, const std::string& user_id);

    // Messages. A user's conversations are their groups, the rooms where they
    // may receive chat (permission bit `room_receive`) and the 1-1
    // conversations they have a cursor in; a member sees the messages sent
    // since they joined.
    //
    // Stores `message` (its id and created_at are set here) unless the
    // sender already sent one with the same client_id: then that one is
    // returned and the bool is false. `cursor_users` get a cursor row in the
    // conversation if they have none (the two sides of a 1-1).
    std::pair<Message, bool> insert_message(Message message,
                                            const std::vector<std::string>& cursor_users);
    std::optional<Message> find_message(const std::string& app_id, int64_t id);
    // Newest first, ids below `before` (0: from the newest), at most `limit`,
    // not older than `since` (ms).
    std::vector<Message> history(const std::string& conversation, int64_t before, int limit,
                                 int64_t since);
    // Messages of others in the user's conversations that are above the
    // user's delivered cursor and above `after` (an id), oldest first.
    std::vector<Message> pending_messages(const std::string& user_id, uint32_t room_receive,
                                          int64_t after, int limit);
    // Messages of the user's conversations that it had been delivered and
    // that were deleted at or after `since` (ms), oldest first, at most
    // `limit`: what a client that was away must hear was deleted.
    std::vector<Message> deleted_since(const std::string& user_id, uint32_t room_receive,
                                       int64_t since, int limit);
    // Newest conversations first (by last message).
    std::vector<ConversationSummary> conversations_of(const std::string& user_id,
                                                      uint32_t room_receive, int limit);
    // The highest message id of a conversation, 0 if it has none.
    int64_t last_message_id(const std::string& conversation);
    ConversationCursor cursor(const std::string& conversation, const std::string& user_id);
    // Moves the user's delivered (and with `read`, read) cursor up to
    // `up_to`; never backwards. Returns the cursor after the change.
    ConversationCursor advance_cursor(const std::string& conversation, const std::string& user_id,
                                      int64_t up_to, bool read);
    // Clears the text and marks it deleted; false if it was already.
    bool delete_message(int64_t id, int64_t now);

    // Files
    void create_file(const File& file);
    std::optional<File> find_file(const std::string& app_id, const std::string& id);
    // The owner, everyone in the app for a public file, and the members of
    // the conversations a message carrying it went to (since they joined).
    bool file_readable(const File& file, const std::string& user_id, uint32_t room_receive);

    // Presence: when the user's last WebSocket closed (0: never seen).
    void set_last_seen(const std::string& user_id, int64_t at);
    int64_t last_seen(const std::string& user_id);
    // Who hears of the user's presence: users who share a 1-1 conversation
    // or a group with them, or have them as a contact; not those they blocked.
    std::vector<std::string> peers_of(const std::string& user_id);

    // Contacts and blocks. add/remove/block/unblock return false when
    // nothing changed.
    bool add_contact(const std::string& owner_id, const std::string& contact_id, int64_t at);
    bool remove_contact(const std::string& owner_id, const std::string& contact_id);
    std::vector<User> list_contacts(const std::string& owner_id);
    bool block_user(const std::string& user_id, const std::string& blocked_id, int64_t at);
    bool unblock_user(const std::string& user_id, const std::string& blocked_id);
    std::vector<User> list_blocked(const std::string& user_id);
    bool is_blocked(const std::string& user_id, const std::string& by_id);

private:
    class Statement;
    explicit Store(sqlite3* db);
    bool migrate(const std::string& schema_dir, GError** error);
    Statement prepare(const char* sql);
    void exec(const char* sql);

    sqlite3* db_;
    std::unordered_map<const char*, sqlite3_stmt*> statements_;  // keyed by SQL literal
};

}  // namespace zumzi
