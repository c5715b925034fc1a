// ProviderGrader against real loopback HTTP servers: the judge target for
// llm-rubric and factuality, the /embeddings endpoint for `similar`, and
// what becomes of a judge or embeddings endpoint that misbehaves.
#include "replay/provider_grader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <cmath>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "memory_streams.h"
#include "providers/provider.h"
#include "replay/engine.h"
#include "scoring/scorer.h"
#include "support/fault_server.h"
#include "support/http_server.h"

namespace dw::replay {
namespace {

using dw::testing::ChatCompletionBody;
using dw::testing::TestHttpRequest;
using dw::testing::TestHttpResponse;
using dw::testing::TestHttpServer;
using nlohmann::json;
using ::testing::HasSubstr;

constexpr char kKeyEnv[] = "DW_GRADER_TEST_KEY";
constexpr char kKey[] = "sk-embed-5d1c";

config::TargetConfig JudgeTarget(const TestHttpServer& server) {
  config::TargetConfig t;
  t.name = "judge";
  t.provider = "openai-chat";
  t.base_url = server.BaseUrl() + "/v1";
  t.model = "gpt-judge";
  t.prompt = "ignored: the grader sends its own messages";
  t.params = json{{"temperature", 0}};
  t.timeout_ms = 2000;
  t.retry.max_attempts = 1;
  t.retry.base_delay_ms = 1;
  t.retry.max_delay_ms = 10;
  return t;
}

config::TargetConfig EmbeddingsTarget(const TestHttpServer& server) {
  config::TargetConfig t;
  t.name = "embedder";
  t.provider = "openai-chat";
  t.base_url = server.BaseUrl() + "/v1";
  t.model = "text-embedding-test";
  t.api_key_env = kKeyEnv;
  t.timeout_ms = 2000;
  return t;
}

std::unique_ptr<ProviderGrader> MakeGrader(const config::TargetConfig* judge, const config::TargetConfig* embeddings) {
  auto made = ProviderGrader::Create(judge, embeddings);
  EXPECT_TRUE(made) << made.error().message;
  return made ? std::move(*made) : nullptr;
}

scoring::CaseScore Score(const json& asserts, scoring::ModelGrader& grader, const std::string& output,
                         const std::string& prompt = "What is the refund window?") {
  auto compiled = scoring::CompiledAssertions::Compile(asserts, json::object());
  EXPECT_TRUE(compiled) << compiled.error().message;
  scoring::ScoreInput input;
  input.output = output;
  input.prompt = prompt;
  input.grader = &grader;
  return compiled->Evaluate(input);
}

TestHttpResponse JudgeSays(const std::string& content) { return TestHttpResponse::Json(ChatCompletionBody(content)); }

TEST(ProviderGraderJudge, SendsTheRubricPromptToTheJudgeModel) {
  TestHttpServer server([](const TestHttpRequest&) {
    return JudgeSays(R"({"reason": "states the 30-day window", "pass": true, "score": 0.9})");
  });
  auto judge = JudgeTarget(server);
  auto grader = MakeGrader(&judge, nullptr);
  Score(json::parse(R"([{"type": "llm-rubric", "value": "mentions the 30-day refund window"}])"), *grader,
        "Refunds are accepted within 30 days.");
  auto requests = server.Requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].target, "/v1/chat/completions");
  json body = json::parse(requests[0].body);
  EXPECT_EQ(body["model"], "gpt-judge");
  EXPECT_EQ(body["temperature"], 0);
  ASSERT_EQ(body["messages"].size(), 2u);
  EXPECT_EQ(body["messages"][0]["role"], "system");
  EXPECT_THAT(body["messages"][0]["content"].get<std::string>(), HasSubstr("\"pass\""));
  EXPECT_EQ(body["messages"][1]["role"], "user");
  EXPECT_EQ(body["messages"][1]["content"],
            "<Output>\nRefunds are accepted within 30 days.\n</Output>\n<Rubric>\nmentions the 30-day refund "
            "window\n</Rubric>");
}

