#include "metrics/drift_metrics.h"

#include <algorithm>
#include <array>
#include <cassert>
#include <cmath>
#include <iterator>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <span>
#include <stdexcept>
#include <utility>

#include "metrics/catalogue.h"
#include "metrics/exposition.h"

namespace dw::metrics {
namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;

constexpr std::size_t kOutcomeCount = std::size(kAllOutcomes);
constexpr std::size_t kFailureClassCount = kOutcomeCount - 1;  // every outcome but pass

std::size_t Index(Outcome outcome) { return static_cast<std::size_t>(outcome); }

struct PairKey {
  std::string golden_set;
  std::string target;
  auto operator<=>(const PairKey&) const = default;
};

struct MetricKey {
  std::string metric;
  std::string slice;
  auto operator<=>(const MetricKey&) const = default;
};

struct MetricEntry {
  MetricObservation observation;
  std::int64_t updated_at = 0;
};

struct PairState {
  std::string golden_set_version;
  std::string target_version;
  std::int64_t updated_at = 0;

  bool has_run = false;
  bool last_success = false;
  std::int64_t last_finished_at = 0;
  std::optional<std::int64_t> last_success_at;
  double last_duration = 0;
  std::int64_t last_cases = 0;
  std::array<std::int64_t, kOutcomeCount> last_outcomes{};
  std::int64_t last_input_tokens = 0;
  std::int64_t last_output_tokens = 0;
  double last_cost = 0;
  std::optional<double> interval;

  double runs_success = 0;
  double runs_failure = 0;
  double cases_total = 0;
  std::array<double, kOutcomeCount> outcomes_total{};
  double input_tokens_total = 0;
  double output_tokens_total = 0;
  double cost_total = 0;
  std::vector<std::uint64_t> latency_counts;  // per bucket, not cumulative; last is +Inf
  std::uint64_t latency_count = 0;
  double latency_sum = 0;

  std::map<MetricKey, MetricEntry> metrics;
  std::size_t series = 0;  // exported series, kept current by Recount
};

Status CheckLabelValue(std::string_view field, std::string_view value, bool may_be_empty) {
  if (value.empty()) {
    if (may_be_empty) return Ok();
    return Fail(ErrorKind::kInvalidInput, std::string(field) + " is empty");
  }
  if (value.size() > kMaxLabelValueBytes)
    return Fail(ErrorKind::kInvalidInput, std::string(field) + " is longer than " +
                                              std::to_string(kMaxLabelValueBytes) +
                                              " bytes; metric labels take names, not free text");
  for (char c : value) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f)
      return Fail(ErrorKind::kInvalidInput, std::string(field) + " contains a control character");
  }
  return Ok();
}

Status CheckNumber(std::string_view field, double value, double min) {
  if (!std::isfinite(value) || value < min)
    return Fail(ErrorKind::kInvalidInput, std::string(field) +
                                              " must be a finite number >= " + std::to_string(min) +
                                              ", got " + std::to_string(value));
  return Ok();
}

Status CheckOptional(std::string_view field, const std::optional<double>& value,
                     double min = -std::numeric_limits<double>::max(),
                     double max = std::numeric_limits<double>::max()) {
  if (!value) return Ok();
  if (!std::isfinite(*value) || *value < min || *value > max)
    return Fail(ErrorKind::kInvalidInput,
                std::string(field) + " is out of range: " + std::to_string(*value));
  return Ok();
}

Status CheckPairLabels(const std::string& golden_set, const std::string& golden_set_version,
                       const std::string& target, const std::string& target_version) {
  if (auto s = CheckLabelValue("golden_set", golden_set, false); !s) return s;
  if (auto s = CheckLabelValue("golden_set_version", golden_set_version, true); !s) return s;
  if (auto s = CheckLabelValue("target", target, false); !s) return s;
  return CheckLabelValue("target_version", target_version, true);
}

