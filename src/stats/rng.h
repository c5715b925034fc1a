// Deterministic randomness for the statistics engine: seeds derived from text
// (run ids, metric and slice names) and a small, fast generator. Every
// resampling statistic is a pure function of its data and its seed, so a
// reviewer who has the recorded seed gets the same numbers back.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace dw::stats {

// The SplitMix64 finaliser (Steele, Lea & Flood 2014): a bijective 64-bit mix.
constexpr std::uint64_t Mix64(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// A stable 64-bit seed for a label: the first eight bytes of SHA-256(label),
// read little-endian. Identical on every platform and release.
std::uint64_t DeriveSeed(std::string_view label);

// The seed of a named sub-stream of `parent`: DeriveSeed(SeedHex(parent) + "/" + label).
std::uint64_t DeriveSeed(std::uint64_t parent, std::string_view label);

// The seed for comparing two runs:
// DeriveSeed("driftwatch.compare.v1|" + baseline_run_id + "|" + candidate_run_id).
std::uint64_t SeedForComparison(std::string_view baseline_run_id, std::string_view candidate_run_id);

// The seed as 16 lower-case hex digits: how seeds are recorded in JSON (a
// string, because JSON consumers often hold numbers as doubles).
std::string SeedHex(std::uint64_t seed);

// Parses SeedHex output back; false if `hex` is not 1–16 hex digits.
bool ParseSeedHex(std::string_view hex, std::uint64_t* seed);

// wyrand (Wang Yi, public domain): a counter-based generator whose i-th output
// is a fixed function of seed + i·γ. Passes PractRand/BigCrush; one 64×64→128
// multiply per output. Not cryptographic.
class Wyrand {
 public:
  explicit Wyrand(std::uint64_t seed) : state_(seed) {}

  std::uint64_t Next() {
    state_ += 0xa0761d6478bd642fULL;
    const __uint128_t product =
        static_cast<__uint128_t>(state_) * (state_ ^ 0xe7037ed1a0b428dbULL);
    return static_cast<std::uint64_t>(product >> 64) ^ static_cast<std::uint64_t>(product);
  }

  // Skips the next `count` outputs in O(1).
  void Advance(std::uint64_t count) { state_ += count * 0xa0761d6478bd642fULL; }

  // Uniform on [0, 1) with 53 random bits.
  double NextDouble() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }

  // Uniform on {0, ..., bound - 1}, exactly (Lemire 2019, with rejection).
  // `bound` must be positive.
  std::uint64_t Below(std::uint64_t bound) {
    __uint128_t product = static_cast<__uint128_t>(Next()) * bound;
    auto low = static_cast<std::uint64_t>(product);
    if (low < bound) {
      const std::uint64_t threshold = (0 - bound) % bound;
      while (low < threshold) {
        product = static_cast<__uint128_t>(Next()) * bound;
        low = static_cast<std::uint64_t>(product);
      }
    }
    return static_cast<std::uint64_t>(product >> 64);
  }

 private:
  std::uint64_t state_;
};

// The generator for resampling draw `draw` of the stream `key`. Each draw has
// its own stream, so draws can be computed in any order or in parallel.
inline Wyrand DrawRng(std::uint64_t key, std::uint64_t draw) {
  return Wyrand(Mix64(key ^ Mix64(draw)));
}

}  // namespace dw::stats
