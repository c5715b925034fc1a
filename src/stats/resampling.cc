#include "stats/resampling.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <utility>

#include "stats/distributions.h"
#include "stats/rng.h"

namespace dw::stats {
namespace {

// Above this many distinct values the per-draw cost of the level-wise
// algorithms (binomial counts per distinct value) exceeds direct resampling.
constexpr std::size_t kMaxLevels = 64;
// Sign-flip table: each byte of randomness flips 8 units through a 256-entry
// table of partial sums; tables are built for blocks of 128 groups (256 KiB)
// so they stay in L2 while all draws pass over them.
constexpr int kGroupSize = 8;
constexpr int kGroupsPerBlock = 128;
constexpr int kMaxExactUnits = 30;
constexpr int kSearchSteps = 120;
constexpr int kMaxDoublings = 64;

// Number of set bits. Portable SWAR: without -mpopcnt std::popcount is a
// library call, which dominates the level-wise sign-flip.
inline int PopCount(std::uint64_t x) {
  x = x - ((x >> 1) & 0x5555555555555555ULL);
  x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
  x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0fULL;
  return static_cast<int>((x * 0x0101010101010101ULL) >> 56);
}

// A distinct value among the units, with how many units carry it.
struct Level {
  double sum = 0;
  double count = 0;
  std::int64_t multiplicity = 0;
  std::int64_t positives = 0;  // sign-flip levels: units with a positive sum
};

// Groups units by (sum, count), or by |sum| when `by_magnitude` (zero sums
// skipped). Returns false as soon as there are more than kMaxLevels groups.
bool CollectLevels(std::span<const Unit> units, bool by_magnitude, std::vector<Level>* levels) {
  levels->clear();
  for (const Unit& unit : units) {
    const double key_sum = by_magnitude ? std::abs(unit.sum) : unit.sum;
    const double key_count = by_magnitude ? 1.0 : unit.count;
    if (by_magnitude && key_sum == 0) continue;
    auto it = std::find_if(levels->begin(), levels->end(), [&](const Level& level) {
      return level.sum == key_sum && level.count == key_count;
    });
    if (it == levels->end()) {
      if (levels->size() == kMaxLevels) return false;
      levels->push_back({key_sum, key_count, 0, 0});
      it = levels->end() - 1;
    }
    ++it->multiplicity;
    if (unit.sum > 0) ++it->positives;
  }
  return true;
}

// Monte Carlo sign-flip over levels: a level of m equal magnitudes a
// contributes a·(2X − m) with X ~ Binomial(m, ½), drawn as a popcount.
std::int64_t CountLevelExceedances(const std::vector<Level>& levels, double threshold, int draws,
                                   std::uint64_t seed) {
  std::int64_t exceed = 0;
  for (int draw = 0; draw < draws; ++draw) {
    Wyrand rng = DrawRng(seed, static_cast<std::uint64_t>(draw));
    double total = 0;
    for (const Level& level : levels) {
      std::int64_t heads = 0;
      std::int64_t left = level.multiplicity;
      for (; left >= 64; left -= 64) heads += PopCount(rng.Next());
      if (left > 0) heads += PopCount(rng.Next() & ((std::uint64_t{1} << left) - 1));
      total += level.sum * static_cast<double>(2 * heads - level.multiplicity);
    }
    if (std::abs(total) >= threshold) ++exceed;
  }
  return exceed;
}

// Monte Carlo sign-flip with byte tables. Returns the observed statistic
// computed through the same tables (so ties compare exactly) and fills
// `totals` with the statistic of each draw.
double TableSignFlip(const std::vector<double>& values, int draws, std::uint64_t seed,
                     std::vector<double>* totals) {
  const std::size_t groups = (values.size() + kGroupSize - 1) / kGroupSize;
  std::vector<double> padded(groups * kGroupSize, 0.0);
  std::copy(values.begin(), values.end(), padded.begin());
  totals->assign(static_cast<std::size_t>(draws), 0.0);
  std::vector<double> table(static_cast<std::size_t>(kGroupsPerBlock) * 256);
  double observed = 0;
  for (std::size_t block = 0; block < groups; block += kGroupsPerBlock) {
    const std::size_t block_groups = std::min<std::size_t>(kGroupsPerBlock, groups - block);
    for (std::size_t g = 0; g < block_groups; ++g) {
      const double* v = &padded[(block + g) * kGroupSize];
      double* row = &table[g * 256];
      row[0] = 0;
      for (int j = 0; j < kGroupSize; ++j) row[0] -= v[j];
      for (unsigned mask = 1; mask < 256; ++mask) {
        const unsigned low = mask & (~mask + 1);
        row[mask] = row[mask ^ low] + 2 * v[std::countr_zero(mask)];
      }
      observed += row[255];
    }
    const std::size_t full_words = block_groups / kGroupSize;
    for (int draw = 0; draw < draws; ++draw) {
      Wyrand rng = DrawRng(seed, static_cast<std::uint64_t>(draw));
      rng.Advance(block / kGroupSize);
      // Four accumulators: the lookups are independent, the adds would chain.
      double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      const double* row = table.data();
      for (std::size_t w = 0; w < full_words; ++w, row += 8 * 256) {
        const std::uint64_t word = rng.Next();
        s0 += row[0 * 256 + (word & 0xff)];
        s1 += row[1 * 256 + ((word >> 8) & 0xff)];
        s2 += row[2 * 256 + ((word >> 16) & 0xff)];
        s3 += row[3 * 256 + ((word >> 24) & 0xff)];
        s0 += row[4 * 256 + ((word >> 32) & 0xff)];
        s1 += row[5 * 256 + ((word >> 40) & 0xff)];
        s2 += row[6 * 256 + ((word >> 48) & 0xff)];
        s3 += row[7 * 256 + (word >> 56)];
      }
      if (full_words * kGroupSize < block_groups) {
        std::uint64_t word = rng.Next();
        for (std::size_t k = full_words * kGroupSize; k < block_groups; ++k, word >>= 8) {
          s0 += table[k * 256 + (word & 0xff)];
        }
      }
      (*totals)[static_cast<std::size_t>(draw)] += (s0 + s1) + (s2 + s3);
    }
  }
  return observed;
}

// Uniform index in [0, bound) from 32 random bits, exactly (Lemire 2019).
inline std::uint32_t Pick(std::uint32_t bits, std::uint32_t bound, Wyrand& rng) {
  std::uint64_t product = static_cast<std::uint64_t>(bits) * bound;
  auto low = static_cast<std::uint32_t>(product);
  if (low < bound) {
    const std::uint32_t threshold = (0u - bound) % bound;
    while (low < threshold) {
      product = static_cast<std::uint64_t>(static_cast<std::uint32_t>(rng.Next())) * bound;
      low = static_cast<std::uint32_t>(product);
    }
  }
  return static_cast<std::uint32_t>(product >> 32);
}

// Multinomial resampling of units over their distinct values by
// conditional binomials: level l takes Binomial(remaining draws,
// multiplicity_l / multiplicity of levels l..L). The samplers are prepared
// once per call of BcaBootstrap.
class LevelResampler {
 public:
  LevelResampler(const std::vector<Level>& levels, std::int64_t total)
      : levels_(levels), total_(total), log_factorials_(LogFactorialTable(total)) {
    std::int64_t remaining = total;
    for (std::size_t l = 0; l + 1 < levels.size(); ++l) {
      samplers_.emplace_back(static_cast<double>(levels[l].multiplicity) / static_cast<double>(remaining),
                             &log_factorials_);
      remaining -= levels[l].multiplicity;
    }
  }
  LevelResampler(const LevelResampler&) = delete;
  LevelResampler& operator=(const LevelResampler&) = delete;

