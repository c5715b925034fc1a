// Distribution functions used by the tests and intervals (thin wrappers over
// Boost.Math that never throw), and an exact binomial sampler. Pure functions;
// thread-safe.
#pragma once

#include <cstdint>
#include <vector>

#include "stats/rng.h"

namespace dw::stats {

// Standard normal CDF Φ(x).
double NormalCdf(double x);

// Upper tail 1 − Φ(x), accurate far into the tail (via erfc).
double NormalSf(double x);

// Φ⁻¹(p) for p in (0, 1); −∞ at p ≤ 0 and +∞ at p ≥ 1.
double NormalQuantile(double p);

// Quantile of Student's t with `df` > 0 degrees of freedom, p in (0, 1).
double StudentTQuantile(double p, double df);

// P(X = k) for X ~ Binomial(n, p); 0 outside 0..n.
double BinomialPmf(std::int64_t k, std::int64_t n, double p);

// P(X ≤ k) for X ~ Binomial(n, p); 0 for k < 0, 1 for k ≥ n.
double BinomialCdf(std::int64_t k, std::int64_t n, double p);

// log k! for k ≥ 0 (Stirling series with tabulated corrections; absolute
// error < 4e-13). Cheap: no lgamma.
double LogFactorial(std::int64_t k);

// log k! for k = 0..max_k, for BinomialSampler.
std::vector<double> LogFactorialTable(std::int64_t max_k);

// Draws from Binomial(n, p) for a fixed p and varying n: inversion from 0
// when np < 10, otherwise Hörmann's (1993) BTRS transformed rejection, O(1)
// expected time. Exact up to the accuracy of LogFactorial. The constants of
// p are computed once; `log_factorials` (optional, not owned, must outlive
// the sampler) replaces LogFactorial for k below its size. Immutable.
class BinomialSampler {
 public:
  // p in (0, 1).
  explicit BinomialSampler(double p, const std::vector<double>* log_factorials = nullptr);

  std::int64_t operator()(std::int64_t n, Wyrand& rng) const;

 private:
  std::int64_t Draw(std::int64_t n, Wyrand& rng) const;  // for p ≤ ½
  double LogFactorialOf(std::int64_t k) const;

  bool flipped_;  // sampling n − Binomial(n, 1 − p)
  double p_;      // ≤ ½
  double log_odds_;
  double log_q_;
  const std::vector<double>* log_factorials_;
};

// One draw from Binomial(n, p); p outside (0, 1) gives 0 or n.
std::int64_t SampleBinomial(std::int64_t n, double p, Wyrand& rng);

}  // namespace dw::stats
