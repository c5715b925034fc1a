#include "scoring/assertion.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <utility>

#include <re2/re2.h>

#include "core/template.h"
#include "scoring/json_check.h"

namespace dw::scoring {
namespace {

using nlohmann::json;

constexpr std::string_view kNotPrefix = "not-";

// promptfoo 0.123.1's BaseAssertionTypesSchema plus its special types.
constexpr std::string_view kPromptfooTypes[] = {
    "agent-rubric", "answer-relevance", "assert-set", "bleu", "classifier", "contains", "contains-all",
    "contains-any", "contains-html", "contains-json", "contains-sql", "contains-xml", "context-faithfulness",
    "context-recall", "context-relevance", "conversation-relevance", "cost", "equals", "factuality",
    "finish-reason", "g-eval", "gleu", "guardrails", "human", "icontains", "icontains-all", "icontains-any",
    "is-html", "is-json", "is-refusal", "is-sql", "is-valid-function-call", "is-valid-openai-function-call",
    "is-valid-openai-tools-call", "is-xml", "javascript", "latency", "levenshtein", "llm-rubric", "max-score",
    "meteor", "model-graded-closedqa", "model-graded-factuality", "moderation", "perplexity", "perplexity-score",
    "pi", "python", "regex", "rouge-n", "ruby", "search-rubric", "select-best", "similar", "similar:cosine",
    "similar:dot", "similar:euclidean", "skill-used", "starts-with", "tool-call-f1", "trace-error-spans",
    "trace-span-count", "trace-span-duration", "trajectory:goal-success", "trajectory:step-count",
    "trajectory:tool-args-match", "trajectory:tool-sequence", "trajectory:tool-used", "webhook", "word-count",
};

// Fields of promptfoo's assertion object that driftwatch refuses, and why.
struct RefusedField {
  std::string_view name;
  std::string_view why;
};
constexpr RefusedField kRefusedFields[] = {
    {"$ref", "assertion templates must be expanded before publishing"},
    {"config", "no supported assertion type reads config"},
    {"contextTransform", "transforms run JavaScript, which cannot be pinned by a content hash"},
    {"options", "per-assertion options are not supported"},
    {"provider", "the judge and embeddings targets are pinned per scorer configuration, not per assertion"},
    {"transform", "transforms run JavaScript, which cannot be pinned by a content hash"},
};

std::vector<AssertionTypeInfo> BuildTypes() {
  using T = AssertionType;
  // {type, name, negatable, judge, embeddings, uses_threshold, requires_threshold, default}
  std::vector<AssertionTypeInfo> types = {
      {T::kAssertSet, "assert-set", false, false, false, true, false, std::nullopt},
      {T::kBleu, "bleu", true, false, false, true, false, 0.5},
      {T::kCharacterCount, "character-count", true, false, false, false, false, std::nullopt},
      {T::kContains, "contains", true, false, false, false, false, std::nullopt},
      {T::kContainsAll, "contains-all", true, false, false, false, false, std::nullopt},
      {T::kContainsAny, "contains-any", true, false, false, false, false, std::nullopt},
      {T::kContainsJson, "contains-json", true, false, false, false, false, std::nullopt},
      {T::kCost, "cost", true, false, false, true, true, std::nullopt},
      {T::kEquals, "equals", true, false, false, false, false, std::nullopt},
      {T::kFactuality, "factuality", true, true, false, false, false, std::nullopt},
      {T::kFinishReason, "finish-reason", true, false, false, false, false, std::nullopt},
      {T::kIContains, "icontains", true, false, false, false, false, std::nullopt},
      {T::kIContainsAll, "icontains-all", true, false, false, false, false, std::nullopt},
      {T::kIContainsAny, "icontains-any", true, false, false, false, false, std::nullopt},
      {T::kIsJson, "is-json", true, false, false, false, false, std::nullopt},
      {T::kIsRefusal, "is-refusal", true, false, false, false, false, std::nullopt},
      {T::kLatency, "latency", true, false, false, true, true, std::nullopt},
      {T::kLevenshtein, "levenshtein", true, false, false, true, false, 5.0},
      {T::kLlmRubric, "llm-rubric", true, true, false, true, false, std::nullopt},
      {T::kRegex, "regex", true, false, false, false, false, std::nullopt},
      {T::kRougeN, "rouge-n", true, false, false, true, false, 0.75},
      {T::kSimilar, "similar", true, false, true, true, false, 0.75},
      {T::kSimilarDot, "similar:dot", true, false, true, true, false, 0.75},
      {T::kSimilarEuclidean, "similar:euclidean", true, false, true, true, false, 0.75},
      {T::kStartsWith, "starts-with", true, false, false, false, false, std::nullopt},
      {T::kWordCount, "word-count", true, false, false, false, false, std::nullopt},
  };
  return types;
}

struct Alias {
  std::string_view alias;
  std::string_view canonical;
};
constexpr Alias kAliases[] = {
    {"model-graded-factuality", "factuality"},
    {"similar:cosine", "similar"},
};

std::string Join(const std::vector<std::string_view>& parts) {
  std::string out;
  for (size_t i = 0; i < parts.size(); ++i) {
    if (i > 0) out.append(", ");
    out.append(parts[i]);
  }
  return out;
}

tl::unexpected<Error> Invalid(const std::string& path, const std::string& message) {
  return Fail(ErrorKind::kInvalidInput, path + ": " + message);
}

bool IsNumber(const json& v) { return v.is_number() && std::isfinite(v.get<double>()); }

// One JSON spelling per number, so 1, 1.0 and 1e0 hash equally: integral
// values within 2^53 become integers, everything else a double.
json CanonicalNumber(double d) {
  if (d == std::floor(d) && std::fabs(d) <= 9007199254740992.0) return json(static_cast<int64_t>(d));
  return json(d);
}

std::string TypeName(const json& v) { return v.is_number() ? "number" : std::string(v.type_name()); }

bool StartsWith(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

// A number written as a string ("50"), as promptfoo's count assertions accept.
bool NumericString(const json& v, double* out) {
  if (!v.is_string()) return false;
  const std::string& text = v.get_ref<const std::string&>();
  if (text.empty()) return false;
  char* end = nullptr;
  double parsed = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size() || !std::isfinite(parsed)) return false;
  *out = parsed;
  return true;
}

Result<json> NonEmptyString(const json& v, const std::string& path, std::string_view type) {
  if (!v.is_string() || v.get_ref<const std::string&>().empty())
    return Invalid(path, std::string(type) + " needs a non-empty string value, got " +
                             (v.is_string() ? "an empty string" : TypeName(v)));
  return v;
}

Result<json> StringOrNumber(const json& v, const std::string& path, std::string_view type) {
  if (IsNumber(v)) return json(JsonScalarToString(v));
  return NonEmptyString(v, path, type);
}

Result<json> TextList(const json& v, const std::string& path, std::string_view type, bool allow_numbers) {
  const std::string expected = allow_numbers ? "a string or number" : "a non-empty string";
  if (!v.is_array() || v.empty())
    return Invalid(path, std::string(type) + " needs a non-empty list value, got " +
                             (v.is_array() ? "an empty list" : TypeName(v)));
  json out = json::array();
  for (size_t i = 0; i < v.size(); ++i) {
    const json& item = v[i];
    std::string item_path = path + "[" + std::to_string(i) + "]";
    if (allow_numbers && IsNumber(item)) {
      out.push_back(JsonScalarToString(item));
    } else if (item.is_string() && !item.get_ref<const std::string&>().empty()) {
      out.push_back(item);
    } else {
      return Invalid(item_path, "must be " + expected + ", got " +
                                    (item.is_string() ? "an empty string" : TypeName(item)));
    }
  }
  return out;
}

Result<json> CountBounds(const json& v, const std::string& path, std::string_view type) {
  double number = 0.0;
  if (IsNumber(v) || NumericString(v, &number)) {
    double n = v.is_number() ? v.get<double>() : number;
    if (n < 0) return Invalid(path, std::string(type) + " count must not be negative, got " + JsonScalarToString(v));
    return CanonicalNumber(n);
  }
  if (!v.is_object())
    return Invalid(path, std::string(type) + " needs a number or an object {min, max}, got " + TypeName(v));
  json out = json::object();
  for (const auto& [key, bound] : v.items()) {
    if (key != "min" && key != "max")
      return Invalid(path + "." + key, "unknown field; allowed fields: min, max");
    if (!IsNumber(bound) || bound.get<double>() < 0)
      return Invalid(path + "." + key, "must be a non-negative number, got " + TypeName(bound));
    out[key] = CanonicalNumber(bound.get<double>());
  }
  if (out.empty()) return Invalid(path, std::string(type) + " needs \"min\" and/or \"max\"");
  if (out.contains("min") && out.contains("max") && out["min"].get<double>() > out["max"].get<double>())
    return Invalid(path, "min (" + JsonScalarToString(out["min"]) + ") must not exceed max (" +
                             JsonScalarToString(out["max"]) + ")");
  return out;
}

Result<json> SchemaValue(const json& v, const std::string& path) {
  json schema = v;
  if (v.is_string()) {
    const std::string& text = v.get_ref<const std::string&>();
    if (HasTemplate(text)) return v;
    auto parsed = ParseJson(text);
    if (!parsed) return Invalid(path, "a JSON schema given as text must be valid JSON");
    schema = std::move(*parsed);
  }
  if (!schema.is_object() && !schema.is_boolean())
    return Invalid(path, "a JSON schema must be an object or a boolean, got " + TypeName(schema));
  auto compiled = JsonSchema::Compile(schema);
  if (!compiled) return Invalid(path, compiled.error().message);
  return schema;
}

// The canonical value for `info`, or a null json when the type has no value.
Result<json> NormalizeValue(const AssertionTypeInfo& info, const json* value, const std::string& path) {
  using T = AssertionType;
  const std::string name(info.name);
  const bool absent = value == nullptr || value->is_null();
  switch (info.type) {
    case T::kLatency:
    case T::kCost:
    case T::kIsRefusal:
    case T::kAssertSet:
      if (!absent) return Invalid(path, name + " takes no value");
      return json(nullptr);
    case T::kIsJson:
    case T::kContainsJson:
      if (absent || (value->is_string() && value->get_ref<const std::string&>().empty())) return json(nullptr);
      return SchemaValue(*value, path);
    default:
      break;
  }
  if (absent) return Invalid(path, name + " needs a value");
  const json& v = *value;
  switch (info.type) {
    case T::kEquals:
      if (v.is_object() || v.is_array()) return v;
      return json(JsonScalarToString(v));
    case T::kContains:
    case T::kIContains:
    case T::kStartsWith:
      return StringOrNumber(v, path, name);
    case T::kContainsAny:
    case T::kContainsAll:
    case T::kIContainsAny:
    case T::kIContainsAll: {
      if (v.is_string()) {
        const std::string& text = v.get_ref<const std::string&>();
        if (HasTemplate(text)) return v;
        auto parts = SplitCommaSeparated(text);
        if (!parts) return Invalid(path, parts.error().message);
        if (parts->empty()) return Invalid(path, name + " needs at least one value");
        return json(*parts);
      }
      return TextList(v, path, name, /*allow_numbers=*/true);
    }
    case T::kRegex: {
      auto pattern = NonEmptyString(v, path, name);
      if (!pattern) return pattern;
      const std::string& text = v.get_ref<const std::string&>();
      if (!HasTemplate(text)) {
        RE2 re(text, RE2::Quiet);
        if (!re.ok()) return Invalid(path, "invalid RE2 pattern: " + re.error());
      }
      return pattern;
    }
    case T::kLevenshtein:
    case T::kRougeN:
    case T::kFactuality:
    case T::kFinishReason:
      return NonEmptyString(v, path, name);
    case T::kBleu:
    case T::kSimilar:
    case T::kSimilarDot:
    case T::kSimilarEuclidean:
      if (v.is_string()) return NonEmptyString(v, path, name);
      return TextList(v, path, name, /*allow_numbers=*/false);
    case T::kWordCount:
    case T::kCharacterCount:
      return CountBounds(v, path, name);
    case T::kLlmRubric:
      if (v.is_object() && !v.empty()) return v;
      if (v.is_string()) return NonEmptyString(v, path, name);
      return Invalid(path, "llm-rubric needs a rubric string or object, got " + TypeName(v));
    default:
      return Invalid(path, "internal: no value rule for " + name);
  }
}

Result<json> NormalizeOne(const json& authored, const std::string& path, bool inside_set) {
  json object = authored;
  if (authored.is_string()) {
    auto expanded = AssertionFromShorthand(authored.get_ref<const std::string&>());
    if (!expanded) return Invalid(path, expanded.error().message);
    object = std::move(*expanded);
  }
  if (!object.is_object())
    return Invalid(path, "an assertion must be an object or a shorthand string, got " + TypeName(object));

  auto type_it = object.find("type");
  if (type_it == object.end())
    return Invalid(path + ".type", "missing; supported types: " + SupportedAssertionTypeList());
  if (!type_it->is_string()) return Invalid(path + ".type", "must be a string, got " + TypeName(*type_it));
  const std::string& authored_type = type_it->get_ref<const std::string&>();
  const bool inverse = StartsWith(authored_type, kNotPrefix);
  const std::string base = inverse ? authored_type.substr(kNotPrefix.size()) : authored_type;
  const AssertionTypeInfo* info = FindAssertionType(base);
  if (info == nullptr) {
    std::string what = IsPromptfooAssertionType(base)
                           ? "promptfoo assertion type \"" + authored_type + "\" is not supported by driftwatch"
                           : "unknown assertion type \"" + authored_type + "\"";
    return Invalid(path + ".type", what + "; supported types: " + SupportedAssertionTypeList());
  }
  if (inverse && !info->negatable)
    return Invalid(path + ".type", "\"" + std::string(info->name) + "\" cannot be negated with \"not-\"");
  if (inside_set && info->type == AssertionType::kAssertSet)
    return Invalid(path + ".type", "an assert-set cannot contain another assert-set");

  const bool is_set = info->type == AssertionType::kAssertSet;
  const bool takes_rubric_prompt =
      info->type == AssertionType::kLlmRubric || info->type == AssertionType::kFactuality;
  std::vector<std::string_view> allowed = {"type"};
  if (is_set) allowed.push_back("assert");
  if (!is_set) allowed.push_back("value");
  allowed.insert(allowed.end(), {"threshold", "weight", "metric"});
  if (takes_rubric_prompt) allowed.push_back("rubricPrompt");
  for (const auto& [key, unused] : object.items()) {
    if (std::find(allowed.begin(), allowed.end(), key) != allowed.end()) continue;
    for (const RefusedField& refused : kRefusedFields)
      if (key == refused.name)
        return Invalid(path + "." + key, "not supported by driftwatch (" + std::string(refused.why) + ")");
    return Invalid(path + "." + key,
                   "unknown field for " + std::string(info->name) + "; allowed fields: " + Join(allowed));
  }

  json out = json::object();
  out["type"] = std::string(inverse ? kNotPrefix : "") + std::string(info->name);

  if (!is_set) {
    auto value_it = object.find("value");
    auto value = NormalizeValue(*info, value_it == object.end() ? nullptr : &*value_it, path + ".value");
    if (!value) return tl::unexpected(value.error());
    if (!value->is_null()) out["value"] = std::move(*value);
  }

  if (auto it = object.find("threshold"); it != object.end() && !it->is_null()) {
    if (!info->uses_threshold)
      return Invalid(path + ".threshold", std::string(info->name) + " does not use a threshold");
    if (!IsNumber(*it)) return Invalid(path + ".threshold", "must be a number, got " + TypeName(*it));
    const double t = it->get<double>();
    const bool non_negative = info->type == AssertionType::kLevenshtein || info->type == AssertionType::kLatency ||
                              info->type == AssertionType::kCost ||
                              info->type == AssertionType::kSimilarEuclidean;
    if (non_negative && t < 0) return Invalid(path + ".threshold", "must not be negative");
    out["threshold"] = CanonicalNumber(t);
  } else if (info->requires_threshold) {
    return Invalid(path + ".threshold", std::string(info->name) + " requires a threshold (" +
                                            (info->type == AssertionType::kLatency ? "milliseconds" : "USD") + ")");
  } else if (info->default_threshold) {
    out["threshold"] = CanonicalNumber(*info->default_threshold);
  }

  if (auto it = object.find("weight"); it != object.end()) {
    if (!IsNumber(*it) || it->get<double>() < 0)
      return Invalid(path + ".weight", "must be a non-negative number, got " +
                                           (IsNumber(*it) ? JsonScalarToString(*it) : TypeName(*it)));
    out["weight"] = CanonicalNumber(it->get<double>());
  } else {
    out["weight"] = 1;
  }

  if (auto it = object.find("metric"); it != object.end()) {
    if (!it->is_string() || it->get_ref<const std::string&>().empty())
      return Invalid(path + ".metric", "must be a non-empty string");
    out["metric"] = *it;
  }

  if (auto it = object.find("rubricPrompt"); it != object.end()) {
    if (!it->is_string() || it->get_ref<const std::string&>().empty())
      return Invalid(path + ".rubricPrompt", "must be a non-empty string template");
    out["rubricPrompt"] = *it;
  }

  if (is_set) {
    auto children = object.find("assert");
    if (children == object.end() || !children->is_array() || children->empty())
      return Invalid(path + ".assert", "an assert-set needs a non-empty list of assertions");
    json normalized = json::array();
    for (size_t i = 0; i < children->size(); ++i) {
      auto child = NormalizeOne((*children)[i], path + ".assert[" + std::to_string(i) + "]", true);
      if (!child) return child;
      normalized.push_back(std::move(*child));
    }
    out["assert"] = std::move(normalized);
  }
  return out;
}

}  // namespace

const std::vector<AssertionTypeInfo>& SupportedAssertionTypes() {
  static const std::vector<AssertionTypeInfo> types = BuildTypes();
  return types;
}

const std::string& SupportedAssertionTypeList() {
  static const std::string list = [] {
    std::vector<std::string_view> names;
    for (const auto& info : SupportedAssertionTypes()) names.push_back(info.name);
    std::string text = Join(names);
    text.append(" (aliases: ");
    for (size_t i = 0; i < std::size(kAliases); ++i) {
      if (i > 0) text.append(", ");
      text.append(kAliases[i].alias).append(" = ").append(kAliases[i].canonical);
    }
    text.append("); every type except assert-set may be prefixed with \"not-\"");
    return text;
  }();
  return list;
}

const AssertionTypeInfo* FindAssertionType(std::string_view name) {
  for (const Alias& alias : kAliases)
    if (name == alias.alias) name = alias.canonical;
  for (const auto& info : SupportedAssertionTypes())
    if (info.name == name) return &info;
  return nullptr;
}

const AssertionTypeInfo& InfoFor(AssertionType type) {
  for (const auto& info : SupportedAssertionTypes())
    if (info.type == type) return info;
  return SupportedAssertionTypes().front();
}

bool IsPromptfooAssertionType(std::string_view name) {
  if (StartsWith(name, "promptfoo:redteam:")) return true;
  for (std::string_view known : kPromptfooTypes)
    if (known == name) return true;
  return false;
}

Result<std::vector<std::string>> SplitCommaSeparated(std::string_view text) {
  auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; };
  std::vector<std::string> fields;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && (is_space(text[i]) || text[i] == ',')) ++i;
    if (i >= text.size()) break;
    if (text[i] != '"') {
      size_t start = i;
      while (i < text.size() && text[i] != ',') ++i;
      std::string_view field = text.substr(start, i - start);
      while (!field.empty() && is_space(field.back())) field.remove_suffix(1);
      fields.emplace_back(field);
      continue;
    }
    std::string field;
    bool closed = false;
    ++i;
    while (i < text.size()) {
      if (text[i] == '\\' && i + 1 < text.size() && (text[i + 1] == '"' || text[i + 1] == '\\')) {
        field.push_back(text[i + 1]);
        i += 2;
      } else if (text[i] == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        field.push_back('"');
        i += 2;
      } else if (text[i] == '"') {
        ++i;
        closed = true;
        break;
      } else {
        field.push_back(text[i++]);
      }
    }
    if (!closed) return Fail(ErrorKind::kInvalidInput, "unterminated quoted field in comma-separated value");
    while (i < text.size() && is_space(text[i])) ++i;
    if (i < text.size() && text[i] != ',')
      return Fail(ErrorKind::kInvalidInput, "expected a comma after a quoted field in comma-separated value");
    fields.push_back(std::move(field));
  }
  return fields;
}

