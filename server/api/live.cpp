// /api/v1/rooms/{room}/live: a room's live output (HLS, RTMP push,
// recording) and the composite's layout. The rules and the work are in
// live_output.cpp, shared with the WebSocket.
#include "../live_output.h"
#include "context.h"
#include "routes.h"

namespace zumzi {

namespace {

LiveOutputs& live_outputs(Context& ctx)
{
    if (!ctx.live_outputs)
        fail(500, "INTERNAL", "the server could not complete the request");
    return *ctx.live_outputs;
}

Reply get_live(Context& ctx, Request& req)
{
    Principal me = require_user(ctx, req);
    Reply reply;
    reply.body = live_outputs(ctx).status(me, req.param(0));
    return reply;
}

Reply start_output(Context& ctx, Request& req)
{
    Principal me = require_user(ctx, req);
    Reply reply;
    reply.status = 201;
    reply.body.set("output", live_outputs(ctx).start(me, req.param(0), JsonFields(req.json())));
    return reply;
}

// Answers once the output is finalised (a recording's file complete).
Reply stop_output(Context& ctx, Request& req)
{
    Principal me = require_user(ctx, req);
    SoupServerMessage* msg = SOUP_SERVER_MESSAGE(g_object_ref(req.message()));
    std::weak_ptr<void> alive = ctx.alive;
    try {
        live_outputs(ctx).stop(me, req.param(0), req.param(1), [msg, alive](JsonOut output) {
            if (alive.lock()) {
                Reply reply;
                reply.body.set("output", std::move(output));
                send_reply(msg, std::move(reply));
                soup_server_message_unpause(msg);
            }
            g_object_unref(msg);
        });
    } catch (...) {
        g_object_unref(msg);
        throw;
    }
    // `done` never runs before we return (see LiveOutputs::stop).
    soup_server_message_pause(req.message());
    Reply reply;
    reply.deferred = true;
    return reply;
}

Reply set_layout(Context& ctx, Request& req)
{
    Principal me = require_user(ctx, req);
    Reply reply;
    reply.body = live_outputs(ctx).set_layout(me, req.param(0), JsonFields(req.json()));
    return reply;
}

}  // namespace

void add_live_routes(Router& router)
{
    router.add("GET", "/api/v1/rooms/{id}/live", get_live);
    router.add("POST", "/api/v1/rooms/{id}/live", start_output);
    router.add("PATCH", "/api/v1/rooms/{id}/live", set_layout);
    router.add("DELETE", "/api/v1/rooms/{id}/live/{kind}", stop_output);
}

}  // namespace zumzi
