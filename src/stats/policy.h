// The statistical policy of a comparison (defaults: reference/
// drift-statistics.md §7). Mirrors config::PolicyConfig plus the knobs the
// config does not carry yet; the caller maps one onto the other.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "core/status.h"

namespace dw::stats {

struct Policy {
  // The metric tested without multiplicity correction at `alpha` on the
  // "all" slice. Used when no MetricSpec sets is_primary; empty: none.
  std::string primary_metric = "pass_rate";
  double alpha = 0.01;      // primary test level; also the "strict" level for paging
  double fdr_q = 0.05;      // Benjamini–Hochberg level for slices and secondary metrics
  double delta_min = 0.02;  // practical floor for binary and continuous metrics
  double ni_margin = 0.02;  // non-inferiority margin for binary and continuous metrics
  int min_cases = 30;       // fewer paired cases: descriptive only (insufficient_data)
  int permutations = 10000; // sign-flip draws
  int bootstrap = 10000;    // bootstrap draws

  double ci_level = 0.95;           // two-sided level of every reported interval
  double ni_alpha = 0.05;           // one-sided level of the non-inferiority bound
  double power = 0.8;               // power for the minimum detectable effect
  double mde_alpha = 0.05;          // two-sided level for the minimum detectable effect
  int mcnemar_asymptotic_min = 25;  // b+c at which McNemar switches from mid-p to asymptotic
  double ratio_delta_min = 0.20;    // practical floor for latency/tokens/cost: |ratio − 1|
  double ratio_ni_margin = 0.10;    // non-inferiority margin for ratios: ratio ≤ 1 + margin
  double text_delta_min = 0.05;     // practical floor for excess normalised edit distance
  double text_null_quantile = 0.99; // self-consistency quantile above which a case "changed"
  int threads = 2;                  // worker threads for Compare (results do not depend on it)

  // kInvalidInput naming the first field out of range.
  Status Validate() const;

  // Every field, for recording next to results.
  nlohmann::json ToJson() const;
};

}  // namespace dw::stats
