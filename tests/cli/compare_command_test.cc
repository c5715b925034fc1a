// End to end: `driftwatch compare` and the automatic baseline comparison of
// `driftwatch run`, through the real binary on a real PostgreSQL database:
// what may be compared (golden-set and scorer versions), what is stored
// (comparison rows, the CUSUM/EWMA drift series) and the exit codes.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "support/cli_process.h"
#include "support/temp_dir.h"
#include "support/test_database.h"

namespace dw {
namespace {

using testing::CliOutcome;
using ::testing::HasSubstr;

// A sim target at `accuracy` (same seed, so a lower accuracy flips exactly
// the harder cases: a planted drift), optionally with a judge target.
std::string Config(double accuracy, bool with_judge = false) {
  std::string text =
      "targets:\n  bot:\n    provider: sim\n    prompt: \"{{question}}\"\n    concurrency: 8\n"
      "    sim: {accuracy: " +
      std::to_string(accuracy) + ", latency_ms: 0, seed: 3}\n";
  if (with_judge)
    text +=
        "  judge:\n    provider: sim\n    prompt: \"{{user}}\"\n    sim: {accuracy: 1, latency_ms: 0, seed: 5}\n"
        "scorers:\n  judge: judge\n";
  return text;
}

// `count` cases c0.. answering a<i>; cases below `edited` ask a different
// question (a new golden-set version), every `group_size` consecutive cases
// share a group when group_size > 0, and the first `rubric` cases are graded
// by the judge.
std::string GoldenSet(int count, int edited = 0, int group_size = 0, int rubric = 0) {
  std::string text = "name: gs\ncases:\n";
  for (int i = 0; i < count; ++i) {
    std::string n = std::to_string(i);
    text +=
        "  - id: c" + n + "\n    vars: {question: " + (i < edited ? "new-q" : "q") + n + ", expected: a" + n + "}\n";
    if (group_size > 0) text += "    group: g" + std::to_string(i / group_size) + "\n";
    if (i < rubric)
      text += "    assert: [{type: llm-rubric, value: \"mentions a" + n + "\"}]\n";
    else
      text += "    assert: [{type: icontains, value: \"{{expected}}\"}]\n";
  }
  return text;
}

class CompareCommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(db_.url().empty());
    dir_.WriteFile("driftwatch.yaml", Config(0.9));
  }

  CliOutcome Cli(const std::vector<std::string>& args) const { return cli_.Run(args); }

  // Runs a command that must exit with `code`; fails the test otherwise.
  CliOutcome Expect(const std::vector<std::string>& args, int code) const {
    CliOutcome outcome = cli_.Run(args);
    std::string joined;
    for (const auto& a : args) joined += " " + a;
    EXPECT_EQ(outcome.exit_code, code) << "driftwatch" << joined << "\nstdout:\n"
                                       << outcome.out << "\nstderr:\n"
                                       << outcome.err;
    return outcome;
  }

  void Publish(const std::string& golden_set) {
    dir_.WriteFile("gs.yaml", golden_set);
    Expect({"goldenset", "publish", "gs.yaml", "-q"}, 0);
  }

  // A new run of `bot` on the latest golden-set version; returns its id.
  std::string Run(const std::vector<std::string>& extra = {}, int code = 0, CliOutcome* outcome = nullptr) {
    std::vector<std::string> args = {"run", "-g", "gs", "-t", "bot", "-q"};
    args.insert(args.end(), extra.begin(), extra.end());
    CliOutcome done = Expect(args, code);
    if (outcome) *outcome = done;
    return db_.Query("SELECT id FROM run.run ORDER BY created_at DESC LIMIT 1");
  }

  // Signs `run_id` off as the production baseline of bot (two approvers).
  // `waive`: a lead waives the failed policy gates first (a small golden set
  // cannot show non-inferiority against the previous baseline).
  void SignOff(const std::string& run_id, bool waive = false) {
    Expect({"review", "request", run_id, "--env", "production", "--as", "maria", "-q"}, 0);
    std::string review =
        db_.Query("SELECT id FROM gov.review WHERE run_id = '" + run_id + "' ORDER BY requested_at DESC LIMIT 1");
    ASSERT_FALSE(review.empty());
    if (waive) {
      ASSERT_EQ(db_.Exec("SELECT gov.change_app_role('admin', 'lead', 'release_manager', 'grant', 'on call')"), "");
      Expect({"review", "waive", review, "--reason", "re-baseline", "--expires", "7d", "--as", "lead", "-q"}, 0);
    }
    for (const char* reviewer : {"ana", "li"}) Expect({"review", "approve", review, "--as", reviewer, "-q"}, 0);
    ASSERT_EQ(db_.Query("SELECT status FROM gov.review WHERE id = '" + review + "'"), "approved");
  }

