// Seeded Monte Carlo checks of the detectors' operating characteristics:
// false-alarm rates under no drift, detection of a planted drift, and the
// average run lengths of the control charts. Each test runs well under 5 s.
#include <cmath>
#include <limits>
#include <vector>

#include <gtest/gtest.h>

#include "stats/compare.h"
#include "stats/control_chart.h"
#include "stats/rng.h"
#include "stats_test_support.h"

namespace dw::stats {
namespace {

using testing::CaseId;
using testing::Gaussian;
using testing::Metric;
using testing::Values;

constexpr int kReplays = 400;
// Nominal α = 0.05 plus 2.5 binomial standard errors over 400 replays.
const double kFalseAlarmCeiling = 0.05 + 2.5 * std::sqrt(0.05 * 0.95 / kReplays);

constexpr double kStablePass = 0.99;
constexpr double kStableFail = 0.01;

// Per-case pass probabilities of a golden set replayed on one model: 75%
// stable passes, 20% stable failures, 5% coin-flip cases. Replays then
// disagree on ≈ 4% of cases (ψ), so 8 pp is about 1.6 × the α = 0.01 MDE
// of a 400-case set.
std::vector<double> PassProbabilities(int n, Wyrand& rng) {
  std::vector<double> p;
  for (int i = 0; i < n; ++i) {
    const double u = rng.NextDouble();
    p.push_back(u < 0.75 ? kStablePass : u < 0.95 ? kStableFail : 0.5);
  }
  return p;
}

ComparisonInput BinaryReplay(const std::vector<double>& baseline_p, const std::vector<double>& candidate_p,
                             Wyrand& rng) {
  ComparisonInput input;
  input.metrics.push_back(Metric("pass_rate", MetricKind::kBinary));
  for (std::size_t i = 0; i < baseline_p.size(); ++i) {
    CaseRecord record;
    record.id = CaseId(static_cast<int>(i));
    record.metrics.push_back(Values({rng.NextDouble() < baseline_p[i] ? 1.0 : 0.0},
                                    {rng.NextDouble() < candidate_p[i] ? 1.0 : 0.0}));
    input.cases.push_back(record);
  }
  return input;
}

Policy SimulationPolicy() {
  Policy policy;
  policy.permutations = 1000;
  policy.bootstrap = 200;
  policy.threads = 1;
  return policy;
}

TEST(NoDriftReplays, McNemarRejectsAtMostAtTheNominalRate) {
  Wyrand rng(20240501);
  const std::vector<double> p = PassProbabilities(400, rng);
  int rejections = 0;
  for (int replay = 0; replay < kReplays; ++replay) {
    const ComparisonResult result = *Compare(BinaryReplay(p, p, rng), SimulationPolicy(), replay);
    if (*result.results[0].p_value < 0.05) ++rejections;
  }
  EXPECT_LE(static_cast<double>(rejections) / kReplays, kFalseAlarmCeiling) << rejections;
}

TEST(NoDriftReplays, SignFlipOnScoresRejectsAtMostAtTheNominalRate) {
  Wyrand rng(20240502);
  constexpr int kCases = 150;
  std::vector<double> level(kCases);
  for (double& x : level) x = rng.NextDouble();
  int rejections = 0;
  for (int replay = 0; replay < kReplays; ++replay) {
    ComparisonInput input;
    input.metrics.push_back(Metric("score", MetricKind::kContinuous));
    for (int i = 0; i < kCases; ++i) {
      std::vector<double> base, cand;
      for (int k = 0; k < 3; ++k) {
        base.push_back(level[static_cast<std::size_t>(i)] + 0.1 * Gaussian(rng));
        cand.push_back(level[static_cast<std::size_t>(i)] + 0.1 * Gaussian(rng));
      }
      CaseRecord record;
      record.id = CaseId(i);
      record.metrics.push_back(Values(base, cand));
      input.cases.push_back(record);
    }
    const ComparisonResult result = *Compare(input, SimulationPolicy(), replay);
    if (*result.results[0].p_value < 0.05) ++rejections;
  }
  EXPECT_LE(static_cast<double>(rejections) / kReplays, kFalseAlarmCeiling) << rejections;
}

TEST(PlantedDrift, EightPointDropOnFourHundredCasesIsARegression) {
  // 32 stable passes (8% of 400) start failing in the candidate.
  Wyrand rng(20240503);
  int regressed = 0, critical = 0;
  constexpr int kSeeds = 50;
  for (int seed = 0; seed < kSeeds; ++seed) {
    const std::vector<double> base = PassProbabilities(400, rng);
    std::vector<double> cand = base;
    int moved = 0;
    for (std::size_t i = 0; i < cand.size() && moved < 32; ++i) {
      if (cand[i] == kStablePass) {
        cand[i] = kStableFail;
        ++moved;
      }
    }
    const ComparisonResult result = *Compare(BinaryReplay(base, cand, rng), SimulationPolicy(), seed);
    if (result.results[0].verdict == Verdict::kRegressed) ++regressed;
    if (result.results[0].severity == Severity::kCritical) ++critical;
  }
  EXPECT_GE(regressed, 46);  // ≥ 92%
  EXPECT_GE(critical, 40);
}

// Runs until the chosen alarm fires (or `cap` runs), observations
// N(shift, 1) against μ₀ = 0, σ₀ = 1.
int RunLength(const DetectorConfig& config, double shift, bool cusum, Wyrand& rng, int cap = 20000) {
  DetectorState state = Rebaseline(config, 0.0, 1.0);
  for (int t = 1; t <= cap; ++t) {
    state = Update(state, shift + Gaussian(rng));
    if (cusum ? state.cusum_alarm : state.ewma_alarm) return t;
  }
  return cap;
}

double AverageRunLength(const DetectorConfig& config, double shift, bool cusum, int runs, std::uint64_t seed) {
  Wyrand rng(seed);
  double total = 0;
  for (int i = 0; i < runs; ++i) total += RunLength(config, shift, cusum, rng);
  return total / runs;
}

// σ₀ known (the replicate σ only), as in the published ARL tables.
DetectorConfig KnownSigma(bool fir) {
  DetectorConfig config;
  config.fir = fir;
  config.min_runs_moving_range = std::numeric_limits<int>::max();
  return config;
}

TEST(Cusum, InControlAverageRunLengthIsNearFourHundredSixtyFive) {
  // k = 0.5, h = 5: ARL₀ ≈ 465 (Montgomery); 300 runs give an SE of ≈ 27.
  const double arl = AverageRunLength(KnownSigma(false), 0.0, true, 300, 1);
  EXPECT_GT(arl, 360);
  EXPECT_LT(arl, 580);
}

TEST(Cusum, DetectsAOneSigmaShiftInAboutTenRuns) {
  EXPECT_NEAR(AverageRunLength(KnownSigma(false), 1.0, true, 2000, 2), 10.4, 0.6);
}

TEST(Cusum, DetectsATwoSigmaShiftInAboutFourRuns) {
  EXPECT_NEAR(AverageRunLength(KnownSigma(false), 2.0, true, 2000, 3), 4.0, 0.3);
}

TEST(Cusum, FastInitialResponseShortensDetectionAfterARebaseline) {
  EXPECT_NEAR(AverageRunLength(KnownSigma(true), 1.0, true, 2000, 4), 6.4, 0.5);
}

TEST(Cusum, MovingRangeSigmaLengthensTheInControlRunLength) {
  // σ₀ = max(replicate, moving range) once 10 runs exist errs toward a
  // larger σ₀, so false alarms get rarer (ARL₀ ≈ 560 instead of 465); SEs of
  // the two averages are ≈ 12.
  DetectorConfig with_moving_range = KnownSigma(false);
  with_moving_range.min_runs_moving_range = 10;
  const double known = AverageRunLength(KnownSigma(false), 0.0, true, 2000, 7);
  const double guarded = AverageRunLength(with_moving_range, 0.0, true, 2000, 8);
  EXPECT_GT(guarded, known + 40);
}

TEST(Ewma, InControlAverageRunLengthIsNearThreeHundredSixtyFive) {
  // λ = 0.2, L = 2.86 with exact limits: ARL₀ ≈ 364 (reference §4.4).
  const double arl = AverageRunLength(KnownSigma(false), 0.0, false, 300, 5);
  EXPECT_GT(arl, 280);
  EXPECT_LT(arl, 460);
}

TEST(Ewma, DetectsAOneSigmaShiftInAboutNineRuns) {
  EXPECT_NEAR(AverageRunLength(KnownSigma(false), 1.0, false, 2000, 6), 8.8, 0.6);
}

}  // namespace
}  // namespace dw::stats
