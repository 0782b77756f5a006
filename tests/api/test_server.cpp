#include <gio/gio.h>

#include <climits>
#include <exception>
#include <filesystem>

#include "test_server.h"

namespace zumzi_test {

// ---- RecordingDelivery -----------------------------------------------------

void RecordingDelivery::deliver(const std::string& app_id, const std::string& address,
                                const std::string& code)
{
    std::lock_guard<std::mutex> lock(mutex_);
    sent_.push_back({app_id, address, code});
}

size_t RecordingDelivery::count() const
{
    std::lock_guard<std::mutex> lock(mutex_);
    return sent_.size();
}

std::vector<DeliveredCode> RecordingDelivery::all() const
{
    std::lock_guard<std::mutex> lock(mutex_);
    return sent_;
}

std::optional<DeliveredCode> RecordingDelivery::last_for(const std::string& address) const
{
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto it = sent_.rbegin(); it != sent_.rend(); ++it)
        if (it->address == address)
            return *it;
    return std::nullopt;
}

// ---- Response --------------------------------------------------------------

JsonNode* Response::at(const std::string& path) const
{
    if (!json)
        return nullptr;
    JsonNode* node = json.get();
    g_auto(GStrv) parts = g_strsplit(path.c_str(), ".", -1);
    for (char** p = parts; *p; p++) {
        if (JSON_NODE_HOLDS_OBJECT(node)) {
            JsonObject* obj = json_node_get_object(node);
            node = json_object_get_member(obj, *p);
        } else if (JSON_NODE_HOLDS_ARRAY(node)) {
            JsonArray* array = json_node_get_array(node);
            char* end = nullptr;
            const guint64 index = g_ascii_strtoull(*p, &end, 10);
            if (!**p || *end || index >= json_array_get_length(array))
                return nullptr;
            node = json_array_get_element(array, static_cast<guint>(index));
        } else {
            return nullptr;
        }
        if (!node)
            return nullptr;
    }
    return node;
}

bool Response::is_null(const std::string& path) const
{
    JsonNode* node = at(path);
    return node && JSON_NODE_HOLDS_NULL(node);
}

std::string Response::str(const std::string& path) const
{
    JsonNode* node = at(path);
    if (!node || !JSON_NODE_HOLDS_VALUE(node) || json_node_get_value_type(node) != G_TYPE_STRING)
        return "<missing: " + path + ">";
    return json_node_get_string(node);
}

int64_t Response::num(const std::string& path) const
{
    JsonNode* node = at(path);
    if (!node || !JSON_NODE_HOLDS_VALUE(node) || json_node_get_value_type(node) != G_TYPE_INT64)
        return INT64_MIN;
    return json_node_get_int(node);
}

bool Response::boolean_is(const std::string& path, bool value) const
{
    JsonNode* node = at(path);
    if (!node || !JSON_NODE_HOLDS_VALUE(node) || json_node_get_value_type(node) != G_TYPE_BOOLEAN)
        return false;
    return (json_node_get_boolean(node) != FALSE) == value;
}

long Response::count(const std::string& path) const
{
    JsonNode* node = path.empty() ? json.get() : at(path);
    if (!node || !JSON_NODE_HOLDS_ARRAY(node))
        return -1;
    return static_cast<long>(json_array_get_length(json_node_get_array(node)));
}

std::vector<std::string> Response::strings(const std::string& path) const
{
    std::vector<std::string> out;
    JsonNode* node = at(path);
    if (!node || !JSON_NODE_HOLDS_ARRAY(node))
        return out;
    JsonArray* array = json_node_get_array(node);
    for (guint i = 0; i < json_array_get_length(array); i++) {
        JsonNode* e = json_array_get_element(array, i);
        if (JSON_NODE_HOLDS_VALUE(e) && json_node_get_value_type(e) == G_TYPE_STRING)
            out.emplace_back(json_node_get_string(e));
        else
            out.emplace_back("<not a string>");
    }
    return out;
}

bool Response::contains_string(const std::string& path, const std::string& value) const
{
    for (const std::string& s : strings(path))
        if (s == value)
            return true;
    return false;
}

std::string Response::find(const std::string& array_path, const std::string& key,
                           const std::string& value) const
{
    const long n = count(array_path);
    for (long i = 0; i < n; i++) {
        const std::string element = array_path + "." + std::to_string(i);
        if (str(element + "." + key) == value)
            return element;
    }
    return "<none>";
}

