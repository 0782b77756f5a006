// The REST API test fixture: a real zumzi::Server on 127.0.0.1, an ephemeral
// port and a fresh data directory, running in its own thread with its own
// GMainContext, plus a synchronous libsoup client for the test thread.
//
// Time is an injected, frozen clock that only moves when a test calls
// advance(); login codes are captured by a recording CodeDelivery. Nothing
// here sleeps or measures time.
#pragma once

#include "clock.h"
#include "code_delivery.h"
#include "config.h"
#include "server.h"
#include "store.h"

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

// CppUTest last: its leak-detector macros redefine `new`, which breaks
// standard headers included after it. Test files include system headers
// before this one.
#include <CppUTest/TestHarness.h>

namespace zumzi_test {

// A clock that stands still until told to move.
class ManualClock {
public:
    explicit ManualClock(int64_t start_ms) : now_ms_(start_ms) {}
    int64_t now() const { return now_ms_.load(); }
    void advance_ms(int64_t ms) { now_ms_ += ms; }
    zumzi::Clock clock()
    {
        return [this] { return now_ms_.load(); };
    }

private:
    std::atomic<int64_t> now_ms_;
};

struct DeliveredCode {
    std::string app_id;
    std::string address;
    std::string code;
};

// Records every code the server hands out; deliver() runs on the server
// thread, the accessors on the test thread.
class RecordingDelivery : public zumzi::CodeDelivery {
public:
    void deliver(const std::string& app_id, const std::string& address,
                 const std::string& code) override;

    size_t count() const;
    std::vector<DeliveredCode> all() const;
    // The last code sent to `address` (normalised form), if any.
    std::optional<DeliveredCode> last_for(const std::string& address) const;

private:
    mutable std::mutex mutex_;
    std::vector<DeliveredCode> sent_;
};

// One HTTP response, its headers (names lower-cased) and its JSON body.
struct Response {
    int status = 0;
    std::string body;
    std::map<std::string, std::string> headers;
    std::shared_ptr<JsonNode> json;  // null when the body is not JSON
    std::string transport_error;     // set when no response arrived at all

    // Dotted paths: "user.id", "rooms.0.name". Absent members give nullptr.
    JsonNode* at(const std::string& path) const;
    bool has(const std::string& path) const { return at(path) != nullptr; }
    bool is_null(const std::string& path) const;
    // The string at `path`, or "<missing: path>" so a comparison fails visibly.
    std::string str(const std::string& path) const;
    // The integer at `path`, or INT64_MIN.
    int64_t num(const std::string& path) const;
    // Whether `path` holds the boolean `value` (false when absent or not boolean).
    bool boolean_is(const std::string& path, bool value) const;
    // Length of the array at `path`, or -1.
    long count(const std::string& path) const;
    std::vector<std::string> strings(const std::string& path) const;
    bool contains_string(const std::string& path, const std::string& value) const;
    // The path ("members.2") of the element of the array at `array_path`
    // whose string member `key` is `value`, or "<none>" (whose lookups fail).
    std::string find(const std::string& array_path, const std::string& key,
                     const std::string& value) const;

    std::string header(const std::string& name) const;
    std::string error_code() const { return str("error.code"); }
    std::string error_message() const { return str("error.message"); }
    // For failure messages.
    std::string describe() const;
};

using Headers = std::vector<std::pair<std::string, std::string>>;

struct RequestOptions {
    Headers headers;
    const char* content_type = "application/json";
    bool chunked = false;          // send the body with Transfer-Encoding: chunked
    bool expect_continue = false;  // Expect: 100-continue
    bool send_body = true;         // false: no body at all (GET-style)
};

// A signed-in user as a test sees it.
struct TestUser {
    std::string id;
    std::string token;
    std::string address;
};

// A room as its owner sees it right after creating it.
struct RoomInfo {
    std::string id;
    std::string participant_pin;
    std::string viewer_pin;
};

struct AppKey {
    std::string id;
    std::string key;
};

class TestServer {
public:
    using Configure = std::function<void(zumzi::Config&)>;

