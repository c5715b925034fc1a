#include "config/loader.h"

#include <cstdlib>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace dw::config {
namespace {

using ::testing::HasSubstr;

constexpr const char* kValid = R"(version: 1
concurrency: 32
targets:
  bot:
    provider: openai-chat
    base_url: https://api.example.test/v1
    model: gpt-test
    api_key_env: TEST_API_KEY
    prompt: "Answer: {{question}}"
    params: {temperature: 0, max_tokens: 64, seed: 7}
    retries: {max_attempts: 4, base_delay_ms: 100}
    price: {input_per_mtok: 0.15, output_per_mtok: 0.6}
  sim:
    provider: sim
    prompt: "{{question}}"
    sim: {accuracy: 0.8, seed: 3}
schedules:
  nightly: {cron: "0 3 * * *", goldenset: faq, targets: [bot, sim], repeat: 3}
policies:
  faq: {alpha: 0.01, delta_min: 0.03, min_approvals: {production: 2}}
)";

std::string ErrorOf(const std::string& text) {
  auto result = ParseConfig(text, "dw.yaml");
  EXPECT_FALSE(result) << "expected an error for:\n" << text;
  return result ? "" : result.error().message;
}

TEST(ParseConfig, AcceptsAFullValidConfig) {
  auto config = ParseConfig(kValid, "dw.yaml");
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->concurrency, 32);
  const auto& bot = config->targets.at("bot");
  EXPECT_EQ(bot.provider, "openai-chat");
  EXPECT_EQ(bot.api_key_env, "TEST_API_KEY");
  EXPECT_EQ(bot.params["max_tokens"], 64);
  EXPECT_EQ(bot.retry.max_attempts, 4);
  EXPECT_DOUBLE_EQ(bot.price.output_per_mtok, 0.6);
  EXPECT_DOUBLE_EQ(config->targets.at("sim").sim.accuracy, 0.8);
  EXPECT_EQ(config->schedules.at("nightly").repeat, 3);
  EXPECT_DOUBLE_EQ(config->PolicyFor("faq").delta_min, 0.03);
  EXPECT_DOUBLE_EQ(config->PolicyFor("other").delta_min, 0.02);
}

TEST(ParseConfig, TargetVersionHashChangesWithPromptButNotWithLocation) {
  auto a = ParseConfig(kValid, "a.yaml");
  auto b = ParseConfig(std::string("\n") + kValid, "b.yaml");
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->targets.at("bot").VersionHash(), b->targets.at("bot").VersionHash());
  auto changed = a->targets.at("bot");
  changed.prompt = "Reply: {{question}}";
  EXPECT_NE(changed.VersionHash(), a->targets.at("bot").VersionHash());
}

TEST(ParseConfigErrors, SyntaxErrorHasLineAndColumn) {
  EXPECT_THAT(ErrorOf("targets:\n  bot: [unclosed\n"), HasSubstr("dw.yaml:3:1"));
}

TEST(ParseConfigErrors, ControlCharactersQuotedFromTheInputAreEscapedSoEachProblemIsOneLine) {
  auto msg = ErrorOf("concurrency: \"4\\n\\x01\"\n");
  EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
  EXPECT_THAT(msg, HasSubstr("'4\\n\\x01'"));
}

TEST(ParseConfigErrors, BytesThatAreNotUtf8AreRefusedWithLineAndColumn) {
  EXPECT_EQ(ErrorOf("concurrency: 4\ndatabase: {data_dir: caf\xe9}\n"),
            "dw.yaml:2:25: not valid UTF-8 (byte 0xE9); save the file as UTF-8");
}

TEST(ParseConfigErrors, UnknownTopLevelKeySuggestsTheClosestKey) {
  auto msg = ErrorOf("targest: {}\n");
  EXPECT_THAT(msg, HasSubstr("dw.yaml:1:1: unknown key 'targest'"));
  EXPECT_THAT(msg, HasSubstr("did you mean 'targets'"));
}

TEST(ParseConfigErrors, DuplicateKeyPointsAtBothDefinitions) {
  auto msg = ErrorOf("concurrency: 4\nconcurrency: 5\n");
  EXPECT_THAT(msg, HasSubstr("dw.yaml:2:1: duplicate key 'concurrency'"));
  EXPECT_THAT(msg, HasSubstr("first defined at dw.yaml:1:1"));
}

TEST(ParseConfigErrors, WrongTypeNamesKeyAndValue) {
  EXPECT_THAT(ErrorOf("concurrency: lots\n"), HasSubstr("dw.yaml:1:14: 'concurrency' must be an integer, got 'lots'"));
}

