#include "goldenset/parser.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "goldenset/diff.h"
#include "support/temp_dir.h"

namespace dw::goldenset {
namespace {

using ::testing::HasSubstr;

constexpr const char* kNative = R"(name: faq
description: Refund questions
defaults:
  vars: {lang: en}
  assert: [{type: not-contains, value: ERROR}]
  tags: [faq]
cases:
  - id: refund-window
    vars: {question: "How long do I have?", expected: "30 days"}
    assert: [{type: contains, value: "{{expected}}"}]
    tags: [refunds]
  - id: greeting
    vars: {question: "hi", lang: fr}
    assert: [{type: icontains, value: bonjour}]
    threshold: 0.5
)";

TEST(ParseNative, ReadsCasesAndMergesDefaults) {
  auto parsed = ParseGoldenSet(kNative, "faq.yaml");
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->format, "native");
  EXPECT_EQ(parsed->set.name, "faq");
  ASSERT_EQ(parsed->set.cases.size(), 2u);
  const auto& c = parsed->set.cases[0];
  EXPECT_EQ(c.id, "refund-window");
  EXPECT_EQ(c.vars["lang"], "en");
  EXPECT_EQ(c.vars["expected"], "30 days");
  ASSERT_EQ(c.asserts.size(), 2u);
  EXPECT_EQ(c.asserts[0]["type"], "not-contains");
  EXPECT_EQ(c.asserts[1]["value"], "{{expected}}");
  EXPECT_EQ(c.tags, (std::vector<std::string>{"faq", "refunds"}));
  EXPECT_EQ(parsed->set.cases[1].vars["lang"], "fr");
  EXPECT_DOUBLE_EQ(*parsed->set.cases[1].threshold, 0.5);
  EXPECT_TRUE(parsed->warnings.empty());
}

TEST(ParseNative, DuplicateCaseIdIsAnErrorWithBothLocations) {
  auto parsed = ParseGoldenSet("cases:\n  - id: a\n  - id: a\n", "g.yaml");
  ASSERT_FALSE(parsed);
  EXPECT_THAT(parsed.error().message, HasSubstr("g.yaml:3:5: duplicate case id 'a' (first used at g.yaml:2:5)"));
}

TEST(ParseNative, UnknownCaseKeyIsAnError) {
  auto parsed = ParseGoldenSet("cases:\n  - id: a\n    asert: []\n", "g.yaml");
  ASSERT_FALSE(parsed);
  EXPECT_THAT(parsed.error().message, HasSubstr("g.yaml:3:5: unknown key 'asert'"));
  EXPECT_THAT(parsed.error().message, HasSubstr("did you mean 'assert'"));
}

TEST(ParseNative, VarsMustBeAMapping) {
  auto parsed = ParseGoldenSet("cases:\n  - id: a\n    vars: [1, 2]\n", "g.yaml");
  ASSERT_FALSE(parsed);
  EXPECT_THAT(parsed.error().message, HasSubstr("g.yaml:3:11: 'vars' must be a mapping"));
}

TEST(ParseNative, EmptyGoldenSetIsRefused) {
  auto parsed = ParseGoldenSet("cases: []\n", "g.yaml");
  ASSERT_FALSE(parsed);
  EXPECT_THAT(parsed.error().message, HasSubstr("no cases"));
}

TEST(ParseJsonl, ReadsOneCasePerLineSkippingBlankLines) {
  auto parsed = ParseGoldenSet(
      "{\"id\":\"a\",\"vars\":{\"q\":\"x\"},\"assert\":[{\"type\":\"equals\",\"value\":\"y\"}]}\n\n"
      "{\"id\":\"b\",\"tags\":[\"t\"]}\n",
      "g.jsonl");
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->format, "jsonl");
  ASSERT_EQ(parsed->set.cases.size(), 2u);
  EXPECT_EQ(parsed->set.cases[0].asserts[0]["value"], "y");
  EXPECT_EQ(parsed->set.cases[1].tags[0], "t");
}

