// Plain inputs to the metrics module. The replay engine, the comparison step
// and the scheduler fill these; the metrics module turns them into Prometheus
// series. Every string here becomes a label value, so callers put only
// bounded identifiers in them (golden-set and target names, scorer names,
// pre-declared slices), never case ids, prompt text or run ids.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/outcome.h"

namespace dw::metrics {

// Outcome of comparing a run with its signed-off baseline for one metric.
enum class Verdict {
  kImproved,
  kRegressed,
  kUnchanged,
  kInsufficientData,  // too few cases or no baseline to decide
};

inline constexpr Verdict kAllVerdicts[] = {Verdict::kImproved, Verdict::kRegressed,
                                           Verdict::kUnchanged, Verdict::kInsufficientData};

// How urgently a comparison result needs attention, in increasing order.
enum class Severity { kNone, kInfo, kWarning, kCritical };

inline constexpr Severity kAllSeverities[] = {Severity::kNone, Severity::kInfo, Severity::kWarning,
                                              Severity::kCritical};

// Stable label values: "improved", "regressed", "unchanged", "insufficient_data".
std::string_view VerdictName(Verdict verdict);
// Inverse of VerdictName; std::nullopt for an unknown name.
std::optional<Verdict> ParseVerdict(std::string_view name);

// Stable label values: "none", "info", "warning", "critical".
std::string_view SeverityName(Severity severity);
// Inverse of SeverityName; std::nullopt for an unknown name.
std::optional<Severity> ParseSeverity(std::string_view name);

// One finished (or aborted) replay of a golden set against a target.
struct RunObservation {
  std::string golden_set;
  std::string golden_set_version;  // content hash or tag; empty: unknown
  std::string target;              // target name (stable across versions)
  std::string target_version;      // content hash of the target; empty: unknown

  // True when the run completed and its results were stored; false for runs
  // that aborted (provider down, budget, database). Only successful runs move
  // driftwatch_last_success_timestamp_seconds.
  bool success = false;
  std::int64_t finished_at = 0;  // Unix time in seconds; must be > 0
  double duration_seconds = 0;   // wall-clock time of the whole run

  // Case x repeat results by outcome. Their sum is the number of cases
  // replayed; every outcome other than kPass counts as a failure class.
  std::map<Outcome, std::int64_t> outcome_counts;
  std::int64_t input_tokens = 0;
  std::int64_t output_tokens = 0;
  double cost_usd = 0;
  std::vector<double> latencies_seconds;  // one per provider call

  // How often this (golden set, target) is scheduled to run, when it is;
  // the staleness alert compares the last success against it.
  std::optional<double> expected_interval_seconds;
};

// The latest comparison of one metric (scorer) on one slice of a golden set
// for one target.
struct MetricObservation {
  std::string golden_set;
  std::string golden_set_version;  // empty: unknown
  std::string target;
  std::string target_version;  // empty: unknown
  std::string metric;          // scorer / metric name, e.g. "pass_rate"
  std::string slice = "all";   // pre-declared slice name; "all" for the whole set

  double value = 0;              // run mean score (pass rate for binary scores)
  std::optional<double> ci_low;  // confidence interval of `value`
  std::optional<double> ci_high;
  std::optional<double> baseline;  // the signed-off baseline's value
  std::optional<double> delta;     // paired difference, run minus baseline
  std::optional<double> delta_ci_low;
  std::optional<double> delta_ci_high;
  std::optional<double> p_value;  // raw p of the paired test, in [0, 1]
  std::optional<double> q_value;  // multiplicity-adjusted (BH), in [0, 1]
  Verdict verdict = Verdict::kInsufficientData;
  Severity severity = Severity::kNone;

  // Time-series detectors over the run history (standardised units).
  std::optional<double> cusum_upper;
  std::optional<double> cusum_lower;
  std::optional<double> ewma;
  std::int64_t runs_in_alarm = 0;  // consecutive runs with a detector in alarm
};

}  // namespace dw::metrics
