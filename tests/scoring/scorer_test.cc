#include "scoring/scorer.h"

#include <atomic>
#include <cmath>
#include <map>
#include <mutex>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace dw::scoring {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

// An in-memory judge and embeddings endpoint: replies are scripted, texts
// map to fixed vectors, and every call is recorded.
class FakeGrader : public ModelGrader {
 public:
  std::string Id() const override { return "judge@sha256:feed"; }

  Result<GraderReply> Grade(const GradingPrompt& prompt) override {
    std::lock_guard<std::mutex> lock(mu_);
    prompts_.push_back(prompt);
    if (!reply_) return Fail(ErrorKind::kUnavailable, "connection refused by 127.0.0.1:9");
    return GraderReply{*reply_, "judge-model-2024-08-06", 120, 30};
  }

  Result<std::vector<double>> Embed(std::string_view text) override {
    std::lock_guard<std::mutex> lock(mu_);
    ++embed_calls_;
    auto it = vectors_.find(std::string(text));
    if (it == vectors_.end()) return Fail(ErrorKind::kInvalidInput, "no vector for " + std::string(text));
    return it->second;
  }

  void Reply(std::string text) { reply_ = std::move(text); }
  void Unreachable() { reply_.reset(); }
  void Vector(std::string text, std::vector<double> v) { vectors_[std::move(text)] = std::move(v); }
  const GradingPrompt& last_prompt() const { return prompts_.back(); }
  size_t grade_calls() const { return prompts_.size(); }
  int embed_calls() const { return embed_calls_; }

 private:
  std::mutex mu_;
  std::optional<std::string> reply_;
  std::map<std::string, std::vector<double>> vectors_;
  std::vector<GradingPrompt> prompts_;
  int embed_calls_ = 0;
};

CompiledAssertions CompileOrDie(const std::string& asserts, const json& vars = json::object(),
                                std::optional<double> threshold = std::nullopt) {
  auto compiled = CompiledAssertions::Compile(json::parse(asserts), vars, threshold);
  if (!compiled) {
    ADD_FAILURE() << compiled.error().message;
    return std::move(*CompiledAssertions::Compile(json::array(), json::object()));
  }
  return std::move(*compiled);
}

CaseScore Score(const std::string& asserts, std::string_view output, ScoreInput input = {}) {
  input.output = output;
  return CompileOrDie(asserts).Evaluate(input);
}

// The single component of a one-assertion case.
ComponentScore One(const std::string& assertion, std::string_view output, ScoreInput input = {}) {
  CaseScore score = Score("[" + assertion + "]", output, input);
  EXPECT_EQ(score.components.size(), 1u);
  return score.components.empty() ? ComponentScore{} : score.components.front();
}

bool Passes(const std::string& assertion, std::string_view output, ScoreInput input = {}) {
  ComponentScore c = One(assertion, output, input);
  EXPECT_FALSE(c.error) << *c.error;
  EXPECT_EQ(c.score, c.pass ? 1.0 : 0.0) << "binary assertions score 1 or 0";
  return c.pass;
}

// --- string assertions -------------------------------------------------------

TEST(Equals, ComparesTheWholeOutput) {
  EXPECT_TRUE(Passes(R"({"type": "equals", "value": "Paris"})", "Paris"));
  EXPECT_FALSE(Passes(R"({"type": "equals", "value": "Paris"})", "Paris."));
  EXPECT_TRUE(Passes(R"({"type": "not-equals", "value": "Paris"})", "Lyon"));
  EXPECT_FALSE(Passes(R"({"type": "not-equals", "value": "Paris"})", "Paris"));
}

TEST(Equals, ComparesAnObjectValueWithTheOutputParsedAsJson) {
  EXPECT_TRUE(Passes(R"({"type": "equals", "value": {"a": 1, "b": [1, 2]}})", " {\"b\": [1, 2], \"a\": 1.0} "));
  EXPECT_FALSE(Passes(R"({"type": "equals", "value": {"a": 1}})", "{\"a\": 2}"));
  EXPECT_TRUE(Passes(R"({"type": "not-equals", "value": {"a": 1}})", "not json"));
}

TEST(Equals, ComparesANumberValueAsText) {
  EXPECT_TRUE(Passes(R"({"type": "equals", "value": 42})", "42"));
  EXPECT_FALSE(Passes(R"({"type": "equals", "value": 42})", "42.0"));
}

TEST(Equals, ReportsBothTextsWhenItFails) {
  EXPECT_EQ(One(R"({"type": "equals", "value": "Paris"})", "Lyon").reason, "Expected output \"Lyon\" to equal \"Paris\"");
}

TEST(Contains, FindsASubstring) {
  EXPECT_TRUE(Passes(R"({"type": "contains", "value": "Paris"})", "The capital is Paris."));
  EXPECT_FALSE(Passes(R"({"type": "contains", "value": "paris"})", "The capital is Paris."));
  EXPECT_TRUE(Passes(R"({"type": "not-contains", "value": "Lyon"})", "The capital is Paris."));
  EXPECT_EQ(One(R"({"type": "not-contains", "value": "Paris"})", "Paris").reason,
            "Expected output to not contain \"Paris\"");
}

