// HTTP plumbing for the REST API: the error every handler may throw, a
// request with typed access to its JSON body, and a JSON reply.
#pragma once

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace zumzi {

// Thrown by handlers; the server turns it into
// {"error":{"code":..., "message":...}} with `status`.
struct ApiError {
    int status;
    std::string code;
    std::string message;
    int retry_after_s = 0;  // sent as Retry-After when > 0 (RATELIMIT)
};

[[noreturn]] void fail(int status, const char* code, const char* format, ...) G_GNUC_PRINTF(3, 4);

// 429 RATELIMIT with `message` and a Retry-After of `retry_after_ms`, rounded up.
[[noreturn]] void fail_rate_limited(int64_t retry_after_ms, const char* message);

// A JSON object under construction.
class JsonOut {
public:
    JsonOut() : obj_(json_object_new()) {}
    JsonOut(JsonOut&& other) noexcept : obj_(other.obj_) { other.obj_ = nullptr; }
    JsonOut& operator=(JsonOut&& other) noexcept
    {
        if (this != &other) {
            if (obj_)
                json_object_unref(obj_);
            obj_ = other.obj_;
            other.obj_ = nullptr;
        }
        return *this;
    }
    JsonOut(const JsonOut&) = delete;
    ~JsonOut()
    {
        if (obj_)
            json_object_unref(obj_);
    }

    JsonOut& set(const char* key, const std::string& value);
    JsonOut& set(const char* key, const char* value);
    JsonOut& set(const char* key, int64_t value);
    JsonOut& set(const char* key, int value) { return set(key, static_cast<int64_t>(value)); }
    JsonOut& set(const char* key, bool value);
    JsonOut& set(const char* key, JsonOut&& value);
    JsonOut& set(const char* key, std::vector<JsonOut>&& values);
    JsonOut& set(const char* key, const std::vector<std::string>& values);
    JsonOut& set_null(const char* key);
    JsonOut& set_node(const char* key, JsonNode* value);  // copies `value`

    // Hands over the object; this JsonOut is empty afterwards.
    JsonObject* release();

private:
    JsonObject* obj_;
};

// Typed access to the fields of a JSON object: absent gives nullopt, a wrong
// type throws BADREQUEST naming the field. Used for REST bodies and
// WebSocket messages alike.
class JsonFields {
public:
    explicit JsonFields(JsonObject* object) : object_(object) {}
    bool has_field(const char* name) const;
    std::optional<std::string> string_field(const char* name) const;
    std::string required_string(const char* name) const;
    std::optional<int64_t> int_field(const char* name) const;
    std::optional<bool> bool_field(const char* name) const;
    std::optional<std::vector<std::string>> string_list_field(const char* name) const;

private:
    JsonObject* object_;
};

// Parses `text` as a JSON object (an empty text reads as {}), or throws
// BADREQUEST. The parser owns the object.
JsonObject* parse_json_object(JsonParser* parser, std::string_view text);

// Compact JSON text of `value`.
std::string to_json_text(JsonOut&& value);

struct Reply {
    int status = 200;
    JsonOut body;
    std::string location;  // sent as Location (201 Created) when not empty
    // The handler paused the message and answers it later itself
    // (soup_server_message_pause/unpause): the server sends nothing now.
    bool deferred = false;
};

class Request {
public:
    // `body` is the request body as the server collected it (never more than
    // the configured limit).
    Request(SoupServerMessage* msg, std::vector<std::string> params, std::string_view body)
        : msg_(msg), params_(std::move(params)), body_(body)
    {
    }

    SoupServerMessage* message() const { return msg_; }
    std::string_view body() const { return body_; }
    // Values of the {placeholders} of the matched route, in order.
    const std::string& param(size_t i) const { return params_.at(i); }
    const char* header(const char* name) const;
    std::string client_ip() const;
    std::optional<std::string> query(const char* name) const;

    // The body as a JSON object; throws BADREQUEST when it is not one. An
    // empty body reads as {}.
    JsonObject* json();
    // Typed fields of that object, see JsonFields.
    bool has_field(const char* name) { return JsonFields(json()).has_field(name); }
    std::optional<std::string> string_field(const char* name)
    {
        return JsonFields(json()).string_field(name);
    }
    std::string required_string(const char* name)
    {
        return JsonFields(json()).required_string(name);
    }
    std::optional<int64_t> int_field(const char* name)
    {
        return JsonFields(json()).int_field(name);
    }
    std::optional<bool> bool_field(const char* name) { return JsonFields(json()).bool_field(name); }
    std::optional<std::vector<std::string>> string_list_field(const char* name)
    {
        return JsonFields(json()).string_list_field(name);
    }

private:
    SoupServerMessage* msg_;
    std::vector<std::string> params_;
    std::string_view body_;
    std::unique_ptr<JsonParser, decltype(&g_object_unref)> parser_{nullptr, g_object_unref};
    JsonObject* object_ = nullptr;  // owned by parser_
};

// Serialises `body` and sets it as the response with `status`.
void send_json(SoupServerMessage* msg, int status, JsonObject* body);
void send_error(SoupServerMessage* msg, const ApiError& error);
// A handler's Reply: status, JSON body, Location.
void send_reply(SoupServerMessage* msg, Reply&& reply);

}  // namespace zumzi
