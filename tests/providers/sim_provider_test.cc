#include "providers/sim_provider.h"

#include <cmath>

#include <gtest/gtest.h>

#include "provider_test_util.h"

namespace dw::providers {
namespace {

using nlohmann::json;
using testing::Case;
using testing::RunCalls;

config::TargetConfig SimTarget(double accuracy = 0.8) {
  config::TargetConfig target;
  target.name = "demo";
  target.provider = "sim";
  target.prompt = "What is {{question}}?";
  target.sim.accuracy = accuracy;
  target.sim.seed = 42;
  return target;
}

std::vector<GoldenCase> Cases(int n) {
  std::vector<GoldenCase> cases;
  for (int i = 0; i < n; ++i)
    cases.push_back(Case("case-" + std::to_string(i), json{{"question", "q" + std::to_string(i)}, {"expected", i}}));
  return cases;
}

class SimProviderTest : public ::testing::Test {
 protected:
  std::vector<CallResult> Run(const config::TargetConfig& target, const std::vector<GoldenCase>& cases,
                              const std::string& salt = "run-1", int repeat = 0) {
    auto provider = MakeProvider(target, io_);
    EXPECT_TRUE(provider) << provider.error().message;
    if (!provider) return {};
    return RunCalls(**provider, io_, cases, repeat, salt);
  }

  static bool Correct(const CallResult& result, const GoldenCase& c) {
    return result.outcome == Outcome::kPass && result.output == "The answer is " + c.vars["expected"].dump() + ".";
  }

  boost::asio::io_context io_;
};

TEST_F(SimProviderTest, SameSeedCaseRepeatAndSaltGiveTheSameOutputs) {
  auto cases = Cases(200);
  auto a = Run(SimTarget(), cases);
  auto b = Run(SimTarget(), cases);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].output, b[i].output) << i;
    EXPECT_EQ(a[i].response_id, b[i].response_id) << i;
    EXPECT_EQ(a[i].request_hash, b[i].request_hash) << i;
  }
}

TEST_F(SimProviderTest, AnotherRunSaltResamplesSomeAnswers) {
  auto cases = Cases(200);
  auto a = Run(SimTarget(0.5), cases, "run-1");
  auto b = Run(SimTarget(0.5), cases, "run-2");
  int differing = 0;
  for (size_t i = 0; i < a.size(); ++i) differing += a[i].output != b[i].output;
  // Correctness flips for about 22% of cases and wrong answers are redrawn.
  EXPECT_GT(differing, 40);
  EXPECT_LT(differing, 180);
}

TEST_F(SimProviderTest, AccuracyMatchesTheConfiguredRate) {
  auto cases = Cases(1000);
  for (double accuracy : {0.9, 0.6}) {
    auto results = Run(SimTarget(accuracy), cases);
    int correct = 0;
    for (size_t i = 0; i < results.size(); ++i) correct += Correct(results[i], cases[i]);
    // Binomial standard deviation is at most 0.016 for n = 1000.
    EXPECT_NEAR(correct / 1000.0, accuracy, 0.05) << accuracy;
  }
}

TEST_F(SimProviderTest, WrongAnswersNeverContainTheCorrectOne) {
  auto cases = Cases(300);
  auto results = Run(SimTarget(0.0), cases);
  for (size_t i = 0; i < results.size(); ++i) {
    EXPECT_EQ(results[i].outcome, Outcome::kPass);
    EXPECT_EQ(results[i].output.find(cases[i].vars["expected"].dump()), std::string::npos) << results[i].output;
    EXPECT_EQ(results[i].output.rfind("The answer is ", 0), 0u);
  }
}

TEST_F(SimProviderTest, LowerAccuracyOnlyFlipsPassingCasesToFailing) {
  auto cases = Cases(500);
  auto before = Run(SimTarget(0.9), cases);
  auto after = Run(SimTarget(0.7), cases);
  int flipped = 0;
  for (size_t i = 0; i < cases.size(); ++i) {
    if (Correct(after[i], cases[i])) {
      EXPECT_TRUE(Correct(before[i], cases[i])) << i;
    }
    flipped += Correct(before[i], cases[i]) && !Correct(after[i], cases[i]);
  }
  EXPECT_NEAR(flipped / 500.0, 0.2, 0.06);
  EXPECT_NE(before[0].system_fingerprint, after[0].system_fingerprint);
}

TEST_F(SimProviderTest, CasesPassConsistentlyAcrossRuns) {
  auto cases = Cases(1000);
  auto run1 = Run(SimTarget(0.5), cases, "run-1");
  auto run2 = Run(SimTarget(0.5), cases, "run-2");
  int agree = 0;
  for (size_t i = 0; i < cases.size(); ++i) agree += Correct(run1[i], cases[i]) == Correct(run2[i], cases[i]);
  // Independent runs would agree half the time; the shared case difficulty
  // makes it 0.75^2 + (1 - 0.75^2) / 2 = 0.78.
  EXPECT_NEAR(agree / 1000.0, 0.78, 0.05);
}