  double Mean(Wyrand& rng) const {
    std::int64_t remaining = total_;
    double sum = 0, count = 0;
    for (std::size_t l = 0; l < levels_.size() && remaining > 0; ++l) {
      const std::int64_t taken = l < samplers_.size() ? samplers_[l](remaining, rng) : remaining;
      sum += static_cast<double>(taken) * levels_[l].sum;
      count += static_cast<double>(taken) * levels_[l].count;
      remaining -= taken;
    }
    return sum / count;
  }

 private:
  const std::vector<Level>& levels_;
  std::int64_t total_;
  std::vector<double> log_factorials_;
  std::vector<BinomialSampler> samplers_;
};

// Whether drawing per-value counts beats drawing units: a level costs about
// as much as 64 unit draws.
bool LevelsPayOff(std::span<const Unit> units, std::vector<Level>* levels) {
  return CollectLevels(units, /*by_magnitude=*/false, levels) &&
         levels->size() * 64 <= units.size();
}

// Type-7 (linear interpolation) quantile by selection; reorders `values`.
double SelectQuantile(std::vector<double>& values, double probability) {
  probability = std::clamp(probability, 0.0, 1.0);
  const double position = probability * static_cast<double>(values.size() - 1);
  const auto below = static_cast<std::size_t>(std::floor(position));
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(below), values.end());
  const double low = values[below];
  if (below + 1 >= values.size()) return low;
  const double high = *std::min_element(values.begin() + static_cast<std::ptrdiff_t>(below) + 1, values.end());
  return low + (position - static_cast<double>(below)) * (high - low);
}

double AbsoluteSum(std::span<const Unit> units) {
  double total = 0;
  for (const Unit& unit : units) total += std::abs(unit.sum);
  return total;
}

// The sign vectors of a sign-flip test over all units, summarised for
// inversion: for vector ε, flipped_sum = Σ ε·sum and flipped_count = Σ ε·count.
struct SignVectors {
  std::vector<double> flipped_sum;
  std::vector<double> flipped_count;
  bool monte_carlo = false;  // the observed vector is then counted once more
};

SignVectors EnumerateSignVectors(std::span<const Unit> units, int draws, std::uint64_t seed) {
  SignVectors vectors;
  const std::size_t n = units.size();
  if (n <= kMaxExactUnits && (std::uint64_t{1} << n) <= static_cast<std::uint64_t>(draws)) {
    const std::uint64_t total = std::uint64_t{1} << n;
    vectors.flipped_sum.reserve(total);
    vectors.flipped_count.reserve(total);
    for (std::uint64_t mask = 0; mask < total; ++mask) {
      double sum = 0, count = 0;
      for (std::size_t i = 0; i < n; ++i) {
        const double sign = (mask >> i) & 1 ? -1.0 : 1.0;
        sum += sign * units[i].sum;
        count += sign * units[i].count;
      }
      vectors.flipped_sum.push_back(sum);
      vectors.flipped_count.push_back(count);
    }
    return vectors;
  }
  vectors.monte_carlo = true;
  vectors.flipped_sum.reserve(static_cast<std::size_t>(draws));
  vectors.flipped_count.reserve(static_cast<std::size_t>(draws));
  for (int draw = 0; draw < draws; ++draw) {
    Wyrand rng = DrawRng(seed, static_cast<std::uint64_t>(draw));
    double sum = 0, count = 0;
    std::uint64_t word = 0;
    for (std::size_t i = 0; i < n; ++i, word >>= 1) {
      if (i % 64 == 0) word = rng.Next();
      const double sign = word & 1 ? -1.0 : 1.0;
      sum += sign * units[i].sum;
      count += sign * units[i].count;
    }
    vectors.flipped_sum.push_back(sum);
    vectors.flipped_count.push_back(count);
  }
  return vectors;
}

// Sign-flip p-value for H₀: mean difference = delta.
double ShiftedSignFlipP(const SignVectors& vectors, double total_sum, double total_count,
                        double scale, double delta) {
  const double observed = std::abs(total_sum - delta * total_count);
  const double threshold = observed - 1e-9 * (scale + std::abs(delta) * total_count);
  std::int64_t exceed = vectors.monte_carlo ? 1 : 0;
  for (std::size_t b = 0; b < vectors.flipped_sum.size(); ++b) {
    if (std::abs(vectors.flipped_sum[b] - delta * vectors.flipped_count[b]) >= threshold) ++exceed;
  }
  const auto total = static_cast<double>(vectors.flipped_sum.size() + (vectors.monte_carlo ? 1 : 0));
  return static_cast<double>(exceed) / total;
}

}  // namespace