Status Validate(const RunObservation& run) {
  if (auto s =
          CheckPairLabels(run.golden_set, run.golden_set_version, run.target, run.target_version);
      !s)
    return s;
  if (run.finished_at <= 0)
    return Fail(ErrorKind::kInvalidInput, "finished_at must be a Unix time in seconds");
  if (auto s = CheckNumber("duration_seconds", run.duration_seconds, 0); !s) return s;
  for (const auto& [outcome, count] : run.outcome_counts)
    if (count < 0)
      return Fail(ErrorKind::kInvalidInput,
                  "count of outcome " + std::string(OutcomeName(outcome)) + " is negative");
  if (run.input_tokens < 0 || run.output_tokens < 0)
    return Fail(ErrorKind::kInvalidInput, "token counts must not be negative");
  if (auto s = CheckNumber("cost_usd", run.cost_usd, 0); !s) return s;
  for (double latency : run.latencies_seconds)
    if (auto s = CheckNumber("latency", latency, 0); !s) return s;
  if (run.expected_interval_seconds) {
    if (auto s = CheckNumber("expected_interval_seconds", *run.expected_interval_seconds, 0); !s)
      return s;
    if (*run.expected_interval_seconds == 0)
      return Fail(ErrorKind::kInvalidInput, "expected_interval_seconds must be positive");
  }
  return Ok();
}

Status Validate(const MetricObservation& m) {
  if (auto s = CheckPairLabels(m.golden_set, m.golden_set_version, m.target, m.target_version); !s)
    return s;
  if (auto s = CheckLabelValue("metric", m.metric, false); !s) return s;
  if (auto s = CheckLabelValue("slice", m.slice, false); !s) return s;
  if (!std::isfinite(m.value))
    return Fail(ErrorKind::kInvalidInput, "value of metric " + m.metric + " is not finite");
  for (const auto& [field, value] : {std::pair{"ci_low", &m.ci_low},
                                     {"ci_high", &m.ci_high},
                                     {"baseline", &m.baseline},
                                     {"delta", &m.delta},
                                     {"delta_ci_low", &m.delta_ci_low},
                                     {"delta_ci_high", &m.delta_ci_high},
                                     {"cusum_upper", &m.cusum_upper},
                                     {"cusum_lower", &m.cusum_lower},
                                     {"ewma", &m.ewma}})
    if (auto s = CheckOptional(field, *value); !s) return s;
  if (auto s = CheckOptional("p_value", m.p_value, 0, 1); !s) return s;
  if (auto s = CheckOptional("q_value", m.q_value, 0, 1); !s) return s;
  if (m.runs_in_alarm < 0)
    return Fail(ErrorKind::kInvalidInput, "runs_in_alarm must not be negative");
  return Ok();
}

std::size_t MetricSeries(const MetricObservation& m) {
  std::size_t n = 2;  // score, runs_in_alarm
  for (const auto* v :
       {&m.ci_low, &m.ci_high, &m.baseline, &m.delta, &m.delta_ci_low, &m.delta_ci_high, &m.p_value,
        &m.q_value, &m.cusum_upper, &m.cusum_lower, &m.ewma})
    n += v->has_value() ? 1 : 0;
  return n + std::size(kAllVerdicts) + std::size(kAllSeverities);
}

// Up to six labels as views into strings that outlive the sample.
class LabelSet {
 public:
  LabelSet() = default;
  LabelSet With(std::string_view name, std::string_view value) const {
    assert(size_ < items_.size());
    LabelSet copy = *this;
    copy.items_[copy.size_++] = {name, value};
    return copy;
  }
  std::span<const LabelRef> view() const { return {items_.data(), size_}; }

 private:
  std::array<LabelRef, 6> items_{};
  std::size_t size_ = 0;
};

// Receives the series during collection, family by family index.
class Sink {
 public:
  virtual ~Sink() = default;
  // A counter or gauge sample, per the family's type.
  virtual void Sample(FamilyId id, const LabelSet& labels, double value) = 0;
  // A histogram: per-bucket (non-cumulative) counts, the last one for +Inf.
  virtual void Histogram(FamilyId id, const LabelSet& labels, std::span<const double> bounds,
                         std::span<const std::string> bound_texts,
                         std::span<const std::uint64_t> counts, std::uint64_t count,
                         double sum) = 0;
};

