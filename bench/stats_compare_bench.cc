// Times stats::Compare on a golden-set-sized synthetic comparison: 10,000
// cases × 3 repeats per side, 20 slice tags, five metrics (binary pass rate,
// judge score, latency, output tokens, output text), 10,000 sign-flip and
// 10,000 bootstrap draws. Usage: stats_compare_bench [cases] [threads].
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <string>
#include <vector>

#include "stats/compare.h"
#include "stats/compare_render.h"
#include "stats/rng.h"

namespace {

using dw::stats::CaseRecord;
using dw::stats::ComparisonInput;
using dw::stats::MetricKind;
using dw::stats::MetricObservations;
using dw::stats::MetricSpec;
using dw::stats::Wyrand;

double Gaussian(Wyrand& rng) {
  const double u1 = 1 - rng.NextDouble();
  const double u2 = rng.NextDouble();
  return std::sqrt(-2 * std::log(u1)) * std::cos(2 * M_PI * u2);
}

std::string Sentence(Wyrand& rng, int words) {
  static const char* const kWords[] = {"the",    "answer", "is",     "because", "model", "returns",
                                       "value",  "of",     "forty",  "two",     "given", "input",
                                       "should", "be",     "parsed", "as",      "json",  "object"};
  std::string out;
  for (int w = 0; w < words; ++w) {
    if (w > 0) out += ' ';
    out += kWords[rng.Below(sizeof kWords / sizeof kWords[0])];
  }
  return out;
}

std::string Perturb(const std::string& text, Wyrand& rng, int edits) {
  std::string out = text;
  for (int e = 0; e < edits; ++e) out[rng.Below(out.size())] = static_cast<char>('a' + rng.Below(26));
  return out;
}

ComparisonInput BuildInput(int cases, std::uint64_t seed) {
  ComparisonInput input;
  const auto metric = [&](const char* name, MetricKind kind) {
    MetricSpec spec;
    spec.name = name;
    spec.kind = kind;
    input.metrics.push_back(spec);
  };
  metric("pass_rate", MetricKind::kBinary);
  metric("judge_score", MetricKind::kContinuous);
  metric("latency_ms", MetricKind::kPositiveRatio);
  metric("output_tokens", MetricKind::kPositiveRatio);
  input.metrics.back().log_offset = 1;
  metric("output", MetricKind::kTextChange);

  constexpr int kRepeats = 3;
  constexpr int kTags = 20;
  Wyrand rng(seed);
  for (int i = 0; i < cases; ++i) {
    CaseRecord record;
    record.id = "case-" + std::to_string(i);
    record.tags.push_back("tag-" + std::to_string(rng.Below(kTags)));
    if (rng.NextDouble() < 0.3) record.tags.push_back("tag-" + std::to_string(rng.Below(kTags)));
    record.metrics.resize(input.metrics.size());

    const double pass = rng.NextDouble() < 0.15 ? 0.5 : (rng.NextDouble() < 0.8 ? 0.97 : 0.03);
    const double candidate_pass = std::max(0.0, pass - 0.01);
    const double judge = std::floor(rng.NextDouble() * 5) / 4;
    const double latency = std::exp(6.5 + 0.5 * Gaussian(rng));
    const double tokens = std::floor(50 + 300 * rng.NextDouble());
    const std::string answer = Sentence(rng, 14);
    for (int k = 0; k < kRepeats; ++k) {
      record.metrics[0].baseline.push_back(rng.NextDouble() < pass ? 1 : 0);
      record.metrics[0].candidate.push_back(rng.NextDouble() < candidate_pass ? 1 : 0);
      record.metrics[1].baseline.push_back(std::clamp(judge + 0.25 * std::round(0.6 * Gaussian(rng)), 0.0, 1.0));
      record.metrics[1].candidate.push_back(std::clamp(judge + 0.25 * std::round(0.6 * Gaussian(rng)), 0.0, 1.0));
      record.metrics[2].baseline.push_back(latency * std::exp(0.2 * Gaussian(rng)));
      record.metrics[2].candidate.push_back(1.05 * latency * std::exp(0.2 * Gaussian(rng)));
      record.metrics[3].baseline.push_back(std::floor(tokens * std::exp(0.1 * Gaussian(rng))));
      record.metrics[3].candidate.push_back(std::floor(tokens * std::exp(0.1 * Gaussian(rng))));
      record.metrics[4].baseline_text.push_back(Perturb(answer, rng, 2));
      record.metrics[4].candidate_text.push_back(Perturb(answer, rng, 2));
    }
    input.cases.push_back(std::move(record));
  }
  return input;
}

double ProcessCpuSeconds() {
  timespec now{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &now);
  return static_cast<double>(now.tv_sec) + 1e-9 * static_cast<double>(now.tv_nsec);
}

std::string LoadAverage() {
  std::ifstream file("/proc/loadavg");
  std::string one, five;
  file >> one >> five;
  return one + " " + five;
}

struct Timing {
  double wall = 0;
  double cpu = 0;
};

Timing TimeCompare(const ComparisonInput& input, const dw::stats::Policy& policy, std::uint64_t seed,
                   dw::stats::ComparisonResult* result) {
  const auto start = std::chrono::steady_clock::now();
  const double cpu_start = ProcessCpuSeconds();
  auto compared = dw::stats::Compare(input, policy, seed);
  const double cpu_stop = ProcessCpuSeconds();
  const auto stop = std::chrono::steady_clock::now();
  if (!compared) {
    std::fprintf(stderr, "Compare failed: %s\n", compared.error().message.c_str());
    std::exit(1);
  }
  *result = std::move(*compared);
  return {std::chrono::duration<double>(stop - start).count(), cpu_stop - cpu_start};
}

}  // namespace

