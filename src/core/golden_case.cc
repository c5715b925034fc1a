#include "core/golden_case.h"

#include <algorithm>
#include <utility>

#include "core/hash.h"

namespace dw {

nlohmann::json GoldenCase::ToJson() const {
  nlohmann::json json = {{"id", id},           {"description", description}, {"vars", vars},
                         {"assert", asserts},  {"tags", tags},               {"metadata", metadata}};
  json["threshold"] = threshold ? nlohmann::json(*threshold) : nlohmann::json(nullptr);
  if (!group.empty()) json["group"] = group;
  return json;
}

std::string GoldenCase::ContentHash() const { return dw::ContentHash(ToJson()); }

std::optional<GoldenCase> GoldenCaseFromJson(const nlohmann::json& json) {
  if (!json.is_object() || !json.contains("id") || !json["id"].is_string()) return std::nullopt;
  GoldenCase c;
  c.id = json["id"].get<std::string>();
  if (auto it = json.find("description"); it != json.end() && it->is_string()) c.description = *it;
  if (auto it = json.find("vars"); it != json.end() && it->is_object()) c.vars = *it;
  if (auto it = json.find("assert"); it != json.end() && it->is_array()) c.asserts = *it;
  if (auto it = json.find("tags"); it != json.end() && it->is_array()) {
    for (const auto& t : *it)
      if (t.is_string()) c.tags.push_back(t.get<std::string>());
  }
  if (auto it = json.find("metadata"); it != json.end() && it->is_object()) c.metadata = *it;
  if (auto it = json.find("threshold"); it != json.end() && it->is_number()) c.threshold = it->get<double>();
  if (auto it = json.find("group"); it != json.end() && it->is_string()) c.group = it->get<std::string>();
  return c;
}

std::string GoldenSet::ManifestHash() const {
  std::vector<std::pair<std::string, std::string>> entries;
  entries.reserve(cases.size());
  for (const auto& c : cases) entries.emplace_back(c.id, c.ContentHash());
  std::sort(entries.begin(), entries.end());
  nlohmann::json manifest = nlohmann::json::array();
  for (auto& [id, hash] : entries) manifest.push_back({id, hash});
  return dw::ContentHash(manifest);
}

}  // namespace dw
