// The shared machinery of `run`, `compare`, `demo` and the scheduler: one
// replay with provenance, its comparison with the baseline, its metrics.
#pragma once

#include <atomic>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/context.h"
#include "config/config.h"
#include "core/golden_case.h"
#include "metrics/drift_metrics.h"
#include "replay/summary.h"
#include "stats/compare.h"
#include "store/run_repo.h"

namespace dw::cli {

struct RunRequest {
  std::string goldenset;  // NAME or NAME@VERSION
  std::string target;
  int repeats = 1;
  int concurrency = 0;
  double budget_usd = 0;
  bool has_budget = false;
  std::string resume_run;
  bool no_compare = false;
  // Compare with a baseline of another golden-set version (or another judge)
  // on the cases both score identically; without it such a comparison is
  // skipped with a "not compared" line.
  bool common_cases = false;
  std::string push_url;
  std::string trigger = "manual";
  std::string schedule_name;
  // A `policies:` entry to compare the run under (a schedule's `policy:`),
  // recorded in the run's settings; empty: the golden set's policy.
  std::string policy;
  // Called on the calling thread once the run exists (created or reopened),
  // with its id and the database URL it is stored in; may be empty.
  std::function<void(const std::string& run_id, const std::string& database_url)> on_run_started;
};

struct RunResult {
  std::string run_id;
  std::string golden_set;  // name@version
  std::string target;
  double duration_seconds = 0;
  replay::RunSummary summary;
  bool cancelled = false;
  bool budget_exhausted = false;
  bool critical_regression = false;
  std::optional<nlohmann::json> comparison;  // as stored, when compared
  std::string comparison_text;
  std::string comparison_skipped;  // why the baseline comparison was refused, if it was
  std::string export_error;
  int exit_code = 0;
};

// Replays (or resumes) a run, stores everything, compares with the current
// baseline when there is one, exports metrics when asked. `cancel` stops
// issuing calls (Ctrl-C): the run ends as `cancelled` and can be resumed.
Result<RunResult> ExecuteRun(Context& ctx, const RunRequest& request, const std::atomic<bool>* cancel);

// Prints a run's summary (and comparison) in the context's format.
void PrintRunResult(Context& ctx, const RunResult& result);

// What identifies the scoring configuration of a run (engine build, judge
// and embeddings target versions).
nlohmann::json ScorerSpec(const config::Config& config);

// "driftwatch <version>".
std::string BuildId();

// Options of every DriftMetrics this binary exports: driftwatch_build_info
// carries the version and the git commit it was built from.
metrics::DriftMetricsOptions MetricsOptions();

// Compares `candidate` with the signed-off baseline of its (golden set,
// target), if any; stores the comparison and drift points; sets
// result.comparison and critical_regression. A comparison the versions do
// not allow (see PlanComparison) is not an error: it sets
// result.comparison_skipped and stores nothing.
Status CompareWithBaseline(Context& ctx, const store::RunInfo& candidate, bool common_cases_only, RunResult& result);

// Which cases two runs can be paired on. `refusal` (with a one-line
// `short_refusal` for `run`) is set when they cannot be compared as asked:
//  - different scoring engines: always refused;
//  - different golden-set versions: refused unless `common_cases_only`, then
//    only cases whose content is identical in both versions;
//  - a different judge or embeddings target: cases graded by it are refused
//    unless `common_cases_only`, then left out (no such case: compared).
// `keep` is unset when every case of the candidate's version is compared;
// `notes` say what was left out and why. Errors: different golden sets or the
// same run (kInvalidInput), database failures.
struct ComparisonPlan {
  std::vector<GoldenCase> cases;  // the candidate version's cases
  std::optional<std::set<std::string>> keep;
  std::vector<std::string> notes;
  std::string refusal;
  std::string short_refusal;
};
Result<ComparisonPlan> PlanComparison(Context& ctx, const store::RunInfo& baseline, const store::RunInfo& candidate,
                                      bool common_cases_only);

// Compares two stored runs (paired by case and repeat) and stores the
// result with the policy used (its name and every parameter):
// PlanComparison, then a refusal is a kConflict error. The policy is the one
// recorded in the candidate's settings (a schedule's `policy:`), else the
// golden set's; kInvalidInput when the recorded one is no longer configured.
// Cases sharing a golden-set `group` are resampled as clusters (the result's
// "clustered").
Result<nlohmann::json> CompareAndStore(Context& ctx, const store::RunInfo& baseline, const store::RunInfo& candidate,
                                       bool common_cases_only);
// The same with a plan already made (its refusal, if any, is returned).
Result<nlohmann::json> CompareAndStore(Context& ctx, const store::RunInfo& baseline, const store::RunInfo& candidate,
                                       const ComparisonPlan& plan);

// Updates the CUSUM/EWMA series of each run-level metric with `candidate`.
Status UpdateDriftSeries(Context& ctx, const store::RunInfo& candidate, const std::string& baseline_run_id);

// Records the run in Prometheus form into `drift`: the run-level series, then
// one series per compared metric and slice (with the CUSUM/EWMA state of the
// run's drift point), or the pass rate when nothing was compared. `drift` is
// shared and thread-safe; errors are label or database failures.
Status RecordRunMetrics(Context& ctx, metrics::DriftMetrics& drift, const store::RunInfo& run,
                        const RunResult& result);

// Records the run (RecordRunMetrics) and pushes it / writes the textfile.
Status ExportRunMetrics(Context& ctx, const store::RunInfo& run, const RunResult& result,
                        const std::string& push_url);

// stats::Policy from the config's policy for a golden set.
stats::Policy ToStatsPolicy(const config::PolicyConfig& policy);

}  // namespace dw::cli
