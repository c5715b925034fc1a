#include "stats/power.h"

#include <cmath>

#include <gtest/gtest.h>

#include "stats/distributions.h"

namespace dw::stats {
namespace {

TEST(McNemarMde, ReproducesTheReferencePowerTable) {
  // reference/drift-statistics.md §3.9 (α = 0.05 two-sided, power 0.8), in pp.
  EXPECT_NEAR(100 * McNemarMde(1000, 0.05, 0.05, 0.8).value(), 2.0, 0.05);
  EXPECT_NEAR(100 * McNemarMde(200, 0.10, 0.05, 0.8).value(), 6.2, 0.05);
  EXPECT_NEAR(100 * McNemarMde(500, 0.20, 0.05, 0.8).value(), 5.6, 0.05);
  EXPECT_NEAR(100 * McNemarMde(100, 0.30, 0.05, 0.8).value(), 15.2, 0.05);
  EXPECT_NEAR(100 * McNemarMde(200, 0.05, 0.05, 0.8).value(), 4.4, 0.05);
}

TEST(McNemarMde, SolvesConnorsSampleSizeFormula) {
  // Plugging the MDE back into n = [z_{α/2}√ψ + z_β√(ψ−δ²)]²/δ² gives n.
  const double delta = McNemarMde(300, 0.12, 0.01, 0.9).value();
  const double za = NormalQuantile(1 - 0.01 / 2);
  const double zb = NormalQuantile(0.9);
  const double n = std::pow(za * std::sqrt(0.12) + zb * std::sqrt(0.12 - delta * delta), 2) / (delta * delta);
  EXPECT_NEAR(n, 300, 1e-6);
}

TEST(McNemarMde, IsEmptyWhenEvenOneWayFlipsCannotReachPower) {
  // n = 50, ψ = 0.10: the table's "≈ψ" cell; no δ ≤ ψ reaches 80% power.
  EXPECT_FALSE(McNemarMde(50, 0.10, 0.05, 0.8).has_value());
  EXPECT_FALSE(McNemarMde(0, 0.10, 0.05, 0.8).has_value());
  EXPECT_FALSE(McNemarMde(100, 0.0, 0.05, 0.8).has_value());
}

TEST(NormalMde, IsSumOfQuantilesTimesStandardError) {
  EXPECT_NEAR(NormalMde(0.01, 0.05, 0.8), (1.9599639845400536 + 0.8416212335729143) * 0.01, 1e-12);
}

TEST(NonInferiorityPower, IsNormalTailOfMarginOverSe) {
  // margin/se = 2.5, z(0.95) = 1.6449: Φ(0.8551) = 0.80376.
  EXPECT_NEAR(NonInferiorityPower(0.008, 0.02, 0.05), NormalCdf(2.5 - 1.6448536269514722), 1e-12);
  EXPECT_NEAR(NonInferiorityPower(0.008, 0.02, 0.05), 0.8037649, 1e-6);
  EXPECT_EQ(NonInferiorityPower(0.0, 0.02, 0.05), 1.0);
}

}  // namespace
}  // namespace dw::stats