TEST(ParseConfigErrors, QuotedNumberIsNotANumber) {
  EXPECT_THAT(ErrorOf("targets:\n  s: {provider: sim, prompt: x, sim: {accuracy: \"0.9\"}}\n"),
              HasSubstr("'accuracy' must be a number"));
}

TEST(ParseConfigErrors, OutOfRangeValueShowsTheRange) {
  EXPECT_THAT(ErrorOf("targets:\n  s: {provider: sim, prompt: x, sim: {accuracy: 1.5}}\n"),
              HasSubstr("'accuracy' = 1.5 is out of range"));
}

TEST(ParseConfigErrors, UnknownProviderListsAllowedValues) {
  auto msg = ErrorOf("targets:\n  b: {provider: openai, prompt: x}\n");
  EXPECT_THAT(msg, HasSubstr("dw.yaml:2:17: 'provider' has invalid value 'openai'"));
  EXPECT_THAT(msg, HasSubstr("allowed values: openai-chat, http, exec, sim"));
}

TEST(ParseConfigErrors, MissingRequiredKeyPointsAtTheParentMap) {
  EXPECT_THAT(ErrorOf("targets:\n  b:\n    prompt: x\n"), HasSubstr("dw.yaml:3:5: missing required key 'provider'"));
}

TEST(ParseConfigErrors, MissingEnvironmentVariableIsAnError) {
  unsetenv("DW_TEST_SURELY_UNSET");
  EXPECT_THAT(ErrorOf("database:\n  url: ${DW_TEST_SURELY_UNSET}\n"),
              HasSubstr("dw.yaml:2:8: 'url': environment variable ${DW_TEST_SURELY_UNSET} is not set"));
}

TEST(ParseConfigErrors, EnvironmentVariableIsExpandedWhenSet) {
  setenv("DW_TEST_DB_URL", "postgresql://127.0.0.1/x", 1);
  auto config = ParseConfig("database:\n  url: ${DW_TEST_DB_URL}\n", "dw.yaml");
  ASSERT_TRUE(config);
  EXPECT_EQ(config->database_url, "postgresql://127.0.0.1/x");
}

TEST(ParseConfigErrors, ScheduleReferencingUnknownTargetIsAnError) {
  EXPECT_THAT(ErrorOf("targets:\n  s: {provider: sim, prompt: x}\nschedules:\n  n: {cron: '* * * * *', goldenset: g, "
                      "targets: [s, ghost]}\n"),
              HasSubstr("unknown target 'ghost'"));
}

// A schedule with `policy`, `budget_usd` and `concurrency`, its policy
// defined after the schedules (as the shipped example does).
constexpr const char* kSchedulePolicyHead =
    "targets:\n  s: {provider: sim, prompt: x}\nschedules:\n  n:\n    cron: '* * * * *'\n    goldenset: g\n"
    "    targets: [s]\n";

TEST(ParseConfig, ScheduleCarriesItsPolicyBudgetAndConcurrency) {
  auto config = ParseConfig(std::string(kSchedulePolicyHead) +
                                "    policy: strict\n    budget_usd: 1.5\n    concurrency: 4\n"
                                "policies:\n  strict: {alpha: 0.001, delta_min: 0.05}\n",
                            "dw.yaml");
  ASSERT_TRUE(config) << config.error().message;
  const ScheduleConfig& s = config->schedules.at("n");
  EXPECT_EQ(s.policy, "strict");
  ASSERT_TRUE(s.budget_usd.has_value());
  EXPECT_DOUBLE_EQ(*s.budget_usd, 1.5);
  EXPECT_EQ(s.concurrency, 4);
  auto policy = config->PolicyForRun("g", s.policy);
  ASSERT_TRUE(policy.has_value());
  EXPECT_EQ(policy->name, "strict");
  EXPECT_DOUBLE_EQ(policy->alpha, 0.001);
  EXPECT_DOUBLE_EQ(policy->delta_min, 0.05);
}

TEST(ParseConfig, ScheduleWithoutPolicySettingsUsesTheGoldenSetsPolicyAndTheTargetsLimits) {
  auto config = ParseConfig(std::string(kSchedulePolicyHead) + "policies:\n  g: {delta_min: 0.04}\n", "dw.yaml");
  ASSERT_TRUE(config) << config.error().message;
  const ScheduleConfig& s = config->schedules.at("n");
  EXPECT_EQ(s.policy, "");
  EXPECT_FALSE(s.budget_usd.has_value());
  EXPECT_EQ(s.concurrency, 0);
  EXPECT_DOUBLE_EQ(config->PolicyForRun("g", s.policy)->delta_min, 0.04);
}

