// Closed-form tests and intervals for proportions: McNemar's test for paired
// binary outcomes, Tango's score interval for the paired difference, and the
// Wilson interval for a single pass rate. Pure functions; thread-safe.
#pragma once

#include <string_view>

namespace dw::stats {

// A two-sided interval. A bound may be ±infinity when the data cannot bound
// the parameter at the requested level.
struct Interval {
  double low = 0;
  double high = 0;
};

// McNemar on the discordant pairs of a paired binary table: b = pass→fail,
// c = fail→pass. Under H₀, b | (b+c = m) ~ Binomial(m, ½).

// Exact conditional two-sided p: min(1, 2·P(X ≤ min(b, c))). 1 when b+c = 0.
double McNemarExactP(int b, int c);

// Mid-p (Fagerland, Lydersen & Laake 2013): P(|X − m/2| > |b−c|/2) +
// ½·P(|X − m/2| = |b−c|/2). 1 when b+c = 0.
double McNemarMidP(int b, int c);

// Asymptotic test without continuity correction: χ² = (b−c)²/(b+c), 1 df.
// 1 when b+c = 0.
double McNemarAsymptoticP(int b, int c);

// The test that policy selects for (b, c): mid-p while b+c < asymptotic_min,
// else asymptotic. `name` is "mcnemar_midp" or "mcnemar_asymptotic".
struct McNemarResult {
  double p_value = 1;
  double statistic = 0;  // χ² for the asymptotic test, b for mid-p
  std::string_view name;
  // The smallest p this test could give with b+c discordant pairs: how far
  // the data can go at all (2^-(b+c) for mid-p).
  double min_attainable_p = 1;
};
McNemarResult McNemarTest(int b, int c, int asymptotic_min);

// Tango's (1998) score statistic for H₀: Δ = delta, where Δ = p(fail→pass) −
// p(pass→fail) = (c−b)/n is the change in pass rate:
// T = (c − b − n·δ) / √(n·(2·p̃ + δ − δ²)), with p̃ the maximum-likelihood
// estimate of p(pass→fail) restricted to Δ = δ. Requires n ≥ 1, |δ| < 1.
double TangoScore(int n, int b, int c, double delta);

// Tango's score interval for Δ at two-sided `confidence`: all δ with
// |T(δ)| ≤ z. Inverts the same score as the asymptotic McNemar test, is
// defined for b+c = 0, and stays inside [−1, 1]. Requires n ≥ 1.
Interval TangoInterval(int n, int b, int c, double confidence);

// Wilson score interval for a proportion p̂ = successes/n at two-sided
// `confidence`. `n` may be fractional (an effective sample size). Requires
// n > 0 and 0 ≤ successes ≤ n.
Interval WilsonInterval(double successes, double n, double confidence);

}  // namespace dw::stats
