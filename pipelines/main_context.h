// Marshalling to the engine's main context. GStreamer streaming threads and
// webrtcbin's signalling thread never call engine objects directly: they post
// a closure here, and the closure locks a weak_ptr before touching anything,
// so an object destroyed in the meantime is simply skipped.
#pragma once

#include <glib.h>

#include <functional>

namespace zumzi::media {

// Runs `fn` once from `ctx`'s loop, later (never re-entrantly). Any thread.
void post_to_main(GMainContext* ctx, std::function<void()> fn);

// A one-shot timer on `ctx`, cancelled when the Timer is destroyed or reset.
// Main context only.
class Timer {
public:
    Timer() = default;
    ~Timer() { cancel(); }
    Timer(const Timer&) = delete;
    Timer& operator=(const Timer&) = delete;

    void start(GMainContext* ctx, unsigned ms, std::function<void()> fn);
    void cancel();
    bool active() const { return source_ != nullptr; }

private:
    GSource* source_ = nullptr;
};

// Waiting, on `ctx`, for a condition that some notification makes true
// (caps reaching a pad, ICE gathering completing): `ready` is checked at
// start() and at every poke() the notification's handler posts, and `then`
// runs once, with true as soon as `ready` holds, or with false at the
// deadline. Nothing polls. Cancelled when destroyed. Main context only.
class Wait {
public:
    void start(GMainContext* ctx, unsigned deadline_ms, std::function<bool()> ready,
               std::function<void(bool ready)> then);
    void poke();
    void cancel();
    bool active() const { return deadline_.active(); }

private:
    void finish(bool ready);

    Timer deadline_;
    std::function<bool()> ready_;
    std::function<void(bool)> then_;
};

}  // namespace zumzi::media
