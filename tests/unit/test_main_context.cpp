// The media engine's Wait (main_context.h, over its Timer), on a private
// GMainContext iterated by the test.
#include <glib.h>

#include "main_context.h"

// Last: CppUTest's memory-leak macros redefine `new`.
#include <CppUTest/TestHarness.h>

using zumzi::media::Wait;

namespace {

// Iterates `ctx` until `done` or `ms` have passed.
void iterate(GMainContext* ctx, int ms, const bool& done)
{
    const gint64 end = g_get_monotonic_time() + ms * 1000;
    while (!done && g_get_monotonic_time() < end)
        if (!g_main_context_iteration(ctx, FALSE))
            g_usleep(1000);
}

}  // namespace

TEST_GROUP(Wait)
{
    GMainContext* ctx = nullptr;
    Wait wait;
    bool condition = false;
    int calls = 0;
    bool result = false;
    bool done = false;

    void setup() override { ctx = g_main_context_new(); }
    void teardown() override
    {
        wait.cancel();
        g_main_context_unref(ctx);
    }
    void start(unsigned deadline_ms)
    {
        wait.start(
            ctx, deadline_ms, [this]() { return condition; },
            [this](bool ready) {
                calls++;
                result = ready;
                done = true;
            });
    }
};

TEST(Wait, AConditionThatHoldsAlreadyRunsThenAtOnce)
{
    condition = true;
    start(10000);
    CHECK_EQUAL(1, calls);
    CHECK_TRUE(result);
    CHECK_FALSE(wait.active());
}

TEST(Wait, APokeAfterTheConditionTurnsTrueEndsTheWait)
{
    start(10000);
    CHECK_TRUE(wait.active());
    wait.poke();  // not yet
    CHECK_EQUAL(0, calls);
    condition = true;
    wait.poke();
    CHECK_EQUAL(1, calls);
    CHECK_TRUE(result);
    CHECK_FALSE(wait.active());
    wait.poke();  // over: nothing more
    done = false;
    iterate(ctx, 50, done);
    CHECK_EQUAL(1, calls);
}

TEST(Wait, TheDeadlineRunsThenWithFalse)
{
    start(30);
    iterate(ctx, 5000, done);
    CHECK_EQUAL(1, calls);
    CHECK_FALSE(result);
    CHECK_FALSE(wait.active());
}

TEST(Wait, ACancelledWaitNeverRunsThen)
{
    start(30);
    wait.cancel();
    condition = true;
    wait.poke();
    iterate(ctx, 100, done);
    CHECK_EQUAL(0, calls);
}

TEST(Wait, ThenMayStartTheNextWait)
{
    int second = 0;
    wait.start(
        ctx, 10000, [this]() { return condition; },
        [&](bool) {
            calls++;
            wait.start(
                ctx, 20, []() { return false; }, [&](bool ready) {
                    second++;
                    result = ready;
                    done = true;
                });
        });
    condition = true;
    wait.poke();
    CHECK_EQUAL(1, calls);
    CHECK_TRUE(wait.active());
    iterate(ctx, 5000, done);
    CHECK_EQUAL(1, second);
    CHECK_FALSE(result);
}