TEST(IContains, IgnoresCase) {
  EXPECT_TRUE(Passes(R"({"type": "icontains", "value": "PARIS"})", "the capital is paris"));
  EXPECT_FALSE(Passes(R"({"type": "not-icontains", "value": "PARIS"})", "the capital is paris"));
}

TEST(ContainsAny, PassesWhenOneValueOccurs) {
  EXPECT_TRUE(Passes(R"({"type": "contains-any", "value": "red, green"})", "a green apple"));
  EXPECT_FALSE(Passes(R"({"type": "contains-any", "value": ["red", "blue"]})", "a green apple"));
  EXPECT_TRUE(Passes(R"({"type": "not-contains-any", "value": ["red", "blue"]})", "a green apple"));
  EXPECT_TRUE(Passes(R"({"type": "icontains-any", "value": ["RED", "GREEN"]})", "a green apple"));
  EXPECT_FALSE(Passes(R"({"type": "not-icontains-any", "value": ["RED", "GREEN"]})", "a green apple"));
}

TEST(ContainsAll, NamesTheMissingValues) {
  ComponentScore c = One(R"({"type": "contains-all", "value": ["apple", "pear", "plum"]})", "apple and plum");
  EXPECT_FALSE(c.pass);
  EXPECT_EQ(c.reason, "Expected output to contain all of [apple, pear, plum]. Missing: [pear]");
  EXPECT_TRUE(Passes(R"({"type": "contains-all", "value": "apple,plum"})", "apple and plum"));
  EXPECT_TRUE(Passes(R"({"type": "not-contains-all", "value": ["apple", "pear"]})", "apple and plum"));
  EXPECT_TRUE(Passes(R"({"type": "icontains-all", "value": ["APPLE", "Plum"]})", "apple and plum"));
  EXPECT_FALSE(Passes(R"({"type": "not-icontains-all", "value": ["APPLE", "Plum"]})", "apple and plum"));
}

TEST(StartsWith, ChecksThePrefix) {
  EXPECT_TRUE(Passes(R"({"type": "starts-with", "value": "Yes"})", "Yes, it is."));
  EXPECT_FALSE(Passes(R"({"type": "starts-with", "value": "Yes"})", " Yes"));
  EXPECT_TRUE(Passes(R"({"type": "not-starts-with", "value": "No"})", "Yes, it is."));
}

TEST(Regex, MatchesAnywhereInTheOutput) {
  EXPECT_TRUE(Passes(R"({"type": "regex", "value": "\\d{3}-\\d{4}"})", "Call 555-1234 now"));
  EXPECT_FALSE(Passes(R"({"type": "regex", "value": "^\\d{3}-\\d{4}$"})", "Call 555-1234 now"));
  EXPECT_TRUE(Passes(R"({"type": "not-regex", "value": "(?i)error"})", "all good"));
  EXPECT_FALSE(Passes(R"({"type": "not-regex", "value": "(?i)error"})", "An ERROR occurred"));
}

// --- structure ---------------------------------------------------------------

TEST(IsJson, PassesForAWholeJsonDocument) {
  EXPECT_TRUE(Passes(R"({"type": "is-json"})", " {\"a\": [1, 2]}\n"));
  EXPECT_FALSE(Passes(R"({"type": "is-json"})", "Here: {\"a\": 1}"));
  EXPECT_TRUE(Passes(R"({"type": "not-is-json"})", "plain text"));
  EXPECT_FALSE(Passes(R"({"type": "not-is-json"})", "[1, 2]"));
}

TEST(IsJson, ValidatesAgainstASchema) {
  const std::string assertion =
      R"({"type": "is-json", "value": {"type": "object", "required": ["city"],
          "properties": {"city": {"type": "string"}}}})";
  EXPECT_TRUE(Passes(assertion, R"({"city": "Paris"})"));
  ComponentScore c = One(assertion, R"({"town": "Paris"})");
  EXPECT_FALSE(c.pass);
  EXPECT_THAT(c.reason, HasSubstr("JSON does not conform to the provided schema"));
  EXPECT_THAT(c.reason, HasSubstr("city"));
  EXPECT_TRUE(Passes(R"({"type": "not-is-json", "value": {"type": "array"}})", R"({"city": "Paris"})"));
}

TEST(ContainsJson, FindsAnObjectInProse) {
  EXPECT_TRUE(Passes(R"({"type": "contains-json"})", "Sure! {\"answer\": 4} Hope that helps."));
  EXPECT_FALSE(Passes(R"({"type": "contains-json"})", "The answer is 4."));
  EXPECT_TRUE(Passes(R"({"type": "not-contains-json"})", "The answer is 4."));
}