TEST(ProviderGraderJudge, ParsesTheVerdictIntoScorePassAndReason) {
  TestHttpServer server([](const TestHttpRequest&) {
    return JudgeSays("Here is my verdict: {\"reason\": \"states the 30-day window\", \"pass\": true, \"score\": 0.9}");
  });
  auto judge = JudgeTarget(server);
  auto grader = MakeGrader(&judge, nullptr);
  auto score = Score(json::parse(R"([{"type": "llm-rubric", "value": "mentions the refund window"}])"), *grader,
                     "Refunds are accepted within 30 days.");
  ASSERT_FALSE(score.error) << *score.error;
  EXPECT_TRUE(score.pass);
  EXPECT_DOUBLE_EQ(score.score, 0.9);
  ASSERT_EQ(score.components.size(), 1u);
  EXPECT_EQ(score.components[0].reason, "states the 30-day window");
  EXPECT_EQ(score.grader_prompt_tokens, 10);
  EXPECT_EQ(score.grader_completion_tokens, 5);
}

TEST(ProviderGraderJudge, AFailingVerdictFailsTheCase) {
  TestHttpServer server([](const TestHttpRequest&) {
    return JudgeSays(R"({"reason": "no window is given", "pass": false, "score": 0.1})");
  });
  auto judge = JudgeTarget(server);
  auto grader = MakeGrader(&judge, nullptr);
  auto score = Score(json::parse(R"([{"type": "llm-rubric", "value": "mentions the refund window"}])"), *grader,
                     "Please contact support.");
  EXPECT_FALSE(score.error);
  EXPECT_FALSE(score.pass);
  EXPECT_DOUBLE_EQ(score.score, 0.1);
  EXPECT_EQ(score.components.at(0).reason, "no window is given");
}

TEST(ProviderGraderJudge, RecordsThePinnedJudgeVersionAndTheModelThatAnswered) {
  TestHttpServer server([](const TestHttpRequest&) { return JudgeSays(R"({"reason": "ok", "pass": true})"); });
  auto judge = JudgeTarget(server);
  auto grader = MakeGrader(&judge, nullptr);
  EXPECT_EQ(grader->Id(), "judge=judge@" + judge.VersionHash().substr(0, 12));
  auto score = Score(json::parse(R"([{"type": "llm-rubric", "value": "polite"}])"), *grader, "Thank you!");
  ASSERT_EQ(score.components.size(), 1u);
  EXPECT_EQ(score.components[0].metadata["grader_id"], grader->Id());
  EXPECT_EQ(score.components[0].metadata["grader_model"], "gpt-test-0613");  // as echoed by the judge's API
}

TEST(ProviderGraderJudge, ADifferentJudgeConfigurationHasADifferentId) {
  TestHttpServer server([](const TestHttpRequest&) { return JudgeSays("{}"); });
  auto judge = JudgeTarget(server);
  auto other = judge;
  other.model = "gpt-judge-2";
  EXPECT_NE(MakeGrader(&judge, nullptr)->Id(), MakeGrader(&other, nullptr)->Id());
}

TEST(ProviderGraderJudge, FactualityCategoryFromTheJudgeDecidesThePass) {
  TestHttpServer server([](const TestHttpRequest& request) {
    json body = json::parse(request.body);
    std::string user = body["messages"][1]["content"];
    bool disagrees = user.find("60 days") != std::string::npos;
    return JudgeSays(disagrees ? R"({"category": "D", "reason": "the window differs"})"
                               : R"({"category": "A", "reason": "consistent subset"})");
  });
  auto judge = JudgeTarget(server);
  auto grader = MakeGrader(&judge, nullptr);
  const json asserts = json::parse(R"([{"type": "factuality", "value": "Refunds within 30 days of purchase."}])");
  auto right = Score(asserts, *grader, "30 days.");
  auto wrong = Score(asserts, *grader, "60 days.");
  EXPECT_TRUE(right.pass);
  EXPECT_EQ(right.components.at(0).metadata["category"], "A");
  EXPECT_FALSE(wrong.pass);
  EXPECT_FALSE(wrong.error);
  EXPECT_EQ(wrong.components.at(0).metadata["category"], "D");
  EXPECT_THAT(wrong.components.at(0).reason, HasSubstr("the window differs"));
  json body = json::parse(server.Requests().at(0).body);
  EXPECT_THAT(body["messages"][1]["content"].get<std::string>(), HasSubstr("What is the refund window?"));
}

TEST(ProviderGraderJudge, AReplyWithoutAVerdictIsAnErrorNotAPass) {
  TestHttpServer server([](const TestHttpRequest&) { return JudgeSays("Looks great to me!"); });
  auto judge = JudgeTarget(server);
  auto grader = MakeGrader(&judge, nullptr);
  auto score = Score(json::parse(R"([{"type": "llm-rubric", "value": "polite"}])"), *grader, "Thank you!");
  EXPECT_FALSE(score.pass);
  ASSERT_TRUE(score.error);
  EXPECT_THAT(*score.error, HasSubstr("Looks great to me!"));
}

