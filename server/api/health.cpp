// GET /api/v1/health: liveness and version, no authentication; GET /.
#include "context.h"
#include "routes.h"

namespace zumzi {

void add_health_routes(Router& router)
{
    router.add("GET", "/api/v1/health", [](Context& ctx, Request&) {
        Reply reply;
        reply.body.set("status", "ok")
            .set("version", ZUMZI_VERSION)
            .set("schema_version", ctx.store.schema_version())
            .set("time", ctx.clock());
        return reply;
    });
    // The web client will live at /; until then the root says where the API is.
    router.add("GET", "/", [](Context&, Request&) {
        Reply reply;
        reply.body.set("name", "zumzi").set("version", ZUMZI_VERSION).set("api", "/api/v1");
        return reply;
    });
}

}  // namespace zumzi