double UnitMean(std::span<const Unit> units) {
  double sum = 0, count = 0;
  for (const Unit& unit : units) {
    sum += unit.sum;
    count += unit.count;
  }
  return count > 0 ? sum / count : 0;
}

SignFlipResult SignFlipTest(std::span<const Unit> units, int draws, std::uint64_t seed) {
  SignFlipResult result;
  std::vector<double> values;
  values.reserve(units.size());
  for (const Unit& unit : units) {
    result.statistic += unit.sum;
    if (unit.sum != 0) values.push_back(unit.sum);
  }
  const int m = static_cast<int>(values.size());
  result.nonzero_units = m;
  if (m == 0) {
    result.exact = true;
    result.draws = 1;
    return result;
  }
  const double tolerance = 1e-9 * AbsoluteSum(units);

  if (m <= kMaxExactUnits && (std::int64_t{1} << m) <= draws) {
    // Gray-code walk over all 2^m sign vectors.
    std::vector<double> signs(static_cast<std::size_t>(m), 1.0);
    double total = 0;
    for (double v : values) total += v;
    const double threshold = std::abs(total) - tolerance;
    const std::int64_t vectors = std::int64_t{1} << m;
    std::int64_t exceed = 1;
    for (std::int64_t k = 1; k < vectors; ++k) {
      const int j = std::countr_zero(static_cast<std::uint64_t>(k));
      total -= 2 * signs[j] * values[j];
      signs[j] = -signs[j];
      if (std::abs(total) >= threshold) ++exceed;
    }
    result.exact = true;
    result.draws = vectors;
    result.p_value = static_cast<double>(exceed) / static_cast<double>(vectors);
    result.min_attainable_p = std::min(1.0, std::ldexp(2.0, -m));
    return result;
  }

  std::int64_t exceed;
  std::vector<Level> levels;
  if (CollectLevels(units, /*by_magnitude=*/true, &levels)) {
    double observed = 0;
    for (const Level& level : levels) {
      observed += level.sum * static_cast<double>(2 * level.positives - level.multiplicity);
    }
    exceed = CountLevelExceedances(levels, std::abs(observed) - tolerance, draws, seed);
  } else {
    std::vector<double> totals;
    const double observed = TableSignFlip(values, draws, seed, &totals);
    const double threshold = std::abs(observed) - tolerance;
    exceed = std::count_if(totals.begin(), totals.end(),
                           [&](double t) { return std::abs(t) >= threshold; });
  }
  result.draws = draws;
  result.p_value = static_cast<double>(1 + exceed) / static_cast<double>(draws + 1);
  result.min_attainable_p = std::max(std::ldexp(2.0, -std::min(m, 1000)), 1.0 / (draws + 1));
  return result;
}

