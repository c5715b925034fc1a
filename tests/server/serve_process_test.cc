// `driftwatch serve` as separate processes (forked, running the real command
// with the replay engine and the `sim` provider) against one database.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "http_test_client.h"
#include "sched/job_queue.h"
#include "server/tokens.h"
#include "server_fixture.h"
#include "support/temp_dir.h"
#include "support/test_database.h"

namespace dw::cli {
// Defined in src/cli/cmd_serve.cc.
int ServeCommand(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);
}  // namespace dw::cli

namespace dw::server {
namespace {

using std::chrono::milliseconds;
using ::testing::HasSubstr;
using testing::Request;

std::string ConfigYaml(const std::string& extra = "") {
  return R"(targets:
  sim:
    provider: sim
    prompt: "{{question}}"
    concurrency: 1
    sim:
      accuracy: 0.9
      latency_ms: 20
)" + extra;
}

bool WaitFor(const std::function<bool()>& condition, milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(milliseconds(25));
  }
  return condition();
}

long long Count(const dw::testing::TestDatabase& tdb, const std::string& sql) {
  std::string v = tdb.Query(sql);
  return v.empty() || v.rfind("ERROR", 0) == 0 ? -1 : std::stoll(v);
}

// A forked `driftwatch serve` whose stdout and stderr go to `log_path`.
pid_t StartServe(const std::vector<std::string>& args, const std::string& log_path) {
  std::cout.flush();
  std::cerr.flush();
  pid_t pid = fork();
  if (pid == 0) {
    int fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      dup2(fd, STDOUT_FILENO);
      dup2(fd, STDERR_FILENO);
      close(fd);
    }
    int code = dw::cli::ServeCommand(args, std::cout, std::cerr);
    std::cout.flush();
    std::cerr.flush();
    _exit(code);
  }
  return pid;
}

// Exit status, 128 + signal when killed, -1 when it had to be killed after
// `timeout`.
int WaitExit(pid_t pid, milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    int status = 0;
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (r < 0) return -1;
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return -1;
    }
    std::this_thread::sleep_for(milliseconds(10));
  }
}

std::vector<nlohmann::json> Events(const std::string& log_path, const std::string& event) {
  std::vector<nlohmann::json> found;
  std::ifstream in(log_path);
  for (std::string line; std::getline(in, line);) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_discarded() && j.is_object() && j.value("event", "") == event) found.push_back(j);
  }
  return found;
}

class ServeProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = tdb_.Connect();
    ASSERT_TRUE(db_);
    config_ = dir_.WriteFile("driftwatch.yaml", ConfigYaml()).string();
  }

  std::vector<std::string> ServeArgs(const std::vector<std::string>& extra) {
    std::vector<std::string> args = {"--config", config_, "--database-url", tdb_.url(), "--as", "serve-test"};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
  }

  sched::Job Enqueue(const std::string& goldenset, int repeats) {
    sched::JobSpec spec;
    spec.goldenset = goldenset;
    spec.target = "sim";
    spec.repeats = repeats;
    spec.requested_by = "tester";
    auto job = sched::EnqueueJob(*db_, spec, "tester");
    EXPECT_TRUE(job && *job);
    return job && *job ? **job : sched::Job{};
  }

  std::string LogPath(const std::string& name) { return (dir_.path() / (name + ".log")).string(); }

  dw::testing::TestDatabase tdb_;
  dw::testing::TempDir dir_;
  std::unique_ptr<store::Database> db_;
  std::string config_;
};

TEST_F(ServeProcessTest, AServeKilledMidRunHasItsRunFinishedByAnotherWithNoDuplicateOrMissingResult) {
  testing::PublishGoldenSet(*db_, "faq", 40);
  sched::Job job = Enqueue("faq@1", 2);
  const std::vector<std::string> worker = {"--workers", "1", "--no-scheduler", "--no-http", "--lease", "1"};
  pid_t first = StartServe(ServeArgs(worker), LogPath("first"));
  ASSERT_TRUE(WaitFor([&] { return Count(tdb_, "SELECT count(*) FROM run.result") >= 15; }, milliseconds(30000)))
      << dw::testing::ReadFile(LogPath("first"));
  kill(first, SIGKILL);
  EXPECT_EQ(WaitExit(first, milliseconds(5000)), 128 + SIGKILL);
  EXPECT_LT(Count(tdb_, "SELECT count(*) FROM run.result"), 80);

  pid_t second = StartServe(ServeArgs(worker), LogPath("second"));
  bool done = WaitFor([&] { return tdb_.Query("SELECT state FROM ops.job") == "done"; }, milliseconds(60000));
  kill(second, SIGTERM);
  EXPECT_EQ(WaitExit(second, milliseconds(20000)), 0);
  ASSERT_TRUE(done) << dw::testing::ReadFile(LogPath("second"));

  EXPECT_EQ(Count(tdb_, "SELECT count(*) FROM run.result"), 80);
  EXPECT_EQ(Count(tdb_, "SELECT count(DISTINCT (case_id, repeat)) FROM run.result"), 80);
  EXPECT_EQ(Count(tdb_, "SELECT count(*) FROM run.run"), 1);
  EXPECT_EQ(tdb_.Query("SELECT status FROM run.run"), "done");
  EXPECT_EQ(tdb_.Query("SELECT (summary->>'results') FROM run.run"), "80");
  EXPECT_EQ(tdb_.Query("SELECT trigger || ' ' || requested_by FROM run.run"), "api tester");
  EXPECT_EQ(tdb_.Query("SELECT string_agg(fence || ':' || outcome, ',' ORDER BY fence) FROM ops.job_attempt "
                       "WHERE job_id = " +
                       std::to_string(job.id)),
            "1:lease_expired,2:done");
}

