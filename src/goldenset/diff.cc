#include "goldenset/diff.h"

#include <algorithm>
#include <map>

namespace dw::goldenset {

nlohmann::json GoldenSetDiff::ToJson() const {
  return {{"added", added}, {"removed", removed}, {"changed", changed}, {"unchanged", unchanged}};
}

GoldenSetDiff Diff(const GoldenSet& from, const GoldenSet& to) {
  std::map<std::string, std::string> before, after;
  for (const auto& c : from.cases) before[c.id] = c.ContentHash();
  for (const auto& c : to.cases) after[c.id] = c.ContentHash();
  GoldenSetDiff diff;
  for (const auto& [id, hash] : after) {
    auto it = before.find(id);
    if (it == before.end())
      diff.added.push_back(id);
    else if (it->second != hash)
      diff.changed.push_back(id);
    else
      ++diff.unchanged;
  }
  for (const auto& [id, hash] : before)
    if (!after.count(id)) diff.removed.push_back(id);
  return diff;
}

}  // namespace dw::goldenset
