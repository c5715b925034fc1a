#include <atomic>
#include <cstdlib>
#include <ctime>

#include <gtest/gtest.h>

#include "core/hash.h"
#include "provider_test_util.h"
#include "providers/provider.h"
#include "support/http_server.h"
#include "support/temp_dir.h"

namespace dw::providers {
namespace {

using dw::testing::TestHttpRequest;
using dw::testing::TestHttpResponse;
using dw::testing::TestHttpServer;
using nlohmann::json;
using testing::Case;
using testing::ChatBody;
using testing::MsSince;
using testing::RunCall;
using testing::RunCalls;

constexpr char kKeyEnv[] = "DW_PROVIDERS_TEST_KEY";
constexpr char kKey[] = "sk-test-8f3a9c1d2e7b";

class OpenAiChatTest : public ::testing::Test {
 protected:
  void SetUp() override { setenv(kKeyEnv, kKey, 1); }

  config::TargetConfig Target(const TestHttpServer& server) {
    config::TargetConfig target;
    target.name = "chat";
    target.provider = "openai-chat";
    target.base_url = server.BaseUrl() + "/v1";
    target.model = "gpt-test";
    target.api_key_env = kKeyEnv;
    target.prompt = "Capital of {{country}}?";
    target.params = json{{"temperature", 0}, {"max_tokens", 50}};
    target.timeout_ms = 2000;
    target.retry.max_attempts = 3;
    target.retry.base_delay_ms = 5;
    target.retry.max_delay_ms = 3000;
    return target;
  }

  std::unique_ptr<Provider> Make(const config::TargetConfig& target) {
    auto provider = MakeProvider(target, io_);
    EXPECT_TRUE(provider) << provider.error().message;
    return provider ? std::move(*provider) : nullptr;
  }

  CallResult CallWith(TestHttpServer& server, config::TargetConfig target) {
    auto provider = Make(target);
    return RunCall(*provider, io_, Case("c1", json{{"country", "France"}}));
  }

  CallResult CallAgainst(std::function<TestHttpResponse(const TestHttpRequest&)> handler,
                         const std::function<void(config::TargetConfig&)>& adjust = {}) {
    TestHttpServer server(std::move(handler));
    auto target = Target(server);
    if (adjust) adjust(target);
    return CallWith(server, target);
  }

  boost::asio::io_context io_;
};

TestHttpResponse Answer(const std::string& content, const std::string& finish_reason = "stop",
                        const json& extra = json::object()) {
  return TestHttpResponse::Json(ChatBody(content, finish_reason, extra));
}

TEST_F(OpenAiChatTest, UsableAnswerRecordsIdentityUsageAndProvenance) {
  TestHttpServer server([](const TestHttpRequest&) { return Answer("Paris"); });
  auto target = Target(server);
  target.price.input_per_mtok = 1.0;
  target.price.output_per_mtok = 2.0;
  CallResult result = CallWith(server, target);
  EXPECT_EQ(result.outcome, Outcome::kPass) << result.error_detail;
  EXPECT_EQ(result.output, "Paris");
  EXPECT_EQ(result.http_status, 200);
  EXPECT_EQ(result.response_id, "chatcmpl-42");
  EXPECT_EQ(result.model, "gpt-test-0613");
  EXPECT_EQ(result.system_fingerprint, "fp_test");
  EXPECT_EQ(result.finish_reason, "stop");
  EXPECT_TRUE(result.usage_reported);
  EXPECT_EQ(result.input_tokens, 10);
  EXPECT_EQ(result.output_tokens, 5);
  EXPECT_DOUBLE_EQ(result.cost_usd, 20.0 / 1e6);
  EXPECT_EQ(result.attempts, 1);
  EXPECT_GT(result.latency_ms, 0);
  EXPECT_GE(result.total_latency_ms, result.latency_ms);
  auto requests = server.Requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].target, "/v1/chat/completions");
  EXPECT_EQ(requests[0].headers["authorization"], std::string("Bearer ") + kKey);
  EXPECT_EQ(requests[0].headers["content-type"], "application/json");
  EXPECT_EQ(result.request, requests[0].body);
  EXPECT_EQ(result.request_hash, Sha256Hex(requests[0].body));
  json sent = json::parse(requests[0].body);
  EXPECT_EQ(sent["model"], "gpt-test");
  EXPECT_EQ(sent["messages"][0]["content"], "Capital of France?");
  EXPECT_EQ(sent["max_tokens"], 50);
}

