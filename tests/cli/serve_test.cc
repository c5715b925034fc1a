// `driftwatch serve` as a process, end to end: after the demo has signed off
// a baseline, a manual fire of the demo's schedule is executed by the
// service's workers (real replays on the simulated model, compared with the
// baseline), the drift metrics appear on the service's own /metrics, that
// exposition passes `promtool check metrics` and a real Prometheus scrapes
// it, and SIGTERM stops the service cleanly.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <optional>
#include <regex>
#include <string>
#include <thread>

#include "support/cli_process.h"
#include "support/processes.h"
#include "support/temp_dir.h"
#include "support/test_database.h"

namespace dw {
namespace {

using testing::CliOutcome;
using testing::CliProcess;
using ::testing::ContainsRegex;
using testing::DriftwatchCli;
using ::testing::HasSubstr;

// The port `serve --listen 127.0.0.1:0` bound, from its service.started log
// line; 0 when the line does not appear within the deadline.
int WaitForHttpPort(const CliProcess& serve, std::chrono::seconds limit) {
  static const std::regex kPort("\"event\":\"service.started\".*\"http_port\":([0-9]+)");
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    std::smatch match;
    std::string log = testing::ReadFile(serve.err_path);
    if (std::regex_search(log, match, kPort)) return std::stoi(match[1]);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return 0;
}

std::string ScrapeMetrics(int port) {
  auto response = testing::HttpGet("http://127.0.0.1:" + std::to_string(port) + "/metrics");
  return response.status == 200 ? response.body : std::string();
}

const std::regex kFaqBotVerdict(
    "driftwatch_verdict\\{golden_set=\"faq\",target=\"faq-bot\",metric=\"pass_rate\",slice=\"all\","
    "verdict=\"[a-z_]+\"\\} 1");

// The demo's database and files, and a `driftwatch serve` (two workers, no
// scheduler) that has executed one manual fire of the demo's schedule: one
// job for faq-bot (compared with its signed-off baseline) and one for
// faq-bot-next. A serve still running at the end of the test is killed.
class ServeCommand : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string demo_dir = (dir_.path() / "demo").string();
    CliOutcome demo = cli_.Run(
        {"demo", "--goldenset", std::string(DRIFTWATCH_SOURCE_DIR) + "/config/examples/faq.yaml", "--dir", demo_dir});
    ASSERT_EQ(demo.exit_code, 0) << demo.err;
    const std::string config = demo_dir + "/driftwatch.yaml";
    CliOutcome fired = cli_.Run({"schedule", "fire", "faq-every-5-minutes", "--config", config});
    ASSERT_EQ(fired.exit_code, 0) << fired.out << fired.err;

    serve_ = cli_.Start(
        {"serve", "--config", config, "--listen", "127.0.0.1:0", "--no-scheduler", "--workers", "2", "--no-watch"});
    port_ = WaitForHttpPort(*serve_, std::chrono::seconds(30));
    ASSERT_GT(port_, 0) << testing::ReadFile(serve_->err_path);

    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (std::chrono::steady_clock::now() < deadline) {
      metrics_ = ScrapeMetrics(port_);
      if (std::regex_search(metrics_, kFaqBotVerdict) &&
          metrics_.find("driftwatch_worker_jobs_total{event=\"done\"} 2") != std::string::npos)
        return;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    FAIL() << "the fired jobs did not finish:\n" << metrics_ << testing::ReadFile(serve_->err_path);
  }

  void TearDown() override {
    if (serve_) (void)DriftwatchCli::Wait(Stop(), std::chrono::seconds(60));
  }

  // Sends SIGTERM to the serve process and hands it to the caller to wait on.
  CliProcess Stop() {
    CliProcess process = *serve_;
    serve_.reset();
    ::kill(process.pid, SIGTERM);
    return process;
  }

