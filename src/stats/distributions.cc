#include "stats/distributions.h"

#include <cmath>
#include <algorithm>
#include <limits>

#include <boost/math/distributions/binomial.hpp>
#include <boost/math/distributions/normal.hpp>
#include <boost/math/distributions/students_t.hpp>

namespace dw::stats {
namespace {

using NoThrow = boost::math::policies::policy<
    boost::math::policies::domain_error<boost::math::policies::ignore_error>,
    boost::math::policies::overflow_error<boost::math::policies::ignore_error>,
    boost::math::policies::evaluation_error<boost::math::policies::ignore_error>,
    boost::math::policies::promote_double<false>>;

// Below this mean, inversion from 0; from it on, BTRS (which needs np ≥ 10).
constexpr double kSmallMean = 10.0;

}  // namespace

double NormalCdf(double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); }

double NormalSf(double x) { return 0.5 * std::erfc(x / std::sqrt(2.0)); }

double NormalQuantile(double p) {
  if (p <= 0) return -std::numeric_limits<double>::infinity();
  if (p >= 1) return std::numeric_limits<double>::infinity();
  return boost::math::quantile(boost::math::normal_distribution<double, NoThrow>(), p);
}

double StudentTQuantile(double p, double df) {
  if (p <= 0) return -std::numeric_limits<double>::infinity();
  if (p >= 1) return std::numeric_limits<double>::infinity();
  return boost::math::quantile(boost::math::students_t_distribution<double, NoThrow>(df), p);
}

double BinomialPmf(std::int64_t k, std::int64_t n, double p) {
  if (k < 0 || k > n) return 0;
  return boost::math::pdf(
      boost::math::binomial_distribution<double, NoThrow>(static_cast<double>(n), p),
      static_cast<double>(k));
}

double BinomialCdf(std::int64_t k, std::int64_t n, double p) {
  if (k < 0) return 0;
  if (k >= n) return 1;
  return boost::math::cdf(
      boost::math::binomial_distribution<double, NoThrow>(static_cast<double>(n), p),
      static_cast<double>(k));
}

double LogFactorial(std::int64_t k) {
  // log k! − [(k + ½)·log(k + 1) − (k + 1) + ½·log 2π] for k = 0..9; beyond,
  // the Stirling series 1/12x − 1/360x³ + 1/1260x⁵ − 1/1680x⁷ with x = k + 1
  // is exact to < 4e-13.
  static constexpr double kTail[] = {0.0810614667953272,  0.0413406959554092,  0.0276779256849983,
                                     0.02079067210376509, 0.0166446911898211,  0.0138761288230707,
                                     0.0118967099458917,  0.0104112652619720,  0.00925546218271273,
                                     0.00833056343336287};
  const double x = static_cast<double>(k) + 1;
  double tail;
  if (k <= 9) {
    tail = kTail[k];
  } else {
    const double x2 = x * x;
    tail = (1.0 / 12 - (1.0 / 360 - (1.0 / 1260 - 1.0 / 1680 / x2) / x2) / x2) / x;
  }
  return (x - 0.5) * std::log(x) - x + 0.9189385332046728 + tail;
}

std::vector<double> LogFactorialTable(std::int64_t max_k) {
  std::vector<double> table(static_cast<std::size_t>(std::max<std::int64_t>(max_k, 0)) + 1);
  for (std::size_t k = 0; k < table.size(); ++k) table[k] = LogFactorial(static_cast<std::int64_t>(k));
  return table;
}

BinomialSampler::BinomialSampler(double p, const std::vector<double>* log_factorials)
    : flipped_(p > 0.5),
      p_(flipped_ ? 1 - p : p),
      log_odds_(std::log(p_ / (1 - p_))),
      log_q_(std::log1p(-p_)),
      log_factorials_(log_factorials) {}

double BinomialSampler::LogFactorialOf(std::int64_t k) const {
  if (log_factorials_ && static_cast<std::size_t>(k) < log_factorials_->size()) {
    return (*log_factorials_)[static_cast<std::size_t>(k)];
  }
  return LogFactorial(k);
}

std::int64_t BinomialSampler::operator()(std::int64_t n, Wyrand& rng) const {
  if (n <= 0 || p_ <= 0) return flipped_ ? n : 0;
  const std::int64_t k = Draw(n, rng);
  return flipped_ ? n - k : k;
}

std::int64_t BinomialSampler::Draw(std::int64_t n, Wyrand& rng) const {
  const double nd = static_cast<double>(n);
  if (nd * p_ < kSmallMean) {
    // Inversion from 0.
    const double odds = std::exp(log_odds_);
    double mass = std::exp(nd * log_q_);
    double u = rng.NextDouble();
    std::int64_t k = 0;
    while (u >= mass && k < n) {
      u -= mass;
      mass *= odds * static_cast<double>(n - k) / static_cast<double>(k + 1);
      ++k;
    }
    return k;
  }
  // BTRS: transformed rejection with squeeze (Hörmann 1993), for np ≥ 10.
  const double spq = std::sqrt(nd * p_ * (1 - p_));
  const double b = 1.15 + 2.53 * spq;
  const double a = -0.0873 + 0.0248 * b + 0.01 * p_;
  const double c = nd * p_ + 0.5;
  const double v_r = 0.92 - 4.2 / b;
  const double alpha = (2.83 + 5.1 / b) * spq;
  const auto mode = static_cast<std::int64_t>(std::floor((nd + 1) * p_));
  double mode_log_mass = 0;
  bool mode_known = false;
  while (true) {
    const double u = rng.NextDouble() - 0.5;
    double v = rng.NextDouble();
    const double us = 0.5 - std::abs(u);
    const double k_real = std::floor((2 * a / us + b) * u + c);
    if (k_real < 0 || k_real > nd) continue;
    const auto k = static_cast<std::int64_t>(k_real);
    if (us >= 0.07 && v <= v_r) return k;
    if (!mode_known) {
      mode_log_mass = -LogFactorialOf(mode) - LogFactorialOf(n - mode);
      mode_known = true;
    }
    v = std::log(v * alpha / (a / (us * us) + b));
    // log f(k)/f(mode) = log(mode!(n−mode)!) − log(k!(n−k)!) + (k − mode)·log(p/q).
    const double log_ratio = -LogFactorialOf(k) - LogFactorialOf(n - k) - mode_log_mass +
                             static_cast<double>(k - mode) * log_odds_;
    if (v <= log_ratio) return k;
  }
}

std::int64_t SampleBinomial(std::int64_t n, double p, Wyrand& rng) {
  if (n <= 0 || p <= 0) return 0;
  if (p >= 1) return n;
  return BinomialSampler(p)(n, rng);
}

}  // namespace dw::stats
