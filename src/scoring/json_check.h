// JSON helpers for `is-json` and `contains-json`: a compiled JSON Schema and
// the extraction of JSON objects embedded in free text.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"

namespace dw::scoring {

// A JSON Schema (draft 7, as implemented by valijson 1.0: every keyword except
// `format` and remote `$ref`s) compiled once. Immutable after Compile();
// Validate() may be called from many threads at once.
class JsonSchema {
 public:
  // Compiles `schema` (an object, or a boolean schema). kInvalidInput with
  // valijson's message if the schema itself is malformed or uses a remote $ref.
  static Result<std::shared_ptr<const JsonSchema>> Compile(const nlohmann::json& schema);

  // Ok if `document` conforms; otherwise kInvalidInput listing up to five
  // violations as "<root>.field: description".
  Status Validate(const nlohmann::json& document) const;

  const nlohmann::json& schema() const { return schema_json_; }

  ~JsonSchema();
  JsonSchema(const JsonSchema&) = delete;
  JsonSchema& operator=(const JsonSchema&) = delete;

 private:
  struct Impl;
  JsonSchema(nlohmann::json schema, std::unique_ptr<Impl> impl);

  nlohmann::json schema_json_;
  std::unique_ptr<Impl> impl_;
};

// The JSON objects embedded in `text`, in order of appearance: from each `{`
// not inside an earlier match, the shortest brace-balanced span (braces inside
// JSON strings ignored) that parses as a JSON object. Spans that do not parse
// are skipped and scanning resumes after their `{`. Only objects are found,
// as in promptfoo's `contains-json`; top-level arrays and scalars are not.
std::vector<nlohmann::json> ExtractJsonObjects(std::string_view text);

// Parses `text` as one JSON document (leading and trailing white space
// allowed, like JSON.parse); kInvalidInput if it is not valid JSON.
Result<nlohmann::json> ParseJson(std::string_view text);

}  // namespace dw::scoring
