#include "scoring/assertion.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/hash.h"

namespace dw::scoring {
namespace {

using nlohmann::json;
using ::testing::AllOf;
using ::testing::HasSubstr;

std::string ErrorOf(const json& asserts) {
  Status status = ValidateAssertions(asserts);
  EXPECT_FALSE(status) << "expected a validation error for " << asserts.dump();
  if (status) return "";
  EXPECT_EQ(status.error().kind, ErrorKind::kInvalidInput);
  return status.error().message;
}

json Normalized(const json& asserts) {
  auto normalized = NormalizeAssertions(asserts);
  EXPECT_TRUE(normalized) << normalized.error().message;
  return normalized ? *normalized : json();
}

TEST(ValidateAssertions, RejectsJavascriptListingTheSupportedTypes) {
  std::string message = ErrorOf(json::parse(R"([{"type": "contains", "value": "a"},
                                                 {"type": "javascript", "value": "output.length > 3"}])"));
  EXPECT_THAT(message, AllOf(HasSubstr("assert[1].type"), HasSubstr("\"javascript\" is not supported"),
                             HasSubstr("supported types: assert-set, bleu, character-count, contains"),
                             HasSubstr("llm-rubric"), HasSubstr("word-count"), HasSubstr("\"not-\"")));
}

TEST(ValidateAssertions, RejectsPythonAndOtherPromptfooTypesWeDoNotRun) {
  for (const char* type : {"python", "webhook", "g-eval", "not-moderation", "promptfoo:redteam:harmful"})
    EXPECT_THAT(ErrorOf(json::array({{{"type", type}, {"value", "x"}}})), HasSubstr("is not supported by driftwatch"))
        << type;
}

TEST(ValidateAssertions, NamesAnUnknownTypeAsUnknown) {
  EXPECT_THAT(ErrorOf(json::parse(R"([{"type": "contians", "value": "a"}])")),
              AllOf(HasSubstr("assert[0].type: unknown assertion type \"contians\""), HasSubstr("supported types:")));
}

TEST(ValidateAssertions, RequiresAType) {
  EXPECT_THAT(ErrorOf(json::parse(R"([{"value": "a"}])")), HasSubstr("assert[0].type: missing"));
}

TEST(ValidateAssertions, RejectsNegatedAssertSet) {
  EXPECT_THAT(ErrorOf(json::parse(R"([{"type": "not-assert-set", "assert": [{"type": "contains", "value": "a"}]}])")),
              HasSubstr("\"assert-set\" cannot be negated"));
}

TEST(ValidateAssertions, RejectsNestedAssertSetsWithTheirPath) {
  std::string message = ErrorOf(json::parse(R"([{"type": "assert-set", "assert": [
      {"type": "contains", "value": "a"},
      {"type": "assert-set", "assert": [{"type": "contains", "value": "b"}]}]}])"));
  EXPECT_THAT(message, HasSubstr("assert[0].assert[1].type: an assert-set cannot contain another assert-set"));
}

TEST(ValidateAssertions, ReportsAWrongValueTypeWithItsPath) {
  EXPECT_THAT(ErrorOf(json::parse(R"([{"type": "contains", "value": ["a"]}])")),
              HasSubstr("assert[0].value: contains needs a non-empty string value, got array"));
  EXPECT_THAT(ErrorOf(json::parse(R"([{"type": "contains-any", "value": ["a", {"b": 1}]}])")),
              HasSubstr("assert[0].value[1]: must be a string or number, got object"));
  EXPECT_THAT(ErrorOf(json::parse(R"([{"type": "word-count", "value": {"min": 10, "max": 2}}])")),
              HasSubstr("min (10) must not exceed max (2)"));
  EXPECT_THAT(ErrorOf(json::parse(R"([{"type": "is-refusal", "value": "x"}])")),
              HasSubstr("assert[0].value: is-refusal takes no value"));
  EXPECT_THAT(ErrorOf(json::parse(R"([{"type": "regex"}])")), HasSubstr("assert[0].value: regex needs a value"));
}

