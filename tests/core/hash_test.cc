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

}  // namespace
}  // namespace dw
