// Multiple-testing adjustment across slices and secondary metrics.
#pragma once

#include <vector>

namespace dw::stats {

// Benjamini–Hochberg (1995) adjusted p-values ("q-values"), in input order:
// q₍ₖ₎ = min over j ≥ k of min(1, m·p₍ⱼ₎/j) with p sorted ascending.
// Rejecting every hypothesis with q ≤ level controls the false discovery
// rate at `level` under independence or positive dependence (PRDS).
// Ties keep their order; an empty input gives an empty output.
std::vector<double> BenjaminiHochberg(const std::vector<double>& p_values);

}  // namespace dw::stats