TEST(ValidateAssertions, RequiresNumericThresholdAndWeight) {
  EXPECT_THAT(ErrorOf(json::parse(R"([{"type": "similar", "value": "a", "threshold": "high"}])")),
              HasSubstr("assert[0].threshold: must be a number, got string"));
  EXPECT_THAT(ErrorOf(json::parse(R"([{"type": "contains", "value": "a", "weight": -1}])")),
              HasSubstr("assert[0].weight: must be a non-negative number, got -1"));
  EXPECT_THAT(ErrorOf(json::parse(R"([{"type": "contains", "value": "a", "weight": "2"}])")),
              HasSubstr("assert[0].weight: must be a non-negative number, got string"));
}

TEST(ValidateAssertions, RejectsAThresholdThatWouldBeIgnored) {
  EXPECT_THAT(ErrorOf(json::parse(R"([{"type": "contains", "value": "a", "threshold": 0.5}])")),
              HasSubstr("assert[0].threshold: contains does not use a threshold"));
}

TEST(ValidateAssertions, RequiresThresholdsForLatencyAndCost) {
  EXPECT_THAT(ErrorOf(json::parse(R"([{"type": "latency"}])")),
              HasSubstr("assert[0].threshold: latency requires a threshold (milliseconds)"));
  EXPECT_THAT(ErrorOf(json::parse(R"([{"type": "not-cost"}])")),
              HasSubstr("assert[0].threshold: cost requires a threshold (USD)"));
}

TEST(ValidateAssertions, RejectsUnknownAndUnsupportedFields) {
  EXPECT_THAT(ErrorOf(json::parse(R"([{"type": "contains", "valeu": "a"}])")),
              HasSubstr("assert[0].valeu: unknown field for contains; allowed fields: type, value, threshold, "
                        "weight, metric"));
  EXPECT_THAT(ErrorOf(json::parse(R"([{"type": "llm-rubric", "value": "polite", "provider": "openai:gpt-4"}])")),
              HasSubstr("assert[0].provider: not supported by driftwatch"));
  EXPECT_THAT(ErrorOf(json::parse(R"json([{"type": "equals", "value": "a", "transform": "output.trim()"}])json")),
              HasSubstr("assert[0].transform: not supported by driftwatch"));
}

TEST(ValidateAssertions, RejectsAValueOnAnAssertSet) {
  EXPECT_THAT(ErrorOf(json::parse(R"([{"type": "assert-set", "value": "a", "assert": [{"type": "is-json"}]}])")),
              HasSubstr("assert[0].value: unknown field for assert-set; allowed fields: type, assert, threshold, "
                        "weight, metric"));
  EXPECT_THAT(ErrorOf(json::parse(R"([{"type": "assert-set", "assert": []}])")),
              HasSubstr("assert[0].assert: an assert-set needs a non-empty list of assertions"));
}

TEST(ValidateAssertions, RejectsPatternsRe2CannotCompile) {
  EXPECT_THAT(ErrorOf(json::parse(R"json([{"type": "regex", "value": "foo(?=bar)"}])json")),
              HasSubstr("assert[0].value: invalid RE2 pattern"));
}

