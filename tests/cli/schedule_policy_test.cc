// A schedule's own `policy`, `budget_usd` and `concurrency`, end to end: a
// manual fire executed by `driftwatch serve --once` on a real PostgreSQL
// produces a run carrying the schedule's settings, compared (with the
// demo's signed-off baseline) under the schedule's policy, or stopped by the
// schedule's budget.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "support/cli_process.h"
#include "support/temp_dir.h"
#include "support/test_database.h"

namespace dw {
namespace {

using testing::CliOutcome;
using testing::DriftwatchCli;
using ::testing::HasSubstr;

// `text` with its only occurrence of `from` replaced by `to`.
std::string ReplaceOnce(std::string text, const std::string& from, const std::string& to) {
  auto at = text.find(from);
  EXPECT_NE(at, std::string::npos) << "'" << from << "' not found in:\n" << text;
  if (at != std::string::npos) text.replace(at, from.size(), to);
  return text;
}

// Fires `schedule` and has one `serve --once` process (no HTTP, no
// scheduler) execute its jobs.
void FireAndServeOnce(const DriftwatchCli& cli, const std::string& config, const std::string& schedule) {
  CliOutcome fired = cli.Run({"schedule", "fire", schedule, "--config", config});
  ASSERT_EQ(fired.exit_code, 0) << fired.out << fired.err;
  CliOutcome served =
      cli.Run({"serve", "--config", config, "--once", "--no-http", "--no-scheduler", "--workers", "2", "--no-watch"});
  ASSERT_EQ(served.exit_code, 0) << served.err;
}

TEST(SchedulePolicy, AFiredJobIsComparedUnderTheSchedulesPolicyAndTheComparisonRecordsIt) {
  testing::TestDatabase tdb;
  testing::TempDir dir;
  DriftwatchCli cli(dir.path(), tdb.url());
  const std::string demo_dir = (dir.path() / "demo").string();
  CliOutcome demo = cli.Run(
      {"demo", "--goldenset", std::string(DRIFTWATCH_SOURCE_DIR) + "/config/examples/faq.yaml", "--dir", demo_dir});
  ASSERT_EQ(demo.exit_code, 0) << demo.err;
  // The demo's config, with a "strict" policy that the schedule names.
  std::string config = testing::ReadFile(demo_dir + "/driftwatch.yaml");
  config = ReplaceOnce(config, "    repeat: 2\n", "    repeat: 2\n    policy: strict\n");
  config =
      ReplaceOnce(config, "policies:\n", "policies:\n  strict: {alpha: 0.001, delta_min: 0.07, ni_margin: 0.03}\n");
  dir.WriteFile("strict.yaml", config);

  FireAndServeOnce(cli, "strict.yaml", "faq-every-5-minutes");

  const std::string scheduled_faq_bot =
      "SELECT r.id FROM run.run r JOIN core.target_version t ON t.id = r.target_version_id "
      "WHERE r.schedule_name = 'faq-every-5-minutes' AND t.name = 'faq-bot'";
  EXPECT_EQ(tdb.Query("SELECT settings->>'policy' FROM run.run WHERE id = (" + scheduled_faq_bot + ")"), "strict");
  ASSERT_EQ(tdb.Query("SELECT count(*) FROM run.comparison WHERE candidate_run_id = (" + scheduled_faq_bot + ")"), "1")
      << "the scheduled faq-bot run was not compared with its baseline";
  EXPECT_EQ(tdb.Query("SELECT policy->>'name' || ' ' || (policy->>'alpha')::float8 || ' ' || "
                      "(policy->>'delta_min')::float8 || ' ' || (policy->>'ni_margin')::float8 "
                      "FROM run.comparison WHERE candidate_run_id = (" +
                      scheduled_faq_bot + ")"),
            "strict 0.001 0.07 0.03");
  // The stored comparison document carries the same policy.
  EXPECT_EQ(tdb.Query("SELECT result->'policy'->>'name' || ' ' || (result->'policy'->>'delta_min')::float8 "
                      "FROM run.comparison WHERE candidate_run_id = (" +
                      scheduled_faq_bot + ")"),
            "strict 0.07");
}

TEST(SchedulePolicy, AComparisonWithoutASchedulePolicyUsesTheGoldenSetsPolicy) {
  testing::TestDatabase tdb;
  testing::TempDir dir;
  DriftwatchCli cli(dir.path(), tdb.url());
  const std::string demo_dir = (dir.path() / "demo").string();
  CliOutcome demo = cli.Run(
      {"demo", "--goldenset", std::string(DRIFTWATCH_SOURCE_DIR) + "/config/examples/faq.yaml", "--dir", demo_dir});
  ASSERT_EQ(demo.exit_code, 0) << demo.err;
  // The demo compared its drifted run under the golden set's policy
  // ("default", with the statistics defaults), recorded under the set's name.
  EXPECT_EQ(tdb.Query("SELECT policy->>'name' || ' ' || (policy->>'alpha')::float8 || ' ' || "
                      "(policy->>'delta_min')::float8 FROM run.comparison ORDER BY id DESC LIMIT 1"),
            "faq 0.01 0.02");
}

// A sim target priced so that each call costs a few cents, a golden set of
// 40 cases, and a schedule of them with `schedule_extra` settings.
void WriteBudgetWorkspace(const testing::TempDir& dir, const std::string& schedule_extra) {
  dir.WriteFile("driftwatch.yaml",
                "targets:\n  bot:\n    provider: sim\n    prompt: \"{{question}} {{question}} {{question}}\"\n"
                "    concurrency: 8\n    price: {input_per_mtok: 10000, output_per_mtok: 10000}\n"
                "    sim: {accuracy: 0.9, seed: 5}\n"
                "schedules:\n  hourly:\n    cron: \"0 * * * *\"\n    goldenset: gs\n    targets: [bot]\n" +
                    schedule_extra);
  std::string cases = "name: gs\ncases:\n";
  for (int i = 0; i < 40; ++i)
    cases += "  - id: c" + std::to_string(i) + "\n    vars: {question: q" + std::to_string(i) + ", expected: a" +
             std::to_string(i) + "}\n    assert: [{type: icontains, value: \"{{expected}}\"}]\n";
  dir.WriteFile("gs.yaml", cases);
}

TEST(SchedulePolicy, TheSchedulesBudgetStopsItsRunAsBudgetExceeded) {
  testing::TestDatabase tdb;
  testing::TempDir dir;
  WriteBudgetWorkspace(dir, "    budget_usd: 0.001\n    concurrency: 2\n");
  DriftwatchCli cli(dir.path(), tdb.url());
  ASSERT_EQ(cli.Run({"goldenset", "publish", "gs.yaml"}).exit_code, 0);

  FireAndServeOnce(cli, "driftwatch.yaml", "hourly");

  EXPECT_EQ(tdb.Query("SELECT status FROM run.run"), "done");
  EXPECT_EQ(tdb.Query("SELECT (settings->>'budget_usd')::float8 || ' ' || (settings->>'concurrency') FROM run.run"),
            "0.001 2");
  EXPECT_EQ(tdb.Query("SELECT summary->>'budget_exhausted' FROM run.run"), "true");
  EXPECT_EQ(tdb.Query("SELECT count(*) FROM run.result"), "40");  // every case ends with one outcome
  const int exceeded = std::stoi(tdb.Query("SELECT count(*) FROM run.result WHERE outcome = 'budget_exceeded'"));
  EXPECT_GT(exceeded, 20) << "the budget of a few calls did not stop the run";
  EXPECT_LT(exceeded, 40) << "no call was made within the budget";
  EXPECT_EQ(tdb.Query("SELECT state FROM ops.job"), "done");
}

TEST(SchedulePolicy, WithoutAScheduleBudgetTheRunIsNotStopped) {
  testing::TestDatabase tdb;
  testing::TempDir dir;
  WriteBudgetWorkspace(dir, "");
  DriftwatchCli cli(dir.path(), tdb.url());
  ASSERT_EQ(cli.Run({"goldenset", "publish", "gs.yaml"}).exit_code, 0);

  FireAndServeOnce(cli, "driftwatch.yaml", "hourly");

  EXPECT_EQ(tdb.Query("SELECT summary->>'budget_exhausted' FROM run.run"), "false");
  EXPECT_EQ(tdb.Query("SELECT count(*) FROM run.result WHERE outcome = 'budget_exceeded'"), "0");
  EXPECT_EQ(tdb.Query("SELECT settings->>'concurrency' FROM run.run"), "8");
}

}  // namespace
}  // namespace dw