TEST_F(OpenAiChatTest, RefusalFieldIsRefusal) {
  auto result = CallAgainst([](const TestHttpRequest&) {
    return Answer("<null>", "stop", json{{"refusal", "I can't help with that."}});
  });
  EXPECT_EQ(result.outcome, Outcome::kRefusal);
  EXPECT_EQ(result.output, "I can't help with that.");
}

TEST_F(OpenAiChatTest, ContentFilterIsRefusal) {
  EXPECT_EQ(CallAgainst([](const TestHttpRequest&) { return Answer("", "content_filter"); }).outcome,
            Outcome::kRefusal);
}

TEST_F(OpenAiChatTest, FinishReasonLengthIsTruncatedAndKeepsThePartialAnswer) {
  auto result = CallAgainst([](const TestHttpRequest&) { return Answer("The capital is Par", "length"); });
  EXPECT_EQ(result.outcome, Outcome::kTruncated);
  EXPECT_EQ(result.output, "The capital is Par");
  EXPECT_EQ(result.finish_reason, "length");
}

TEST_F(OpenAiChatTest, NoContentIsEmpty) {
  EXPECT_EQ(CallAgainst([](const TestHttpRequest&) { return Answer("<null>"); }).outcome, Outcome::kEmpty);
}

TEST_F(OpenAiChatTest, ToolCallsWithoutContentAreTheOutput) {
  auto result = CallAgainst([](const TestHttpRequest&) {
    return Answer("<null>", "tool_calls",
                  json{{"tool_calls", json::array({{{"id", "t1"}, {"type", "function"},
                                                    {"function", {{"name", "lookup"}, {"arguments", "{}"}}}}})}});
  });
  EXPECT_EQ(result.outcome, Outcome::kPass);
  EXPECT_EQ(json::parse(result.output)[0]["function"]["name"], "lookup");
}

TEST_F(OpenAiChatTest, NonJsonContentUnderJsonObjectFormatIsFormatError) {
  auto result = CallAgainst([](const TestHttpRequest&) { return Answer("Paris, obviously"); },
                            [](config::TargetConfig& t) { t.params["response_format"] = {{"type", "json_object"}}; });
  EXPECT_EQ(result.outcome, Outcome::kFormatError);
  EXPECT_EQ(result.output, "Paris, obviously");
}

TEST_F(OpenAiChatTest, ClientErrorIsProviderErrorWithoutRetry) {
  TestHttpServer server([](const TestHttpRequest&) {
    return TestHttpResponse::Json(R"({"error":{"message":"context too long","type":"invalid_request_error"}})", 400);
  });
  auto result = CallWith(server, Target(server));
  EXPECT_EQ(result.outcome, Outcome::kProviderError);
  EXPECT_EQ(result.http_status, 400);
  EXPECT_EQ(result.attempts, 1);
  EXPECT_EQ(server.requests(), 1);
  EXPECT_NE(result.error_detail.find("context too long"), std::string::npos) << result.error_detail;
}

TEST_F(OpenAiChatTest, PersistentServerErrorIsProviderErrorAfterAllAttempts) {
  TestHttpServer server([](const TestHttpRequest&) { return TestHttpResponse::Json("{}", 502); });
  auto result = CallWith(server, Target(server));
  EXPECT_EQ(result.outcome, Outcome::kProviderError);
  EXPECT_EQ(result.http_status, 502);
  EXPECT_EQ(result.attempts, 3);
  EXPECT_EQ(server.requests(), 3);
}

TEST_F(OpenAiChatTest, TransientServerErrorIsRetriedToSuccess) {
  TestHttpServer server([n = std::make_shared<std::atomic<int>>(0)](const TestHttpRequest&) {
    return (*n)++ == 0 ? TestHttpResponse::Json("{}", 500) : Answer("Paris");
  });
  auto result = CallWith(server, Target(server));
  EXPECT_EQ(result.outcome, Outcome::kPass);
  EXPECT_EQ(result.attempts, 2);
  EXPECT_EQ(result.output, "Paris");
}

