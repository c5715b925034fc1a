// End-to-end: the real driftwatch binary against a real PostgreSQL database.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "support/temp_dir.h"
#include "support/test_database.h"

namespace dw {
namespace {

using ::testing::HasSubstr;

struct Cli {
  testing::TempDir dir;
  std::string url;

  explicit Cli(const std::string& database_url, int latency_ms) : url(database_url) {
    dir.WriteFile("driftwatch.yaml",
                  "targets:\n  bot:\n    provider: sim\n    prompt: \"{{question}}\"\n    concurrency: 4\n"
                  "    sim: {accuracy: 0.9, latency_ms: " +
                      std::to_string(latency_ms) + ", seed: 3}\n");
    std::string cases = "name: gs\ncases:\n";
    for (int i = 0; i < 120; ++i)
      cases += "  - id: c" + std::to_string(i) + "\n    vars: {question: q" + std::to_string(i) +
               ", expected: a" + std::to_string(i) + "}\n    assert: [{type: icontains, value: \"{{expected}}\"}]\n";
    dir.WriteFile("gs.yaml", cases);
  }

  // Runs driftwatch with `args`; returns the exit code, output in `out`.
  int Run(const std::string& args, std::string* out = nullptr) const {
    std::string cmd = "cd " + dir.path().string() + " && DRIFTWATCH_DATABASE_URL='" + url + "' " + DRIFTWATCH_EXE +
                      " " + args + " > out.txt 2>&1";
    int status = std::system(cmd.c_str());
    if (out) *out = testing::ReadFile(dir.path() / "out.txt");
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

  // Starts driftwatch in the background; returns its pid.
  pid_t Start(const std::vector<std::string>& args) const {
    pid_t pid = fork();
    if (pid == 0) {
      if (chdir(dir.path().c_str()) != 0) _exit(126);
      setenv("DRIFTWATCH_DATABASE_URL", url.c_str(), 1);
      freopen("/dev/null", "w", stdout);
      freopen("/dev/null", "w", stderr);
      std::vector<char*> argv;
      argv.push_back(const_cast<char*>(DRIFTWATCH_EXE));
      for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      execv(DRIFTWATCH_EXE, argv.data());
      _exit(127);
    }
    return pid;
  }
};

TEST(RunCommand, ReplaysStoresAndReportsEveryCaseTimesRepeat) {
  testing::TestDatabase tdb;
  Cli cli(tdb.url(), 0);
  std::string out;
  ASSERT_EQ(cli.Run("goldenset publish gs.yaml", &out), 0) << out;
  ASSERT_EQ(cli.Run("run -g gs -t bot -r 2 --format json -q", &out), 0) << out;
  EXPECT_THAT(out, HasSubstr("\"results\": 240"));
  EXPECT_EQ(tdb.Query("SELECT count(*) FROM run.result"), "240");
  EXPECT_EQ(tdb.Query("SELECT status FROM run.run"), "done");
  std::string run_id = tdb.Query("SELECT id FROM run.run");
  ASSERT_EQ(cli.Run("report " + run_id.substr(0, 8) + " --format junit", &out), 0) << out;
  EXPECT_THAT(out, HasSubstr("<testsuite name=\"gs@1 on bot\" tests=\"240\""));
}

TEST(RunCommand, ANewRunsSummaryCountsExactlyTheResultsItStored) {
  testing::TestDatabase tdb;
  Cli cli(tdb.url(), 0);
  std::string out;
  ASSERT_EQ(cli.Run("goldenset publish gs.yaml", &out), 0) << out;
  ASSERT_EQ(cli.Run("run -g gs -t bot -r 2 --format json -q", &out), 0) << out;
  std::string passed = tdb.Query("SELECT count(*) FROM run.result WHERE outcome = 'pass'");
  std::string failed = tdb.Query("SELECT count(*) FROM run.result WHERE outcome = 'fail'");
  ASSERT_NE(failed, "0") << "the sim target at accuracy 0.9 should fail some cases";
  EXPECT_EQ(tdb.Query("SELECT summary->>'results' FROM run.run"), "240");
  EXPECT_EQ(tdb.Query("SELECT summary->>'passed' FROM run.run"), passed);
  EXPECT_EQ(tdb.Query("SELECT summary->>'failed' FROM run.run"), failed);
  EXPECT_THAT(out, HasSubstr("\"passed\": " + passed + ","));
}

TEST(RunCommand, ResumeAfterSigkillFinishesWithNoLostAndNoDuplicatedResults) {
  testing::TestDatabase tdb;
  Cli cli(tdb.url(), 40);
  std::string out;
  ASSERT_EQ(cli.Run("goldenset publish gs.yaml", &out), 0) << out;
  pid_t pid = cli.Start({"run", "-g", "gs", "-t", "bot", "-r", "2", "-q"});
  ASSERT_GT(pid, 0);
  // Wait (bounded) until some results are committed, then kill without warning.
  int stored = 0;
  for (int i = 0; i < 300 && stored < 20; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    stored = std::atoi(tdb.Query("SELECT count(*) FROM run.result").c_str());
  }
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  ASSERT_GE(stored, 20);
  int before = std::atoi(tdb.Query("SELECT count(*) FROM run.result").c_str());
  ASSERT_LT(before, 240) << "the run finished before it could be killed";
  EXPECT_EQ(tdb.Query("SELECT status FROM run.run"), "running");
  std::string run_id = tdb.Query("SELECT id FROM run.run");
  ASSERT_EQ(cli.Run("run --resume " + run_id + " -q --format json", &out), 0) << out;
  EXPECT_EQ(tdb.Query("SELECT count(*) FROM run.result"), "240");
  EXPECT_EQ(tdb.Query("SELECT count(DISTINCT (case_id, repeat)) FROM run.result"), "240");
  EXPECT_EQ(tdb.Query("SELECT status FROM run.run"), "done");
  EXPECT_EQ(tdb.Query("SELECT count(*) FROM audit.event WHERE action = 'run.resume'"), "1");
  // The summary covers the results of both sessions, not only the resumed one.
  EXPECT_EQ(tdb.Query("SELECT summary->>'results' FROM run.run"), "240");
  EXPECT_THAT(out, HasSubstr("\"results\": 240"));
}

TEST(RunCommand, UnknownTargetIsBadInputListingTheTargets) {
  testing::TestDatabase tdb;
  Cli cli(tdb.url(), 0);
  std::string out;
  ASSERT_EQ(cli.Run("goldenset publish gs.yaml", &out), 0) << out;
  EXPECT_EQ(cli.Run("run -g gs -t nope", &out), 2);
  EXPECT_THAT(out, HasSubstr("unknown target 'nope'"));
  EXPECT_THAT(out, HasSubstr("defined targets: bot"));
  EXPECT_EQ(tdb.Query("SELECT count(*) FROM run.run"), "0");
}

TEST(GoldensetCommand, UnsupportedPromptfooAssertionIsRefusedWithTheSupportedList) {
  testing::TestDatabase tdb;
  Cli cli(tdb.url(), 0);
  cli.dir.WriteFile("pf.yaml", "tests:\n  - vars: {q: a}\n    assert: [{type: javascript, value: 'output.length > 3'}]\n");
  std::string out;
  EXPECT_EQ(cli.Run("goldenset publish pf.yaml", &out), 2);
  EXPECT_THAT(out, HasSubstr("javascript"));
  EXPECT_THAT(out, HasSubstr("icontains"));
  EXPECT_THAT(out, HasSubstr("nothing was published"));
  EXPECT_EQ(tdb.Query("SELECT count(*) FROM core.golden_set_version"), "0");
}

TEST(CompareCommand, DriftedTargetIsACriticalRegressionWithExitCodeOne) {
  testing::TestDatabase tdb;
  Cli cli(tdb.url(), 0);
  cli.dir.WriteFile("driftwatch.yaml",
                    "targets:\n  bot:\n    provider: sim\n    prompt: \"{{question}}\"\n    sim: {accuracy: 0.95}\n"
                    "  worse:\n    provider: sim\n    prompt: \"{{question}}\"\n    sim: {accuracy: 0.6}\n");
  std::string out;
  ASSERT_EQ(cli.Run("goldenset publish gs.yaml", &out), 0) << out;
  ASSERT_EQ(cli.Run("run -g gs -t bot -q", &out), 0) << out;
  ASSERT_EQ(cli.Run("run -g gs -t worse -q", &out), 0) << out;
  std::string base = tdb.Query("SELECT r.id FROM run.run r JOIN core.target_version t ON t.id = r.target_version_id "
                               "WHERE t.name = 'bot'");
  std::string cand = tdb.Query("SELECT r.id FROM run.run r JOIN core.target_version t ON t.id = r.target_version_id "
                               "WHERE t.name = 'worse'");
  EXPECT_EQ(cli.Run("compare --baseline " + base + " --candidate " + cand + " --format json", &out), 1) << out;
  EXPECT_THAT(out, HasSubstr("\"verdict\": \"regressed\""));
  EXPECT_EQ(tdb.Query("SELECT severity FROM run.comparison"), "critical");
  EXPECT_EQ(tdb.Query("SELECT n FROM run.comparison_row WHERE metric = 'pass_rate' AND slice = 'all'"), "120");
  EXPECT_EQ(tdb.Query("SELECT p_value < 0.01 FROM run.comparison_row WHERE metric = 'pass_rate' AND slice = 'all'"),
            "t");
}

}  // namespace
}  // namespace dw