std::string Response::header(const std::string& name) const
{
    g_autofree char* lower = g_ascii_strdown(name.c_str(), -1);
    auto it = headers.find(lower);
    return it == headers.end() ? std::string() : it->second;
}

std::string Response::describe() const
{
    if (!transport_error.empty())
        return "no response: " + transport_error;
    return "HTTP " + std::to_string(status) + ": " + body.substr(0, 2000);
}

// ---- helpers ---------------------------------------------------------------

std::string json_string(const std::string& value)
{
    g_autoptr(JsonNode) node = json_node_new(JSON_NODE_VALUE);
    json_node_set_string(node, value.c_str());
    g_autofree char* text = json_to_string(node, FALSE);
    return text;
}

bool is_digits(const std::string& s, size_t n)
{
    if (s.size() != n)
        return false;
    for (char c : s)
        if (c < '0' || c > '9')
            return false;
    return true;
}

void check_status_at(const Response& r, int status, const char* file, size_t line)
{
    LONGS_EQUAL_LOCATION(status, r.status, r.describe().c_str(), file, line);
}

void check_error_at(const Response& r, int status, const char* code, const char* file,
                    size_t line)
{
    const std::string text = r.describe();
    LONGS_EQUAL_LOCATION(status, r.status, text.c_str(), file, line);
    STRCMP_EQUAL_LOCATION(code, r.error_code().c_str(), text.c_str(), file, line);
    JsonNode* message = r.at("error.message");
    CHECK_TRUE_LOCATION(message && JSON_NODE_HOLDS_VALUE(message) &&
                            json_node_get_value_type(message) == G_TYPE_STRING &&
                            *json_node_get_string(message),
                        "CHECK_ERROR", "error.message is a non-empty string", text.c_str(), file,
                        line);
    STRCMP_CONTAINS_LOCATION("application/json", r.header("content-type").c_str(), text.c_str(),
                             file, line);
}

// ---- TestServer ------------------------------------------------------------

namespace {

gboolean quit_loop(gpointer loop)
{
    g_main_loop_quit(static_cast<GMainLoop*>(loop));
    return G_SOURCE_REMOVE;
}

// The server's g_message() chatter (migrations applied, new users) would
// drown the test output; warnings and worse still go through.
GLogWriterOutput quiet_writer(GLogLevelFlags level, const GLogField* fields, gsize n_fields,
                              gpointer user_data)
{
    if (level & (G_LOG_LEVEL_MESSAGE | G_LOG_LEVEL_INFO | G_LOG_LEVEL_DEBUG))
        return G_LOG_WRITER_HANDLED;
    return g_log_writer_default(level, fields, n_fields, user_data);
}

void quiet_server_logs()
{
    static std::once_flag once;
    std::call_once(once, [] {
        if (!g_getenv("ZUMZI_TEST_LOGS"))
            g_log_set_writer_func(quiet_writer, nullptr, nullptr);
    });
}

gboolean accept_any_certificate(SoupMessage*, GTlsCertificate*, GTlsCertificateFlags, gpointer)
{
    return TRUE;  // the test servers use self-signed certificates
}

// One call marshalled onto the server thread.
struct Invocation {
    std::function<void()> fn;
    std::mutex mutex;
    std::condition_variable cond;
    bool done = false;
    std::exception_ptr error;
};

gboolean run_invocation(gpointer data)
{
    auto* inv = static_cast<Invocation*>(data);
    try {
        inv->fn();
    } catch (...) {
        inv->error = std::current_exception();
    }
    {
        std::lock_guard<std::mutex> lock(inv->mutex);
        inv->done = true;
    }
    inv->cond.notify_one();
    return G_SOURCE_REMOVE;
}

}  // namespace

