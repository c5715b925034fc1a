#include "metrics/drift_metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <prometheus/counter.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <set>
#include <thread>

#include "metrics/catalogue.h"
#include "metrics/exposition.h"
#include "metrics/observation_fixtures.h"
#include "metrics/samples.h"

namespace dw::metrics {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using testing::Named;
using ::testing::Optional;
using testing::ParseSamples;
using testing::Sample;
using testing::SampleMetric;
using testing::SampleRun;
using testing::ValueOf;
using Labels = std::map<std::string, std::string>;

const Labels kPair = {{"golden_set", "support"}, {"target", "gpt"}};

Labels With(Labels labels, const std::string& name, const std::string& value) {
  labels[name] = value;
  return labels;
}

Labels MetricLabels(const std::string& metric = "pass_rate", const std::string& slice = "all") {
  return With(With(kPair, "metric", metric), "slice", slice);
}

// A clock the test moves by hand.
struct FakeClock {
  std::shared_ptr<std::atomic<std::int64_t>> now =
      std::make_shared<std::atomic<std::int64_t>>(1000);
  std::function<std::int64_t()> Fn() const {
    return [now = now] { return now->load(); };
  }
  void Advance(std::int64_t seconds) const { *now += seconds; }
};

std::vector<Sample> Samples(const DriftMetrics& metrics) {
  return ParseSamples(metrics.TextExposition());
}

TEST(DriftMetrics, RunSetsLastRunGauges) {
  DriftMetrics metrics;
  ASSERT_TRUE(metrics.Record(SampleRun()));
  auto s = Samples(metrics);
  EXPECT_THAT(ValueOf(s, "driftwatch_last_run_success", kPair), Optional(1.0));
  EXPECT_THAT(ValueOf(s, "driftwatch_last_run_timestamp_seconds", kPair), Optional(1.8e9));
  EXPECT_THAT(ValueOf(s, "driftwatch_last_success_timestamp_seconds", kPair), Optional(1.8e9));
  EXPECT_THAT(ValueOf(s, "driftwatch_last_run_duration_seconds", kPair), Optional(42.5));
  EXPECT_THAT(ValueOf(s, "driftwatch_last_run_cases", kPair), Optional(10.0));
  EXPECT_THAT(ValueOf(s, "driftwatch_last_run_cost_usd", kPair), Optional(0.125));
  EXPECT_THAT(ValueOf(s, "driftwatch_last_run_tokens", With(kPair, "direction", "input")),
              Optional(1000.0));
  EXPECT_THAT(ValueOf(s, "driftwatch_last_run_tokens", With(kPair, "direction", "output")),
              Optional(250.0));
}

TEST(DriftMetrics, FailuresAreLabelledByFailureClassAndCause) {
  DriftMetrics metrics;
  ASSERT_TRUE(metrics.Record(SampleRun()));
  auto s = Samples(metrics);
  auto failures = [&](const std::string& name, const std::string& cls, const std::string& cause) {
    return ValueOf(s, name, With(With(kPair, "failure_class", cls), "cause", cause));
  };
  EXPECT_THAT(failures("driftwatch_last_run_failures", "timeout", "infrastructure"), Optional(2.0));
  EXPECT_THAT(failures("driftwatch_last_run_failures", "fail", "model"), Optional(1.0));
  EXPECT_THAT(failures("driftwatch_last_run_failures", "refusal", "model"), Optional(0.0));
  EXPECT_THAT(failures("driftwatch_case_failures_total", "timeout", "infrastructure"),
              Optional(2.0));
  // Every failure class is present (zeros included, so ratios and rate() work)
  // and "pass" is not a failure class.
  EXPECT_EQ(Named(s, "driftwatch_last_run_failures").size(), std::size(kAllOutcomes) - 1);
  for (const Sample& sample : Named(s, "driftwatch_case_failures_total"))
    EXPECT_NE(sample.labels.at("failure_class"), "pass");
}

TEST(DriftMetrics, LatenciesFillACumulativeHistogram) {
  DriftMetrics metrics;
  ASSERT_TRUE(metrics.Record(SampleRun()));  // latencies 0.2, 0.7, 3, 500
  auto s = Samples(metrics);
  const std::string bucket = "driftwatch_case_latency_seconds_bucket";
  EXPECT_THAT(ValueOf(s, bucket, With(kPair, "le", "0.1")), Optional(0.0));
  EXPECT_THAT(ValueOf(s, bucket, With(kPair, "le", "0.25")), Optional(1.0));
  EXPECT_THAT(ValueOf(s, bucket, With(kPair, "le", "1")), Optional(2.0));
  EXPECT_THAT(ValueOf(s, bucket, With(kPair, "le", "5")), Optional(3.0));
  EXPECT_THAT(ValueOf(s, bucket, With(kPair, "le", "120")), Optional(3.0));
  EXPECT_THAT(ValueOf(s, bucket, With(kPair, "le", "+Inf")), Optional(4.0));
  EXPECT_THAT(ValueOf(s, "driftwatch_case_latency_seconds_count", kPair), Optional(4.0));
  EXPECT_THAT(ValueOf(s, "driftwatch_case_latency_seconds_sum", kPair), Optional(503.9));
}

TEST(DriftMetrics, CountersAccumulateWhileLastRunGaugesAreReplaced) {
  DriftMetrics metrics;
  ASSERT_TRUE(metrics.Record(SampleRun()));
  RunObservation second = SampleRun();
  second.finished_at += 3600;
  second.outcome_counts = {{Outcome::kPass, 3}};
  second.cost_usd = 0.5;
  second.latencies_seconds = {0.1};
  ASSERT_TRUE(metrics.Record(second));
  auto s = Samples(metrics);
  EXPECT_THAT(ValueOf(s, "driftwatch_last_run_cases", kPair), Optional(3.0));
  EXPECT_THAT(ValueOf(s, "driftwatch_cases_replayed_total", kPair), Optional(13.0));
  EXPECT_THAT(ValueOf(s, "driftwatch_last_run_cost_usd", kPair), Optional(0.5));
  EXPECT_THAT(ValueOf(s, "driftwatch_cost_usd_total", kPair), Optional(0.625));
  EXPECT_THAT(ValueOf(s, "driftwatch_runs_total", With(kPair, "result", "success")), Optional(2.0));
  EXPECT_THAT(ValueOf(s, "driftwatch_case_latency_seconds_count", kPair), Optional(5.0));
  EXPECT_THAT(ValueOf(s, "driftwatch_last_run_failures",
                      With(With(kPair, "failure_class", "timeout"), "cause", "infrastructure")),
              Optional(0.0));
  EXPECT_THAT(ValueOf(s, "driftwatch_case_failures_total",
                      With(With(kPair, "failure_class", "timeout"), "cause", "infrastructure")),
              Optional(2.0));
}

TEST(DriftMetrics, FailedRunKeepsTheLastSuccessTimestamp) {
  DriftMetrics metrics;
  ASSERT_TRUE(metrics.Record(SampleRun()));
  RunObservation failed = SampleRun();
  failed.success = false;
  failed.finished_at = 1'800'003'600;
  ASSERT_TRUE(metrics.Record(failed));
  auto s = Samples(metrics);
  EXPECT_THAT(ValueOf(s, "driftwatch_last_run_success", kPair), Optional(0.0));
  EXPECT_THAT(ValueOf(s, "driftwatch_last_run_timestamp_seconds", kPair),
              Optional(1'800'003'600.0));
  EXPECT_THAT(ValueOf(s, "driftwatch_last_success_timestamp_seconds", kPair), Optional(1.8e9));
  EXPECT_THAT(ValueOf(s, "driftwatch_runs_total", With(kPair, "result", "failure")), Optional(1.0));
}

TEST(DriftMetrics, PairThatNeverSucceededHasNoLastSuccessTimestamp) {
  DriftMetrics metrics;
  RunObservation failed = SampleRun();
  failed.success = false;
  ASSERT_TRUE(metrics.Record(failed));
  EXPECT_THAT(Named(Samples(metrics), "driftwatch_last_success_timestamp_seconds"), IsEmpty());
}

TEST(DriftMetrics, ExpectedIntervalIsExportedWhenKnown) {
  DriftMetrics metrics;
  ASSERT_TRUE(metrics.Record(SampleRun()));
  EXPECT_THAT(Named(Samples(metrics), "driftwatch_run_interval_seconds"), IsEmpty());
  RunObservation scheduled = SampleRun();
  scheduled.expected_interval_seconds = 86400;
  ASSERT_TRUE(metrics.Record(scheduled));
  EXPECT_THAT(ValueOf(Samples(metrics), "driftwatch_run_interval_seconds", kPair),
              Optional(86400.0));
}

TEST(DriftMetrics, MetricObservationExportsScoreIntervalsAndTests) {
  DriftMetrics metrics;
  ASSERT_TRUE(metrics.Record(SampleMetric()));
  auto s = Samples(metrics);
  Labels l = MetricLabels();
  EXPECT_THAT(ValueOf(s, "driftwatch_score", l), Optional(0.81));
  EXPECT_THAT(ValueOf(s, "driftwatch_score_ci_lower", l), Optional(0.74));
  EXPECT_THAT(ValueOf(s, "driftwatch_score_ci_upper", l), Optional(0.87));
  EXPECT_THAT(ValueOf(s, "driftwatch_baseline_score", l), Optional(0.9));
  EXPECT_THAT(ValueOf(s, "driftwatch_score_delta", l), Optional(-0.09));
  EXPECT_THAT(ValueOf(s, "driftwatch_score_delta_ci_lower", l), Optional(-0.14));
  EXPECT_THAT(ValueOf(s, "driftwatch_score_delta_ci_upper", l), Optional(-0.04));
  EXPECT_THAT(ValueOf(s, "driftwatch_p_value", l), Optional(0.002));
  EXPECT_THAT(ValueOf(s, "driftwatch_q_value", l), Optional(0.006));
  EXPECT_THAT(ValueOf(s, "driftwatch_cusum_statistic", With(l, "side", "upper")), Optional(0.3));
  EXPECT_THAT(ValueOf(s, "driftwatch_cusum_statistic", With(l, "side", "lower")), Optional(5.2));
  EXPECT_THAT(ValueOf(s, "driftwatch_ewma_statistic", l), Optional(-1.7));
  EXPECT_THAT(ValueOf(s, "driftwatch_runs_in_alarm", l), Optional(2.0));
}

TEST(DriftMetrics, VerdictAndSeverityAreStateSetsWithExactlyOneActiveState) {
  DriftMetrics metrics;
  ASSERT_TRUE(metrics.Record(SampleMetric()));  // regressed, critical
  auto s = Samples(metrics);
  Labels l = MetricLabels();
  EXPECT_THAT(ValueOf(s, "driftwatch_verdict", With(l, "verdict", "regressed")), Optional(1.0));
  EXPECT_THAT(ValueOf(s, "driftwatch_verdict", With(l, "verdict", "improved")), Optional(0.0));
  EXPECT_THAT(ValueOf(s, "driftwatch_verdict", With(l, "verdict", "unchanged")), Optional(0.0));
  EXPECT_THAT(ValueOf(s, "driftwatch_verdict", With(l, "verdict", "insufficient_data")),
              Optional(0.0));
  EXPECT_THAT(ValueOf(s, "driftwatch_severity", With(l, "severity", "critical")), Optional(1.0));
  double severity_sum = 0;
  for (const Sample& sample : Named(s, "driftwatch_severity")) severity_sum += sample.value;
  EXPECT_EQ(severity_sum, 1);
  EXPECT_EQ(Named(s, "driftwatch_severity").size(), std::size(kAllSeverities));

  MetricObservation recovered = SampleMetric();
  recovered.verdict = Verdict::kUnchanged;
  recovered.severity = Severity::kNone;
  ASSERT_TRUE(metrics.Record(recovered));
  s = Samples(metrics);
  EXPECT_THAT(ValueOf(s, "driftwatch_verdict", With(l, "verdict", "regressed")), Optional(0.0));
  EXPECT_THAT(ValueOf(s, "driftwatch_verdict", With(l, "verdict", "unchanged")), Optional(1.0));
  EXPECT_THAT(ValueOf(s, "driftwatch_severity", With(l, "severity", "none")), Optional(1.0));
}

TEST(DriftMetrics, UnknownStatisticsAreLeftOutRatherThanExportedAsNaN) {
  DriftMetrics metrics;
  MetricObservation m;
  m.golden_set = "support";
  m.target = "gpt";
  m.metric = "pass_rate";
  m.value = 0.5;
  ASSERT_TRUE(metrics.Record(m));
  auto s = Samples(metrics);
  EXPECT_THAT(ValueOf(s, "driftwatch_score", MetricLabels()), Optional(0.5));
  for (const char* absent : {"driftwatch_p_value", "driftwatch_baseline_score",
                             "driftwatch_cusum_statistic", "driftwatch_score_ci_lower"})
    EXPECT_THAT(Named(s, absent), IsEmpty()) << absent;
  EXPECT_THAT(
      ValueOf(s, "driftwatch_verdict", With(MetricLabels(), "verdict", "insufficient_data")),
      Optional(1.0));
  for (const Sample& sample : s) EXPECT_FALSE(std::isnan(sample.value)) << sample.name;
}

TEST(DriftMetrics, BuildInfoAndTargetInfoCarryVersions) {
  DriftMetricsOptions options;
  options.build = {"0.1.0", "abc1234"};
  DriftMetrics metrics(options);
  ASSERT_TRUE(metrics.Record(SampleRun()));
  auto s = Samples(metrics);
  EXPECT_THAT(ValueOf(s, "driftwatch_build_info", {{"version", "0.1.0"}, {"git_sha", "abc1234"}}),
              Optional(1.0));
  EXPECT_THAT(ValueOf(s, "driftwatch_target_info",
                      With(With(kPair, "golden_set_version", "gs-v1"), "target_version", "tv-1")),
              Optional(1.0));
}

TEST(DriftMetrics, SeriesCarryOnlyBoundedLabelNames) {
  DriftMetrics metrics;
  ASSERT_TRUE(metrics.Record(SampleRun()));
  ASSERT_TRUE(metrics.Record(SampleMetric()));
  auto allowed = AllowedLabelNames();
  std::set<std::string> seen;
  for (const Sample& sample : Samples(metrics))
    for (const auto& [name, value] : sample.labels) seen.insert(name);
  for (const std::string& name : seen)
    EXPECT_NE(std::find(allowed.begin(), allowed.end(), name), allowed.end())
        << "unexpected label " << name;
  EXPECT_FALSE(seen.contains("case_id"));
  EXPECT_FALSE(seen.contains("run_id"));
}

TEST(DriftMetrics, RejectsLabelValuesThatAreNotNames) {
  DriftMetrics metrics;
  RunObservation empty = SampleRun();
  empty.golden_set = "";
  RunObservation long_text = SampleRun();
  long_text.target = std::string(kMaxLabelValueBytes + 1, 'x');
  RunObservation control = SampleRun();
  control.target = "gpt\nprompt";
  for (const RunObservation& bad : {empty, long_text, control}) {
    auto status = metrics.Record(bad);
    ASSERT_FALSE(status);
    EXPECT_EQ(status.error().kind, ErrorKind::kInvalidInput);
  }
  MetricObservation free_text = SampleMetric();
  free_text.slice =
      "What is the refund policy for orders shipped abroad? Please answer in one "
      "sentence and cite the policy section that applies to the customer's case.";
  auto status = metrics.Record(free_text);
  ASSERT_FALSE(status);
  EXPECT_THAT(status.error().message, HasSubstr("slice"));
  EXPECT_EQ(metrics.series_count(), 0u);
}

TEST(DriftMetrics, RejectsNumbersThatCannotBeExported) {
  DriftMetrics metrics;
  RunObservation negative_cost = SampleRun();
  negative_cost.cost_usd = -1;
  RunObservation nan_latency = SampleRun();
  nan_latency.latencies_seconds = {NAN};
  RunObservation no_time = SampleRun();
  no_time.finished_at = 0;
  RunObservation negative_count = SampleRun();
  negative_count.outcome_counts[Outcome::kFail] = -3;
  for (const RunObservation& bad : {negative_cost, nan_latency, no_time, negative_count})
    EXPECT_EQ(metrics.Record(bad).error().kind, ErrorKind::kInvalidInput);

  MetricObservation infinite = SampleMetric();
  infinite.value = INFINITY;
  MetricObservation p_above_one = SampleMetric();
  p_above_one.p_value = 1.5;
  MetricObservation nan_ewma = SampleMetric();
  nan_ewma.ewma = NAN;
  for (const MetricObservation& bad : {infinite, p_above_one, nan_ewma})
    EXPECT_EQ(metrics.Record(bad).error().kind, ErrorKind::kInvalidInput);
  EXPECT_EQ(metrics.series_count(), 0u);
}

TEST(DriftMetrics, NewTargetVersionDropsTheOldVersionsMetricSeries) {
  DriftMetrics metrics;
  ASSERT_TRUE(metrics.Record(SampleMetric("pass_rate")));
  ASSERT_TRUE(metrics.Record(SampleMetric("rubric")));
  RunObservation next = SampleRun();
  next.target_version = "tv-2";
  ASSERT_TRUE(metrics.Record(next));
  MetricObservation pass_rate_v2 = SampleMetric("pass_rate");
  pass_rate_v2.target_version = "tv-2";
  pass_rate_v2.value = 0.93;
  ASSERT_TRUE(metrics.Record(pass_rate_v2));

  auto s = Samples(metrics);
  EXPECT_THAT(ValueOf(s, "driftwatch_score", MetricLabels("pass_rate")), Optional(0.93));
  EXPECT_EQ(ValueOf(s, "driftwatch_score", MetricLabels("rubric")), std::nullopt);
  auto info = Named(s, "driftwatch_target_info");
  ASSERT_EQ(info.size(), 1u);
  EXPECT_EQ(info[0].labels.at("target_version"), "tv-2");
}

TEST(DriftMetrics, SameVersionOrUnknownVersionKeepsMetricSeries) {
  DriftMetrics metrics;
  ASSERT_TRUE(metrics.Record(SampleMetric("pass_rate")));
  RunObservation same = SampleRun();
  ASSERT_TRUE(metrics.Record(same));
  RunObservation unknown = SampleRun();
  unknown.target_version = "";
  ASSERT_TRUE(metrics.Record(unknown));
  EXPECT_THAT(ValueOf(Samples(metrics), "driftwatch_score", MetricLabels()), Optional(0.81));
}

TEST(DriftMetrics, CardinalityStaysFlatAsRunsAndTargetVersionsAccumulate) {
  DriftMetrics metrics;
  std::size_t after_first = 0;
  for (int version = 0; version < 50; ++version) {
    RunObservation run = SampleRun();
    run.target_version = "tv-" + std::to_string(version);
    run.finished_at += version * 86400;
    ASSERT_TRUE(metrics.Record(run));
    for (const char* name : {"pass_rate", "rubric", "similarity"}) {
      MetricObservation m = SampleMetric(name);
      m.target_version = run.target_version;
      ASSERT_TRUE(metrics.Record(m));
    }
    if (version == 0) after_first = metrics.series_count();
  }
  EXPECT_EQ(metrics.series_count(), after_first);
  EXPECT_EQ(Named(Samples(metrics), "driftwatch_target_info").size(), 1u);
}

TEST(DriftMetrics, PairsNotUpdatedWithinRetentionDropOut) {
  FakeClock clock;
  DriftMetricsOptions options;
  options.retention = std::chrono::hours(24);
  options.clock = clock.Fn();
  DriftMetrics metrics(options);
  ASSERT_TRUE(metrics.Record(SampleRun("support", "old-model")));
  clock.Advance(20 * 3600);
  ASSERT_TRUE(metrics.Record(SampleRun("support", "new-model")));
  clock.Advance(5 * 3600);  // old-model last updated 25 h ago, new-model 5 h ago

  auto s = Samples(metrics);
  std::set<std::string> targets;
  for (const Sample& sample : Named(s, "driftwatch_last_run_success"))
    targets.insert(sample.labels.at("target"));
  EXPECT_EQ(targets, std::set<std::string>{"new-model"});
  EXPECT_THAT(ValueOf(s, "driftwatch_evicted_pairs_total", {{"reason", "retention"}}),
              Optional(1.0));
}

TEST(DriftMetrics, MetricSeriesNotUpdatedWithinRetentionDropOut) {
  FakeClock clock;
  DriftMetricsOptions options;
  options.retention = std::chrono::hours(24);
  options.clock = clock.Fn();
  DriftMetrics metrics(options);
  ASSERT_TRUE(metrics.Record(SampleMetric("retired_scorer")));
  clock.Advance(23 * 3600);
  ASSERT_TRUE(metrics.Record(SampleMetric("pass_rate")));
  clock.Advance(2 * 3600);
  auto s = Samples(metrics);
  EXPECT_EQ(ValueOf(s, "driftwatch_score", MetricLabels("retired_scorer")), std::nullopt);
  EXPECT_THAT(ValueOf(s, "driftwatch_score", MetricLabels("pass_rate")), Optional(0.81));
}

TEST(DriftMetrics, SeriesLimitEvictsLeastRecentlyUpdatedPairsFirst) {
  FakeClock clock;
  DriftMetrics probe;
  ASSERT_TRUE(probe.Record(SampleRun()));
  const std::size_t per_pair = probe.series_count();

  DriftMetricsOptions options;
  options.max_series = 3 * per_pair;
  options.clock = clock.Fn();
  DriftMetrics metrics(options);
  for (const char* target : {"a", "b", "c"}) {
    ASSERT_TRUE(metrics.Record(SampleRun("support", target)));
    clock.Advance(60);
  }
  ASSERT_TRUE(metrics.Record(SampleRun("support", "a")));  // a is now the most recent
  clock.Advance(60);
  ASSERT_TRUE(metrics.Record(SampleRun("support", "d")));  // over the limit: b goes

  auto s = Samples(metrics);
  std::set<std::string> targets;
  for (const Sample& sample : Named(s, "driftwatch_last_run_success"))
    targets.insert(sample.labels.at("target"));
  EXPECT_EQ(targets, (std::set<std::string>{"a", "c", "d"}));
  EXPECT_LE(metrics.series_count(), 3 * per_pair);
  EXPECT_THAT(ValueOf(s, "driftwatch_evicted_pairs_total", {{"reason", "series_limit"}}),
              Optional(1.0));
}

TEST(DriftMetrics, MetricSliceCombinationsPerPairAreCapped) {
  DriftMetricsOptions options;
  options.max_metrics_per_pair = 2;
  DriftMetrics metrics(options);
  ASSERT_TRUE(metrics.Record(SampleMetric("pass_rate", "all")));
  ASSERT_TRUE(metrics.Record(SampleMetric("pass_rate", "billing")));
  auto refused = metrics.Record(SampleMetric("pass_rate", "shipping"));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().kind, ErrorKind::kInvalidInput);
  EXPECT_TRUE(metrics.Record(SampleMetric("pass_rate", "billing")));  // updating is still fine
  EXPECT_EQ(Named(Samples(metrics), "driftwatch_score").size(), 2u);
}

TEST(DriftMetrics, SeriesCountEqualsTheExportedPairSeries) {
  DriftMetrics metrics;
  ASSERT_TRUE(metrics.Record(SampleRun()));
  ASSERT_TRUE(metrics.Record(SampleMetric()));
  MetricObservation sparse = SampleMetric("rubric");
  sparse.p_value.reset();
  sparse.cusum_lower.reset();
  ASSERT_TRUE(metrics.Record(sparse));
  auto s = Samples(metrics);
  std::size_t pair_samples = 0;
  for (const Sample& sample : s) pair_samples += sample.labels.contains("golden_set") ? 1 : 0;
  EXPECT_EQ(metrics.series_count(), pair_samples);
  EXPECT_THAT(ValueOf(s, "driftwatch_exported_series", {}),
              Optional(static_cast<double>(pair_samples)));
}

TEST(DriftMetrics, PairExpositionHoldsOnlyThatPairAndBuildInfo) {
  DriftMetrics metrics;
  ASSERT_TRUE(metrics.Record(SampleRun("support", "gpt")));
  ASSERT_TRUE(metrics.Record(SampleRun("support", "claude")));
  auto s = ParseSamples(metrics.TextExposition("support", "gpt"));
  ASSERT_FALSE(s.empty());
  for (const Sample& sample : s) {
    if (sample.name == "driftwatch_build_info") continue;
    EXPECT_EQ(sample.labels.at("target"), "gpt") << sample.name;
  }
  EXPECT_EQ(Named(s, "driftwatch_build_info").size(), 1u);
  EXPECT_THAT(Named(s, "driftwatch_exported_series"), IsEmpty());
  auto unknown = ParseSamples(metrics.TextExposition("support", "unknown"));
  ASSERT_EQ(unknown.size(), 1u);
  EXPECT_EQ(unknown[0].name, "driftwatch_build_info");
}

TEST(DriftMetrics, RegistryFamiliesAreExportedAfterDriftwatchFamilies) {
  DriftMetrics metrics;
  auto& requests = prometheus::BuildCounter()
                       .Name("driftwatch_http_requests_total")
                       .Help("HTTP requests served.")
                       .Register(*metrics.registry())
                       .Add({{"code", "200"}});
  requests.Increment(3);
  auto families = metrics.Collect();
  ASSERT_FALSE(families.empty());
  EXPECT_EQ(families.front().name, "driftwatch_build_info");
  EXPECT_EQ(families.back().name, "driftwatch_http_requests_total");
  EXPECT_THAT(ValueOf(Samples(metrics), "driftwatch_http_requests_total", {{"code", "200"}}),
              Optional(3.0));
}

TEST(DriftMetrics, CollectableOutlivesDriftMetrics) {
  auto metrics = std::make_unique<DriftMetrics>();
  ASSERT_TRUE(metrics->Record(SampleRun()));
  std::shared_ptr<prometheus::Collectable> collectable = metrics->collectable();
  metrics.reset();
  std::set<std::string> names;
  for (const auto& family : collectable->Collect()) names.insert(family.name);
  EXPECT_TRUE(names.contains("driftwatch_last_run_success"));
}

TEST(DriftMetrics, CollectAndTextExpositionAgree) {
  DriftMetrics metrics;
  ASSERT_TRUE(metrics.Record(SampleRun()));
  ASSERT_TRUE(metrics.Record(SampleMetric()));
  EXPECT_EQ(metrics.TextExposition(), SerializeText(metrics.Collect()));
}

TEST(DriftMetrics, EveryCatalogueFamilyIsProducedByAFullyPopulatedPair) {
  DriftMetrics metrics;
  RunObservation run = SampleRun();
  run.expected_interval_seconds = 3600;
  ASSERT_TRUE(metrics.Record(run));
  ASSERT_TRUE(metrics.Record(SampleMetric()));
  std::set<std::string> names;
  for (const auto& family : metrics.Collect()) names.insert(family.name);
  for (const MetricSpec& spec : Catalogue())
    EXPECT_TRUE(names.contains(std::string(spec.name))) << spec.name;
}

TEST(DriftMetrics, ConcurrentRecordsAndScrapesLoseNoUpdates) {
  DriftMetrics metrics;
  constexpr int kThreads = 4;
  constexpr int kRunsPerThread = 200;
  std::atomic<bool> done{false};
  std::thread scraper([&] {
    while (!done) metrics.TextExposition();
  });
  std::vector<std::thread> writers;
  for (int t = 0; t < kThreads; ++t)
    writers.emplace_back([&, t] {
      for (int i = 0; i < kRunsPerThread; ++i) {
        ASSERT_TRUE(metrics.Record(SampleRun()));
        MetricObservation m = SampleMetric("m" + std::to_string(t));
        m.value = i;
        ASSERT_TRUE(metrics.Record(m));
      }
    });
  for (auto& w : writers) w.join();
  done = true;
  scraper.join();
  auto s = Samples(metrics);
  EXPECT_THAT(ValueOf(s, "driftwatch_cases_replayed_total", kPair),
              Optional(10.0 * kThreads * kRunsPerThread));
  for (int t = 0; t < kThreads; ++t)
    EXPECT_THAT(ValueOf(s, "driftwatch_score", MetricLabels("m" + std::to_string(t))),
                Optional(kRunsPerThread - 1.0));
}

TEST(Catalogue, NamesFollowPrometheusConventions) {
  std::set<std::string_view> names;
  auto allowed = AllowedLabelNames();
  for (const MetricSpec& spec : Catalogue()) {
    std::string_view name = spec.name;
    EXPECT_TRUE(name.starts_with("driftwatch_")) << name;
    EXPECT_TRUE(names.insert(name).second) << "duplicate " << name;
    EXPECT_EQ(name.find(':'), std::string_view::npos) << name;
    bool counter = spec.type == prometheus::MetricType::Counter;
    EXPECT_EQ(counter, name.ends_with("_total")) << name;
    for (std::string_view rest = name; !rest.empty();) {
      auto underscore = rest.find('_');
      std::string_view word = rest.substr(0, underscore);
      for (const char* not_a_base_unit : {"ms", "sec", "secs", "msec", "millis", "pct", "percent"})
        EXPECT_NE(word, not_a_base_unit) << name;
      rest = underscore == std::string_view::npos ? "" : rest.substr(underscore + 1);
    }
    EXPECT_FALSE(spec.help.empty()) << name;
    std::string_view labels = spec.labels;
    while (!labels.empty()) {
      auto comma = labels.find(',');
      std::string_view label = labels.substr(0, comma);
      EXPECT_NE(std::find(allowed.begin(), allowed.end(), label), allowed.end()) << label;
      labels = comma == std::string_view::npos ? "" : labels.substr(comma + 1);
    }
  }
}

TEST(Verdict, NamesRoundTrip) {
  for (Verdict v : kAllVerdicts) EXPECT_EQ(ParseVerdict(VerdictName(v)), v);
  for (Severity s : kAllSeverities) EXPECT_EQ(ParseSeverity(SeverityName(s)), s);
  EXPECT_EQ(ParseVerdict("worse"), std::nullopt);
  EXPECT_EQ(ParseSeverity("page"), std::nullopt);
}

}  // namespace
}  // namespace dw::metrics