TEST_F(ServeProcessTest, SigtermDrainsInFlightCallsAndHandsTheJobBack) {
  testing::PublishGoldenSet(*db_, "faq", 200);
  Enqueue("faq@1", 1);
  const std::string log = LogPath("drain");
  pid_t serve = StartServe(ServeArgs({"--workers", "1", "--no-scheduler", "--no-http", "--drain-timeout", "10"}), log);
  ASSERT_TRUE(WaitFor([&] { return Count(tdb_, "SELECT count(*) FROM run.result") >= 10; }, milliseconds(30000)))
      << dw::testing::ReadFile(log);
  auto signalled = std::chrono::steady_clock::now();
  kill(serve, SIGTERM);
  EXPECT_EQ(WaitExit(serve, milliseconds(15000)), 0);
  EXPECT_LT(std::chrono::steady_clock::now() - signalled, milliseconds(5000));

  EXPECT_EQ(tdb_.Query("SELECT state || ' ' || attempts || ' ' || coalesce(lease_owner, '-') FROM ops.job"),
            "queued 0 -");
  EXPECT_EQ(tdb_.Query("SELECT status FROM run.run"), "cancelled");
  const long long kept = Count(tdb_, "SELECT count(*) FROM run.result");
  EXPECT_GE(kept, 10);
  EXPECT_LT(kept, 200);
  ASSERT_EQ(Events(log, "service.stopped").size(), 1u);
  EXPECT_EQ(Events(log, "service.stopped")[0]["jobs_released"], 1);
  EXPECT_EQ(Events(log, "signal.received")[0]["signal"], "SIGTERM");
}

TEST_F(ServeProcessTest, TheApiTriggersARunAndSighupReloadsOrKeepsTheConfig) {
  testing::PublishGoldenSet(*db_, "faq", 5);
  auto token = CreateToken(*db_, "ci-bot", {Scope::kRead, Scope::kRun}, "tester");
  ASSERT_TRUE(token);
  const std::string log = LogPath("api");
  pid_t serve =
      StartServe(ServeArgs({"--workers", "1", "--listen", "127.0.0.1:0", "--scheduler-interval", "0.2"}), log);
  int port = 0;
  ASSERT_TRUE(WaitFor(
      [&] {
        auto started = Events(log, "service.started");
        if (started.empty()) return false;
        port = started[0]["http_port"].get<int>();
        return true;
      },
      milliseconds(30000)))
      << dw::testing::ReadFile(log);

  auto posted = Request(port, "POST", "/api/v1/runs", token->secret, R"({"goldenset":"faq","target":"sim"})");
  ASSERT_EQ(posted.status, 202) << posted.body;
  const std::string job = std::to_string(posted.json()["job"]["id"].get<long long>());
  std::string run_id;
  ASSERT_TRUE(WaitFor(
      [&] {
        auto j = Request(port, "GET", "/api/v1/jobs/" + job, token->secret).json();
        if (!j.contains("job") || j["job"]["state"] != "done") return false;
        run_id = j["job"]["run_id"];
        return true;
      },
      milliseconds(30000)));
  auto report = Request(port, "GET", "/api/v1/runs/" + run_id + "/report", token->secret);
  ASSERT_EQ(report.status, 200);
  EXPECT_EQ(report.json()["results_total"], 5);
  EXPECT_EQ(report.json()["run"]["requested_by"], "ci-bot");
  EXPECT_THAT(Request(port, "GET", "/metrics").body, HasSubstr("driftwatch_last_run_success{"));

  std::ofstream(config_, std::ios::trunc) << ConfigYaml(
      "schedules:\n  bad:\n    cron: \"61 * * * *\"\n"
      "    goldenset: faq\n    targets: [sim]\n");
  kill(serve, SIGHUP);
  ASSERT_TRUE(WaitFor([&] { return !Events(log, "config.reload_failed").empty(); }, milliseconds(10000)));
  auto ready = Request(port, "GET", "/readyz");
  EXPECT_EQ(ready.status, 200);
  EXPECT_THAT(ready.json()["service"]["last_reload_error"].get<std::string>(), HasSubstr("cron field 'minute'"));

  std::ofstream(config_, std::ios::trunc) << ConfigYaml(
      "schedules:\n  good:\n    cron: \"1 * * * *\"\n"
      "    goldenset: faq\n    targets: [sim]\n");
  kill(serve, SIGHUP);
  ASSERT_TRUE(WaitFor([&] { return !Events(log, "config.reloaded").empty(); }, milliseconds(10000)));
  EXPECT_EQ(Events(log, "config.reloaded").back()["schedules"], 1);

  kill(serve, SIGTERM);
  EXPECT_EQ(WaitExit(serve, milliseconds(20000)), 0);
}

}  // namespace
}  // namespace dw::server