// Builds prometheus-cpp MetricFamily values (Collect(), collectable()).
class FamilySink : public Sink {
 public:
  FamilySink() : families_(Catalogue().size()) {
    for (const MetricSpec& spec : Catalogue()) {
      MetricFamily& f = families_[static_cast<int>(spec.id)];
      f.name = spec.name;
      f.help = spec.help;
      f.type = spec.type;
    }
  }

  void Sample(FamilyId id, const LabelSet& labels, double value) override {
    ClientMetric m = Metric(labels);
    if (Spec(id).type == prometheus::MetricType::Counter)
      m.counter.value = value;
    else
      m.gauge.value = value;
    families_[static_cast<int>(id)].metric.push_back(std::move(m));
  }

  void Histogram(FamilyId id, const LabelSet& labels, std::span<const double> bounds,
                 std::span<const std::string>, std::span<const std::uint64_t> counts,
                 std::uint64_t count, double sum) override {
    ClientMetric m = Metric(labels);
    m.histogram.sample_count = count;
    m.histogram.sample_sum = sum;
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < counts.size(); ++i) {
      cumulative += counts[i];
      m.histogram.bucket.push_back(
          {cumulative, i < bounds.size() ? bounds[i] : std::numeric_limits<double>::infinity()});
    }
    families_[static_cast<int>(id)].metric.push_back(std::move(m));
  }

  // The non-empty families in catalogue order.
  std::vector<MetricFamily> Take() {
    std::erase_if(families_, [](const MetricFamily& f) { return f.metric.empty(); });
    return std::move(families_);
  }

 private:
  static ClientMetric Metric(const LabelSet& labels) {
    ClientMetric m;
    for (const LabelRef& l : labels.view())
      m.label.push_back({std::string(l.name), std::string(l.value)});
    return m;
  }

  std::vector<MetricFamily> families_;
};

// Writes the text format directly, one buffer per family, without building
// MetricFamily values (the scrape path at scale).
class TextSink : public Sink {
 public:
  void Sample(FamilyId id, const LabelSet& labels, double value) override {
    AppendSample(bodies_[static_cast<int>(id)], Spec(id).name, "", labels.view(), value);
  }

  void Histogram(FamilyId id, const LabelSet& labels, std::span<const double>,
                 std::span<const std::string> bound_texts, std::span<const std::uint64_t> counts,
                 std::uint64_t count, double sum) override {
    std::string& out = bodies_[static_cast<int>(id)];
    std::string_view name = Spec(id).name;
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < counts.size(); ++i) {
      cumulative += counts[i];
      AppendSample(out, name, "_bucket", labels.With("le", bound_texts[i]).view(),
                   static_cast<double>(cumulative));
    }
    AppendSample(out, name, "_sum", labels.view(), sum);
    AppendSample(out, name, "_count", labels.view(), static_cast<double>(count));
  }

  // The exposition of the non-empty families in catalogue order.
  std::string Take() {
    std::size_t size = 0;
    for (const auto& body : bodies_) size += body.size() + 256;
    std::string out;
    out.reserve(size);
    for (const MetricSpec& spec : Catalogue()) {
      const std::string& body = bodies_[static_cast<int>(spec.id)];
      if (body.empty()) continue;
      AppendFamilyHeader(out, spec.name, spec.help, spec.type);
      out += body;
    }
    return out;
  }

 private:
  std::array<std::string, static_cast<int>(FamilyId::kCount)> bodies_;
};

std::string_view CauseOf(Outcome outcome) {
  return IsInfrastructureFailure(outcome) ? "infrastructure" : "model";
}

}  // namespace

