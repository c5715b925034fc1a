// SIGKILL in the middle of a replay against a real HTTP model server, then
// `run --resume`: nothing lost, nothing stored twice, and no stored result
// is asked of the model again.
#include <gtest/gtest.h>
#include <signal.h>

#include <cstdlib>
#include <thread>

#include "reliability/reliability_support.h"
#include "support/cli_process.h"
#include "support/fault_server.h"
#include "support/temp_dir.h"
#include "support/test_database.h"

namespace dw::testing {
namespace {

constexpr int kCases = 100;
constexpr int kRepeats = 2;

TEST(CrashResume, SigkillThenResumeStoresEachResultOnceAndCallsOnlyWhatWasMissing) {
  setenv(kReliabilityKeyEnv, kReliabilityKey, 1);
  FaultRule slow;  // every answer takes 60 ms: the run lasts seconds
  slow.fault = Fault::kHang;
  slow.delay = std::chrono::milliseconds(60);
  FaultServer server({slow});
  TestDatabase db;
  TempDir dir;
  dir.WriteFile("driftwatch.yaml",
                "targets:\n" + ChatTargetYaml("chat", server.BaseUrl(), "    concurrency: 4\n    timeout_ms: 5000\n"));
  std::vector<std::pair<std::string, std::string>> cases;
  for (int i = 0; i < kCases; ++i) cases.emplace_back("c" + std::to_string(i), "question " + std::to_string(i));
  dir.WriteFile("gs.yaml", GoldenSetYaml("gs", cases));
  DriftwatchCli cli(dir.path(), db.url());
  ASSERT_EQ(cli.Run({"goldenset", "publish", "gs.yaml"}).exit_code, 0);

  CliProcess run = cli.Start({"run", "-g", "gs", "-t", "chat", "-r", std::to_string(kRepeats), "-q"});
  long long stored = 0;
  for (int i = 0; i < 400 && stored < 30; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
    stored = QueryInt(db, "SELECT count(*) FROM run.result");
  }
  kill(run.pid, SIGKILL);
  CliOutcome killed = DriftwatchCli::Wait(run);
  ASSERT_EQ(killed.signal, SIGKILL);
  const long long before = QueryInt(db, "SELECT count(*) FROM run.result");
  ASSERT_GE(before, 30);
  ASSERT_LT(before, kCases * kRepeats) << "the run finished before it could be killed";
  EXPECT_EQ(db.Query("SELECT status FROM run.run"), "running");
  const int requests_before = server.requests();

  std::string run_id = db.Query("SELECT id FROM run.run");
  CliOutcome resumed = cli.Run({"run", "--resume", run_id, "-q", "--format", "json"});
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_EQ(QueryInt(db, "SELECT count(*) FROM run.result"), kCases * kRepeats);
  EXPECT_EQ(QueryInt(db, "SELECT count(DISTINCT (case_id, repeat)) FROM run.result"), kCases * kRepeats);
  EXPECT_EQ(QueryInt(db, "SELECT count(*) FROM run.result WHERE outcome <> 'pass' OR attempts <> 1"), 0);
  EXPECT_EQ(db.Query("SELECT status FROM run.run"), "done");
  // Calls in flight at the kill were never stored, so they are asked again;
  // stored results are not.
  EXPECT_EQ(server.requests() - requests_before, kCases * kRepeats - before);
}

}  // namespace
}  // namespace dw::testing
