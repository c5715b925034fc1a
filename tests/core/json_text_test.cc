#include "core/json_text.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace dw {
namespace {

using ::testing::HasSubstr;

std::string Nested(int depth) { return std::string(depth, '[') + std::string(depth, ']'); }

TEST(ParseJsonText, ParsesADocument) {
  auto parsed = ParseJsonText(R"({"a": [1, {"b": null}]})");
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ((*parsed)["a"][1], nlohmann::json({{"b", nullptr}}));
}

TEST(ParseJsonText, SyntaxErrorSaysWhere) {
  auto parsed = ParseJsonText("{\"a\": tru}");
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().kind, ErrorKind::kInvalidInput);
  EXPECT_THAT(parsed.error().message, HasSubstr("parse error at line 1, column 10"));
}

TEST(ParseJsonText, NumberTooLargeForADoubleIsAnError) {
  auto parsed = ParseJsonText("[1e999]");
  ASSERT_FALSE(parsed);
  EXPECT_THAT(parsed.error().message, HasSubstr("number overflow"));
}

TEST(ParseJsonText, AcceptsTheMaximumDepth) {
  // The outermost array is depth 0.
  EXPECT_TRUE(ParseJsonText(Nested(kMaxJsonDepth + 1)));
}

TEST(ParseJsonText, RefusesOneLevelMoreThanTheMaximum) {
  auto parsed = ParseJsonText(Nested(kMaxJsonDepth + 2));
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().message, "nested deeper than 512 levels");
}

TEST(ParseJsonText, RefusesADocumentDeepEnoughToOverflowTheStackWhenCopied) {
  auto parsed = ParseJsonText(R"({"x": )" + Nested(300000) + "}");
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().message, "nested deeper than 512 levels");
}

}  // namespace
}  // namespace dw
