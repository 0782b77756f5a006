// Janus VideoRoom over Janus's plain HTTP API (janus.transport.http): the
// blocking room set-up zumzi-bench needs to compare Zumzi with Janus. The
// bots' side (BotMode::JanusPublisher / JanusSubscriber) is in janus.cpp.
// Like rest.h, these use their own SoupSession and iterate no context.
#pragma once

#include <cstdint>
#include <string>

namespace zumzi::bot {

// Creates VideoRoom `room` (plugin defaults: VP8, Opus, no bitrate cap, no
// periodic keyframe requests), `publishers` at most, not permanent, through
// a short-lived Janus session. `url` is the API root, e.g.
// http://127.0.0.1:8088/janus. False with *error set when Janus refuses.
bool janus_create_room(const std::string& url, uint64_t room, int publishers, std::string* error);

// Destroys VideoRoom `room` (everyone still in it is kicked out).
bool janus_destroy_room(const std::string& url, uint64_t room, std::string* error);

}  // namespace zumzi::bot
