#include "metrics/observation_fixtures.h"

#include <utility>

namespace dw::metrics::testing {

RunObservation SampleRun(std::string golden_set, std::string target) {
  RunObservation run;
  run.golden_set = std::move(golden_set);
  run.target = std::move(target);
  run.golden_set_version = "gs-v1";
  run.target_version = "tv-1";
  run.success = true;
  run.finished_at = 1'800'000'000;
  run.duration_seconds = 42.5;
  run.outcome_counts = {{Outcome::kPass, 7}, {Outcome::kFail, 1}, {Outcome::kTimeout, 2}};
  run.input_tokens = 1000;
  run.output_tokens = 250;
  run.cost_usd = 0.125;
  run.latencies_seconds = {0.2, 0.7, 3, 500};
  return run;
}

MetricObservation SampleMetric(std::string metric, std::string slice) {
  MetricObservation m;
  m.golden_set = "support";
  m.target = "gpt";
  m.golden_set_version = "gs-v1";
  m.target_version = "tv-1";
  m.metric = std::move(metric);
  m.slice = std::move(slice);
  m.value = 0.81;
  m.ci_low = 0.74;
  m.ci_high = 0.87;
  m.baseline = 0.9;
  m.delta = -0.09;
  m.delta_ci_low = -0.14;
  m.delta_ci_high = -0.04;
  m.p_value = 0.002;
  m.q_value = 0.006;
  m.verdict = Verdict::kRegressed;
  m.severity = Severity::kCritical;
  m.cusum_upper = 0.3;
  m.cusum_lower = 5.2;
  m.ewma = -1.7;
  m.runs_in_alarm = 2;
  return m;
}

}  // namespace dw::metrics::testing
