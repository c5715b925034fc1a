// Builders of comparison inputs shared by the stats tests.
#pragma once

#include <cmath>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "stats/compare.h"
#include "stats/rng.h"

namespace dw::stats::testing {

inline MetricSpec Metric(std::string name, MetricKind kind) {
  MetricSpec spec;
  spec.name = std::move(name);
  spec.kind = kind;
  return spec;
}

inline MetricObservations Values(std::vector<double> baseline, std::vector<double> candidate) {
  MetricObservations obs;
  obs.baseline = std::move(baseline);
  obs.candidate = std::move(candidate);
  return obs;
}

inline std::string CaseId(int i) { return "case-" + std::to_string(i); }

// A single binary metric "pass_rate", one repeat per side, laid out as a
// paired 2×2 table: pass→pass, pass→fail (b), fail→pass (c), fail→fail.
inline ComparisonInput BinaryTable(int pass_pass, int pass_fail, int fail_pass, int fail_fail) {
  ComparisonInput input;
  input.metrics.push_back(Metric("pass_rate", MetricKind::kBinary));
  int id = 0;
  const auto add = [&](int count, double base, double cand) {
    for (int i = 0; i < count; ++i) {
      CaseRecord record;
      record.id = CaseId(id++);
      record.metrics.push_back(Values({base}, {cand}));
      input.cases.push_back(record);
    }
  };
  add(pass_pass, 1, 1);
  add(pass_fail, 1, 0);
  add(fail_pass, 0, 1);
  add(fail_fail, 0, 0);
  return input;
}

// Standard normal draws (Box–Muller) from a seeded stream.
inline double Gaussian(Wyrand& rng) {
  const double u1 = 1 - rng.NextDouble();
  const double u2 = rng.NextDouble();
  return std::sqrt(-2 * std::log(u1)) * std::cos(2 * M_PI * u2);
}

// A fast policy for tests: fewer resampling draws, one thread.
inline Policy FastPolicy() {
  Policy policy;
  policy.permutations = 2000;
  policy.bootstrap = 2000;
  policy.threads = 1;
  return policy;
}

// A copy of the row of `metric` on `slice` (safe on a temporary result);
// fails the test if absent.
inline MetricResult Row(const ComparisonResult& result, const std::string& metric,
                               const std::string& slice = "all") {
  for (const MetricResult& row : result.results) {
    if (row.metric == metric && row.slice == slice) return row;
  }
  ADD_FAILURE() << "no row " << metric << "/" << slice;
  return MetricResult{};
}

}  // namespace dw::stats::testing