bool ResamplesByLevels(std::span<const Unit> units) {
  std::vector<Level> levels;
  return LevelsPayOff(units, &levels);
}

namespace {

// even[m] += a[m] and odd[m] += b[m] for each m, with constant indices only,
// so the accumulators live in registers.
template <std::size_t... kM>
inline void AddRows(double* even, double* odd, const double* a, const double* b, std::index_sequence<kM...>) {
  ((even[kM] += a[kM], odd[kM] += b[kM]), ...);
}

// Replicates of kWidth metrics whose unit sums are the rows of `rows`
// (kStride doubles per unit, a power of two so a row never straddles cache
// lines), two accumulators per metric (even and odd picks) to break the add
// chain. The unit draws depend only on (seed, draw, number of units).
template <std::size_t kWidth, std::size_t kStride, bool kUnitCounts>
void SharedKernel(const double* rows, const double* counts, std::uint32_t size, int first, int begin, int end,
                  std::uint64_t seed, std::vector<std::vector<double>>* replicates) {
  constexpr auto kIndices = std::make_index_sequence<kWidth>();
  static constexpr double kZeros[kWidth] = {};
  for (int draw = begin; draw < end; ++draw) {
    Wyrand rng = DrawRng(seed, static_cast<std::uint64_t>(draw));
    double even[kWidth] = {};
    double odd[kWidth] = {};
    double count = 0;
    std::uint32_t i = 0;
    for (; i + 1 < size; i += 2) {
      const std::uint64_t bits = rng.Next();
      const std::uint32_t a = Pick(static_cast<std::uint32_t>(bits), size, rng);
      const std::uint32_t b = Pick(static_cast<std::uint32_t>(bits >> 32), size, rng);
      AddRows(even, odd, rows + a * kStride, rows + b * kStride, kIndices);
      if constexpr (!kUnitCounts) count += counts[a] + counts[b];
    }
    if (i < size) {
      const std::uint32_t a = Pick(static_cast<std::uint32_t>(rng.Next()), size, rng);
      AddRows(even, odd, rows + a * kStride, kZeros, kIndices);
      if constexpr (!kUnitCounts) count += counts[a];
    }
    const double denominator = kUnitCounts ? static_cast<double>(size) : count;
    for (std::size_t m = 0; m < kWidth; ++m) {
      (*replicates)[static_cast<std::size_t>(first) + m][static_cast<std::size_t>(draw)] =
          (even[m] + odd[m]) / denominator;
    }
  }
}

template <std::size_t kWidth, std::size_t kStride>
void RunSharedKernel(const SharedUnits& units, int first, int begin, int end, std::uint64_t seed, bool unit_counts,
                     std::vector<std::vector<double>>* replicates) {
  const std::size_t size = units.counts.size();
  const auto stride = static_cast<std::size_t>(units.metrics);
  std::vector<double> rows(size * kStride, 0.0);
  for (std::size_t u = 0; u < size; ++u) {
    for (std::size_t m = 0; m < kWidth; ++m) {
      rows[u * kStride + m] = units.sums[u * stride + static_cast<std::size_t>(first) + m];
    }
  }
  const auto count = static_cast<std::uint32_t>(size);
  if (unit_counts) {
    SharedKernel<kWidth, kStride, true>(rows.data(), units.counts.data(), count, first, begin, end, seed, replicates);
  } else {
    SharedKernel<kWidth, kStride, false>(rows.data(), units.counts.data(), count, first, begin, end, seed, replicates);
  }
}

}  // namespace

