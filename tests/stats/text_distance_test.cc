#include "stats/text_distance.h"

#include <algorithm>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "stats/rng.h"

namespace dw::stats {
namespace {

// Textbook O(mn) dynamic programme, the oracle for the bit-parallel version.
std::size_t DynamicProgrammingDistance(const std::u32string& a, const std::u32string& b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::u32string RandomText(Wyrand& rng, std::size_t length, std::u32string_view alphabet) {
  std::u32string out;
  for (std::size_t i = 0; i < length; ++i) out.push_back(alphabet[rng.Below(alphabet.size())]);
  return out;
}

TEST(EditDistance, MatchesClassicExamples) {
  EXPECT_EQ(EditDistance(std::string_view("kitten"), std::string_view("sitting")), 3u);
  EXPECT_EQ(EditDistance(std::string_view("flaw"), std::string_view("lawn")), 2u);
  EXPECT_EQ(EditDistance(std::string_view(""), std::string_view("abc")), 3u);
  EXPECT_EQ(EditDistance(std::string_view("same"), std::string_view("same")), 0u);
}

TEST(EditDistance, CountsCodePointsNotBytes) {
  // "é" and "è" are two bytes each in UTF-8 but one substitution apart.
  EXPECT_EQ(EditDistance(std::string_view("caf\xc3\xa9"), std::string_view("caf\xc3\xa8")), 1u);
  EXPECT_EQ(EditDistance(std::string_view("\xe6\x97\xa5\xe6\x9c\xac"), std::string_view("\xe6\x97\xa5")), 1u);
}

TEST(EditDistance, AgreesWithDynamicProgrammingAcrossBlockSizes) {
  Wyrand rng(2718);
  const std::u32string alphabet = U"abcde \u00e9\u4e2d";
  for (std::size_t length : {1u, 7u, 63u, 64u, 65u, 127u, 128u, 129u, 200u, 300u}) {
    for (int trial = 0; trial < 5; ++trial) {
      const std::u32string a = RandomText(rng, length, alphabet);
      const std::size_t other = length > 20 ? length - 20 + rng.Below(40) : length + rng.Below(40);
      const std::u32string b = RandomText(rng, other, alphabet);
      EXPECT_EQ(EditDistance(a, b), DynamicProgrammingDistance(a, b)) << length << "/" << trial;
      EXPECT_EQ(EditDistance(b, a), DynamicProgrammingDistance(a, b)) << length << "/" << trial;
    }
  }
}

TEST(EditDistanceFrom, WorksWithAPatternLongerThanTheText) {
  const std::u32string long_text(150, U'x');
  const EditDistanceFrom from(long_text);
  EXPECT_EQ(from.To(U"xxy"), 148u);
  EXPECT_DOUBLE_EQ(from.NormalizedTo(U"xxy"), 148.0 / 150);
}

TEST(NormalizedEditDistance, DividesByTheLongerLength) {
  EXPECT_DOUBLE_EQ(NormalizedEditDistance("kitten", "sitting"), 3.0 / 7);
  EXPECT_DOUBLE_EQ(NormalizedEditDistance("abc", "xyz"), 1.0);
  EXPECT_DOUBLE_EQ(NormalizedEditDistance("", ""), 0.0);
  EXPECT_DOUBLE_EQ(NormalizedEditDistance("", "a"), 1.0);
}

TEST(DecodeUtf8, TurnsInvalidBytesIntoOneUnitEach) {
  const std::u32string decoded = DecodeUtf8("a\xff\xc3" "b\xe2\x82\xac");
  ASSERT_EQ(decoded.size(), 5u);
  EXPECT_EQ(decoded[0], U'a');
  EXPECT_EQ(decoded[1], static_cast<char32_t>(0xdcff));
  EXPECT_EQ(decoded[2], static_cast<char32_t>(0xdcc3));
  EXPECT_EQ(decoded[3], U'b');
  EXPECT_EQ(decoded[4], U'\u20ac');
}

TEST(DecodeUtf8, RejectsOverlongAndSurrogateEncodings) {
  EXPECT_EQ(DecodeUtf8("\xe0\x80\xaf").size(), 3u);  // overlong '/'
  EXPECT_EQ(DecodeUtf8("\xed\xa0\x80").size(), 3u);  // U+D800
}

}  // namespace
}  // namespace dw::stats
