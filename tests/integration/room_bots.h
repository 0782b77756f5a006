// What the integration tests share: zumzi-bot participants joined to a room
// of a TestServer, waiting on the test thread's context (where the bots
// live), a description of a bot for failure messages, and counting the
// elements of a room's pipeline.
#pragma once

#include <gst/gst.h>

#include <functional>
#include <memory>
#include <string>

#include "../api/test_server.h"
#include "../gst_elements.h"
#include "bot.h"

namespace zumzi_test {

struct BotShape {
    bool publish = true;  // video and audio; false: only subscribes
    bool talking = true;  // audio-level says "speaking"
    int width = 320;
    int height = 240;
    int fps = 15;
    int video_kbps = 250;
};

// A started bot that joins `room` over the WebSocket protocol.
inline std::unique_ptr<zumzi::bot::Bot> start_bot(TestServer& server, const TestUser& user,
                                                  const std::string& room, const std::string& pin,
                                                  const std::string& name, BotShape shape = {})
{
    zumzi::bot::BotOptions o;
    o.server_url = server.url();
    o.token = user.token;
    o.room = room;
    o.pin = pin;
    o.name = name;
    o.width = shape.width;
    o.height = shape.height;
    o.fps = shape.fps;
    o.video_kbps = shape.video_kbps;
    o.publish_video = shape.publish;
    o.publish_audio = shape.publish;
    o.talking = shape.talking;
    auto bot = std::make_unique<zumzi::bot::Bot>(o);
    bot->start();
    return bot;
}

// Iterates the test thread's context until `cond` holds or `timeout_ms`.
inline bool wait_for(zumzi::bot::Bot& any, const std::function<bool()>& cond,
                     int timeout_ms = 30000)
{
    return any.wait_until(cond, timeout_ms);
}

// "name (participant): [track label kind frames packets]... errors, offers,
// connection states", for failure messages.
inline std::string describe(const zumzi::bot::Bot& bot)
{
    std::string out = bot.options().name + " (" + bot.participant_id() + "):";
    for (const auto& t : bot.tracks())
        out += " [" + t.participant_id + " " + t.track_id + " " + t.label + " " + t.kind +
               " frames=" + std::to_string(t.frames) + " packets=" + std::to_string(t.packets) +
               "]";
    for (const auto& e : bot.errors())
        out += " error: " + e;
    out += " offers=" + std::to_string(bot.subscribe_offers());
    for (const auto& s : bot.connection_states())
        out += " " + s.first + "=" + s.second;
    return out;
}

// Elements in the media room's pipeline, recursively; 0 when there is no room.
inline size_t room_elements(TestServer& server, const std::string& room_id)
{
    size_t n = 0;
    server.run_on_server([&](zumzi::Store&, zumzi::Server& s) {
        auto room = s.media().find(room_id);
        if (!room)
            return;
        for_each_element(GST_ELEMENT(room->pipeline()), [&](GstElement*) { n++; });
    });
    return n;
}

}  // namespace zumzi_test
