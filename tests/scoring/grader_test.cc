#include "scoring/grader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace dw::scoring {
namespace {

using ::testing::HasSubstr;

TEST(LlmRubricPrompt, PutsOutputAndRubricInTaggedUserMessage) {
  GradingPrompt prompt = LlmRubricPrompt("Is polite", "Thanks for asking!");
  EXPECT_EQ(prompt.user, "<Output>\nThanks for asking!\n</Output>\n<Rubric>\nIs polite\n</Rubric>");
  EXPECT_THAT(prompt.system, HasSubstr("\"pass\": boolean"));
  EXPECT_THAT(prompt.system, HasSubstr("\"score\""));
}

TEST(ParseLlmRubricReply, ReadsAVerdictFromFencedJson) {
  auto verdict = ParseLlmRubricReply("```json\n{\"reason\": \"courteous\", \"pass\": true, \"score\": 0.9}\n```");
  ASSERT_TRUE(verdict) << verdict.error().message;
  EXPECT_TRUE(verdict->pass);
  EXPECT_DOUBLE_EQ(verdict->score, 0.9);
  EXPECT_EQ(verdict->reason, "courteous");
}

TEST(ParseLlmRubricReply, AcceptsStringPassAndNumericStringScore) {
  auto verdict = ParseLlmRubricReply(R"({"pass": "Yes", "score": "0.4", "reason": "ok"})");
  ASSERT_TRUE(verdict);
  EXPECT_TRUE(verdict->pass);
  EXPECT_DOUBLE_EQ(verdict->score, 0.4);
  auto no = ParseLlmRubricReply(R"({"pass": "nope"})");
  ASSERT_TRUE(no);
  EXPECT_FALSE(no->pass);
  EXPECT_DOUBLE_EQ(no->score, 0.0);
}

TEST(ParseLlmRubricReply, DerivesTheMissingHalfOfTheVerdict) {
  auto score_only = ParseLlmRubricReply(R"({"score": 0.2})");
  ASSERT_TRUE(score_only);
  EXPECT_TRUE(score_only->pass);
  EXPECT_DOUBLE_EQ(score_only->score, 0.2);
  auto pass_only = ParseLlmRubricReply(R"({"pass": false})");
  ASSERT_TRUE(pass_only);
  EXPECT_DOUBLE_EQ(pass_only->score, 0.0);
  EXPECT_EQ(pass_only->reason, "Grading failed");
}

TEST(ParseLlmRubricReply, RejectsAReplyWithoutJson) {
  auto verdict = ParseLlmRubricReply("I think the output passes the rubric.");
  ASSERT_FALSE(verdict);
  EXPECT_EQ(verdict.error().kind, ErrorKind::kInvalidInput);
  EXPECT_THAT(verdict.error().message, HasSubstr("could not extract a JSON verdict"));
  EXPECT_THAT(verdict.error().message, HasSubstr("I think the output passes"));
}

TEST(ParseLlmRubricReply, RejectsJsonWithoutPassOrScore) {
  auto verdict = ParseLlmRubricReply(R"({"verdict": "good"})");
  ASSERT_FALSE(verdict);
  EXPECT_THAT(verdict.error().message, HasSubstr("neither \"pass\" nor \"score\""));
}

TEST(FactualityPrompt, ListsTheFiveCategoriesAndTheThreeTexts) {
  GradingPrompt prompt = FactualityPrompt("Capital of France?", "Paris", "It is Paris.");
  for (const char* label : {"(A) ", "(B) ", "(C) ", "(D) ", "(E) "}) EXPECT_THAT(prompt.system, HasSubstr(label));
  EXPECT_THAT(prompt.user, HasSubstr("<question>\nCapital of France?\n</question>"));
  EXPECT_THAT(prompt.user, HasSubstr("<expert_answer>\nParis\n</expert_answer>"));
  EXPECT_THAT(prompt.user, HasSubstr("<submitted_answer>\nIt is Paris.\n</submitted_answer>"));
}

TEST(ParseFactualityReply, ReadsTheJsonCategory) {
  auto verdict = ParseFactualityReply(R"({"category": "b", "reason": "adds the population"})");
  ASSERT_TRUE(verdict) << verdict.error().message;
  EXPECT_EQ(verdict->category, 'B');
  EXPECT_EQ(verdict->reason, "adds the population");
}

TEST(ParseFactualityReply, FallsBackToTheLegacyLetterForm) {
  auto verdict = ParseFactualityReply("After comparing them: (D) The submission names Lyon instead.");
  ASSERT_TRUE(verdict) << verdict.error().message;
  EXPECT_EQ(verdict->category, 'D');
  EXPECT_EQ(verdict->reason, "The submission names Lyon instead.");
}

TEST(ParseFactualityReply, DoesNotMistakeAWordEndingBeforeAParenthesisForACategory) {
  EXPECT_FALSE(ParseFactualityReply("The submission (see above) is fine"));
}

TEST(ParseFactualityReply, RejectsAnUnknownCategory) {
  auto verdict = ParseFactualityReply(R"({"category": "F"})");
  ASSERT_FALSE(verdict);
  EXPECT_THAT(verdict.error().message, HasSubstr("not one of A, B, C, D, E"));
}

TEST(ParseFactualityReply, RejectsAReplyWithoutCategory) {
  auto verdict = ParseFactualityReply("They look the same to me.");
  ASSERT_FALSE(verdict);
  EXPECT_THAT(verdict.error().message, HasSubstr("names no category"));
}

TEST(FactualityCategoryPasses, OnlyDisagreementFails) {
  EXPECT_TRUE(FactualityCategoryPasses('A'));
  EXPECT_TRUE(FactualityCategoryPasses('B'));
  EXPECT_TRUE(FactualityCategoryPasses('C'));
  EXPECT_FALSE(FactualityCategoryPasses('D'));
  EXPECT_TRUE(FactualityCategoryPasses('E'));
}

}  // namespace
}  // namespace dw::scoring
