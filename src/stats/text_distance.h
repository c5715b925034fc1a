// Distances between two output texts, for judging whether a case's output
// changed. Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace dw::stats {

// The text as Unicode code points. Bytes that are not valid UTF-8 become
// one unit each (U+DC80..U+DCFF, as in Python's surrogateescape).
std::u32string DecodeUtf8(std::string_view text);

// Levenshtein distance (unit-cost insert, delete, substitute) over code
// points. Bit-parallel (Myers 1999; Hyyrö 2003 blocks): O(⌈m/64⌉·n) for
// lengths m ≤ n.
std::size_t EditDistance(std::u32string_view a, std::u32string_view b);
std::size_t EditDistance(std::string_view a, std::string_view b);

// Distances from one fixed text to many others, with the pattern's bit masks
// built once. Immutable after construction; safe to share between threads.
class EditDistanceFrom {
 public:
  explicit EditDistanceFrom(std::u32string_view pattern);

  // EditDistance(pattern, text).
  std::size_t To(std::u32string_view text) const;

  // To(text) / max(|pattern|, |text|); 0 when both are empty.
  double NormalizedTo(std::u32string_view text) const;

 private:
  const std::uint64_t* Masks(char32_t ch) const;

  std::size_t length_;
  std::size_t words_;
  std::vector<std::uint64_t> ascii_;  // 128 × words_
  std::vector<std::uint64_t> zero_;
  std::unordered_map<char32_t, std::vector<std::uint64_t>> other_;
};

// EditDistance / max(|a|, |b|) in code points: 0 for identical texts, 1 for
// texts with nothing in common position-wise; 0 when both are empty.
double NormalizedEditDistance(std::string_view a, std::string_view b);

}  // namespace dw::stats