  double Number(const std::string& sql) const { return std::stod(db_.Query(sql)); }

  // The row of `metric` on the "all" slice of a comparison's JSON.
  static nlohmann::json Row(const nlohmann::json& comparison, const std::string& metric) {
    for (const auto& row : comparison.at("metrics"))
      if (row.value("metric", "") == metric && row.value("slice", "") == "all") return row;
    ADD_FAILURE() << "no " << metric << " row in " << comparison.dump();
    return nlohmann::json::object();
  }

  testing::TestDatabase db_;
  testing::TempDir dir_;
  testing::DriftwatchCli cli_{dir_.path(), db_.url()};
};

TEST_F(CompareCommandTest, RefusesRunsOfDifferentGoldenSetVersionsWithExitTwo) {
  Publish(GoldenSet(120));
  std::string first = Run();
  Publish(GoldenSet(120, 20));
  std::string second = Run();
  CliOutcome refused = Expect({"compare", "--baseline", first, "--candidate", second}, 2);
  EXPECT_THAT(refused.err, HasSubstr("different golden-set versions (gs@1 and @2)"));
  EXPECT_THAT(refused.err, HasSubstr("pass --common-cases to compare only cases whose content is unchanged"));
  EXPECT_EQ(db_.Query("SELECT count(*) FROM run.comparison"), "0");
}

TEST_F(CompareCommandTest, CommonCasesComparesOnlyTheUnchangedCasesAndSaysSo) {
  Publish(GoldenSet(120));
  std::string first = Run();
  Publish(GoldenSet(125, 20));  // 20 edited, 5 added: 100 unchanged
  std::string second = Run();
  CliOutcome compared =
      Expect({"compare", "--baseline", first, "--candidate", second, "--common-cases", "--format", "json"}, 0);
  auto j = nlohmann::json::parse(compared.out);
  EXPECT_EQ(Row(j, "pass_rate").value("n", -1), 100);
  EXPECT_EQ(j.value("common_cases_only", false), true);
  EXPECT_THAT(j.value("note", ""), HasSubstr("compared only the 100 cases unchanged between gs@1 and @2"));
  EXPECT_EQ(db_.Query("SELECT common_cases_only FROM run.comparison"), "t");
  EXPECT_EQ(db_.Query("SELECT n FROM run.comparison_row WHERE metric = 'pass_rate' AND slice = 'all'"), "100");
  CliOutcome table = Expect({"compare", "--baseline", first, "--candidate", second, "--common-cases"}, 0);
  EXPECT_THAT(table.out, HasSubstr("note       compared only the 100 cases unchanged"));
}

TEST_F(CompareCommandTest, RefusesRunsScoredByDifferentEnginesEvenWithCommonCases) {
  Publish(GoldenSet(60));
  std::string first = Run();
  std::string second = Run();
  // The first run as an older build would have recorded it.
  ASSERT_EQ(db_.Exec("INSERT INTO core.scorer_version (name, version_hash, spec) VALUES ('driftwatch-assertions', "
                     "repeat('a', 64), '{\"engine\": \"driftwatch 0.0.1\"}'); "
                     "UPDATE run.run SET scorer_version_id = (SELECT id FROM core.scorer_version WHERE version_hash "
                     "= repeat('a', 64)) WHERE id = '" +
                     first + "'"),
            "");
  for (bool common : {false, true}) {
    std::vector<std::string> args = {"compare", "--baseline", first, "--candidate", second};
    if (common) args.push_back("--common-cases");
    CliOutcome refused = Expect(args, 2);
    EXPECT_THAT(refused.err, HasSubstr("scored by different scorer versions (baseline: engine driftwatch 0.0.1"));
  }
  EXPECT_EQ(db_.Query("SELECT count(*) FROM run.comparison"), "0");
}

TEST_F(CompareCommandTest, ReviewOfARunScoredByAnotherEngineThanTheBaselineNeedsAWaiver) {
  Publish(GoldenSet(60));
  std::string first = Run();
  SignOff(first);
  std::string second = Run({"--no-compare"});
  ASSERT_EQ(db_.Exec("INSERT INTO core.scorer_version (name, version_hash, spec) VALUES ('driftwatch-assertions', "
                     "repeat('b', 64), '{\"engine\": \"driftwatch 0.0.1\"}'); "
                     "UPDATE run.run SET scorer_version_id = (SELECT id FROM core.scorer_version WHERE version_hash "
                     "= repeat('b', 64)) WHERE id = '" +
                     first + "'"),
            "");
  CliOutcome requested = Expect({"review", "request", second, "--env", "production", "--as", "maria"}, 0);
  EXPECT_THAT(requested.out, HasSubstr("a policy gate FAILS: approval needs a waiver"));
  EXPECT_THAT(db_.Query("SELECT comparison::jsonb->>'not_compared' FROM gov.review WHERE run_id = '" + second + "'"),
              HasSubstr("scored by different scorer versions"));
  EXPECT_EQ(db_.Query("SELECT count(*) FROM run.comparison WHERE candidate_run_id = '" + second + "'"), "0");
}

