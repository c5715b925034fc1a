#include "metrics/pushgateway.h"

#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <thread>

#include "metrics/drift_metrics.h"
#include "metrics/observation_fixtures.h"
#include "metrics/samples.h"
#include "support/processes.h"
#include "support/temp_dir.h"

namespace dw::metrics {
namespace {

using ::testing::AllOf;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Optional;
using testing::ParseSamples;
using dw::testing::Pushgateway;
using testing::SampleMetric;
using testing::SampleRun;
using ::testing::SizeIs;
using testing::ValueOf;
using Labels = std::map<std::string, std::string>;
using Grouping = std::vector<std::pair<std::string, std::string>>;

PushTarget Target(std::string url, Grouping grouping = {}, std::string job = "driftwatch") {
  PushTarget target;
  target.url = std::move(url);
  target.job = std::move(job);
  target.grouping = std::move(grouping);
  return target;
}

TEST(Base64UrlEncode, MatchesRfc4648UrlSafeVectors) {
  EXPECT_EQ(Base64UrlEncode("f"), "Zg==");
  EXPECT_EQ(Base64UrlEncode("fo"), "Zm8=");
  EXPECT_EQ(Base64UrlEncode("foo"), "Zm9v");
  EXPECT_EQ(Base64UrlEncode("foob"), "Zm9vYg==");
  EXPECT_EQ(Base64UrlEncode("\xfb\xff"), "-_8=");
  EXPECT_EQ(Base64UrlEncode("support/faq"), "c3VwcG9ydC9mYXE=");
}

TEST(Base64UrlEncode, EmptyValueIsASinglePaddingCharacter) { EXPECT_EQ(Base64UrlEncode(""), "="); }

TEST(GroupUrl, PlainValuesStayReadable) {
  PushTarget target =
      Target("http://127.0.0.1:9091/", {{"golden_set", "support"}, {"target", "gpt-4o.v2"}});
  EXPECT_THAT(
      GroupUrl(target),
      Optional(std::string(
          "http://127.0.0.1:9091/metrics/job/driftwatch/golden_set/support/target/gpt-4o.v2")));
}

TEST(GroupUrl, SlashEmptyAndOtherCharactersUseTheBase64Form) {
  PushTarget target =
      Target("https://gw.example.com/prefix",
             {{"golden_set", "support/faq"}, {"env", ""}, {"target", ".."}}, "drift watch");
  EXPECT_THAT(GroupUrl(target), Optional(std::string("https://gw.example.com/prefix/metrics/"
                                                     "job@base64/ZHJpZnQgd2F0Y2g="
                                                     "/golden_set@base64/c3VwcG9ydC9mYXE="
                                                     "/env@base64/="
                                                     "/target@base64/Li4=")));
}

TEST(GroupUrl, RejectsTargetsTheGatewayCannotAddress) {
  auto kind = [](const PushTarget& t) { return GroupUrl(t).error().kind; };
  EXPECT_EQ(kind(Target("")), ErrorKind::kInvalidInput);
  EXPECT_EQ(kind(Target("127.0.0.1:9091")), ErrorKind::kInvalidInput);
  EXPECT_EQ(kind(Target("http://h", {}, "")), ErrorKind::kInvalidInput);
  EXPECT_EQ(kind(Target("http://h", {{"bad-name", "x"}})), ErrorKind::kInvalidInput);
  EXPECT_EQ(kind(Target("http://h", {{"__reserved", "x"}})), ErrorKind::kInvalidInput);
  EXPECT_EQ(kind(Target("http://h", {{"job", "x"}})), ErrorKind::kInvalidInput);
  EXPECT_EQ(kind(Target("http://h", {{"a", "x"}, {"a", "y"}})), ErrorKind::kInvalidInput);
}

class PushgatewayTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(gateway_.ready()) << "pushgateway did not start:\n" << gateway_.log();
  }

  PushTarget Target() const { return metrics::Target(gateway_.url()); }

  std::vector<testing::Sample> GatewaySamples() const {
    return ParseSamples(dw::testing::HttpGet(gateway_.url() + "/metrics").body);
  }

  dw::testing::TempDir dir_;
  Pushgateway gateway_{dir_.path()};
};

TEST_F(PushgatewayTest, PushCreatesOneGroupPerGoldenSetAndTarget) {
  DriftMetrics metrics;
  ASSERT_TRUE(metrics.Record(SampleRun("support", "gpt")));
  ASSERT_TRUE(metrics.Record(SampleRun("support", "claude")));
  ASSERT_TRUE(metrics.Push(Target()));
  auto s = GatewaySamples();
  for (const char* target : {"gpt", "claude"}) {
    Labels group = {
        {"job", "driftwatch"}, {"instance", ""}, {"golden_set", "support"}, {"target", target}};
    EXPECT_TRUE(ValueOf(s, "push_time_seconds", group).has_value()) << target;
    EXPECT_THAT(ValueOf(s, "driftwatch_last_run_success", group), Optional(1.0)) << target;
    Labels build = group;
    build["version"] = "";
    build["git_sha"] = "";
    EXPECT_THAT(ValueOf(s, "driftwatch_build_info", build), Optional(1.0)) << target;
  }
}

TEST_F(PushgatewayTest, PushReplacesTheWholeGroup) {
  DriftMetrics first;
  ASSERT_TRUE(first.Record(SampleRun()));
  ASSERT_TRUE(first.Record(SampleMetric("pass_rate")));
  ASSERT_TRUE(first.Record(SampleMetric("retired_scorer")));
  ASSERT_TRUE(first.Push(Target()));
  ASSERT_THAT(testing::Named(GatewaySamples(), "driftwatch_score"), SizeIs(2));

  DriftMetrics second;  // the next cron run no longer computes retired_scorer
  ASSERT_TRUE(second.Record(SampleRun()));
  MetricObservation m = SampleMetric("pass_rate");
  m.value = 0.95;
  ASSERT_TRUE(second.Record(m));
  ASSERT_TRUE(second.Push(Target()));

  auto scores = testing::Named(GatewaySamples(), "driftwatch_score");
  ASSERT_THAT(scores, SizeIs(1));
  EXPECT_EQ(scores[0].labels.at("metric"), "pass_rate");
  EXPECT_EQ(scores[0].value, 0.95);
}