Result<json> AssertionFromShorthand(std::string_view text) {
  static constexpr std::string_view kCodePrefixes[] = {"javascript:", "fn:", "eval:", "python:", "file://"};
  for (std::string_view prefix : kCodePrefixes)
    if (StartsWith(text, prefix))
      return Fail(ErrorKind::kInvalidInput,
                  "shorthand \"" + std::string(prefix) +
                      "...\" runs code or reads files, which driftwatch does not support; supported types: " +
                      SupportedAssertionTypeList());
  if (StartsWith(text, "grade:")) return json{{"type", "llm-rubric"}, {"value", std::string(text.substr(6))}};
  if (StartsWith(text, "llm-rubric:")) return json{{"type", "llm-rubric"}, {"value", std::string(text.substr(11))}};

  const bool inverse = StartsWith(text, kNotPrefix);
  std::string_view rest = inverse ? text.substr(kNotPrefix.size()) : text;
  std::string_view type;
  for (std::string_view candidate : kPromptfooTypes) {
    if (!StartsWith(rest, candidate) || candidate.size() <= type.size()) continue;
    if (rest.size() == candidate.size() || rest[candidate.size()] == '(' || rest[candidate.size()] == ':')
      type = candidate;
  }
  if (type.empty()) return json{{"type", "equals"}, {"value", std::string(text)}};
  rest.remove_prefix(type.size());

  std::optional<double> threshold;
  if (!rest.empty() && rest.front() == '(') {
    size_t close = rest.find(')');
    std::string number(rest.substr(1, close == std::string_view::npos ? 0 : close - 1));
    const bool digits = !number.empty() && std::all_of(number.begin(), number.end(), [](char c) {
      return (c >= '0' && c <= '9') || c == '.';
    });
    if (close == std::string_view::npos || !digits) return json{{"type", "equals"}, {"value", std::string(text)}};
    threshold = std::strtod(number.c_str(), nullptr);
    rest.remove_prefix(close + 1);
  }
  std::optional<std::string> value;
  if (!rest.empty()) {
    if (rest.front() != ':') return json{{"type", "equals"}, {"value", std::string(text)}};
    value = std::string(rest.substr(1));
  }

  json out = {{"type", std::string(inverse ? kNotPrefix : "") + std::string(type)}};
  const bool list_type =
      type == "contains-all" || type == "contains-any" || type == "icontains-all" || type == "icontains-any";
  if (value && list_type) {
    json items = json::array();
    size_t start = 0;
    while (start <= value->size()) {
      size_t comma = value->find(',', start);
      std::string item = value->substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      size_t b = item.find_first_not_of(" \t\r\n");
      size_t e = item.find_last_not_of(" \t\r\n");
      if (b != std::string::npos) items.push_back(item.substr(b, e - b + 1));
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    out["value"] = std::move(items);
  } else if (value && !value->empty()) {
    out["value"] = *value;
  }
  if (threshold && *threshold != 0.0)
    out["threshold"] = *threshold;
  else if (type == "similar")
    out["threshold"] = 0.8;
  return out;
}

Result<json> NormalizeAssertions(const json& asserts) {
  if (asserts.is_null()) return json::array();
  if (!asserts.is_array()) return Invalid("assert", "must be a list of assertions, got " + TypeName(asserts));
  json out = json::array();
  for (size_t i = 0; i < asserts.size(); ++i) {
    auto one = NormalizeOne(asserts[i], "assert[" + std::to_string(i) + "]", false);
    if (!one) return one;
    out.push_back(std::move(*one));
  }
  return out;
}

Status ValidateAssertions(const json& asserts) {
  auto normalized = NormalizeAssertions(asserts);
  if (!normalized) return tl::unexpected(normalized.error());
  return Ok();
}

std::string JsonScalarToString(const json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_number_integer()) return value.dump();
  if (value.is_number_float()) {
    const double d = value.get<double>();
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 1e21) {
      char buffer[32];
      std::snprintf(buffer, sizeof buffer, "%.0f", d);
      return buffer == std::string("-0") ? "0" : buffer;
    }
    return value.dump();
  }
  if (value.is_boolean()) return value.get<bool>() ? "true" : "false";
  if (value.is_null()) return "null";
  return value.dump();
}

}  // namespace dw::scoring
