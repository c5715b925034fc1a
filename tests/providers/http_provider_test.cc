#include <atomic>
#include <cstdlib>

#include <gtest/gtest.h>

#include "core/hash.h"
#include "provider_test_util.h"
#include "providers/provider.h"
#include "support/http_server.h"

namespace dw::providers {
namespace {

using dw::testing::TestHttpRequest;
using dw::testing::TestHttpResponse;
using dw::testing::TestHttpServer;
using nlohmann::json;
using testing::Case;
using testing::RunCall;

class HttpProviderTest : public ::testing::Test {
 protected:
  config::TargetConfig Target(const TestHttpServer& server) {
    config::TargetConfig target;
    target.name = "inhouse";
    target.provider = "http";
    target.prompt = "Q: {{question}}";
    target.http.url = server.BaseUrl() + "/generate";
    target.http.headers = {{"X-Service-Token", "svc-token-5551234"}};
    target.http.body = json::parse(R"({"input":"{{prompt}}","options":{"k":"{{k}}"},"fixed":true})");
    target.http.output_path = "$.result.text";
    target.http.input_tokens_path = "$.meta.in";
    target.http.output_tokens_path = "$.meta.out";
    target.timeout_ms = 2000;
    target.retry.base_delay_ms = 5;
    return target;
  }

  CallResult CallWith(const config::TargetConfig& target, const GoldenCase& c) {
    auto provider = MakeProvider(target, io_);
    EXPECT_TRUE(provider) << provider.error().message;
    if (!provider) return {};
    return RunCall(**provider, io_, c);
  }

  GoldenCase Question() { return Case("q1", json{{"question", "2+2?"}, {"k", 3}}); }

  boost::asio::io_context io_;
};

TestHttpResponse Result(const std::string& text) {
  return TestHttpResponse::Json(json{{"result", {{"text", text}}}, {"meta", {{"in", 7}, {"out", 2}}}}.dump());
}

TEST_F(HttpProviderTest, RendersTheBodyTemplateAndExtractsTheOutputPath) {
  TestHttpServer server([](const TestHttpRequest&) { return Result("4"); });
  auto result = CallWith(Target(server), Question());
  EXPECT_EQ(result.outcome, Outcome::kPass) << result.error_detail;
  EXPECT_EQ(result.output, "4");
  EXPECT_TRUE(result.usage_reported);
  EXPECT_EQ(result.input_tokens, 7);
  EXPECT_EQ(result.output_tokens, 2);
  auto requests = server.Requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "POST");
  EXPECT_EQ(requests[0].target, "/generate");
  EXPECT_EQ(requests[0].headers["x-service-token"], "svc-token-5551234");
  EXPECT_EQ(requests[0].headers["content-type"], "application/json");
  EXPECT_EQ(json::parse(requests[0].body), json::parse(R"({"input":"Q: 2+2?","options":{"k":3},"fixed":true})"));
  EXPECT_EQ(result.request_hash, Sha256Hex(result.request));
  EXPECT_EQ(json::parse(result.request)["body"], json::parse(requests[0].body));
  EXPECT_EQ(result.request.find("svc-token-5551234"), std::string::npos);
}

TEST_F(HttpProviderTest, GetWithUrlTemplateAndWholeTextBody) {
  TestHttpServer server([](const TestHttpRequest& request) {
    TestHttpResponse response;
    response.content_type = "text/plain";
    response.body = "answer for " + request.target;
    return response;
  });
  auto target = Target(server);
  target.http.method = "get";
  target.http.url = server.BaseUrl() + "/ask/{{question}}?k={{k}}";
  target.http.body = nullptr;
  target.http.output_path = "$";
  target.http.input_tokens_path.clear();
  target.http.output_tokens_path.clear();
  auto result = CallWith(target, Case("q2", json{{"question", "capital"}, {"k", 9}}));
  EXPECT_EQ(result.outcome, Outcome::kPass) << result.error_detail;
  EXPECT_EQ(result.output, "answer for /ask/capital?k=9");
  EXPECT_FALSE(result.usage_reported);
  auto requests = server.Requests();
  ASSERT_EQ(requests.size(), 1u);
  EXPECT_EQ(requests[0].method, "GET");
  EXPECT_TRUE(requests[0].body.empty());
}

TEST_F(HttpProviderTest, MissingOutputPathIsProviderError) {
  TestHttpServer server([](const TestHttpRequest&) { return TestHttpResponse::Json(R"({"status":"queued"})"); });
  auto result = CallWith(Target(server), Question());
  EXPECT_EQ(result.outcome, Outcome::kProviderError);
  EXPECT_NE(result.error_detail.find("$.result.text"), std::string::npos) << result.error_detail;
  EXPECT_EQ(result.attempts, 1);
}

TEST_F(HttpProviderTest, EmptyOutputIsEmpty) {
  TestHttpServer server([](const TestHttpRequest&) { return Result(""); });
  EXPECT_EQ(CallWith(Target(server), Question()).outcome, Outcome::kEmpty);
}

TEST_F(HttpProviderTest, ServiceUnavailableIsRetried) {
  TestHttpServer server([n = std::make_shared<std::atomic<int>>(0)](const TestHttpRequest&) {
    return (*n)++ < 2 ? TestHttpResponse::Json("{}", 503) : Result("4");
  });
  auto result = CallWith(Target(server), Question());
  EXPECT_EQ(result.outcome, Outcome::kPass);
  EXPECT_EQ(result.attempts, 3);
  EXPECT_EQ(server.requests(), 3);
}

TEST_F(HttpProviderTest, CredentialHeaderValuesAreRedactedFromErrors) {
  TestHttpServer server([](const TestHttpRequest& request) {
    return TestHttpResponse::Json(json{{"error", "bad token " + request.headers.at("x-service-token")}}.dump(), 403);
  });
  auto result = CallWith(Target(server), Question());
  EXPECT_EQ(result.outcome, Outcome::kProviderError);
  EXPECT_EQ(result.http_status, 403);
  EXPECT_EQ(result.error_detail.find("svc-token-5551234"), std::string::npos) << result.error_detail;
}

TEST_F(HttpProviderTest, ApiKeyEnvAddsABearerHeader) {
  setenv("DW_HTTP_PROVIDER_TEST_KEY", "sk-http-0987654321", 1);
  TestHttpServer server([](const TestHttpRequest&) { return Result("4"); });
  auto target = Target(server);
  target.api_key_env = "DW_HTTP_PROVIDER_TEST_KEY";
  EXPECT_EQ(CallWith(target, Question()).outcome, Outcome::kPass);
  EXPECT_EQ(server.Requests().at(0).headers["authorization"], "Bearer sk-http-0987654321");
}

TEST_F(HttpProviderTest, InvalidSettingsAreRejectedAtCreation) {
  TestHttpServer server([](const TestHttpRequest&) { return Result("4"); });
  auto target = Target(server);
  target.http.output_path = "$.[";
  EXPECT_FALSE(MakeProvider(target, io_));
  target = Target(server);
  target.http.url = "ftp://127.0.0.1/";
  EXPECT_FALSE(MakeProvider(target, io_));
  target = Target(server);
  target.provider = "carrier-pigeon";
  auto unknown = MakeProvider(target, io_);
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().message.find("carrier-pigeon"), std::string::npos);
}

}  // namespace
}  // namespace dw::providers
