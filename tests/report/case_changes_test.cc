// Which cases got worse, and what each side answered.
#include "report/case_changes.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace dw::report {
namespace {

ReplayResult Result(const std::string& id, int repeat, Outcome outcome, const std::string& output = "") {
  ReplayResult r;
  r.case_id = id;
  r.repeat = repeat;
  r.outcome = outcome;
  r.output = output.empty() ? id + "#" + std::to_string(repeat) : output;
  r.score = outcome == Outcome::kPass ? 1.0 : 0.0;
  r.scores = {{"0:icontains", r.score, outcome == Outcome::kPass, 1.0, outcome == Outcome::kPass ? "" : "missing"}};
  return r;
}

TEST(CompareCases, ACaseRegressesWhenItsShareOfPassingRepeatsFalls) {
  auto changes = CompareCases({Result("a", 0, Outcome::kPass), Result("a", 1, Outcome::kPass)},
                              {Result("a", 0, Outcome::kPass), Result("a", 1, Outcome::kFail, "wrong")}, 10);
  ASSERT_EQ(changes.regressed.size(), 1u);
  const CaseChange& c = changes.regressed[0];
  EXPECT_EQ(c.case_id, "a");
  EXPECT_EQ(c.baseline.passed, 2);
  EXPECT_EQ(c.baseline.scored, 2);
  EXPECT_EQ(c.candidate.passed, 1);
  EXPECT_EQ(c.candidate.scored, 2);
  // The candidate side shows its failing repeat, with the failing check.
  EXPECT_EQ(c.candidate.repeat, 1);
  EXPECT_EQ(c.candidate.outcome, "fail");
  EXPECT_EQ(c.candidate.output, "wrong");
  ASSERT_EQ(c.candidate.scores.size(), 1u);
  EXPECT_EQ(c.candidate.scores[0].passed, false);
  EXPECT_EQ(c.candidate.scores[0].reason, "missing");
  EXPECT_EQ(c.baseline.outcome, "pass");
  EXPECT_EQ(changes.regressed_total, 1u);
  EXPECT_EQ(changes.compared, 1u);
}

TEST(CompareCases, InfrastructureFailuresCountOnNeitherSide) {
  auto changes = CompareCases(
      {Result("a", 0, Outcome::kPass), Result("b", 0, Outcome::kPass)},
      {Result("a", 0, Outcome::kTimeout), Result("b", 0, Outcome::kRateLimited), Result("b", 1, Outcome::kPass)}, 10);
  EXPECT_EQ(changes.regressed_total, 0u);
  EXPECT_EQ(changes.compared, 1u);  // "a" has no scored candidate repeat
}

TEST(CompareCases, RefusalsAreModelFailuresAndCountAsRegressions) {
  auto changes = CompareCases({Result("a", 0, Outcome::kPass)}, {Result("a", 0, Outcome::kRefusal)}, 10);
  ASSERT_EQ(changes.regressed.size(), 1u);
  EXPECT_EQ(changes.regressed[0].candidate.outcome, "refusal");
}

TEST(CompareCases, ImprovedCasesAreCountedButNotShown) {
  auto changes = CompareCases({Result("a", 0, Outcome::kFail), Result("b", 0, Outcome::kPass)},
                              {Result("a", 0, Outcome::kPass), Result("b", 0, Outcome::kPass)}, 10);
  EXPECT_EQ(changes.improved_total, 1u);
  EXPECT_EQ(changes.regressed_total, 0u);
  EXPECT_TRUE(changes.regressed.empty());
  EXPECT_EQ(changes.compared, 2u);
}

TEST(CompareCases, KeepsTheLargestDropsUpToTheLimitAndCountsAll) {
  std::vector<ReplayResult> before, after;
  for (const char* id : {"a", "b", "c", "d"}) {
    before.push_back(Result(id, 0, Outcome::kPass));
    before.push_back(Result(id, 1, Outcome::kPass));
  }
  after = {Result("a", 0, Outcome::kPass), Result("a", 1, Outcome::kFail),   // drop 1/2
           Result("b", 0, Outcome::kFail), Result("b", 1, Outcome::kFail),   // drop 1
           Result("c", 0, Outcome::kPass), Result("c", 1, Outcome::kFail),   // drop 1/2
           Result("d", 0, Outcome::kFail), Result("d", 1, Outcome::kFail)};  // drop 1
  auto changes = CompareCases(before, after, 3);
  EXPECT_EQ(changes.regressed_total, 4u);
  ASSERT_EQ(changes.regressed.size(), 3u);
  EXPECT_EQ(changes.regressed[0].case_id, "b");
  EXPECT_EQ(changes.regressed[1].case_id, "d");
  EXPECT_EQ(changes.regressed[2].case_id, "a");
}

TEST(CompareCases, CasesPresentOnOneSideOnlyAreNotCompared) {
  auto changes = CompareCases({Result("a", 0, Outcome::kPass)}, {Result("b", 0, Outcome::kFail)}, 10);
  EXPECT_EQ(changes.compared, 0u);
  EXPECT_EQ(changes.regressed_total, 0u);
}

}  // namespace
}  // namespace dw::report