TEST(ContainsJson, PassesIfAnyEmbeddedObjectMatchesTheSchema) {
  const std::string assertion = R"({"type": "contains-json", "value": "{\"required\": [\"answer\"]}"})";
  EXPECT_TRUE(Passes(assertion, R"(First {"note": 1} then {"answer": 4}.)"));
  EXPECT_FALSE(Passes(assertion, R"(Only {"note": 1}.)"));
  EXPECT_TRUE(Passes(R"({"type": "not-contains-json", "value": {"required": ["answer"]}})", R"(Only {"note": 1}.)"));
}

// --- reference overlap -------------------------------------------------------

TEST(Levenshtein, PassesWithinTheDefaultDistanceOfFive) {
  EXPECT_TRUE(Passes(R"({"type": "levenshtein", "value": "hello world"})", "helo wrld!!"));
  ComponentScore c = One(R"({"type": "levenshtein", "value": "sitting", "threshold": 2})", "kitten");
  EXPECT_FALSE(c.pass);
  EXPECT_EQ(c.reason, "Levenshtein distance 3 is greater than threshold 2");
  EXPECT_TRUE(Passes(R"({"type": "not-levenshtein", "value": "sitting", "threshold": 2})", "kitten"));
}

// Found by fuzz_goldenset_jsonl: a threshold beyond size_t's range was
// converted with undefined behaviour. Any distance is within it.
TEST(Levenshtein, AThresholdLargerThanAnyTextAcceptsEveryDistance) {
  const char* huge = R"({"type": "levenshtein", "value": "abc", "threshold": 1e81})";
  ComponentScore c = One(huge, "a completely different answer");
  EXPECT_TRUE(c.pass);
  EXPECT_EQ(c.score, 1.0);
  EXPECT_FALSE(Passes(R"({"type": "not-levenshtein", "value": "abc", "threshold": 1e81})", "xyz"));
}

TEST(RougeN, ScoresUnigramRecallAgainstTheDefaultThreshold) {
  ComponentScore c = One(R"({"type": "rouge-n", "value": "the cat sat on the mat"})", "the cat");
  EXPECT_FALSE(c.pass);
  EXPECT_DOUBLE_EQ(c.score, 2.0 / 6.0);
  EXPECT_EQ(c.reason, "ROUGE-N score 0.33 is less than threshold 0.75");
  EXPECT_TRUE(One(R"({"type": "rouge-n", "value": "the cat sat on the mat", "threshold": 0.3})", "the cat").pass);
}

TEST(RougeN, NotVariantPassesBelowTheThresholdAndInvertsTheScore) {
  ComponentScore c = One(R"({"type": "not-rouge-n", "value": "the cat sat on the mat"})", "the cat");
  EXPECT_TRUE(c.pass);
  EXPECT_DOUBLE_EQ(c.score, 1.0 - 2.0 / 6.0);
}

TEST(Bleu, ScoresAgainstTheDefaultThresholdOfHalf) {
  ComponentScore c = One(R"({"type": "bleu", "value": "the cat sat on a mat"})", "the cat sat on the mat");
  EXPECT_TRUE(c.pass);
  EXPECT_NEAR(c.score, 0.5373, 1e-4);
  ComponentScore strict =
      One(R"({"type": "bleu", "value": ["the cat sat on a mat"], "threshold": 0.6})", "the cat sat on the mat");
  EXPECT_FALSE(strict.pass);
  EXPECT_EQ(strict.reason, "BLEU score 0.5373 is less than threshold 0.6");
  ComponentScore inverse = One(R"({"type": "not-bleu", "value": "a b c d"})", "w x y z");
  EXPECT_TRUE(inverse.pass);
  EXPECT_NEAR(inverse.score, 1.0, 1e-6);
}

// --- counts, performance, provider metadata ----------------------------------

TEST(WordCount, ChecksExactCountsAndBounds) {
  EXPECT_TRUE(Passes(R"({"type": "word-count", "value": 3})", "one two  three"));
  EXPECT_TRUE(Passes(R"({"type": "word-count", "value": {"min": 2, "max": 4}})", "one two three"));
  EXPECT_EQ(One(R"({"type": "word-count", "value": {"max": 2}})", "one two three").reason,
            "Word count 3 is greater than maximum 2");
  EXPECT_EQ(One(R"({"type": "word-count", "value": {"min": 5}})", "one two three").reason,
            "Word count 3 is less than minimum 5");
  EXPECT_TRUE(Passes(R"({"type": "not-word-count", "value": {"min": 2, "max": 4}})", "one"));
}

TEST(CharacterCount, CountsCodePoints) {
  EXPECT_TRUE(Passes(R"({"type": "character-count", "value": 5})", "h\xC3\xA9llo"));
  EXPECT_FALSE(Passes(R"({"type": "character-count", "value": {"max": 4}})", "h\xC3\xA9llo"));
  EXPECT_TRUE(Passes(R"({"type": "not-character-count", "value": {"max": 4}})", "h\xC3\xA9llo"));
}

