#include "stats/compare.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <set>
#include <thread>
#include <unordered_map>
#include <unordered_set>

#include "stats/distributions.h"
#include "stats/multiplicity.h"
#include "stats/power.h"
#include "stats/resampling.h"
#include "stats/rng.h"
#include "stats/text_distance.h"

namespace dw::stats {
namespace {

// Below this many resampling units percentile-type bootstraps under-cover
// (reference §3.5); the sign-flip inversion interval is used instead.
constexpr int kMinUnitsForBootstrap = 30;
constexpr char kAllSlice[] = "all";

enum class CaseStatus : std::uint8_t { kPaired, kMissing, kInvalid };

// One case's aggregate for one metric, on the analysis scale.
struct PreparedCase {
  CaseStatus status = CaseStatus::kMissing;
  double baseline = 0;
  double candidate = 0;
  double diff = 0;
  int k_baseline = 0;
  int k_candidate = 0;
  bool changed = false;       // text_change: candidate distance above the null threshold
  bool null_changed = false;  // text_change: baseline's own distance above it
};

struct PreparedMetric {
  std::vector<PreparedCase> cases;
  std::optional<double> null_threshold;  // text_change
};

struct Context {
  const ComparisonInput* input = nullptr;
  const Policy* policy = nullptr;
  std::uint64_t seed = 0;
  int primary = -1;
  std::vector<PreparedMetric> prepared;
  std::vector<std::string> slice_names;
  std::vector<std::vector<int>> slice_cases;
  bool clustered = false;
  std::vector<int> cluster_of;  // dense cluster index per case
  int cluster_count = 0;
  std::vector<std::uint64_t> bootstrap_seeds;  // per slice
};

// A row in the making. Rows whose interval comes from resampling units one by
// one keep their units until the shared bootstrap of their slice has run.
struct RowWork {
  MetricResult row;
  int slice = 0;
  std::vector<int> paired;  // case indices, in slice order
  std::vector<Unit> units;
  bool deferred = false;
  double se_for_power = -1;
};

std::string Format(double value) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.4g", value);
  return buffer;
}

template <typename Body>
void ParallelFor(int count, int threads, Body body) {
  threads = std::min(threads, count);
  if (threads <= 1) {
    for (int i = 0; i < count; ++i) body(i);
    return;
  }
  std::atomic<int> next{0};
  const auto worker = [&] {
    for (int i = next.fetch_add(1); i < count; i = next.fetch_add(1)) body(i);
  };
  std::vector<std::jthread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(worker);
  worker();
}

double Mean(const std::vector<double>& values) {
  double sum = 0;
  for (double v : values) sum += v;
  return values.empty() ? 0 : sum / static_cast<double>(values.size());
}

// Type-7 quantile of unsorted values (copied).
double Quantile(std::vector<double> values, double probability) {
  std::sort(values.begin(), values.end());
  const double position = probability * static_cast<double>(values.size() - 1);
  const auto below = static_cast<std::size_t>(std::floor(position));
  const std::size_t above = std::min(below + 1, values.size() - 1);
  return values[below] + (position - static_cast<double>(below)) * (values[above] - values[below]);
}

Status ValidateInput(const ComparisonInput& input) {
  if (input.metrics.empty()) return Fail(ErrorKind::kInvalidInput, "comparison has no metrics");
  std::unordered_set<std::string> names;
  int primaries = 0;
  for (const MetricSpec& spec : input.metrics) {
    if (spec.name.empty()) return Fail(ErrorKind::kInvalidInput, "metric with an empty name");
    if (!names.insert(spec.name).second) {
      return Fail(ErrorKind::kInvalidInput, "duplicate metric name '" + spec.name + "'");
    }
    if (spec.is_primary) ++primaries;
    if (!std::isfinite(spec.log_offset)) {
      return Fail(ErrorKind::kInvalidInput, "metric '" + spec.name + "': log_offset must be finite");
    }
    if (spec.min_effect && !(*spec.min_effect >= 0)) {
      return Fail(ErrorKind::kInvalidInput, "metric '" + spec.name + "': min_effect must be >= 0");
    }
    if (spec.ni_margin && !(*spec.ni_margin > 0)) {
      return Fail(ErrorKind::kInvalidInput, "metric '" + spec.name + "': ni_margin must be > 0");
    }
  }
  if (primaries > 1) return Fail(ErrorKind::kInvalidInput, "more than one metric is marked primary");
  std::unordered_set<std::string> ids;
  for (const CaseRecord& record : input.cases) {
    if (record.id.empty()) return Fail(ErrorKind::kInvalidInput, "case with an empty id");
    if (!ids.insert(record.id).second) {
      return Fail(ErrorKind::kInvalidInput, "duplicate case id '" + record.id + "'");
    }
    for (const std::string& tag : record.tags) {
      if (tag == kAllSlice) {
        return Fail(ErrorKind::kInvalidInput, "case '" + record.id + "': tag 'all' is reserved");
      }
      if (tag.empty()) return Fail(ErrorKind::kInvalidInput, "case '" + record.id + "': empty tag");
    }
    if (record.metrics.size() > input.metrics.size()) {
      return Fail(ErrorKind::kInvalidInput, "case '" + record.id + "' has values for " +
                                                std::to_string(record.metrics.size()) + " metrics, input declares " +
                                                std::to_string(input.metrics.size()));
    }
    for (std::size_t m = 0; m < record.metrics.size(); ++m) {
      if (input.metrics[m].kind != MetricKind::kBinary) continue;
      for (const auto* side : {&record.metrics[m].baseline, &record.metrics[m].candidate}) {
        for (double v : *side) {
          if (std::isfinite(v) && v != 0 && v != 1) {
            return Fail(ErrorKind::kInvalidInput, "case '" + record.id + "', metric '" + input.metrics[m].name +
                                                      "': binary value " + Format(v) + " is not 0 or 1");
          }
        }
      }
    }
  }
  return Ok();
}

// Mean of the transformed values; false if any value is unusable.
bool SideMean(const std::vector<double>& values, const MetricSpec& spec, double* mean) {
  double sum = 0;
  for (double v : values) {
    if (!std::isfinite(v)) return false;
    if (spec.kind == MetricKind::kPositiveRatio) {
      const double shifted = v + spec.log_offset;
      if (!(shifted > 0)) return false;
      sum += std::log(shifted);
    } else {
      sum += v;
    }
  }
  *mean = sum / static_cast<double>(values.size());
  return true;
}

PreparedMetric PrepareNumeric(const ComparisonInput& input, std::size_t index) {
  const MetricSpec& spec = input.metrics[index];
  PreparedMetric prepared;
  prepared.cases.resize(input.cases.size());
  for (std::size_t i = 0; i < input.cases.size(); ++i) {
    const CaseRecord& record = input.cases[i];
    PreparedCase& out = prepared.cases[i];
    if (index >= record.metrics.size()) continue;
    const MetricObservations& obs = record.metrics[index];
    if (obs.baseline.empty() || obs.candidate.empty()) continue;
    out.k_baseline = static_cast<int>(obs.baseline.size());
    out.k_candidate = static_cast<int>(obs.candidate.size());
    if (!SideMean(obs.baseline, spec, &out.baseline) || !SideMean(obs.candidate, spec, &out.candidate)) {
      out.status = CaseStatus::kInvalid;
      continue;
    }
    out.status = CaseStatus::kPaired;
    out.diff = out.candidate - out.baseline;
  }
  return prepared;
}

// §5.2 self-consistency null. With baseline repeats a₁..a_K and candidate
// repeats b₁..b_J, take m = min(K−1, J) and, per case,
// baseline = mean_k D(a₁, a_{k+1}), candidate = mean_k D(a₁, b_k), k = 1..m.
// Under H₀ (all repeats iid) each term D(a₁, b_k) − D(a₁, a_{k+1}) is
// symmetric about 0 (swap b_k with a_{k+1}), so the sign-flip test is exact.
PreparedMetric PrepareText(const ComparisonInput& input, std::size_t index, const Policy& policy) {
  PreparedMetric prepared;
  prepared.cases.resize(input.cases.size());
  std::vector<double> null_pool;
  for (std::size_t i = 0; i < input.cases.size(); ++i) {
    const CaseRecord& record = input.cases[i];
    PreparedCase& out = prepared.cases[i];
    if (index >= record.metrics.size()) continue;
    const MetricObservations& obs = record.metrics[index];
    if (obs.baseline_text.empty() || obs.candidate_text.empty()) continue;
    out.k_baseline = static_cast<int>(obs.baseline_text.size());
    out.k_candidate = static_cast<int>(obs.candidate_text.size());
    if (obs.baseline_text.size() < 2) {
      out.status = CaseStatus::kInvalid;
      continue;
    }
    const std::size_t m = std::min(obs.baseline_text.size() - 1, obs.candidate_text.size());
    const EditDistanceFrom anchor(DecodeUtf8(obs.baseline_text[0]));
    double null_sum = 0, cross_sum = 0;
    for (std::size_t k = 0; k < m; ++k) {
      const double null_distance = anchor.NormalizedTo(DecodeUtf8(obs.baseline_text[k + 1]));
      null_pool.push_back(null_distance);
      null_sum += null_distance;
      cross_sum += anchor.NormalizedTo(DecodeUtf8(obs.candidate_text[k]));
    }
    out.status = CaseStatus::kPaired;
    out.baseline = null_sum / static_cast<double>(m);
    out.candidate = cross_sum / static_cast<double>(m);
    out.diff = out.candidate - out.baseline;
  }
  if (!null_pool.empty()) {
    const double threshold = Quantile(std::move(null_pool), policy.text_null_quantile);
    prepared.null_threshold = threshold;
    for (PreparedCase& c : prepared.cases) {
      c.changed = c.candidate > threshold;
      c.null_changed = c.baseline > threshold;
    }
  }
  return prepared;
}

double MinEffect(const MetricSpec& spec, const Policy& policy) {
  if (spec.min_effect) return *spec.min_effect;
  switch (spec.kind) {
    case MetricKind::kPositiveRatio: return std::log1p(policy.ratio_delta_min);
    case MetricKind::kTextChange: return policy.text_delta_min;
    default: return policy.delta_min;
  }
}

double NiMargin(const MetricSpec& spec, const Policy& policy) {
  if (spec.ni_margin) return *spec.ni_margin;
  return spec.kind == MetricKind::kPositiveRatio ? std::log1p(policy.ratio_ni_margin) : policy.ni_margin;
}

// Standard error of a mean of per-case values, clustered by unit (Miller
// 2024, R2): √(Σ_u (Σ_{i∈u} (x_i − x̄))²) / n, without small-sample factor.
double ClusteredSe(const std::vector<double>& values, const std::vector<int>& unit_of, int units, double mean) {
  std::vector<double> unit_sums(static_cast<std::size_t>(units), 0.0);
  for (std::size_t i = 0; i < values.size(); ++i) unit_sums[static_cast<std::size_t>(unit_of[i])] += values[i] - mean;
  double squares = 0;
  for (double s : unit_sums) squares += s * s;
  return std::sqrt(squares) / static_cast<double>(values.size());
}

Estimate LevelEstimate(const MetricSpec& spec, const std::vector<double>& values, const std::vector<int>& unit_of,
                       int units, bool single_repeat_unclustered, int total_repeats, const Policy& policy) {
  Estimate estimate;
  const double mean = Mean(values);
  const double se = ClusteredSe(values, unit_of, units, mean);
  if (spec.kind == MetricKind::kBinary) {
    estimate.value = mean;
    double effective_n = values.size();
    if (single_repeat_unclustered) {
      estimate.method = "wilson";
    } else {
      estimate.method = "wilson_design_effect";
      const double variance = mean * (1 - mean);
      effective_n = se > 0 ? std::min<double>(total_repeats, variance / (se * se)) : total_repeats;
    }
    if (effective_n > 0) estimate.ci = WilsonInterval(mean * effective_n, effective_n, policy.ci_level);
    return estimate;
  }
  estimate.method = spec.kind == MetricKind::kPositiveRatio ? "t_log" : "t";
  std::optional<Interval> interval;
  if (units >= 2) {
    const double factor = std::sqrt(static_cast<double>(units) / (units - 1));
    const double half = StudentTQuantile(0.5 + policy.ci_level / 2, units - 1) * se * factor;
    interval = Interval{mean - half, mean + half};
  }
  if (spec.kind == MetricKind::kPositiveRatio) {
    estimate.value = std::exp(mean) - spec.log_offset;
    if (interval) {
      interval = Interval{std::exp(interval->low) - spec.log_offset, std::exp(interval->high) - spec.log_offset};
    }
  } else {
    estimate.value = mean;
  }
  estimate.ci = interval;
  return estimate;
}

// Sets what depends on the interval (non-inferiority, its power) and drops
// the units.
void FinishRow(RowWork& work, const Interval& ni_interval, const Policy& policy);

// One metric on one slice, complete except for rows whose bootstrap is
// deferred to RunSharedBootstraps (work.deferred).
RowWork ComputeRow(const Context& ctx, int metric, int slice) {
  const ComparisonInput& input = *ctx.input;
  const Policy& policy = *ctx.policy;
  const MetricSpec& spec = input.metrics[static_cast<std::size_t>(metric)];
  const PreparedMetric& prepared = ctx.prepared[static_cast<std::size_t>(metric)];

  RowWork work;
  work.slice = slice;
  MetricResult& row = work.row;
  row.metric = spec.name;
  row.kind = spec.kind;
  row.higher_is_better = HigherIsBetter(spec);
  row.primary = metric == ctx.primary;
  row.slice = ctx.slice_names[static_cast<std::size_t>(slice)];
  row.seed = DeriveSeed(ctx.seed, row.metric + "/" + row.slice);
  row.min_effect = MinEffect(spec, policy);
  row.non_inferiority.margin = NiMargin(spec, policy);
  row.non_inferiority.alpha = policy.ni_alpha;
  row.power.alpha = policy.mde_alpha;
  row.power.power = policy.power;
  if (spec.kind == MetricKind::kTextChange) row.null_threshold = prepared.null_threshold;

  std::vector<int>& paired = work.paired;
  for (int index : ctx.slice_cases[static_cast<std::size_t>(slice)]) {
    const PreparedCase& c = prepared.cases[static_cast<std::size_t>(index)];
    if (c.status == CaseStatus::kPaired) {
      paired.push_back(index);
    } else if (c.status == CaseStatus::kMissing) {
      ++row.n_missing;
    } else {
      ++row.n_invalid;
    }
  }
  row.n = static_cast<int>(paired.size());
  if (spec.kind == MetricKind::kTextChange) {
    row.non_inferiority.status = NiStatus::kNotApplicable;
    row.non_inferiority.reason = "text change has no better direction";
  } else {
    row.non_inferiority.status = NiStatus::kUnderpowered;
    row.non_inferiority.reason = "no paired cases";
  }
  if (paired.empty()) return work;

  row.k_baseline_min = row.k_candidate_min = INT32_MAX;
  std::vector<double> base, cand, diff;
  std::vector<int> unit_of;
  std::vector<Unit>& units = work.units;
  std::vector<int> slot(ctx.clustered ? static_cast<std::size_t>(ctx.cluster_count) : 0, -1);
  int total_baseline_repeats = 0, total_candidate_repeats = 0;
  int decreased = 0, increased = 0, changed = 0, null_changed = 0;
  for (int index : paired) {
    const PreparedCase& c = prepared.cases[static_cast<std::size_t>(index)];
    base.push_back(c.baseline);
    cand.push_back(c.candidate);
    diff.push_back(c.diff);
    row.k_baseline_min = std::min(row.k_baseline_min, c.k_baseline);
    row.k_baseline_max = std::max(row.k_baseline_max, c.k_baseline);
    row.k_candidate_min = std::min(row.k_candidate_min, c.k_candidate);
    row.k_candidate_max = std::max(row.k_candidate_max, c.k_candidate);
    total_baseline_repeats += c.k_baseline;
    total_candidate_repeats += c.k_candidate;
    if (c.diff < 0) ++decreased;
    if (c.diff > 0) ++increased;
    if (c.diff == 0) ++row.ties;
    if (c.changed) ++changed;
    if (c.null_changed) ++null_changed;
    int unit;
    if (ctx.clustered) {
      int& s = slot[static_cast<std::size_t>(ctx.cluster_of[static_cast<std::size_t>(index)])];
      if (s < 0) {
        s = static_cast<int>(units.size());
        units.push_back({0, 0});
      }
      unit = s;
      units[static_cast<std::size_t>(unit)].sum += c.diff;
      units[static_cast<std::size_t>(unit)].count += 1;
    } else {
      unit = static_cast<int>(units.size());
      units.push_back({c.diff, 1});
    }
    unit_of.push_back(unit);
  }
  row.clusters = static_cast<int>(units.size());
  const int n = row.n;
  const int unit_count = row.clusters;
  const bool single_repeat = row.k_baseline_max == 1 && row.k_candidate_max == 1;
  const bool plain = single_repeat && !ctx.clustered;

  row.baseline = LevelEstimate(spec, base, unit_of, unit_count, plain, total_baseline_repeats, policy);
  row.candidate = LevelEstimate(spec, cand, unit_of, unit_count, plain, total_candidate_repeats, policy);
  row.delta = UnitMean(units);
  if (spec.kind == MetricKind::kTextChange) {
    row.changed_share = static_cast<double>(changed) / n;
    row.null_changed_share = static_cast<double>(null_changed) / n;
  }
  if (spec.kind == MetricKind::kBinary) {
    row.b = decreased;
    row.c = increased;
  }

  const double ni_confidence = 1 - 2 * policy.ni_alpha;
  const double confidences[] = {policy.ci_level, ni_confidence};
  Interval ni_interval;
  if (spec.kind == MetricKind::kBinary && plain) {
    const McNemarResult test = McNemarTest(decreased, increased, policy.mcnemar_asymptotic_min);
    row.test = {std::string(test.name), 1,
                {{"b", decreased}, {"c", increased}, {"statistic", test.statistic},
                 {"asymptotic_min", policy.mcnemar_asymptotic_min}}};
    row.p_value = test.p_value;
    row.min_attainable_p = test.min_attainable_p;
    row.delta_ci = TangoInterval(n, decreased, increased, policy.ci_level);
    ni_interval = TangoInterval(n, decreased, increased, ni_confidence);
    row.ci_method = {"tango_score", 1, {{"confidence", policy.ci_level}}};
    const int discordant = decreased + increased;
    const double psi = discordant > 0 ? static_cast<double>(discordant) / n : 3.0 / n;
    row.power.discordant_share = psi;
    row.power.mde = McNemarMde(n, psi, policy.mde_alpha, policy.power);
    work.se_for_power = std::sqrt(psi / n);
    FinishRow(work, ni_interval, policy);
    return work;
  }

  const std::uint64_t signflip_seed = DeriveSeed(row.seed, "signflip");
  const SignFlipResult test = SignFlipTest(units, policy.permutations, signflip_seed);
  row.test = {"signflip_permutation", 1,
              {{"draws", test.draws}, {"exact", test.exact}, {"nonzero_units", test.nonzero_units},
               {"clustered", ctx.clustered}, {"seed", SeedHex(signflip_seed)}}};
  row.p_value = test.p_value;
  row.min_attainable_p = test.min_attainable_p;
  if (unit_count >= 2) {
    work.se_for_power = ClusteredSe(diff, unit_of, unit_count, Mean(diff)) *
                        std::sqrt(static_cast<double>(unit_count) / (unit_count - 1));
    row.power.mde = NormalMde(work.se_for_power, policy.mde_alpha, policy.power);
  }
  const std::uint64_t bootstrap_seed = ctx.bootstrap_seeds[static_cast<std::size_t>(slice)];
  if (unit_count >= kMinUnitsForBootstrap) {
    row.ci_method = {"bca_bootstrap", 1,
                     {{"confidence", policy.ci_level}, {"draws", policy.bootstrap},
                      {"clustered", ctx.clustered}, {"seed", SeedHex(bootstrap_seed)}}};
    if (!ResamplesByLevels(units)) {
      work.deferred = true;
      return work;
    }
    const BootstrapResult boot = BcaBootstrap(units, confidences, policy.bootstrap, bootstrap_seed);
    row.delta_ci = boot.intervals[0];
    ni_interval = boot.intervals[1];
    row.ci_method.params["z0"] = boot.bias_correction;
    row.ci_method.params["acceleration"] = boot.acceleration;
  } else {
    const std::vector<Interval> intervals = SignFlipInterval(units, confidences, policy.permutations, signflip_seed);
    row.delta_ci = intervals[0];
    ni_interval = intervals[1];
    row.ci_method = {"signflip_inversion", 1,
                     {{"confidence", policy.ci_level}, {"draws", policy.permutations},
                      {"clustered", ctx.clustered}, {"seed", SeedHex(signflip_seed)}}};
  }
  FinishRow(work, ni_interval, policy);
  return work;
}

void FinishRow(RowWork& work, const Interval& ni_interval, const Policy& policy) {
  MetricResult& row = work.row;
  work.units.clear();
  work.units.shrink_to_fit();
  if (row.kind == MetricKind::kTextChange) return;
  NonInferiority& ni = row.non_inferiority;
  const int n = row.n;
  if (work.se_for_power >= 0) {
    row.power.ni_power = NonInferiorityPower(work.se_for_power, ni.margin, policy.ni_alpha);
  }
  ni.bound = row.higher_is_better ? ni_interval.low : ni_interval.high;
  const bool bound_clears = row.higher_is_better ? ni_interval.low > -ni.margin : ni_interval.high < ni.margin;
  if (n < policy.min_cases) {
    ni.status = NiStatus::kUnderpowered;
    ni.reason = "n=" + std::to_string(n) + " < min_cases=" + std::to_string(policy.min_cases);
  } else if (!bound_clears) {
    ni.status = NiStatus::kFail;
    ni.reason = "bound " + Format(*ni.bound) + " does not clear the margin " + Format(ni.margin);
  } else if (row.power.mde ? *row.power.mde > 2 * ni.margin
                            : !row.power.discordant_share || *row.power.discordant_share > 2 * ni.margin) {
    // Without an MDE (McNemar at a tiny discordance) no change larger than ψ
    // can exist, so ψ ≤ 2 × margin still supports the claim.
    ni.status = NiStatus::kUnderpowered;
    ni.reason = row.power.mde ? "MDE " + Format(*row.power.mde) + " > 2 x margin " + Format(ni.margin)
                              : "no detectable effect at this discordance";
  } else {
    ni.status = NiStatus::kPass;
    ni.reason = "bound " + Format(*ni.bound) + " clears the margin " + Format(ni.margin);
  }
}

// Runs the bootstrap of the deferred rows: per slice, rows with the same
// paired cases are resampled together, in chunks of draws spread over the
// worker threads; then each row gets its BCa interval.
void RunSharedBootstraps(const Context& ctx, std::vector<RowWork>& works) {
  const Policy& policy = *ctx.policy;
  struct Group {
    std::vector<RowWork*> rows;
    SharedUnits units;
    std::uint64_t seed = 0;
    std::vector<std::vector<double>> replicates;
  };
  std::vector<Group> groups;
  for (RowWork& work : works) {
    if (!work.deferred) continue;
    auto it = std::find_if(groups.begin(), groups.end(), [&](const Group& group) {
      return group.rows[0]->slice == work.slice && group.rows[0]->paired == work.paired;
    });
    if (it == groups.end()) {
      groups.emplace_back();
      it = groups.end() - 1;
      it->seed = ctx.bootstrap_seeds[static_cast<std::size_t>(work.slice)];
    }
    it->rows.push_back(&work);
  }
  for (Group& group : groups) {
    const std::size_t width = group.rows.size();
    const std::size_t size = group.rows[0]->units.size();
    group.units.metrics = static_cast<int>(width);
    group.units.sums.resize(size * width);
    group.units.counts.resize(size);
    for (std::size_t u = 0; u < size; ++u) {
      group.units.counts[u] = group.rows[0]->units[u].count;
      for (std::size_t m = 0; m < width; ++m) group.units.sums[u * width + m] = group.rows[m]->units[u].sum;
    }
    group.replicates.assign(width, std::vector<double>(static_cast<std::size_t>(policy.bootstrap)));
  }

  constexpr int kDrawsPerChunk = 500;
  const int chunks_per_group = (policy.bootstrap + kDrawsPerChunk - 1) / kDrawsPerChunk;
  ParallelFor(static_cast<int>(groups.size()) * chunks_per_group, policy.threads, [&](int item) {
    Group& group = groups[static_cast<std::size_t>(item / chunks_per_group)];
    const int begin = (item % chunks_per_group) * kDrawsPerChunk;
    const int end = std::min(policy.bootstrap, begin + kDrawsPerChunk);
    SharedBootstrapReplicates(group.units, begin, end, group.seed, &group.replicates);
  });

  std::vector<std::pair<RowWork*, std::vector<double>*>> finishing;
  for (Group& group : groups) {
    for (std::size_t m = 0; m < group.rows.size(); ++m) finishing.emplace_back(group.rows[m], &group.replicates[m]);
  }
  const double confidences[] = {policy.ci_level, 1 - 2 * policy.ni_alpha};
  ParallelFor(static_cast<int>(finishing.size()), policy.threads, [&](int i) {
    RowWork& work = *finishing[static_cast<std::size_t>(i)].first;
    const BootstrapResult boot =
        BcaFromReplicates(work.units, std::move(*finishing[static_cast<std::size_t>(i)].second), confidences);
    work.row.delta_ci = boot.intervals[0];
    work.row.ci_method.params["z0"] = boot.bias_correction;
    work.row.ci_method.params["acceleration"] = boot.acceleration;
    work.deferred = false;
    FinishRow(work, boot.intervals[1], policy);
  });
}

std::string InvalidNote(const MetricResult& row) {
  if (row.n_invalid == 0) return "";
  std::string what;
  switch (row.kind) {
    case MetricKind::kPositiveRatio: what = "non-finite or value + log_offset <= 0"; break;
    case MetricKind::kTextChange: what = "fewer than 2 baseline repeats"; break;
    default: what = "non-finite values"; break;
  }
  return "; " + std::to_string(row.n_invalid) + " cases excluded (" + what + ")";
}

void Judge(MetricResult& row, const Policy& policy) {
  const bool primary_row = row.family == Family::kPrimary;
  if (row.n == 0) {
    row.verdict = Verdict::kInsufficientData;
    row.reason = "no paired cases (" + std::to_string(row.n_missing) + " missing on one side)" + InvalidNote(row);
  } else if (row.n < policy.min_cases) {
    row.verdict = Verdict::kInsufficientData;
    row.reason = "too few cases: n=" + std::to_string(row.n) + " < min_cases=" + std::to_string(policy.min_cases) +
                 InvalidNote(row);
  } else {
    const double level = primary_row ? policy.alpha : policy.fdr_q;
    const double judged = primary_row ? *row.p_value : *row.q_value;
    const double oriented = row.higher_is_better ? row.delta : -row.delta;
    const std::string judged_name = primary_row ? "p" : "q";
    if (judged < level && row.delta != 0) {
      if (row.kind == MetricKind::kTextChange) {
        row.verdict = Verdict::kChanged;
      } else {
        row.verdict = oriented > 0 ? Verdict::kImproved : Verdict::kRegressed;
      }
      row.reason = judged_name + "=" + Format(judged) + " < " + Format(level);
    } else {
      const bool ci_inside_floor = row.delta_ci && row.delta_ci->low > -row.min_effect &&
                                   row.delta_ci->high < row.min_effect;
      if (row.min_attainable_p >= level && !ci_inside_floor) {
        row.verdict = Verdict::kInsufficientData;
        const bool mcnemar = row.test.name.rfind("mcnemar", 0) == 0;
        row.reason = (mcnemar ? "too few discordant pairs: b+c=" + std::to_string(*row.b + *row.c)
                              : "too few non-zero differences: " +
                                    std::to_string(row.test.params.value("nonzero_units", 0))) +
                     "; smallest attainable p=" + Format(row.min_attainable_p) + " >= " + Format(level) +
                     " and the CI is wider than +/-" + Format(row.min_effect);
      } else {
        row.verdict = Verdict::kUnchanged;
        row.reason = judged_name + "=" + Format(judged) + " >= " + Format(level);
      }
    }
    row.reason += InvalidNote(row);
  }

  switch (row.verdict) {
    case Verdict::kRegressed: {
      const double strict = primary_row ? *row.p_value : *row.q_value;
      const bool strict_significant = strict < policy.alpha;
      const double oriented_delta = row.higher_is_better ? row.delta : -row.delta;
      if (row.kind == MetricKind::kPositiveRatio) {
        row.severity = strict_significant && oriented_delta <= -row.min_effect ? Severity::kWarning : Severity::kInfo;
      } else {
        const double worst_side_best = row.higher_is_better ? row.delta_ci->high : -row.delta_ci->low;
        const bool beyond_floor = worst_side_best < -row.min_effect;
        row.severity = strict_significant && beyond_floor ? Severity::kCritical : Severity::kWarning;
      }
      break;
    }
    case Verdict::kImproved:
    case Verdict::kChanged:
      row.severity = Severity::kInfo;
      break;
    case Verdict::kInsufficientData:
      row.severity = row.primary && row.slice == kAllSlice ? Severity::kInfo : Severity::kNone;
      break;
    case Verdict::kUnchanged:
      row.severity = Severity::kNone;
      break;
  }
}

std::string Summary(const MetricResult& row) {
  std::string line = row.metric + "/" + row.slice + " " + VerdictName(row.verdict) + " (" +
                     SeverityName(row.severity) + "): delta " + Format(row.delta);
  if (row.delta_ci) line += " [" + Format(row.delta_ci->low) + ", " + Format(row.delta_ci->high) + "]";
  line += "; " + row.reason;
  return line;
}

}  // namespace

