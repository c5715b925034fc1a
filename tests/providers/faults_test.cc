// The openai-chat provider against the fault-injecting server: how each
// fault is classified, which ones are retried, and how long retries wait
// (measured from the server's arrival timestamps).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <functional>

#include "provider_test_util.h"
#include "providers/provider.h"
#include "support/fault_server.h"

namespace dw::providers {
namespace {

using dw::testing::Fault;
using dw::testing::FaultRule;
using dw::testing::FaultServer;
using nlohmann::json;
using testing::Case;
using testing::RunCall;

constexpr char kKeyEnv[] = "DW_FAULTS_TEST_KEY";
constexpr char kKey[] = "sk-faults-5d1c9e7a3b";

class FaultInjectionTest : public ::testing::Test {
 protected:
  void SetUp() override { setenv(kKeyEnv, kKey, 1); }

  static config::TargetConfig Target(const FaultServer& server) {
    config::TargetConfig target;
    target.name = "chat";
    target.provider = "openai-chat";
    target.base_url = server.BaseUrl();
    target.model = "gpt-test";
    target.api_key_env = kKeyEnv;
    target.prompt = "{{question}}";
    target.timeout_ms = 400;
    target.retry.max_attempts = 3;
    target.retry.base_delay_ms = 20;
    target.retry.max_delay_ms = 200;
    return target;
  }

  // One call whose prompt is `marker`.
  CallResult Call(const config::TargetConfig& target, const std::string& marker) {
    auto provider = MakeProvider(target, io_);
    EXPECT_TRUE(provider) << provider.error().message;
    if (!provider) return {};
    return RunCall(**provider, io_, Case("c1", json{{"question", marker}}));
  }

  CallResult CallWith(std::vector<FaultRule> rules, const std::string& marker,
                      const std::function<void(config::TargetConfig&)>& adjust = {}) {
    FaultServer server(std::move(rules));
    auto target = Target(server);
    if (adjust) adjust(target);
    CallResult result = Call(target, marker);
    served_ = static_cast<int>(server.RequestsContaining(marker).size());
    return result;
  }