TEST(Latency, PassesAtOrBelowTheThreshold) {
  ScoreInput input;
  input.latency_ms = 800;
  EXPECT_TRUE(Passes(R"({"type": "latency", "threshold": 800})", "x", input));
  input.latency_ms = 1200;
  EXPECT_EQ(One(R"({"type": "latency", "threshold": 1000})", "x", input).reason,
            "Latency 1200ms is greater than threshold 1000ms");
  EXPECT_TRUE(Passes(R"({"type": "not-latency", "threshold": 1000})", "x", input));
}

TEST(Latency, IsAnErrorWhenTheLatencyIsUnknown) {
  ComponentScore c = One(R"({"type": "latency", "threshold": 1000})", "x");
  ASSERT_TRUE(c.error);
  EXPECT_FALSE(c.pass);
  EXPECT_THAT(*c.error, HasSubstr("latency is unknown"));
}

TEST(Cost, PassesAtOrBelowTheThreshold) {
  ScoreInput input;
  input.cost_usd = 0.002;
  EXPECT_TRUE(Passes(R"({"type": "cost", "threshold": 0.01})", "x", input));
  EXPECT_FALSE(Passes(R"({"type": "cost", "threshold": 0.001})", "x", input));
  EXPECT_TRUE(Passes(R"({"type": "not-cost", "threshold": 0.001})", "x", input));
  EXPECT_TRUE(One(R"({"type": "cost", "threshold": 0.01})", "x").error.has_value());
}

TEST(FinishReason, ComparesCaseInsensitively) {
  ScoreInput input;
  input.finish_reason = "STOP";
  EXPECT_TRUE(Passes(R"({"type": "finish-reason", "value": "stop"})", "x", input));
  EXPECT_FALSE(Passes(R"({"type": "not-finish-reason", "value": "stop"})", "x", input));
  input.finish_reason = "length";
  EXPECT_EQ(One(R"({"type": "finish-reason", "value": "stop"})", "x", input).reason,
            "Expected finish reason \"stop\" but got \"length\"");
}

TEST(FinishReason, FailsWhenTheProviderGaveNone) {
  EXPECT_EQ(One(R"({"type": "finish-reason", "value": "stop"})", "x").reason,
            "Provider did not supply stop/finish reason");
  EXPECT_FALSE(Passes(R"({"type": "not-finish-reason", "value": "stop"})", "x"));
}

TEST(IsRefusal, DetectsRefusals) {
  EXPECT_TRUE(Passes(R"({"type": "is-refusal"})", "I'm sorry, but I can't help with that."));
  EXPECT_FALSE(Passes(R"({"type": "is-refusal"})", "Paris is the capital of France."));
  EXPECT_TRUE(Passes(R"({"type": "not-is-refusal"})", "Paris is the capital of France."));
  EXPECT_FALSE(Passes(R"({"type": "not-is-refusal"})", ""));
}

// --- templates ---------------------------------------------------------------

TEST(Templates, RenderValuesAndMetricNamesAgainstTheCaseVars) {
  json vars = {{"city", "Paris"}, {"topic", "geo"}, {"others", "Lyon, Nice"}};
  CompiledAssertions compiled = CompileOrDie(
      R"([{"type": "contains", "value": "{{city}}", "metric": "{{topic}}-accuracy"},
          {"type": "not-contains-any", "value": "{{others}}"}])",
      vars);
  ScoreInput input;
  input.output = "It is Paris.";
  CaseScore score = compiled.Evaluate(input);
  EXPECT_TRUE(score.pass) << score.reason;
  EXPECT_EQ(score.components[0].metric, "geo-accuracy");
  EXPECT_EQ(score.named_scores.at("geo-accuracy"), 1.0);
  input.output = "It is Nice.";
  EXPECT_EQ(compiled.Evaluate(input).components[1].reason, "Expected output to not contain one of \"Lyon, Nice\"");
}

TEST(Templates, AMissingVarIsACompileErrorNamingIt) {
  auto compiled = CompiledAssertions::Compile(json::parse(R"([{"type": "contains", "value": "{{city}}"}])"),
                                              json::object());
  ASSERT_FALSE(compiled);
  EXPECT_THAT(compiled.error().message, HasSubstr("assert[0].value"));
  EXPECT_THAT(compiled.error().message, HasSubstr("{{city}}"));
}

TEST(Templates, ARenderedRegexMustCompile) {
  auto compiled = CompiledAssertions::Compile(json::parse(R"([{"type": "regex", "value": "{{pattern}}"}])"),
                                              json{{"pattern", "a(?=b)"}});
  ASSERT_FALSE(compiled);
  EXPECT_THAT(compiled.error().message, HasSubstr("assert[0].value: invalid RE2 pattern"));
}

TEST(Templates, CompileFromAGoldenCaseUsesItsVarsAndThreshold) {
  GoldenCase c;
  c.id = "capital-fr";
  c.vars = {{"city", "Paris"}};
  c.asserts = json::parse(R"([{"type": "contains", "value": "{{city}}"}, {"type": "contains", "value": "France"}])");
  c.threshold = 0.5;
  auto compiled = CompiledAssertions::Compile(c);
  ASSERT_TRUE(compiled) << compiled.error().message;
  ScoreInput input;
  input.output = "Paris";
  CaseScore score = compiled->Evaluate(input);
  EXPECT_TRUE(score.pass);
  EXPECT_DOUBLE_EQ(score.score, 0.5);
}

