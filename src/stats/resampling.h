// Resampling inference for a mean paired difference: the sign-flip
// (randomisation) test, the BCa bootstrap interval and, for small samples,
// the interval obtained by inverting the sign-flip test. Cases that share a
// group (template, document) are resampled and flipped as whole clusters.
// Pure functions of (data, seed); thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "stats/intervals.h"

namespace dw::stats {

// A resampling unit: one case, or one cluster of cases.
struct Unit {
  double sum = 0;    // Σ of the unit's per-case paired differences
  double count = 1;  // number of cases in the unit; must be > 0
};

// The estimate the functions below make inference on: Σ sum / Σ count, the
// mean per-case difference. 0 for no units.
double UnitMean(std::span<const Unit> units);

struct SignFlipResult {
  double p_value = 1;
  double statistic = 0;        // observed Σ sum
  int nonzero_units = 0;       // units with sum ≠ 0; the others carry no sign
  bool exact = false;          // every sign vector was enumerated
  std::int64_t draws = 0;      // sign vectors evaluated
  double min_attainable_p = 1; // smallest p this test can give on these units
};

// Two-sided sign-flip test of H₀ "each unit's sum is symmetric about 0"
// (exchangeable baseline/candidate), statistic |Σ sum|. Enumerates all 2^m
// sign vectors when 2^m ≤ draws (m = nonzero units), else draws `draws` random
// sign vectors and reports p = (1 + #{|T*| ≥ |T|})/(draws + 1) (Phipson &
// Smyth 2010), never 0. For binary differences it equals the exact McNemar
// test. `draws` ≥ 1.
SignFlipResult SignFlipTest(std::span<const Unit> units, int draws, std::uint64_t seed);

struct BootstrapResult {
  double estimate = 0;
  std::vector<Interval> intervals;  // one per requested confidence level
  double bias_correction = 0;       // z₀
  double acceleration = 0;          // a, from the jackknife over units
  int draws = 0;
};

// Bias-corrected and accelerated (Efron 1987) bootstrap intervals for the
// mean difference, resampling units with replacement (the cluster bootstrap
// when units are clusters). `confidences` are two-sided levels in (0, 1).
// With at most 64 distinct (sum, count) pairs and at least 64 units per
// distinct pair, each draw is a multinomial count vector over those values
// (conditional binomials); otherwise units are drawn one by one, exactly as
// SharedBootstrapReplicates draws them.
// Needs at least one unit and `draws` ≥ 1.
BootstrapResult BcaBootstrap(std::span<const Unit> units, std::span<const double> confidences,
                             int draws, std::uint64_t seed);

// Whether BcaBootstrap resamples `units` through per-value counts.
bool ResamplesByLevels(std::span<const Unit> units);

// Several metrics measured on the same units (the same cases and clusters).
struct SharedUnits {
  int metrics = 0;
  std::vector<double> sums;    // unit-major: sums[unit * metrics + metric]
  std::vector<double> counts;  // cases per unit, common to all metrics
};

// Bootstrap replicate means of every metric for draws [begin, end), drawing
// one resample of the units per draw for all metrics at once; writes
// (*replicates)[metric][draw], which must already have room. For a metric
// whose units do not resample by levels, the replicates are exactly those
// BcaBootstrap draws for it alone with the same seed, so an interval does not
// depend on which other metrics share its cases. Disjoint draw ranges may be
// filled concurrently.
void SharedBootstrapReplicates(const SharedUnits& units, int begin, int end, std::uint64_t seed,
                               std::vector<std::vector<double>>* replicates);

// The BCa intervals of BcaBootstrap computed from replicates already drawn
// for `units`.
BootstrapResult BcaFromReplicates(std::span<const Unit> units, std::vector<double> replicates,
                                  std::span<const double> confidences);

// Intervals obtained by inverting the sign-flip test: the closure of all δ
// for which the test on (sum − δ·count) does not reject at 1 − confidence.
// Exact under symmetry for any n, which is why it is used for small samples
// where percentile bootstraps under-cover. A bound is ±infinity when no δ
// can be rejected (fewer than log₂(2/(1 − confidence)) units). Needs at
// least one unit.
std::vector<Interval> SignFlipInterval(std::span<const Unit> units, std::span<const double> confidences,
                                       int draws, std::uint64_t seed);

}  // namespace dw::stats