TEST_F(CompareCommandTest, ADifferentJudgeRefusesTheJudgedCasesUnlessCommonCasesLeavesThemOut) {
  Publish(GoldenSet(100, 0, 0, 10));
  std::string first = Run();
  dir_.WriteFile("driftwatch.yaml", Config(0.9, /*with_judge=*/true));
  std::string second = Run();
  CliOutcome refused = Expect({"compare", "--baseline", first, "--candidate", second}, 2);
  EXPECT_THAT(refused.err, HasSubstr("scored with a different judge"));
  EXPECT_THAT(refused.err, HasSubstr("10 cases are graded by it. Pass --common-cases to compare only the 90 cases"));
  CliOutcome compared =
      Expect({"compare", "--baseline", first, "--candidate", second, "--common-cases", "--format", "json"}, 0);
  auto j = nlohmann::json::parse(compared.out);
  EXPECT_EQ(Row(j, "pass_rate").value("n", -1), 90);
  EXPECT_THAT(j.value("note", ""), HasSubstr("compared only the 90 cases not graded by the judge"));
}

TEST_F(CompareCommandTest, AJudgeNoCaseUsesDoesNotPreventTheComparison) {
  Publish(GoldenSet(60));
  std::string first = Run();
  dir_.WriteFile("driftwatch.yaml", Config(0.9, /*with_judge=*/true));
  std::string second = Run();
  CliOutcome compared = Expect({"compare", "--baseline", first, "--candidate", second, "--format", "json"}, 0);
  auto j = nlohmann::json::parse(compared.out);
  EXPECT_EQ(Row(j, "pass_rate").value("n", -1), 60);
  EXPECT_THAT(j.value("note", ""), HasSubstr("differ only in the judge, which none of the compared cases uses"));
}

TEST_F(CompareCommandTest, RunSkipsTheBaselineComparisonAcrossGoldenSetVersionsUnlessAsked) {
  Publish(GoldenSet(120));
  SignOff(Run());
  Publish(GoldenSet(120, 20));
  CliOutcome plain;
  std::string skipped = Run({}, 0, &plain);
  EXPECT_THAT(plain.out, HasSubstr("not compared: baseline is gs@1, this run is gs@2; pass --common-cases to compare "
                                   "the unchanged cases"));
  EXPECT_EQ(db_.Query("SELECT status FROM run.run WHERE id = '" + skipped + "'"), "done");
  EXPECT_EQ(db_.Query("SELECT count(*) FROM run.comparison"), "0");
  EXPECT_EQ(db_.Query("SELECT count(*) FROM run.drift_point WHERE run_id = '" + skipped + "'"), "0");

  CliOutcome common;
  Run({"--common-cases", "--format", "json"}, 0, &common);
  auto j = nlohmann::json::parse(common.out);
  ASSERT_TRUE(j.contains("comparison")) << common.out;
  EXPECT_EQ(Row(j["comparison"], "pass_rate").value("n", -1), 100);
  EXPECT_THAT(j["comparison"].value("note", ""), HasSubstr("compared only the 100 cases unchanged"));
  EXPECT_FALSE(j.contains("not_compared"));
}

TEST_F(CompareCommandTest, RunExitsOneOnACriticalRegressionAgainstItsBaseline) {
  Publish(GoldenSet(200));
  std::string baseline = Run();
  SignOff(baseline);
  dir_.WriteFile("driftwatch.yaml", Config(0.6));  // the same target, drifted
  CliOutcome drifted;
  std::string candidate = Run({"--format", "json"}, 1, &drifted);
  auto j = nlohmann::json::parse(drifted.out);
  EXPECT_EQ(j.value("verdict", ""), "regressed");
  EXPECT_EQ(j["comparison"].value("severity", ""), "critical");
  EXPECT_EQ(j["comparison"].value("baseline_run_id", ""), baseline);
  EXPECT_EQ(
      db_.Query("SELECT verdict || '/' || severity FROM run.comparison WHERE candidate_run_id = '" + candidate + "'"),
      "regressed/critical");
}

