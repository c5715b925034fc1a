// The assertion vocabulary: which promptfoo assertion types driftwatch
// evaluates, how an authored `assert:` list is validated at publish time, and
// the canonical form stored with a published case.
//
// Accepted shape (a subset of promptfoo's assertion object):
//   {type, value, threshold, weight, metric, rubricPrompt}  or
//   {type: assert-set, assert: [...], threshold, weight, metric}
// or a promptfoo shorthand string ("contains:foo", "not-regex:^a",
// "similar(0.8):text", "llm-rubric:...", "grade:...", a plain string means
// `equals`). `type` may carry the `not-` prefix on every type except
// assert-set. `value`, the strings of an array `value` and `metric` may use
// {{var}} templates over the case vars (core/template.h).
//
// Rejected at publish time, never skipped: unknown types, promptfoo types we
// do not evaluate (javascript, python, webhook, g-eval, ...), unknown fields,
// promptfoo fields we do not honour (provider, transform, contextTransform,
// config, options), wrong value types, a `threshold` on a type that ignores
// it, a missing threshold on latency/cost, nested assert-sets.
//
// Supported types and their values (promptfoo semantics unless noted):
//   equals                  any JSON; objects/arrays compare deep-equal with the
//                           output parsed as JSON, scalars as text
//   contains, icontains,    non-empty string or number
//   starts-with
//   contains-any/-all,      array of strings/numbers, or a comma-separated
//   icontains-any/-all      string ("a, \"b,c\"" -> ["a", "b,c"])
//   regex                   RE2 pattern, partial match (JavaScript-only syntax
//                           such as look-arounds is rejected)
//   is-json, contains-json  optional JSON Schema (object, boolean or JSON text)
//   levenshtein             reference string; threshold = max edit distance (5)
//   rouge-n                 reference string; threshold 0.75
//   bleu                    reference string or list; threshold 0.5
//   similar (= similar:cosine), similar:dot, similar:euclidean
//                           string or list; threshold 0.75 (euclidean: max
//                           distance); needs the embeddings grader
//   word-count              number (exact) or {min, max}
//   character-count         number (exact) or {min, max}; counts code points
//                           (promptfoo's upcoming name; not in 0.123.1)
//   latency                 threshold in ms required; no value
//   cost                    threshold in USD required; no value
//   finish-reason           string, compared case-insensitively
//   is-refusal              no value (heuristic; text_metrics.h)
//   llm-rubric              rubric string or object; optional threshold (the
//                           judge's score must also reach it); optional
//                           rubricPrompt template ({{output}}, {{rubric}}, vars)
//   factuality (alias model-graded-factuality)
//                           expert answer string; optional rubricPrompt
//                           ({{input}}, {{ideal}}, {{completion}}, vars)
//   assert-set              `assert` list; threshold = minimum weighted score
//
// Canonical form (NormalizeAssertions): deterministic and idempotent, so
// semantically equal authored lists hash equally:
//   - shorthand strings become objects; aliases become their canonical type
//     (model-graded-factuality -> factuality, similar:cosine -> similar);
//   - numbers in weight, threshold and counts have one spelling (1.0 -> 1);
//   - `weight` is always present (default 1); the default threshold of
//     levenshtein/rouge-n/bleu/similar* is written out, so a published case
//     keeps its meaning if a default ever changes;
//   - scalar text values are strings (contains: 42 -> "42"; equals: true ->
//     "true"), numeric strings in word/character-count become numbers;
//   - a comma-separated *-any/*-all string without templates becomes a list;
//   - a JSON Schema given as JSON text without templates becomes an object;
//   - an empty is-json/contains-json value is dropped.
// Everything else is kept as authored; key order does not matter because
// content hashes use canonical JSON.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"

namespace dw::scoring {

// Base assertion types (without `not-`).
enum class AssertionType {
  kEquals,
  kContains,
  kIContains,
  kContainsAny,
  kContainsAll,
  kIContainsAny,
  kIContainsAll,
  kStartsWith,
  kRegex,
  kIsJson,
  kContainsJson,
  kLevenshtein,
  kRougeN,
  kBleu,
  kSimilar,
  kSimilarDot,
  kSimilarEuclidean,
  kWordCount,
  kCharacterCount,
  kLatency,
  kCost,
  kFinishReason,
  kIsRefusal,
  kLlmRubric,
  kFactuality,
  kAssertSet,
};

// Static facts about one supported type.
struct AssertionTypeInfo {
  AssertionType type;
  std::string_view name;                  // canonical promptfoo name
  bool negatable;                         // `not-<name>` allowed
  bool needs_judge;                       // calls ModelGrader::Grade
  bool needs_embeddings;                  // calls ModelGrader::Embed
  bool uses_threshold;                    // `threshold` means something
  bool requires_threshold;                // `threshold` must be given
  std::optional<double> default_threshold;
};

// Every supported type, sorted by name.
const std::vector<AssertionTypeInfo>& SupportedAssertionTypes();

// "assert-set, bleu, contains, ..." — the list quoted in error messages.
const std::string& SupportedAssertionTypeList();

// The info for a base type name or alias (no `not-`); nullptr if unsupported.
const AssertionTypeInfo* FindAssertionType(std::string_view name);

// The info for a type enumerator (never null).
const AssertionTypeInfo& InfoFor(AssertionType type);

// True for names in promptfoo 0.123.1's assertion vocabulary (base names,
// select-best, max-score, human, promptfoo:redteam:*), supported or not.
bool IsPromptfooAssertionType(std::string_view name);

// Expands promptfoo's string shorthand (CSV `__expected` syntax):
// "[not-]<type>[(<threshold>)][:<value>]"; "grade:" and "llm-rubric:" mean
// llm-rubric; *-any/*-all values split on commas; similar without a threshold
// gets promptfoo's CSV default 0.8; anything else is {type: equals, value:
// text}. Code-executing forms (javascript:, fn:, eval:, python:, file://) are
// kInvalidInput. The result still needs NormalizeAssertions.
Result<nlohmann::json> AssertionFromShorthand(std::string_view text);

// Splits a promptfoo comma-separated value: fields are trimmed, empty fields
// skipped, a field may be double-quoted (with \" \\ or "" escapes) to contain
// commas. kInvalidInput on an unterminated quote or text after a closing quote.
Result<std::vector<std::string>> SplitCommaSeparated(std::string_view text);

// Validates `asserts` (a JSON array of assertion objects or shorthand strings)
// and returns its canonical form (see the file comment). Errors are
// kInvalidInput and name the path ("assert[2].assert[0].threshold"), what is
// wrong and what is allowed; an unsupported type lists the supported ones.
Result<nlohmann::json> NormalizeAssertions(const nlohmann::json& asserts);

// NormalizeAssertions without the result: the publish-time check.
Status ValidateAssertions(const nlohmann::json& asserts);

// JavaScript's String(value) for a JSON scalar ("3" for 3 and 3.0, "0.5",
// "true"); strings are returned verbatim. Used where promptfoo coerces a
// value to text.
std::string JsonScalarToString(const nlohmann::json& value);

}  // namespace dw::scoring