int main(int argc, char** argv) {
  const int cases = argc > 1 ? std::atoi(argv[1]) : 10000;
  const int threads = argc > 2 ? std::atoi(argv[2]) : 2;
  const auto build_start = std::chrono::steady_clock::now();
  const ComparisonInput input = BuildInput(cases, 12345);
  const double build_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - build_start).count();

  dw::stats::Policy policy;
  policy.threads = threads;
  const std::uint64_t seed = dw::stats::SeedForComparison("bench-baseline", "bench-candidate");
  dw::stats::ComparisonResult result;
  constexpr int kRuns = 5;
  std::vector<double> wall, cpu;
  const std::string load_before = LoadAverage();
  for (int run = 0; run < kRuns; ++run) {
    const Timing timing = TimeCompare(input, policy, seed, &result);
    wall.push_back(timing.wall);
    cpu.push_back(timing.cpu);
  }
  std::sort(wall.begin(), wall.end());
  std::sort(cpu.begin(), cpu.end());

  std::printf("input: %d cases x 3 repeats, %zu metrics, %zu metric-slice rows, built in %.2f s\n", cases,
              input.metrics.size(), result.results.size(), build_seconds);
  std::printf("policy: %d sign-flip draws, %d bootstrap draws, %d threads\n", policy.permutations,
              policy.bootstrap, threads);
  std::printf("Compare wall: min %.3f s, median %.3f s, max %.3f s (%d runs)\n", wall[0], wall[kRuns / 2],
              wall[kRuns - 1], kRuns);
  std::printf("Compare CPU (all threads): min %.3f s, median %.3f s\n", cpu[0], cpu[kRuns / 2]);
  std::printf("load average (1, 5 min) before the runs: %s; wall time is only meaningful on an idle machine\n",
              load_before.c_str());
  std::printf("overall verdict: %s (%s)\n", dw::stats::VerdictName(result.verdict),
              dw::stats::SeverityName(result.severity));
  const std::string table = dw::stats::RenderComparisonTable(result);
  std::size_t end = 0;
  for (int line = 0; line < 8 && end != std::string::npos; ++line) end = table.find('\n', end + 1);
  std::printf("%s\n", table.substr(0, end).c_str());
  return 0;
}
