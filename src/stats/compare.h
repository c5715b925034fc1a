// Paired comparison of a candidate run with a baseline run of the same
// golden-set version: per metric and per slice (tag), with tests, intervals,
// Benjamini–Hochberg across the secondary family, practical floors,
// non-inferiority, power, and a verdict with severity. Methods follow
// reference/drift-statistics.md §3 and §7; every figure carries what is needed
// to reproduce it (method name and version, parameters, seed, n, K, b, c).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "stats/intervals.h"
#include "stats/policy.h"

namespace dw::stats {

// How a metric's per-repeat values are analysed.
enum class MetricKind {
  kBinary,         // 0/1 pass-fail; per case the pass fraction over repeats
  kContinuous,     // a score; per case the mean over repeats
  kPositiveRatio,  // latency, tokens, cost: per case the mean log value, so the
                   // paired difference is a log-ratio candidate/baseline
  kTextChange,     // output text: excess normalised edit distance over the
                   // baseline's own repeat-to-repeat distance (§5.2)
};

// "binary", "continuous", "positive_ratio", "text_change".
const char* MetricKindName(MetricKind kind);

// Inverse of MetricKindName; empty for an unknown name.
std::optional<MetricKind> ParseMetricKind(std::string_view name);

struct MetricSpec {
  std::string name;
  MetricKind kind = MetricKind::kBinary;
  // Direction of "better". Unset: higher for binary and continuous, lower for
  // positive_ratio and text_change.
  std::optional<bool> higher_is_better;
  bool is_primary = false;  // at most one metric; overrides Policy::primary_metric
  double log_offset = 0;    // positive_ratio: analyse log(value + log_offset)
  // Overrides of the policy's practical floor and non-inferiority margin, on
  // the analysis scale (log-ratio for positive_ratio).
  std::optional<double> min_effect;
  std::optional<double> ni_margin;
};

// The resolved direction of a metric.
bool HigherIsBetter(const MetricSpec& spec);

// One case's values for one metric, one entry per repeat. Empty on a side
// means the case is missing there (excluded from pairing, counted as missing).
// Numeric kinds use `baseline`/`candidate`; text_change uses the text vectors.
struct MetricObservations {
  std::vector<double> baseline;
  std::vector<double> candidate;
  std::vector<std::string> baseline_text;
  std::vector<std::string> candidate_text;
};

struct CaseRecord {
  std::string id;
  std::vector<std::string> tags;  // the slices the case belongs to besides "all"
  std::string cluster;            // shared group (template, document); empty: none
  // Aligned with ComparisonInput::metrics; a shorter vector leaves the
  // remaining metrics missing for this case.
  std::vector<MetricObservations> metrics;
};

struct ComparisonInput {
  std::vector<MetricSpec> metrics;
  std::vector<CaseRecord> cases;
};

enum class Verdict { kImproved, kRegressed, kUnchanged, kChanged, kInsufficientData };
enum class Severity { kNone, kInfo, kWarning, kCritical };
// How a row's p-value is judged: the primary metric's "all" row on its own at
// alpha; every other testable row under Benjamini–Hochberg; rows with fewer
// than min_cases cases are descriptive only.
enum class Family { kPrimary, kSecondary, kDescriptive };
enum class NiStatus { kPass, kFail, kUnderpowered, kNotApplicable };

// "improved", "regressed", "unchanged", "changed", "insufficient_data".
const char* VerdictName(Verdict verdict);
// "none", "info", "warning", "critical".
const char* SeverityName(Severity severity);
// "primary", "secondary", "descriptive".
const char* FamilyName(Family family);
// "pass", "fail", "underpowered", "not_applicable".
const char* NiStatusName(NiStatus status);

// A named, versioned method with the parameters it ran with.
struct Method {
  std::string name;
  int version = 1;
  nlohmann::json params = nlohmann::json::object();
};

// A single run's level with its interval (on the metric's natural scale:
// pass rate, mean score, geometric mean, mean distance).
struct Estimate {
  double value = 0;
  std::optional<Interval> ci;
  std::string method;
};

struct NonInferiority {
  NiStatus status = NiStatus::kNotApplicable;
  double margin = 0;            // analysis scale
  double alpha = 0;             // one-sided
  std::optional<double> bound;  // the bound of delta on the "worse" side
  std::string reason;
};

struct PowerFigures {
  std::optional<double> mde;       // minimum detectable |delta| (analysis scale)
  double alpha = 0;                // two-sided level of the MDE
  double power = 0;
  std::optional<double> ni_power;  // power of the NI test if nothing changed
  std::optional<double> discordant_share;  // ψ used (binary, single repeat)
};

// One metric on one slice.
struct MetricResult {
  std::string metric;
  MetricKind kind = MetricKind::kBinary;
  bool higher_is_better = true;
  bool primary = false;  // the metric is the primary one (any slice)
  std::string slice;     // "all" or a tag