class DriftMetrics::State {
 public:
  explicit State(DriftMetricsOptions options) : options_(std::move(options)) {
    const auto& buckets = options_.latency_buckets;
    for (std::size_t i = 0; i < buckets.size(); ++i)
      if (!std::isfinite(buckets[i]) || (i > 0 && buckets[i] <= buckets[i - 1]))
        throw std::invalid_argument("latency buckets must be finite and strictly ascending");
    for (double bound : buckets) bound_texts_.push_back(FormatValue(bound));
    bound_texts_.push_back("+Inf");
    if (!options_.clock)
      options_.clock = [] {
        return std::chrono::duration_cast<std::chrono::seconds>(
                   std::chrono::system_clock::now().time_since_epoch())
            .count();
      };
  }

  Status Record(const RunObservation& run) {
    if (auto s = Validate(run); !s) return s;
    std::lock_guard lock(mu_);
    std::int64_t now = options_.clock();
    Expire(now);
    PairKey key{run.golden_set, run.target};
    PairState& p = pairs_[key];
    ApplyVersions(p, run.golden_set_version, run.target_version);
    p.updated_at = now;
    p.has_run = true;
    p.last_success = run.success;
    p.last_finished_at = run.finished_at;
    if (run.success) p.last_success_at = run.finished_at;
    p.last_duration = run.duration_seconds;
    p.last_outcomes.fill(0);
    p.last_cases = 0;
    for (const auto& [outcome, count] : run.outcome_counts) {
      p.last_outcomes[Index(outcome)] += count;
      p.last_cases += count;
      p.outcomes_total[Index(outcome)] += static_cast<double>(count);
    }
    p.last_input_tokens = run.input_tokens;
    p.last_output_tokens = run.output_tokens;
    p.last_cost = run.cost_usd;
    if (run.expected_interval_seconds) p.interval = run.expected_interval_seconds;
    (run.success ? p.runs_success : p.runs_failure) += 1;
    p.cases_total += static_cast<double>(p.last_cases);
    p.input_tokens_total += static_cast<double>(run.input_tokens);
    p.output_tokens_total += static_cast<double>(run.output_tokens);
    p.cost_total += run.cost_usd;
    if (p.latency_counts.empty()) p.latency_counts.assign(options_.latency_buckets.size() + 1, 0);
    for (double latency : run.latencies_seconds) {
      auto it = std::lower_bound(options_.latency_buckets.begin(), options_.latency_buckets.end(),
                                 latency);
      ++p.latency_counts[static_cast<std::size_t>(it - options_.latency_buckets.begin())];
      ++p.latency_count;
      p.latency_sum += latency;
    }
    Recount(p);
    EnforceSeriesLimit(key);
    return Ok();
  }

  Status Record(const MetricObservation& m) {
    if (auto s = Validate(m); !s) return s;
    std::lock_guard lock(mu_);
    std::int64_t now = options_.clock();
    Expire(now);
    PairKey key{m.golden_set, m.target};
    auto [it, inserted] = pairs_.try_emplace(key);
    PairState& p = it->second;
    ApplyVersions(p, m.golden_set_version, m.target_version);
    MetricKey metric_key{m.metric, m.slice};
    if (!p.metrics.contains(metric_key) && p.metrics.size() >= options_.max_metrics_per_pair) {
      if (inserted) pairs_.erase(it);
      return Fail(ErrorKind::kInvalidInput,
                  "golden set " + m.golden_set + " / target " + m.target + " already has " +
                      std::to_string(options_.max_metrics_per_pair) +
                      " metric/slice combinations; refusing " + m.metric + "/" + m.slice);
    }
    p.metrics[metric_key] = MetricEntry{m, now};
    p.updated_at = now;
    Recount(p);
    EnforceSeriesLimit(key);
    return Ok();
  }

