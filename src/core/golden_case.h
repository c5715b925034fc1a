// Golden-set cases as published: the immutable unit of evaluation.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace dw {

// One test case. `asserts` holds normalised assertion objects (see
// scoring/assertion.h for the accepted shape); `vars` is a JSON object whose
// values fill the target's prompt template.
struct GoldenCase {
  std::string id;
  std::string description;
  nlohmann::json vars = nlohmann::json::object();
  nlohmann::json asserts = nlohmann::json::array();
  std::vector<std::string> tags;
  nlohmann::json metadata = nlohmann::json::object();
  std::optional<double> threshold;  // promptfoo test-level threshold
  // Cases sharing a group (same template, document, conversation) are not
  // independent: comparisons resample and flip them as one cluster. Empty:
  // the case is its own group.
  std::string group;

  // The canonical JSON object that identifies the case's content (everything
  // above, with keys in a fixed order). Two cases with equal content have
  // equal canonical JSON and equal ContentHash(). "group" is present only
  // when set, so cases without a group hash as they did before groups
  // existed.
  nlohmann::json ToJson() const;
  std::string ContentHash() const;
};

// Inverse of GoldenCase::ToJson for rows read back from storage. Returns
// std::nullopt if `json` is not an object with a string "id".
std::optional<GoldenCase> GoldenCaseFromJson(const nlohmann::json& json);

// A whole golden set in memory, in file order.
struct GoldenSet {
  std::string name;
  std::string description;
  std::vector<GoldenCase> cases;

  // SHA-256 over the sorted list of (case id, case content hash): independent
  // of case order in the file.
  std::string ManifestHash() const;
};

}  // namespace dw
