// The README's main command, end to end: `driftwatch demo` on a real
// PostgreSQL database with the simulated model.
#include <sys/wait.h>

#include <cstdlib>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "support/temp_dir.h"
#include "support/test_database.h"

namespace dw {
namespace {

using ::testing::ContainsRegex;
using ::testing::HasSubstr;

struct DemoRun {
  int exit_code = -1;
  std::string output;
};

DemoRun RunDemo(const testing::TempDir& dir, const std::string& database_url) {
  std::string cmd = std::string("cd ") + DRIFTWATCH_SOURCE_DIR + " && DRIFTWATCH_DATABASE_URL='" + database_url +
                    "' " + DRIFTWATCH_EXE + " demo --dir " + dir.path().string() + " > " +
                    (dir.path() / "out.txt").string() + " 2>&1";
  int status = std::system(cmd.c_str());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, testing::ReadFile(dir.path() / "out.txt")};
}

TEST(DemoCommand, FlagsTheDriftedVersionAndExportsItsComparisonToPrometheus) {
  testing::TestDatabase tdb;
  testing::TempDir dir;
  DemoRun demo = RunDemo(dir, tdb.url());
  ASSERT_EQ(demo.exit_code, 0) << demo.output;
  EXPECT_THAT(demo.output, HasSubstr("audit verify: OK"));
  std::string prom = testing::ReadFile(dir.path() / "driftwatch.prom");
  EXPECT_THAT(prom, ContainsRegex("driftwatch_build_info\\{version=\"[0-9]+\\.[0-9]+\\.[0-9]+\",git_sha=\"[0-9a-f]{12}\"\\} 1"));
  EXPECT_THAT(prom, HasSubstr("driftwatch_verdict{golden_set=\"faq\",target=\"faq-bot-next\",metric=\"pass_rate\","
                              "slice=\"all\",verdict=\"regressed\"} 1"));
  EXPECT_THAT(prom, HasSubstr("driftwatch_severity{golden_set=\"faq\",target=\"faq-bot-next\",metric=\"pass_rate\","
                              "slice=\"all\",severity=\"critical\"} 1"));
  EXPECT_THAT(prom, HasSubstr("driftwatch_score_delta{golden_set=\"faq\",target=\"faq-bot-next\",metric=\"pass_rate\""));
}

// "Flagged" is what `run` exits 1 for and the demo reports: a critical
// regression. (A warning-level verdict on some secondary metric or slice is a
// Benjamini–Hochberg false discovery the policy allows at rate q; it pages
// nobody and is not asserted against.)
TEST(DemoCommand, LeavesTheNoDriftRerunUnflagged) {
  testing::TestDatabase tdb;
  testing::TempDir dir;
  DemoRun demo = RunDemo(dir, tdb.url());
  ASSERT_EQ(demo.exit_code, 0) << demo.output;
  const size_t step4 = demo.output.find("== 4. ");
  const size_t step5 = demo.output.find("== 5. ");
  ASSERT_NE(step4, std::string::npos) << demo.output;
  ASSERT_NE(step5, std::string::npos) << demo.output;
  const std::string rerun = demo.output.substr(step4, step5 - step4);
  EXPECT_THAT(rerun, ContainsRegex("compared with baseline run [0-9a-f]{8}: verdict [a-z_]+ \\(severity "
                                   "(none|info|warning)\\)"))
      << rerun;
  // The stored comparison of the faq-bot rerun (the only faq-bot comparison)
  // agrees, and the drifted faq-bot-next is the critical one.
  const std::string by_target =
      "SELECT c.severity FROM run.comparison c JOIN run.run r ON r.id = c.candidate_run_id "
      "JOIN core.target_version t ON t.id = r.target_version_id WHERE t.name = ";
  EXPECT_THAT(tdb.Query(by_target + "'faq-bot'"), ::testing::AnyOf("none", "info", "warning"));
  EXPECT_EQ(tdb.Query("SELECT count(*) FROM (" + by_target + "'faq-bot') s"), "1");
  EXPECT_EQ(tdb.Query(by_target + "'faq-bot-next'"), "critical");
  EXPECT_THAT(demo.output, HasSubstr("the unchanged re-run passed and the drifted version was flagged critical"));
}

TEST(DemoCommand, WritesTheServiceAndPrometheusConfigsOfTheStackItPrints) {
  testing::TestDatabase tdb;
  testing::TempDir dir;
  DemoRun demo = RunDemo(dir, tdb.url());
  ASSERT_EQ(demo.exit_code, 0) << demo.output;
  const std::string config = (dir.path() / "driftwatch.yaml").string();
  EXPECT_THAT(demo.output, HasSubstr("driftwatch serve --config " + config));
  EXPECT_THAT(demo.output, HasSubstr("prometheus --config.file=" + (dir.path() / "prometheus.yml").string()));
  std::string check = std::string(DRIFTWATCH_EXE) + " config check " + config + " > /dev/null 2>&1";
  EXPECT_EQ(std::system(check.c_str()), 0);
  std::string prometheus = testing::ReadFile(dir.path() / "prometheus.yml");
  EXPECT_THAT(prometheus, HasSubstr("targets: ['127.0.0.1:9464']"));
  EXPECT_THAT(prometheus, HasSubstr("/config/prometheus/driftwatch-*.yml"));
  EXPECT_THAT(testing::ReadFile(dir.path() / "evidence-faq-bot-next.html"), HasSubstr("faq-bot-next"));
}

TEST(DemoCommand, TwoApprovalsOtherThanTheRequesterMoveProductionToTheSignedOffRun) {
  testing::TestDatabase tdb;
  testing::TempDir dir;
  DemoRun demo = RunDemo(dir, tdb.url());
  ASSERT_EQ(demo.exit_code, 0) << demo.output;
  EXPECT_THAT(demo.output, HasSubstr("maria.engineer tries to approve her own request: refused"));
  EXPECT_THAT(demo.output, HasSubstr("ana.reviewer approved: review open (1/2)"));
  EXPECT_THAT(demo.output, HasSubstr("li.lead approved: review approved (2/2)"));
  EXPECT_THAT(demo.output, ContainsRegex("environment \\(production\\) → run [0-9a-f]{8} via review [0-9a-f]{8}, "
                                         "approved by ana.reviewer, li.lead"));
  EXPECT_EQ(tdb.Query("SELECT string_agg(reviewer || ':' || decision, ',' ORDER BY id) FROM gov.decision"),
            "ana.reviewer:approve,li.lead:approve");
  EXPECT_EQ(tdb.Query("SELECT requested_by || ':' || status FROM gov.review"), "maria.engineer:approved");
  // Production points at the first faq-bot run, the one the review approved.
  EXPECT_EQ(tdb.Query("SELECT p.run_id = r.run_id FROM gov.pointer_event p JOIN gov.review r ON r.id = p.review_id "
                      "WHERE p.pointer = 'environment' AND p.environment = 'production'"),
            "t");
  EXPECT_EQ(tdb.Query("SELECT p.run_id FROM gov.pointer_event p WHERE p.pointer = 'environment'"),
            tdb.Query("SELECT r.id FROM run.run r JOIN core.target_version t ON t.id = r.target_version_id "
                      "WHERE t.name = 'faq-bot' ORDER BY r.created_at LIMIT 1"));
}

}  // namespace
}  // namespace dw
