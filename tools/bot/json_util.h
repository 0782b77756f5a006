// Small json-glib helpers for the bot's protocol messages.
#pragma once

#include <json-glib/json-glib.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace zumzi::bot::json {

// New floating-free nodes, owned by the object() they are passed to.
JsonNode* str(const std::string& value);
JsonNode* integer(int64_t value);
JsonNode* number(double value);
JsonNode* boolean(bool value);
JsonNode* array(std::vector<JsonNode*> items);
JsonNode* object_node(const std::vector<std::pair<std::string, JsonNode*>>& fields);
// A JSON object as compact text; takes the nodes.
std::string object(const std::vector<std::pair<std::string, JsonNode*>>& fields);
// Any node as text (takes it); pretty: indented.
std::string to_text(JsonNode* node, bool pretty = false);

// A parsed message; object() is null when the text is not a JSON object.
class Doc {
public:
    explicit Doc(const std::string& text);
    ~Doc();
    Doc(const Doc&) = delete;
    Doc& operator=(const Doc&) = delete;
    JsonObject* object() const { return object_; }

private:
    JsonParser* parser_ = nullptr;
    JsonObject* object_ = nullptr;
};

bool has(JsonObject* o, const char* key);
// "" / fallback / nullptr when absent or of another type.
std::string get_str(JsonObject* o, const char* key);
int64_t get_int(JsonObject* o, const char* key, int64_t fallback);
bool get_bool(JsonObject* o, const char* key, bool fallback);
JsonObject* get_obj(JsonObject* o, const char* key);
JsonArray* get_arr(JsonObject* o, const char* key);

}  // namespace zumzi::bot::json