TEST(ParseJsonl, InvalidJsonReportsLineAndColumn) {
  auto parsed = ParseGoldenSet("{\"id\":\"a\"}\n{\"id\": \"b\",, }\n", "g.jsonl");
  ASSERT_FALSE(parsed);
  EXPECT_THAT(parsed.error().message, HasSubstr("g.jsonl:2:12: invalid JSON"));
}

TEST(ParseJsonl, WrongFieldTypeNamesTheField) {
  auto parsed = ParseGoldenSet("{\"id\":\"a\",\"vars\":\"q\"}\n", "g.jsonl");
  ASSERT_FALSE(parsed);
  EXPECT_THAT(parsed.error().message, HasSubstr("g.jsonl:1:1: 'vars' must be an object"));
}

TEST(ParsePromptfoo, PublishesAConfigWithTestsAndDefaultTest) {
  auto parsed = ParseGoldenSet(R"(description: bench
prompts: ['{{q}}']
providers: [openai:chat:gpt-4o-mini]
defaultTest:
  assert: [{type: not-contains, value: ERROR}]
tests:
  - description: first
    vars: {q: question number 0}
    assert: [{type: contains, value: number 0}]
  - vars: {q: question number 1}
    assert: [{type: contains, value: number 1}]
    metadata: {tags: [slice-a]}
)",
                               "promptfooconfig.yaml");
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->format, "promptfoo");
  ASSERT_EQ(parsed->set.cases.size(), 2u);
  EXPECT_EQ(parsed->set.cases[0].asserts.size(), 2u);
  EXPECT_EQ(parsed->set.cases[0].asserts[0]["type"], "not-contains");
  EXPECT_EQ(parsed->set.cases[0].description, "first");
  EXPECT_EQ(parsed->set.cases[1].tags, std::vector<std::string>{"slice-a"});
  ASSERT_EQ(parsed->warnings.size(), 1u);
  EXPECT_THAT(parsed->warnings[0], HasSubstr("2 case(s) have no 'id'"));
}

TEST(ParsePromptfoo, DerivedIdsAreStableAndContentBased) {
  const char* text = "tests:\n  - vars: {q: a}\n  - vars: {q: b}\n";
  auto first = ParseGoldenSet(text, "p.yaml");
  auto again = ParseGoldenSet(text, "p.yaml");
  auto reordered = ParseGoldenSet("tests:\n  - vars: {q: b}\n  - vars: {q: a}\n", "p.yaml");
  ASSERT_TRUE(first && again && reordered);
  EXPECT_EQ(first->set.cases[0].id, again->set.cases[0].id);
  EXPECT_EQ(first->set.cases[0].id, reordered->set.cases[1].id);
  EXPECT_NE(first->set.cases[0].id, first->set.cases[1].id);
  EXPECT_EQ(first->set.ManifestHash(), reordered->set.ManifestHash());
}

TEST(ParsePromptfoo, ReadsTestsFromARelativeFileReference) {
  testing::TempDir dir;
  dir.WriteFile("cases.yaml", "- vars: {q: one}\n  assert: [{type: equals, value: one}]\n");
  auto config = dir.WriteFile("promptfooconfig.yaml", "tests: file://cases.yaml\n");
  auto parsed = LoadGoldenSet(config.string());
  ASSERT_TRUE(parsed) << parsed.error().message;
  ASSERT_EQ(parsed->set.cases.size(), 1u);
  EXPECT_EQ(parsed->set.cases[0].vars["q"], "one");
}

TEST(ParsePromptfoo, ProviderOverrideInATestIsRejected) {
  auto parsed = ParseGoldenSet("tests:\n  - vars: {q: a}\n    provider: openai:gpt-4\n", "p.yaml");
  ASSERT_FALSE(parsed);
  EXPECT_THAT(parsed.error().message, HasSubstr("p.yaml:3:5: unknown key 'provider'"));
}

