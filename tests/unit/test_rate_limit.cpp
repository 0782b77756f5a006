// rate_limit: a sliding window of at most `max` events per key. Time is the
// `now` argument, so no test sleeps.
#include <string>

#include "rate_limit.h"

// Last: CppUTest redefines `new` for its leak checker.
#include <CppUTest/TestHarness.h>

using namespace zumzi;

TEST_GROUP(RateLimit){};

TEST(RateLimit, AllowsUpToMaxThenRefuses)
{
    RateLimiter rl(3, 1000);
    const int64_t t = 1'000'000;
    CHECK(rl.allows("k", t));
    CHECK(rl.hit("k", t));
    CHECK(rl.hit("k", t + 1));
    CHECK(rl.allows("k", t + 2));
    CHECK(rl.hit("k", t + 2));
    CHECK_FALSE(rl.allows("k", t + 3));
    CHECK_FALSE(rl.hit("k", t + 3));
    CHECK_FALSE(rl.hit("k", t + 999));
}

TEST(RateLimit, AllowsRecordsNothing)
{
    RateLimiter rl(1, 1000);
    for (int i = 0; i < 10; i++) CHECK(rl.allows("k", 100));
    LONGS_EQUAL(0, rl.retry_after("k", 100));
    CHECK(rl.hit("k", 100));
    CHECK_FALSE(rl.allows("k", 100));
}

TEST(RateLimit, RefusedHitsDoNotExtendTheWindow)
{
    RateLimiter rl(1, 1000);
    CHECK(rl.hit("k", 0));
    // Hammering while limited records nothing ...
    for (int64_t t = 1; t < 1000; t += 100) CHECK_FALSE(rl.hit("k", t));
    // ... so the key is free exactly one window after its only event.
    CHECK(rl.hit("k", 1000));
}

TEST(RateLimit, RetryAfterIsTimeUntilOldestEventLeaves)
{
    RateLimiter rl(2, 1000);
    LONGS_EQUAL(0, rl.retry_after("k", 0));
    CHECK(rl.hit("k", 100));
    LONGS_EQUAL(0, rl.retry_after("k", 150));  // one slot left
    CHECK(rl.hit("k", 300));
    LONGS_EQUAL(800, rl.retry_after("k", 300));
    LONGS_EQUAL(500, rl.retry_after("k", 600));
    LONGS_EQUAL(1, rl.retry_after("k", 1099));
    // Waiting exactly retry_after is enough.
    const int64_t now = 400;
    const int64_t wait = rl.retry_after("k", now);
    CHECK(wait > 0);
    CHECK_FALSE(rl.allows("k", now + wait - 1));
    CHECK(rl.allows("k", now + wait));
    LONGS_EQUAL(0, rl.retry_after("k", now + wait));
}

TEST(RateLimit, WindowSlides)
{
    // Events at 0, 400 and 800 fill a 3-per-1000 window; each one frees its
    // slot 1000 ms after it happened, not all at once.
    RateLimiter rl(3, 1000);
    CHECK(rl.hit("k", 0));
    CHECK(rl.hit("k", 400));
    CHECK(rl.hit("k", 800));
    CHECK_FALSE(rl.hit("k", 999));
    CHECK(rl.hit("k", 1000));  // the event at 0 has left
    CHECK_FALSE(rl.hit("k", 1001));
    CHECK_FALSE(rl.hit("k", 1399));
    CHECK(rl.hit("k", 1400));  // the event at 400 has left
    CHECK_FALSE(rl.allows("k", 1799));
    CHECK(rl.allows("k", 1800));
}

TEST(RateLimit, FullRecoveryAfterAWholeWindow)
{
    RateLimiter rl(5, 60'000);
    for (int i = 0; i < 5; i++) CHECK(rl.hit("k", i));
    CHECK_FALSE(rl.hit("k", 10));
    for (int i = 0; i < 5; i++) CHECK(rl.hit("k", 60'004 + i));
    CHECK_FALSE(rl.hit("k", 60'010));
}

TEST(RateLimit, KeysAreIndependent)
{
    RateLimiter rl(2, 1000);
    CHECK(rl.hit("a", 0));
    CHECK(rl.hit("a", 0));
    CHECK_FALSE(rl.hit("a", 0));
    CHECK(rl.allows("b", 0));
    CHECK(rl.hit("b", 0));
    CHECK(rl.hit("b", 0));
    CHECK_FALSE(rl.hit("b", 0));
    LONGS_EQUAL(0, rl.retry_after("c", 0));
    CHECK(rl.hit("A", 0));  // keys are exact strings
}

TEST(RateLimit, ForgetClearsOneKey)
{
    RateLimiter rl(1, 1000);
    CHECK(rl.hit("a", 0));
    CHECK(rl.hit("b", 0));
    rl.forget("a");
    CHECK(rl.hit("a", 1));
    CHECK_FALSE(rl.hit("b", 1));
}

TEST(RateLimit, SweepOfIdleKeysKeepsActiveLimits)
{
    // More than 1024 hits trigger the sweep of idle keys; a key still in its
    // window must keep its count through it.
    RateLimiter rl(2, 10'000);
    CHECK(rl.hit("busy", 0));
    CHECK(rl.hit("busy", 1));
    for (int i = 0; i < 3000; i++) CHECK(rl.hit("idle" + std::to_string(i), 2 + i));
    CHECK_FALSE(rl.hit("busy", 5000));
    LONGS_EQUAL(5000, rl.retry_after("busy", 5000));
    CHECK(rl.hit("busy", 10'000));
}

TEST(RateLimit, MaxOfOne)
{
    RateLimiter rl(1, 50);
    CHECK(rl.hit("k", 0));
    CHECK_FALSE(rl.hit("k", 49));
    LONGS_EQUAL(1, rl.retry_after("k", 49));
    CHECK(rl.hit("k", 50));
}