  testing::TestDatabase tdb_;
  testing::TempDir dir_;
  DriftwatchCli cli_{dir_.path(), tdb_.url()};
  std::optional<CliProcess> serve_;
  int port_ = 0;
  std::string metrics_;  // the last scrape of SetUp
};

TEST_F(ServeCommand, RunsAFiredScheduleAndServesItsDriftMetricsUntilSigterm) {
  EXPECT_TRUE(std::regex_search(metrics_, kFaqBotVerdict)) << metrics_;
  EXPECT_THAT(metrics_, HasSubstr("driftwatch_worker_jobs_total{event=\"done\"} 2"));
  EXPECT_THAT(metrics_, ContainsRegex("driftwatch_last_run_success\\{golden_set=\"faq\",target=\"faq-bot-next\"\\} 1"));
  EXPECT_THAT(metrics_,
              ContainsRegex("driftwatch_cases_replayed_total\\{golden_set=\"faq\",target=\"faq-bot\"\\} [1-9]"));
  EXPECT_THAT(metrics_, ContainsRegex("driftwatch_build_info\\{version=\"[0-9.]+\""));

  CliOutcome stopped = DriftwatchCli::Wait(Stop(), std::chrono::seconds(60));
  EXPECT_EQ(stopped.exit_code, 0) << stopped.err;
  EXPECT_THAT(stopped.err, HasSubstr("service.stopped"));
}

// The whole exposition (the drift families and the service's own queue,
// worker, scheduler and reload families) is valid for Prometheus' parser and
// linter.
TEST_F(ServeCommand, ServedExpositionPassesPromtoolCheckMetrics) {
  ASSERT_THAT(metrics_, HasSubstr("# TYPE driftwatch_jobs gauge"));
  ASSERT_THAT(metrics_, HasSubstr("# TYPE driftwatch_worker_jobs_total counter"));
  auto result = testing::RunCommand({"promtool", "check", "metrics"}, metrics_, dir_.path());
  EXPECT_EQ(result.exit_code, 0) << result.output << "\n" << metrics_;
}

// A real Prometheus on loopback scrapes the real process: the target is up
// and the drift series and the service's own families are queryable.
TEST_F(ServeCommand, PrometheusScrapesServeAndQueriesItsDriftSeries) {
  testing::Prometheus prometheus(dir_.path(),
                                 "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
                                 "scrape_configs:\n  - job_name: driftwatch\n    static_configs:\n"
                                 "      - targets: ['127.0.0.1:" +
                                     std::to_string(port_) + "']\n");
  ASSERT_TRUE(prometheus.ready()) << prometheus.log();

  auto single_value = [&](const std::string& expr) -> std::optional<std::string> {
    nlohmann::json result = prometheus.Query(expr);
    if (!result.is_array() || result.size() != 1) return std::nullopt;
    return result[0]["value"][1].get<std::string>();
  };
  // The value `expr` settles on within a minute (scrapes are 1 s apart;
  // the queue counts on /metrics are refreshed every 5 s).
  auto eventually = [&](const std::string& expr, const std::string& want) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < deadline && single_value(expr) != want)
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    return single_value(expr);
  };
  ASSERT_EQ(eventually(R"(up{job="driftwatch"})", "1"), "1") << prometheus.log();

  nlohmann::json verdict =
      prometheus.Query(R"(driftwatch_verdict{job="driftwatch", golden_set="faq", target="faq-bot", metric="pass_rate",)"
                       R"( slice="all"} == 1)");
  ASSERT_TRUE(verdict.is_array());
  ASSERT_EQ(verdict.size(), 1u) << verdict.dump();
  EXPECT_THAT(verdict[0]["metric"].value("verdict", ""), ::testing::MatchesRegex("[a-z_]+"));
  EXPECT_EQ(verdict[0]["metric"].value("instance", ""), "127.0.0.1:" + std::to_string(port_));
  EXPECT_EQ(single_value(R"(driftwatch_worker_jobs_total{job="driftwatch", event="done"})"), "2");
  EXPECT_EQ(single_value(R"(driftwatch_last_run_success{golden_set="faq", target="faq-bot-next"})"), "1");
  EXPECT_EQ(eventually(R"(driftwatch_jobs{job="driftwatch", state="done"})", "2"), "2");
}

}  // namespace
}  // namespace dw
