// router: method + path to handler, placeholders, 404 and 405.
#include <string>

#include "router.h"

// Last: CppUTest redefines `new` for its leak checker.
#include <CppUTest/TestHarness.h>

using namespace zumzi;

namespace {

// A handler that is never called: the tests only look at which one matched,
// through std::function::target().
struct Tagged {
    int tag;
    Reply operator()(Context&, Request&) const { return Reply{}; }
};

int tag_of(const Router::Match& m)
{
    if (!m.handler) return -1;
    const Tagged* t = m.handler->target<Tagged>();
    return t ? t->tag : -2;
}

}  // namespace

TEST_GROUP(Router)
{
    Router router;

    void setup() override
    {
        router.add("GET", "/api/v1/health", Tagged{1});
        router.add("GET", "/api/v1/rooms", Tagged{2});
        router.add("POST", "/api/v1/rooms", Tagged{3});
        router.add("GET", "/api/v1/rooms/{id}", Tagged{4});
        router.add("PATCH", "/api/v1/rooms/{id}", Tagged{5});
        router.add("DELETE", "/api/v1/rooms/{id}", Tagged{6});
        router.add("POST", "/api/v1/rooms/{id}/join", Tagged{7});
        router.add("DELETE", "/api/v1/rooms/{room}/members/{user}", Tagged{8});
        router.add("GET", "/api/v1/rooms/mine", Tagged{9});
    }
};

TEST(Router, ExactMatch)
{
    auto m = router.match("GET", "/api/v1/health");
    LONGS_EQUAL(1, tag_of(m));
    LONGS_EQUAL(0, m.params.size());
    STRCMP_EQUAL("", m.allowed.c_str());
}

TEST(Router, MethodSelectsHandler)
{
    LONGS_EQUAL(2, tag_of(router.match("GET", "/api/v1/rooms")));
    LONGS_EQUAL(3, tag_of(router.match("POST", "/api/v1/rooms")));
    LONGS_EQUAL(4, tag_of(router.match("GET", "/api/v1/rooms/r_abc")));
    LONGS_EQUAL(5, tag_of(router.match("PATCH", "/api/v1/rooms/r_abc")));
    LONGS_EQUAL(6, tag_of(router.match("DELETE", "/api/v1/rooms/r_abc")));
}

TEST(Router, PlaceholderCaptured)
{
    auto m = router.match("POST", "/api/v1/rooms/r_7x9/join");
    LONGS_EQUAL(7, tag_of(m));
    LONGS_EQUAL(1, m.params.size());
    STRCMP_EQUAL("r_7x9", m.params[0].c_str());
}

TEST(Router, SeveralPlaceholdersInOrder)
{
    auto m = router.match("DELETE", "/api/v1/rooms/r_1/members/u_2");
    LONGS_EQUAL(8, tag_of(m));
    LONGS_EQUAL(2, m.params.size());
    STRCMP_EQUAL("r_1", m.params[0].c_str());
    STRCMP_EQUAL("u_2", m.params[1].c_str());
}

TEST(Router, FirstAddedRouteWins)
{
    // "/rooms/{id}" was added before "/rooms/mine", so it takes the path.
    auto m = router.match("GET", "/api/v1/rooms/mine");
    LONGS_EQUAL(4, tag_of(m));
    LONGS_EQUAL(1, m.params.size());
    STRCMP_EQUAL("mine", m.params[0].c_str());
}

TEST(Router, MethodNotAllowedListsMethods)
{
    auto m = router.match("PUT", "/api/v1/rooms/r_1");
    CHECK(m.handler == nullptr);
    STRCMP_EQUAL("GET, PATCH, DELETE", m.allowed.c_str());

    m = router.match("DELETE", "/api/v1/rooms");
    CHECK(m.handler == nullptr);
    STRCMP_EQUAL("GET, POST", m.allowed.c_str());

    m = router.match("GET", "/api/v1/rooms/r_1/join");
    CHECK(m.handler == nullptr);
    STRCMP_EQUAL("POST", m.allowed.c_str());
}