TEST(ProviderGraderJudge, AJudgeAnswering500IsAnErrorNotAPass) {
  TestHttpServer server([](const TestHttpRequest&) {
    return TestHttpResponse::Json(R"({"error": {"message": "judge overloaded"}})", 500);
  });
  auto judge = JudgeTarget(server);
  auto grader = MakeGrader(&judge, nullptr);
  auto reply = grader->Grade({"system", "user"});
  ASSERT_FALSE(reply);
  EXPECT_EQ(reply.error().kind, ErrorKind::kUnavailable);
  EXPECT_THAT(reply.error().message, HasSubstr("judge call failed (provider_error)"));
  auto score = Score(json::parse(R"([{"type": "llm-rubric", "value": "polite"}])"), *grader, "Thank you!");
  EXPECT_FALSE(score.pass);
  ASSERT_TRUE(score.error);
  EXPECT_THAT(*score.error, HasSubstr("the judge call failed"));
}

TEST(ProviderGraderJudge, WithoutAJudgeTargetGradingFailsWithTheSettingToFix) {
  auto grader = MakeGrader(nullptr, nullptr);
  auto reply = grader->Grade({"system", "user"});
  ASSERT_FALSE(reply);
  EXPECT_THAT(reply.error().message, HasSubstr("scorers.judge"));
}

// Embeddings: a fixed vector per text, so the cosine is known exactly.
class EmbeddingsServer {
 public:
  EmbeddingsServer()
      : server_([this](const TestHttpRequest& request) {
          json body = json::parse(request.body, nullptr, false);
          std::string input = body.is_object() ? body.value("input", "") : "";
          std::vector<double> v = input == "reference" ? std::vector<double>{1, 0, 0}
                                  : input == "close"   ? std::vector<double>{0.8, 0.6, 0}
                                                       : std::vector<double>{0, 0, 1};
          return TestHttpResponse::Json(json{{"object", "list"}, {"data", {{{"index", 0}, {"embedding", v}}}}}.dump());
        }) {}
  TestHttpServer& server() { return server_; }

 private:
  TestHttpServer server_;
};

TEST(ProviderGraderEmbeddings, PostsTheTextToTheEmbeddingsEndpointWithTheKey) {
  setenv(kKeyEnv, kKey, 1);
  EmbeddingsServer embeddings;
  auto target = EmbeddingsTarget(embeddings.server());
  auto grader = MakeGrader(nullptr, &target);
  auto vector = grader->Embed("close");
  ASSERT_TRUE(vector) << vector.error().message;
  EXPECT_EQ(*vector, (std::vector<double>{0.8, 0.6, 0}));
  auto requests = embeddings.server().Requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "POST");
  EXPECT_EQ(requests[0].target, "/v1/embeddings");
  EXPECT_EQ(requests[0].headers["authorization"], std::string("Bearer ") + kKey);
  EXPECT_EQ(json::parse(requests[0].body), (json{{"model", "text-embedding-test"}, {"input", "close"}}));
}

TEST(ProviderGraderEmbeddings, SimilarScoresTheCosineOfOutputAndReference) {
  setenv(kKeyEnv, kKey, 1);
  EmbeddingsServer embeddings;
  auto target = EmbeddingsTarget(embeddings.server());
  auto grader = MakeGrader(nullptr, &target);
  const json asserts = json::parse(R"([{"type": "similar", "value": "reference", "threshold": 0.75}])");
  auto close = Score(asserts, *grader, "close");
  ASSERT_FALSE(close.error) << *close.error;
  EXPECT_TRUE(close.pass);
  EXPECT_NEAR(close.score, 0.8, 1e-12);
  auto far = Score(asserts, *grader, "unrelated");
  ASSERT_FALSE(far.error) << *far.error;
  EXPECT_FALSE(far.pass);
  EXPECT_NEAR(far.score, 0.0, 1e-12);
  EXPECT_EQ(far.components.at(0).reason, "Similarity 0.00 is less than threshold 0.75");
}