// --- aggregation -------------------------------------------------------------

TEST(Aggregation, CaseScoreIsTheWeightedMean) {
  CaseScore score = Score(R"([{"type": "contains", "value": "a", "weight": 3},
                              {"type": "contains", "value": "z", "weight": 1}])",
                          "abc");
  EXPECT_DOUBLE_EQ(score.score, 0.75);
  EXPECT_FALSE(score.pass);
  EXPECT_EQ(score.reason, "Expected output to contain \"z\"");
}

TEST(Aggregation, ACaseThresholdReplacesAllMustPass) {
  CompiledAssertions compiled = CompileOrDie(R"([{"type": "contains", "value": "a", "weight": 3},
                                                 {"type": "contains", "value": "z", "weight": 1}])",
                                             json::object(), 0.7);
  ScoreInput input;
  input.output = "abc";
  CaseScore score = compiled.Evaluate(input);
  EXPECT_TRUE(score.pass);
  EXPECT_EQ(score.reason, "Aggregate score 0.75 \xE2\x89\xA5 0.7 threshold");
  input.output = "xyz";
  CaseScore low = compiled.Evaluate(input);
  EXPECT_FALSE(low.pass);
  EXPECT_EQ(low.reason, "Aggregate score 0.25 < 0.7 threshold");
}

TEST(Aggregation, ThresholdZeroAlwaysPasses) {
  CompiledAssertions compiled = CompileOrDie(R"([{"type": "contains", "value": "z"}])", json::object(), 0.0);
  ScoreInput input;
  input.output = "abc";
  CaseScore score = compiled.Evaluate(input);
  EXPECT_TRUE(score.pass);
  EXPECT_DOUBLE_EQ(score.score, 0.0);
}

TEST(Aggregation, WeightZeroIsInformational) {
  CaseScore score = Score(R"([{"type": "contains", "value": "a"},
                              {"type": "contains", "value": "z", "weight": 0, "metric": "mentions-z"}])",
                          "abc");
  EXPECT_TRUE(score.pass);
  EXPECT_DOUBLE_EQ(score.score, 1.0);
  EXPECT_TRUE(score.components[1].pass);
  EXPECT_DOUBLE_EQ(score.components[1].score, 0.0);
  EXPECT_DOUBLE_EQ(score.named_scores.at("mentions-z"), 0.0);
}

TEST(Aggregation, AllWeightsZeroGiveScoreZero) {
  CaseScore score = Score(R"([{"type": "contains", "value": "a", "weight": 0}])", "abc");
  EXPECT_TRUE(score.pass);
  EXPECT_DOUBLE_EQ(score.score, 0.0);
}

TEST(Aggregation, NamedMetricsAreWeightedMeans) {
  CaseScore score = Score(R"([{"type": "contains", "value": "a", "metric": "accuracy"},
                              {"type": "contains", "value": "z", "metric": "accuracy", "weight": 3},
                              {"type": "contains", "value": "b", "metric": "style"}])",
                          "abc");
  EXPECT_DOUBLE_EQ(score.named_scores.at("accuracy"), 0.25);
  EXPECT_DOUBLE_EQ(score.named_scores.at("style"), 1.0);
  EXPECT_EQ(score.named_scores.size(), 2u);
}

TEST(Aggregation, NoAssertionsPass) {
  CaseScore score = Score("[]", "anything");
  EXPECT_TRUE(score.pass);
  EXPECT_DOUBLE_EQ(score.score, 1.0);
  EXPECT_EQ(score.reason, "No assertions");
}

TEST(AssertSet, PassesWhenItsWeightedScoreReachesItsThreshold) {
  CaseScore score = Score(R"([{"type": "assert-set", "threshold": 0.5, "metric": "tone", "assert": [
                                 {"type": "icontains", "value": "thanks"},
                                 {"type": "icontains", "value": "please"}]}])",
                          "Thanks!");
  ASSERT_EQ(score.components.size(), 3u);
  EXPECT_EQ(score.components[0].type, "assert-set");
  EXPECT_EQ(score.components[0].path, "0");
  EXPECT_TRUE(score.components[0].pass);
  EXPECT_DOUBLE_EQ(score.components[0].score, 0.5);
  EXPECT_EQ(score.components[2].path, "0.1");
  EXPECT_FALSE(score.components[2].pass);
  EXPECT_TRUE(score.pass);
  EXPECT_DOUBLE_EQ(score.score, 0.5);
  EXPECT_DOUBLE_EQ(score.named_scores.at("tone"), 0.5);
}

TEST(AssertSet, WithoutThresholdNeedsEveryChildToPass) {
  CaseScore score = Score(R"([{"type": "contains", "value": "x", "weight": 2},
                              {"type": "assert-set", "assert": [
                                 {"type": "contains", "value": "a"}, {"type": "contains", "value": "z"}]}])",
                          "abx");
  EXPECT_FALSE(score.components[1].pass);
  EXPECT_FALSE(score.pass);
  EXPECT_DOUBLE_EQ(score.score, (2.0 * 1.0 + 1.0 * 0.5) / 3.0);
}

