// Stored comparisons and drift-detector points.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "store/database.h"

namespace dw::store {

struct ComparisonRecord {
  std::string baseline_run_id;
  std::string candidate_run_id;
  bool common_cases_only = false;
  std::string verdict;
  std::string severity;
  std::string seed;
  nlohmann::json policy;
  nlohmann::json result;  // full comparison JSON; its "metrics" array becomes rows
  std::string computed_by;
  std::string created_by;
};

// Inserts the comparison, one row per metric x slice (fields: metric, slice,
// kind, n, n_missing, baseline, candidate, delta, ci_low, ci_high, p_value,
// q_value, test.name, b, c, verdict, severity, ci_method.name, clustered —
// the interval or test resampled clusters —, clusters) and an audit event, in one
// transaction. Returns the comparison id.
Result<long long> SaveComparison(Database& db, const ComparisonRecord& record);

// The latest stored comparison whose candidate is `run_id`, if any.
Result<std::optional<nlohmann::json>> LatestComparisonFor(Database& db, const std::string& run_id);

struct DriftPoint {
  std::string run_id;
  std::string golden_set;
  std::string target;
  std::string metric;
  std::optional<double> value;
  std::string baseline_run_id;
  double cusum_upper = 0, cusum_lower = 0, ewma = 0;
  bool in_alarm = false;
  int runs_in_alarm = 0;
  nlohmann::json state;  // detector state after this run
};

// Appends a point (idempotent per run and metric).
Status SaveDriftPoint(Database& db, const DriftPoint& point);

// The newest point of a series, if any.
Result<std::optional<DriftPoint>> LatestDriftPoint(Database& db, const std::string& golden_set,
                                                   const std::string& target, const std::string& metric);

// The newest `limit` points of a series, oldest first.
Result<std::vector<DriftPoint>> DriftHistory(Database& db, const std::string& golden_set, const std::string& target,
                                             const std::string& metric, int limit);

}  // namespace dw::store