const char* MetricKindName(MetricKind kind) {
  switch (kind) {
    case MetricKind::kBinary: return "binary";
    case MetricKind::kContinuous: return "continuous";
    case MetricKind::kPositiveRatio: return "positive_ratio";
    case MetricKind::kTextChange: return "text_change";
  }
  return "binary";
}

std::optional<MetricKind> ParseMetricKind(std::string_view name) {
  for (MetricKind kind : {MetricKind::kBinary, MetricKind::kContinuous, MetricKind::kPositiveRatio,
                          MetricKind::kTextChange}) {
    if (name == MetricKindName(kind)) return kind;
  }
  return std::nullopt;
}

bool HigherIsBetter(const MetricSpec& spec) {
  if (spec.higher_is_better) return *spec.higher_is_better;
  return spec.kind == MetricKind::kBinary || spec.kind == MetricKind::kContinuous;
}

const char* VerdictName(Verdict verdict) {
  switch (verdict) {
    case Verdict::kImproved: return "improved";
    case Verdict::kRegressed: return "regressed";
    case Verdict::kUnchanged: return "unchanged";
    case Verdict::kChanged: return "changed";
    case Verdict::kInsufficientData: return "insufficient_data";
  }
  return "insufficient_data";
}

const char* SeverityName(Severity severity) {
  switch (severity) {
    case Severity::kNone: return "none";
    case Severity::kInfo: return "info";
    case Severity::kWarning: return "warning";
    case Severity::kCritical: return "critical";
  }
  return "none";
}