TestServer::TestServer(const Configure& configure) : clock_(g_get_real_time() / 1000)
{
    quiet_server_logs();
    g_autoptr(GError) error = nullptr;
    g_autofree char* dir = g_dir_make_tmp("zumzi-api-XXXXXX", &error);
    if (!dir)
        FAIL(error->message);
    dir_ = dir;

    config_.listen = "127.0.0.1";
    config_.port = 0;
    config_.data_dir = dir_;
    config_.schema_dir = ZUMZI_SCHEMA_DIR;
    config_.host_addresses = "127.0.0.1";  // ICE on loopback only
    if (configure)
        configure(config_);

    context_ = g_main_context_new();
    loop_ = g_main_loop_new(context_, FALSE);
    thread_ = std::thread([this] { thread_main(); });
    {
        std::unique_lock<std::mutex> lock(mutex_);
        cond_.wait(lock, [this] { return ready_; });
    }

    if (!start_error_.empty()) {
        const std::string message = "the test server did not start: " + start_error_;
        stop();
        FAIL(message.c_str());
    }

    // Never a proxy (the environment's settings must not matter), and a
    // bound on every request so a hung server fails a test instead of
    // hanging the suite.
    session_ = soup_session_new_with_options("timeout", 30, "idle-timeout", 30, nullptr);
    soup_session_set_proxy_resolver(session_, nullptr);
    started_ = true;
}

TestServer::~TestServer()
{
    stop();
    if (!dir_.empty()) {
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }
}

void TestServer::stop()
{
    if (session_) {
        soup_session_abort(session_);
        g_object_unref(session_);
        session_ = nullptr;
    }
    if (thread_.joinable()) {
        g_main_context_invoke(context_, quit_loop, loop_);
        thread_.join();
    }
    if (loop_) {
        g_main_loop_unref(loop_);
        loop_ = nullptr;
    }
    if (context_) {
        g_main_context_unref(context_);
        context_ = nullptr;
    }
}

void TestServer::thread_main()
{
    g_main_context_push_thread_default(context_);
    std::string error_text;
    try {
        g_autoptr(GError) error = nullptr;
        store_ = zumzi::Store::open(config_.database_path(), config_.schema_dir, &error);
        if (!store_) {
            error_text = std::string("store: ") + error->message;
        } else {
            server_ = std::make_unique<zumzi::Server>(config_, *store_, delivery_, clock_.clock());
            auto created = server_->auth().create_app("default", true);
            default_app_ = {created.first.id, created.second};
            if (!server_->listen(&error))
                error_text = std::string("listen: ") + error->message;
            else
                url_ = server_->url();
        }
    } catch (const std::exception& e) {
        error_text = e.what();
    }
    const bool ok = error_text.empty();
    {
        std::lock_guard<std::mutex> lock(mutex_);
        start_error_ = error_text;
        ready_ = true;
    }
    cond_.notify_one();

    if (ok)
        g_main_loop_run(loop_);

    server_.reset();
    store_.reset();
    // Let the sources the server left behind (closed connections) finish.
    while (g_main_context_iteration(context_, FALSE)) {
    }
    g_main_context_pop_thread_default(context_);
}

void TestServer::run_on_server(const std::function<void(zumzi::Store&, zumzi::Server&)>& fn)
{
    CHECK_TRUE_TEXT(started_, "run_on_server needs a running server");
    Invocation inv;
    inv.fn = [&] { fn(*store_, *server_); };
    g_main_context_invoke(context_, run_invocation, &inv);
    {
        std::unique_lock<std::mutex> lock(inv.mutex);
        inv.cond.wait(lock, [&] { return inv.done; });
    }
    if (inv.error)
        std::rethrow_exception(inv.error);
}

AppKey TestServer::create_app(const std::string& name)
{
    AppKey out;
    run_on_server([&](zumzi::Store&, zumzi::Server& server) {
        auto created = server.auth().create_app(name, false);
        out = {created.first.id, created.second};
    });
    return out;
}