TEST(ValidateAssertions, RejectsMalformedJsonSchemas) {
  EXPECT_THAT(ErrorOf(json::parse(R"([{"type": "is-json", "value": "{not json"}])")),
              HasSubstr("assert[0].value: a JSON schema given as text must be valid JSON"));
  EXPECT_THAT(ErrorOf(json::parse(R"([{"type": "is-json", "value": 3}])")),
              HasSubstr("a JSON schema must be an object or a boolean, got number"));
}

TEST(ValidateAssertions, AcceptsTemplatedValuesWithoutKnowingTheVars) {
  EXPECT_TRUE(ValidateAssertions(json::parse(R"([{"type": "regex", "value": "^{{prefix}}"},
                                                  {"type": "contains", "value": "{{city}}", "metric": "{{topic}}"}])")));
}

TEST(ValidateAssertions, RequiresAList) {
  EXPECT_THAT(ErrorOf(json::parse(R"({"type": "contains"})")), HasSubstr("assert: must be a list of assertions"));
}

TEST(NormalizeAssertions, WritesOutDefaultWeightsAndThresholds) {
  json out = Normalized(json::parse(R"([{"type": "rouge-n", "value": "ref"},
                                        {"type": "not-levenshtein", "value": "ref"},
                                        {"type": "bleu", "value": ["a", "b"], "weight": 2},
                                        {"type": "similar", "value": "x", "threshold": 0.9},
                                        {"type": "contains", "value": "a"}])"));
  EXPECT_EQ(out, json::parse(R"([{"type": "rouge-n", "value": "ref", "threshold": 0.75, "weight": 1},
                                 {"type": "not-levenshtein", "value": "ref", "threshold": 5, "weight": 1},
                                 {"type": "bleu", "value": ["a", "b"], "threshold": 0.5, "weight": 2},
                                 {"type": "similar", "value": "x", "threshold": 0.9, "weight": 1},
                                 {"type": "contains", "value": "a", "weight": 1}])"));
}

TEST(NormalizeAssertions, CoercesScalarsToTextLikePromptfoo) {
  json out = Normalized(json::parse(R"([{"type": "contains", "value": 42},
                                        {"type": "equals", "value": 3.0},
                                        {"type": "equals", "value": true},
                                        {"type": "word-count", "value": "50"}])"));
  EXPECT_EQ(out[0]["value"], "42");
  EXPECT_EQ(out[1]["value"], "3");
  EXPECT_EQ(out[2]["value"], "true");
  EXPECT_EQ(out[3]["value"].dump(), "50");
}

TEST(NormalizeAssertions, SplitsCommaSeparatedListsUnlessTemplated) {
  json out = Normalized(json::parse(R"([{"type": "contains-any", "value": "red, \"green, blue\",,yellow"},
                                        {"type": "icontains-all", "value": "{{colours}}"}])"));
  EXPECT_EQ(out[0]["value"], json::parse(R"(["red", "green, blue", "yellow"])"));
  EXPECT_EQ(out[1]["value"], "{{colours}}");
}

TEST(NormalizeAssertions, MapsAliasesToCanonicalTypes) {
  json out = Normalized(json::parse(R"([{"type": "model-graded-factuality", "value": "Paris"},
                                        {"type": "not-similar:cosine", "value": "x"}])"));
  EXPECT_EQ(out[0]["type"], "factuality");
  EXPECT_EQ(out[1]["type"], "not-similar");
}

TEST(NormalizeAssertions, ParsesSchemaTextAndDropsAnEmptySchema) {
  json out = Normalized(json::parse(R"([{"type": "is-json", "value": "{\"type\": \"object\"}"},
                                        {"type": "contains-json", "value": ""}])"));
  EXPECT_EQ(out[0]["value"], json::parse(R"({"type": "object"})"));
  EXPECT_FALSE(out[1].contains("value"));
}

TEST(NormalizeAssertions, ExpandsShorthandStrings) {
  json out = Normalized(json::parse(R"(["not-contains:secret", "similar(0.9):hello", "Paris"])"));
  EXPECT_EQ(out, json::parse(R"([{"type": "not-contains", "value": "secret", "weight": 1},
                                 {"type": "similar", "value": "hello", "threshold": 0.9, "weight": 1},
                                 {"type": "equals", "value": "Paris", "weight": 1}])"));
}

TEST(NormalizeAssertions, IsIdempotent) {
  json authored = json::parse(R"([{"type": "assert-set", "threshold": 0.5, "metric": "tone", "assert": [
      "icontains-any:thanks,thank you", {"type": "llm-rubric", "value": {"criterion": "polite"}}]},
      {"type": "is-json", "value": "{\"required\": [\"a\"]}"}, {"type": "word-count", "value": {"max": 50}}])");
  json once = Normalized(authored);
  EXPECT_EQ(Normalized(once), once);
}

TEST(NormalizeAssertions, GivesEqualHashesForEquivalentAuthoredForms) {
  json a = Normalized(json::parse(R"([{"value": "x", "type": "contains", "weight": 1.0}, "rouge-n:ref"])"));
  json b = Normalized(json::parse(R"([{"type": "contains", "value": "x"}, {"type": "rouge-n", "value": "ref"}])"));
  EXPECT_EQ(ContentHash(a), ContentHash(b));
}

TEST(NormalizeAssertions, TreatsAMissingListAsEmpty) { EXPECT_EQ(Normalized(json()), json::array()); }