void SharedBootstrapReplicates(const SharedUnits& units, int begin, int end, std::uint64_t seed,
                               std::vector<std::vector<double>>* replicates) {
  const bool unit_counts =
      std::all_of(units.counts.begin(), units.counts.end(), [](double count) { return count == 1; });
  for (int first = 0; first < units.metrics; first += 4) {
    switch (std::min(4, units.metrics - first)) {
      case 1: RunSharedKernel<1, 1>(units, first, begin, end, seed, unit_counts, replicates); break;
      case 2: RunSharedKernel<2, 2>(units, first, begin, end, seed, unit_counts, replicates); break;
      case 3: RunSharedKernel<3, 4>(units, first, begin, end, seed, unit_counts, replicates); break;
      default: RunSharedKernel<4, 4>(units, first, begin, end, seed, unit_counts, replicates); break;
    }
  }
}

BootstrapResult BcaBootstrap(std::span<const Unit> units, std::span<const double> confidences,
                             int draws, std::uint64_t seed) {
  std::vector<std::vector<double>> replicates(1, std::vector<double>(static_cast<std::size_t>(draws)));
  std::vector<Level> levels;
  if (LevelsPayOff(units, &levels)) {
    const LevelResampler resampler(levels, static_cast<std::int64_t>(units.size()));
    for (int draw = 0; draw < draws; ++draw) {
      Wyrand rng = DrawRng(seed, static_cast<std::uint64_t>(draw));
      replicates[0][static_cast<std::size_t>(draw)] = resampler.Mean(rng);
    }
  } else {
    SharedUnits shared;
    shared.metrics = 1;
    for (const Unit& unit : units) {
      shared.sums.push_back(unit.sum);
      shared.counts.push_back(unit.count);
    }
    SharedBootstrapReplicates(shared, 0, draws, seed, &replicates);
  }
  return BcaFromReplicates(units, std::move(replicates[0]), confidences);
}

