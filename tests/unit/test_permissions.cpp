// permissions: roles to flags, flags to API names and back.
#include <string>
#include <vector>

#include "permissions.h"

// Last: CppUTest redefines `new` for its leak checker.
#include <CppUTest/TestHarness.h>

using namespace zumzi;

namespace {

const std::vector<std::string> kAllNames = {"publish",      "subscribe", "list",    "chat_send",
                                            "chat_receive", "record",    "moderate"};

std::string joined(const std::vector<std::string>& v)
{
    std::string out;
    for (const std::string& s : v) out += (out.empty() ? "" : ",") + s;
    return out;
}

}  // namespace

TEST_GROUP(Permissions){};

TEST(Permissions, OwnerHasEverything)
{
    uint32_t p = role_permissions("owner");
    UNSIGNED_LONGS_EQUAL(kAllPermissions, p);
    for (Permission f : {kPublish, kSubscribe, kList, kChatSend, kChatReceive, kRecord, kModerate})
        CHECK(has_permission(p, f));
}

TEST(Permissions, PublisherPublishesButDoesNotModerate)
{
    uint32_t p = role_permissions("publisher");
    CHECK(has_permission(p, kPublish));
    CHECK(has_permission(p, kSubscribe));
    CHECK(has_permission(p, kList));
    CHECK(has_permission(p, kChatSend));
    CHECK(has_permission(p, kChatReceive));
    CHECK_FALSE(has_permission(p, kRecord));
    CHECK_FALSE(has_permission(p, kModerate));
}

TEST(Permissions, ViewerNeverPublishes)
{
    uint32_t p = role_permissions("viewer");
    CHECK_FALSE(has_permission(p, kPublish));
    CHECK(has_permission(p, kSubscribe));
    CHECK(has_permission(p, kList));
    CHECK(has_permission(p, kChatSend));
    CHECK(has_permission(p, kChatReceive));
    CHECK_FALSE(has_permission(p, kRecord));
    CHECK_FALSE(has_permission(p, kModerate));
}

TEST(Permissions, UnknownRoleHasNothing)
{
    UNSIGNED_LONGS_EQUAL(0, role_permissions(""));
    UNSIGNED_LONGS_EQUAL(0, role_permissions("admin"));
    UNSIGNED_LONGS_EQUAL(0, role_permissions("Owner"));
    UNSIGNED_LONGS_EQUAL(0, role_permissions("owner "));
}

TEST(Permissions, AllFlagsAreDistinctAndCovered)
{
    uint32_t seen = 0;
    for (Permission f :
         {kPublish, kSubscribe, kList, kChatSend, kChatReceive, kRecord, kModerate}) {
        UNSIGNED_LONGS_EQUAL(0, seen & f);
        seen |= f;
    }
    UNSIGNED_LONGS_EQUAL(kAllPermissions, seen);
}

TEST(Permissions, NamesInFixedOrder)
{
    STRCMP_EQUAL(joined(kAllNames).c_str(), joined(permission_names(kAllPermissions)).c_str());
    STRCMP_EQUAL("", joined(permission_names(0)).c_str());
    STRCMP_EQUAL("publish,moderate", joined(permission_names(kModerate | kPublish)).c_str());
    STRCMP_EQUAL("subscribe,list,chat_send,chat_receive",
                 joined(permission_names(role_permissions("viewer"))).c_str());
    // Bits without a name are not reported.
    STRCMP_EQUAL("record", joined(permission_names(kRecord | (1u << 20))).c_str());
}

TEST(Permissions, NamesRoundTripForEverySet)
{
    for (uint32_t flags = 0; flags <= kAllPermissions; flags++) {
        auto parsed = parse_permission_names(permission_names(flags));
        CHECK(parsed.has_value());
        UNSIGNED_LONGS_EQUAL(flags, *parsed);
    }
}

TEST(Permissions, ParseAcceptsAnyOrderAndDuplicates)
{
    auto p = parse_permission_names({"moderate", "publish", "publish"});
    CHECK(p.has_value());
    UNSIGNED_LONGS_EQUAL(kModerate | kPublish, *p);
    auto empty = parse_permission_names({});
    CHECK(empty.has_value());
    UNSIGNED_LONGS_EQUAL(0, *empty);
}

TEST(Permissions, UnknownNameIsRefused)
{
    CHECK_FALSE(parse_permission_names({"fly"}).has_value());
    CHECK_FALSE(parse_permission_names({"publish", "fly"}).has_value());
    CHECK_FALSE(parse_permission_names({"Publish"}).has_value());
    CHECK_FALSE(parse_permission_names({""}).has_value());
    CHECK_FALSE(parse_permission_names({"publish "}).has_value());
}