const char* FamilyName(Family family) {
  switch (family) {
    case Family::kPrimary: return "primary";
    case Family::kSecondary: return "secondary";
    case Family::kDescriptive: return "descriptive";
  }
  return "descriptive";
}

const char* NiStatusName(NiStatus status) {
  switch (status) {
    case NiStatus::kPass: return "pass";
    case NiStatus::kFail: return "fail";
    case NiStatus::kUnderpowered: return "underpowered";
    case NiStatus::kNotApplicable: return "not_applicable";
  }
  return "not_applicable";
}

Result<ComparisonResult> Compare(const ComparisonInput& input, const Policy& policy, std::uint64_t seed) {
  if (auto status = policy.Validate(); !status) return Fail(status.error());
  if (auto status = ValidateInput(input); !status) return Fail(status.error());

  Context ctx;
  ctx.input = &input;
  ctx.policy = &policy;
  ctx.seed = seed;
  for (std::size_t m = 0; m < input.metrics.size(); ++m) {
    if (input.metrics[m].is_primary) ctx.primary = static_cast<int>(m);
  }
  if (ctx.primary < 0 && !policy.primary_metric.empty()) {
    for (std::size_t m = 0; m < input.metrics.size(); ++m) {
      if (input.metrics[m].name == policy.primary_metric) ctx.primary = static_cast<int>(m);
    }
  }

  std::set<std::string> tags;
  std::unordered_map<std::string, int> clusters;
  ctx.cluster_of.resize(input.cases.size());
  for (std::size_t i = 0; i < input.cases.size(); ++i) {
    const CaseRecord& record = input.cases[i];
    tags.insert(record.tags.begin(), record.tags.end());
    if (!record.cluster.empty()) ctx.clustered = true;
  }
  for (std::size_t i = 0; i < input.cases.size(); ++i) {
    const CaseRecord& record = input.cases[i];
    // A case without a group id is its own cluster; "\x1f" + id cannot
    // collide with a group id that was given.
    const std::string key = record.cluster.empty() ? "\x1f" + record.id : record.cluster;
    auto [it, inserted] = clusters.try_emplace(key, static_cast<int>(clusters.size()));
    ctx.cluster_of[i] = it->second;
  }
  ctx.cluster_count = static_cast<int>(clusters.size());

  ctx.slice_names.push_back(kAllSlice);
  ctx.slice_cases.emplace_back(input.cases.size());
  for (std::size_t i = 0; i < input.cases.size(); ++i) ctx.slice_cases[0][i] = static_cast<int>(i);
  std::unordered_map<std::string, int> slice_index;
  for (const std::string& tag : tags) {
    slice_index[tag] = static_cast<int>(ctx.slice_names.size());
    ctx.slice_names.push_back(tag);
    ctx.slice_cases.emplace_back();
  }
  for (std::size_t i = 0; i < input.cases.size(); ++i) {
    std::set<std::string> unique(input.cases[i].tags.begin(), input.cases[i].tags.end());
    for (const std::string& tag : unique) {
      ctx.slice_cases[static_cast<std::size_t>(slice_index[tag])].push_back(static_cast<int>(i));
    }
  }

  for (const std::string& slice : ctx.slice_names) {
    ctx.bootstrap_seeds.push_back(DeriveSeed(seed, "bootstrap/" + slice));
  }

  const int metric_count = static_cast<int>(input.metrics.size());
  ctx.prepared.resize(input.metrics.size());
  ParallelFor(metric_count, policy.threads, [&](int m) {
    const auto index = static_cast<std::size_t>(m);
    ctx.prepared[index] = input.metrics[index].kind == MetricKind::kTextChange
                              ? PrepareText(input, index, policy)
                              : PrepareNumeric(input, index);
  });

  const int slice_count = static_cast<int>(ctx.slice_names.size());
  ComparisonResult result;
  result.seed = seed;
  result.policy = policy;
  result.cases = static_cast<int>(input.cases.size());
  if (ctx.primary >= 0) result.primary_metric = input.metrics[static_cast<std::size_t>(ctx.primary)].name;
  std::vector<RowWork> works(static_cast<std::size_t>(metric_count * slice_count));
  // Largest slices first, for an even load across threads.
  std::vector<int> order(works.size());
  for (std::size_t t = 0; t < order.size(); ++t) order[t] = static_cast<int>(t);
  std::stable_sort(order.begin(), order.end(), [&](int x, int y) {
    return ctx.slice_cases[static_cast<std::size_t>(x % slice_count)].size() >
           ctx.slice_cases[static_cast<std::size_t>(y % slice_count)].size();
  });
  ParallelFor(static_cast<int>(order.size()), policy.threads, [&](int t) {
    const int task = order[static_cast<std::size_t>(t)];
    works[static_cast<std::size_t>(task)] = ComputeRow(ctx, task / slice_count, task % slice_count);
  });
  RunSharedBootstraps(ctx, works);
  result.results.reserve(works.size());
  for (RowWork& work : works) result.results.push_back(std::move(work.row));

  std::vector<double> family_p;
  std::vector<MetricResult*> family_rows;
  for (MetricResult& row : result.results) {
    if (row.n < policy.min_cases || !row.p_value) {
      row.family = Family::kDescriptive;
    } else if (row.primary && row.slice == kAllSlice) {
      row.family = Family::kPrimary;
      row.q_value = row.p_value;
    } else {
      row.family = Family::kSecondary;
      family_p.push_back(*row.p_value);
      family_rows.push_back(&row);
    }
  }
  const std::vector<double> q = BenjaminiHochberg(family_p);
  for (std::size_t i = 0; i < q.size(); ++i) family_rows[i]->q_value = q[i];

  const MetricResult* primary_row = nullptr;
  bool any_regression = false, any_improvement = false;
  for (MetricResult& row : result.results) {
    Judge(row, policy);
    result.severity = std::max(result.severity, row.severity);
    if (row.verdict == Verdict::kRegressed && row.severity >= Severity::kWarning) any_regression = true;
    if (row.verdict == Verdict::kImproved) any_improvement = true;
    if (row.primary && row.slice == kAllSlice) primary_row = &row;
  }
  if (primary_row) result.reasons.push_back(Summary(*primary_row));
  for (const MetricResult& row : result.results) {
    if (&row != primary_row && row.severity >= Severity::kWarning) result.reasons.push_back(Summary(row));
  }
  if (ctx.primary < 0 && !policy.primary_metric.empty()) {
    result.reasons.push_back("primary metric '" + policy.primary_metric + "' is not among the compared metrics");
  }

  if (any_regression) {
    result.verdict = Verdict::kRegressed;
  } else if (primary_row && primary_row->verdict == Verdict::kInsufficientData) {
    result.verdict = Verdict::kInsufficientData;
  } else if (primary_row ? primary_row->verdict == Verdict::kImproved : any_improvement) {
    result.verdict = Verdict::kImproved;
  } else {
    result.verdict = Verdict::kUnchanged;
  }
  return result;
}

}  // namespace dw::stats