Response TestServer::request(const char* method, const std::string& path,
                             const std::string& body, const std::string& bearer,
                             const RequestOptions& options)
{
    Response response;
    const std::string uri = url_ + path;
    g_autoptr(SoupMessage) msg = soup_message_new(method, uri.c_str());
    if (!msg) {
        response.transport_error = "bad URI " + uri;
        return response;
    }
    g_signal_connect(msg, "accept-certificate", G_CALLBACK(accept_any_certificate), nullptr);
    SoupMessageHeaders* request_headers = soup_message_get_request_headers(msg);
    if (!bearer.empty())
        soup_message_headers_replace(request_headers, "Authorization",
                                     ("Bearer " + bearer).c_str());
    for (const auto& [name, value] : options.headers)
        soup_message_headers_replace(request_headers, name.c_str(), value.c_str());
    if (options.expect_continue)
        soup_message_headers_set_expectations(request_headers, SOUP_EXPECTATION_CONTINUE);
    if (options.send_body) {
        g_autoptr(GBytes) bytes = g_bytes_new(body.data(), body.size());
        if (options.chunked) {
            g_autoptr(GInputStream) stream = g_memory_input_stream_new_from_bytes(bytes);
            soup_message_set_request_body(msg, options.content_type, stream, -1);
        } else {
            soup_message_set_request_body_from_bytes(msg, options.content_type, bytes);
        }
    }

    g_autoptr(GError) error = nullptr;
    g_autoptr(GBytes) reply = soup_session_send_and_read(session_, msg, nullptr, &error);
    if (!reply) {
        response.transport_error = error ? error->message : "unknown error";
        return response;
    }
    response.status = static_cast<int>(soup_message_get_status(msg));
    gsize size = 0;
    const char* data = static_cast<const char*>(g_bytes_get_data(reply, &size));
    response.body.assign(data ? data : "", size);

    SoupMessageHeadersIter iter;
    soup_message_headers_iter_init(&iter, soup_message_get_response_headers(msg));
    const char* name = nullptr;
    const char* value = nullptr;
    while (soup_message_headers_iter_next(&iter, &name, &value)) {
        g_autofree char* lower = g_ascii_strdown(name, -1);
        std::string& slot = response.headers[lower];
        slot += (slot.empty() ? "" : ", ") + std::string(value);
    }

    if (!response.body.empty()) {
        g_autoptr(JsonParser) parser = json_parser_new();
        if (json_parser_load_from_data(parser, response.body.data(),
                                       static_cast<gssize>(response.body.size()), nullptr) &&
            json_parser_get_root(parser)) {
            response.json.reset(json_node_copy(json_parser_get_root(parser)), json_node_unref);
        }
    }
    return response;
}

Response TestServer::get(const std::string& path, const std::string& bearer)
{
    RequestOptions options;
    options.send_body = false;
    return request("GET", path, {}, bearer, options);
}

Response TestServer::del(const std::string& path, const std::string& bearer)
{
    RequestOptions options;
    options.send_body = false;
    return request("DELETE", path, {}, bearer, options);
}

Response TestServer::post(const std::string& path, const std::string& body,
                          const std::string& bearer)
{
    return request("POST", path, body, bearer);
}

Response TestServer::put(const std::string& path, const std::string& body,
                         const std::string& bearer)
{
    return request("PUT", path, body, bearer);
}

Response TestServer::patch(const std::string& path, const std::string& body,
                           const std::string& bearer)
{
    return request("PATCH", path, body, bearer);
}

TestUser TestServer::login(const std::string& email, const std::string& app_id)
{
    const std::string app = app_id.empty() ? "" : ",\"app\":" + json_string(app_id);
    Response asked = post("/api/v1/login", "{\"email\":" + json_string(email) + app + "}");
    CHECK_STATUS(asked, 200);
    const std::string address = asked.str("address");
    auto code = delivery_.last_for(address);
    CHECK_TRUE_TEXT(code.has_value(), ("no code was delivered to " + address).c_str());
    Response in = post("/api/v1/login", "{\"email\":" + json_string(email) + app +
                                            ",\"code\":" + json_string(code->code) + "}");
    CHECK_STATUS(in, 200);
    return {in.str("user.id"), in.str("token"), address};
}

RoomInfo TestServer::create_room(const TestUser& owner, const std::string& body)
{
    Response r = post("/api/v1/rooms", body, owner.token);
    CHECK_STATUS(r, 201);
    return {r.str("id"), r.str("participant_pin"), r.str("viewer_pin")};
}

size_t TestServer::media_rooms()
{
    size_t n = 0;
    run_on_server([&](zumzi::Store&, zumzi::Server& s) { n = s.media().size(); });
    return n;
}

TestUser TestServer::make_user(const std::string& email, const std::string& name,
                               const std::string& api_key)
{
    const std::string& key = api_key.empty() ? default_app_.key : api_key;
    std::string body = "{\"email\":" + json_string(email);
    if (!name.empty())
        body += ",\"name\":" + json_string(name);
    body += "}";
    Response created = post("/api/v1/admin/users", body, key);
    CHECK_STATUS(created, 201);
    const std::string id = created.str("id");
    Response token = post("/api/v1/admin/users/" + id + "/tokens", "", key);
    CHECK_STATUS(token, 201);
    return {id, token.str("token"), created.str("email")};
}

}  // namespace zumzi_test
