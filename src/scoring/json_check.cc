#include "scoring/json_check.h"

#include <utility>
#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validation_results.hpp>
#include <valijson/validator.hpp>

#include "core/json_text.h"

#if !VALIJSON_USE_EXCEPTIONS
#error "scoring must be compiled with VALIJSON_USE_EXCEPTIONS=1 (see src/scoring/CMakeLists.txt)"
#endif

namespace dw::scoring {
namespace {

constexpr size_t kMaxReportedViolations = 5;

std::string ContextPath(const std::vector<std::string>& context) {
  std::string path;
  for (const auto& part : context) {
    if (!path.empty() && !part.empty() && part.front() != '[') path.push_back('.');
    path.append(part);
  }
  return path;
}

}  // namespace

struct JsonSchema::Impl {
  valijson::Schema schema;
};

JsonSchema::JsonSchema(nlohmann::json schema, std::unique_ptr<Impl> impl)
    : schema_json_(std::move(schema)), impl_(std::move(impl)) {}

JsonSchema::~JsonSchema() = default;

Result<std::shared_ptr<const JsonSchema>> JsonSchema::Compile(const nlohmann::json& schema) {
  if (!schema.is_object() && !schema.is_boolean())
    return Fail(ErrorKind::kInvalidInput, "a JSON schema must be an object or a boolean, got " +
                                              std::string(schema.type_name()));
  auto impl = std::make_unique<Impl>();
  try {
    valijson::SchemaParser parser(valijson::SchemaParser::kDraft7);
    valijson::adapters::NlohmannJsonAdapter adapter(schema);
    parser.populateSchema(adapter, impl->schema);
  } catch (const std::exception& e) {
    return Fail(ErrorKind::kInvalidInput, std::string("invalid JSON schema: ") + e.what());
  }
  return std::shared_ptr<const JsonSchema>(new JsonSchema(schema, std::move(impl)));
}

Status JsonSchema::Validate(const nlohmann::json& document) const {
  valijson::Validator validator;
  valijson::ValidationResults results;
  valijson::adapters::NlohmannJsonAdapter adapter(document);
  bool valid = false;
  try {
    valid = validator.validate(impl_->schema, adapter, &results);
  } catch (const std::exception& e) {
    return Fail(ErrorKind::kInvalidInput, std::string("schema validation failed: ") + e.what());
  }
  if (valid) return Ok();
  std::string message;
  size_t reported = 0;
  valijson::ValidationResults::Error error;
  while (results.popError(error)) {
    // valijson repeats each failure for every enclosing schema; keep the leaves.
    if (error.description.rfind("Failed to validate against schema associated with property", 0) == 0 ||
        error.description.rfind("Failed to validate item", 0) == 0)
      continue;
    if (reported == kMaxReportedViolations) {
      message.append("; ...");
      break;
    }
    if (reported > 0) message.append("; ");
    message.append(ContextPath(error.context)).append(": ").append(error.description);
    ++reported;
  }
  if (message.empty()) message = "document does not conform to the schema";
  return Fail(ErrorKind::kInvalidInput, message);
}

std::vector<nlohmann::json> ExtractJsonObjects(std::string_view text) {
  std::vector<nlohmann::json> objects;
  // Bounded work: pathological inputs ("{{{{...") cannot make this quadratic
  // beyond the budget; whatever was found until then is returned.
  size_t budget = 16 * text.size() + 65536;
  size_t start = text.find('{');
  while (start != std::string_view::npos) {
    int depth = 0;
    bool in_string = false;
    bool escaped = false;
    size_t end = std::string_view::npos;
    for (size_t i = start; i < text.size(); ++i) {
      if (budget == 0) return objects;
      --budget;
      const char c = text[i];
      if (in_string) {
        if (escaped)
          escaped = false;
        else if (c == '\\')
          escaped = true;
        else if (c == '"')
          in_string = false;
        continue;
      }
      if (c == '"') {
        in_string = true;
      } else if (c == '{') {
        ++depth;
      } else if (c == '}') {
        if (--depth == 0) {
          end = i;
          break;
        }
      }
    }
    if (end != std::string_view::npos) {
      auto parsed = ParseJsonText(text.substr(start, end - start + 1));
      if (parsed && parsed->is_object()) {
        objects.push_back(std::move(*parsed));
        start = text.find('{', end + 1);
        continue;
      }
    }
    start = text.find('{', start + 1);
  }
  return objects;
}

Result<nlohmann::json> ParseJson(std::string_view text) {
  auto parsed = ParseJsonText(text);
  if (!parsed) return Fail(ErrorKind::kInvalidInput, "not valid JSON: " + parsed.error().message);
  return parsed;
}

}  // namespace dw::scoring