  boost::asio::io_context io_;
  int served_ = 0;  // requests the server saw for the marker in CallWith
};

TEST_F(FaultInjectionTest, ConnectionResetIsRetriedThenTransportError) {
  auto result = CallWith({{"reset", Fault::kReset}}, "reset");
  EXPECT_EQ(result.outcome, Outcome::kTransportError);
  EXPECT_EQ(result.attempts, 3);
  EXPECT_EQ(served_, 3);
  EXPECT_EQ(result.http_status, 0);
  EXPECT_NE(result.error_detail.find("reset"), std::string::npos) << result.error_detail;
}

TEST_F(FaultInjectionTest, BodyCutOffMidwayIsRetriedThenTransportError) {
  auto result = CallWith({{"cut", Fault::kCutOff}}, "cut");
  EXPECT_EQ(result.outcome, Outcome::kTransportError);
  EXPECT_EQ(result.attempts, 3);
  EXPECT_EQ(served_, 3);
  EXPECT_TRUE(result.output.empty());
}

TEST_F(FaultInjectionTest, ResetOnceThenAnswerIsAPassOnTheSecondAttempt) {
  FaultRule reset{"flaky", Fault::kReset};
  reset.times = 1;
  auto result = CallWith({reset}, "flaky");
  EXPECT_EQ(result.outcome, Outcome::kPass) << result.error_detail;
  EXPECT_EQ(result.output, "ok");
  EXPECT_EQ(result.attempts, 2);
  EXPECT_EQ(served_, 2);
}

TEST_F(FaultInjectionTest, TruncatedJsonIsProviderErrorWithoutRetry) {
  auto result = CallWith({{"trunc", Fault::kTruncatedJson}}, "trunc");
  EXPECT_EQ(result.outcome, Outcome::kProviderError);
  EXPECT_EQ(result.attempts, 1);
  EXPECT_EQ(served_, 1);
  EXPECT_EQ(result.http_status, 200);
  EXPECT_NE(result.error_detail.find("not JSON"), std::string::npos) << result.error_detail;
}

TEST_F(FaultInjectionTest, InvalidJsonIsProviderErrorWithoutRetry) {
  auto result = CallWith({{"html", Fault::kInvalidJson}}, "html");
  EXPECT_EQ(result.outcome, Outcome::kProviderError);
  EXPECT_EQ(result.attempts, 1);
  EXPECT_TRUE(result.output.empty());
}

TEST_F(FaultInjectionTest, InvalidUtf8InTheAnswerIsProviderErrorWithoutRetry) {
  FaultRule rule{"utf8", Fault::kInvalidUtf8};
  rule.status = 200;
  auto result = CallWith({rule}, "utf8");
  EXPECT_EQ(result.outcome, Outcome::kProviderError);
  EXPECT_EQ(result.attempts, 1);
  EXPECT_TRUE(result.output.empty());
}

TEST_F(FaultInjectionTest, InvalidUtf8ErrorBodyIsAServerErrorRetriedToTheLimit) {
  FaultRule rule{"utf8", Fault::kInvalidUtf8};
  rule.status = 502;
  auto result = CallWith({rule}, "utf8");
  EXPECT_EQ(result.outcome, Outcome::kProviderError);
  EXPECT_EQ(result.http_status, 502);
  EXPECT_EQ(result.attempts, 3);
  EXPECT_NE(result.error_detail.find("upstream failed"), std::string::npos) << result.error_detail;
}

TEST_F(FaultInjectionTest, FiftyMegabyteBodyStopsAtTheLimitAsProviderErrorWithoutRetry) {
  auto start = std::chrono::steady_clock::now();
  auto result = CallWith({{"huge", Fault::kHugeBody}}, "huge", [](config::TargetConfig& t) { t.timeout_ms = 5000; });
  EXPECT_EQ(result.outcome, Outcome::kProviderError);
  EXPECT_EQ(result.attempts, 1);
  EXPECT_EQ(served_, 1);
  EXPECT_TRUE(result.output.empty());
  EXPECT_NE(result.error_detail.find("exceeds the limit of 8388608 bytes (max_response_bytes)"), std::string::npos)
      << result.error_detail;
  EXPECT_LT(testing::MsSince(start), 5000);
}

TEST_F(FaultInjectionTest, BodyUnderARaisedLimitIsAccepted) {
  FaultRule rule{"big", Fault::kHugeBody};
  rule.body_bytes = 2u << 20;
  auto result = CallWith({rule}, "big", [](config::TargetConfig& t) {
    t.max_response_bytes = 4 << 20;
    t.timeout_ms = 5000;
  });
  EXPECT_EQ(result.outcome, Outcome::kPass) << result.error_detail;
  EXPECT_EQ(result.output.size(), 2u << 20);
}

TEST_F(FaultInjectionTest, SlowDripPastTheTimeoutIsTimeoutAlthoughBytesKeepArriving) {
  auto result = CallWith({{"drip", Fault::kSlowDrip}}, "drip");  // 8 bytes per 100 ms: seconds per body
  EXPECT_EQ(result.outcome, Outcome::kTimeout);
  EXPECT_EQ(result.attempts, 3);
  EXPECT_EQ(served_, 3);
  EXPECT_LT(result.total_latency_ms, 3000);
}

TEST_F(FaultInjectionTest, SlowDripWithinTheTimeoutIsAnAnswer) {
  FaultRule rule{"drip", Fault::kSlowDrip};
  rule.drip_bytes = 64;
  rule.drip_interval = std::chrono::milliseconds(10);
  auto result = CallWith({rule}, "drip", [](config::TargetConfig& t) { t.timeout_ms = 3000; });
  EXPECT_EQ(result.outcome, Outcome::kPass) << result.error_detail;
  EXPECT_EQ(result.output, "ok");
  EXPECT_EQ(result.attempts, 1);
}

TEST_F(FaultInjectionTest, EmptyChoiceListIsProviderErrorWithoutRetry) {
  auto result = CallWith({{"none", Fault::kEmptyChoices}}, "none");
  EXPECT_EQ(result.outcome, Outcome::kProviderError);
  EXPECT_EQ(result.attempts, 1);
  EXPECT_NE(result.error_detail.find("no choices"), std::string::npos) << result.error_detail;
}

TEST_F(FaultInjectionTest, HangPastTheTimeoutIsRetriedThenTimeout) {
  FaultRule rule{"hang", Fault::kHang};
  rule.delay = std::chrono::milliseconds(3000);
  FaultServer server({rule});
  auto result = Call(Target(server), "hang");
  EXPECT_EQ(result.outcome, Outcome::kTimeout);
  EXPECT_EQ(result.attempts, 3);
  // Each attempt waited its own 400 ms before the next one arrived.
  for (double gap : server.GapsMs("hang")) EXPECT_GE(gap, 390);
}

// Full jitter: the k-th wait is uniform in [0, min(max_delay, base * 2^(k-1))].
void ExpectGapsUnderTheBackoffCeiling(const std::vector<double>& gaps, const config::RetryPolicy& retry) {
  constexpr double kSlackMs = 150;  // response, reconnect and scheduling on a busy machine
  for (size_t k = 0; k < gaps.size(); ++k) {
    double ceiling = std::min<double>(retry.max_delay_ms, retry.base_delay_ms * std::ldexp(1.0, static_cast<int>(k)));
    EXPECT_LE(gaps[k], ceiling + kSlackMs) << "wait before attempt " << k + 2;
  }
}

TEST_F(FaultInjectionTest, ServerErrorRetriesAreBoundedWithExponentialBackoff) {
  FaultServer server({{"boom", Fault::kServerError}});
  auto target = Target(server);
  target.retry = {5, 100, 300};
  auto result = Call(target, "boom");
  EXPECT_EQ(result.outcome, Outcome::kProviderError);
  EXPECT_EQ(result.http_status, 500);
  EXPECT_EQ(result.attempts, 5);
  auto gaps = server.GapsMs("boom");
  ASSERT_EQ(gaps.size(), 4u);
  ExpectGapsUnderTheBackoffCeiling(gaps, target.retry);
}

TEST_F(FaultInjectionTest, RateLimitWithoutRetryAfterBacksOffUnderTheCeiling) {
  FaultServer server({{"busy", Fault::kRateLimited}});
  auto target = Target(server);
  target.retry = {4, 100, 300};
  auto result = Call(target, "busy");
  EXPECT_EQ(result.outcome, Outcome::kRateLimited);
  EXPECT_EQ(result.http_status, 429);
  EXPECT_EQ(result.attempts, 4);
  auto gaps = server.GapsMs("busy");
  ASSERT_EQ(gaps.size(), 3u);
  ExpectGapsUnderTheBackoffCeiling(gaps, target.retry);
}

TEST_F(FaultInjectionTest, RetryAfterSetsTheGapBetweenArrivals) {
  FaultRule rule{"wait", Fault::kRateLimitedRetryAfter};
  rule.times = 1;
  rule.retry_after_seconds = 1;
  FaultServer server({rule});
  auto target = Target(server);
  target.retry.max_delay_ms = 5000;
  auto result = Call(target, "wait");
  EXPECT_EQ(result.outcome, Outcome::kPass) << result.error_detail;
  EXPECT_EQ(result.attempts, 2);
  auto gaps = server.GapsMs("wait");
  ASSERT_EQ(gaps.size(), 1u);
  EXPECT_GE(gaps[0], 1000);
  EXPECT_LT(gaps[0], 1600);
}

TEST_F(FaultInjectionTest, EchoedKeyIsRedactedFromTheAnswerAndItsIdentity) {
  FaultRule rule{"echo", Fault::kEchoCredentials};
  rule.status = 200;
  auto result = CallWith({rule}, "echo");
  EXPECT_EQ(result.outcome, Outcome::kPass) << result.error_detail;
  EXPECT_EQ(result.output, "you sent Bearer [redacted]");
  for (const std::string* text : {&result.output, &result.response_id, &result.model, &result.system_fingerprint})
    EXPECT_EQ(text->find(kKey), std::string::npos) << *text;
}

}  // namespace
}  // namespace dw::providers
