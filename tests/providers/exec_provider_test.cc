#include <gtest/gtest.h>

#include "provider_test_util.h"
#include "providers/provider.h"

namespace dw::providers {
namespace {

using nlohmann::json;
using testing::Case;
using testing::RunCall;
using testing::RunCalls;

class ExecProviderTest : public ::testing::Test {
 protected:
  config::TargetConfig Target(std::vector<std::string> command) {
    config::TargetConfig target;
    target.name = "local";
    target.provider = "exec";
    target.prompt = "Q: {{q}}";
    target.exec.command = std::move(command);
    target.timeout_ms = 5000;
    target.retry.max_attempts = 1;
    return target;
  }

  CallResult Run(const config::TargetConfig& target, json vars = json{{"q", "hello"}}) {
    auto provider = MakeProvider(target, io_);
    EXPECT_TRUE(provider) << provider.error().message;
    if (!provider) return {};
    return RunCall(**provider, io_, Case("c1", std::move(vars)));
  }

  boost::asio::io_context io_;
};

TEST_F(ExecProviderTest, PromptGoesToStdinAndStdoutIsTheAnswer) {
  auto result = Run(Target({"sh", "-c", "read line; echo \"got: $line\""}));
  EXPECT_EQ(result.outcome, Outcome::kPass) << result.error_detail;
  EXPECT_EQ(result.output, "got: Q: hello");
  EXPECT_EQ(result.attempts, 1);
  EXPECT_EQ(json::parse(result.request), json::parse(R"({"command":["sh","-c","read line; echo \"got: $line\""],
                                                         "stdin":"Q: hello"})"));
}

TEST_F(ExecProviderTest, WithoutAPromptTheVarsAreSentAsJson) {
  auto target = Target({"cat"});
  target.prompt.clear();
  auto result = Run(target, json{{"b", 1}, {"a", "x"}});
  EXPECT_EQ(result.outcome, Outcome::kPass);
  EXPECT_EQ(result.output, R"({"a":"x","b":1})");
}

TEST_F(ExecProviderTest, OutputAboveSixteenMebibytesIsProviderErrorNamingTheLimit) {
  auto result = Run(Target({"sh", "-c", "cat >/dev/null; head -c 17000000 /dev/zero | tr '\\0' x"}));
  EXPECT_EQ(result.outcome, Outcome::kProviderError);
  EXPECT_EQ(result.error_detail, "command 'sh' wrote more than 16777216 bytes");
  EXPECT_TRUE(result.output.empty());
}

TEST_F(ExecProviderTest, NonZeroExitIsProviderErrorQuotingStderr) {
  auto result = Run(Target({"sh", "-c", "echo 'model crashed' >&2; exit 3"}));
  EXPECT_EQ(result.outcome, Outcome::kProviderError);
  EXPECT_NE(result.error_detail.find("status 3"), std::string::npos) << result.error_detail;
  EXPECT_NE(result.error_detail.find("model crashed"), std::string::npos) << result.error_detail;
  EXPECT_EQ(result.attempts, 1);
}

TEST_F(ExecProviderTest, CommandPastTheDeadlineIsKilledAsTimeout) {
  auto target = Target({"sh", "-c", "sleep 10; echo late"});
  target.timeout_ms = 200;
  auto start = std::chrono::steady_clock::now();
  auto result = Run(target);
  EXPECT_EQ(result.outcome, Outcome::kTimeout);
  EXPECT_GE(testing::MsSince(start), 195);
  EXPECT_LT(testing::MsSince(start), 3000);
  EXPECT_TRUE(result.output.empty());
}

TEST_F(ExecProviderTest, TimeoutIsRetriedUpToMaxAttempts) {
  auto target = Target({"sleep", "10"});
  target.timeout_ms = 100;
  target.retry.max_attempts = 2;
  target.retry.base_delay_ms = 1;
  auto result = Run(target);
  EXPECT_EQ(result.outcome, Outcome::kTimeout);
  EXPECT_EQ(result.attempts, 2);
}

TEST_F(ExecProviderTest, NoOutputIsEmpty) { EXPECT_EQ(Run(Target({"true"})).outcome, Outcome::kEmpty); }

TEST_F(ExecProviderTest, CommandIgnoringALargeStdinDoesNotBreakTheRunner) {
  auto result = Run(Target({"sh", "-c", "echo ignored"}), json{{"q", std::string(4 << 20, 'x')}});
  EXPECT_EQ(result.outcome, Outcome::kPass);
  EXPECT_EQ(result.output, "ignored");
}

TEST_F(ExecProviderTest, ConcurrentRunsKeepTheirOutputsApart) {
  auto provider = MakeProvider(Target({"cat"}), io_);
  ASSERT_TRUE(provider);
  std::vector<GoldenCase> cases;
  for (int i = 0; i < 16; ++i) cases.push_back(Case("c" + std::to_string(i), json{{"q", i}}));
  auto results = RunCalls(**provider, io_, cases);
  for (int i = 0; i < 16; ++i) EXPECT_EQ(results[i].output, "Q: " + std::to_string(i));
}

TEST_F(ExecProviderTest, UnknownProgramIsRejectedAtCreation) {
  auto provider = MakeProvider(Target({"driftwatch-no-such-program-xyz"}), io_);
  ASSERT_FALSE(provider);
  EXPECT_EQ(provider.error().kind, ErrorKind::kInvalidInput);
  EXPECT_NE(provider.error().message.find("driftwatch-no-such-program-xyz"), std::string::npos);
}

}  // namespace
}  // namespace dw::providers