TEST_F(PushgatewayTest, FailedRunKeepsThePreviousSuccessAndScoresInTheGateway) {
  DriftMetrics good;
  ASSERT_TRUE(good.Record(SampleRun()));
  ASSERT_TRUE(good.Record(SampleMetric()));
  ASSERT_TRUE(good.Push(Target()));

  DriftMetrics failed_process;
  RunObservation failed = SampleRun();
  failed.success = false;
  failed.finished_at += 86400;
  ASSERT_TRUE(failed_process.Record(failed));
  ASSERT_TRUE(failed_process.Push(Target()));

  auto s = GatewaySamples();
  Labels group = {
      {"job", "driftwatch"}, {"instance", ""}, {"golden_set", "support"}, {"target", "gpt"}};
  EXPECT_THAT(ValueOf(s, "driftwatch_last_run_success", group), Optional(0.0));
  EXPECT_THAT(ValueOf(s, "driftwatch_last_run_timestamp_seconds", group),
              Optional(1'800'086'400.0));
  EXPECT_THAT(ValueOf(s, "driftwatch_last_success_timestamp_seconds", group), Optional(1.8e9));
  EXPECT_THAT(testing::Named(s, "driftwatch_score"), SizeIs(1));
}

TEST_F(PushgatewayTest, GroupingValuesWithSlashOrEmptyAreEncoded) {
  DriftMetrics metrics;
  ASSERT_TRUE(metrics.Record(SampleRun("billing/refunds", "gpt")));
  PushTarget target = Target();
  target.grouping = {{"env", ""}};
  ASSERT_TRUE(metrics.Push(target));
  auto s = GatewaySamples();
  Labels group = {{"job", "driftwatch"},
                  {"instance", ""},
                  {"env", ""},
                  {"golden_set", "billing/refunds"},
                  {"target", "gpt"}};
  EXPECT_THAT(ValueOf(s, "driftwatch_last_run_success", group), Optional(1.0));
  EXPECT_TRUE(ValueOf(s, "push_time_seconds", group).has_value());
}

TEST_F(PushgatewayTest, DeleteGroupRemovesOnlyThatGroup) {
  DriftMetrics metrics;
  ASSERT_TRUE(metrics.Record(SampleRun("support", "gpt")));
  ASSERT_TRUE(metrics.Record(SampleRun("support", "claude")));
  ASSERT_TRUE(metrics.Push(Target()));
  PushTarget gpt = Target();
  gpt.grouping = {{"golden_set", "support"}, {"target", "gpt"}};
  ASSERT_TRUE(DeleteGroup(gpt));
  // The gateway answers 202 and deletes asynchronously.
  std::vector<testing::Sample> left;
  for (int attempt = 0; attempt < 100; ++attempt) {
    left = testing::Named(GatewaySamples(), "driftwatch_last_run_success");
    if (left.size() == 1) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_THAT(left, SizeIs(1));
  EXPECT_EQ(left[0].labels.at("target"), "claude");
}

TEST_F(PushgatewayTest, RejectedBodyIsInvalidInputQuotingTheGateway) {
  PushTarget target = Target();
  target.grouping = {{"golden_set", "support"}};
  auto status = PushText(target, "driftwatch_score 1 1700000000000\n", PushMethod::kReplaceGroup);
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().kind, ErrorKind::kInvalidInput);
  EXPECT_THAT(status.error().message, AllOf(HasSubstr("HTTP 400"), HasSubstr("timestamp")));
}

TEST_F(PushgatewayTest, GatewayDownFailsQuicklyWithUnavailable) {
  DriftMetrics metrics;
  ASSERT_TRUE(metrics.Record(SampleRun()));
  gateway_.Stop();
  PushTarget target = Target();
  target.timeout = std::chrono::milliseconds(2000);
  auto start = std::chrono::steady_clock::now();
  auto status = metrics.Push(target);
  auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().kind, ErrorKind::kUnavailable);
  EXPECT_THAT(status.error().message, HasSubstr(gateway_.url()));
  EXPECT_LT(elapsed, std::chrono::milliseconds(2000));
}

// A listener that accepts connections into its backlog but never answers.
class SilentServer {
 public:
  SilentServer() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof addr;
    bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    listen(fd_, 8);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
  }
  ~SilentServer() { close(fd_); }
  int port() const { return port_; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

TEST(PushText, HungGatewayIsCutOffByTheTimeout) {
  SilentServer server;
  ASSERT_GT(server.port(), 0);
  PushTarget target = Target("http://127.0.0.1:" + std::to_string(server.port()));
  target.timeout = std::chrono::milliseconds(300);
  auto start = std::chrono::steady_clock::now();
  auto status = PushText(target, "driftwatch_build_info 1\n", PushMethod::kReplaceGroup);
  auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().kind, ErrorKind::kUnavailable);
  EXPECT_THAT(status.error().message, HasSubstr("PUT"));
  EXPECT_GE(elapsed, std::chrono::milliseconds(250));
  EXPECT_LT(elapsed, std::chrono::milliseconds(2000));
}

TEST(PushText, NothingToPushIsOk) {
  DriftMetrics empty;
  EXPECT_TRUE(empty.Push(Target("http://127.0.0.1:1")));
}

}  // namespace
}  // namespace dw::metrics