  // Feeds the series to `sink`. With `only`, just that pair and build_info.
  void CollectInto(Sink& sink, const PairKey* only) {
    std::lock_guard lock(mu_);
    Expire(options_.clock());
    sink.Sample(
        FamilyId::kBuildInfo,
        LabelSet().With("version", options_.build.version).With("git_sha", options_.build.git_sha),
        1);
    if (only) {
      auto it = pairs_.find(*only);
      if (it != pairs_.end()) AppendPair(sink, it->first, it->second);
      return;
    }
    sink.Sample(FamilyId::kExportedSeries, LabelSet(), static_cast<double>(total_series_));
    sink.Sample(FamilyId::kEvictedPairs, LabelSet().With("reason", "retention"),
                evicted_retention_);
    sink.Sample(FamilyId::kEvictedPairs, LabelSet().With("reason", "series_limit"), evicted_limit_);
    for (const auto& [key, pair] : pairs_) AppendPair(sink, key, pair);
  }

  // Keys of every pair and whether its last run failed.
  std::vector<std::pair<PairKey, bool>> PairsForPush() {
    std::lock_guard lock(mu_);
    Expire(options_.clock());
    std::vector<std::pair<PairKey, bool>> out;
    out.reserve(pairs_.size());
    for (const auto& [key, pair] : pairs_)
      out.emplace_back(key, pair.has_run && !pair.last_success);
    return out;
  }

  std::size_t SeriesCount() {
    std::lock_guard lock(mu_);
    Expire(options_.clock());
    return total_series_;
  }

 private:
  // A new golden-set or target version makes the old version's comparisons
  // meaningless for this pair: drop them. Empty versions mean "unknown".
  static void ApplyVersions(PairState& p, const std::string& golden_set_version,
                            const std::string& target_version) {
    bool changed = (!golden_set_version.empty() && !p.golden_set_version.empty() &&
                    golden_set_version != p.golden_set_version) ||
                   (!target_version.empty() && !p.target_version.empty() &&
                    target_version != p.target_version);
    if (changed) p.metrics.clear();
    if (!golden_set_version.empty()) p.golden_set_version = golden_set_version;
    if (!target_version.empty()) p.target_version = target_version;
  }

  void Recount(PairState& p) {
    std::size_t n = (p.golden_set_version.empty() && p.target_version.empty()) ? 0 : 1;
    if (p.has_run) {
      n += 5;                       // timestamp, success, duration, cases and cost gauges
      n += 2 + 2;                   // token gauges and counters
      n += 2 + 2;                   // runs counters by result; cases and cost counters
      n += 2 * kFailureClassCount;  // failures gauge and counter
      n += p.last_success_at ? 1 : 0;
      n += p.interval ? 1 : 0;
      n += p.latency_counts.size() + 2;  // buckets incl. +Inf, _sum, _count
    }
    for (const auto& [key, entry] : p.metrics) n += MetricSeries(entry.observation);
    total_series_ = total_series_ - p.series + n;
    p.series = n;
  }

  void Evict(std::map<PairKey, PairState>::iterator it, double& counter) {
    total_series_ -= it->second.series;
    pairs_.erase(it);
    counter += 1;
  }

  // Nothing can expire twice within one clock second, so this runs once per
  // second however many records arrive.
  void Expire(std::int64_t now) {
    if (options_.retention.count() <= 0 || now == last_expiry_) return;
    last_expiry_ = now;
    std::int64_t cutoff = now - options_.retention.count();
    for (auto it = pairs_.begin(); it != pairs_.end();) {
      if (it->second.updated_at < cutoff) {
        Evict(it++, evicted_retention_);
        continue;
      }
      PairState& p = it->second;
      std::size_t before = p.metrics.size();
      std::erase_if(p.metrics, [&](const auto& kv) { return kv.second.updated_at < cutoff; });
      if (p.metrics.size() != before) Recount(p);
      ++it;
    }
  }

  // Evicts least recently updated pairs other than `keep` while over the cap.
  void EnforceSeriesLimit(const PairKey& keep) {
    while (total_series_ > options_.max_series) {
      auto victim = pairs_.end();
      for (auto it = pairs_.begin(); it != pairs_.end(); ++it) {
        if (it->first == keep) continue;
        if (victim == pairs_.end() || it->second.updated_at < victim->second.updated_at)
          victim = it;
      }
      if (victim == pairs_.end()) return;
      Evict(victim, evicted_limit_);
    }
  }