TEST(AssertSet, ChildMetricsReachTheCaseScaledByTheSetWeight) {
  CaseScore score = Score(R"([{"type": "contains", "value": "z", "metric": "facts"},
                              {"type": "assert-set", "weight": 3, "assert": [
                                 {"type": "contains", "value": "a", "metric": "facts"}]}])",
                          "abc");
  EXPECT_DOUBLE_EQ(score.named_scores.at("facts"), 0.75);
}

TEST(AssertSet, AnErrorInsideASetFailsTheSetAndTheCase) {
  CaseScore score = Score(R"([{"type": "assert-set", "threshold": 0.0, "assert": [
                                 {"type": "contains", "value": "a"}, {"type": "latency", "threshold": 100}]}])",
                          "abc");
  ASSERT_EQ(score.components.size(), 3u);
  EXPECT_TRUE(score.components[2].error);
  EXPECT_FALSE(score.components[0].pass);
  EXPECT_TRUE(score.components[0].error);
  EXPECT_FALSE(score.pass);
  ASSERT_TRUE(score.error);
  EXPECT_THAT(*score.error, HasSubstr("assert path 0.1 (latency): latency is unknown"));
}

// --- model-graded: llm-rubric ------------------------------------------------

TEST(LlmRubric, SendsRubricAndOutputToTheJudgeAndRecordsItsIdentity) {
  FakeGrader judge;
  judge.Reply(R"({"reason": "courteous and brief", "pass": true, "score": 0.9})");
  ScoreInput input;
  input.grader = &judge;
  CaseScore score = Score(R"([{"type": "llm-rubric", "value": "Is polite"}])", "Thanks, Ada!", input);
  ASSERT_EQ(score.components.size(), 1u);
  const ComponentScore& c = score.components[0];
  EXPECT_FALSE(c.error);
  EXPECT_TRUE(c.pass);
  EXPECT_DOUBLE_EQ(c.score, 0.9);
  EXPECT_EQ(c.reason, "courteous and brief");
  EXPECT_EQ(c.metadata["grader_id"], "judge@sha256:feed");
  EXPECT_EQ(c.metadata["grader_model"], "judge-model-2024-08-06");
  EXPECT_EQ(score.grader_prompt_tokens, 120);
  EXPECT_EQ(score.grader_completion_tokens, 30);
  EXPECT_THAT(judge.last_prompt().user, HasSubstr("<Output>\nThanks, Ada!\n</Output>"));
}

TEST(LlmRubric, TemplatedRubricIsRenderedWithTheCaseVars) {
  FakeGrader judge;
  judge.Reply(R"({"pass": true})");
  CompiledAssertions compiled =
      CompileOrDie(R"([{"type": "llm-rubric", "value": "Is polite to {{name}}"}])", json{{"name", "Ada"}});
  ScoreInput input;
  input.output = "Hi Ada";
  input.grader = &judge;
  compiled.Evaluate(input);
  EXPECT_THAT(judge.last_prompt().user, HasSubstr("<Rubric>\nIs polite to Ada\n</Rubric>"));
}

TEST(LlmRubric, AThresholdAlsoRequiresTheJudgesScore) {
  FakeGrader judge;
  judge.Reply(R"({"reason": "mostly", "pass": true, "score": 0.6})");
  ScoreInput input;
  input.grader = &judge;
  ComponentScore c = One(R"({"type": "llm-rubric", "value": "polite", "threshold": 0.8})", "ok", input);
  EXPECT_FALSE(c.pass);
  EXPECT_DOUBLE_EQ(c.score, 0.6);
  EXPECT_EQ(c.reason, "Score 0.6 below threshold 0.8: mostly");
}

TEST(LlmRubric, NotVariantInvertsPassAndScore) {
  FakeGrader judge;
  judge.Reply(R"({"pass": true, "score": 0.8})");
  ScoreInput input;
  input.grader = &judge;
  ComponentScore c = One(R"({"type": "not-llm-rubric", "value": "mentions pirates"})", "Arr", input);
  EXPECT_FALSE(c.pass);
  EXPECT_NEAR(c.score, 0.2, 1e-12);
}

TEST(LlmRubric, AnUnparseableReplyIsAnErrorNotAPass) {
  FakeGrader judge;
  judge.Reply("Looks fine to me!");
  ScoreInput input;
  input.grader = &judge;
  input.output = "ok";
  CompiledAssertions compiled =
      CompileOrDie(R"([{"type": "not-llm-rubric", "value": "polite"}])", json::object(), /*threshold=*/0.0);
  CaseScore score = compiled.Evaluate(input);
  ASSERT_TRUE(score.components[0].error);
  EXPECT_THAT(*score.components[0].error, HasSubstr("could not extract a JSON verdict"));
  EXPECT_FALSE(score.components[0].pass);
  EXPECT_FALSE(score.pass) << "an error never passes, whatever the threshold";
  ASSERT_TRUE(score.error);
  EXPECT_THAT(*score.error, HasSubstr("assert path 0 (not-llm-rubric)"));
  EXPECT_EQ(score.components[0].metadata["grader_model"], "judge-model-2024-08-06");
}