TEST_F(OpenAiChatTest, RateLimitedAfterMaxAttempts) {
  TestHttpServer server([](const TestHttpRequest&) {
    return TestHttpResponse::Json(R"({"error":{"message":"Rate limit reached","code":"rate_limit_exceeded"}})", 429);
  });
  auto target = Target(server);
  target.retry.max_attempts = 4;
  auto result = CallWith(server, target);
  EXPECT_EQ(result.outcome, Outcome::kRateLimited);
  EXPECT_EQ(result.attempts, 4);
  EXPECT_EQ(server.requests(), 4);
  EXPECT_TRUE(IsInfrastructureFailure(result.outcome));
}

TEST_F(OpenAiChatTest, RetryAfterSecondsIsHonoured) {
  TestHttpServer server([n = std::make_shared<std::atomic<int>>(0)](const TestHttpRequest&) {
    if ((*n)++ > 0) return Answer("Paris");
    auto response = TestHttpResponse::Json("{}", 429);
    response.headers.emplace_back("Retry-After", "1");
    return response;
  });
  auto result = CallWith(server, Target(server));
  EXPECT_EQ(result.outcome, Outcome::kPass);
  EXPECT_EQ(result.attempts, 2);
  EXPECT_GE(result.total_latency_ms, 950);
  EXPECT_LT(result.total_latency_ms, 2500);
}

TEST_F(OpenAiChatTest, RetryAfterHttpDateOn503IsHonoured) {
  TestHttpServer server([n = std::make_shared<std::atomic<int>>(0)](const TestHttpRequest&) {
    if ((*n)++ > 0) return Answer("Paris");
    auto response = TestHttpResponse::Json("{}", 503);
    // Two seconds ahead, at whole-second precision: between 1 and 2 s away.
    std::time_t when = std::time(nullptr) + 2;
    char date[64];
    std::tm tm{};
    gmtime_r(&when, &tm);
    std::strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S GMT", &tm);
    response.headers.emplace_back("Retry-After", date);
    return response;
  });
  auto result = CallWith(server, Target(server));
  EXPECT_EQ(result.outcome, Outcome::kPass);
  EXPECT_GE(result.total_latency_ms, 900);
  EXPECT_LT(result.total_latency_ms, 3000);
}

TEST_F(OpenAiChatTest, RetryAfterIsCappedByMaxDelay) {
  TestHttpServer server([n = std::make_shared<std::atomic<int>>(0)](const TestHttpRequest&) {
    if ((*n)++ > 0) return Answer("Paris");
    auto response = TestHttpResponse::Json("{}", 429);
    response.headers.emplace_back("Retry-After", "30");
    return response;
  });
  auto target = Target(server);
  target.retry.max_delay_ms = 200;
  auto result = CallWith(server, target);
  EXPECT_EQ(result.outcome, Outcome::kPass);
  EXPECT_GE(result.total_latency_ms, 190);
  EXPECT_LT(result.total_latency_ms, 2000);
}

TEST_F(OpenAiChatTest, SlowAnswerIsTimeoutPerAttempt) {
  TestHttpServer server([](const TestHttpRequest&) {
    auto response = Answer("late");
    response.delay = std::chrono::milliseconds(2000);
    return response;
  });
  auto target = Target(server);
  target.timeout_ms = 100;
  target.retry.max_attempts = 2;
  auto result = CallWith(server, target);
  EXPECT_EQ(result.outcome, Outcome::kTimeout);
  EXPECT_EQ(result.attempts, 2);
  EXPECT_GE(result.total_latency_ms, 195);
  EXPECT_LT(result.total_latency_ms, 1500);
}

TEST_F(OpenAiChatTest, DroppedConnectionIsTransportErrorAfterRetries) {
  TestHttpServer server([](const TestHttpRequest&) {
    TestHttpResponse response;
    response.action = TestHttpResponse::Action::kDrop;
    return response;
  });
  auto result = CallWith(server, Target(server));
  EXPECT_EQ(result.outcome, Outcome::kTransportError);
  EXPECT_EQ(result.attempts, 3);
  EXPECT_EQ(result.http_status, 0);
}

