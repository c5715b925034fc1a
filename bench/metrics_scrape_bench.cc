// /metrics scrape cost at scale: 50 golden sets x 5 targets x 20 metrics,
// every statistic populated. Reports the series count, the exposition size
// and the median / p90 / max time of Collect() (prometheus-cpp families), of
// TextExposition() and of a full HTTP scrape through MetricsExposer on
// 127.0.0.1.
//
// Usage: metrics_scrape_bench [iterations]   (default 30)
#include <curl/curl.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <functional>
#include <string>
#include <vector>

#include "metrics/drift_metrics.h"
#include "metrics/exposer.h"

namespace {

using dw::metrics::DriftMetrics;
using dw::metrics::MetricObservation;
using dw::metrics::RunObservation;

constexpr int kGoldenSets = 50;
constexpr int kTargets = 5;
constexpr int kMetrics = 20;

void Populate(DriftMetrics& metrics) {
  for (int g = 0; g < kGoldenSets; ++g) {
    for (int t = 0; t < kTargets; ++t) {
      RunObservation run;
      run.golden_set = "golden-set-" + std::to_string(g);
      run.golden_set_version = "3";
      run.target = "target-" + std::to_string(t);
      run.target_version = std::string(64, 'a' + t);
      run.success = true;
      run.finished_at = 1'800'000'000;
      run.duration_seconds = 120;
      run.outcome_counts = {
          {dw::Outcome::kPass, 180}, {dw::Outcome::kFail, 15}, {dw::Outcome::kTimeout, 5}};
      run.input_tokens = 200'000;
      run.output_tokens = 40'000;
      run.cost_usd = 1.25;
      for (int i = 0; i < 200; ++i) run.latencies_seconds.push_back(0.1 * (i % 50));
      run.expected_interval_seconds = 86400;
      if (!metrics.Record(run)) std::abort();
      for (int m = 0; m < kMetrics; ++m) {
        MetricObservation o;
        o.golden_set = run.golden_set;
        o.golden_set_version = run.golden_set_version;
        o.target = run.target;
        o.target_version = run.target_version;
        o.metric = "scorer_" + std::to_string(m);
        o.value = 0.8;
        o.ci_low = 0.75;
        o.ci_high = 0.85;
        o.baseline = 0.82;
        o.delta = -0.02;
        o.delta_ci_low = -0.05;
        o.delta_ci_high = 0.01;
        o.p_value = 0.2;
        o.q_value = 0.4;
        o.verdict = dw::metrics::Verdict::kUnchanged;
        o.cusum_upper = 0.1;
        o.cusum_lower = 1.3;
        o.ewma = -0.4;
        o.runs_in_alarm = 0;
        if (!metrics.Record(o)) std::abort();
      }
    }
  }
}

std::size_t Discard(char*, std::size_t size, std::size_t count, void* bytes) {
  *static_cast<std::size_t*>(bytes) += size * count;
  return size * count;
}

struct Stats {
  double median_ms, p90_ms, max_ms, median_cpu_ms;
};

double ThreadCpuMs() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

// Wall-clock statistics, plus the median CPU time of the calling thread (which
// stays meaningful when other processes compete for the cores).
Stats Measure(int iterations, const std::function<void()>& fn) {
  std::vector<double> wall, cpu;
  for (int i = 0; i < iterations; ++i) {
    double cpu_start = ThreadCpuMs();
    auto start = std::chrono::steady_clock::now();
    fn();
    wall.push_back(
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
            .count());
    cpu.push_back(ThreadCpuMs() - cpu_start);
  }
  std::sort(wall.begin(), wall.end());
  std::sort(cpu.begin(), cpu.end());
  return {wall[wall.size() / 2], wall[std::min(wall.size() - 1, wall.size() * 9 / 10)], wall.back(),
          cpu[cpu.size() / 2]};
}

void Print(const char* what, const Stats& s, bool cpu) {
  std::printf("%-26s median %7.1f ms  p90 %7.1f ms  max %7.1f ms", what, s.median_ms, s.p90_ms,
              s.max_ms);
  if (cpu) std::printf("  (cpu %6.1f ms)", s.median_cpu_ms);
  std::printf("\n");
}

}  // namespace

int main(int argc, char** argv) {
  int iterations = argc > 1 ? std::max(1, std::atoi(argv[1])) : 30;
  DriftMetrics metrics;
  auto populate_start = std::chrono::steady_clock::now();
  Populate(metrics);
  double populate_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - populate_start)
          .count();
  std::string text = metrics.TextExposition();
  std::printf("%d golden sets x %d targets x %d metrics: %zu series, exposition %.1f MiB\n",
              kGoldenSets, kTargets, kMetrics, metrics.series_count(),
              static_cast<double>(text.size()) / (1024 * 1024));
  std::printf("%-26s %7.1f ms for %d observations\n", "recording", populate_ms,
              kGoldenSets * kTargets * (kMetrics + 1));

  Print("Collect()", Measure(iterations, [&] { metrics.Collect(); }), true);
  Print("TextExposition()", Measure(iterations, [&] { metrics.TextExposition(); }), true);

  auto exposer = dw::metrics::MetricsExposer::Start("127.0.0.1:0", metrics.text_renderer());
  if (!exposer) {
    std::fprintf(stderr, "%s\n", exposer.error().message.c_str());
    return 1;
  }
  std::string url = "http://127.0.0.1:" + std::to_string((*exposer)->port()) + "/metrics";
  curl_global_init(CURL_GLOBAL_DEFAULT);
  std::size_t bytes = 0;
  Stats scrape = Measure(iterations, [&] {
    bytes = 0;
    CURL* curl = curl_easy_init();
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, Discard);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &bytes);
    if (curl_easy_perform(curl) != CURLE_OK) std::abort();
    curl_easy_cleanup(curl);
  });
  if (bytes != text.size()) {
    std::fprintf(stderr, "scrape returned %zu bytes, expected %zu\n", bytes, text.size());
    return 1;
  }
  Print("HTTP GET /metrics", scrape, false);
  return 0;
}