TEST(ParseShared, QuotedNumbersStayStringsAndPlainOnesBecomeNumbers) {
  auto parsed = ParseGoldenSet("cases:\n  - id: a\n    vars: {x: '1', y: 2, z: yes}\n", "g.yaml");
  ASSERT_TRUE(parsed);
  EXPECT_TRUE(parsed->set.cases[0].vars["x"].is_string());
  EXPECT_EQ(parsed->set.cases[0].vars["y"], 2);
  EXPECT_EQ(parsed->set.cases[0].vars["z"], "yes");
}

TEST(Diff, ReportsAddedRemovedAndChangedCases) {
  auto before = ParseGoldenSet("cases:\n  - {id: a, vars: {q: 1}}\n  - {id: b}\n  - {id: c}\n", "g.yaml");
  auto after = ParseGoldenSet("cases:\n  - {id: a, vars: {q: 2}}\n  - {id: c}\n  - {id: d}\n", "g.yaml");
  ASSERT_TRUE(before && after);
  auto diff = Diff(before->set, after->set);
  EXPECT_EQ(diff.added, std::vector<std::string>{"d"});
  EXPECT_EQ(diff.removed, std::vector<std::string>{"b"});
  EXPECT_EQ(diff.changed, std::vector<std::string>{"a"});
  EXPECT_EQ(diff.unchanged, 1u);
}

TEST(ParseJsonl, NumberTooLargeForADoubleIsAnErrorNotACrash) {
  auto parsed = ParseGoldenSet("{\"id\":\"a\",\"vars\":{\"n\":1e999}}\n", "g.jsonl");
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().message, "g.jsonl:1:1: invalid JSON: number overflow parsing '1e999'");
}

TEST(ParseJsonl, LineNestedDeeperThanTheJsonLimitIsAnErrorNotACrash) {
  const std::string deep = std::string(300000, '[') + std::string(300000, ']');
  auto parsed = ParseGoldenSet("{\"id\":\"a\",\"vars\":{\"q\":" + deep + "}}\n", "g.jsonl");
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().message, "g.jsonl:1:1: invalid JSON: nested deeper than 512 levels");
}

TEST(ParsePromptfoo, ExplicitFormatOnAMappingWithoutTestsIsAnErrorNotACrash) {
  auto parsed = ParseGoldenSet("vests: []\n", "p.yaml", Format::kPromptfoo);
  ASSERT_FALSE(parsed);
  EXPECT_THAT(parsed.error().message, HasSubstr("p.yaml:1:1: missing required key 'tests'"));
}

TEST(ParsePromptfoo, ReferencedMappingWithoutTestsIsAnErrorNotACrash) {
  testing::TempDir dir;
  dir.WriteFile("other.yaml", "description: no tests here\n");
  auto config = dir.WriteFile("promptfooconfig.yaml", "tests: file://other.yaml\n");
  auto parsed = LoadGoldenSet(config.string());
  ASSERT_FALSE(parsed);
  EXPECT_THAT(parsed.error().message, HasSubstr(":1:8: 'file://other.yaml' has no 'tests'"));
}

TEST(ParseLimits, JsonlWithMoreCasesThanTheLimitIsRefusedAtTheFirstExtraLine) {
  ParseLimits limits;
  limits.max_cases = 2;
  auto parsed = ParseGoldenSet("{\"id\":\"a\"}\n{\"id\":\"b\"}\n\n{\"id\":\"c\"}\n", "g.jsonl", Format::kAuto, limits);
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().message,
            "g.jsonl:4: more than 2 cases, the limit for one golden set; split it into several");
}

TEST(ParseLimits, NativeListWithMoreCasesThanTheLimitIsRefusedAtTheList) {
  ParseLimits limits;
  limits.max_cases = 2;
  auto parsed = ParseGoldenSet("cases:\n  - id: a\n  - id: b\n  - id: c\n", "g.yaml", Format::kAuto, limits);
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().message,
            "g.yaml:2:3: more than 2 cases, the limit for one golden set; split it into several");
}

