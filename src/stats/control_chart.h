// Change detection over the series of scheduled runs of one (golden set,
// target, metric): a two-sided tabular CUSUM (Page 1954) and an EWMA chart
// (Roberts 1959, exact time-varying limits) on the standardised run metric
// z = (x − μ₀)/σ₀ (reference §4). The detector state is a plain value that
// round-trips through JSON, and Update is a pure function, so the caller can
// keep one row per series in PostgreSQL.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"

namespace dw::stats {

// Defaults: k = 0.5, h = 5 (ARL₀ ≈ 465 runs, a 1σ shift found in ≈ 10 runs),
// FIR head start h/2 after a re-baseline, EWMA λ = 0.2 with L = 2.86
// (ARL₀ ≈ 365), moving-range σ once 10 runs exist.
struct DetectorConfig {
  double k = 0.5;   // CUSUM reference value, in σ
  double h = 5;     // CUSUM decision interval, in σ
  bool fir = true;  // start both CUSUM sums at h/2 after a (re-)baseline
  double ewma_lambda = 0.2;
  double ewma_l = 2.86;            // EWMA limit width, in σ of the EWMA statistic
  int min_runs_moving_range = 10;  // runs before the moving-range σ is used
  double min_sigma = 1e-9;         // floor on σ₀, so a deterministic series cannot divide by 0
  bool higher_is_better = true;    // which alarm side is a degradation
};

// "upper", "lower" or "none".
enum class AlarmSide { kNone, kUpper, kLower };
const char* AlarmSideName(AlarmSide side);

struct DetectorState {
  int schema_version = 1;
  DetectorConfig config;
  double mu0 = 0;                          // in-control mean (the signed-off baseline)
  std::optional<double> sigma_replicate;   // σ₀ of a run metric from within-run replication

  int runs = 0;                      // observations since the (re-)baseline
  std::optional<double> last_value;  // previous observation, for the moving range
  double moving_range_sum = 0;       // Σ|xₜ − xₜ₋₁| over in-control pairs
  int moving_range_count = 0;

  double cusum_upper = 0;  // S⁺
  double cusum_lower = 0;  // S⁻
  int upper_run_length = 0;  // consecutive runs with S⁺ > 0
  int lower_run_length = 0;
  double ewma = 0;
  int ewma_steps = 0;

  // Outcome of the latest update.
  bool ready = false;         // a σ₀ was available and the charts were updated
  double sigma = 0;           // σ₀ used
  std::string sigma_source;   // "replicate", "moving_range" or "max(replicate,moving_range)"
  double z = 0;
  double ewma_limit = 0;
  bool cusum_alarm = false;
  bool ewma_alarm = false;
  bool in_alarm = false;
  AlarmSide side = AlarmSide::kNone;
  bool degraded = false;            // in alarm on the worse side for the metric
  int consecutive_alarm_runs = 0;   // runs in a row ending now with an alarm
  std::optional<double> shift_estimate;  // μ̂ after a CUSUM alarm: μ₀ ± σ₀(k + S/N)
  std::optional<int> change_run;         // last run (1-based since baseline) before the shift
};

// A fresh detector for a new baseline: μ₀ and, if known, σ₀ from replicate
// runs (see ReplicateSigma). With config.fir the CUSUM sums start at h/2.
DetectorState Rebaseline(const DetectorConfig& config, double mu0, std::optional<double> sigma_replicate);

// The state after observing run metric `value`. σ₀ is the replicate σ, the
// moving-range σ (MR̄/1.128, from in-control runs once
// config.min_runs_moving_range runs exist), or the larger of the two when
// both exist; without either the run is recorded but the charts wait
// (ready = false). A non-finite value leaves the state unchanged.
DetectorState Update(const DetectorState& previous, double value);

// σ of a run-level mean due to within-case nondeterminism (reference §4.1a):
// √(Σᵢ s²ᵢ/Kᵢ)/n over the n cases with Kᵢ ≥ 2 repeats, s²ᵢ their sample
// variance. Empty when no case has two repeats.
std::optional<double> ReplicateSigma(const std::vector<std::vector<double>>& repeats_per_case);

// Every field of the state (including its config) as a JSON object.
nlohmann::json DetectorStateToJson(const DetectorState& state);

// Inverse of DetectorStateToJson. kInvalidInput naming the field if one is
// missing, of the wrong type, or out of range, or if schema_version is not 1.
Result<DetectorState> DetectorStateFromJson(const nlohmann::json& json);

}  // namespace dw::stats
