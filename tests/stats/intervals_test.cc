#include "stats/intervals.h"

#include <cmath>
#include <string>

#include <gtest/gtest.h>

namespace dw::stats {
namespace {

constexpr double kZ95 = 1.9599639845400536;

// Reference p-values below are exact binomial sums computed by hand:
// P(X = x) = C(m, x)/2^m under H₀.

TEST(McNemarMidP, MatchesHandComputedBinomialSums) {
  // m = 9: exact = 2(1 + 9)/512; mid-p subtracts P(X = 1) = 9/512.
  EXPECT_NEAR(McNemarMidP(1, 8), 11.0 / 512, 1e-15);
  EXPECT_NEAR(McNemarMidP(8, 1), 11.0 / 512, 1e-15);
  // m = 11: 2(1 + 11 + 55)/2048 − 55/2048.
  EXPECT_NEAR(McNemarMidP(2, 9), 79.0 / 2048, 1e-15);
  // m = 16: 2(1 + 16 + 120 + 560 + 1820)/65536 − 1820/65536.
  EXPECT_NEAR(McNemarMidP(4, 12), 1607.0 / 32768, 1e-15);
}

TEST(McNemarMidP, AtEqualCountsIsOneMinusHalfTheCentralMass) {
  // b = c = 3: 1 − ½·C(6,3)/64 (Fagerland et al.; not 1 − C(6,3)/64).
  EXPECT_NEAR(McNemarMidP(3, 3), 27.0 / 32, 1e-15);
}

TEST(McNemarMidP, IsOneWithoutDiscordantPairs) { EXPECT_EQ(McNemarMidP(0, 0), 1.0); }

TEST(McNemarMidP, AllFlipsOneWayGiveTwoToTheMinusM) {
  EXPECT_DOUBLE_EQ(McNemarMidP(0, 5), 1.0 / 32);
  EXPECT_DOUBLE_EQ(McNemarMidP(0, 20), 1.0 / 1048576);
  EXPECT_NEAR(McNemarMidP(60, 0) / std::ldexp(1.0, -60), 1.0, 1e-12);
}

TEST(McNemarExactP, IsTwiceTheSmallerTailCappedAtOne) {
  EXPECT_DOUBLE_EQ(McNemarExactP(1, 8), 20.0 / 512);
  EXPECT_DOUBLE_EQ(McNemarExactP(0, 5), 1.0 / 16);
  EXPECT_EQ(McNemarExactP(3, 3), 1.0);
  EXPECT_EQ(McNemarExactP(0, 0), 1.0);
}

TEST(McNemarAsymptoticP, ReproducesAgrestiApprovalRatingExample) {
  // Agresti, Categorical Data Analysis: 150 approve→disapprove, 86 the
  // reverse; χ² = 64²/236 = 17.356, p = P(χ²₁ > 17.356).
  EXPECT_NEAR(McNemarAsymptoticP(150, 86), 3.0992934410452196e-05, 1e-15);
}

TEST(McNemarAsymptoticP, ResolvesTinyPValues) {
  // b = 0, c = 100: z = 10, p = 2(1 − Φ(10)) = 1.5239706048321186e-23.
  EXPECT_NEAR(McNemarAsymptoticP(0, 100) / 1.5239706048321186e-23, 1.0, 1e-10);
}

TEST(McNemarTest, UsesMidPBelowTheThresholdAndAsymptoticAtIt) {
  const McNemarResult small = McNemarTest(3, 21, 25);
  EXPECT_EQ(small.name, "mcnemar_midp");
  EXPECT_DOUBLE_EQ(small.p_value, McNemarMidP(3, 21));
  EXPECT_DOUBLE_EQ(small.min_attainable_p, std::ldexp(1.0, -24));

  const McNemarResult large = McNemarTest(4, 21, 25);
  EXPECT_EQ(large.name, "mcnemar_asymptotic");
  EXPECT_DOUBLE_EQ(large.p_value, McNemarAsymptoticP(4, 21));
  EXPECT_DOUBLE_EQ(large.statistic, 17.0 * 17.0 / 25);
}

TEST(McNemarTest, WithoutDiscordantPairsGivesPOne) {
  const McNemarResult none = McNemarTest(0, 0, 25);
  EXPECT_EQ(none.p_value, 1.0);
  EXPECT_EQ(none.min_attainable_p, 1.0);
}

// Tango's score computed independently: the restricted MLE of
// p(pass→fail) found by golden-section search on the multinomial
// log-likelihood instead of the closed-form quadratic root.
double ScoreByNumericMle(int n, int b, int c, double delta) {
  const double lo_bound = std::max(0.0, -delta);
  const double hi_bound = (1 - delta) / 2;
  const auto log_likelihood = [&](double p12) {
    const double p21 = p12 + delta;
    const double rest = 1 - p12 - p21;
    double value = 0;
    if (b > 0) value += b * std::log(p12);
    if (c > 0) value += c * std::log(p21);
    if (n - b - c > 0) value += (n - b - c) * std::log(rest);
    return value;
  };
  double lo = lo_bound + 1e-15, hi = hi_bound - 1e-15;
  const double ratio = (std::sqrt(5.0) - 1) / 2;
  for (int i = 0; i < 300; ++i) {
    const double x1 = hi - ratio * (hi - lo);
    const double x2 = lo + ratio * (hi - lo);
    if (log_likelihood(x1) < log_likelihood(x2)) {
      lo = x1;
    } else {
      hi = x2;
    }
  }
  const double p12 = 0.5 * (lo + hi);
  return (c - b - n * delta) / std::sqrt(n * (2 * p12 + delta - delta * delta));
}

TEST(TangoScore, AgreesWithNumericallyMaximisedLikelihood) {
  for (double delta : {-0.3, -0.1, 0.0, 0.05, 0.2}) {
    EXPECT_NEAR(TangoScore(50, 3, 9, delta), ScoreByNumericMle(50, 3, 9, delta), 1e-6) << delta;
    EXPECT_NEAR(TangoScore(200, 20, 5, delta), ScoreByNumericMle(200, 20, 5, delta), 1e-6) << delta;
  }
}

TEST(TangoScore, AtZeroIsTheMcNemarZ) {
  // With δ = 0 the restricted MLE is (b+c)/(2n), so T = (c−b)/√(b+c).
  EXPECT_NEAR(TangoScore(120, 7, 19, 0.0), 12 / std::sqrt(26.0), 1e-12);
}

struct TangoCase {
  int n, b, c;
};

class TangoIntervalBounds : public ::testing::TestWithParam<TangoCase> {};

TEST_P(TangoIntervalBounds, AreWhereTheIndependentScoreEqualsPlusMinusZ) {
  const auto [n, b, c] = GetParam();
  const Interval ci = TangoInterval(n, b, c, 0.95);
  const double estimate = static_cast<double>(c - b) / n;
  EXPECT_LE(ci.low, estimate);
  EXPECT_GE(ci.high, estimate);
  if (ci.low > -1) {
    EXPECT_NEAR(ScoreByNumericMle(n, b, c, ci.low), kZ95, 1e-5);
  }
  if (ci.high < 1) {
    EXPECT_NEAR(ScoreByNumericMle(n, b, c, ci.high), -kZ95, 1e-5);
  }
}

INSTANTIATE_TEST_SUITE_P(Tables, TangoIntervalBounds,
                         ::testing::Values(TangoCase{50, 3, 9}, TangoCase{200, 20, 5}, TangoCase{10, 0, 4},
                                           TangoCase{1600, 150, 86}, TangoCase{30, 1, 1}),
                         [](const auto& info) {
                           return "n" + std::to_string(info.param.n) + "b" + std::to_string(info.param.b) + "c" +
                                  std::to_string(info.param.c);
                         });

TEST(TangoInterval, WithoutDiscordantPairsIsPlusMinusZSquaredOverNPlusZSquared) {
  // b = c = 0: p̃ = −δ for δ < 0, so T = √(n·(−δ)/(1+δ)) = z at δ = −z²/(n+z²).
  const Interval ci = TangoInterval(100, 0, 0, 0.95);
  const double bound = kZ95 * kZ95 / (100 + kZ95 * kZ95);
  EXPECT_NEAR(ci.low, -bound, 1e-9);
  EXPECT_NEAR(ci.high, bound, 1e-9);
}

TEST(TangoInterval, StaysInsideMinusOneToOneWhenAllCasesFlip) {
  const Interval ci = TangoInterval(5, 5, 0, 0.95);
  EXPECT_EQ(ci.low, -1.0);
  EXPECT_LT(ci.high, 0.0);
  EXPECT_GT(ci.high, -1.0);
}

TEST(TangoInterval, AgreesWithWaldForManyDiscordantPairs) {
  // Agresti's example: Wald Δ ± z·√((b+c) − (b−c)²/n)/n = −0.04 ± 0.0188.
  const Interval ci = TangoInterval(1600, 150, 86, 0.95);
  const double half = kZ95 * std::sqrt(236 - 64.0 * 64 / 1600) / 1600;
  EXPECT_NEAR(ci.low, -0.04 - half, 5e-4);
  EXPECT_NEAR(ci.high, -0.04 + half, 5e-4);
}

TEST(WilsonInterval, MatchesKnownExamples) {
  const Interval eight_of_ten = WilsonInterval(8, 10, 0.95);
  EXPECT_NEAR(eight_of_ten.low, 0.4901624715366418, 1e-12);
  EXPECT_NEAR(eight_of_ten.high, 0.9433178485456248, 1e-12);
  const Interval nineteen_of_twenty = WilsonInterval(19, 20, 0.95);
  EXPECT_NEAR(nineteen_of_twenty.low, 0.763868806553258, 1e-12);
  EXPECT_NEAR(nineteen_of_twenty.high, 0.9911185511992047, 1e-12);
}

TEST(WilsonInterval, AllPassReachesOneAndStaysBelowForTheLowerBound) {
  const Interval all = WilsonInterval(50, 50, 0.95);
  EXPECT_NEAR(all.low, 0.9286524008666414, 1e-12);
  EXPECT_EQ(all.high, 1.0);
}

TEST(WilsonInterval, NoPassStartsAtZero) {
  const Interval none = WilsonInterval(0, 20, 0.95);
  EXPECT_EQ(none.low, 0.0);
  EXPECT_NEAR(none.high, 0.16112515805281938, 1e-12);
}

}  // namespace
}  // namespace dw::stats