TEST(ParseLimits, PromptfooTestsAboveTheLimitAreRefused) {
  ParseLimits limits;
  limits.max_cases = 1;
  auto parsed = ParseGoldenSet("tests:\n  - vars: {q: a}\n  - vars: {q: b}\n", "p.yaml", Format::kAuto, limits);
  ASSERT_FALSE(parsed);
  EXPECT_THAT(parsed.error().message, HasSubstr("p.yaml: more than 1 cases, the limit for one golden set"));
}

TEST(ParseLimits, JsonlLineAboveTheCaseSizeLimitIsRefusedWithItsSize) {
  ParseLimits limits;
  limits.max_case_bytes = 64;
  const std::string big = "{\"id\":\"a\",\"vars\":{\"q\":\"" + std::string(100, 'x') + "\"}}";
  auto parsed = ParseGoldenSet("{\"id\":\"small\"}\n" + big + "\n", "g.jsonl", Format::kAuto, limits);
  ASSERT_FALSE(parsed);
  EXPECT_EQ(parsed.error().message,
            "g.jsonl:2: the case is " + std::to_string(big.size()) + " bytes, above the limit of 64 bytes per case");
}

TEST(ParseLimits, YamlCaseAboveTheCaseSizeLimitIsRefusedAtItsLocation) {
  ParseLimits limits;
  limits.max_case_bytes = 200;
  auto parsed = ParseGoldenSet("cases:\n  - id: small\n  - id: big\n    vars: {q: " + std::string(300, 'x') + "}\n",
                               "g.yaml", Format::kAuto, limits);
  ASSERT_FALSE(parsed);
  EXPECT_THAT(parsed.error().message, HasSubstr("g.yaml:3:5: the case is "));
  EXPECT_THAT(parsed.error().message, HasSubstr("bytes, above the limit of 200 bytes per case"));
}

TEST(ParseLimits, DefaultsAllowAMillionCasesOfFourMebibytes) {
  EXPECT_EQ(ParseLimits().max_cases, 1'000'000u);
  EXPECT_EQ(ParseLimits().max_case_bytes, 4u << 20);
}

TEST(ParseJsonl, ThresholdOutsideZeroToOneIsAnError) {
  auto parsed = ParseGoldenSet("{\"id\":\"a\",\"threshold\":1.5}\n", "g.jsonl");
  ASSERT_FALSE(parsed);
  EXPECT_THAT(parsed.error().message, HasSubstr("g.jsonl:1:1: 'threshold' must be a number between 0 and 1"));
}

TEST(ParsePromptfoo, FileReferenceToADeviceIsRefused) {
  auto parsed = ParseGoldenSet("tests: file:///dev/zero\n", "p.yaml");
  ASSERT_FALSE(parsed);
  EXPECT_THAT(parsed.error().message, HasSubstr("p.yaml:1:8: 'file:///dev/zero' is not a regular file"));
}

TEST(ParsePromptfoo, MoreThanAThousandFileReferencesAreRefused) {
  testing::TempDir dir;
  dir.WriteFile("one.yaml", "- vars: {q: one}\n");
  std::string config = "tests:\n";
  for (int i = 0; i <= kMaxIncludedFiles; ++i) config += "  - file://one.yaml\n";
  auto path = dir.WriteFile("promptfooconfig.yaml", config);
  auto parsed = LoadGoldenSet(path.string());
  ASSERT_FALSE(parsed);
  EXPECT_THAT(parsed.error().message, HasSubstr(":1002:5: more than 1000 file:// references"));
}

