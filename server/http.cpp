#include "http.h"

#include <cstdarg>

namespace zumzi {

void fail(int status, const char* code, const char* format, ...)
{
    va_list args;
    va_start(args, format);
    g_autofree char* message = g_strdup_vprintf(format, args);
    va_end(args);
    throw ApiError{status, code, message};
}

void fail_rate_limited(int64_t retry_after_ms, const char* message)
{
    throw ApiError{429, "RATELIMIT", message, static_cast<int>((retry_after_ms + 999) / 1000)};
}

// ---- JsonOut ---------------------------------------------------------------

JsonOut& JsonOut::set(const char* key, const std::string& value)
{
    json_object_set_string_member(obj_, key, value.c_str());
    return *this;
}

JsonOut& JsonOut::set(const char* key, const char* value)
{
    json_object_set_string_member(obj_, key, value);
    return *this;
}

JsonOut& JsonOut::set(const char* key, int64_t value)
{
    json_object_set_int_member(obj_, key, value);
    return *this;
}

JsonOut& JsonOut::set(const char* key, bool value)
{
    json_object_set_boolean_member(obj_, key, value);
    return *this;
}

JsonOut& JsonOut::set(const char* key, JsonOut&& value)
{
    json_object_set_object_member(obj_, key, value.release());
    return *this;
}

JsonOut& JsonOut::set(const char* key, std::vector<JsonOut>&& values)
{
    JsonArray* array = json_array_sized_new(values.size());
    for (JsonOut& v : values)
        json_array_add_object_element(array, v.release());
    json_object_set_array_member(obj_, key, array);
    return *this;
}

JsonOut& JsonOut::set(const char* key, const std::vector<std::string>& values)
{
    JsonArray* array = json_array_sized_new(values.size());
    for (const std::string& v : values)
        json_array_add_string_element(array, v.c_str());
    json_object_set_array_member(obj_, key, array);
    return *this;
}

JsonOut& JsonOut::set_node(const char* key, JsonNode* value)
{
    json_object_set_member(obj_, key, json_node_copy(value));
    return *this;
}

JsonOut& JsonOut::set_null(const char* key)
{
    json_object_set_null_member(obj_, key);
    return *this;
}

JsonObject* JsonOut::release()
{
    JsonObject* o = obj_;
    obj_ = nullptr;
    return o;
}

// ---- Request ---------------------------------------------------------------

const char* Request::header(const char* name) const
{
    return soup_message_headers_get_one(soup_server_message_get_request_headers(msg_), name);
}

std::string Request::client_ip() const
{
    const char* host = soup_server_message_get_remote_host(msg_);
    return host ? host : "";
}

std::optional<std::string> Request::query(const char* name) const
{
    const char* q = g_uri_get_query(soup_server_message_get_uri(msg_));
    if (!q)
        return std::nullopt;
    g_autoptr(GHashTable) form = soup_form_decode(q);
    const char* v = static_cast<const char*>(g_hash_table_lookup(form, name));
    if (!v)
        return std::nullopt;
    return std::string(v);
}

JsonObject* parse_json_object(JsonParser* parser, std::string_view text)
{
    if (!g_utf8_validate(text.data(), static_cast<gssize>(text.size()), nullptr))
        fail(400, "BADREQUEST", "the body is not valid UTF-8");
    // An empty body is an empty object: every field absent.
    if (text.empty())
        text = "{}";
    g_autoptr(GError) error = nullptr;
    if (!json_parser_load_from_data(parser, text.data(), static_cast<gssize>(text.size()), &error))
        fail(400, "BADREQUEST", "malformed JSON: %s", error->message);
    JsonNode* root = json_parser_get_root(parser);
    if (!root || !JSON_NODE_HOLDS_OBJECT(root))
        fail(400, "BADREQUEST", "the body must be a JSON object");
    return json_node_get_object(root);
}

std::string to_json_text(JsonOut&& value)
{
    g_autoptr(JsonNode) root = json_node_new(JSON_NODE_OBJECT);
    json_node_take_object(root, value.release());
    g_autofree char* text = json_to_string(root, FALSE);
    return text;
}

JsonObject* Request::json()
{
    if (!object_) {
        parser_.reset(json_parser_new_immutable());
        object_ = parse_json_object(parser_.get(), body_);
    }
    return object_;
}

// ---- JsonFields ------------------------------------------------------------

bool JsonFields::has_field(const char* name) const
{
    return json_object_get_member(object_, name) != nullptr;
}

std::optional<std::string> JsonFields::string_field(const char* name) const
{
    JsonNode* node = json_object_get_member(object_, name);
    if (!node)
        return std::nullopt;
    if (!JSON_NODE_HOLDS_VALUE(node) || json_node_get_value_type(node) != G_TYPE_STRING)
        fail(400, "BADREQUEST", "'%s' must be a string", name);
    return std::string(json_node_get_string(node));
}

std::string JsonFields::required_string(const char* name) const
{
    auto v = string_field(name);
    if (!v)
        fail(400, "BADREQUEST", "'%s' is required", name);
    return *v;
}

std::optional<int64_t> JsonFields::int_field(const char* name) const
{
    JsonNode* node = json_object_get_member(object_, name);
    if (!node)
        return std::nullopt;
    if (!JSON_NODE_HOLDS_VALUE(node) || json_node_get_value_type(node) != G_TYPE_INT64)
        fail(400, "BADREQUEST", "'%s' must be an integer", name);
    return json_node_get_int(node);
}

std::optional<bool> JsonFields::bool_field(const char* name) const
{
    JsonNode* node = json_object_get_member(object_, name);
    if (!node)
        return std::nullopt;
    if (!JSON_NODE_HOLDS_VALUE(node) || json_node_get_value_type(node) != G_TYPE_BOOLEAN)
        fail(400, "BADREQUEST", "'%s' must be true or false", name);
    return json_node_get_boolean(node) != FALSE;
}

std::optional<std::vector<std::string>> JsonFields::string_list_field(const char* name) const
{
    JsonNode* node = json_object_get_member(object_, name);
    if (!node)
        return std::nullopt;
    if (!JSON_NODE_HOLDS_ARRAY(node))
        fail(400, "BADREQUEST", "'%s' must be an array of strings", name);
    JsonArray* array = json_node_get_array(node);
    std::vector<std::string> out;
    for (guint i = 0; i < json_array_get_length(array); i++) {
        JsonNode* e = json_array_get_element(array, i);
        if (!JSON_NODE_HOLDS_VALUE(e) || json_node_get_value_type(e) != G_TYPE_STRING)
            fail(400, "BADREQUEST", "'%s' must be an array of strings", name);
        out.emplace_back(json_node_get_string(e));
    }
    return out;
}

// ---- replies ---------------------------------------------------------------

void send_json(SoupServerMessage* msg, int status, JsonObject* body)
{
    g_autoptr(JsonNode) root = json_node_new(JSON_NODE_OBJECT);
    json_node_take_object(root, body);
    char* text = json_to_string(root, FALSE);
    const size_t length = strlen(text);
    // libsoup 3.2 has no phrase for 429 and would say "Unknown Error".
    soup_server_message_set_status(msg, static_cast<guint>(status),
                                   status == 429 ? "Too Many Requests" : nullptr);
    soup_message_headers_replace(soup_server_message_get_response_headers(msg), "Cache-Control",
                                 "no-store");
    soup_server_message_set_response(msg, "application/json", SOUP_MEMORY_TAKE, text, length);
}

void send_reply(SoupServerMessage* msg, Reply&& reply)
{
    send_json(msg, reply.status, reply.body.release());
    if (!reply.location.empty())
        soup_message_headers_replace(soup_server_message_get_response_headers(msg), "Location",
                                     reply.location.c_str());
}

void send_error(SoupServerMessage* msg, const ApiError& error)
{
    JsonOut inner;
    inner.set("code", error.code).set("message", error.message);
    JsonOut outer;
    outer.set("error", std::move(inner));
    send_json(msg, error.status, outer.release());
    if (error.status == 401)
        soup_message_headers_replace(soup_server_message_get_response_headers(msg),
                                     "WWW-Authenticate", "Bearer");
    if (error.retry_after_s > 0) {
        g_autofree char* seconds = g_strdup_printf("%d", error.retry_after_s);
        soup_message_headers_replace(soup_server_message_get_response_headers(msg), "Retry-After",
                                     seconds);
    }
}

}  // namespace zumzi
