#include "scoring/text_metrics.h"

#include <cmath>

#include <gtest/gtest.h>

namespace dw::scoring {
namespace {

TEST(CountCharacters, CountsCodePointsNotBytes) {
  EXPECT_EQ(CountCharacters("h\xC3\xA9llo \xF0\x9F\x91\x8B"), 7u);  // "héllo 👋"
}

TEST(CountWords, SplitsOnRunsOfWhiteSpace) {
  EXPECT_EQ(CountWords("  one two\tthree\n\nfour "), 4u);
  EXPECT_EQ(CountWords(" \t\n"), 0u);
}

TEST(LevenshteinDistance, CountsUnitEdits) {
  EXPECT_EQ(LevenshteinDistance("kitten", "sitting"), 3u);
  EXPECT_EQ(LevenshteinDistance("", "abc"), 3u);
  EXPECT_EQ(LevenshteinDistance("same", "same"), 0u);
}

TEST(LevenshteinDistance, TreatsAMultiByteCharacterAsOneEdit) {
  EXPECT_EQ(LevenshteinDistance("h\xC3\xA9llo", "hello"), 1u);
}

TEST(BoundedLevenshteinDistance, ReturnsBoundPlusOneWhenTheDistanceExceedsIt) {
  EXPECT_EQ(BoundedLevenshteinDistance("kitten", "sitting", 2), 3u);
  EXPECT_EQ(BoundedLevenshteinDistance("kitten", "sitting", 3), 3u);
  EXPECT_EQ(BoundedLevenshteinDistance("kitten", "sitting", 10), 3u);
  EXPECT_EQ(BoundedLevenshteinDistance("a", "abcdef", 2), 3u);
}

TEST(BoundedLevenshteinDistance, AgreesWithTheExactDistanceInsideTheBand) {
  const char* pairs[][2] = {{"flaw", "lawn"}, {"intention", "execution"}, {"abcdef", "azced"}, {"", ""}};
  for (auto& p : pairs)
    EXPECT_EQ(BoundedLevenshteinDistance(p[0], p[1], 20), LevenshteinDistance(p[0], p[1])) << p[0] << "/" << p[1];
  EXPECT_EQ(LevenshteinDistance("intention", "execution"), 5u);
}

TEST(TreebankTokenize, SplitsPunctuationCliticsAndTheFinalPeriod) {
  EXPECT_EQ(TreebankTokenize("Don't stop, it's 1,000 dollars."),
            (std::vector<std::string>{"Do", "n't", "stop", ",", "it", "'s", "1,000", "dollars", "."}));
  EXPECT_EQ(TreebankTokenize("Hello (world)!"), (std::vector<std::string>{"Hello", "(", "world", ")", "!"}));
  EXPECT_EQ(TreebankTokenize("Wait... what?"), (std::vector<std::string>{"Wait", "...", "what", "?"}));
}

TEST(RougeNRecall, IdenticalTextScoresOneEvenWithRepeatedWords) {
  EXPECT_DOUBLE_EQ(RougeNRecall("the cat sat on the mat", "the cat sat on the mat"), 1.0);
}

TEST(RougeNRecall, IsClippedRecallOfReferenceUnigrams) {
  // Reference unigrams: the x2, cat, sat, on, mat = 6; the candidate matches one "the" and "cat".
  EXPECT_DOUBLE_EQ(RougeNRecall("the cat", "the cat sat on the mat"), 2.0 / 6.0);
}

TEST(RougeNRecall, IsCaseSensitiveLikeJsRouge) {
  EXPECT_DOUBLE_EQ(RougeNRecall("The Cat", "the cat"), 0.0);
}

TEST(RougeNRecall, UsesBigramsWhenAsked) {
  EXPECT_DOUBLE_EQ(RougeNRecall("the cat sat", "the cat ran", 2), 0.5);
}

TEST(SentenceBleu, IdenticalSentenceScoresOne) {
  EXPECT_NEAR(SentenceBleu("The cat sat on the mat", {"the cat sat on the mat"}), 1.0, 1e-12);
}

TEST(SentenceBleu, IsTheGeometricMeanOfClippedPrecisions) {
  // p1 = 5/6, p2 = 3/5, p3 = 2/4, p4 = 1/3; equal lengths so no brevity penalty.
  const double expected = std::pow(5.0 / 6.0 * 3.0 / 5.0 * 2.0 / 4.0 * 1.0 / 3.0, 0.25);
  EXPECT_NEAR(SentenceBleu("the cat sat on the mat", {"the cat sat on a mat"}), expected, 1e-12);
  EXPECT_NEAR(expected, 0.5373, 1e-4);
}

TEST(SentenceBleu, SmoothsZeroPrecisionsAndPenalisesShortCandidates) {
  // c = 2, r = 6: BP = e^(1 - 3); p1 = p2 = 1, p3 = p4 = 0 -> 1e-7.
  EXPECT_NEAR(SentenceBleu("the cat", {"the cat sat on the mat"}), std::exp(-2.0) * std::sqrt(1e-7), 1e-15);
}

TEST(SentenceBleu, TakesTheBestReferencePerOrder) {
  EXPECT_NEAR(SentenceBleu("a b c d", {"x y z w", "a b c d"}), 1.0, 1e-12);
}

TEST(SentenceBleu, EmptyCandidateScoresZero) { EXPECT_EQ(SentenceBleu("  ", {"a b"}), 0.0); }

TEST(CosineSimilarity, IsDotOverNorms) {
  EXPECT_NEAR(*CosineSimilarity({1, 2}, {2, 4}), 1.0, 1e-12);
  EXPECT_NEAR(*CosineSimilarity({1, 0}, {0.8, 0.6}), 0.8, 1e-12);
  EXPECT_DOUBLE_EQ(*CosineSimilarity({1, 0}, {0, 1}), 0.0);
}

TEST(CosineSimilarity, RejectsVectorsOfDifferentLength) {
  auto result = CosineSimilarity({1, 0}, {1, 0, 0});
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().kind, ErrorKind::kInvalidInput);
}

TEST(EuclideanDistance, IsTheRootOfSquaredDifferences) {
  EXPECT_DOUBLE_EQ(*EuclideanDistance({0, 0}, {3, 4}), 5.0);
}

TEST(LooksLikeRefusal, RecognisesRefusalOpenersIncludingTypographicApostrophes) {
  EXPECT_TRUE(LooksLikeRefusal("I'm sorry, but I can't help with that."));
  EXPECT_TRUE(LooksLikeRefusal("  I\xE2\x80\x99m unable to share that information."));
  EXPECT_TRUE(LooksLikeRefusal("As an AI, I do not have opinions."));
}

TEST(LooksLikeRefusal, RecognisesRefusalPhrasesAfterAPreamble) {
  EXPECT_TRUE(LooksLikeRefusal("Thanks for asking. Unfortunately I cannot provide legal advice."));
}

TEST(LooksLikeRefusal, TreatsEmptyOutputAsARefusal) { EXPECT_TRUE(LooksLikeRefusal(" \n")); }

TEST(LooksLikeRefusal, AcceptsOrdinaryAnswers) {
  EXPECT_FALSE(LooksLikeRefusal("The capital of France is Paris."));
  EXPECT_FALSE(LooksLikeRefusal("Sorry for the wait! Here is the summary you asked for."));
}

}  // namespace
}  // namespace dw::scoring
