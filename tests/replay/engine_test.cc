#include "replay/engine.h"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <chrono>
#include <map>
#include <thread>

#include "memory_streams.h"

namespace dw::replay {
namespace {

GoldenCase MakeCase(const std::string& id, const std::string& expected) {
  GoldenCase c;
  c.id = id;
  c.vars = {{"q", "question " + id}, {"expected", expected}};
  c.asserts = nlohmann::json::parse(R"([{"type":"icontains","value":"{{expected}}"}])");
  return c;
}

using testing::MemorySink;

// Three cases a batch, so the engine reads ahead across batches.
class VectorSource : public testing::VectorSource {
 public:
  explicit VectorSource(std::vector<GoldenCase> cases, size_t batch = 3)
      : testing::VectorSource(std::move(cases), batch) {}
};

// Answers on the io_context: "the answer is <expected>" unless told otherwise.
class ScriptedProvider : public providers::Provider {
 public:
  explicit ScriptedProvider(boost::asio::io_context& io) : io_(io) {}
  void Call(const providers::CallRequest& request, std::function<void(providers::CallResult)> done) override {
    ++calls;
    providers::CallResult r;
    std::string id(request.case_id);
    auto it = outcome_by_case.find(id);
    r.outcome = it == outcome_by_case.end() ? Outcome::kPass : it->second;
    r.output = wrong.count(id) ? "no idea" : "The answer is " + (*request.vars)["expected"].get<std::string>();
    r.cost_usd = cost_per_call;
    r.latency_ms = 1;
    r.attempts = 1;
    ++in_flight;
    max_in_flight = std::max(max_in_flight, in_flight);
    boost::asio::post(io_, [this, r, done = std::move(done)] {
      --in_flight;
      done(r);
    });
  }
  providers::ProviderStats Stats() const override { return {}; }