TEST_F(OpenAiChatTest, NonJsonSuccessBodyIsProviderError) {
  auto result = CallAgainst([](const TestHttpRequest&) { return TestHttpResponse::Json("<html>oops</html>"); });
  EXPECT_EQ(result.outcome, Outcome::kProviderError);
  EXPECT_EQ(result.http_status, 200);
  EXPECT_NE(result.error_detail.find("not JSON"), std::string::npos) << result.error_detail;
}

TEST_F(OpenAiChatTest, ApiKeyNeverAppearsInErrorsEvenWhenEchoed) {
  TestHttpServer server([](const TestHttpRequest& request) {
    std::string auth = request.headers.count("authorization") ? request.headers.at("authorization") : "";
    return TestHttpResponse::Json(json{{"error", {{"message", "Incorrect API key provided: " + auth}}}}.dump(), 401);
  });
  auto result = CallWith(server, Target(server));
  EXPECT_EQ(result.outcome, Outcome::kProviderError);
  EXPECT_EQ(result.http_status, 401);
  EXPECT_EQ(result.error_detail.find(kKey), std::string::npos) << result.error_detail;
  EXPECT_NE(result.error_detail.find("[redacted]"), std::string::npos) << result.error_detail;
  EXPECT_EQ(result.request.find(kKey), std::string::npos);
}

TEST_F(OpenAiChatTest, MissingKeyVariableIsNamedButNeverShown) {
  TestHttpServer server([](const TestHttpRequest&) { return Answer("x"); });
  auto target = Target(server);
  target.api_key_env = "DW_PROVIDERS_TEST_UNSET_KEY";
  target.file_location = "driftwatch.yaml:12:5";
  unsetenv("DW_PROVIDERS_TEST_UNSET_KEY");
  auto provider = MakeProvider(target, io_);
  ASSERT_FALSE(provider);
  EXPECT_EQ(provider.error().kind, ErrorKind::kInvalidInput);
  EXPECT_EQ(provider.error().message.rfind("driftwatch.yaml:12:5: target 'chat': ", 0), 0u)
      << provider.error().message;
  EXPECT_NE(provider.error().message.find("DW_PROVIDERS_TEST_UNSET_KEY"), std::string::npos);
}

TEST_F(OpenAiChatTest, UnrenderableCaseFailsWithoutARequest) {
  TestHttpServer server([](const TestHttpRequest&) { return Answer("x"); });
  auto provider = Make(Target(server));
  auto result = RunCall(*provider, io_, Case("no-vars", json::object()));
  EXPECT_EQ(result.outcome, Outcome::kProviderError);
  EXPECT_EQ(result.attempts, 0);
  EXPECT_NE(result.error_detail.find("country"), std::string::npos);
  EXPECT_EQ(server.requests(), 0);
}

std::vector<GoldenCase> Cases(int n) {
  std::vector<GoldenCase> cases;
  for (int i = 0; i < n; ++i) cases.push_back(Case("c" + std::to_string(i), json{{"country", std::to_string(i)}}));
  return cases;
}

TEST_F(OpenAiChatTest, ManyCallsShareFewKeepAliveConnections) {
  TestHttpServer server([](const TestHttpRequest& request) {
    return Answer("echo " + json::parse(request.body)["messages"][0]["content"].get<std::string>());
  });
  auto target = Target(server);
  target.concurrency = 4;
  auto provider = Make(target);
  auto results = RunCalls(*provider, io_, Cases(200));
  for (size_t i = 0; i < results.size(); ++i) {
    ASSERT_EQ(results[i].outcome, Outcome::kPass) << results[i].error_detail;
    EXPECT_EQ(results[i].output, "echo Capital of " + std::to_string(i) + "?");
  }
  EXPECT_EQ(server.requests(), 200);
  EXPECT_LE(server.connections(), 4);
  EXPECT_EQ(provider->Stats().connections_opened, static_cast<std::uint64_t>(server.connections()));
}

