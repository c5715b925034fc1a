// Differences between two golden-set versions, by case id.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/golden_case.h"

namespace dw::goldenset {

struct GoldenSetDiff {
  std::vector<std::string> added;    // ids only in `to`
  std::vector<std::string> removed;  // ids only in `from`
  std::vector<std::string> changed;  // ids in both with different content
  size_t unchanged = 0;

  bool empty() const { return added.empty() && removed.empty() && changed.empty(); }
  nlohmann::json ToJson() const;
};

// Compares two sets case by case; ids in each list are sorted. Pure.
GoldenSetDiff Diff(const GoldenSet& from, const GoldenSet& to);

}  // namespace dw::goldenset
