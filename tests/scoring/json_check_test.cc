#include "scoring/json_check.h"

#include <atomic>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace dw::scoring {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

const json kPersonSchema = json::parse(R"({
  "type": "object",
  "required": ["name", "age"],
  "properties": {"name": {"type": "string"}, "age": {"type": "integer", "minimum": 0}},
  "additionalProperties": false
})");

TEST(ParseJson, DeeplyNestedModelOutputIsInvalidNotACrash) {
  auto parsed = ParseJson("{\"answer\": " + std::string(300000, '[') + std::string(300000, ']') + "}");
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().message, "not valid JSON: nested deeper than 512 levels");
}

TEST(JsonSchema, AcceptsAConformingDocument) {
  auto schema = JsonSchema::Compile(kPersonSchema);
  ASSERT_TRUE(schema) << schema.error().message;
  EXPECT_TRUE((*schema)->Validate(json::parse(R"({"name": "Ada", "age": 36})")));
}

TEST(JsonSchema, ReportsViolationsWithTheirPath) {
  auto schema = JsonSchema::Compile(kPersonSchema);
  ASSERT_TRUE(schema);
  Status status = (*schema)->Validate(json::parse(R"({"name": "Ada", "age": -1})"));
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().message, "<root>[age]: Expected number greater than or equal to 0.000000");
}

TEST(JsonSchema, ReportsAMissingRequiredProperty) {
  auto schema = JsonSchema::Compile(kPersonSchema);
  ASSERT_TRUE(schema);
  Status status = (*schema)->Validate(json::parse(R"({"name": "Ada"})"));
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().message, "<root>: Missing required property 'age'.");
}

TEST(JsonSchema, SupportsBooleanSchemas) {
  auto never = JsonSchema::Compile(json(false));
  ASSERT_TRUE(never) << never.error().message;
  EXPECT_FALSE((*never)->Validate(json::object()));
}

TEST(JsonSchema, RejectsAMalformedSchema) {
  auto schema = JsonSchema::Compile(json::parse(R"({"type": 5})"));
  ASSERT_FALSE(schema);
  EXPECT_EQ(schema.error().kind, ErrorKind::kInvalidInput);
  EXPECT_THAT(schema.error().message, HasSubstr("invalid JSON schema"));
}

TEST(JsonSchema, CanBeSharedAcrossThreads) {
  auto schema = JsonSchema::Compile(kPersonSchema);
  ASSERT_TRUE(schema);
  std::shared_ptr<const JsonSchema> shared = *schema;
  std::vector<std::thread> threads;
  std::atomic<int> valid{0};
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 200; ++i)
        if (shared->Validate(json{{"name", "x"}, {"age", i}})) ++valid;
    });
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(valid.load(), 800);
}

TEST(ExtractJsonObjects, FindsEachObjectInProse) {
  auto objects = ExtractJsonObjects(R"(Result: {"a": {"b": "}"}} then {bad} and {"c": 1}.)");
  ASSERT_EQ(objects.size(), 2u);
  EXPECT_EQ(objects[0], json::parse(R"({"a": {"b": "}"}})"));
  EXPECT_EQ(objects[1], json::parse(R"({"c": 1})"));
}

TEST(ExtractJsonObjects, FindsAnObjectInsideAnUnbalancedPrefix) {
  auto objects = ExtractJsonObjects(R"({ broken {"ok": true})");
  ASSERT_EQ(objects.size(), 1u);
  EXPECT_EQ(objects[0], json::parse(R"({"ok": true})"));
}

TEST(ExtractJsonObjects, IgnoresArraysAndScalars) {
  EXPECT_TRUE(ExtractJsonObjects(R"([1, 2] "text" 3)").empty());
}

TEST(ParseJson, AcceptsSurroundingWhiteSpaceAndRejectsTrailingText) {
  EXPECT_EQ(*ParseJson(" \n{\"a\": 1}\n"), json::parse(R"({"a": 1})"));
  EXPECT_FALSE(ParseJson(R"({"a": 1} extra)"));
}

}  // namespace
}  // namespace dw::scoring
