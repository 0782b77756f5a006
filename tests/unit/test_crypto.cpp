// crypto: random secrets, codes and ids; SHA-256 for storage; constant-time
// comparison.
#include <map>
#include <set>
#include <string>

#include "crypto.h"

// Last: CppUTest redefines `new` for its leak checker.
#include <CppUTest/TestHarness.h>

using namespace zumzi;

namespace {

const std::string kBase64Url = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const std::string kIdAlphabet = "abcdefghjkmnpqrstuvwxyz23456789";

bool only_from(const std::string& s, const std::string& alphabet)
{
    return s.find_first_not_of(alphabet) == std::string::npos;
}

}  // namespace

TEST_GROUP(Crypto){};

TEST(Crypto, RandomBytesHasRequestedLength)
{
    LONGS_EQUAL(0, random_bytes(0).size());
    LONGS_EQUAL(1, random_bytes(1).size());
    LONGS_EQUAL(1000, random_bytes(1000).size());
    CHECK(random_bytes(32) != random_bytes(32));
}

TEST(Crypto, RandomSecretHasPrefixAndBase64UrlBody)
{
    for (int i = 0; i < 200; i++) {
        std::string s = random_secret("zt_");
        LONGS_EQUAL(3 + 43, s.size());
        STRCMP_EQUAL("zt_", s.substr(0, 3).c_str());
        std::string body = s.substr(3);
        CHECK_TEXT(only_from(body, kBase64Url), s.c_str());
        // 256 bits in 43 characters: the last one carries only 4 bits, so its
        // two low bits are zero.
        size_t last = kBase64Url.find(body.back());
        LONGS_EQUAL(0, last % 4);
    }
}

TEST(Crypto, RandomSecretWithoutPrefix)
{
    std::string s = random_secret("");
    LONGS_EQUAL(43, s.size());
    CHECK(only_from(s, kBase64Url));
}

TEST(Crypto, RandomSecretsAreUnique)
{
    std::set<std::string> seen;
    for (int i = 0; i < 5000; i++) seen.insert(random_secret("zk_"));
    LONGS_EQUAL(5000, seen.size());
}

TEST(Crypto, RandomSecretUsesWholeAlphabet)
{
    std::set<char> chars;
    for (int i = 0; i < 500; i++)
        for (char c : random_secret("")) chars.insert(c);
    LONGS_EQUAL(64, chars.size());
}

TEST(Crypto, RandomDigitsAreDigitsOfRightLength)
{
    LONGS_EQUAL(0, random_digits(0).size());
    for (size_t n : {1u, 6u, 7u, 100u, 513u}) {
        std::string d = random_digits(n);
        LONGS_EQUAL(n, d.size());
        CHECK_TEXT(only_from(d, "0123456789"), d.c_str());
    }
}

TEST(Crypto, RandomDigitsAreRoughlyUniform)
{
    // 10000 draws of one digit: each digit is expected 1000 times with a
    // standard deviation of 30; 800..1200 is far outside chance.
    std::map<char, int> counts;
    for (int i = 0; i < 10000; i++) {
        std::string d = random_digits(1);
        LONGS_EQUAL(1, d.size());
        counts[d[0]]++;
    }
    LONGS_EQUAL(10, counts.size());
    for (const auto& [digit, n] : counts) {
        CHECK(digit >= '0' && digit <= '9');
        CHECK_TEXT(n > 800 && n < 1200, std::string(1, digit).c_str());
    }
}

TEST(Crypto, RandomDigitsSixDigitCodesVary)
{
    std::set<std::string> seen;
    for (int i = 0; i < 200; i++) seen.insert(random_digits(6));
    // 200 draws out of a million codes: collisions are possible but rare.
    CHECK(seen.size() >= 195);
}

TEST(Crypto, RandomIdUsesAlphabetWithoutLookAlikes)
{
    std::set<char> chars;
    for (int i = 0; i < 500; i++) {
        std::string id = random_id("app_", 12);
        LONGS_EQUAL(4 + 12, id.size());
        STRCMP_EQUAL("app_", id.substr(0, 4).c_str());
        std::string body = id.substr(4);
        CHECK_TEXT(only_from(body, kIdAlphabet), id.c_str());
        for (char c : body) chars.insert(c);
    }
    // Never the look-alikes, and every other character eventually.
    for (char c : std::string("ilo01ABCXYZ-_")) CHECK_FALSE(chars.count(c));
    LONGS_EQUAL(kIdAlphabet.size(), chars.size());
}

TEST(Crypto, RandomIdsAreUnique)
{
    std::set<std::string> seen;
    for (int i = 0; i < 2000; i++) seen.insert(random_id("u_", 14));
    LONGS_EQUAL(2000, seen.size());
    LONGS_EQUAL(0, random_id("", 0).size());
    STRCMP_EQUAL("x_", random_id("x_", 0).c_str());
}

TEST(Crypto, Sha256KnownVectors)
{
    STRCMP_EQUAL("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
                 sha256_hex("").c_str());
    STRCMP_EQUAL("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
                 sha256_hex("abc").c_str());
    STRCMP_EQUAL("248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
                 sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq").c_str());
}

TEST(Crypto, Sha256HashesWholeViewIncludingNul)
{
    std::string with_nul("a\0b", 3);
    CHECK(sha256_hex(with_nul) != sha256_hex("a"));
    CHECK(sha256_hex(std::string_view("abcdef", 3)) == sha256_hex("abc"));
    std::string h = sha256_hex(with_nul);
    LONGS_EQUAL(64, h.size());
    CHECK(only_from(h, "0123456789abcdef"));
}

TEST(Crypto, ConstantTimeEqual)
{
    CHECK(constant_time_equal("", ""));
    CHECK(constant_time_equal("abc", "abc"));
    CHECK_FALSE(constant_time_equal("abc", "abd"));
    CHECK_FALSE(constant_time_equal("abc", "xbc"));
    CHECK_FALSE(constant_time_equal("abc", "ab"));
    CHECK_FALSE(constant_time_equal("ab", "abc"));
    CHECK_FALSE(constant_time_equal("", "a"));
    CHECK_FALSE(constant_time_equal("abc", "ABC"));
    CHECK(constant_time_equal(std::string("a\0b", 3), std::string("a\0b", 3)));
    CHECK_FALSE(constant_time_equal(std::string("a\0b", 3), std::string("a\0c", 3)));
    // Bytes with the high bit set compare by value too.
    CHECK_FALSE(constant_time_equal("\xff", "\x7f"));
    std::string s = random_secret("zt_");
    CHECK(constant_time_equal(s, std::string(s)));
}
