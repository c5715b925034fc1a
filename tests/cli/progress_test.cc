// The progress display of `driftwatch run`, end to end: a bar redrawn with
// \r on a terminal (a pseudo-terminal here), plain periodic lines otherwise.
#include <fcntl.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "support/cli_process.h"
#include "support/temp_dir.h"
#include "support/test_database.h"

extern char** environ;

namespace dw {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr int kCases = 120;

void WriteWorkspace(const testing::TempDir& dir, int latency_ms) {
  dir.WriteFile("driftwatch.yaml",
                "targets:\n  bot:\n    provider: sim\n    prompt: \"{{question}}\"\n    concurrency: 4\n"
                "    sim: {accuracy: 0.8, latency_ms: " +
                    std::to_string(latency_ms) + ", seed: 3}\n");
  std::string cases = "name: gs\ncases:\n";
  for (int i = 0; i < kCases; ++i)
    cases += "  - id: c" + std::to_string(i) + "\n    vars: {question: q" + std::to_string(i) + ", expected: a" +
             std::to_string(i) + "}\n    assert: [{type: icontains, value: \"{{expected}}\"}]\n";
  dir.WriteFile("gs.yaml", cases);
}

struct TerminalRun {
  int exit_code = -1;
  std::string output;  // everything written to the terminal
};

// Runs driftwatch with stdin, stdout and stderr on a new pseudo-terminal and
// collects what it wrote; killed after 60 s.
TerminalRun RunOnTerminal(const std::filesystem::path& dir, const std::string& database_url,
                          const std::vector<std::string>& args) {
  // Inherited DRIFTWATCH_* settings (e.g. a progress interval) are cleared
  // so the defaults are what is tested.
  testing::DriftwatchCli cli(dir, database_url);
  for (char** e = environ; *e != nullptr; ++e) {
    std::string_view entry(*e);
    if (entry.rfind("DRIFTWATCH_", 0) == 0 && entry.rfind("DRIFTWATCH_DATABASE_URL=", 0) != 0)
      cli.UnsetEnv(std::string(entry.substr(0, entry.find('='))));
  }
  const auto exec = cli.ExecFor(args);
  const std::string cwd = dir.string();

  TerminalRun run;
  int master = -1;
  struct winsize size {};
  size.ws_col = 120;
  size.ws_row = 40;
  pid_t pid = forkpty(&master, nullptr, nullptr, &size);
  if (pid < 0) {
    ADD_FAILURE() << "forkpty failed";
    return run;
  }
  if (pid == 0) {
    if (chdir(cwd.c_str()) != 0) _exit(126);
    execve(exec->argv()[0], exec->argv(), exec->envp());
    _exit(127);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  char buffer[4096];
  while (std::chrono::steady_clock::now() < deadline) {
    struct pollfd pfd {
      master, POLLIN, 0
    };
    if (poll(&pfd, 1, 100) <= 0) continue;
    ssize_t n = read(master, buffer, sizeof buffer);
    if (n <= 0) break;  // EIO once the child closed the terminal
    run.output.append(buffer, static_cast<size_t>(n));
  }
  int status = 0;
  pid_t waited = 0;
  while ((waited = waitpid(pid, &status, WNOHANG)) == 0 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  if (waited == 0) {
    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
    ADD_FAILURE() << "driftwatch did not finish on the terminal in time";
  }
  close(master);
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

class RunProgress : public ::testing::Test {
 protected:
  void Publish() {
    testing::DriftwatchCli cli(dir_.path(), tdb_.url());
    auto published = cli.Run({"goldenset", "publish", "gs.yaml"});
    ASSERT_EQ(published.exit_code, 0) << published.err;
  }
  std::string FailedResults() const { return tdb_.Query("SELECT count(*) FROM run.result WHERE outcome = 'fail'"); }

  testing::TestDatabase tdb_;
  testing::TempDir dir_;
};

TEST_F(RunProgress, OnATerminalABarIsRedrawnInPlaceWithCountsRateEtaAndFailures) {
  WriteWorkspace(dir_, 40);  // about 1.2 s: several redraws at 4 a second
  ASSERT_NO_FATAL_FAILURE(Publish());
  TerminalRun run = RunOnTerminal(dir_.path(), tdb_.url(), {"run", "-g", "gs", "-t", "bot", "--no-compare"});
  ASSERT_EQ(run.exit_code, 0) << run.output;

  const std::regex bar(R"(\r\[([#.]{30})\] (\d+)/120  (\d+)/s  ETA (\d+s|-)  fail (\d+)  errors (\d+)  \$0\.0000)");
  std::vector<std::smatch> draws;
  for (auto it = std::sregex_iterator(run.output.begin(), run.output.end(), bar); it != std::sregex_iterator(); ++it)
    draws.push_back(*it);
  ASSERT_GE(draws.size(), 3u) << run.output;
  int previous = -1;
  for (const auto& d : draws) {
    int done = std::stoi(d[2]);
    EXPECT_GE(done, previous) << "the count went backwards";
    previous = done;
  }
  EXPECT_LT(std::stoi(draws.front()[2]), kCases) << "the first draw should show the run in progress";
  EXPECT_NE(draws.front()[4], "0s");
  const auto& last = draws.back();
  EXPECT_EQ(last[1], std::string(30, '#'));
  EXPECT_EQ(last[2], std::to_string(kCases));
  EXPECT_GT(std::stoi(last[3]), 0);
  EXPECT_EQ(last[4], "0s");
  EXPECT_EQ(last[5], FailedResults());
  EXPECT_NE(last[5], "0") << "the sim target at accuracy 0.8 should fail some cases";
  EXPECT_EQ(last[6], "0");
  EXPECT_THAT(run.output, Not(HasSubstr("progress ")));
  EXPECT_THAT(run.output, Not(HasSubstr("\x1b")));
  // The bar's line is ended before the summary.
  EXPECT_THAT(run.output, HasSubstr("$0.0000   \r\nrun "));
  EXPECT_THAT(run.output, HasSubstr("pass rate"));
}

TEST_F(RunProgress, WithoutATerminalPlainLinesArePrintedAtTheConfiguredInterval) {
  WriteWorkspace(dir_, 50);  // about 1.5 s
  ASSERT_NO_FATAL_FAILURE(Publish());
  testing::DriftwatchCli cli(dir_.path(), tdb_.url());
  cli.SetEnv("DRIFTWATCH_PROGRESS_INTERVAL", "0.25");
  const auto started = std::chrono::steady_clock::now();
  auto run = cli.Run({"run", "-g", "gs", "-t", "bot", "--no-compare"});
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.err, Not(HasSubstr("\r")));
  EXPECT_THAT(run.err, Not(HasSubstr("\x1b")));
  const std::regex line(R"(progress (\d+)/120  (\d+)/s  ETA (\d+s|-)  fail (\d+)  errors (\d+)  \$0\.0000)");
  std::vector<std::smatch> matches;
  std::vector<std::string> lines = Lines(run.err);
  for (const auto& l : lines) {
    std::smatch m;
    ASSERT_TRUE(std::regex_match(l, m, line)) << "unexpected line on stderr: " << l;
    matches.push_back(m);
  }
  ASSERT_GE(matches.size(), 3u) << run.err;
  EXPECT_LE(static_cast<double>(matches.size()), wall / 0.25 + 2) << "more than one line per 0.25 s: " << run.err;
  EXPECT_LT(std::stoi(matches.front()[1]), kCases);
  EXPECT_EQ(matches.back()[1], std::to_string(kCases));
  EXPECT_EQ(matches.back()[3], "0s");
  EXPECT_EQ(matches.back()[4], FailedResults());
  EXPECT_THAT(run.out, HasSubstr("pass rate"));
}

TEST_F(RunProgress, WithoutATerminalTheDefaultIntervalKeepsAShortRunToOneLine) {
  WriteWorkspace(dir_, 0);
  ASSERT_NO_FATAL_FAILURE(Publish());
  testing::DriftwatchCli cli(dir_.path(), tdb_.url());
  auto run = cli.Run({"run", "-g", "gs", "-t", "bot", "--no-compare"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  std::vector<std::string> lines = Lines(run.err);
  ASSERT_EQ(lines.size(), 1u) << run.err;
  EXPECT_THAT(lines[0], ::testing::StartsWith("progress 120/120  "));
}

TEST_F(RunProgress, QuietShowsNoProgress) {
  WriteWorkspace(dir_, 0);
  ASSERT_NO_FATAL_FAILURE(Publish());
  TerminalRun run = RunOnTerminal(dir_.path(), tdb_.url(), {"run", "-g", "gs", "-t", "bot", "--no-compare", "-q"});
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_THAT(run.output, Not(HasSubstr("\r[")));
  EXPECT_THAT(run.output, HasSubstr("pass rate"));
}

TEST_F(RunProgress, AnInvalidIntervalIsBadInputBeforeAnyRunStarts) {
  WriteWorkspace(dir_, 0);
  ASSERT_NO_FATAL_FAILURE(Publish());
  testing::DriftwatchCli cli(dir_.path(), tdb_.url());
  cli.SetEnv("DRIFTWATCH_PROGRESS_INTERVAL", "soon");
  auto run = cli.Run({"run", "-g", "gs", "-t", "bot"});
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_THAT(run.err, HasSubstr("DRIFTWATCH_PROGRESS_INTERVAL must be a number of seconds > 0 (got 'soon')"));
  EXPECT_EQ(tdb_.Query("SELECT count(*) FROM run.run"), "0");
}

// The README's main command: the demo's replays show the bar on a terminal,
// and the summary of the main replay follows it.
TEST(DemoProgress, OnATerminalEachReplayShowsTheBarAndTheMainReplayItsSummary) {
  testing::TestDatabase tdb;
  testing::TempDir dir;
  TerminalRun demo = RunOnTerminal(DRIFTWATCH_SOURCE_DIR, tdb.url(), {"demo", "--dir", dir.path().string()});
  ASSERT_EQ(demo.exit_code, 0) << demo.output;
  const std::string total = "400";  // 200 cases x 2 repeats
  const std::string finished = "\r[" + std::string(30, '#') + "] " + total + "/" + total + "  ";
  size_t bars = 0;
  for (size_t at = demo.output.find(finished); at != std::string::npos; at = demo.output.find(finished, at + 1)) ++bars;
  EXPECT_EQ(bars, 3u) << "baseline, re-run and drifted version: " << demo.output;
  size_t step2 = demo.output.find("== 2. Replay it");
  ASSERT_NE(step2, std::string::npos) << demo.output;
  size_t bar = demo.output.find(finished, step2);
  size_t summary = demo.output.find("pass rate", step2);
  ASSERT_NE(bar, std::string::npos);
  ASSERT_NE(summary, std::string::npos);
  EXPECT_LT(bar, summary);
  EXPECT_LT(summary, demo.output.find("== 3."));
  EXPECT_THAT(demo.output.substr(summary), ::testing::ContainsRegex("latency +p50 [0-9.]+ ms, p95"));
  EXPECT_THAT(demo.output, Not(HasSubstr("progress ")));
}

}  // namespace
}  // namespace dw