    // Starts at once; a failure to start fails the current test.
    explicit TestServer(const Configure& configure = {});
    ~TestServer();
    TestServer(const TestServer&) = delete;
    TestServer& operator=(const TestServer&) = delete;

    bool started() const { return started_; }
    const std::string& url() const { return url_; }
    const std::string& dir() const { return dir_; }
    const zumzi::Config& config() const { return config_; }
    const AppKey& default_app() const { return default_app_; }
    const std::string& api_key() const { return default_app_.key; }

    ManualClock& clock() { return clock_; }
    void advance_s(int64_t seconds) { clock_.advance_ms(seconds * 1000); }
    RecordingDelivery& delivery() { return delivery_; }

    // Runs `fn` on the server thread, inside its main context, and waits.
    // Exceptions thrown by `fn` are rethrown here.
    void run_on_server(const std::function<void(zumzi::Store&, zumzi::Server&)>& fn);

    // Another app (namespace) and its API key, made through Auth on the
    // server thread.
    AppKey create_app(const std::string& name);

    // HTTP on the test thread. `path` starts with '/'; `bearer` empty means
    // no Authorization header.
    Response request(const char* method, const std::string& path, const std::string& body = {},
                     const std::string& bearer = {}, const RequestOptions& options = {});
    Response get(const std::string& path, const std::string& bearer = {});
    Response del(const std::string& path, const std::string& bearer = {});
    Response post(const std::string& path, const std::string& body,
                  const std::string& bearer = {});
    Response put(const std::string& path, const std::string& body,
                 const std::string& bearer = {});
    Response patch(const std::string& path, const std::string& body,
                   const std::string& bearer = {});

    // Asks for a code for `email` (in `app_id`, or the default app), takes
    // it from the recording delivery and trades it for a token.
    TestUser login(const std::string& email, const std::string& app_id = {});
    // A room created by `owner` with `body` (a JSON object); fails the test
    // unless it answers 201.
    RoomInfo create_room(const TestUser& owner,
                         const std::string& body = "{\"name\":\"Standup\"}");
    // Rooms the media engine has live right now.
    size_t media_rooms();

    // A user made with the API key (`api_key`, or the default app's), and a
    // token issued for it.
    TestUser make_user(const std::string& email, const std::string& name = {},
                       const std::string& api_key = {});

private:
    void thread_main();
    void stop();

    zumzi::Config config_;
    ManualClock clock_;
    RecordingDelivery delivery_;
    std::string dir_;
    std::string url_;
    AppKey default_app_;
    bool started_ = false;

    GMainContext* context_ = nullptr;
    GMainLoop* loop_ = nullptr;
    std::thread thread_;
    std::mutex mutex_;
    std::condition_variable cond_;
    bool ready_ = false;
    std::string start_error_;
    std::unique_ptr<zumzi::Store> store_;    // owned by the server thread
    std::unique_ptr<zumzi::Server> server_;  // owned by the server thread

    SoupSession* session_ = nullptr;  // test thread
};

// JSON text helpers for request bodies.
std::string json_string(const std::string& value);  // a quoted, escaped JSON string

// True when `s` is exactly `n` ASCII digits.
bool is_digits(const std::string& s, size_t n);

// Failure helpers that report the caller's line.
void check_status_at(const Response& r, int status, const char* file, size_t line);
void check_error_at(const Response& r, int status, const char* code, const char* file,
                    size_t line);

}  // namespace zumzi_test

// The response has this HTTP status.
#define CHECK_STATUS(response, status) \
    ::zumzi_test::check_status_at((response), (status), __FILE__, __LINE__)
// The response is {"error":{"code":code,"message":non-empty}} with this status.
#define CHECK_ERROR(response, status, code) \
    ::zumzi_test::check_error_at((response), (status), (code), __FILE__, __LINE__)