TEST_F(OpenAiChatTest, PerTargetConcurrencyBoundsCallsInFlight) {
  TestHttpServer server([](const TestHttpRequest&) {
    auto response = Answer("ok");
    response.delay = std::chrono::milliseconds(100);
    return response;
  });
  auto target = Target(server);
  target.concurrency = 2;
  auto provider = Make(target);
  auto start = std::chrono::steady_clock::now();
  auto results = RunCalls(*provider, io_, Cases(6));
  EXPECT_GE(MsSince(start), 290);
  EXPECT_EQ(server.connections(), 2);
  for (const auto& result : results) EXPECT_EQ(result.outcome, Outcome::kPass);
  EXPECT_EQ(provider->Stats().in_flight, 0u);
  EXPECT_EQ(provider->Stats().queued, 0u);
}

TEST_F(OpenAiChatTest, RequestRateLimitPacesCalls) {
  TestHttpServer server([](const TestHttpRequest&) { return Answer("ok"); });
  auto target = Target(server);
  target.rate_limit.requests_per_second = 20;  // burst of 20, then one per 50 ms
  auto provider = Make(target);
  auto start = std::chrono::steady_clock::now();
  auto results = RunCalls(*provider, io_, Cases(30));
  double elapsed = MsSince(start);
  EXPECT_GE(elapsed, 450);
  EXPECT_LT(elapsed, 3000);
  for (const auto& result : results) EXPECT_EQ(result.outcome, Outcome::kPass);
}

TEST_F(OpenAiChatTest, TokensPerMinuteLimitPacesCallsByEstimatedTokens) {
  TestHttpServer server([](const TestHttpRequest&) { return Answer("ok"); });
  auto target = Target(server);
  target.params = json::object();
  target.rate_limit.tokens_per_minute = 6000;  // 100 tokens/s after a burst of 6000
  auto provider = Make(target);
  std::vector<GoldenCase> cases;
  for (int i = 0; i < 12; ++i) cases.push_back(Case("c" + std::to_string(i), json{{"country", std::string(2000, 'x')}}));
  auto start = std::chrono::steady_clock::now();
  auto results = RunCalls(*provider, io_, cases);
  double elapsed = MsSince(start);
  // All twelve reserve their estimate (request bytes / 4) at once; the last
  // one waits until the bucket has refilled the excess over the burst.
  const double estimate = static_cast<double>(results.back().request.size()) / 4.0;
  const double expected_wait_ms = (12 * estimate - 6000) / 100 * 1000;
  ASSERT_GT(expected_wait_ms, 500);
  EXPECT_GE(elapsed, expected_wait_ms - 50);
  EXPECT_LT(elapsed, expected_wait_ms + 2000);
  for (const auto& result : results) EXPECT_EQ(result.outcome, Outcome::kPass);
}

class OpenAiChatHttpsTest : public OpenAiChatTest {
 protected:
  dw::testing::TempDir dir_;
  dw::testing::TestPki pki_ = dw::testing::MakeTestPki();
};

TEST_F(OpenAiChatHttpsTest, TrustedCaFileGivesAnAnswer) {
  auto cert = pki_.Issue({"localhost"}, {"127.0.0.1"});
  TestHttpServer server([](const TestHttpRequest&) { return Answer("Paris"); }, {cert.cert_pem, cert.key_pem});
  auto target = Target(server);
  target.ca_file = dir_.WriteFile("ca.pem", pki_.ca.cert_pem).string();
  auto result = CallWith(server, target);
  EXPECT_EQ(result.outcome, Outcome::kPass) << result.error_detail;
  EXPECT_EQ(result.output, "Paris");
}

TEST_F(OpenAiChatHttpsTest, UntrustedCertificateIsTransportErrorWithoutRetry) {
  auto cert = dw::testing::MakeTestPki("rogue").Issue({"localhost"}, {"127.0.0.1"});
  TestHttpServer server([](const TestHttpRequest&) { return Answer("Paris"); }, {cert.cert_pem, cert.key_pem});
  auto target = Target(server);
  target.ca_file = dir_.WriteFile("ca.pem", pki_.ca.cert_pem).string();
  auto result = CallWith(server, target);
  EXPECT_EQ(result.outcome, Outcome::kTransportError);
  EXPECT_EQ(result.attempts, 1);
  EXPECT_EQ(server.requests(), 0);
  EXPECT_NE(result.error_detail.find("certificate"), std::string::npos) << result.error_detail;
}

}  // namespace
}  // namespace dw::providers
