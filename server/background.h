// Blocking work off the main loop: the main loop carries every client's
// signaling and chat, so nothing that can take long (decoding a picture)
// runs on it. A REST handler hands the work to a worker thread and answers
// its request when the work is done.
#pragma once

#include <functional>
#include <memory>

#include "http.h"

namespace zumzi {

// Pauses the request of `req` and runs `work` on a worker thread; `work`
// must not touch server state. Then `finish` runs on the calling thread's
// main context, and its Reply answers the request (an ApiError or
// StoreError it throws answers it as from any handler). If `alive` has
// expired by then (the server is gone), `finish` does not run. Returns the
// deferred Reply the handler returns.
Reply answer_after(Request& req, std::weak_ptr<void> alive, std::function<void()> work,
                   std::function<Reply()> finish);

}  // namespace zumzi