  void AppendPair(Sink& sink, const PairKey& key, const PairState& p) {
    LabelSet base = LabelSet().With("golden_set", key.golden_set).With("target", key.target);
    if (!p.golden_set_version.empty() || !p.target_version.empty())
      sink.Sample(FamilyId::kTargetInfo,
                  base.With("golden_set_version", p.golden_set_version)
                      .With("target_version", p.target_version),
                  1);
    if (p.has_run) {
      sink.Sample(FamilyId::kLastRunTimestamp, base, static_cast<double>(p.last_finished_at));
      if (p.last_success_at)
        sink.Sample(FamilyId::kLastSuccessTimestamp, base, static_cast<double>(*p.last_success_at));
      sink.Sample(FamilyId::kLastRunSuccess, base, p.last_success ? 1 : 0);
      sink.Sample(FamilyId::kLastRunDuration, base, p.last_duration);
      sink.Sample(FamilyId::kLastRunCases, base, static_cast<double>(p.last_cases));
      for (Outcome outcome : kAllOutcomes) {
        if (outcome == Outcome::kPass) continue;
        LabelSet labels =
            base.With("failure_class", OutcomeName(outcome)).With("cause", CauseOf(outcome));
        sink.Sample(FamilyId::kLastRunFailures, labels,
                    static_cast<double>(p.last_outcomes[Index(outcome)]));
        sink.Sample(FamilyId::kCaseFailures, labels, p.outcomes_total[Index(outcome)]);
      }
      sink.Sample(FamilyId::kLastRunTokens, base.With("direction", "input"),
                  static_cast<double>(p.last_input_tokens));
      sink.Sample(FamilyId::kLastRunTokens, base.With("direction", "output"),
                  static_cast<double>(p.last_output_tokens));
      sink.Sample(FamilyId::kLastRunCost, base, p.last_cost);
      if (p.interval) sink.Sample(FamilyId::kRunInterval, base, *p.interval);
      sink.Sample(FamilyId::kRuns, base.With("result", "success"), p.runs_success);
      sink.Sample(FamilyId::kRuns, base.With("result", "failure"), p.runs_failure);
      sink.Sample(FamilyId::kCasesReplayed, base, p.cases_total);
      sink.Sample(FamilyId::kTokens, base.With("direction", "input"), p.input_tokens_total);
      sink.Sample(FamilyId::kTokens, base.With("direction", "output"), p.output_tokens_total);
      sink.Sample(FamilyId::kCost, base, p.cost_total);
      sink.Histogram(FamilyId::kCaseLatency, base, options_.latency_buckets, bound_texts_,
                     p.latency_counts, p.latency_count, p.latency_sum);
    }
    for (const auto& [metric_key, entry] : p.metrics) {
      const MetricObservation& m = entry.observation;
      LabelSet labels = base.With("metric", metric_key.metric).With("slice", metric_key.slice);
      auto optional = [&](FamilyId id, const std::optional<double>& v) {
        if (v) sink.Sample(id, labels, *v);
      };
      sink.Sample(FamilyId::kScore, labels, m.value);
      optional(FamilyId::kScoreCiLower, m.ci_low);
      optional(FamilyId::kScoreCiUpper, m.ci_high);
      optional(FamilyId::kBaselineScore, m.baseline);
      optional(FamilyId::kScoreDelta, m.delta);
      optional(FamilyId::kScoreDeltaCiLower, m.delta_ci_low);
      optional(FamilyId::kScoreDeltaCiUpper, m.delta_ci_high);
      optional(FamilyId::kPValue, m.p_value);
      optional(FamilyId::kQValue, m.q_value);
      for (Verdict v : kAllVerdicts)
        sink.Sample(FamilyId::kVerdict, labels.With("verdict", VerdictName(v)),
                    v == m.verdict ? 1 : 0);
      for (Severity s : kAllSeverities)
        sink.Sample(FamilyId::kSeverity, labels.With("severity", SeverityName(s)),
                    s == m.severity ? 1 : 0);
      if (m.cusum_upper)
        sink.Sample(FamilyId::kCusum, labels.With("side", "upper"), *m.cusum_upper);
      if (m.cusum_lower)
        sink.Sample(FamilyId::kCusum, labels.With("side", "lower"), *m.cusum_lower);
      optional(FamilyId::kEwma, m.ewma);
      sink.Sample(FamilyId::kRunsInAlarm, labels, static_cast<double>(m.runs_in_alarm));
    }
  }