TEST(AssertionFromShorthand, ParsesNegationThresholdAndValue) {
  EXPECT_EQ(*AssertionFromShorthand("not-levenshtein(3):abc"),
            json::parse(R"({"type": "not-levenshtein", "value": "abc", "threshold": 3})"));
  EXPECT_EQ(*AssertionFromShorthand("similar:a kind reply"),
            json::parse(R"({"type": "similar", "value": "a kind reply", "threshold": 0.8})"));
  EXPECT_EQ(*AssertionFromShorthand("contains-any: a, b ,c"),
            json::parse(R"({"type": "contains-any", "value": ["a", "b", "c"]})"));
  EXPECT_EQ(*AssertionFromShorthand("is-json"), json::parse(R"({"type": "is-json"})"));
}

TEST(AssertionFromShorthand, ReadsGradeAndLlmRubricAsRubrics) {
  EXPECT_EQ(*AssertionFromShorthand("grade:is polite"), json::parse(R"({"type": "llm-rubric", "value": "is polite"})"));
  EXPECT_EQ(*AssertionFromShorthand("llm-rubric:cites a source"),
            json::parse(R"({"type": "llm-rubric", "value": "cites a source"})"));
}

TEST(AssertionFromShorthand, TreatsOtherTextAsEquals) {
  EXPECT_EQ(*AssertionFromShorthand("containsno colon"),
            json::parse(R"({"type": "equals", "value": "containsno colon"})"));
  EXPECT_EQ(*AssertionFromShorthand("The answer: 42"), json::parse(R"({"type": "equals", "value": "The answer: 42"})"));
}

TEST(AssertionFromShorthand, RejectsCodeRunningForms) {
  for (const char* text : {"javascript:output.length < 10", "fn:x", "python:file.py", "file://check.js"}) {
    auto result = AssertionFromShorthand(text);
    ASSERT_FALSE(result) << text;
    EXPECT_THAT(result.error().message, HasSubstr("supported types:"));
  }
}

TEST(AssertionFromShorthand, KeepsUnsupportedPromptfooTypesSoValidationRejectsThem) {
  EXPECT_EQ(*AssertionFromShorthand("webhook:http://127.0.0.1:9/check"),
            json::parse(R"({"type": "webhook", "value": "http://127.0.0.1:9/check"})"));
  EXPECT_THAT(ErrorOf(json::array({"webhook:http://127.0.0.1:9/check"})),
              HasSubstr("\"webhook\" is not supported by driftwatch"));
}

TEST(SplitCommaSeparated, HonoursQuotesAndEscapes) {
  auto fields = SplitCommaSeparated(R"( a , "b,c", "say ""hi""", "back\\slash \"q\"" ,)");
  ASSERT_TRUE(fields) << fields.error().message;
  EXPECT_EQ(*fields, (std::vector<std::string>{"a", "b,c", "say \"hi\"", "back\\slash \"q\""}));
}

TEST(SplitCommaSeparated, RejectsUnterminatedQuotesAndTrailingText) {
  EXPECT_FALSE(SplitCommaSeparated(R"(a, "b)"));
  EXPECT_FALSE(SplitCommaSeparated(R"("a" b, c)"));
}

TEST(JsonScalarToString, FormatsNumbersLikeJavaScript) {
  EXPECT_EQ(JsonScalarToString(json(3)), "3");
  EXPECT_EQ(JsonScalarToString(json(3.0)), "3");
  EXPECT_EQ(JsonScalarToString(json(0.5)), "0.5");
  EXPECT_EQ(JsonScalarToString(json(-2.25)), "-2.25");
  EXPECT_EQ(JsonScalarToString(json(false)), "false");
  EXPECT_EQ(JsonScalarToString(json("text")), "text");
}

TEST(SupportedAssertionTypes, MarksModelGradedTypes) {
  EXPECT_TRUE(FindAssertionType("llm-rubric")->needs_judge);
  EXPECT_TRUE(FindAssertionType("factuality")->needs_judge);
  EXPECT_TRUE(FindAssertionType("similar:euclidean")->needs_embeddings);
  EXPECT_FALSE(FindAssertionType("contains")->needs_judge);
  EXPECT_EQ(FindAssertionType("javascript"), nullptr);
  EXPECT_TRUE(IsPromptfooAssertionType("javascript"));
  EXPECT_FALSE(IsPromptfooAssertionType("contians"));
}

}  // namespace
}  // namespace dw::scoring
