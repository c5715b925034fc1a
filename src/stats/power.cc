#include "stats/power.h"

#include <algorithm>
#include <cmath>

#include "stats/distributions.h"

namespace dw::stats {

std::optional<double> McNemarMde(int n, double discordant_share, double alpha, double power) {
  if (n < 1 || discordant_share <= 0) return std::nullopt;
  const double psi = std::min(discordant_share, 1.0);
  const double z_alpha = NormalQuantile(1 - alpha / 2);
  const double z_power = NormalQuantile(power);
  const double root_n = std::sqrt(static_cast<double>(n));
  // Excess of detection over requirement; increasing in delta on (0, ψ].
  const auto excess = [&](double delta) {
    return root_n * delta - z_alpha * std::sqrt(psi) - z_power * std::sqrt(std::max(0.0, psi - delta * delta));
  };
  if (excess(psi) < 0) return std::nullopt;
  double low = 0, high = psi;
  for (int i = 0; i < 200 && high - low > 1e-15; ++i) {
    const double mid = 0.5 * (low + high);
    (excess(mid) < 0 ? low : high) = mid;
  }
  return high;
}

double NormalMde(double se, double alpha, double power) {
  return (NormalQuantile(1 - alpha / 2) + NormalQuantile(power)) * se;
}

double NonInferiorityPower(double se, double margin, double alpha) {
  if (se <= 0) return margin > 0 ? 1.0 : 0.0;
  return NormalCdf(margin / se - NormalQuantile(1 - alpha));
}

}  // namespace dw::stats
