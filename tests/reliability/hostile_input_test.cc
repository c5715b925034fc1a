// Hostile input end to end (docs/reliability.md, "Hostile input"): a regex
// assertion that would backtrack catastrophically, and SQL metacharacters in
// every free text a user controls, through the real binary and PostgreSQL.
#include <chrono>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/cli_process.h"
#include "support/temp_dir.h"
#include "support/test_database.h"

namespace dw::testing {
namespace {

using ::testing::HasSubstr;

// `^(a+)+$` on "aaa…ab" takes time exponential in the length of the answer
// in a backtracking engine (PCRE, std::regex); RE2 is linear. The answer is
// 200,000 'a's and a 'b', produced by an exec target.
TEST(HostileInput, ACatastrophicBacktrackingRegexIsScoredInLinearTime) {
  TestDatabase tdb;
  TempDir dir;
  DriftwatchCli cli(dir.path(), tdb.url());
  dir.WriteFile("driftwatch.yaml",
                "targets:\n  shell:\n    provider: exec\n    prompt: \"{{question}}\"\n"
                "    exec: {command: [sh, -c, \"cat > /dev/null; head -c 200000 /dev/zero | tr '\\\\000' a; "
                "printf b\"]}\n");
  dir.WriteFile("gs.yaml",
                "name: redos\ncases:\n  - id: evil\n    vars: {question: q}\n"
                "    assert: [{type: regex, value: \"^(a+)+$\"}]\n");
  ASSERT_EQ(cli.Run({"goldenset", "publish", "gs.yaml"}).exit_code, 0);

  auto started = std::chrono::steady_clock::now();
  CliOutcome run = cli.Run({"run", "-g", "redos", "-t", "shell", "-q", "--format", "json"}, std::chrono::seconds(60));
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  ASSERT_TRUE(run.exited()) << (run.timed_out ? "timed out" : "killed");
  EXPECT_EQ(run.exit_code, 0) << run.err;
  EXPECT_LT(seconds, 30.0);
  EXPECT_EQ(tdb.Query("SELECT outcome || ':' || length(output) FROM run.result"), "fail:200001");
}

// Each text is stored and shown exactly as given and changes nothing else:
// every statement that carries user text binds it as a parameter.
TEST(HostileInput, SqlMetacharactersInUserTextAreStoredVerbatimAndExecuteNothing) {
  TestDatabase tdb;
  TempDir dir;
  DriftwatchCli cli(dir.path(), tdb.url());
  const std::string question = "Robert'); DROP TABLE run.result; --";
  const std::string user = "o'brien\"; DELETE FROM audit.event; --";
  const std::string note = "'; UPDATE gov.review SET status = 'approved'; --";
  dir.WriteFile("driftwatch.yaml",
                "targets:\n  bot:\n    provider: sim\n    prompt: \"{{question}}\"\n    sim: {accuracy: 1}\n");
  dir.WriteFile("gs.yaml", "name: gs\ncases:\n  - id: c1\n    vars: {question: " + nlohmann::json(question).dump() +
                               "}\n    assert: [{type: contains, value: \"DROP TABLE\"}]\n");
  CliOutcome published = cli.Run({"goldenset", "publish", "gs.yaml", "--as", user});
  ASSERT_EQ(published.exit_code, 0) << published.err;
  CliOutcome run = cli.Run({"run", "-g", "gs", "-t", "bot", "-q", "--format", "json", "--as", user});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  std::string run_id = nlohmann::json::parse(run.out, nullptr, false).value("run_id", "");
  // Governance principals are restricted to names (letters, digits, _ . @ + -).
  CliOutcome request = cli.Run({"review", "request", run_id, "--note", note, "--as", "maria"});
  ASSERT_EQ(request.exit_code, 0) << request.err;

  EXPECT_EQ(tdb.Query("SELECT body->'vars'->>'question' FROM core.golden_set_case"), question);
  EXPECT_EQ(tdb.Query("SELECT requested_by FROM run.run"), user);
  EXPECT_EQ(tdb.Query("SELECT count(*) FROM run.result"), "1");
  EXPECT_EQ(tdb.Query("SELECT note || '|' || status FROM gov.review"), note + "|open");
  EXPECT_EQ(tdb.Query("SELECT actor FROM audit.event WHERE action = 'goldenset.publish'"), user);
  CliOutcome verify = cli.Run({"audit", "verify"});
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  EXPECT_THAT(verify.out, HasSubstr("audit chain OK"));
}

}  // namespace
}  // namespace dw::testing