TEST_F(SimProviderTest, InjectedFailureClassesAppearAtTheirRates) {
  auto target = SimTarget(1.0);
  target.sim.refusal_rate = 0.1;
  target.sim.format_error_rate = 0.1;
  target.sim.truncation_rate = 0.1;
  target.sim.empty_rate = 0.1;
  auto results = Run(target, Cases(2000));
  std::map<Outcome, int> counts;
  for (const auto& result : results) ++counts[result.outcome];
  for (Outcome outcome : {Outcome::kRefusal, Outcome::kFormatError, Outcome::kTruncated, Outcome::kEmpty})
    EXPECT_NEAR(counts[outcome] / 2000.0, 0.1, 0.025) << OutcomeName(outcome);
  EXPECT_NEAR(counts[Outcome::kPass] / 2000.0, 0.6, 0.04);
  for (const auto& result : results) {
    if (result.outcome == Outcome::kTruncated) {
      EXPECT_EQ(result.finish_reason, "length");
    }
    if (result.outcome == Outcome::kRefusal) {
      EXPECT_FALSE(result.output.empty());
    }
  }
}

TEST_F(SimProviderTest, JsonModeAnswersAreJsonAndFormatErrorsAreNot) {
  auto target = SimTarget(1.0);
  target.params = json{{"response_format", {{"type", "json_object"}}}};
  target.sim.format_error_rate = 0.3;
  auto cases = Cases(200);
  auto results = Run(target, cases);
  int format_errors = 0;
  for (size_t i = 0; i < results.size(); ++i) {
    if (results[i].outcome == Outcome::kFormatError) {
      ++format_errors;
      EXPECT_FALSE(json::accept(results[i].output)) << results[i].output;
    } else {
      ASSERT_EQ(results[i].outcome, Outcome::kPass);
      EXPECT_EQ(json::parse(results[i].output), json({{"answer", cases[i].vars["expected"]}}));
    }
  }
  EXPECT_GT(format_errors, 30);
}

TEST_F(SimProviderTest, WithoutAnAnswerVarTheModelEchoesThePrompt) {
  auto results = Run(SimTarget(0.0), {Case("e1", json{{"question", "life"}})});
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].outcome, Outcome::kPass);
  EXPECT_EQ(results[0].output, "What is life?");
}

TEST_F(SimProviderTest, EchoInJsonModeIsWrappedAsJson) {
  auto target = SimTarget(0.0);
  target.params = json{{"response_format", {{"type", "json_object"}}}};
  auto results = Run(target, {Case("e1", json{{"question", "life"}})});
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].outcome, Outcome::kPass);
  EXPECT_EQ(json::parse(results[0].output), json({{"answer", "What is life?"}}));
}

TEST_F(SimProviderTest, ReportsUsageFromCharacterCounts) {
  auto target = SimTarget(1.0);
  target.sim.tokens_per_char = 0.5;
  auto results = Run(target, {Case("u", json{{"question", "x"}, {"expected", "yes"}})});
  EXPECT_TRUE(results[0].usage_reported);
  EXPECT_EQ(results[0].input_tokens, 5);   // "What is x?" = 10 characters
  EXPECT_EQ(results[0].output_tokens, 9);  // "The answer is yes." = 18 characters
  EXPECT_EQ(results[0].model, "sim-1");
  EXPECT_EQ(results[0].system_fingerprint.rfind("fp_sim_", 0), 0u);
}

TEST_F(SimProviderTest, SimulatedLatencyIsServedByTimersConcurrently) {
  auto target = SimTarget();
  target.sim.latency_ms = 40;
  auto start = std::chrono::steady_clock::now();
  auto results = Run(target, Cases(200));
  double elapsed = testing::MsSince(start);
  double sum = 0;
  for (const auto& result : results) sum += result.latency_ms;
  EXPECT_NEAR(sum / 200, 40, 12);
  EXPECT_LT(elapsed, 2000);  // 200 calls x 40 ms would be 8 s if serialised
}

TEST_F(SimProviderTest, LatencyBeyondTheTimeoutIsTimeout) {
  auto target = SimTarget();
  target.sim.latency_ms = 1000;
  target.timeout_ms = 30;
  target.retry.max_attempts = 1;
  auto results = Run(target, Cases(50));
  int timeouts = 0;
  for (const auto& result : results) timeouts += result.outcome == Outcome::kTimeout;
  // P(exponential(mean 1000) > 30) = 0.97.
  EXPECT_GT(timeouts, 40);
}

TEST(SimulateSample, WrongAnswersArePlausibleForCommonAnswerShapes) {
  config::SimProviderConfig sim;
  sim.accuracy = 0.0;
  for (const char* expected : {"yes", "True", "B", "3.14", "-7", "Paris"}) {
    json answer = expected;
    SimInput input{"case", &answer, "prompt", 0, "salt", 0, false};
    SimSample sample = SimulateSample(sim, input);
    ASSERT_TRUE(sample.choice.content);
    EXPECT_FALSE(sample.correct);
    EXPECT_EQ(sample.choice.content->find(expected), std::string::npos) << *sample.choice.content;
  }
  json yes = "yes";
  SimInput input{"case", &yes, "prompt", 0, "salt", 0, false};
  EXPECT_EQ(*SimulateSample(sim, input).choice.content, "The answer is no.");
}

TEST(SimProviderConfig, InvalidRatesAreRejected) {
  boost::asio::io_context io;
  auto target = SimTarget();
  target.sim.accuracy = 1.5;
  EXPECT_FALSE(MakeProvider(target, io));
  target = SimTarget();
  target.sim.refusal_rate = 0.6;
  target.sim.empty_rate = 0.6;
  EXPECT_FALSE(MakeProvider(target, io));
}

}  // namespace
}  // namespace dw::providers
