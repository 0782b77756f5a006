#include "main_context.h"

namespace zumzi::media {

namespace {

gboolean run_once(gpointer data)
{
    (*static_cast<std::function<void()>*>(data))();
    return G_SOURCE_REMOVE;
}

void delete_fn(gpointer data)
{
    delete static_cast<std::function<void()>*>(data);
}

}  // namespace

void post_to_main(GMainContext* ctx, std::function<void()> fn)
{
    GSource* src = g_idle_source_new();
    g_source_set_priority(src, G_PRIORITY_DEFAULT);
    g_source_set_callback(src, run_once, new std::function<void()>(std::move(fn)), delete_fn);
    g_source_attach(src, ctx);
    g_source_unref(src);
}

void Timer::start(GMainContext* ctx, unsigned ms, std::function<void()> fn)
{
    cancel();
    // The source clears source_ before running fn, so fn may restart us.
    auto* wrapped = new std::function<void()>([this, fn = std::move(fn)]() {
        GSource* self = source_;
        source_ = nullptr;
        fn();
        g_source_unref(self);
    });
    source_ = g_timeout_source_new(ms);
    g_source_set_callback(source_, run_once, wrapped, delete_fn);
    g_source_attach(source_, ctx);
}

void Timer::cancel()
{
    if (!source_)
        return;
    g_source_destroy(source_);
    g_source_unref(source_);
    source_ = nullptr;
}

void Wait::start(GMainContext* ctx, unsigned deadline_ms, std::function<bool()> ready,
                 std::function<void(bool)> then)
{
    cancel();
    if (ready()) {
        then(true);
        return;
    }
    ready_ = std::move(ready);
    then_ = std::move(then);
    deadline_.start(ctx, deadline_ms, [this]() { finish(false); });
}

void Wait::poke()
{
    if (active() && ready_())
        finish(true);
}

void Wait::cancel()
{
    deadline_.cancel();
    ready_ = nullptr;
    then_ = nullptr;
}

void Wait::finish(bool ready)
{
    // `then` may start the next wait: take it out first.
    auto then = std::move(then_);
    deadline_.cancel();
    ready_ = nullptr;
    then_ = nullptr;
    then(ready);
}

}  // namespace zumzi::media