BootstrapResult BcaFromReplicates(std::span<const Unit> units, std::vector<double> replicates,
                                  std::span<const double> confidences) {
  BootstrapResult result;
  const int draws = static_cast<int>(replicates.size());
  result.draws = draws;
  result.estimate = UnitMean(units);
  const double estimate = result.estimate;
  double total_sum = 0, total_count = 0;
  for (const Unit& unit : units) {
    total_sum += unit.sum;
    total_count += unit.count;
  }
  const double tolerance = 1e-12 * (AbsoluteSum(units) / total_count + std::abs(estimate));
  std::int64_t below = 0, tied = 0;
  for (double value : replicates) {
    if (value < estimate - tolerance) {
      ++below;
    } else if (value <= estimate + tolerance) {
      ++tied;
    }
  }
  const double share_below = (static_cast<double>(below) + 0.5 * static_cast<double>(tied)) / draws;
  const double half_draw = 0.5 / draws;
  result.bias_correction = NormalQuantile(std::clamp(share_below, half_draw, 1 - half_draw));

  if (units.size() >= 2) {
    std::vector<double> jackknife;
    jackknife.reserve(units.size());
    double mean = 0;
    for (const Unit& unit : units) {
      if (total_count - unit.count <= 0) continue;
      jackknife.push_back((total_sum - unit.sum) / (total_count - unit.count));
      mean += jackknife.back();
    }
    mean /= static_cast<double>(jackknife.size());
    double squares = 0, cubes = 0;
    for (double value : jackknife) {
      const double deviation = mean - value;
      squares += deviation * deviation;
      cubes += deviation * deviation * deviation;
    }
    if (squares > 0) result.acceleration = cubes / (6 * std::pow(squares, 1.5));
  }

  const double z0 = result.bias_correction;
  const double a = result.acceleration;
  const auto adjusted = [&](double z_alpha) {
    const double shifted = z0 + z_alpha;
    const double denominator = 1 - a * shifted;
    if (denominator <= 0) return z_alpha < 0 ? 0.0 : 1.0;
    return NormalCdf(z0 + shifted / denominator);
  };
  for (double confidence : confidences) {
    const double z = NormalQuantile(0.5 + confidence / 2);
    result.intervals.push_back(
        {SelectQuantile(replicates, adjusted(-z)), SelectQuantile(replicates, adjusted(z))});
  }
  return result;
}

std::vector<Interval> SignFlipInterval(std::span<const Unit> units, std::span<const double> confidences,
                                       int draws, std::uint64_t seed) {
  const SignVectors vectors = EnumerateSignVectors(units, draws, seed);
  double total_sum = 0, total_count = 0, spread = 0;
  for (const Unit& unit : units) {
    total_sum += unit.sum;
    total_count += unit.count;
  }
  const double estimate = total_sum / total_count;
  for (const Unit& unit : units) spread = std::max(spread, std::abs(unit.sum / unit.count - estimate));
  const double scale = AbsoluteSum(units);
  const auto p_at = [&](double delta) {
    return ShiftedSignFlipP(vectors, total_sum, total_count, scale, delta);
  };

  // The bound on one side (direction −1: lower, +1: upper) for level alpha:
  // the accepted δ closest to the rejected region found by doubling.
  const auto bound = [&](double direction, double alpha) {
    double step = spread > 0 ? spread : std::max(1.0, std::abs(estimate));
    int doublings = 0;
    while (p_at(estimate + direction * step) > alpha) {
      if (++doublings > kMaxDoublings) return direction * std::numeric_limits<double>::infinity();
      step *= 2;
    }
    double accepted = estimate;
    double rejected = estimate + direction * step;
    for (int i = 0; i < kSearchSteps; ++i) {
      const double mid = 0.5 * (accepted + rejected);
      if (mid == accepted || mid == rejected) break;
      if (p_at(mid) > alpha) {
        accepted = mid;
      } else {
        rejected = mid;
      }
    }
    return accepted;
  };

  std::vector<Interval> intervals;
  for (double confidence : confidences) {
    const double alpha = 1 - confidence;
    intervals.push_back({bound(-1, alpha), bound(+1, alpha)});
  }
  return intervals;
}

}  // namespace dw::stats
