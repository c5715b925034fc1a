#include "stats/compare.h"

#include <cmath>

#include <gtest/gtest.h>

#include "stats/compare_render.h"
#include "stats/intervals.h"
#include "stats/multiplicity.h"
#include "stats_test_support.h"

namespace dw::stats {
namespace {

using testing::BinaryTable;
using testing::CaseId;
using testing::FastPolicy;
using testing::Gaussian;
using testing::Metric;
using testing::Row;
using testing::Values;

ComparisonResult RunCompare(const ComparisonInput& input, const Policy& policy = FastPolicy(), std::uint64_t seed = 7) {
  Result<ComparisonResult> result = Compare(input, policy, seed);
  EXPECT_TRUE(result.has_value()) << result.error().message;
  return result ? *result : ComparisonResult{};
}

// n cases of a continuous score with `repeats` values per side drawn around a
// per-case level; the candidate is shifted by `shift`.
ComparisonInput Scores(int n, int repeats, double shift, std::uint64_t seed) {
  ComparisonInput input;
  input.metrics.push_back(Metric("score", MetricKind::kContinuous));
  Wyrand rng(seed);
  for (int i = 0; i < n; ++i) {
    const double level = 0.5 + 0.2 * Gaussian(rng);
    std::vector<double> base, cand;
    for (int k = 0; k < repeats; ++k) {
      base.push_back(level + 0.1 * Gaussian(rng));
      cand.push_back(level + shift + 0.1 * Gaussian(rng));
    }
    CaseRecord record;
    record.id = CaseId(i);
    record.metrics.push_back(Values(base, cand));
    input.cases.push_back(record);
  }
  return input;
}

TEST(Compare, BinarySingleRepeatUsesMidPMcNemarAndTangoInterval) {
  const ComparisonResult result = RunCompare(BinaryTable(150, 12, 3, 35));
  const MetricResult& row = Row(result, "pass_rate");
  EXPECT_EQ(row.n, 200);
  EXPECT_EQ(row.b.value(), 12);
  EXPECT_EQ(row.c.value(), 3);
  EXPECT_DOUBLE_EQ(row.delta, -9.0 / 200);
  EXPECT_EQ(row.test.name, "mcnemar_midp");
  EXPECT_DOUBLE_EQ(row.p_value.value(), McNemarMidP(12, 3));
  const Interval tango = TangoInterval(200, 12, 3, 0.95);
  EXPECT_DOUBLE_EQ(row.delta_ci->low, tango.low);
  EXPECT_DOUBLE_EQ(row.delta_ci->high, tango.high);
  EXPECT_EQ(row.ci_method.name, "tango_score");
  EXPECT_DOUBLE_EQ(row.baseline.value, 162.0 / 200);
  EXPECT_EQ(row.baseline.method, "wilson");
  const Interval wilson = WilsonInterval(162, 200, 0.95);
  EXPECT_NEAR(row.baseline.ci->low, wilson.low, 1e-12);
  EXPECT_NEAR(row.baseline.ci->high, wilson.high, 1e-12);
  EXPECT_DOUBLE_EQ(row.candidate.value, 153.0 / 200);
}

TEST(Compare, BinarySwitchesToAsymptoticMcNemarAtThePolicyThreshold) {
  const MetricResult& row = Row(RunCompare(BinaryTable(100, 20, 5, 75)), "pass_rate");
  EXPECT_EQ(row.test.name, "mcnemar_asymptotic");
  EXPECT_DOUBLE_EQ(row.p_value.value(), McNemarAsymptoticP(20, 5));
}

TEST(Compare, PrimaryRegressionBeyondTheFloorIsCritical) {
  const ComparisonResult result = RunCompare(BinaryTable(300, 40, 4, 56));
  const MetricResult& row = Row(result, "pass_rate");
  EXPECT_EQ(row.family, Family::kPrimary);
  EXPECT_EQ(row.verdict, Verdict::kRegressed);
  EXPECT_EQ(row.severity, Severity::kCritical);
  EXPECT_LT(row.delta_ci->high, -0.02);
  EXPECT_EQ(result.verdict, Verdict::kRegressed);
  EXPECT_EQ(result.severity, Severity::kCritical);
  ASSERT_FALSE(result.reasons.empty());
  EXPECT_EQ(result.reasons[0].rfind("pass_rate/all regressed (critical)", 0), 0u) << result.reasons[0];
}

TEST(Compare, SignificantRegressionInsideTheFloorIsAWarning) {
  // Δ = −2 pp on 2000 cases: p ≈ 1e-5, but the CI reaches above −2 pp.
  const MetricResult& row = Row(RunCompare(BinaryTable(1500, 60, 20, 420)), "pass_rate");
  EXPECT_EQ(row.verdict, Verdict::kRegressed);
  EXPECT_EQ(row.severity, Severity::kWarning);
  EXPECT_GT(row.delta_ci->high, -0.02);
}

TEST(Compare, ImprovementIsInfoAndMakesTheOverallVerdictImproved) {
  const ComparisonResult result = RunCompare(BinaryTable(300, 4, 40, 56));
  EXPECT_EQ(Row(result, "pass_rate").verdict, Verdict::kImproved);
  EXPECT_EQ(Row(result, "pass_rate").severity, Severity::kInfo);
  EXPECT_EQ(result.verdict, Verdict::kImproved);
}

TEST(Compare, BalancedFlipsAreUnchangedWithoutSeverity) {
  const ComparisonResult result = RunCompare(BinaryTable(400, 5, 5, 90));
  const MetricResult& row = Row(result, "pass_rate");
  EXPECT_EQ(row.verdict, Verdict::kUnchanged);
  EXPECT_EQ(row.severity, Severity::kNone);
  EXPECT_DOUBLE_EQ(row.p_value.value(), McNemarMidP(5, 5));
  EXPECT_EQ(result.verdict, Verdict::kUnchanged);
  EXPECT_EQ(result.severity, Severity::kNone);
}

TEST(Compare, TooFewCasesIsInsufficientData) {
  const ComparisonResult result = RunCompare(BinaryTable(10, 5, 0, 5));
  const MetricResult& row = Row(result, "pass_rate");
  EXPECT_EQ(row.verdict, Verdict::kInsufficientData);
  EXPECT_EQ(row.reason, "too few cases: n=20 < min_cases=30");
  EXPECT_EQ(row.family, Family::kDescriptive);
  EXPECT_FALSE(row.q_value.has_value());
  EXPECT_EQ(row.severity, Severity::kInfo);
  EXPECT_EQ(result.verdict, Verdict::kInsufficientData);
}

TEST(Compare, NoDiscordantPairsOnASmallSetIsInsufficientData) {
  const MetricResult& row = Row(RunCompare(BinaryTable(25, 0, 0, 5)), "pass_rate");
  EXPECT_EQ(row.p_value.value(), 1.0);
  EXPECT_EQ(row.verdict, Verdict::kInsufficientData);
  EXPECT_EQ(row.reason.rfind("too few discordant pairs: b+c=0; smallest attainable p=1", 0), 0u) << row.reason;
}

TEST(Compare, NoDiscordantPairsOnALargeSetIsUnchanged) {
  // Tango bounds ±z²/(n+z²) = ±0.0095 lie inside the 2 pp floor.
  const MetricResult& row = Row(RunCompare(BinaryTable(360, 0, 0, 40)), "pass_rate");
  EXPECT_EQ(row.p_value.value(), 1.0);
  EXPECT_EQ(row.verdict, Verdict::kUnchanged);
  EXPECT_NEAR(row.delta_ci->high, 3.841458820694124 / (400 + 3.841458820694124), 1e-9);
}

TEST(Compare, FewOneWayFlipsCannotReachAlphaAndSaySo) {
  // b+c = 5 one way on 40 cases: mid-p = 1/32 = 0.031 > α = 0.01.
  const MetricResult& row = Row(RunCompare(BinaryTable(30, 5, 0, 5)), "pass_rate");
  EXPECT_DOUBLE_EQ(row.p_value.value(), 1.0 / 32);
  EXPECT_EQ(row.verdict, Verdict::kInsufficientData);
  EXPECT_EQ(row.reason.rfind("too few discordant pairs: b+c=5; smallest attainable p=0.03125 >= 0.01", 0), 0u)
      << row.reason;
}

TEST(Compare, AllTiedScoresAreUnchangedWithAPointInterval) {
  ComparisonInput input;
  input.metrics.push_back(Metric("score", MetricKind::kContinuous));
  for (int i = 0; i < 50; ++i) {
    CaseRecord record;
    record.id = CaseId(i);
    record.metrics.push_back(Values({0.1 * (i % 7)}, {0.1 * (i % 7)}));
    input.cases.push_back(record);
  }
  const MetricResult& row = Row(RunCompare(input), "score");
  EXPECT_EQ(row.ties, 50);
  EXPECT_EQ(row.p_value.value(), 1.0);
  EXPECT_EQ(row.delta_ci->low, 0.0);
  EXPECT_EQ(row.delta_ci->high, 0.0);
  EXPECT_EQ(row.verdict, Verdict::kUnchanged);
}

TEST(Compare, AllPassOnBothSidesIsUnchangedWithWilsonUpperBoundOne) {
  const MetricResult& row = Row(RunCompare(BinaryTable(400, 0, 0, 0)), "pass_rate");
  EXPECT_EQ(row.baseline.value, 1.0);
  EXPECT_EQ(row.baseline.ci->high, 1.0);
  EXPECT_NEAR(row.baseline.ci->low, 400 / (400 + 3.841458820694124), 1e-9);
  EXPECT_EQ(row.verdict, Verdict::kUnchanged);
}

TEST(Compare, CasesMissingOnOneSideAreCountedNotPaired) {
  ComparisonInput input = BinaryTable(30, 3, 3, 4);
  for (int i = 0; i < 3; ++i) {
    CaseRecord record;
    record.id = "only-baseline-" + std::to_string(i);
    record.metrics.push_back(Values({1}, {}));
    input.cases.push_back(record);
  }
  const MetricResult& row = Row(RunCompare(input), "pass_rate");
  EXPECT_EQ(row.n, 40);
  EXPECT_EQ(row.n_missing, 3);
}

TEST(Compare, NoPairedCasesGivesNoTest) {
  ComparisonInput input = BinaryTable(0, 0, 0, 0);
  CaseRecord record;
  record.id = "lonely";
  record.metrics.push_back(Values({}, {1}));
  input.cases.push_back(record);
  const ComparisonResult result = RunCompare(input);
  const MetricResult& row = Row(result, "pass_rate");
  EXPECT_EQ(row.n, 0);
  EXPECT_FALSE(row.p_value.has_value());
  EXPECT_FALSE(row.delta_ci.has_value());
  EXPECT_EQ(row.reason, "no paired cases (1 missing on one side)");
  EXPECT_EQ(result.verdict, Verdict::kInsufficientData);
}

TEST(Compare, ASingleCaseHasAnUnboundedInterval) {
  const MetricResult& row = Row(RunCompare(Scores(1, 1, 0.3, 1)), "score");
  EXPECT_EQ(row.n, 1);
  EXPECT_EQ(row.ci_method.name, "signflip_inversion");
  EXPECT_EQ(row.delta_ci->low, -INFINITY);
  EXPECT_EQ(row.delta_ci->high, INFINITY);
  EXPECT_EQ(row.verdict, Verdict::kInsufficientData);
}

TEST(Compare, SlicesShareOneBenjaminiHochbergFamilyWithSecondaryMetrics) {
  ComparisonInput input;
  input.metrics.push_back(Metric("pass_rate", MetricKind::kBinary));
  input.metrics.push_back(Metric("score", MetricKind::kContinuous));
  Wyrand rng(3);
  const std::vector<std::string> tags = {"math", "code", "prose"};
  for (int i = 0; i < 180; ++i) {
    CaseRecord record;
    record.id = CaseId(i);
    record.tags = {tags[static_cast<std::size_t>(i % 3)]};
    const double shift = i % 3 == 0 ? -0.1 : 0.0;
    record.metrics.push_back(Values({rng.NextDouble() < 0.8 ? 1.0 : 0.0}, {rng.NextDouble() < 0.8 ? 1.0 : 0.0}));
    const double level = rng.NextDouble();
    record.metrics.push_back(Values({level}, {level + shift + 0.05 * Gaussian(rng)}));
    input.cases.push_back(record);
  }
  const ComparisonResult result = RunCompare(input);
  ASSERT_EQ(result.results.size(), 8u);
  EXPECT_EQ(result.results[0].slice, "all");
  EXPECT_EQ(result.results[1].slice, "code");
  EXPECT_EQ(Row(result, "pass_rate", "math").n, 60);
  std::vector<double> family_p;
  std::vector<double> family_q;
  for (const MetricResult& row : result.results) {
    if (row.family == Family::kSecondary) {
      family_p.push_back(*row.p_value);
      family_q.push_back(*row.q_value);
    }
  }
  ASSERT_EQ(family_p.size(), 7u);
  EXPECT_EQ(family_q, BenjaminiHochberg(family_p));
  const MetricResult& primary = Row(result, "pass_rate");
  EXPECT_EQ(primary.family, Family::kPrimary);
  EXPECT_EQ(primary.q_value, primary.p_value);
  EXPECT_EQ(Row(result, "score", "math").verdict, Verdict::kRegressed);
  EXPECT_EQ(Row(result, "score", "code").verdict, Verdict::kUnchanged);
}

TEST(Compare, LatencyIncreaseRegressesALowerIsBetterMetric) {
  ComparisonInput input;
  input.metrics.push_back(Metric("latency_ms", MetricKind::kPositiveRatio));
  Wyrand rng(5);
  for (int i = 0; i < 100; ++i) {
    const double base = std::exp(5 + Gaussian(rng));
    CaseRecord record;
    record.id = CaseId(i);
    record.metrics.push_back(Values({base}, {1.5 * base}));
    input.cases.push_back(record);
  }
  const ComparisonResult result = RunCompare(input);
  const MetricResult& row = Row(result, "latency_ms");
  EXPECT_FALSE(row.higher_is_better);
  EXPECT_NEAR(std::exp(row.delta), 1.5, 1e-12);
  EXPECT_EQ(row.verdict, Verdict::kRegressed);
  EXPECT_EQ(row.severity, Severity::kWarning);
  EXPECT_DOUBLE_EQ(row.p_value.value(), 1.0 / 2001);
  EXPECT_EQ(row.baseline.method, "t_log");
  EXPECT_EQ(result.verdict, Verdict::kRegressed);
}

TEST(Compare, SmallRatioChangesStayInfo) {
  ComparisonInput input;
  input.metrics.push_back(Metric("output_tokens", MetricKind::kPositiveRatio));
  for (int i = 0; i < 100; ++i) {
    CaseRecord record;
    record.id = CaseId(i);
    record.metrics.push_back(Values({100.0 + i}, {105.0 + i}));
    input.cases.push_back(record);
  }
  const MetricResult& row = Row(RunCompare(input), "output_tokens");
  EXPECT_EQ(row.verdict, Verdict::kRegressed);
  EXPECT_EQ(row.severity, Severity::kInfo);
}

TEST(Compare, NonPositiveRatioValuesExcludeTheCase) {
  ComparisonInput input;
  input.metrics.push_back(Metric("latency_ms", MetricKind::kPositiveRatio));
  for (int i = 0; i < 40; ++i) {
    CaseRecord record;
    record.id = CaseId(i);
    record.metrics.push_back(Values({i < 2 ? 0.0 : 100.0}, {110.0}));
    input.cases.push_back(record);
  }
  const MetricResult& row = Row(RunCompare(input), "latency_ms");
  EXPECT_EQ(row.n, 38);
  EXPECT_EQ(row.n_invalid, 2);
  EXPECT_NE(row.reason.find("2 cases excluded (non-finite or value + log_offset <= 0)"), std::string::npos);
}

TEST(Compare, LogOffsetAdmitsZeroCounts) {
  ComparisonInput input;
  MetricSpec spec = Metric("output_tokens", MetricKind::kPositiveRatio);
  spec.log_offset = 1;
  input.metrics.push_back(spec);
  for (int i = 0; i < 40; ++i) {
    CaseRecord record;
    record.id = CaseId(i);
    record.metrics.push_back(Values({0.0}, {1.0}));
    input.cases.push_back(record);
  }
  const MetricResult& row = Row(RunCompare(input), "output_tokens");
  EXPECT_EQ(row.n_invalid, 0);
  EXPECT_NEAR(row.delta, std::log(2.0), 1e-12);
  EXPECT_NEAR(row.baseline.value, 0.0, 1e-12);
}

TEST(Compare, ScoresWithRepeatsUseSignFlipAndBcaBootstrap) {
  const MetricResult& row = Row(RunCompare(Scores(120, 3, 0.05, 11)), "score");
  EXPECT_EQ(row.test.name, "signflip_permutation");
  EXPECT_EQ(row.ci_method.name, "bca_bootstrap");
  EXPECT_EQ(row.k_baseline_min, 3);
  EXPECT_EQ(row.k_candidate_max, 3);
  EXPECT_EQ(row.test.params["draws"], 2000);
  EXPECT_GT(row.delta_ci->high, row.delta);
  EXPECT_LT(row.delta_ci->low, row.delta);
  EXPECT_EQ(row.verdict, Verdict::kImproved);
}

TEST(Compare, SameSeedReproducesAndAnotherSeedResamplesAfresh) {
  const ComparisonInput input = Scores(60, 3, 0.01, 12);
  const MetricResult a = Row(RunCompare(input, FastPolicy(), 1), "score");
  const MetricResult b = Row(RunCompare(input, FastPolicy(), 1), "score");
  const MetricResult other = Row(RunCompare(input, FastPolicy(), 2), "score");
  EXPECT_EQ(a.p_value, b.p_value);
  EXPECT_EQ(a.delta_ci->low, b.delta_ci->low);
  EXPECT_EQ(a.seed, b.seed);
  EXPECT_NE(a.seed, other.seed);
  EXPECT_NE(a.delta_ci->low, other.delta_ci->low);
  EXPECT_EQ(a.seed, DeriveSeed(1, "score/all"));
}

TEST(Compare, IntervalsDoNotDependOnOtherMetricsSharingTheCases) {
  ComparisonInput alone;
  alone.metrics.push_back(Metric("latency_ms", MetricKind::kPositiveRatio));
  ComparisonInput together = alone;
  together.metrics.push_back(Metric("cost_usd", MetricKind::kPositiveRatio));
  Wyrand rng(21);
  for (int i = 0; i < 300; ++i) {
    const double latency = std::exp(6 + Gaussian(rng));
    CaseRecord record;
    record.id = CaseId(i);
    record.metrics.push_back(Values({latency}, {latency * std::exp(0.1 * Gaussian(rng))}));
    alone.cases.push_back(record);
    record.metrics.push_back(Values({0.01 + rng.NextDouble()}, {0.01 + rng.NextDouble()}));
    together.cases.push_back(record);
  }
  const MetricResult by_itself = Row(RunCompare(alone), "latency_ms");
  const MetricResult shared = Row(RunCompare(together), "latency_ms");
  EXPECT_EQ(by_itself.ci_method.name, "bca_bootstrap");
  EXPECT_EQ(by_itself.delta_ci->low, shared.delta_ci->low);
  EXPECT_EQ(by_itself.delta_ci->high, shared.delta_ci->high);
  EXPECT_EQ(by_itself.ci_method.params["seed"], SeedHex(DeriveSeed(7, "bootstrap/all")));
}

TEST(Compare, ResultsDoNotDependOnTheThreadCount) {
  ComparisonInput input = Scores(90, 2, 0.02, 13);
  for (std::size_t i = 0; i < input.cases.size(); ++i) input.cases[i].tags = {i % 2 ? "odd" : "even"};
  Policy one = FastPolicy();
  Policy two = FastPolicy();
  two.threads = 2;
  EXPECT_EQ(ComparisonToJson(RunCompare(input, one)), ComparisonToJson(RunCompare(input, two)));
}

TEST(Compare, BinaryWithRepeatsCountsCasesWhosePassFractionMoved) {
  ComparisonInput input;
  input.metrics.push_back(Metric("pass_rate", MetricKind::kBinary));
  for (int i = 0; i < 60; ++i) {
    CaseRecord record;
    record.id = CaseId(i);
    if (i < 10) {
      record.metrics.push_back(Values({1, 1, 1}, {1, 0, 1}));
    } else if (i < 13) {
      record.metrics.push_back(Values({0, 1, 0}, {1, 1, 0}));
    } else {
      record.metrics.push_back(Values({1, 0, 1}, {0, 1, 1}));
    }
    input.cases.push_back(record);
  }
  Policy policy = FastPolicy();
  policy.permutations = 10000;  // 2^13 sign vectors: enumerated exactly
  const MetricResult& row = Row(RunCompare(input, policy), "pass_rate");
  EXPECT_EQ(row.b.value(), 10);
  EXPECT_EQ(row.c.value(), 3);
  EXPECT_EQ(row.ties, 47);
  EXPECT_EQ(row.test.name, "signflip_permutation");
  EXPECT_TRUE(row.test.params["exact"].get<bool>());
  // Thirteen equal-magnitude moves: the exact McNemar test on (10, 3).
  EXPECT_NEAR(row.p_value.value(), McNemarExactP(10, 3), 1e-12);
  EXPECT_NEAR(row.delta, (-10.0 / 3 + 3.0 / 3) / 60, 1e-12);
  EXPECT_EQ(row.baseline.method, "wilson_design_effect");
}

TEST(Compare, ClustersAreFlippedAndResampledWhole) {
  ComparisonInput input = Scores(100, 1, 0.05, 14);
  for (std::size_t i = 0; i < input.cases.size(); ++i) input.cases[i].cluster = "template-" + std::to_string(i / 5);
  const MetricResult& row = Row(RunCompare(input), "score");
  EXPECT_EQ(row.clusters, 20);
  EXPECT_EQ(row.n, 100);
  EXPECT_TRUE(row.test.params["clustered"].get<bool>());
  EXPECT_EQ(row.ci_method.name, "signflip_inversion");
}

ComparisonInput Texts(int n, bool rewrite, std::uint64_t seed) {
  ComparisonInput input;
  input.metrics.push_back(Metric("output", MetricKind::kTextChange));
  Wyrand rng(seed);
  const auto noisy = [&](const std::string& text) {
    std::string out = text;
    out[rng.Below(out.size())] = static_cast<char>('a' + rng.Below(26));
    return out;
  };
  for (int i = 0; i < n; ++i) {
    const std::string answer = "The answer to question " + std::to_string(i) + " is forty two, as computed.";
    MetricObservations obs;
    for (int k = 0; k < 3; ++k) obs.baseline_text.push_back(noisy(answer));
    for (int k = 0; k < 3; ++k) {
      obs.candidate_text.push_back(rewrite ? noisy("I cannot help with request number " + std::to_string(i) + ".")
                                           : noisy(answer));
    }
    CaseRecord record;
    record.id = CaseId(i);
    record.metrics.push_back(obs);
    input.cases.push_back(record);
  }
  return input;
}

TEST(Compare, RewrittenOutputsAreChangedAtInfoSeverity) {
  const ComparisonResult result = RunCompare(Texts(60, true, 15));
  const MetricResult& row = Row(result, "output");
  EXPECT_EQ(row.verdict, Verdict::kChanged);
  EXPECT_EQ(row.severity, Severity::kInfo);
  EXPECT_EQ(row.changed_share.value(), 1.0);
  EXPECT_LE(row.null_changed_share.value(), 0.05);
  EXPECT_GT(row.delta, 0.5);
  EXPECT_EQ(row.non_inferiority.status, NiStatus::kNotApplicable);
  EXPECT_EQ(result.verdict, Verdict::kUnchanged);
}

TEST(Compare, OutputsWithinTheirSelfConsistencyNoiseAreUnchanged) {
  const MetricResult& row = Row(RunCompare(Texts(60, false, 16)), "output");
  EXPECT_EQ(row.verdict, Verdict::kUnchanged);
  EXPECT_LT(std::abs(row.delta), 0.01);
  EXPECT_LE(row.changed_share.value(), 0.1);
}

TEST(Compare, TextChangeNeedsTwoBaselineRepeats) {
  ComparisonInput input = Texts(40, true, 17);
  for (auto& record : input.cases) record.metrics[0].baseline_text.resize(1);
  const MetricResult& row = Row(RunCompare(input), "output");
  EXPECT_EQ(row.n, 0);
  EXPECT_EQ(row.n_invalid, 40);
  EXPECT_EQ(row.verdict, Verdict::kInsufficientData);
}

TEST(Compare, NonInferiorityPassesOnALargeUnchangedSet) {
  const MetricResult& row = Row(RunCompare(BinaryTable(1800, 20, 20, 160)), "pass_rate");
  EXPECT_EQ(row.non_inferiority.status, NiStatus::kPass);
  EXPECT_GT(row.non_inferiority.bound.value(), -0.02);
  EXPECT_NEAR(row.non_inferiority.bound.value(), TangoInterval(2000, 20, 20, 0.90).low, 1e-12);
  EXPECT_GT(row.power.ni_power.value(), 0.99);
}

TEST(Compare, NonInferiorityFailsWhenTheBoundCrossesTheMargin) {
  const MetricResult& row = Row(RunCompare(BinaryTable(300, 40, 4, 56)), "pass_rate");
  EXPECT_EQ(row.non_inferiority.status, NiStatus::kFail);
}

TEST(Compare, NonInferiorityIsUnderpoweredWhenTheMdeExceedsTwiceTheMargin) {
  // n = 100, ψ = 0.1: the bound clears −2 pp thanks to a +6 pp estimate, but
  // the MDE (8.8 pp, reference §3.9) exceeds 2 × margin.
  const MetricResult& row = Row(RunCompare(BinaryTable(50, 2, 8, 40)), "pass_rate");
  EXPECT_GT(row.non_inferiority.bound.value(), -0.02);
  EXPECT_NEAR(row.power.mde.value(), 0.08755, 0.00001);
  EXPECT_EQ(row.non_inferiority.status, NiStatus::kUnderpowered);
  EXPECT_EQ(row.non_inferiority.reason, "MDE 0.08755 > 2 x margin 0.02");
}

TEST(Compare, NonInferiorityPassesWithoutDiscordantPairsWhenPsiIsWithinTwiceTheMargin) {
  // No flips in 200 cases: ψ is taken as 3/n = 1.5 pp, so no change beyond
  // 2 × margin can hide in this set.
  const MetricResult& row = Row(RunCompare(BinaryTable(180, 0, 0, 20)), "pass_rate");
  EXPECT_FALSE(row.power.mde.has_value());
  EXPECT_DOUBLE_EQ(row.power.discordant_share.value(), 3.0 / 200);
  EXPECT_EQ(row.non_inferiority.status, NiStatus::kPass);
}

TEST(Compare, SpecPrimaryOverridesThePolicyName) {
  ComparisonInput input = BinaryTable(300, 40, 4, 56);
  input.metrics[0].name = "exact_match";
  input.metrics[0].is_primary = true;
  const ComparisonResult result = RunCompare(input);
  EXPECT_EQ(result.primary_metric, "exact_match");
  EXPECT_EQ(Row(result, "exact_match").family, Family::kPrimary);
}

TEST(Compare, MissingPrimaryMetricIsReportedAndEveryRowIsSecondary) {
  ComparisonInput input = BinaryTable(300, 40, 4, 56);
  input.metrics[0].name = "exact_match";
  const ComparisonResult result = RunCompare(input);
  EXPECT_EQ(result.primary_metric, "");
  EXPECT_EQ(Row(result, "exact_match").family, Family::kSecondary);
  EXPECT_EQ(result.reasons.back(), "primary metric 'pass_rate' is not among the compared metrics");
}

TEST(Compare, RejectsInvalidInput) {
  ComparisonInput duplicate = BinaryTable(3, 0, 0, 0);
  duplicate.cases[1].id = duplicate.cases[0].id;
  EXPECT_EQ(Compare(duplicate, FastPolicy(), 1).error().message, "duplicate case id 'case-0'");

  ComparisonInput two_primaries = BinaryTable(3, 0, 0, 0);
  two_primaries.metrics[0].is_primary = true;
  two_primaries.metrics.push_back(Metric("other", MetricKind::kBinary));
  two_primaries.metrics[1].is_primary = true;
  EXPECT_EQ(Compare(two_primaries, FastPolicy(), 1).error().message, "more than one metric is marked primary");

  ComparisonInput not_binary = BinaryTable(3, 0, 0, 0);
  not_binary.cases[2].metrics[0].candidate = {0.5};
  EXPECT_EQ(Compare(not_binary, FastPolicy(), 1).error().message,
            "case 'case-2', metric 'pass_rate': binary value 0.5 is not 0 or 1");

  ComparisonInput reserved = BinaryTable(3, 0, 0, 0);
  reserved.cases[0].tags = {"all"};
  EXPECT_EQ(Compare(reserved, FastPolicy(), 1).error().kind, ErrorKind::kInvalidInput);

  Policy policy = FastPolicy();
  policy.alpha = 1.5;
  EXPECT_EQ(Compare(BinaryTable(3, 0, 0, 0), policy, 1).error().message, "policy.alpha must be in (0, 1)");

  EXPECT_EQ(Compare(ComparisonInput{}, FastPolicy(), 1).error().message, "comparison has no metrics");
}

TEST(MetricKindName, RoundTripsThroughParse) {
  for (MetricKind kind : {MetricKind::kBinary, MetricKind::kContinuous, MetricKind::kPositiveRatio,
                          MetricKind::kTextChange}) {
    EXPECT_EQ(ParseMetricKind(MetricKindName(kind)), kind);
  }
  EXPECT_FALSE(ParseMetricKind("latency").has_value());
}

}  // namespace
}  // namespace dw::stats
