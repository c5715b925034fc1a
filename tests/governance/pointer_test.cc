// Baselines and environment pointers: they move only through approved
// reviews and keep their whole history.
#include "governance/pointers.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "gov_fixture.h"

namespace dw::governance::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

using PointerTest = GovernanceTest;

TEST_F(PointerTest, NothingPointsAnywhereBeforeTheFirstSignOff) {
  auto baseline = CurrentBaseline(*db_, "faq", "support-bot", "production");
  ASSERT_TRUE(baseline) << baseline.error().message;
  EXPECT_FALSE(baseline->has_value());
  auto version = CurrentTargetVersion(*db_, "support-bot", "production");
  ASSERT_TRUE(version);
  EXPECT_FALSE(version->has_value());
  auto history = TargetHistory(*db_, "support-bot");
  ASSERT_TRUE(history);
  EXPECT_TRUE(history->empty());
}

TEST_F(PointerTest, AnApprovedReviewMovesTheBaselineAndTheEnvironment) {
  std::string run = SignedOffBaseline("production");
  auto baseline = CurrentBaseline(*db_, "faq", "support-bot", "production");
  ASSERT_TRUE(baseline);
  EXPECT_EQ(*baseline, run);
  auto version = CurrentTargetVersion(*db_, "support-bot", "production");
  ASSERT_TRUE(version);
  EXPECT_EQ(*version, kTargetV1);
}

TEST_F(PointerTest, AnOpenReviewMovesNothing) {
  Review review = MustRequest(MakeRequest(AddDoneRun(), "production"));
  ASSERT_TRUE(Approve(review, "bob"));
  auto version = CurrentTargetVersion(*db_, "support-bot", "production");
  ASSERT_TRUE(version);
  EXPECT_FALSE(version->has_value());
}

TEST_F(PointerTest, ARejectedReviewMovesNothing) {
  Review review = MustRequest(MakeRequest(AddDoneRun(), "staging"));
  DecisionInput reject{review.id, "bob", DecisionKind::kReject, review.evidence_sha256, "too slow", std::nullopt};
  ASSERT_TRUE(Decide(*db_, reject));
  auto history = TargetHistory(*db_, "support-bot");
  ASSERT_TRUE(history);
  EXPECT_TRUE(history->empty());
}

TEST_F(PointerTest, EachEnvironmentHasItsOwnBaseline) {
  std::string staging = SignedOffBaseline("staging");
  auto production = CurrentBaseline(*db_, "faq", "support-bot", "production");
  ASSERT_TRUE(production);
  EXPECT_FALSE(production->has_value());
  auto in_staging = CurrentBaseline(*db_, "faq", "support-bot", "staging");
  ASSERT_TRUE(in_staging);
  EXPECT_EQ(*in_staging, staging);
}

TEST_F(PointerTest, HistoryRecordsEveryMoveWithWhoWhenAndWhichReview) {
  std::string first_run = SignedOffBaseline("production");
  std::string second_run = AddDoneRun(kTargetV2);
  ReviewRequest request = MakeRequest(second_run, "production", "carol", kTargetV2);
  request.comparison = PassingComparison();
  Review second = MustRequest(request);
  MustApproveBy(second, {"dave", "bob"});

  auto history = TargetHistory(*db_, "support-bot");
  ASSERT_TRUE(history) << history.error().message;
  ASSERT_EQ(history->size(), 4u);
  const PointerEvent& first_baseline = (*history)[0];
  EXPECT_EQ(first_baseline.pointer, "baseline");
  EXPECT_EQ(first_baseline.golden_set, "faq");
  EXPECT_EQ(first_baseline.run_id, first_run);
  EXPECT_FALSE(first_baseline.previous_run_id.has_value());
  EXPECT_EQ(first_baseline.requested_by, "alice");
  EXPECT_THAT(first_baseline.approvers, ElementsAre("bob", "dave"));

  const PointerEvent& second_baseline = (*history)[2];
  EXPECT_EQ(second_baseline.pointer, "baseline");
  EXPECT_EQ(second_baseline.run_id, second_run);
  EXPECT_EQ(second_baseline.previous_run_id, first_run);
  EXPECT_EQ(second_baseline.review_id, second.id);

  const PointerEvent& second_environment = (*history)[3];
  EXPECT_EQ(second_environment.pointer, "environment");
  EXPECT_EQ(second_environment.environment, "production");
  EXPECT_FALSE(second_environment.golden_set.has_value());
  EXPECT_EQ(second_environment.target_version_hash, kTargetV2);
  EXPECT_EQ(second_environment.previous_target_version_hash, kTargetV1);
  EXPECT_EQ(second_environment.requested_by, "carol");
  EXPECT_THAT(second_environment.approvers, ElementsAre("dave", "bob"));
  EXPECT_EQ(second_environment.moved_at.size(), std::string("2026-01-01T00:00:00.000000Z").size());
  EXPECT_LE(first_baseline.moved_at, second_environment.moved_at);

  auto version = CurrentTargetVersion(*db_, "support-bot", "production");
  ASSERT_TRUE(version);
  EXPECT_EQ(*version, kTargetV2);
}

TEST_F(PointerTest, HistoryCanBeNarrowedToOneEnvironment) {
  SignedOffBaseline("staging");
  SignedOffBaseline("production");
  auto history = TargetHistory(*db_, "support-bot", std::string("staging"));
  ASSERT_TRUE(history);
  ASSERT_EQ(history->size(), 2u);
  EXPECT_EQ((*history)[0].environment, "staging");
  EXPECT_EQ((*history)[1].environment, "staging");
}

TEST_F(PointerTest, TheReportViewsShowTheSameHistory) {
  SignedOffBaseline("production");
  EXPECT_EQ(tdb_.Query("SELECT count(*) FROM report.pointer_history"), "2");
  EXPECT_EQ(tdb_.Query("SELECT target_version_hash FROM report.current_pointers WHERE pointer = 'environment' "
                       "AND environment = 'production'"),
            kTargetV1);
  EXPECT_EQ(tdb_.Query("SELECT approvals FROM report.review_status"), "2");
}

TEST_F(PointerTest, PointerEventsCannotBeRewrittenEvenByTheOwner) {
  SignedOffBaseline("staging");
  EXPECT_THAT(tdb_.Exec("UPDATE gov.pointer_event SET target_version_id = 2"),
              HasSubstr("UPDATE on gov.pointer_event is not allowed"));
  EXPECT_THAT(tdb_.Exec("DELETE FROM gov.pointer_event"), HasSubstr("DELETE on gov.pointer_event is not allowed"));
}

TEST_F(PointerTest, AnApprovedReviewCannotMoveAPointerTwice) {
  SignedOffBaseline("staging");
  std::string error = tdb_.Exec(
      "INSERT INTO gov.pointer_event (pointer, target, environment, run_id, target_version_id, review_id, approvers) "
      "SELECT 'environment', '', 'staging', run_id, target_version_id, id, '{}' FROM gov.review");
  EXPECT_THAT(error, HasSubstr("duplicate key"));
}

TEST_F(PointerTest, AMalformedEnvironmentIsInvalidInput) {
  auto baseline = CurrentBaseline(*db_, "faq", "support-bot", "Prod uction");
  ASSERT_FALSE(baseline);
  EXPECT_EQ(baseline.error().kind, ErrorKind::kInvalidInput);
}

}  // namespace
}  // namespace dw::governance::testing
