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

}  // namespace zumzi::media
