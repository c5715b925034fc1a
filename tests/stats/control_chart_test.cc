#include "stats/control_chart.h"

#include <cmath>
#include <vector>

#include <gtest/gtest.h>

namespace dw::stats {
namespace {

DetectorConfig NoFir() {
  DetectorConfig config;
  config.fir = false;
  return config;
}

// Hand-worked: μ₀ = 0, σ₀ = 1, k = 0.5, h = 5, λ = 0.2, L = 2.86.
//   t  z     S⁺   S⁻   w         limit
//   1  1     0.5  0    0.2       0.5720
//   2  2     2.0  0    0.56      0.7325
//   3  -1    0.5  0.5  0.248     0.8189
//   4  3     3.0  0    0.7984    0.8697
//   5  2     4.5  0    1.03872   0.9007  ← EWMA alarm
//   6  1.5   5.5  0    1.130976  0.9200  ← CUSUM alarm too
TEST(Update, FollowsTheHandWorkedSequence) {
  DetectorState state = Rebaseline(NoFir(), 0.0, 1.0);
  const std::vector<double> values = {1, 2, -1, 3, 2, 1.5};
  const std::vector<double> upper = {0.5, 2.0, 0.5, 3.0, 4.5, 5.5};
  const std::vector<double> lower = {0, 0, 0.5, 0, 0, 0};
  const std::vector<double> ewma = {0.2, 0.56, 0.248, 0.7984, 1.03872, 1.130976};
  const std::vector<double> limits = {0.5720, 0.7325174, 0.8188995, 0.8696928, 0.9006986, 0.9199941};
  for (std::size_t t = 0; t < values.size(); ++t) {
    state = Update(state, values[t]);
    EXPECT_TRUE(state.ready);
    EXPECT_NEAR(state.cusum_upper, upper[t], 1e-12) << t;
    EXPECT_NEAR(state.cusum_lower, lower[t], 1e-12) << t;
    EXPECT_NEAR(state.ewma, ewma[t], 1e-12) << t;
    EXPECT_NEAR(state.ewma_limit, limits[t], 1e-6) << t;
    EXPECT_EQ(state.ewma_alarm, t >= 4) << t;
    EXPECT_EQ(state.cusum_alarm, t == 5) << t;
  }
  EXPECT_EQ(state.consecutive_alarm_runs, 2);
  EXPECT_EQ(state.side, AlarmSide::kUpper);
  EXPECT_FALSE(state.degraded);
  // μ̂ = μ₀ + σ₀(k + S⁺/N⁺) = 0.5 + 5.5/6, shift since run 0.
  EXPECT_NEAR(state.shift_estimate.value(), 0.5 + 5.5 / 6, 1e-12);
  EXPECT_EQ(state.change_run.value(), 0);
}

TEST(Update, LowerShiftOnAHigherIsBetterMetricIsADegradation) {
  // μ₀ = 0.75, σ₀ = 0.125 (exact in binary); z = 0, 0, −3, −3, −3 gives
  // S⁻ = 0, 0, 2.5, 5, 7.5: at 5 the sum is on, not over, the interval.
  DetectorState state = Rebaseline(NoFir(), 0.75, 0.125);
  for (double value : {0.75, 0.75, 0.375, 0.375}) state = Update(state, value);
  EXPECT_FALSE(state.cusum_alarm);
  EXPECT_DOUBLE_EQ(state.cusum_lower, 5.0);
  state = Update(state, 0.375);
  EXPECT_TRUE(state.cusum_alarm);
  EXPECT_EQ(state.side, AlarmSide::kLower);
  EXPECT_TRUE(state.degraded);
  // μ̂ = 0.75 − 0.125·(0.5 + 7.5/3) = 0.375; the shift began after run 2.
  EXPECT_DOUBLE_EQ(state.shift_estimate.value(), 0.375);
  EXPECT_EQ(state.change_run.value(), 2);
}

TEST(Update, UpperAlarmDegradesALowerIsBetterMetric) {
  DetectorConfig config = NoFir();
  config.higher_is_better = false;
  DetectorState state = Rebaseline(config, 100, 1);
  for (int i = 0; i < 3; ++i) state = Update(state, 104);
  EXPECT_TRUE(state.cusum_alarm);
  EXPECT_TRUE(state.degraded);
}

TEST(Rebaseline, WithFirStartsBothSumsAtHalfTheInterval) {
  DetectorState state = Rebaseline(DetectorConfig{}, 0.0, 1.0);
  EXPECT_DOUBLE_EQ(state.cusum_upper, 2.5);
  EXPECT_DOUBLE_EQ(state.cusum_lower, 2.5);
  state = Update(state, 1.0);
  EXPECT_DOUBLE_EQ(state.cusum_upper, 3.0);
  EXPECT_DOUBLE_EQ(state.cusum_lower, 1.0);
}

TEST(Update, WaitsForEnoughRunsWhenOnlyTheMovingRangeCanGiveSigma) {
  DetectorState state = Rebaseline(NoFir(), 0.5, std::nullopt);
  for (int i = 0; i < 10; ++i) {
    state = Update(state, i % 2 == 0 ? 0.0 : 1.0);
    EXPECT_FALSE(state.ready) << i;
  }
  // Nine moving ranges of 1: σ = MR̄/1.128.
  state = Update(state, 0.5);
  EXPECT_TRUE(state.ready);
  EXPECT_EQ(state.sigma_source, "moving_range");
  EXPECT_NEAR(state.sigma, 1 / 1.128, 1e-12);
  EXPECT_NEAR(state.z, 0.0, 1e-12);
}

TEST(Update, UsesTheLargerOfReplicateAndMovingRangeSigma) {
  DetectorState state = Rebaseline(NoFir(), 0.5, 0.1);
  for (int i = 0; i < 10; ++i) state = Update(state, i % 2 == 0 ? 0.45 : 0.55);
  EXPECT_EQ(state.sigma_source, "replicate");
  state = Update(state, 0.5);
  EXPECT_EQ(state.sigma_source, "max(replicate,moving_range)");
  EXPECT_NEAR(state.sigma, 0.1, 1e-12);  // MR̄/1.128 = 0.1/1.128 < 0.1
}

TEST(Update, KeepsAlarmRunsOutOfTheMovingRange) {
  DetectorState state = Rebaseline(NoFir(), 0.0, 1.0);
  state = Update(state, 0.0);
  state = Update(state, 0.5);
  EXPECT_DOUBLE_EQ(state.moving_range_sum, 0.5);
  state = Update(state, 9.0);  // EWMA alarm
  ASSERT_TRUE(state.in_alarm);
  EXPECT_DOUBLE_EQ(state.moving_range_sum, 0.5);
  EXPECT_EQ(state.moving_range_count, 1);
}

TEST(Update, IgnoresNonFiniteValues) {
  const DetectorState state = Update(Rebaseline(NoFir(), 0.0, 1.0), 1.0);
  const DetectorState after = Update(state, std::nan(""));
  EXPECT_EQ(DetectorStateToJson(after), DetectorStateToJson(state));
}

TEST(Update, CountsConsecutiveAlarmRunsAndResetsWhenClear) {
  DetectorState state = Rebaseline(NoFir(), 0.0, 1.0);
  for (int i = 0; i < 4; ++i) state = Update(state, 3.0);  // EWMA fires from the first run
  EXPECT_EQ(state.consecutive_alarm_runs, 4);
  for (int i = 0; i < 30; ++i) state = Update(state, -0.2);
  EXPECT_FALSE(state.in_alarm);
  EXPECT_EQ(state.consecutive_alarm_runs, 0);
}

TEST(ReplicateSigma, IsRootSumOfVarianceOverKDividedByCases) {
  // Case variances 0.5 (K=2) and 0 (K=3): √(0.5/2 + 0)/2 = 0.25; the
  // single-repeat case carries no replication and is skipped.
  EXPECT_NEAR(ReplicateSigma({{0, 1}, {1, 1, 1}, {0.5}}).value(), 0.25, 1e-12);
  EXPECT_FALSE(ReplicateSigma({{1}, {0}}).has_value());
}

TEST(DetectorStateJson, RoundTripsEveryField) {
  DetectorState state = Rebaseline(DetectorConfig{}, 0.8, 0.02);
  for (double value : {0.8, 0.79, 0.74, 0.73}) state = Update(state, value);
  const nlohmann::json json = DetectorStateToJson(state);
  const Result<DetectorState> parsed = DetectorStateFromJson(json);
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
  EXPECT_EQ(DetectorStateToJson(*parsed), json);
  EXPECT_EQ(json["side"], "lower");
  EXPECT_EQ(json["runs"], 4);
}

TEST(DetectorStateJson, ContinuesIdenticallyAfterARoundTrip) {
  DetectorState state = Rebaseline(DetectorConfig{}, 0.0, 1.0);
  state = Update(state, 0.7);
  const DetectorState restored = *DetectorStateFromJson(nlohmann::json::parse(DetectorStateToJson(state).dump()));
  EXPECT_EQ(DetectorStateToJson(Update(restored, 1.3)), DetectorStateToJson(Update(state, 1.3)));
}

TEST(DetectorStateFromJson, RejectsMissingAndMistypedFields) {
  nlohmann::json json = DetectorStateToJson(Rebaseline(DetectorConfig{}, 0.5, 0.1));
  nlohmann::json missing = json;
  missing.erase("cusum_upper");
  EXPECT_EQ(DetectorStateFromJson(missing).error().message, "detector state: cusum_upper is missing");
  nlohmann::json mistyped = json;
  mistyped["runs"] = "three";
  EXPECT_EQ(DetectorStateFromJson(mistyped).error().message, "detector state: runs must be an integer");
  nlohmann::json bad_side = json;
  bad_side["side"] = "sideways";
  EXPECT_EQ(DetectorStateFromJson(bad_side).error().kind, ErrorKind::kInvalidInput);
  nlohmann::json bad_config = json;
  bad_config["config"]["h"] = 0;
  EXPECT_EQ(DetectorStateFromJson(bad_config).error().message, "detector state: config.h must be > 0");
}

TEST(DetectorStateFromJson, RejectsOtherSchemaVersions) {
  nlohmann::json json = DetectorStateToJson(Rebaseline(DetectorConfig{}, 0.5, 0.1));
  json["schema_version"] = 2;
  EXPECT_EQ(DetectorStateFromJson(json).error().message, "detector state: unsupported schema_version 2");
  EXPECT_FALSE(DetectorStateFromJson(nlohmann::json::array()).has_value());
}

}  // namespace
}  // namespace dw::stats