TEST(ParseNative, ReadsAGroupPerCaseAndLeavesOthersUngrouped) {
  auto parsed =
      ParseGoldenSet("cases:\n  - id: a\n    group: doc-1\n  - id: b\n    group: doc-1\n  - id: c\n", "g.yaml");
  ASSERT_TRUE(parsed) << parsed.error().message;
  ASSERT_EQ(parsed->set.cases.size(), 3u);
  EXPECT_EQ(parsed->set.cases[0].group, "doc-1");
  EXPECT_EQ(parsed->set.cases[1].group, "doc-1");
  EXPECT_EQ(parsed->set.cases[2].group, "");
}

TEST(ParseNative, EmptyGroupIsAnErrorAtItsLocation) {
  auto parsed = ParseGoldenSet("cases:\n  - id: a\n    group: ''\n", "g.yaml");
  ASSERT_FALSE(parsed);
  EXPECT_THAT(parsed.error().message, HasSubstr("g.yaml:3:12: 'group' must not be empty"));
}

TEST(ParseNative, GroupIsNotADefault) {
  auto parsed = ParseGoldenSet("defaults:\n  group: all\ncases:\n  - id: a\n", "g.yaml");
  ASSERT_FALSE(parsed);
  EXPECT_THAT(parsed.error().message, HasSubstr("unknown key 'group'"));
}

TEST(ParseJsonl, ReadsTheGroupField) {
  auto parsed = ParseGoldenSet("{\"id\":\"a\",\"group\":\"t1\"}\n{\"id\":\"b\"}\n", "g.jsonl");
  ASSERT_TRUE(parsed) << parsed.error().message;
  EXPECT_EQ(parsed->set.cases[0].group, "t1");
  EXPECT_EQ(parsed->set.cases[1].group, "");
}

TEST(ParseJsonl, NonStringGroupIsAnErrorNamingTheField) {
  auto parsed = ParseGoldenSet("{\"id\":\"a\",\"group\":3}\n", "g.jsonl");
  ASSERT_FALSE(parsed);
  EXPECT_THAT(parsed.error().message, HasSubstr("g.jsonl:1:1: 'group' must be a non-empty string"));
}

TEST(ParsePromptfoo, GroupComesFromMetadataGroupIncludingDefaultTest) {
  auto parsed = ParseGoldenSet(
      "defaultTest:\n  metadata: {group: shared}\n"
      "tests:\n  - vars: {q: a}\n    metadata: {group: doc-7}\n  - vars: {q: b}\n",
      "promptfooconfig.yaml");
  ASSERT_TRUE(parsed) << parsed.error().message;
  ASSERT_EQ(parsed->set.cases.size(), 2u);
  EXPECT_EQ(parsed->set.cases[0].group, "doc-7");
  EXPECT_EQ(parsed->set.cases[1].group, "shared");
}

TEST(ParsePromptfoo, NonStringMetadataGroupIsAnError) {
  auto parsed = ParseGoldenSet("tests:\n  - vars: {q: a}\n    metadata: {group: [1]}\n", "p.yaml");
  ASSERT_FALSE(parsed);
  EXPECT_THAT(parsed.error().message, HasSubstr("'metadata.group' must be a non-empty string"));
}

TEST(ParseNative, GroupChangesTheCaseContentHashAndAbsenceKeepsIt) {
  auto plain = ParseGoldenSet("cases:\n  - id: a\n    vars: {q: x}\n", "g.yaml");
  auto grouped = ParseGoldenSet("cases:\n  - id: a\n    vars: {q: x}\n    group: g\n", "g.yaml");
  ASSERT_TRUE(plain && grouped);
  GoldenCase expected;
  expected.id = "a";
  expected.vars = {{"q", "x"}};
  EXPECT_EQ(plain->set.cases[0].ContentHash(), expected.ContentHash());
  EXPECT_NE(grouped->set.cases[0].ContentHash(), plain->set.cases[0].ContentHash());
}

TEST(NameFromPath, UsesTheFileStem) { EXPECT_EQ(NameFromPath("/x/y/faq.yaml"), "faq"); }

}  // namespace
}  // namespace dw::goldenset