  boost::asio::io_context& io_;
  std::map<std::string, Outcome> outcome_by_case;
  std::set<std::string> wrong;
  double cost_per_call = 0;
  int calls = 0, in_flight = 0, max_in_flight = 0;
};

std::vector<GoldenCase> Cases(int n) {
  std::vector<GoldenCase> cases;
  for (int i = 0; i < n; ++i) cases.push_back(MakeCase("c" + std::to_string(i), "answer " + std::to_string(i)));
  return cases;
}

TEST(RunReplay, EveryCaseTimesRepeatGetsExactlyOneResult) {
  boost::asio::io_context io;
  ScriptedProvider provider(io);
  provider.wrong = {"c3"};
  VectorSource source(Cases(10));
  MemorySink sink;
  ReplayOptions options;
  options.repeats = 3;
  options.concurrency = 4;
  auto outcome = RunReplay(source, provider, io, sink, options);
  ASSERT_TRUE(outcome) << outcome.error().message;
  ASSERT_EQ(sink.results.size(), 30u);
  std::set<std::string> keys;
  for (const auto& r : sink.results) keys.insert(r.case_id + "#" + std::to_string(r.repeat));
  EXPECT_EQ(keys.size(), 30u);
  EXPECT_EQ(outcome->summary.count(Outcome::kPass), 27u);
  EXPECT_EQ(outcome->summary.count(Outcome::kFail), 3u);
  EXPECT_LE(provider.max_in_flight, 4);
}

TEST(RunReplay, ScoresAreRecordedPerAssertion) {
  boost::asio::io_context io;
  ScriptedProvider provider(io);
  VectorSource source(Cases(1));
  MemorySink sink;
  ReplayOptions options;
  ASSERT_TRUE(RunReplay(source, provider, io, sink, options));
  ASSERT_EQ(sink.results.size(), 1u);
  const auto& r = sink.results[0];
  EXPECT_EQ(r.outcome, Outcome::kPass);
  ASSERT_TRUE(r.score.has_value());
  EXPECT_DOUBLE_EQ(*r.score, 1.0);
  ASSERT_EQ(r.scores.size(), 1u);
  EXPECT_EQ(r.scores[0].scorer, "0:icontains");
  EXPECT_EQ(r.scores[0].passed, true);
}

TEST(RunReplay, AlreadyStoredResultsAreNotCalledAgain) {
  boost::asio::io_context io;
  ScriptedProvider provider(io);
  VectorSource source(Cases(4));
  MemorySink sink;
  std::unordered_set<std::string> done = {std::string("c0\x1f") + "0", std::string("c2\x1f") + "1"};
  ReplayOptions options;
  options.repeats = 2;
  options.completed = &done;
  ASSERT_TRUE(RunReplay(source, provider, io, sink, options));
  EXPECT_EQ(provider.calls, 6);
  EXPECT_EQ(sink.results.size(), 6u);
  for (const auto& r : sink.results)
    EXPECT_FALSE((r.case_id == "c0" && r.repeat == 0) || (r.case_id == "c2" && r.repeat == 1));
}

TEST(RunReplay, BudgetStopsCallingAndRecordsTheRestAsBudgetExceeded) {
  boost::asio::io_context io;
  ScriptedProvider provider(io);
  provider.cost_per_call = 0.01;
  VectorSource source(Cases(20));
  MemorySink sink;
  ReplayOptions options;
  options.concurrency = 1;
  options.budget_usd = 0.05;
  auto outcome = RunReplay(source, provider, io, sink, options);
  ASSERT_TRUE(outcome);
  EXPECT_TRUE(outcome->budget_exhausted);
  EXPECT_EQ(provider.calls, 5);
  EXPECT_EQ(sink.results.size(), 20u);
  EXPECT_EQ(outcome->summary.count(Outcome::kBudgetExceeded), 15u);
}

TEST(RunReplay, CancelStopsIssuingCallsButKeepsFinishedResults) {
  boost::asio::io_context io;
  ScriptedProvider provider(io);
  VectorSource source(Cases(50));
  MemorySink sink;
  std::atomic<bool> cancel{false};
  ReplayOptions options;
  options.concurrency = 2;
  options.cancel = &cancel;
  struct CancellingSink : ResultSink {
    MemorySink* inner;
    std::atomic<bool>* cancel;
    Status Add(ReplayResult r) override {
      if (inner->results.size() == 9) cancel->store(true);
      return inner->Add(std::move(r));
    }
    Status Flush() override { return Ok(); }
  } cancelling;
  cancelling.inner = &sink;
  cancelling.cancel = &cancel;
  auto outcome = RunReplay(source, provider, io, cancelling, options);
  ASSERT_TRUE(outcome);
  EXPECT_TRUE(outcome->cancelled);
  EXPECT_GE(sink.results.size(), 10u);
  EXPECT_LT(sink.results.size(), 50u);
  EXPECT_EQ(static_cast<size_t>(provider.calls), sink.results.size());
}

TEST(RunReplay, InfrastructureFailuresAreNeverScored) {
  boost::asio::io_context io;
  ScriptedProvider provider(io);
  provider.outcome_by_case = {{"c1", Outcome::kTimeout}, {"c2", Outcome::kRateLimited}};
  VectorSource source(Cases(3));
  MemorySink sink;
  auto outcome = RunReplay(source, provider, io, sink, ReplayOptions{});
  ASSERT_TRUE(outcome);
  for (const auto& r : sink.results) {
    if (r.case_id == "c0") continue;
    EXPECT_FALSE(r.score.has_value()) << r.case_id;
    EXPECT_TRUE(r.scores.empty()) << r.case_id;
  }
  EXPECT_EQ(outcome->summary.infra_failures(), 2u);
  EXPECT_EQ(outcome->summary.scored(), 1u);
  EXPECT_DOUBLE_EQ(outcome->summary.pass_rate(), 1.0);
}

TEST(RunReplay, JudgeFailureBecomesProviderErrorNotAPass) {
  boost::asio::io_context io;
  ScriptedProvider provider(io);
  GoldenCase c = MakeCase("j", "x");
  c.asserts = nlohmann::json::parse(R"([{"type":"llm-rubric","value":"is polite"}])");
  VectorSource source({c});
  MemorySink sink;
  struct DownGrader : scoring::ModelGrader {
    std::string Id() const override { return "down"; }
    Result<scoring::GraderReply> Grade(const scoring::GradingPrompt&) override {
      return Fail(ErrorKind::kUnavailable, "judge unreachable");
    }
    Result<std::vector<double>> Embed(std::string_view) override {
      return Fail(ErrorKind::kUnavailable, "no embeddings");
    }
  } grader;
  ReplayOptions options;
  options.grader = &grader;
  ASSERT_TRUE(RunReplay(source, provider, io, sink, options));
  ASSERT_EQ(sink.results.size(), 1u);
  EXPECT_EQ(sink.results[0].outcome, Outcome::kProviderError);
  EXPECT_NE(sink.results[0].error_detail.find("judge unreachable"), std::string::npos);
}

TEST(RunReplay, ExpectedRefusalPassesWhenTheCaseAssertsIsRefusal) {
  boost::asio::io_context io;
  ScriptedProvider provider(io);
  provider.outcome_by_case = {{"r", Outcome::kRefusal}};
  GoldenCase c = MakeCase("r", "x");
  c.asserts = nlohmann::json::parse(R"([{"type":"is-refusal"}])");
  VectorSource source({c});
  MemorySink sink;
  struct RefusingProvider : ScriptedProvider {
    using ScriptedProvider::ScriptedProvider;
  };
  provider.wrong = {"r"};
  ASSERT_TRUE(RunReplay(source, provider, io, sink, ReplayOptions{}));
  ASSERT_EQ(sink.results.size(), 1u);
  EXPECT_NE(sink.results[0].outcome, Outcome::kProviderError);
}

// Counts results; Add() runs on the engine's thread, the count is read from
// the case source's.
class CountingSink : public ResultSink {
 public:
  Status Add(ReplayResult) override {
    ++added;
    return Ok();
  }
  Status Flush() override { return Ok(); }
  std::atomic<size_t> added{0};
};

// Hands out its second batch only once every call of the first batch has a
// stored result (or after a bounded wait), and records how many it saw.
class BatchAfterResultsSource : public CaseSource {
 public:
  BatchAfterResultsSource(const CountingSink& sink, std::vector<GoldenCase> cases) : sink_(sink), cases_(cases) {}
  Result<std::vector<GoldenCase>> Next() override {
    ++reads;
    if (reads == 1) return std::vector<GoldenCase>(cases_.begin(), cases_.begin() + 4);
    if (reads == 2) {
      auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(5);
      while (sink_.added < 4 && std::chrono::steady_clock::now() < give_up)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      stored_before_second_batch = sink_.added.load();
      return std::vector<GoldenCase>(cases_.begin() + 4, cases_.end());
    }
    return std::vector<GoldenCase>{};
  }
  std::atomic<int> reads{0};
  std::atomic<size_t> stored_before_second_batch{0};

