// GET /api/v1/health: liveness and version, no authentication.
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
}

}  // namespace zumzi
