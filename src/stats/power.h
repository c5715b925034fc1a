// Power figures for a golden set: the minimum detectable effect (MDE) of the
// paired tests and the power of a non-inferiority sign-off, so a reviewer can
// see when a set is too small to support a claim. Normal approximations.
#pragma once

#include <optional>

namespace dw::stats {

// MDE of McNemar's test (Connor 1987): the smallest |Δ| with
// √n·|Δ| = z(1−α/2)·√ψ + z(power)·√(ψ − Δ²), ψ the share of discordant
// pairs. Empty when no |Δ| ≤ ψ reaches the power (the set cannot detect any
// change at this discordance), or when n < 1 or ψ ≤ 0.
std::optional<double> McNemarMde(int n, double discordant_share, double alpha, double power);

// MDE of a two-sided z-test on a mean with standard error `se`:
// (z(1−α/2) + z(power))·se.
double NormalMde(double se, double alpha, double power);

// Power of the one-sided non-inferiority test "lower bound > −margin" at
// level α when the true difference is 0: Φ(margin/se − z(1−α)). 1 when
// se = 0 and margin > 0.
double NonInferiorityPower(double se, double margin, double alpha);

}  // namespace dw::stats