TEST_F(CompareCommandTest, DriftSeriesIsUpdatedPerRunAndResetWithAHeadStartOnANewBaseline) {
  Publish(GoldenSet(120));
  std::string a = Run({"-r", "2"});
  SignOff(a);
  std::string b = Run({"-r", "2"});
  std::string c = Run({"-r", "2"});
  auto point = [&](const std::string& run, const std::string& expr) {
    return Number("SELECT " + expr + " FROM run.drift_point WHERE metric = 'pass_rate' AND run_id = '" + run + "'");
  };
  auto level = [&](const std::string& run) {  // mean over cases of the per-case pass fraction
    return Number("SELECT avg(p) FROM (SELECT avg((outcome = 'pass')::int) AS p FROM run.result WHERE run_id = '" +
                  run + "' GROUP BY case_id) t");
  };
  const double k = 0.5, head_start = 2.5;  // DetectorConfig defaults: k, h/2
  // b: the first point after the baseline, from the FIR head start.
  EXPECT_EQ(
      db_.Query("SELECT baseline_run_id FROM run.drift_point WHERE metric = 'pass_rate' AND run_id = '" + b + "'"), a);
  EXPECT_EQ(point(b, "(state->>'runs')::int"), 1);
  EXPECT_NEAR(point(b, "(state->>'mu0')::float8"), level(a), 1e-9);
  EXPECT_NEAR(point(b, "value"), level(b), 1e-9);
  const double zb = point(b, "(state->>'z')::float8");
  EXPECT_NEAR(point(b, "cusum_upper"), std::max(0.0, head_start + zb - k), 1e-9);
  EXPECT_NEAR(point(b, "cusum_lower"), std::max(0.0, head_start - zb - k), 1e-9);
  // c continues b's series.
  EXPECT_EQ(point(c, "(state->>'runs')::int"), 2);
  const double zc = point(c, "(state->>'z')::float8");
  EXPECT_NEAR(point(c, "cusum_upper"), std::max(0.0, point(b, "cusum_upper") + zc - k), 1e-9);
  EXPECT_NEAR(point(c, "cusum_lower"), std::max(0.0, point(b, "cusum_lower") - zc - k), 1e-9);
  // A new baseline resets the series, again from the head start.
  SignOff(c, /*waive=*/true);
  std::string d = Run({"-r", "2"});
  EXPECT_EQ(
      db_.Query("SELECT baseline_run_id FROM run.drift_point WHERE metric = 'pass_rate' AND run_id = '" + d + "'"), c);
  EXPECT_EQ(point(d, "(state->>'runs')::int"), 1);
  EXPECT_NEAR(point(d, "(state->>'mu0')::float8"), level(c), 1e-9);
  const double zd = point(d, "(state->>'z')::float8");
  EXPECT_NEAR(point(d, "cusum_upper"), std::max(0.0, head_start + zd - k), 1e-9);
  EXPECT_NEAR(point(d, "cusum_lower"), std::max(0.0, head_start - zd - k), 1e-9);
  EXPECT_EQ(db_.Query("SELECT count(*) FROM run.drift_point WHERE metric = 'pass_rate'"), "3");
}

TEST_F(CompareCommandTest, CasesSharingAGroupAreComparedWithTheClusterBootstrapAndItIsStored) {
  Publish(GoldenSet(120, 0, 3));  // 40 groups of 3
  std::string first = Run();
  std::string second = Run();
  CliOutcome compared = Cli({"compare", "--baseline", first, "--candidate", second, "--format", "json"});
  ASSERT_TRUE(compared.exit_code == 0 || compared.exit_code == 1) << compared.err;
  auto j = nlohmann::json::parse(compared.out);
  EXPECT_EQ(j.value("clustered", false), true);
  EXPECT_EQ(j.value("groups", 0), 40);
  nlohmann::json row = Row(j, "pass_rate");
  EXPECT_EQ(row.value("clusters", 0), 40);
  EXPECT_EQ(row["ci_method"].value("name", ""), "bca_bootstrap");
  EXPECT_EQ(row["ci_method"]["params"].value("clustered", false), true);
  EXPECT_EQ(row["test"].value("name", ""), "signflip_permutation");
  EXPECT_EQ(db_.Query("SELECT ci_method || '/' || clustered || '/' || clusters FROM run.comparison_row "
                      "WHERE metric = 'pass_rate' AND slice = 'all'"),
            "bca_bootstrap/true/40");
}

TEST_F(CompareCommandTest, CasesWithoutGroupsAreComparedCaseByCase) {
  Publish(GoldenSet(120));
  std::string first = Run();
  std::string second = Run();
  CliOutcome compared = Expect({"compare", "--baseline", first, "--candidate", second, "--format", "json"}, 0);
  auto j = nlohmann::json::parse(compared.out);
  EXPECT_EQ(j.value("clustered", true), false);
  nlohmann::json row = Row(j, "pass_rate");
  EXPECT_EQ(row.value("clusters", 0), 120);
  EXPECT_THAT(row["test"].value("name", ""), HasSubstr("mcnemar"));
  EXPECT_EQ(db_.Query("SELECT clustered || '/' || clusters FROM run.comparison_row WHERE metric = 'pass_rate' AND "
                      "slice = 'all'"),
            "false/120");
}

}  // namespace
}  // namespace dw