TEST(LlmRubric, WithoutAGraderIsAnError) {
  ComponentScore c = One(R"({"type": "llm-rubric", "value": "polite"})", "ok");
  ASSERT_TRUE(c.error);
  EXPECT_THAT(*c.error, HasSubstr("needs a judge grader"));
  EXPECT_FALSE(c.pass);
}

TEST(LlmRubric, AnUnreachableJudgeIsAnError) {
  FakeGrader judge;
  judge.Unreachable();
  ScoreInput input;
  input.grader = &judge;
  ComponentScore c = One(R"({"type": "llm-rubric", "value": "polite"})", "ok", input);
  ASSERT_TRUE(c.error);
  EXPECT_THAT(*c.error, HasSubstr("connection refused"));
}

TEST(LlmRubric, ACustomRubricPromptIsRenderedWithOutputRubricAndVars) {
  FakeGrader judge;
  judge.Reply(R"({"pass": true, "score": 1})");
  CompiledAssertions compiled = CompileOrDie(
      R"([{"type": "llm-rubric", "value": "is short", "rubricPrompt": "Q={{question}} O={{output}} R={{rubric}}"}])",
      json{{"question", "why?"}});
  ScoreInput input;
  input.output = "because";
  input.grader = &judge;
  EXPECT_TRUE(compiled.Evaluate(input).pass);
  EXPECT_EQ(judge.last_prompt().user, "Q=why? O=because R=is short");
  EXPECT_EQ(judge.last_prompt().system, "");
}

// --- model-graded: factuality ------------------------------------------------

TEST(Factuality, PassesUnlessTheJudgeFindsADisagreement) {
  FakeGrader judge;
  ScoreInput input;
  input.grader = &judge;
  input.prompt = "What is the capital of France?";
  judge.Reply(R"({"category": "A", "reason": "subset"})");
  ComponentScore subset = One(R"({"type": "factuality", "value": "Paris, on the Seine"})", "Paris", input);
  EXPECT_TRUE(subset.pass);
  EXPECT_EQ(subset.metadata["category"], "A");
  EXPECT_THAT(judge.last_prompt().user, HasSubstr("<question>\nWhat is the capital of France?\n</question>"));
  EXPECT_THAT(judge.last_prompt().user, HasSubstr("<expert_answer>\nParis, on the Seine\n</expert_answer>"));
  judge.Reply("(D) The submission says Lyon.");
  ComponentScore wrong = One(R"({"type": "model-graded-factuality", "value": "Paris"})", "Lyon", input);
  EXPECT_FALSE(wrong.pass);
  EXPECT_EQ(wrong.type, "factuality");
  EXPECT_EQ(wrong.reason, "The submission says Lyon.");
  EXPECT_TRUE(One(R"({"type": "not-factuality", "value": "Paris"})", "Lyon", input).pass);
}

TEST(Factuality, NeedsTheRenderedPrompt) {
  FakeGrader judge;
  judge.Reply(R"({"category": "C"})");
  ScoreInput input;
  input.grader = &judge;
  ComponentScore c = One(R"({"type": "factuality", "value": "Paris"})", "Paris", input);
  ASSERT_TRUE(c.error);
  EXPECT_THAT(*c.error, HasSubstr("rendered prompt"));
  EXPECT_EQ(judge.grade_calls(), 0u);
}

TEST(Factuality, AnUnreadableCategoryIsAnError) {
  FakeGrader judge;
  judge.Reply("They agree.");
  ScoreInput input;
  input.grader = &judge;
  input.prompt = "q";
  ComponentScore c = One(R"({"type": "factuality", "value": "Paris"})", "Paris", input);
  ASSERT_TRUE(c.error);
  EXPECT_THAT(*c.error, HasSubstr("names no category"));
}

// --- model-graded: similar ---------------------------------------------------

class SimilarTest : public ::testing::Test {
 protected:
  void SetUp() override {
    embedder_.Vector("reference", {0.8, 0.6});
    embedder_.Vector("far reference", {0.0, 1.0});
    embedder_.Vector("output", {1.0, 0.0});
    input_.grader = &embedder_;
  }
  FakeGrader embedder_;
  ScoreInput input_;
};

TEST_F(SimilarTest, PassesWhenCosineReachesTheDefaultThreshold) {
  ComponentScore c = One(R"({"type": "similar", "value": "reference"})", "output", input_);
  EXPECT_FALSE(c.error);
  EXPECT_TRUE(c.pass);
  EXPECT_NEAR(c.score, 0.8, 1e-12);
  EXPECT_EQ(c.reason, "Similarity 0.80 is greater than or equal to threshold 0.75");
  EXPECT_FALSE(One(R"({"type": "similar", "value": "reference", "threshold": 0.9})", "output", input_).pass);
}