  DriftMetricsOptions options_;
  std::vector<std::string> bound_texts_;  // latency bucket bounds as "le" values, then "+Inf"
  std::mutex mu_;
  std::map<PairKey, PairState> pairs_;
  std::size_t total_series_ = 0;
  std::int64_t last_expiry_ = std::numeric_limits<std::int64_t>::min();
  double evicted_retention_ = 0;
  double evicted_limit_ = 0;
};

class DriftMetrics::Collector : public prometheus::Collectable {
 public:
  Collector(std::shared_ptr<State> state, std::shared_ptr<prometheus::Registry> registry)
      : state_(std::move(state)), registry_(std::move(registry)) {}

  std::vector<MetricFamily> Collect() const override {
    FamilySink sink;
    state_->CollectInto(sink, nullptr);
    std::vector<MetricFamily> families = sink.Take();
    for (auto& f : registry_->Collect())
      if (!f.metric.empty()) families.push_back(std::move(f));
    return families;
  }

  std::string Text(const PairKey* only) const {
    TextSink sink;
    state_->CollectInto(sink, only);
    std::string text = sink.Take();
    if (!only) text += SerializeText(registry_->Collect());
    return text;
  }

 private:
  std::shared_ptr<State> state_;
  std::shared_ptr<prometheus::Registry> registry_;
};

DriftMetrics::DriftMetrics(DriftMetricsOptions options)
    : state_(std::make_shared<State>(std::move(options))),
      registry_(std::make_shared<prometheus::Registry>()),
      collector_(std::make_shared<Collector>(state_, registry_)) {}

DriftMetrics::~DriftMetrics() = default;

Status DriftMetrics::Record(const RunObservation& run) { return state_->Record(run); }

Status DriftMetrics::Record(const MetricObservation& metric) { return state_->Record(metric); }

std::vector<MetricFamily> DriftMetrics::Collect() const { return collector_->Collect(); }

std::string DriftMetrics::TextExposition() const { return collector_->Text(nullptr); }

std::string DriftMetrics::TextExposition(std::string_view golden_set,
                                         std::string_view target) const {
  PairKey key{std::string(golden_set), std::string(target)};
  return collector_->Text(&key);
}

Status DriftMetrics::WriteTextfile(const std::filesystem::path& path) const {
  return WriteFileAtomically(path, TextExposition());
}

Status DriftMetrics::Push(const PushTarget& target) const {
  std::optional<Error> first;
  std::string failures;
  for (const auto& [key, last_run_failed] : state_->PairsForPush()) {
    PushTarget group = target;
    group.grouping.emplace_back("golden_set", key.golden_set);
    group.grouping.emplace_back("target", key.target);
    Status s =
        PushText(group, TextExposition(key.golden_set, key.target),
                 last_run_failed ? PushMethod::kReplaceSameNames : PushMethod::kReplaceGroup);
    if (s) continue;
    if (!first) first = s.error();
    if (!failures.empty()) failures += "; ";
    failures += s.error().message;
  }
  if (first) return Fail(first->kind, failures);
  return Ok();
}

std::function<std::string()> DriftMetrics::text_renderer() const {
  return [collector = collector_] { return collector->Text(nullptr); };
}

std::shared_ptr<prometheus::Collectable> DriftMetrics::collectable() const { return collector_; }

std::shared_ptr<prometheus::Registry> DriftMetrics::registry() const { return registry_; }

std::size_t DriftMetrics::series_count() const { return state_->SeriesCount(); }

}  // namespace dw::metrics
