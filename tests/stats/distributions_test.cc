#include "stats/distributions.h"

#include <cmath>
#include <vector>

#include <gtest/gtest.h>

namespace dw::stats {
namespace {

TEST(NormalQuantile, MatchesKnownValues) {
  EXPECT_NEAR(NormalQuantile(0.975), 1.9599639845400536, 1e-12);
  EXPECT_NEAR(NormalQuantile(0.5), 0.0, 1e-15);
  EXPECT_NEAR(NormalQuantile(0.8), 0.8416212335729143, 1e-12);
  EXPECT_EQ(NormalQuantile(0.0), -INFINITY);
  EXPECT_EQ(NormalQuantile(1.0), INFINITY);
}

TEST(NormalCdf, MatchesKnownValues) {
  EXPECT_NEAR(NormalCdf(1.96), 0.9750021048517796, 1e-13);
  EXPECT_NEAR(NormalCdf(-1.96), 1 - 0.9750021048517796, 1e-13);
}

TEST(NormalSf, StaysAccurateFarInTheTail) {
  // 1 − Φ(10) = ½·erfc(10/√2) = 7.619853024160593e-24.
  EXPECT_NEAR(NormalSf(10) / 7.619853024160593e-24, 1.0, 1e-12);
}

TEST(StudentTQuantile, MatchesTTable) {
  EXPECT_NEAR(StudentTQuantile(0.975, 10), 2.2281388519862742, 1e-9);
  EXPECT_NEAR(StudentTQuantile(0.975, 1), 12.706204736174698, 1e-8);
}

TEST(BinomialPmf, EqualsCountingFormula) {
  EXPECT_NEAR(BinomialPmf(3, 10, 0.5), 120.0 / 1024, 1e-15);
  EXPECT_EQ(BinomialPmf(-1, 10, 0.5), 0.0);
  EXPECT_EQ(BinomialPmf(11, 10, 0.5), 0.0);
}

TEST(BinomialCdf, EqualsSumOfPmf) {
  EXPECT_NEAR(BinomialCdf(2, 10, 0.5), 56.0 / 1024, 1e-15);
  EXPECT_EQ(BinomialCdf(-1, 10, 0.5), 0.0);
  EXPECT_EQ(BinomialCdf(10, 10, 0.5), 1.0);
}

TEST(LogFactorial, MatchesExactFactorialsAndLgamma) {
  EXPECT_NEAR(LogFactorial(0), 0.0, 1e-14);
  EXPECT_NEAR(LogFactorial(5), std::log(120.0), 1e-14);
  EXPECT_NEAR(LogFactorial(10), std::log(3628800.0), 1e-12);
  EXPECT_NEAR(LogFactorial(1000), std::lgamma(1001.0), 1e-9);
}

// Mean and variance of many draws against np and np(1−p), within 5 standard
// errors; covers inversion (np < 10), BTRS and p > ½.
void ExpectBinomialMoments(std::int64_t n, double p) {
  Wyrand rng(static_cast<std::uint64_t>(n) * 31 + static_cast<std::uint64_t>(p * 1000));
  constexpr int kDraws = 40000;
  double sum = 0, squares = 0;
  for (int i = 0; i < kDraws; ++i) {
    const auto x = static_cast<double>(SampleBinomial(n, p, rng));
    ASSERT_GE(x, 0);
    ASSERT_LE(x, static_cast<double>(n));
    sum += x;
    squares += x * x;
  }
  const double mean = sum / kDraws;
  const double variance = squares / kDraws - mean * mean;
  const double true_variance = static_cast<double>(n) * p * (1 - p);
  EXPECT_NEAR(mean, static_cast<double>(n) * p, 5 * std::sqrt(true_variance / kDraws)) << n << " " << p;
  EXPECT_NEAR(variance / true_variance, 1.0, 5 * std::sqrt(2.0 / kDraws)) << n << " " << p;
}

TEST(SampleBinomial, HasBinomialMeanAndVariance) {
  ExpectBinomialMoments(20, 0.3);
  ExpectBinomialMoments(25, 0.4);
  ExpectBinomialMoments(1000, 0.37);
  ExpectBinomialMoments(1000000, 0.5);
  ExpectBinomialMoments(500, 0.93);
}

// Pearson χ² of 100,000 draws against the pmf, tails pooled so that every
// cell expects at least 50 draws; compared with the upper 0.001 point of
// χ²(cells − 1) by the Wilson–Hilferty approximation.
void ExpectBinomialShape(std::int64_t n, double p) {
  Wyrand rng(static_cast<std::uint64_t>(n) * 7 + 1);
  constexpr int kDraws = 100000;
  std::vector<int> counts(static_cast<std::size_t>(n) + 1, 0);
  for (int i = 0; i < kDraws; ++i) ++counts[static_cast<std::size_t>(SampleBinomial(n, p, rng))];
  double chi2 = 0, tail_observed = 0, tail_expected = 0;
  int cells = 0;
  for (std::int64_t k = 0; k <= n; ++k) {
    const double expected = kDraws * BinomialPmf(k, n, p);
    const double observed = counts[static_cast<std::size_t>(k)];
    if (expected < 50) {
      tail_observed += observed;
      tail_expected += expected;
      continue;
    }
    chi2 += (observed - expected) * (observed - expected) / expected;
    ++cells;
  }
  chi2 += (tail_observed - tail_expected) * (tail_observed - tail_expected) / tail_expected;
  const double df = cells;  // cells + pooled tail − 1
  const double critical = df * std::pow(1 - 2 / (9 * df) + 3.090232 * std::sqrt(2 / (9 * df)), 3);
  EXPECT_LT(chi2, critical) << "n=" << n << " p=" << p << " cells=" << cells + 1;
}

TEST(SampleBinomial, MatchesPmfByChiSquare) {
  ExpectBinomialShape(15, 0.3);    // inversion
  ExpectBinomialShape(40, 0.45);   // BTRS near its np ≥ 10 boundary
  ExpectBinomialShape(2000, 0.1);  // BTRS, wide
  ExpectBinomialShape(300, 0.8);   // p > ½ by symmetry
}

TEST(SampleBinomial, HandlesDegenerateArguments) {
  Wyrand rng(1);
  EXPECT_EQ(SampleBinomial(0, 0.5, rng), 0);
  EXPECT_EQ(SampleBinomial(10, 0.0, rng), 0);
  EXPECT_EQ(SampleBinomial(10, 1.0, rng), 10);
}

}  // namespace
}  // namespace dw::stats