TEST_F(SimilarTest, NotSimilarPassesBelowTheThresholdWithInvertedScore) {
  ComponentScore c = One(R"({"type": "not-similar", "value": "reference", "threshold": 0.9})", "output", input_);
  EXPECT_TRUE(c.pass);
  EXPECT_NEAR(c.score, 0.2, 1e-12);
}

TEST_F(SimilarTest, AListPassesIfAnyValueIsSimilar) {
  EXPECT_TRUE(One(R"({"type": "similar", "value": ["far reference", "reference"]})", "output", input_).pass);
  ComponentScore none = One(R"({"type": "similar", "value": ["far reference"], "threshold": 0.9})", "output", input_);
  EXPECT_FALSE(none.pass);
  EXPECT_FALSE(One(R"({"type": "not-similar", "value": ["far reference", "reference"]})", "output", input_).pass);
}

TEST_F(SimilarTest, EuclideanUsesTheThresholdAsMaximumDistance) {
  // |(1,0) - (0.8,0.6)| = sqrt(0.04 + 0.36)
  ComponentScore c = One(R"({"type": "similar:euclidean", "value": "reference", "threshold": 0.7})", "output", input_);
  EXPECT_TRUE(c.pass);
  EXPECT_NEAR(c.score, 1.0 / (1.0 + std::sqrt(0.4)), 1e-12);
  EXPECT_FALSE(One(R"({"type": "similar:euclidean", "value": "reference", "threshold": 0.5})", "output", input_).pass);
}

TEST_F(SimilarTest, DotUsesTheRawDotProduct) {
  EXPECT_TRUE(One(R"({"type": "similar:dot", "value": "reference", "threshold": 0.8})", "output", input_).pass);
  EXPECT_FALSE(One(R"({"type": "similar:dot", "value": "far reference", "threshold": 0.1})", "output", input_).pass);
}

TEST_F(SimilarTest, EmbedsTheReferenceOncePerCompiledCase) {
  CompiledAssertions compiled = CompileOrDie(R"([{"type": "similar", "value": "reference"}])");
  input_.output = "output";
  compiled.Evaluate(input_);
  compiled.Evaluate(input_);
  EXPECT_EQ(embedder_.embed_calls(), 3) << "one reference embedding, two output embeddings";
}

TEST_F(SimilarTest, AnEmbeddingFailureIsAnError) {
  ComponentScore c = One(R"({"type": "similar", "value": "reference"})", "unknown text", input_);
  ASSERT_TRUE(c.error);
  EXPECT_THAT(*c.error, HasSubstr("embedding the output failed"));
}

TEST(Similar, WithoutAGraderIsAnError) {
  ComponentScore c = One(R"({"type": "similar", "value": "x"})", "y");
  ASSERT_TRUE(c.error);
  EXPECT_THAT(*c.error, HasSubstr("needs an embeddings grader"));
}

// --- compiled object -----------------------------------------------------------

TEST(CompiledAssertions, ReportsWhetherAGraderIsNeeded) {
  EXPECT_FALSE(CompileOrDie(R"([{"type": "contains", "value": "a"}])").NeedsGrader());
  CompiledAssertions judged = CompileOrDie(
      R"([{"type": "assert-set", "assert": [{"type": "llm-rubric", "value": "x"}]}])");
  EXPECT_TRUE(judged.NeedsGrader());
  EXPECT_TRUE(judged.NeedsJudge());
  EXPECT_FALSE(judged.NeedsEmbeddings());
  EXPECT_TRUE(CompileOrDie(R"([{"type": "not-similar", "value": "x"}])").NeedsEmbeddings());
}

TEST(CompiledAssertions, RejectsInvalidAssertionsAtCompileTime) {
  auto compiled = CompiledAssertions::Compile(json::parse(R"([{"type": "python", "value": "x"}])"), json::object());
  ASSERT_FALSE(compiled);
  EXPECT_THAT(compiled.error().message, HasSubstr("supported types"));
}

TEST(CompiledAssertions, EvaluatesConcurrentlyWithIdenticalResults) {
  CompiledAssertions compiled = CompileOrDie(R"([{"type": "regex", "value": "\\bcat\\b", "weight": 2},
      {"type": "is-json", "value": {"type": "object"}}, {"type": "rouge-n", "value": "the cat sat"}])");
  ScoreInput input;
  input.output = "the cat";
  const CaseScore expected = compiled.Evaluate(input);
  std::vector<std::thread> threads;
  std::atomic<int> mismatches{0};
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 250; ++i) {
        CaseScore s = compiled.Evaluate(input);
        if (s.score != expected.score || s.pass != expected.pass) ++mismatches;
      }
    });
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(mismatches.load(), 0);
  EXPECT_DOUBLE_EQ(expected.score, (2.0 + 0.0 + 2.0 / 3.0) / 4.0);
}

}  // namespace
}  // namespace dw::scoring
