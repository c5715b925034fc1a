// Ctrl-C during `driftwatch run`, end to end: the real binary on a real
// PostgreSQL database is interrupted mid-run, ends `cancelled` with exit
// code 3 keeping what it stored, and `run --resume` completes it.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>

#include "support/cli_process.h"
#include "support/temp_dir.h"
#include "support/test_database.h"

namespace dw {
namespace {

using ::testing::HasSubstr;

constexpr int kCases = 120;
constexpr int kRepeats = 2;

// A slow simulated target (40 ms a call, 4 at a time: about 2.4 s for the
// whole run) so that the run is still going when it is interrupted.
void WriteWorkspace(const testing::TempDir& dir) {
  dir.WriteFile("driftwatch.yaml",
                "targets:\n  bot:\n    provider: sim\n    prompt: \"{{question}}\"\n    concurrency: 4\n"
                "    sim: {accuracy: 0.9, latency_ms: 40, seed: 3}\n");
  std::string cases = "name: gs\ncases:\n";
  for (int i = 0; i < kCases; ++i)
    cases += "  - id: c" + std::to_string(i) + "\n    vars: {question: q" + std::to_string(i) + ", expected: a" +
             std::to_string(i) + "}\n    assert: [{type: icontains, value: \"{{expected}}\"}]\n";
  dir.WriteFile("gs.yaml", cases);
}

int StoredResults(const testing::TestDatabase& tdb) {
  return std::atoi(tdb.Query("SELECT count(*) FROM run.result").c_str());
}

// A digest of the stored rows committed at or before `until`.
std::string Digest(const testing::TestDatabase& tdb, const std::string& until) {
  return tdb.Query(
      "SELECT count(*) || ':' || md5(string_agg(case_id || '/' || repeat || '/' || outcome || '/' || "
      "coalesce(response_id, '') || '/' || coalesce(output, ''), ',' ORDER BY case_id, repeat)) "
      "FROM run.result WHERE created_at <= '" +
      until + "'");
}

TEST(RunInterrupt, SigintEndsTheRunCancelledWithExitCode3AndResumeCompletesItOnce) {
  testing::TestDatabase tdb;
  testing::TempDir dir;
  WriteWorkspace(dir);
  testing::DriftwatchCli cli(dir.path(), tdb.url());
  auto published = cli.Run({"goldenset", "publish", "gs.yaml"});
  ASSERT_EQ(published.exit_code, 0) << published.err;

  auto process = cli.Start({"run", "-g", "gs", "-t", "bot", "-r", std::to_string(kRepeats)});
  int stored = 0;
  for (int i = 0; i < 400 && stored < 20; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
    stored = StoredResults(tdb);
  }
  ASSERT_GE(stored, 20) << "the run never stored results";
  ASSERT_EQ(kill(process.pid, SIGINT), 0);
  auto cancelled = testing::DriftwatchCli::Wait(process, std::chrono::seconds(30));

  ASSERT_TRUE(cancelled.exited()) << "signal " << cancelled.signal << (cancelled.timed_out ? " (timed out)" : "");
  EXPECT_EQ(cancelled.exit_code, 3) << cancelled.err;  // README "Exit codes": 3 = run cancelled
  const std::string run_id = tdb.Query("SELECT id FROM run.run");
  EXPECT_EQ(tdb.Query("SELECT status FROM run.run"), "cancelled");
  const int kept = StoredResults(tdb);
  ASSERT_GE(kept, stored) << "results committed before the interrupt were lost";
  ASSERT_LT(kept, kCases * kRepeats) << "the run finished before it could be interrupted";
  EXPECT_EQ(tdb.Query("SELECT summary->>'results' FROM run.run"), std::to_string(kept));
  EXPECT_THAT(cancelled.err,
              HasSubstr("run " + run_id.substr(0, 8) + " cancelled (interrupted): the " + std::to_string(kept) +
                        " results stored so far are kept; finish it with: "
                        "driftwatch run --resume " +
                        run_id.substr(0, 8)));
  EXPECT_THAT(cancelled.out, HasSubstr(run_id + " (cancelled"));
  const std::string committed_until = tdb.Query("SELECT max(created_at) FROM run.result");
  const std::string before = Digest(tdb, committed_until);

  auto resumed = cli.Run({"run", "--resume", run_id.substr(0, 8), "-q", "--format", "json"});
  ASSERT_EQ(resumed.exit_code, 0) << resumed.err;
  EXPECT_EQ(tdb.Query("SELECT status FROM run.run"), "done");
  EXPECT_EQ(StoredResults(tdb), kCases * kRepeats);
  EXPECT_EQ(tdb.Query("SELECT count(DISTINCT (case_id, repeat)) FROM run.result"), std::to_string(kCases * kRepeats));
  EXPECT_EQ(tdb.Query("SELECT count(*) FROM run.result WHERE repeat NOT BETWEEN 0 AND " + std::to_string(kRepeats - 1)),
            "0");
  // The rows stored before the interrupt are untouched by the resume.
  EXPECT_EQ(Digest(tdb, committed_until), before);
  EXPECT_EQ(tdb.Query("SELECT summary->>'results' FROM run.run"), std::to_string(kCases * kRepeats));
  EXPECT_THAT(resumed.out, HasSubstr("\"status\": \"done\""));
}

}  // namespace
}  // namespace dw
