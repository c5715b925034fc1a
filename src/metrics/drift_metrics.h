// DriftMetrics: the Prometheus view of Driftwatch's latest results.
//
// Callers Record() run and metric observations; DriftMetrics keeps the latest
// state per (golden_set, target) pair and renders it on demand, for a /metrics
// scrape (text_renderer() with MetricsExposer, or TextExposition() in any
// HTTP handler), a Pushgateway push (Push) or a node_exporter textfile
// (WriteTextfile). The series are built from its own state at
// collection time instead of prometheus-cpp Family::Add/Remove, so dropping a
// series can never leave a dangling metric reference.
//
// Cardinality is bounded three ways:
//   * a pair describes one golden-set version and one target version: when a
//     new version is recorded, the metric series of the old one are dropped
//     (driftwatch_target_info names the versions in use);
//   * pairs and metric series not updated for `retention` are dropped;
//   * above `max_series` exported series, the least recently updated pairs
//     are evicted, and a pair accepts at most `max_metrics_per_pair`
//     (metric, slice) combinations.
//
// Two kinds of run-level series exist on purpose. `driftwatch_last_run_*`
// gauges describe the latest run and mean the same in serve (pull) and cron
// (push) mode; the alert rules use only them. `*_total` counters and the
// latency histogram accumulate over the life of the process and suit rate()
// on a long-running `serve`; in a one-shot push they hold one run's numbers.
#pragma once

#include <prometheus/collectable.h>
#include <prometheus/metric_family.h>
#include <prometheus/registry.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "core/status.h"
#include "metrics/observations.h"
#include "metrics/pushgateway.h"

namespace dw::metrics {

// Labels of driftwatch_build_info.
struct BuildInfo {
  std::string version;
  std::string git_sha;
};

// Label values longer than this are rejected: they are names, not text.
inline constexpr std::size_t kMaxLabelValueBytes = 128;

struct DriftMetricsOptions {
  BuildInfo build;
  // Pairs and metric series not updated for this long are dropped; zero
  // keeps them until they are superseded or evicted.
  std::chrono::seconds retention = std::chrono::hours(24 * 14);
  // Upper bound on the series exported for golden-set/target pairs.
  std::size_t max_series = 250000;
  // Upper bound on distinct (metric, slice) combinations per pair.
  std::size_t max_metrics_per_pair = 500;
  // Upper bounds (seconds) of driftwatch_case_latency_seconds; ascending.
  std::vector<double> latency_buckets = {0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120};
  // Current Unix time in seconds, for retention; the system clock if empty.
  std::function<std::int64_t()> clock;
};

class DriftMetrics {
 public:
  // Throws std::invalid_argument if `options.latency_buckets` is not strictly
  // ascending and finite (a programming error, not input).
  explicit DriftMetrics(DriftMetricsOptions options = {});
  ~DriftMetrics();
  DriftMetrics(const DriftMetrics&) = delete;
  DriftMetrics& operator=(const DriftMetrics&) = delete;

  // All members are safe to call concurrently from any thread.

  // Records a finished run: sets the pair's last-run gauges, adds to its
  // counters and latency histogram, and on success moves its last-success
  // timestamp. kInvalidInput (nothing recorded) when a label value is empty,
  // longer than kMaxLabelValueBytes or has control characters, when
  // finished_at <= 0, or when a number is negative or not finite.
  Status Record(const RunObservation& run);

  // Records the latest comparison of one metric/slice, replacing the previous
  // one. kInvalidInput (nothing recorded) for bad label values, a non-finite
  // number, a p/q value outside [0, 1], negative runs_in_alarm, or a new
  // (metric, slice) beyond max_metrics_per_pair.
  Status Record(const MetricObservation& metric);

  // Every family with at least one series: process-wide families, the pairs'
  // families (catalogue order), then those of registry().
  std::vector<prometheus::MetricFamily> Collect() const;

  // Collect() in the text format 0.0.4 (see kTextContentType).
  std::string TextExposition() const;

  // The series of one pair plus driftwatch_build_info: the body of that
  // pair's Pushgateway group. Only build_info if the pair is unknown.
  std::string TextExposition(std::string_view golden_set, std::string_view target) const;

  // Writes TextExposition() to `path` atomically (node_exporter textfile
  // collector; name the file "*.prom"). Errors as WriteFileAtomically.
  Status WriteTextfile(const std::filesystem::path& path) const;

  // Pushes each pair to its own group, keyed by job, target.grouping,
  // golden_set and target, so pairs pushed by different cron jobs never
  // overwrite each other. A pair whose last run succeeded (or that has no
  // run) replaces its group (PUT); a pair whose last run failed replaces only
  // the families it pushes (POST), so the gateway keeps the last success
  // timestamp and scores of the previous good run. `target.grouping` must not
  // name golden_set or target. Every pair is attempted; the error lists each
  // failed group and has the kind of the first failure. Ok when there is
  // nothing to push.
  Status Push(const PushTarget& target) const;

  // TextExposition() as a callable for MetricsExposer or an HTTP handler. It
  // stays valid after DriftMetrics is destroyed.
  std::function<std::string()> text_renderer() const;

  // The collectable behind Collect(), for prometheus-cpp consumers
  // (e.g. prometheus::Exposer). It stays valid after
  // DriftMetrics is destroyed.
  std::shared_ptr<prometheus::Collectable> collectable() const;

  // A registry for other process metrics (e.g. the HTTP server's); its
  // families are exported after Driftwatch's own by Collect(). Names must not
  // clash with Catalogue().
  std::shared_ptr<prometheus::Registry> registry() const;

  // Series currently exported for pairs (driftwatch_exported_series).
  std::size_t series_count() const;

 private:
  class State;
  class Collector;
  std::shared_ptr<State> state_;
  std::shared_ptr<prometheus::Registry> registry_;
  std::shared_ptr<Collector> collector_;
};

}  // namespace dw::metrics
