#include "stats/intervals.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "stats/distributions.h"

namespace dw::stats {
namespace {

constexpr double kBoundaryGap = 1e-12;
constexpr int kBisectionSteps = 200;

// Root of a decreasing function f on [low, high] with f(low) ≥ 0 ≥ f(high).
template <typename F>
double BisectDecreasing(F f, double low, double high) {
  for (int i = 0; i < kBisectionSteps && high - low > 1e-15; ++i) {
    const double mid = 0.5 * (low + high);
    if (f(mid) >= 0) {
      low = mid;
    } else {
      high = mid;
    }
  }
  return 0.5 * (low + high);
}

}  // namespace

double McNemarExactP(int b, int c) {
  const int m = b + c;
  if (m == 0) return 1;
  return std::min(1.0, 2 * BinomialCdf(std::min(b, c), m, 0.5));
}

double McNemarMidP(int b, int c) {
  const int m = b + c;
  if (m == 0) return 1;
  if (b == c) return 1 - 0.5 * BinomialPmf(b, m, 0.5);
  // 2·P(X < k) + P(X = k), without the cancellation of 2·P(X ≤ k) − P(X = k).
  const int k = std::min(b, c);
  return 2 * BinomialCdf(k - 1, m, 0.5) + BinomialPmf(k, m, 0.5);
}

double McNemarAsymptoticP(int b, int c) {
  const int m = b + c;
  if (m == 0) return 1;
  return 2 * NormalSf(std::abs(b - c) / std::sqrt(static_cast<double>(m)));
}

McNemarResult McNemarTest(int b, int c, int asymptotic_min) {
  const int m = b + c;
  McNemarResult result;
  if (m >= asymptotic_min && m > 0) {
    result.name = "mcnemar_asymptotic";
    result.p_value = McNemarAsymptoticP(b, c);
    result.statistic = static_cast<double>(b - c) * (b - c) / m;
    result.min_attainable_p = 2 * NormalSf(std::sqrt(static_cast<double>(m)));
  } else {
    result.name = "mcnemar_midp";
    result.p_value = McNemarMidP(b, c);
    result.statistic = b;
    result.min_attainable_p = m == 0 ? 1 : std::ldexp(1.0, -m);
  }
  return result;
}

double TangoScore(int n, int b, int c, double delta) {
  const double nn = n;
  const double a_coef = 2 * nn;
  const double b_coef = -(b + c) + delta * (2 * nn - c + b);
  const double c_coef = -b * delta * (1 - delta);
  const double discriminant = std::max(0.0, b_coef * b_coef - 4 * a_coef * c_coef);
  const double p_tilde = (-b_coef + std::sqrt(discriminant)) / (2 * a_coef);
  const double variance = nn * (2 * p_tilde + delta - delta * delta);
  const double numerator = c - b - nn * delta;
  if (variance <= 0) {
    if (numerator == 0) return 0;
    return numerator > 0 ? HUGE_VAL : -HUGE_VAL;
  }
  return numerator / std::sqrt(variance);
}

Interval TangoInterval(int n, int b, int c, double confidence) {
  const double z = NormalQuantile(0.5 + confidence / 2);
  const double estimate = static_cast<double>(c - b) / n;
  const auto above_lower = [&](double delta) { return TangoScore(n, b, c, delta) - z; };
  const auto above_upper = [&](double delta) { return TangoScore(n, b, c, delta) + z; };
  Interval interval;
  const double lowest = -1 + kBoundaryGap;
  const double highest = 1 - kBoundaryGap;
  interval.low = above_lower(lowest) <= 0 ? -1.0 : BisectDecreasing(above_lower, lowest, estimate);
  interval.high = above_upper(highest) >= 0 ? 1.0 : BisectDecreasing(above_upper, estimate, highest);
  interval.low = std::min(interval.low, estimate);
  interval.high = std::max(interval.high, estimate);
  return interval;
}

Interval WilsonInterval(double successes, double n, double confidence) {
  const double z = NormalQuantile(0.5 + confidence / 2);
  const double p = successes / n;
  const double z2n = z * z / n;
  const double center = (p + z2n / 2) / (1 + z2n);
  const double half = z / (1 + z2n) * std::sqrt(p * (1 - p) / n + z * z / (4 * n * n));
  // At p̂ = 0 (or 1) the lower (upper) bound is exactly 0 (1); computed, it
  // would be off by rounding.
  return {successes <= 0 ? 0.0 : std::max(0.0, center - half), successes >= n ? 1.0 : std::min(1.0, center + half)};
}

}  // namespace dw::stats
