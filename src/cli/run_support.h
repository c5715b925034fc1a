// The shared machinery of `run`, `compare`, `demo` and the scheduler: one
// replay with provenance, its comparison with the baseline, its metrics.
#pragma once

#include <atomic>
#include <functional>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/context.h"
#include "config/config.h"
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
// result.comparison and critical_regression.
Status CompareWithBaseline(Context& ctx, const store::RunInfo& candidate, RunResult& result);

// Compares two stored runs (paired by case and repeat) and stores the result
// with the policy used (its name and every parameter). The policy is the
// one recorded in the candidate's settings (a schedule's `policy:`), else the
// golden set's; kInvalidInput when the recorded one is no longer configured.
// Different golden-set versions are refused unless `common_cases_only`, which
// pairs only cases whose content is identical in both versions.
Result<nlohmann::json> CompareAndStore(Context& ctx, const store::RunInfo& baseline, const store::RunInfo& candidate,
                                       bool common_cases_only);

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
