// A second Ctrl-C during `driftwatch run`, end to end: the first SIGINT
// waits for the calls in flight, which here hang on the model server for a
// minute; the second one ends the process within seconds with exit code 3,
// the run recorded `cancelled` with what it had committed, and `run
// --resume` then completes the run with each case x repeat stored once.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>

#include "support/cli_process.h"
#include "support/fault_server.h"
#include "support/temp_dir.h"
#include "support/test_database.h"

namespace dw {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr int kFastCases = 20;
constexpr int kSlowCases = 20;
constexpr int kRepeats = 2;
constexpr int kConcurrency = 4;
constexpr int kCalls = (kFastCases + kSlowCases) * kRepeats;

int QueryInt(const testing::TestDatabase& tdb, const std::string& sql) { return std::atoi(tdb.Query(sql).c_str()); }

// True while `pid` is a live process (not a zombie waiting to be reaped).
bool Running(pid_t pid) {
  std::string stat = testing::ReadFile("/proc/" + std::to_string(pid) + "/stat");
  auto paren = stat.rfind(')');
  return paren != std::string::npos && paren + 2 < stat.size() && stat[paren + 2] != 'Z';
}

// A digest of the stored rows committed at or before `until`.
std::string Digest(const testing::TestDatabase& tdb, const std::string& until) {
  return tdb.Query(
      "SELECT count(*) || ':' || md5(string_agg(case_id || '/' || repeat || '/' || outcome || '/' || "
      "coalesce(output, ''), ',' ORDER BY case_id, repeat)) FROM run.result WHERE created_at <= '" +
      until + "'");
}

TEST(RunInterruptAgain, SecondSigintExitsPromptlyWithoutWaitingForCallsInFlightAndResumeCompletesOnce) {
  // The first kConcurrency calls of "slow" cases hang for a minute; every
  // other call (including slow cases asked again by the resume) is answered
  // at once.
  testing::FaultRule hang;
  hang.marker = "slow";
  hang.fault = testing::Fault::kHang;
  hang.times = kConcurrency;
  hang.delay = std::chrono::seconds(60);
  testing::FaultServer server({hang});
  testing::TestDatabase tdb;
  testing::TempDir dir;
  dir.WriteFile("driftwatch.yaml", "targets:\n  chat:\n    provider: openai-chat\n    base_url: " + server.BaseUrl() +
                                       "\n    model: gpt-test\n    api_key_env: DW_INTERRUPT_KEY\n"
                                       "    prompt: \"{{question}}\"\n    concurrency: " +
                                       std::to_string(kConcurrency) +
                                       "\n    timeout_ms: 120000\n    retries: {max_attempts: 1}\n");
  std::string cases = "name: gs\ncases:\n";
  for (int i = 0; i < kFastCases + kSlowCases; ++i)
    cases += "  - id: c" + std::to_string(100 + i) + "\n    vars: {question: \"" + (i < kFastCases ? "fast" : "slow") +
             " question " + std::to_string(i) + "\"}\n    assert: [{type: icontains, value: ok}]\n";
  dir.WriteFile("gs.yaml", cases);
  testing::DriftwatchCli cli(dir.path(), tdb.url());
  cli.SetEnv("DW_INTERRUPT_KEY", "sk-test");
  ASSERT_EQ(cli.Run({"goldenset", "publish", "gs.yaml"}).exit_code, 0);

  auto process = cli.Start({"run", "-g", "gs", "-t", "chat", "-r", std::to_string(kRepeats)});
  // Wait until every slot holds a hanging call and every answered call is committed.
  int answered = -1, stored = 0;
  for (int i = 0; i < 600; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
    answered = server.requests() - static_cast<int>(server.RequestsContaining("slow").size());
    stored = QueryInt(tdb, "SELECT count(*) FROM run.result");
    if (server.RequestsContaining("slow").size() == kConcurrency && stored == answered && stored > 0) break;
  }
  ASSERT_EQ(server.RequestsContaining("slow").size(), static_cast<size_t>(kConcurrency));
  ASSERT_EQ(stored, answered) << "answered calls were not committed";
  const std::string run_id = tdb.Query("SELECT id FROM run.run");

  ASSERT_EQ(kill(process.pid, SIGINT), 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(700));
  ASSERT_TRUE(Running(process.pid)) << "the first SIGINT did not wait for the calls in flight";
  const auto second = std::chrono::steady_clock::now();
  ASSERT_EQ(kill(process.pid, SIGINT), 0);
  auto ended = testing::DriftwatchCli::Wait(process, std::chrono::seconds(30));
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - second).count();

  ASSERT_TRUE(ended.exited()) << "signal " << ended.signal << (ended.timed_out ? " (timed out)" : "");
  EXPECT_LT(seconds, 5.0) << "the second SIGINT did not end the run promptly";
  EXPECT_EQ(ended.exit_code, 3) << ended.err;  // README "Exit codes": 3 = run cancelled
  EXPECT_THAT(ended.err,
              HasSubstr("interrupted again: exiting now; resume with driftwatch run --resume " + run_id.substr(0, 8)));
  EXPECT_THAT(ended.err, Not(HasSubstr("cancelled (interrupted)")));  // it did not finish the first way
  EXPECT_EQ(tdb.Query("SELECT status FROM run.run"), "cancelled");
  EXPECT_EQ(QueryInt(tdb, "SELECT count(*) FROM run.result"), stored);  // kept; the hanging calls stored nothing
  EXPECT_EQ(tdb.Query("SELECT summary->>'results' FROM run.run"), std::to_string(stored));
  const std::string committed_until = tdb.Query("SELECT max(created_at) FROM run.result");
  const std::string before = Digest(tdb, committed_until);
  const int requests_before = server.requests();

  auto resumed = cli.Run({"run", "--resume", run_id.substr(0, 8), "-q", "--format", "json"});
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_EQ(tdb.Query("SELECT status FROM run.run"), "done");
  EXPECT_EQ(QueryInt(tdb, "SELECT count(*) FROM run.result"), kCalls);
  EXPECT_EQ(QueryInt(tdb, "SELECT count(DISTINCT (case_id, repeat)) FROM run.result"), kCalls);
  EXPECT_EQ(QueryInt(tdb, "SELECT count(*) FROM run.result WHERE outcome <> 'pass'"), 0);
  // Only what was missing was asked again, each once.
  EXPECT_EQ(server.requests() - requests_before, kCalls - stored);
  // The rows stored before the interrupt are untouched by the resume.
  EXPECT_EQ(Digest(tdb, committed_until), before);
}

}  // namespace
}  // namespace dw
