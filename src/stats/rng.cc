#include "stats/rng.h"

#include "core/hash.h"

namespace dw::stats {

std::uint64_t DeriveSeed(std::string_view label) {
  const std::string digest = Sha256Raw(label);
  std::uint64_t seed = 0;
  for (int i = 7; i >= 0; --i) {
    seed = (seed << 8) | static_cast<unsigned char>(digest[i]);
  }
  return seed;
}

std::uint64_t DeriveSeed(std::uint64_t parent, std::string_view label) {
  std::string text = SeedHex(parent);
  text += '/';
  text += label;
  return DeriveSeed(text);
}

std::uint64_t SeedForComparison(std::string_view baseline_run_id, std::string_view candidate_run_id) {
  std::string text = "driftwatch.compare.v1|";
  text += baseline_run_id;
  text += '|';
  text += candidate_run_id;
  return DeriveSeed(text);
}

std::string SeedHex(std::uint64_t seed) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i) {
    out[i] = kDigits[seed & 0xf];
    seed >>= 4;
  }
  return out;
}

bool ParseSeedHex(std::string_view hex, std::uint64_t* seed) {
  if (hex.empty() || hex.size() > 16) return false;
  std::uint64_t value = 0;
  for (char ch : hex) {
    int digit;
    if (ch >= '0' && ch <= '9') {
      digit = ch - '0';
    } else if (ch >= 'a' && ch <= 'f') {
      digit = ch - 'a' + 10;
    } else if (ch >= 'A' && ch <= 'F') {
      digit = ch - 'A' + 10;
    } else {
      return false;
    }
    value = (value << 4) | static_cast<std::uint64_t>(digit);
  }
  *seed = value;
  return true;
}

}  // namespace dw::stats
