#include "providers/json_path.h"

#include <gtest/gtest.h>

#include "providers/json_template.h"

namespace dw::providers {
namespace {

using nlohmann::json;

const json kDoc = json::parse(R"({"choices":[{"message":{"content":"hi"}},{"message":{"content":"second"}}],
                                  "odd key":{"x":7},"data":{"text":"out"}})");

std::string TextAt(std::string_view path) {
  auto parsed = JsonPath::Parse(path);
  EXPECT_TRUE(parsed) << path;
  const json* value = parsed->Find(kDoc);
  return value == nullptr ? "<missing>" : JsonToText(*value);
}

TEST(JsonPath, FollowsNamesAndIndexes) { EXPECT_EQ(TextAt("$.choices[0].message.content"), "hi"); }

TEST(JsonPath, NegativeIndexCountsFromTheEnd) { EXPECT_EQ(TextAt("$.choices[-1].message.content"), "second"); }

TEST(JsonPath, QuotedNamesMayContainSpaces) {
  EXPECT_EQ(TextAt("$['odd key'].x"), "7");
  EXPECT_EQ(TextAt("$[\"odd key\"].x"), "7");
}

TEST(JsonPath, LeadingDollarIsOptional) { EXPECT_EQ(TextAt("data.text"), "out"); }

TEST(JsonPath, RootSelectsTheWholeDocument) {
  auto path = JsonPath::Parse("$");
  ASSERT_TRUE(path);
  EXPECT_TRUE(path->is_root());
  EXPECT_EQ(path->Find(kDoc), &kDoc);
}

TEST(JsonPath, MissingStepsGiveNull) {
  EXPECT_EQ(TextAt("$.choices[5].message"), "<missing>");
  EXPECT_EQ(TextAt("$.data.nope"), "<missing>");
  EXPECT_EQ(TextAt("$.data[0]"), "<missing>");
}

TEST(JsonPath, MalformedPathsAreInvalidInput) {
  for (std::string_view bad : {"$.", "$[", "$[x]", "$['open", "$.a..b", "$a"}) {
    auto path = JsonPath::Parse(bad);
    ASSERT_FALSE(path) << bad;
    EXPECT_EQ(path.error().kind, ErrorKind::kInvalidInput);
    EXPECT_NE(path.error().message.find(std::string(bad)), std::string::npos);
  }
}

TEST(RenderJsonTemplate, RendersStringsAtAnyDepth) {
  json tmpl = json::parse(R"({"input":{"text":"Q: {{question}}"},"list":["{{a}}-{{b}}"],"n":3})");
  auto out = RenderJsonTemplate(tmpl, json{{"question", "why?"}, {"a", "x"}, {"b", 2}});
  ASSERT_TRUE(out);
  EXPECT_EQ(*out, json::parse(R"({"input":{"text":"Q: why?"},"list":["x-2"],"n":3})"));
}

TEST(RenderJsonTemplate, SolePlaceholderKeepsTheValueType) {
  json tmpl = json::parse(R"({"k":"{{ count }}","obj":"{{doc}}","s":"{{name}}"})");
  auto out = RenderJsonTemplate(tmpl, json{{"count", 5}, {"doc", {{"a", 1}}}, {"name", "n"}});
  ASSERT_TRUE(out);
  EXPECT_EQ(*out, json::parse(R"({"k":5,"obj":{"a":1},"s":"n"})"));
}

TEST(RenderJsonTemplate, MissingVarIsInvalidInputNamingIt) {
  auto out = RenderJsonTemplate(json{{"x", "{{absent}}"}}, json::object());
  ASSERT_FALSE(out);
  EXPECT_EQ(out.error().kind, ErrorKind::kInvalidInput);
  EXPECT_NE(out.error().message.find("absent"), std::string::npos);
}

TEST(TokenCount, AcceptsNonNegativeNumbersTruncatingFractions) {
  EXPECT_EQ(TokenCount(json(0)), 0);
  EXPECT_EQ(TokenCount(json(42)), 42);
  EXPECT_EQ(TokenCount(json(7.9)), 7);
  EXPECT_EQ(TokenCount(json(9007199254740992ULL)), 9007199254740992);
}

TEST(TokenCount, RefusesNegativeHugeAndNonNumbers) {
  EXPECT_EQ(TokenCount(json(-5)), std::nullopt);
  EXPECT_EQ(TokenCount(json(-0.5)), std::nullopt);
  EXPECT_EQ(TokenCount(json(1e300)), std::nullopt);
  EXPECT_EQ(TokenCount(json(18446744073709551615ULL)), std::nullopt);
  EXPECT_EQ(TokenCount(json("12")), std::nullopt);
  EXPECT_EQ(TokenCount(json(nullptr)), std::nullopt);
}

TEST(JsonHasTemplate, FindsNestedPlaceholders) {
  EXPECT_TRUE(JsonHasTemplate(json::parse(R"([{"content":"{{x}}"}])")));
  EXPECT_FALSE(JsonHasTemplate(json::parse(R"([{"content":"plain"}])")));
}

}  // namespace
}  // namespace dw::providers
