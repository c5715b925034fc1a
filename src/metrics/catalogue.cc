#include "metrics/catalogue.h"

#include <array>

namespace dw::metrics {
namespace {

using prometheus::MetricType;

constexpr std::string_view kPair = "golden_set,target";
constexpr std::string_view kMetric = "golden_set,target,metric,slice";

constexpr std::array<MetricSpec, static_cast<int>(FamilyId::kCount)> kCatalogue = {{
    {FamilyId::kBuildInfo, "driftwatch_build_info", MetricType::Gauge,
     "Constant 1, labelled with the Driftwatch version and git commit.", "version,git_sha"},
    {FamilyId::kExportedSeries, "driftwatch_exported_series", MetricType::Gauge,
     "Series currently exported for golden-set/target pairs (cardinality guard).", ""},
    {FamilyId::kEvictedPairs, "driftwatch_evicted_pairs_total", MetricType::Counter,
     "Golden-set/target pairs whose series were dropped, by reason (retention, series_limit).",
     "reason"},

    {FamilyId::kTargetInfo, "driftwatch_target_info", MetricType::Gauge,
     "Constant 1, labelled with the golden-set and target versions the pair's series describe.",
     "golden_set,target,golden_set_version,target_version"},
    {FamilyId::kLastRunTimestamp, "driftwatch_last_run_timestamp_seconds", MetricType::Gauge,
     "Unix time the last run (successful or not) finished.", kPair},
    {FamilyId::kLastSuccessTimestamp, "driftwatch_last_success_timestamp_seconds",
     MetricType::Gauge, "Unix time the last successful run finished.", kPair},
    {FamilyId::kLastRunSuccess, "driftwatch_last_run_success", MetricType::Gauge,
     "1 if the last run completed and was stored, 0 if it aborted.", kPair},
    {FamilyId::kLastRunDuration, "driftwatch_last_run_duration_seconds", MetricType::Gauge,
     "Wall-clock duration of the last run.", kPair},
    {FamilyId::kLastRunCases, "driftwatch_last_run_cases", MetricType::Gauge,
     "Case x repeat results produced by the last run.", kPair},
    {FamilyId::kLastRunFailures, "driftwatch_last_run_failures", MetricType::Gauge,
     "Case x repeat results of the last run that did not pass, by failure class; cause is "
     "model or infrastructure.",
     "golden_set,target,failure_class,cause"},
    {FamilyId::kLastRunTokens, "driftwatch_last_run_tokens", MetricType::Gauge,
     "Tokens used by the last run, by direction (input, output).", "golden_set,target,direction"},
    {FamilyId::kLastRunCost, "driftwatch_last_run_cost_usd", MetricType::Gauge,
     "Provider cost of the last run in US dollars.", kPair},
    {FamilyId::kRunInterval, "driftwatch_run_interval_seconds", MetricType::Gauge,
     "Scheduled interval between runs of the pair.", kPair},
    {FamilyId::kRuns, "driftwatch_runs_total", MetricType::Counter,
     "Runs finished by this process, by result (success, failure).", "golden_set,target,result"},
    {FamilyId::kCasesReplayed, "driftwatch_cases_replayed_total", MetricType::Counter,
     "Case x repeat results produced by this process.", kPair},
    {FamilyId::kCaseFailures, "driftwatch_case_failures_total", MetricType::Counter,
     "Case x repeat results that did not pass, by failure class; cause is model or "
     "infrastructure.",
     "golden_set,target,failure_class,cause"},
    {FamilyId::kTokens, "driftwatch_tokens_total", MetricType::Counter,
     "Tokens used by this process, by direction (input, output).", "golden_set,target,direction"},
    {FamilyId::kCost, "driftwatch_cost_usd_total", MetricType::Counter,
     "Provider cost incurred by this process in US dollars.", kPair},
    {FamilyId::kCaseLatency, "driftwatch_case_latency_seconds", MetricType::Histogram,
     "Latency of provider calls.", kPair},

    {FamilyId::kScore, "driftwatch_score", MetricType::Gauge,
     "Latest run's mean score (pass rate for binary metrics).", kMetric},
    {FamilyId::kScoreCiLower, "driftwatch_score_ci_lower", MetricType::Gauge,
     "Lower bound of the 95% confidence interval of driftwatch_score.", kMetric},
    {FamilyId::kScoreCiUpper, "driftwatch_score_ci_upper", MetricType::Gauge,
     "Upper bound of the 95% confidence interval of driftwatch_score.", kMetric},
    {FamilyId::kBaselineScore, "driftwatch_baseline_score", MetricType::Gauge,
     "Score of the signed-off baseline the latest run is compared with.", kMetric},
    {FamilyId::kScoreDelta, "driftwatch_score_delta", MetricType::Gauge,
     "Paired difference of the latest run minus the baseline.", kMetric},
    {FamilyId::kScoreDeltaCiLower, "driftwatch_score_delta_ci_lower", MetricType::Gauge,
     "Lower bound of the confidence interval of driftwatch_score_delta.", kMetric},
    {FamilyId::kScoreDeltaCiUpper, "driftwatch_score_delta_ci_upper", MetricType::Gauge,
     "Upper bound of the confidence interval of driftwatch_score_delta.", kMetric},
    {FamilyId::kPValue, "driftwatch_p_value", MetricType::Gauge,
     "Raw p-value of the paired test against the baseline.", kMetric},
    {FamilyId::kQValue, "driftwatch_q_value", MetricType::Gauge,
     "Benjamini-Hochberg adjusted p-value of the paired test.", kMetric},
    {FamilyId::kVerdict, "driftwatch_verdict", MetricType::Gauge,
     "State set of the comparison verdict: 1 for the current verdict, 0 for the others.",
     "golden_set,target,metric,slice,verdict"},
    {FamilyId::kSeverity, "driftwatch_severity", MetricType::Gauge,
     "State set of the comparison severity: 1 for the current severity, 0 for the others.",
     "golden_set,target,metric,slice,severity"},
    {FamilyId::kCusum, "driftwatch_cusum_statistic", MetricType::Gauge,
     "Tabular CUSUM statistic over the run history, by side (upper, lower).",
     "golden_set,target,metric,slice,side"},
    {FamilyId::kEwma, "driftwatch_ewma_statistic", MetricType::Gauge,
     "EWMA statistic over the run history in standardised units.", kMetric},
    {FamilyId::kRunsInAlarm, "driftwatch_runs_in_alarm", MetricType::Gauge,
     "Consecutive runs in which a change detector was in alarm.", kMetric},
}};

constexpr std::string_view kAllowedLabels[] = {"golden_set",
                                               "target",
                                               "metric",
                                               "slice",
                                               "golden_set_version",
                                               "target_version",
                                               "failure_class",
                                               "cause",
                                               "direction",
                                               "result",
                                               "verdict",
                                               "severity",
                                               "side",
                                               "reason",
                                               "version",
                                               "git_sha",
                                               "le"};

constexpr bool CatalogueIsIndexedById() {
  for (std::size_t i = 0; i < kCatalogue.size(); ++i)
    if (static_cast<std::size_t>(kCatalogue[i].id) != i) return false;
  return true;
}
static_assert(CatalogueIsIndexedById(), "kCatalogue must be in FamilyId order");

}  // namespace

std::span<const MetricSpec> Catalogue() { return kCatalogue; }

const MetricSpec& Spec(FamilyId id) { return kCatalogue[static_cast<std::size_t>(id)]; }

std::span<const std::string_view> AllowedLabelNames() { return kAllowedLabels; }

}  // namespace dw::metrics