TEST(ProviderGraderEmbeddings, AnEndpointAnswering500IsAnErrorNotAPass) {
  setenv(kKeyEnv, kKey, 1);
  TestHttpServer server([](const TestHttpRequest&) { return TestHttpResponse::Json(R"({"error": "boom"})", 500); });
  auto target = EmbeddingsTarget(server);
  auto grader = MakeGrader(nullptr, &target);
  auto vector = grader->Embed("close");
  ASSERT_FALSE(vector);
  EXPECT_THAT(vector.error().message, HasSubstr("HTTP 500"));
  auto score = Score(json::parse(R"([{"type": "similar", "value": "reference"}])"), *grader, "close");
  EXPECT_FALSE(score.pass);
  ASSERT_TRUE(score.error);
  EXPECT_THAT(*score.error, HasSubstr("HTTP 500"));
}

TEST(ProviderGraderEmbeddings, AReplyWithoutAnEmbeddingIsAnError) {
  setenv(kKeyEnv, kKey, 1);
  TestHttpServer server([](const TestHttpRequest&) { return TestHttpResponse::Json(R"({"data": []})"); });
  auto target = EmbeddingsTarget(server);
  auto grader = MakeGrader(nullptr, &target);
  auto vector = grader->Embed("close");
  ASSERT_FALSE(vector);
  EXPECT_THAT(vector.error().message, HasSubstr("no data[0].embedding"));
}

TEST(ProviderGraderEmbeddings, AMissingKeyVariableIsRefusedAtCreation) {
  unsetenv(kKeyEnv);
  EmbeddingsServer embeddings;
  auto target = EmbeddingsTarget(embeddings.server());
  auto made = ProviderGrader::Create(nullptr, &target);
  ASSERT_FALSE(made);
  EXPECT_EQ(made.error().kind, ErrorKind::kInvalidInput);
  EXPECT_THAT(made.error().message, HasSubstr(kKeyEnv));
}

// Through the replay engine: a judge that cannot give a verdict makes the
// case a provider_error (excluded from the pass rate), never a pass.
using testing::MemorySink;
using OneBatchSource = testing::VectorSource;

std::vector<ReplayResult> ReplayWithJudge(const std::string& judge_reply) {
  TestHttpServer server([judge_reply](const TestHttpRequest&) { return JudgeSays(judge_reply); });
  auto judge = JudgeTarget(server);
  auto grader = MakeGrader(&judge, nullptr);
  config::TargetConfig model;
  model.name = "bot";
  model.provider = "sim";
  model.prompt = "{{question}}";
  model.sim.accuracy = 1.0;
  boost::asio::io_context io;
  auto provider = providers::MakeProvider(model, io);
  EXPECT_TRUE(provider) << provider.error().message;
  std::vector<GoldenCase> cases;
  for (int i = 0; i < 3; ++i) {
    GoldenCase c;
    c.id = "c" + std::to_string(i);
    c.vars = {{"question", "q" + std::to_string(i)}, {"expected", "a" + std::to_string(i)}};
    c.asserts = json::parse(R"([{"type": "llm-rubric", "value": "answers the question"}])");
    cases.push_back(c);
  }
  OneBatchSource source(cases);
  MemorySink sink;
  ReplayOptions options;
  options.total_cases = cases.size();
  options.grader = grader.get();
  auto outcome = RunReplay(source, **provider, io, sink, options);
  EXPECT_TRUE(outcome) << outcome.error().message;
  EXPECT_EQ(server.requests(), 3);
  return sink.results;
}

TEST(ProviderGraderInReplay, AGarbledJudgeReplyMakesTheCaseAProviderErrorWithTheReason) {
  auto results = ReplayWithJudge("I cannot decide.");
  ASSERT_EQ(results.size(), 3u);
  for (const auto& r : results) {
    EXPECT_EQ(r.outcome, Outcome::kProviderError) << r.case_id;
    EXPECT_THAT(r.error_detail, HasSubstr("scoring failed"));
    EXPECT_THAT(r.error_detail, HasSubstr("I cannot decide."));
    EXPECT_FALSE(r.score);
  }
}

TEST(ProviderGraderInReplay, AJudgeVerdictDecidesTheOutcome) {
  auto results = ReplayWithJudge(R"({"reason": "answered", "pass": true, "score": 1})");
  ASSERT_EQ(results.size(), 3u);
  for (const auto& r : results) {
    EXPECT_EQ(r.outcome, Outcome::kPass) << r.case_id << ": " << r.error_detail;
    ASSERT_EQ(r.scores.size(), 1u);
    EXPECT_EQ(r.scores[0].scorer, "0:llm-rubric");
    EXPECT_EQ(r.scores[0].reason, "answered");
  }
}

}  // namespace
}  // namespace dw::replay
