#include "core/utf8.h"

#include <gtest/gtest.h>

#include <string>

namespace dw {
namespace {

TEST(FindInvalidUtf8, AcceptsAsciiAndEveryWellFormedSequenceLength) {
  EXPECT_EQ(FindInvalidUtf8(""), std::nullopt);
  EXPECT_EQ(FindInvalidUtf8("plain ascii"), std::nullopt);
  EXPECT_EQ(FindInvalidUtf8("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"), std::nullopt);  // é € 😀
  EXPECT_EQ(FindInvalidUtf8("\xF4\x8F\xBF\xBF"), std::nullopt);                           // U+10FFFF
}

TEST(FindInvalidUtf8, ReportsTheOffsetOfTheFirstBadByte) {
  EXPECT_EQ(FindInvalidUtf8("ab\xFF"
                            "cd"),
            2u);
  EXPECT_EQ(FindInvalidUtf8("caf\xE9"), 3u);   // Latin-1 é
  EXPECT_EQ(FindInvalidUtf8("x\x80"), 1u);     // stray continuation byte
  EXPECT_EQ(FindInvalidUtf8("\xE2\x82"), 0u);  // truncated sequence
}

TEST(FindInvalidUtf8, RefusesOverlongFormsSurrogatesAndCodePointsAboveTheMaximum) {
  EXPECT_EQ(FindInvalidUtf8("\xC0\xAF"), 0u);          // overlong '/'
  EXPECT_EQ(FindInvalidUtf8("\xE0\x80\xAF"), 0u);      // overlong '/'
  EXPECT_EQ(FindInvalidUtf8("\xED\xA0\x80"), 0u);      // U+D800 surrogate
  EXPECT_EQ(FindInvalidUtf8("\xF4\x90\x80\x80"), 0u);  // U+110000
}

TEST(Utf8SequenceLength, IsTheLengthOfTheSequenceAtTheOffset) {
  const std::string text = "a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80";
  EXPECT_EQ(Utf8SequenceLength(text, 0), 1u);
  EXPECT_EQ(Utf8SequenceLength(text, 1), 2u);
  EXPECT_EQ(Utf8SequenceLength(text, 3), 3u);
  EXPECT_EQ(Utf8SequenceLength(text, 6), 4u);
  EXPECT_EQ(Utf8SequenceLength(text, 2), 0u);
}

}  // namespace
}  // namespace dw
