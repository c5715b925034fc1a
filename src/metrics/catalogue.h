// The metric families Driftwatch exports: one table that the collector, the
// documentation test and the rule cross-check all read. Naming follows the
// Prometheus conventions: `driftwatch_` prefix, base units (seconds, USD),
// `_total` only on counters, `_timestamp_seconds` for Unix times, `_info` for
// constant-1 metadata series.
#pragma once

#include <prometheus/metric_type.h>

#include <span>
#include <string_view>

namespace dw::metrics {

// Index of each family in Catalogue(); the order is the exposition order.
enum class FamilyId : int {
  // Process-wide.
  kBuildInfo,
  kExportedSeries,
  kEvictedPairs,
  // Per (golden_set, target).
  kTargetInfo,
  kLastRunTimestamp,
  kLastSuccessTimestamp,
  kLastRunSuccess,
  kLastRunDuration,
  kLastRunCases,
  kLastRunFailures,
  kLastRunTokens,
  kLastRunCost,
  kRunInterval,
  kRuns,
  kCasesReplayed,
  kCaseFailures,
  kTokens,
  kCost,
  kCaseLatency,
  // Per (golden_set, target, metric, slice).
  kScore,
  kScoreCiLower,
  kScoreCiUpper,
  kBaselineScore,
  kScoreDelta,
  kScoreDeltaCiLower,
  kScoreDeltaCiUpper,
  kPValue,
  kQValue,
  kVerdict,
  kSeverity,
  kCusum,
  kEwma,
  kRunsInAlarm,
  kCount,
};

// One exported family.
struct MetricSpec {
  FamilyId id;
  std::string_view name;
  prometheus::MetricType type;
  std::string_view help;
  // Every label name the family's series carry, comma-separated, in order.
  std::string_view labels;
};

// All families, indexed by FamilyId. Static storage; thread-safe.
std::span<const MetricSpec> Catalogue();

// Catalogue()[id].
const MetricSpec& Spec(FamilyId id);

// Every label name any Driftwatch series may carry. None of them can hold a
// case id or free text: their values are names, versions or fixed enums.
std::span<const std::string_view> AllowedLabelNames();

}  // namespace dw::metrics
