#include "stats/resampling.h"

#include <cmath>
#include <vector>

#include <gtest/gtest.h>

#include "stats/intervals.h"
#include "stats/rng.h"

namespace dw::stats {
namespace {

std::vector<Unit> Units(const std::vector<double>& differences) {
  std::vector<Unit> units;
  for (double d : differences) units.push_back({d, 1});
  return units;
}

// Paired binary differences: b cases at −1, c at +1, ties at 0.
std::vector<Unit> BinaryUnits(int b, int c, int ties) {
  std::vector<Unit> units;
  for (int i = 0; i < b; ++i) units.push_back({-1, 1});
  for (int i = 0; i < c; ++i) units.push_back({1, 1});
  for (int i = 0; i < ties; ++i) units.push_back({0, 1});
  return units;
}

std::vector<double> NormalSample(int n, double mean, double sd, std::uint64_t seed) {
  Wyrand rng(seed);
  std::vector<double> out;
  while (static_cast<int>(out.size()) < n) {
    const double u1 = 1 - rng.NextDouble();
    const double u2 = rng.NextDouble();
    out.push_back(mean + sd * std::sqrt(-2 * std::log(u1)) * std::cos(2 * M_PI * u2));
  }
  return out;
}

// Two-sided sign-flip p at H₀: mean = delta, by brute-force enumeration.
double BruteForceShiftedP(const std::vector<double>& d, double delta) {
  const std::size_t n = d.size();
  double observed = 0;
  for (double x : d) observed += x - delta;
  int exceed = 0;
  for (std::uint32_t mask = 0; mask < (1u << n); ++mask) {
    double total = 0;
    for (std::size_t i = 0; i < n; ++i) total += ((mask >> i) & 1 ? -1 : 1) * (d[i] - delta);
    if (std::abs(total) >= std::abs(observed) - 1e-9) ++exceed;
  }
  return static_cast<double>(exceed) / (1u << n);
}

TEST(SignFlipTest, EnumeratesSmallSamplesExactly) {
  // Of the 16 sign vectors of (1, 2, 3, −1), six reach |Σ| ≥ 5.
  const SignFlipResult result = SignFlipTest(Units({1, 2, 3, -1}), 10000, 1);
  EXPECT_TRUE(result.exact);
  EXPECT_EQ(result.draws, 16);
  EXPECT_DOUBLE_EQ(result.p_value, 6.0 / 16);
  EXPECT_DOUBLE_EQ(result.statistic, 5.0);
}

TEST(SignFlipTest, IgnoresZeroDifferences) {
  // Six non-zero values; 6 of the 64 sign vectors reach |Σ| ≥ 2.75.
  const SignFlipResult result = SignFlipTest(Units({0.5, 0.25, -0.25, 0.75, 1.0, 0.5, 0.0}), 10000, 1);
  EXPECT_EQ(result.nonzero_units, 6);
  EXPECT_DOUBLE_EQ(result.p_value, 6.0 / 64);
  EXPECT_DOUBLE_EQ(result.min_attainable_p, 2.0 / 64);
}

TEST(SignFlipTest, OnBinaryDifferencesEqualsExactMcNemar) {
  const SignFlipResult result = SignFlipTest(BinaryUnits(2, 9, 30), 10000, 1);
  EXPECT_TRUE(result.exact);
  EXPECT_DOUBLE_EQ(result.p_value, McNemarExactP(2, 9));
}

TEST(SignFlipTest, AllTiesGivePOne) {
  const SignFlipResult result = SignFlipTest(Units({0, 0, 0, 0}), 10000, 1);
  EXPECT_EQ(result.p_value, 1.0);
  EXPECT_EQ(result.nonzero_units, 0);
}

TEST(SignFlipTest, MonteCarloOverFewLevelsMatchesExactMcNemar) {
  // 2000 discordant ±1 pairs use the per-level binomial path.
  const SignFlipResult result = SignFlipTest(BinaryUnits(950, 1050, 500), 20000, 7);
  EXPECT_FALSE(result.exact);
  EXPECT_NEAR(result.p_value, McNemarExactP(950, 1050), 0.006);
}

TEST(SignFlipTest, MonteCarloOverDistinctValuesMatchesMidP) {
  // Distinct magnitudes use the byte-table path; with continuous values the
  // boundary ties of the discrete test split, hence mid-p.
  std::vector<Unit> units;
  for (int i = 0; i < 2000; ++i) units.push_back({(i < 950 ? -1.0 : 1.0) * (1 + 1e-9 * i), 1});
  const SignFlipResult result = SignFlipTest(units, 20000, 7);
  EXPECT_NEAR(result.p_value, McNemarMidP(950, 1050), 0.006);
}

TEST(SignFlipTest, MonteCarloAgreesWithFullEnumeration) {
  const std::vector<double> d = NormalSample(20, 0.35, 1, 99);
  const SignFlipResult exact = SignFlipTest(Units(d), 1 << 20, 3);
  const SignFlipResult sampled = SignFlipTest(Units(d), 20000, 3);
  ASSERT_TRUE(exact.exact);
  ASSERT_FALSE(sampled.exact);
  EXPECT_NEAR(sampled.p_value, exact.p_value, 0.01);
}

TEST(SignFlipTest, IsReproducibleForASeedAndNeverZero) {
  const std::vector<Unit> units = Units(NormalSample(300, 1.0, 1, 5));
  const SignFlipResult a = SignFlipTest(units, 1000, 42);
  const SignFlipResult b = SignFlipTest(units, 1000, 42);
  EXPECT_EQ(a.p_value, b.p_value);
  EXPECT_DOUBLE_EQ(a.p_value, 1.0 / 1001);
  EXPECT_DOUBLE_EQ(a.min_attainable_p, 1.0 / 1001);
}

TEST(SignFlipTest, FlipsClustersAsWholes) {
  // Two clusters: the test has only 2² sign vectors.
  const SignFlipResult result = SignFlipTest(std::vector<Unit>{{3.0, 3}, {2.0, 2}}, 10000, 1);
  EXPECT_TRUE(result.exact);
  EXPECT_EQ(result.draws, 4);
  EXPECT_DOUBLE_EQ(result.p_value, 0.5);
}

TEST(BcaBootstrap, ConstantDifferencesGiveAPointInterval) {
  const double levels[] = {0.95};
  const BootstrapResult result = BcaBootstrap(Units(std::vector<double>(50, 0.25)), levels, 2000, 1);
  EXPECT_DOUBLE_EQ(result.estimate, 0.25);
  EXPECT_DOUBLE_EQ(result.intervals[0].low, 0.25);
  EXPECT_DOUBLE_EQ(result.intervals[0].high, 0.25);
}

TEST(BcaBootstrap, MatchesNormalTheoryForALargeSymmetricSample) {
  const std::vector<double> d = NormalSample(400, 0.3, 1, 17);
  double mean = 0, squares = 0;
  for (double x : d) mean += x;
  mean /= d.size();
  for (double x : d) squares += (x - mean) * (x - mean);
  const double se = std::sqrt(squares / (d.size() - 1) / d.size());
  const double levels[] = {0.95};
  const BootstrapResult result = BcaBootstrap(Units(d), levels, 10000, 3);
  EXPECT_NEAR(result.estimate, mean, 1e-12);
  EXPECT_NEAR(result.intervals[0].low, mean - 1.96 * se, 0.1 * se);
  EXPECT_NEAR(result.intervals[0].high, mean + 1.96 * se, 0.1 * se);
}

TEST(BcaBootstrap, BinaryDifferencesMatchTheWaldInterval) {
  // b = 60, c = 100 among 1000 cases; resampled through per-level counts.
  const double levels[] = {0.95};
  const BootstrapResult result = BcaBootstrap(BinaryUnits(60, 100, 840), levels, 10000, 9);
  const double delta = 40.0 / 1000;
  const double half = 1.96 * std::sqrt(160 - 40.0 * 40 / 1000) / 1000;
  EXPECT_NEAR(result.intervals[0].low, delta - half, 0.003);
  EXPECT_NEAR(result.intervals[0].high, delta + half, 0.003);
}

TEST(BcaBootstrap, ReportsEveryRequestedLevelNested) {
  const double levels[] = {0.95, 0.90};
  const BootstrapResult result = BcaBootstrap(Units(NormalSample(100, 0, 1, 4)), levels, 4000, 2);
  ASSERT_EQ(result.intervals.size(), 2u);
  EXPECT_LT(result.intervals[0].low, result.intervals[1].low);
  EXPECT_GT(result.intervals[0].high, result.intervals[1].high);
}

TEST(BcaBootstrap, LeansTowardTheLongTailOfSkewedData) {
  // Exponential(1) differences: the upper arm of the interval is longer.
  Wyrand rng(23);
  std::vector<double> d;
  for (int i = 0; i < 80; ++i) d.push_back(-std::log(1 - rng.NextDouble()));
  const double levels[] = {0.95};
  const BootstrapResult result = BcaBootstrap(Units(d), levels, 10000, 5);
  EXPECT_GT(result.acceleration, 0.0);
  EXPECT_GT(result.intervals[0].high - result.estimate, result.estimate - result.intervals[0].low);
}

TEST(BcaBootstrap, ClusterResamplingWidensIntervalForCorrelatedCases) {
  // 40 clusters of 10 cases sharing a cluster effect (ICC ≈ 0.8).
  const std::vector<double> effects = NormalSample(40, 0, 1, 31);
  const std::vector<double> noise = NormalSample(400, 0, 0.5, 32);
  std::vector<Unit> cases, clusters(40, Unit{0, 0});
  for (int i = 0; i < 400; ++i) {
    const double d = effects[static_cast<std::size_t>(i / 10)] + noise[static_cast<std::size_t>(i)];
    cases.push_back({d, 1});
    clusters[static_cast<std::size_t>(i / 10)].sum += d;
    clusters[static_cast<std::size_t>(i / 10)].count += 1;
  }
  const double levels[] = {0.95};
  const Interval naive = BcaBootstrap(cases, levels, 4000, 1).intervals[0];
  const Interval clustered = BcaBootstrap(clusters, levels, 4000, 1).intervals[0];
  EXPECT_GT((clustered.high - clustered.low) / (naive.high - naive.low), 2.0);
}

TEST(BcaBootstrap, IsReproducibleForASeed) {
  const std::vector<Unit> units = Units(NormalSample(200, 0.1, 1, 8));
  const double levels[] = {0.95};
  const Interval a = BcaBootstrap(units, levels, 2000, 77).intervals[0];
  const Interval b = BcaBootstrap(units, levels, 2000, 77).intervals[0];
  const Interval other = BcaBootstrap(units, levels, 2000, 78).intervals[0];
  EXPECT_EQ(a.low, b.low);
  EXPECT_EQ(a.high, b.high);
  EXPECT_NE(a.low, other.low);
}

TEST(SharedBootstrapReplicates, GiveEachMetricItsOwnBootstrap) {
  // Three metrics on the same 200 cases: resampled together, each metric's
  // interval equals the one BcaBootstrap computes for it alone.
  const std::vector<std::vector<double>> metrics = {NormalSample(200, 0.1, 1, 41), NormalSample(200, -0.3, 2, 42),
                                                    NormalSample(200, 0, 0.1, 43)};
  SharedUnits shared;
  shared.metrics = 3;
  for (int u = 0; u < 200; ++u) {
    for (const auto& values : metrics) shared.sums.push_back(values[static_cast<std::size_t>(u)]);
    shared.counts.push_back(1);
  }
  std::vector<std::vector<double>> replicates(3, std::vector<double>(1000));
  SharedBootstrapReplicates(shared, 0, 1000, 314, &replicates);
  const double levels[] = {0.95};
  for (std::size_t m = 0; m < 3; ++m) {
    const std::vector<Unit> units = Units(metrics[m]);
    ASSERT_FALSE(ResamplesByLevels(units));
    const Interval together = BcaFromReplicates(units, replicates[m], levels).intervals[0];
    const Interval alone = BcaBootstrap(units, levels, 1000, 314).intervals[0];
    EXPECT_EQ(together.low, alone.low) << m;
    EXPECT_EQ(together.high, alone.high) << m;
  }
}

TEST(SharedBootstrapReplicates, SplitsIntoDrawRangesWithoutChangingResults) {
  SharedUnits shared;
  shared.metrics = 1;
  shared.sums = NormalSample(50, 0, 1, 44);
  shared.counts.assign(50, 1);
  std::vector<std::vector<double>> whole(1, std::vector<double>(300)), parts(1, std::vector<double>(300));
  SharedBootstrapReplicates(shared, 0, 300, 9, &whole);
  SharedBootstrapReplicates(shared, 0, 120, 9, &parts);
  SharedBootstrapReplicates(shared, 120, 300, 9, &parts);
  EXPECT_EQ(whole, parts);
}

TEST(SharedBootstrapReplicates, DividesByResampledCaseCountsForClusters) {
  // Every cluster has mean difference 0.5, so every replicate is 0.5 whatever
  // the clusters drawn, but only when dividing by their case counts.
  SharedUnits shared;
  shared.metrics = 1;
  shared.sums = {0.5, 1.5, 2.5, 0.5};
  shared.counts = {1, 3, 5, 1};
  std::vector<std::vector<double>> replicates(1, std::vector<double>(200));
  SharedBootstrapReplicates(shared, 0, 200, 3, &replicates);
  for (double value : replicates[0]) EXPECT_DOUBLE_EQ(value, 0.5);
}

TEST(ResamplesByLevels, NeedsFewDistinctValuesWithManyUnitsEach) {
  EXPECT_TRUE(ResamplesByLevels(BinaryUnits(100, 100, 1000)));      // 3 values, 1200 units
  EXPECT_FALSE(ResamplesByLevels(BinaryUnits(10, 10, 100)));        // 3 values, 120 units
  EXPECT_FALSE(ResamplesByLevels(Units(NormalSample(5000, 0, 1, 1))));  // all distinct
}

TEST(SignFlipInterval, BoundsSitWhereTheEnumeratedTestStartsToReject) {
  const std::vector<double> d = {0.3, -0.1, 0.45, 0.2, 0.05, 0.6, -0.2, 0.35, 0.15, 0.4};
  const double levels[] = {0.95};
  const Interval ci = SignFlipInterval(Units(d), levels, 10000, 1)[0];
  EXPECT_LT(ci.low, 0.2);
  EXPECT_GT(ci.high, 0.2);
  EXPECT_GT(BruteForceShiftedP(d, ci.low + 1e-7), 0.05);
  EXPECT_LE(BruteForceShiftedP(d, ci.low - 1e-7), 0.05);
  EXPECT_GT(BruteForceShiftedP(d, ci.high - 1e-7), 0.05);
  EXPECT_LE(BruteForceShiftedP(d, ci.high + 1e-7), 0.05);
}

TEST(SignFlipInterval, IsUnboundedWhenTooFewUnitsToReject) {
  // Five units: the smallest attainable p is 2/32 > 0.05.
  const double levels[] = {0.95};
  const Interval ci = SignFlipInterval(Units({0.1, 0.2, 0.3, 0.4, 0.5}), levels, 10000, 1)[0];
  EXPECT_EQ(ci.low, -INFINITY);
  EXPECT_EQ(ci.high, INFINITY);
}

TEST(SignFlipInterval, ConstantDifferencesGiveAPoint) {
  const double levels[] = {0.95};
  const Interval ci = SignFlipInterval(Units(std::vector<double>(12, -0.5)), levels, 10000, 1)[0];
  // Within the relative tie tolerance (1e-9) of the test statistic.
  EXPECT_NEAR(ci.low, -0.5, 1e-8);
  EXPECT_NEAR(ci.high, -0.5, 1e-8);
}

TEST(UnitMean, IsTotalSumOverTotalCount) {
  EXPECT_DOUBLE_EQ(UnitMean(std::vector<Unit>{{3, 2}, {1, 2}}), 1.0);
  EXPECT_EQ(UnitMean(std::vector<Unit>{}), 0.0);
}

}  // namespace
}  // namespace dw::stats
