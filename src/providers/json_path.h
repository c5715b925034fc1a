// A small JSONPath subset for pulling values out of provider responses:
// "$.choices[0].message.content", "$['odd key'].x", "$.items[-1]".
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/status.h"

namespace dw::providers {

// A parsed path: a "$" root followed by steps `.name`, `['name']`,
// `["name"]` and `[index]` (negative indexes count from the end). The
// leading "$" may be omitted ("a.b[0]"). Immutable; thread-safe.
class JsonPath {
 public:
  // kInvalidInput naming the offending position for malformed paths.
  static Result<JsonPath> Parse(std::string_view text);

  // The value at the path, or nullptr if any step does not exist. The
  // pointer refers into `root`.
  const nlohmann::json* Find(const nlohmann::json& root) const;

  bool is_root() const { return steps_.empty(); }
  const std::string& text() const { return text_; }

 private:
  using Step = std::variant<std::string, long long>;
  std::string text_;
  std::vector<Step> steps_;
};

// A token count reported by a provider (usage fields): a non-negative JSON
// number, fractions truncated. std::nullopt for anything else, including
// negative numbers and numbers above 2^53. Pure.
std::optional<std::int64_t> TokenCount(const nlohmann::json& value);

}  // namespace dw::providers
