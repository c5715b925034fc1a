#include "core/hash.h"

#include <gtest/gtest.h>

#include "core/golden_case.h"

namespace dw {
namespace {

TEST(Sha256Hex, MatchesKnownVectorForAbc) {
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(CanonicalJson, SortsKeysAndDropsWhitespace) {
  auto v = nlohmann::json::parse(R"({ "b": 1, "a": {"d": [1, 2], "c": "x"} })");
  EXPECT_EQ(CanonicalJson(v), R"({"a":{"c":"x","d":[1,2]},"b":1})");
}

TEST(GoldenCase, ContentHashIgnoresKeyOrderOfVars) {
  GoldenCase a, b;
  a.id = b.id = "c1";
  a.vars = nlohmann::json::parse(R"({"x":1,"y":2})");
  b.vars = nlohmann::json::parse(R"({"y":2,"x":1})");
  EXPECT_EQ(a.ContentHash(), b.ContentHash());
  b.vars["y"] = 3;
  EXPECT_NE(a.ContentHash(), b.ContentHash());
}

TEST(GoldenSet, ManifestHashIsIndependentOfCaseOrder) {
  GoldenCase a, b;
  a.id = "a";
  b.id = "b";
  GoldenSet s1{"s", "", {a, b}}, s2{"s", "", {b, a}};
  EXPECT_EQ(s1.ManifestHash(), s2.ManifestHash());
}

TEST(GoldenCase, RoundTripsThroughJson) {
  GoldenCase a;
  a.id = "x";
  a.tags = {"t1"};
  a.threshold = 0.5;
  a.asserts = nlohmann::json::parse(R"([{"type":"contains","value":"hi"}])");
  auto back = GoldenCaseFromJson(a.ToJson());
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->ContentHash(), a.ContentHash());
}

// A case as published before groups existed; its hash was computed
// independently (Python json.dumps with sorted keys and compact separators).
GoldenCase PinnedCase() {
  GoldenCase c;
  c.id = "refunds-001";
  c.vars = {{"question", "How long?"}, {"expected", "30 days"}};
  c.asserts = nlohmann::json::parse(R"([{"type":"icontains","value":"{{expected}}"}])");
  c.tags = {"refunds"};
  return c;
}

TEST(GoldenCase, ContentHashOfACaseWithoutGroupIsUnchangedByGroupSupport) {
  EXPECT_EQ(PinnedCase().ContentHash(), "4a71da5ec5979e79925016f57add01ac14c0bfa7ec1a85a083a542b7f5fe4161");
  EXPECT_FALSE(PinnedCase().ToJson().contains("group"));
}

TEST(GoldenCase, GroupIsPartOfTheContentHashWhenSet) {
  GoldenCase c = PinnedCase();
  c.group = "refund-policy";
  EXPECT_EQ(c.ContentHash(), "8d2f3eeb068b61db9c620b71d7dcaa0f8a69180810b3e5bca7d4855f040651cb");
}

TEST(GoldenCase, GroupRoundTripsThroughJson) {
  GoldenCase c = PinnedCase();
  c.group = "refund-policy";
  auto back = GoldenCaseFromJson(c.ToJson());
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(back->group, "refund-policy");
}

}  // namespace
}  // namespace dw
