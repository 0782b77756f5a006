#include "json_util.h"

namespace zumzi::bot::json {

JsonNode* str(const std::string& value)
{
    JsonNode* n = json_node_new(JSON_NODE_VALUE);
    json_node_set_string(n, value.c_str());
    return n;
}

JsonNode* integer(int64_t value)
{
    JsonNode* n = json_node_new(JSON_NODE_VALUE);
    json_node_set_int(n, value);
    return n;
}

JsonNode* number(double value)
{
    JsonNode* n = json_node_new(JSON_NODE_VALUE);
    json_node_set_double(n, value);
    return n;
}

JsonNode* boolean(bool value)
{
    JsonNode* n = json_node_new(JSON_NODE_VALUE);
    json_node_set_boolean(n, value);
    return n;
}

JsonNode* array(std::vector<JsonNode*> items)
{
    JsonArray* a = json_array_new();
    for (JsonNode* item : items)
        json_array_add_element(a, item);
    JsonNode* n = json_node_new(JSON_NODE_ARRAY);
    json_node_take_array(n, a);
    return n;
}

JsonNode* object_node(const std::vector<std::pair<std::string, JsonNode*>>& fields)
{
    JsonObject* o = json_object_new();
    for (const auto& [key, value] : fields)
        json_object_set_member(o, key.c_str(), value);
    JsonNode* n = json_node_new(JSON_NODE_OBJECT);
    json_node_take_object(n, o);
    return n;
}

std::string to_text(JsonNode* node, bool pretty)
{
    JsonGenerator* gen = json_generator_new();
    json_generator_set_root(gen, node);
    json_generator_set_pretty(gen, pretty);
    gchar* text = json_generator_to_data(gen, nullptr);
    std::string s = text ? text : "";
    g_free(text);
    g_object_unref(gen);
    json_node_unref(node);
    return s;
}

std::string object(const std::vector<std::pair<std::string, JsonNode*>>& fields)
{
    return to_text(object_node(fields));
}

Doc::Doc(const std::string& text)
{
    parser_ = json_parser_new();
    if (!json_parser_load_from_data(parser_, text.data(), static_cast<gssize>(text.size()),
                                    nullptr))
        return;
    JsonNode* root = json_parser_get_root(parser_);
    if (root && JSON_NODE_HOLDS_OBJECT(root))
        object_ = json_node_get_object(root);
}

Doc::~Doc()
{
    g_object_unref(parser_);
}

bool has(JsonObject* o, const char* key)
{
    return o && json_object_has_member(o, key);
}

std::string get_str(JsonObject* o, const char* key)
{
    JsonNode* n = o ? json_object_get_member(o, key) : nullptr;
    if (!n || !JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_STRING)
        return {};
    const gchar* s = json_node_get_string(n);
    return s ? s : "";
}

int64_t get_int(JsonObject* o, const char* key, int64_t fallback)
{
    JsonNode* n = o ? json_object_get_member(o, key) : nullptr;
    if (!n || !JSON_NODE_HOLDS_VALUE(n))
        return fallback;
    GType t = json_node_get_value_type(n);
    if (t == G_TYPE_INT64)
        return json_node_get_int(n);
    if (t == G_TYPE_DOUBLE)
        return static_cast<int64_t>(json_node_get_double(n));
    return fallback;
}

bool get_bool(JsonObject* o, const char* key, bool fallback)
{
    JsonNode* n = o ? json_object_get_member(o, key) : nullptr;
    if (!n || !JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_BOOLEAN)
        return fallback;
    return json_node_get_boolean(n) != FALSE;
}

JsonObject* get_obj(JsonObject* o, const char* key)
{
    JsonNode* n = o ? json_object_get_member(o, key) : nullptr;
    return n && JSON_NODE_HOLDS_OBJECT(n) ? json_node_get_object(n) : nullptr;
}

JsonArray* get_arr(JsonObject* o, const char* key)
{
    JsonNode* n = o ? json_object_get_member(o, key) : nullptr;
    return n && JSON_NODE_HOLDS_ARRAY(n) ? json_node_get_array(n) : nullptr;
}

}  // namespace zumzi::bot::json
