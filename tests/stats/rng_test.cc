#include "stats/rng.h"

#include <array>
#include <set>

#include <gtest/gtest.h>

namespace dw::stats {
namespace {

TEST(DeriveSeed, IsTheFirstEightSha256BytesLittleEndian) {
  // SHA-256("abc") = ba7816bf 8f01cfea ...
  EXPECT_EQ(DeriveSeed("abc"), 0xeacf018fbf1678baULL);
}

TEST(DeriveSeed, ChildSeedDependsOnParentAndLabel) {
  const std::uint64_t parent = DeriveSeed("run-a");
  EXPECT_EQ(DeriveSeed(parent, "x"), DeriveSeed(SeedHex(parent) + "/x"));
  EXPECT_NE(DeriveSeed(parent, "x"), DeriveSeed(parent, "y"));
  EXPECT_NE(DeriveSeed(parent, "x"), DeriveSeed(DeriveSeed("run-b"), "x"));
}

TEST(SeedForComparison, DependsOnTheOrderOfRuns) {
  EXPECT_EQ(SeedForComparison("r1", "r2"), DeriveSeed("driftwatch.compare.v1|r1|r2"));
  EXPECT_NE(SeedForComparison("r1", "r2"), SeedForComparison("r2", "r1"));
}

TEST(SeedHex, RoundTripsThroughParse) {
  const std::uint64_t seed = 0x00ab0000ffff1234ULL;
  EXPECT_EQ(SeedHex(seed), "00ab0000ffff1234");
  std::uint64_t parsed = 0;
  ASSERT_TRUE(ParseSeedHex(SeedHex(seed), &parsed));
  EXPECT_EQ(parsed, seed);
}

TEST(ParseSeedHex, RejectsEmptyTooLongAndNonHex) {
  std::uint64_t parsed = 7;
  EXPECT_FALSE(ParseSeedHex("", &parsed));
  EXPECT_FALSE(ParseSeedHex("00000000000000001", &parsed));
  EXPECT_FALSE(ParseSeedHex("12g4", &parsed));
  EXPECT_EQ(parsed, 7u);
}

TEST(Wyrand, SameSeedGivesSameStream) {
  Wyrand a(42), b(42), c(43);
  for (int i = 0; i < 100; ++i) {
    const std::uint64_t x = a.Next();
    EXPECT_EQ(x, b.Next());
    EXPECT_NE(x, c.Next());
  }
}

TEST(Wyrand, AdvanceSkipsExactlyThatManyOutputs) {
  Wyrand skipped(9), stepped(9);
  skipped.Advance(5);
  for (int i = 0; i < 5; ++i) stepped.Next();
  EXPECT_EQ(skipped.Next(), stepped.Next());
}

TEST(Wyrand, BelowIsUniformByChiSquare) {
  Wyrand rng(2024);
  constexpr int kBuckets = 10;
  constexpr int kDraws = 100000;
  std::array<int, kBuckets> counts{};
  for (int i = 0; i < kDraws; ++i) ++counts[rng.Below(kBuckets)];
  double chi2 = 0;
  const double expected = static_cast<double>(kDraws) / kBuckets;
  for (int count : counts) chi2 += (count - expected) * (count - expected) / expected;
  EXPECT_LT(chi2, 27.88);  // χ²(9) upper 0.001 point
}

TEST(Wyrand, NextDoubleStaysInUnitInterval) {
  Wyrand rng(5);
  double low = 1, high = 0;
  for (int i = 0; i < 100000; ++i) {
    const double u = rng.NextDouble();
    low = std::min(low, u);
    high = std::max(high, u);
  }
  EXPECT_GE(low, 0.0);
  EXPECT_LT(high, 1.0);
  EXPECT_LT(low, 1e-3);
  EXPECT_GT(high, 1 - 1e-3);
}

TEST(DrawRng, GivesDistinctStreamsPerDraw) {
  std::set<std::uint64_t> firsts;
  for (std::uint64_t draw = 0; draw < 1000; ++draw) firsts.insert(DrawRng(77, draw).Next());
  EXPECT_EQ(firsts.size(), 1000u);
}

}  // namespace
}  // namespace dw::stats
