// Output forms of a ComparisonResult: JSON for storage and APIs, and a plain
// text table for terminals and CI logs.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "stats/compare.h"

namespace dw::stats {

// One JSON object per metric and slice with at least: metric, kind, slice,
// n, baseline, candidate, delta, ci_low, ci_high, p_value, q_value, test,
// verdict, severity, seed (hex string), plus b and c for binary metrics and
// ratio/ratio_ci_* for positive_ratio ones. Absent or non-finite numbers
// (an unbounded interval, a row without a test) are null.
nlohmann::json MetricResultToJson(const MetricResult& row);

// {"schema_version": 1, "verdict", "severity", "reasons", "primary_metric",
//  "seed", "cases", "policy", "metrics": [MetricResultToJson...]}.
nlohmann::json ComparisonToJson(const ComparisonResult& result);

// A header line with the overall verdict, then one aligned row per metric
// and slice, most severe first (then regressed, changed, improved,
// insufficient, unchanged; primary metric first; input order). Pass rates are
// shown in percent, ratios as "x1.083"; "-" marks an absent value. Ends with
// a newline.
std::string RenderComparisonTable(const ComparisonResult& result);

}  // namespace dw::stats
