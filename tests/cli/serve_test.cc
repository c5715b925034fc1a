// `driftwatch serve` as a process, end to end: after the demo has signed off
// a baseline, a manual fire of the demo's schedule is executed by the
// service's workers (real replays on the simulated model, compared with the
// baseline), the drift metrics appear on the service's own /metrics, and
// SIGTERM stops it cleanly.
#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <regex>
#include <string>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "support/cli_process.h"
#include "support/temp_dir.h"
#include "support/test_database.h"

namespace dw {
namespace {

using ::testing::ContainsRegex;
using ::testing::HasSubstr;
using testing::CliOutcome;
using testing::CliProcess;
using testing::DriftwatchCli;

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

// GET http://127.0.0.1:PORT/metrics with curl into `dir`; empty on failure.
std::string ScrapeMetrics(const testing::TempDir& dir, int port) {
  const std::string file = (dir.path() / "metrics.txt").string();
  std::string cmd = "curl -sf --max-time 5 -o " + file + " http://127.0.0.1:" + std::to_string(port) + "/metrics";
  if (std::system(cmd.c_str()) != 0) return "";
  return testing::ReadFile(file);
}

TEST(ServeCommand, RunsAFiredScheduleAndServesItsDriftMetricsUntilSigterm) {
  testing::TestDatabase tdb;
  testing::TempDir dir;
  DriftwatchCli cli(dir.path(), tdb.url());
  const std::string demo_dir = (dir.path() / "demo").string();
  CliOutcome demo = cli.Run(
      {"demo", "--goldenset", std::string(DRIFTWATCH_SOURCE_DIR) + "/config/examples/faq.yaml", "--dir", demo_dir});
  ASSERT_EQ(demo.exit_code, 0) << demo.err;
  const std::string config = demo_dir + "/driftwatch.yaml";

  CliOutcome fired = cli.Run({"schedule", "fire", "faq-every-5-minutes", "--config", config});
  ASSERT_EQ(fired.exit_code, 0) << fired.out << fired.err;

  CliProcess serve = cli.Start(
      {"serve", "--config", config, "--listen", "127.0.0.1:0", "--no-scheduler", "--workers", "2", "--no-watch"});
  const int port = WaitForHttpPort(serve, std::chrono::seconds(30));
  ASSERT_GT(port, 0) << testing::ReadFile(serve.err_path);

  // Both jobs of the fire (faq-bot and faq-bot-next, two repeats each) run;
  // faq-bot's run is compared with its signed-off baseline.
  const std::regex kVerdict(
      "driftwatch_verdict\\{golden_set=\"faq\",target=\"faq-bot\",metric=\"pass_rate\",slice=\"all\","
      "verdict=\"[a-z_]+\"\\} 1");
  std::string metrics;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (std::chrono::steady_clock::now() < deadline) {
    metrics = ScrapeMetrics(dir, port);
    if (std::regex_search(metrics, kVerdict) &&
        metrics.find("driftwatch_worker_jobs_total{event=\"done\"} 2") != std::string::npos)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  EXPECT_TRUE(std::regex_search(metrics, kVerdict)) << metrics;
  EXPECT_THAT(metrics, HasSubstr("driftwatch_worker_jobs_total{event=\"done\"} 2"));
  EXPECT_THAT(metrics, ContainsRegex("driftwatch_last_run_success\\{golden_set=\"faq\",target=\"faq-bot-next\"\\} 1"));
  EXPECT_THAT(metrics, ContainsRegex("driftwatch_cases_replayed_total\\{golden_set=\"faq\",target=\"faq-bot\"\\} [1-9]"));
  EXPECT_THAT(metrics, ContainsRegex("driftwatch_build_info\\{version=\"[0-9.]+\""));

  ASSERT_EQ(::kill(serve.pid, SIGTERM), 0);
  CliOutcome stopped = DriftwatchCli::Wait(serve, std::chrono::seconds(60));
  EXPECT_EQ(stopped.exit_code, 0) << stopped.err;
  EXPECT_THAT(stopped.err, HasSubstr("service.stopped"));
}

}  // namespace
}  // namespace dw