TEST(ParseConfigErrors, ScheduleNamingAnUndefinedPolicyListsTheDefinedOnesWithPosition) {
  auto msg = ErrorOf(std::string(kSchedulePolicyHead) +
                     "    policy: strikt\npolicies:\n  strict: {alpha: 0.001}\n  default: {}\n");
  EXPECT_THAT(msg, HasSubstr("dw.yaml:8:13: schedule 'n': unknown policy 'strikt'; defined policies: default, strict"));
}

TEST(ParseConfigErrors, ScheduleNamingAPolicyWhenNoneIsDefinedSaysSo) {
  EXPECT_THAT(ErrorOf(std::string(kSchedulePolicyHead) + "    policy: strict\n"),
              HasSubstr("dw.yaml:8:13: schedule 'n': unknown policy 'strict'; defined policies: (none)"));
}

TEST(ParseConfigErrors, ScheduleWithNegativeBudgetIsAnErrorWithPosition) {
  EXPECT_THAT(ErrorOf(std::string(kSchedulePolicyHead) + "    budget_usd: -0.5\n"),
              HasSubstr("dw.yaml:8:17: 'budget_usd' = -0.5 is out of range"));
}

TEST(ParseConfigErrors, ScheduleWithZeroConcurrencyIsAnErrorWithPosition) {
  EXPECT_THAT(ErrorOf(std::string(kSchedulePolicyHead) + "    concurrency: 0\n"),
              HasSubstr("dw.yaml:8:18: 'concurrency' = 0 is out of range 1 .. 10000"));
}

TEST(ParseConfigErrors, ApiKeyInsteadOfVariableNameIsRejected) {
  EXPECT_THAT(ErrorOf("targets:\n  b: {provider: openai-chat, base_url: http://x, model: m, prompt: p, api_key_env: "
                      "'sk-live abc'}\n"),
              HasSubstr("names an environment variable"));
}

TEST(ParseConfigErrors, PromptAndMessagesTogetherAreAmbiguous) {
  EXPECT_THAT(ErrorOf("targets:\n  s:\n    provider: sim\n    prompt: x\n    messages: [{role: user, content: y}]\n"),
              HasSubstr("either 'prompt' or 'messages'"));
}

TEST(ParseConfigErrors, BadMessageRoleListsRoles) {
  EXPECT_THAT(ErrorOf("targets:\n  s:\n    provider: sim\n    messages: [{role: robot, content: y}]\n"),
              HasSubstr("allowed values: system, user, assistant, developer"));
}

TEST(ParseConfigErrors, ReportsEveryErrorNotJustTheFirst) {
  auto msg = ErrorOf("concurrency: 0\nbogus: 1\n");
  EXPECT_THAT(msg, HasSubstr("dw.yaml:1:14"));
  EXPECT_THAT(msg, HasSubstr("dw.yaml:2:1"));
}

TEST(ParseConfigErrors, NonMappingRootIsAnError) {
  EXPECT_THAT(ErrorOf("- a\n- b\n"), HasSubstr("must be a mapping"));
}

TEST(LoadConfig, MissingFileIsNotFound) {
  auto config = LoadConfig("/nonexistent/driftwatch.yaml");
  ASSERT_FALSE(config);
  EXPECT_EQ(config.error().kind, ErrorKind::kNotFound);
}

}  // namespace
}  // namespace dw::config

namespace dw::config {
namespace {

TEST(ExampleConfig, ShippedExampleValidatesWhenItsVariablesAreSet) {
  setenv("INTERNAL_LLM_TOKEN", "test-token", 1);
  auto config = LoadConfig(std::string(DRIFTWATCH_SOURCE_DIR) + "/config/driftwatch.example.yaml");
  ASSERT_TRUE(config) << config.error().message;
  EXPECT_EQ(config->targets.size(), 5u);
  EXPECT_EQ(config->targets.at("in-house").http.headers.at("Authorization"), "Bearer test-token");
  EXPECT_EQ(config->schedules.at("nightly-faq").timezone, "Europe/Paris");
  EXPECT_EQ(config->schedules.at("nightly-faq").policy, "strict");
  EXPECT_EQ(config->schedules.at("nightly-faq").concurrency, 8);
  EXPECT_EQ(config->scorers.judge_target, "judge");
}

}  // namespace
}  // namespace dw::config
