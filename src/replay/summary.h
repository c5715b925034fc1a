// Run-level aggregates computed while results stream past: pass rate with a
// Wilson interval, per-metric means, failures by class, tokens, cost and
// latency percentiles.
#pragma once

#include <array>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/outcome.h"
#include "core/replay_result.h"

namespace dw::replay {

// Accumulates results; not thread-safe. Latency percentiles are exact
// (nearest rank over every answered call), so the samples are kept: memory
// grows by 8 bytes per answered result (160 KB for 20,000 results, 8 MB for a
// million) and each percentile query sorts a copy. Everything else is fixed
// size. A bounded histogram would make p50/p95/p99 approximate; at golden-set
// sizes the exact answer is worth the bytes.
class RunSummary {
 public:
  void Add(const ReplayResult& result);

  size_t results() const { return results_; }
  size_t count(Outcome o) const { return counts_[static_cast<size_t>(o)]; }
  // pass / (all results that reached the model and were judged: every
  // outcome except infrastructure failures).
  double pass_rate() const;
  size_t scored() const;  // the denominator of pass_rate
  size_t infra_failures() const;
  double cost_usd() const { return cost_usd_; }
  // Latency percentile over answered calls, in ms (0 when none).
  double LatencyPercentile(double p) const;

  // Everything, as stored in run.summary and printed by --format json.
  // `duration_seconds` is wall time of the run.
  nlohmann::json ToJson(double duration_seconds) const;
  // Human-readable summary block.
  std::string ToText(double duration_seconds) const;

 private:
  size_t results_ = 0;
  std::array<size_t, std::size(kAllOutcomes)> counts_{};
  std::map<std::string, std::pair<double, size_t>> metric_sums_;  // name -> (sum, n)
  std::vector<double> latencies_;
  long long input_tokens_ = 0;
  long long output_tokens_ = 0;
  double cost_usd_ = 0;
  size_t attempts_ = 0;
};

}  // namespace dw::replay