TEST(Router, AllowedListHasNoDuplicates)
{
    Router r;
    r.add("GET", "/a/{x}", Tagged{1});
    r.add("GET", "/a/b", Tagged{2});
    r.add("POST", "/a/b", Tagged{3});
    auto m = r.match("PUT", "/a/b");
    CHECK(m.handler == nullptr);
    STRCMP_EQUAL("GET, POST", m.allowed.c_str());
}

TEST(Router, MethodIsCaseSensitive)
{
    auto m = router.match("get", "/api/v1/health");
    CHECK(m.handler == nullptr);
    STRCMP_EQUAL("GET", m.allowed.c_str());
}

TEST(Router, HeadIsServedByGet)
{
    auto m = router.match("HEAD", "/api/v1/rooms/r_1");
    LONGS_EQUAL(4, tag_of(m));
    STRCMP_EQUAL("r_1", m.params.at(0).c_str());
    // A path with no GET route is still 405 for HEAD.
    m = router.match("HEAD", "/api/v1/rooms/r_1/join");
    CHECK(m.handler == nullptr);
    STRCMP_EQUAL("POST", m.allowed.c_str());
}

TEST(Router, NoMatch)
{
    for (const char* path : {"/api/v1/nothing", "/api/v2/health", "/", "", "/api/v1",
                             "/api/v1/health/extra", "/api/v1/rooms/r_1/join/now"}) {
        auto m = router.match("GET", path);
        CHECK_TEXT(m.handler == nullptr, path);
        STRCMP_EQUAL_TEXT("", m.allowed.c_str(), path);
        LONGS_EQUAL(0, m.params.size());
    }
}

TEST(Router, PlaceholderNeedsNonEmptySegment)
{
    // "/rooms/" is "/rooms", never "/rooms/{id}" with an empty id.
    auto m = router.match("GET", "/api/v1/rooms/");
    LONGS_EQUAL(2, tag_of(m));
    LONGS_EQUAL(0, m.params.size());
    m = router.match("POST", "/api/v1/rooms//join");
    CHECK(m.handler == nullptr);
}

TEST(Router, TrailingAndRepeatedSlashesAreIgnored)
{
    // Empty segments are dropped on both sides, so these are the same path.
    LONGS_EQUAL(1, tag_of(router.match("GET", "/api/v1/health/")));
    LONGS_EQUAL(1, tag_of(router.match("GET", "api/v1/health")));
    LONGS_EQUAL(1, tag_of(router.match("GET", "//api//v1/health")));
    auto m = router.match("POST", "/api/v1/rooms/r_1/join/");
    LONGS_EQUAL(7, tag_of(m));
    STRCMP_EQUAL("r_1", m.params.at(0).c_str());
}

TEST(Router, SegmentsMatchExactly)
{
    CHECK(router.match("GET", "/api/v1/Health").handler == nullptr);
    CHECK(router.match("GET", "/api/v1/healthz").handler == nullptr);
    CHECK(router.match("GET", "/api/v1/healt").handler == nullptr);
}

TEST(Router, PlaceholderTakesSegmentVerbatim)
{
    auto m = router.match("GET", "/api/v1/rooms/a%20b.c");
    LONGS_EQUAL(4, tag_of(m));
    STRCMP_EQUAL("a%20b.c", m.params.at(0).c_str());
}

TEST(Router, EmptyRouter)
{
    Router r;
    auto m = r.match("GET", "/");
    CHECK(m.handler == nullptr);
    STRCMP_EQUAL("", m.allowed.c_str());
}

TEST(Router, RootRoute)
{
    Router r;
    r.add("GET", "/", Tagged{42});
    LONGS_EQUAL(42, tag_of(r.match("GET", "/")));
    LONGS_EQUAL(42, tag_of(r.match("GET", "")));
    STRCMP_EQUAL("GET", r.match("POST", "/").allowed.c_str());
    CHECK(r.match("GET", "/x").handler == nullptr);
}