  int n = 0;          // paired cases
  int n_missing = 0;  // cases of the slice present on one side only
  int n_invalid = 0;  // cases excluded for unusable values (see reason)
  int clusters = 0;   // resampling units (n when no clusters)
  int k_baseline_min = 0, k_baseline_max = 0;
  int k_candidate_min = 0, k_candidate_max = 0;

  Estimate baseline;
  Estimate candidate;
  // Mean paired difference candidate − baseline on the analysis scale:
  // pass-rate or score points, log-ratio, or excess edit distance.
  double delta = 0;
  std::optional<Interval> delta_ci;  // at Policy::ci_level
  Method ci_method;

  std::optional<double> p_value;
  std::optional<double> q_value;  // BH-adjusted; the primary row repeats p
  double min_attainable_p = 1;    // how small p could get with these data
  Family family = Family::kDescriptive;
  Method test;

  std::optional<int> b;  // binary: cases whose pass fraction fell (pass→fail)
  std::optional<int> c;  // binary: cases whose pass fraction rose (fail→pass)
  int ties = 0;          // cases with zero difference

  // text_change only: share of cases whose distance to the baseline exceeds
  // the self-consistency threshold, the same share among baseline repeats,
  // and that threshold.
  std::optional<double> changed_share;
  std::optional<double> null_changed_share;
  std::optional<double> null_threshold;

  double min_effect = 0;  // practical floor used (analysis scale)
  NonInferiority non_inferiority;
  PowerFigures power;

  Verdict verdict = Verdict::kInsufficientData;
  Severity severity = Severity::kNone;
  std::string reason;
  std::uint64_t seed = 0;  // the row's stream; see Compare
};

struct ComparisonResult {
  Verdict verdict = Verdict::kInsufficientData;
  Severity severity = Severity::kNone;
  std::vector<std::string> reasons;  // one line per row of severity ≥ warning, and the primary row
  std::string primary_metric;        // empty: none
  std::uint64_t seed = 0;
  Policy policy;
  int cases = 0;
  // Metric-major in input order; per metric "all" first, then tags sorted.
  std::vector<MetricResult> results;
};

// Verdicts and severities, per row (metric × slice):
//  - insufficient_data: no paired cases; fewer than min_cases; or not
//    significant while the data could not reach the level at all (smallest
//    attainable p ≥ level, e.g. too few discordant pairs) and the interval
//    does not rule out a change of min_effect. The reason says which.
//  - significant means p < alpha for the primary metric's "all" row and
//    q < fdr_q (Benjamini–Hochberg over all other testable rows) otherwise;
//    then improved / regressed by the metric's direction, or changed for
//    text_change; else unchanged.
//  - regressed binary/continuous: critical when p (primary) or q < alpha and
//    the whole interval lies beyond −min_effect, else warning.
//    regressed positive_ratio: warning when p or q < alpha and the point
//    ratio is beyond the floor, else info. improved and changed: info.
//    insufficient_data: info on the primary "all" row, else none.
//    unchanged: none.
// Overall: regressed if any row regressed at warning or above; else
// insufficient_data if the primary "all" row is; else improved if the
// primary row improved (any row, without a primary metric); else unchanged.
// Its severity is the highest of the rows.
//
// Compares candidate with baseline. For each metric and slice: per-case
// aggregation over repeats, then
//  - binary, one repeat per side, no clusters: McNemar (mid-p below
//    policy.mcnemar_asymptotic_min discordant pairs, else asymptotic) and
//    Tango's score interval;
//  - otherwise: sign-flip test on the mean difference (clusters flipped
//    whole) and a BCa (cluster) bootstrap interval, or the sign-flip
//    inversion interval below 30 units.
// Row seeds are DeriveSeed(seed, metric + "/" + slice) and a row's sign-flip
// stream is DeriveSeed(row seed, "signflip"). The bootstrap stream of a slice
// is DeriveSeed(seed, "bootstrap/" + slice): metrics with the same paired
// cases are resampled together (same cases per draw), which is also what each
// would get alone. Both streams are recorded in the methods' params.
// kInvalidInput for an invalid policy, duplicate or empty names and ids, a
// tag named "all", more than one primary metric, or a binary value other
// than 0/1. Non-finite values, and positive_ratio values with
// value + log_offset ≤ 0, exclude the case from that metric (n_invalid).
Result<ComparisonResult> Compare(const ComparisonInput& input, const Policy& policy, std::uint64_t seed);

}  // namespace dw::stats