 private:
  const CountingSink& sink_;
  std::vector<GoldenCase> cases_;
};

TEST(RunReplay, AnswersAreProcessedWhileTheNextBatchIsBeingRead) {
  boost::asio::io_context io;
  ScriptedProvider provider(io);
  CountingSink sink;
  BatchAfterResultsSource source(sink, Cases(8));
  ReplayOptions options;
  options.concurrency = 16;
  auto outcome = RunReplay(source, provider, io, sink, options);
  ASSERT_TRUE(outcome) << outcome.error().message;
  EXPECT_EQ(source.stored_before_second_batch, 4u);
  EXPECT_EQ(sink.added, 8u);
  EXPECT_EQ(outcome->summary.count(Outcome::kPass), 8u);
}

// Fails on its second read.
class FailingSecondBatchSource : public CaseSource {
 public:
  Result<std::vector<GoldenCase>> Next() override {
    if (++reads_ == 1) return Cases(3);
    return Fail(ErrorKind::kUnavailable, "the case store went away");
  }

 private:
  int reads_ = 0;
};

TEST(RunReplay, ACaseSourceFailureEndsTheRunWithItsErrorAndIssuesNoMoreCalls) {
  boost::asio::io_context io;
  ScriptedProvider provider(io);
  FailingSecondBatchSource source;
  MemorySink sink;
  ReplayOptions options;
  options.concurrency = 8;
  auto outcome = RunReplay(source, provider, io, sink, options);
  ASSERT_FALSE(outcome);
  EXPECT_EQ(outcome.error().message, "the case store went away");
  EXPECT_EQ(provider.calls, 3);
  EXPECT_EQ(provider.in_flight, 0);
}

TEST(RunSummary, PassRateExcludesInfrastructureFailuresAndReportsWilson) {
  RunSummary s;
  auto add = [&](Outcome o, int n) {
    for (int i = 0; i < n; ++i) {
      ReplayResult r;
      r.outcome = o;
      r.latency_ms = 10 + i;
      s.Add(r);
    }
  };
  add(Outcome::kPass, 8);
  add(Outcome::kFail, 2);
  add(Outcome::kTimeout, 5);
  EXPECT_DOUBLE_EQ(s.pass_rate(), 0.8);
  auto j = s.ToJson(1.0);
  EXPECT_EQ(j["scored"], 10);
  EXPECT_EQ(j["outcomes"]["timeout"], 5);
  // Wilson 95% for 8/10: [0.4902, 0.9433].
  EXPECT_NEAR(j["pass_rate_ci95"][0].get<double>(), 0.4902, 1e-3);
  EXPECT_NEAR(j["pass_rate_ci95"][1].get<double>(), 0.9433, 1e-3);
}

}  // namespace
}  // namespace dw::replay
