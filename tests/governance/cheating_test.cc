// Attempts to get around the sign-off rules, through the API and with SQL as
// the table owner. Every one must be refused by the database.
#include <chrono>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/hash.h"
#include "gov_fixture.h"
#include "governance/policy.h"
#include "governance/review.h"

namespace dw::governance::testing {
namespace {

using ::testing::HasSubstr;
using std::chrono::system_clock;

using FourEyesTest = GovernanceTest;
using EvidenceTest = GovernanceTest;
using GateTest = GovernanceTest;
using WaiverTest = GovernanceTest;
using OwnerBypassTest = GovernanceTest;

DecisionInput Waiver(const Review& review, const std::string& who, system_clock::time_point expires) {
  return {review.id, who, DecisionKind::kWaive, review.evidence_sha256, "accepted: latency trade-off", expires};
}

TEST_F(FourEyesTest, TheRequesterCannotApprove) {
  Review review = MustRequest(MakeRequest(AddDoneRun(), "staging", "alice"));
  auto approved = Approve(review, "alice");
  ASSERT_FALSE(approved);
  EXPECT_EQ(approved.error().kind, ErrorKind::kConflict);
  EXPECT_THAT(approved.error().message, HasSubstr("no self-approval"));
}

TEST_F(FourEyesTest, TheRequesterCannotApproveUnderAnotherCapitalisation) {
  Review review = MustRequest(MakeRequest(AddDoneRun(), "staging", "alice"));
  auto approved = Approve(review, "ALICE");
  ASSERT_FALSE(approved);
  EXPECT_THAT(approved.error().message, HasSubstr("no self-approval"));
}

TEST_F(FourEyesTest, TheAuthorOfTheCandidateRunCannotApprove) {
  Review review = MustRequest(MakeRequest(AddDoneRun(kTargetV1, "erin"), "staging", "alice"));
  auto approved = Approve(review, "erin");
  ASSERT_FALSE(approved);
  EXPECT_EQ(approved.error().kind, ErrorKind::kConflict);
  EXPECT_THAT(approved.error().message, HasSubstr("started the candidate run"));
}

TEST_F(FourEyesTest, ApprovingTwiceAsOnePersonIsRefused) {
  Review review = MustRequest(MakeRequest(AddDoneRun(), "production"));
  ASSERT_TRUE(Approve(review, "bob"));
  auto again = Approve(review, "Bob");
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().kind, ErrorKind::kConflict);
  EXPECT_THAT(again.error().message, HasSubstr("has already decided"));
  auto detail = ShowReview(*db_, review.id);
  ASSERT_TRUE(detail);
  EXPECT_EQ(detail->review.status, "open");
  EXPECT_EQ(detail->review.approvals, 1);
}

TEST_F(FourEyesTest, AnApprovalIsNeverTurnedIntoARejection) {
  Review review = MustRequest(MakeRequest(AddDoneRun(), "production"));
  ASSERT_TRUE(Approve(review, "bob"));
  DecisionInput reject{review.id, "bob", DecisionKind::kReject, review.evidence_sha256, "changed my mind",
                       std::nullopt};
  auto rejected = Decide(*db_, reject);
  ASSERT_FALSE(rejected);
  EXPECT_THAT(rejected.error().message, HasSubstr("decisions are never edited"));
}

TEST_F(EvidenceTest, ApprovalCitingOtherEvidenceIsRefused) {
  Review review = MustRequest(MakeRequest(AddDoneRun(), "staging"));
  Review forged = review;
  forged.evidence_sha256 = Sha256Hex("what I was shown");
  auto approved = Approve(forged, "bob");
  ASSERT_FALSE(approved);
  EXPECT_EQ(approved.error().kind, ErrorKind::kConflict);
  EXPECT_THAT(approved.error().message, HasSubstr("is not the evidence of review"));
}

TEST_F(EvidenceTest, ApprovalAfterTheRunSummaryChangedIsRefusedAsStale) {
  std::string run = AddDoneRun();
  Review review = MustRequest(MakeRequest(run, "staging"));
  ASSERT_EQ(tdb_.Exec("UPDATE run.run SET summary = '{\"results\":3,\"pass_rate\":1}' WHERE id = '" + run + "'"),
            "");
  auto approved = Approve(review, "bob");
  ASSERT_FALSE(approved);
  EXPECT_EQ(approved.error().kind, ErrorKind::kConflict);
  EXPECT_THAT(approved.error().message, HasSubstr("is stale"));
}

TEST_F(EvidenceTest, ApprovalAfterResultsWereAddedToTheRunIsRefusedAsStale) {
  std::string run = AddDoneRun();
  Review review = MustRequest(MakeRequest(run, "staging"));
  ASSERT_EQ(tdb_.Exec("UPDATE run.run SET status = 'running' WHERE id = '" + run + "';"
                      "INSERT INTO run.result (run_id, case_id, repeat, outcome) VALUES ('" + run +
                      "', 'case-9', 0, 'pass');"
                      "UPDATE run.run SET status = 'done' WHERE id = '" + run + "';"),
            "");
  auto approved = Approve(review, "bob");
  ASSERT_FALSE(approved);
  EXPECT_THAT(approved.error().message, HasSubstr("is stale"));
}

TEST_F(EvidenceTest, ApprovalAfterTheBaselineMovedIsRefusedAsStale) {
  SignedOffBaseline("staging");
  ReviewRequest first = MakeRequest(AddDoneRun(), "staging");
  first.comparison = PassingComparison();
  ReviewRequest second = MakeRequest(AddDoneRun(), "staging");
  second.comparison = PassingComparison();
  Review a = MustRequest(first);
  Review b = MustRequest(second);
  MustApproveBy(a, {"bob"});
  auto approved = Approve(b, "bob");
  ASSERT_FALSE(approved);
  EXPECT_THAT(approved.error().message, HasSubstr("is stale"));
}

TEST_F(GateTest, ACriticalRegressionBlocksApproval) {
  SignedOffBaseline("staging");
  ReviewRequest request = MakeRequest(AddDoneRun(kTargetV2), "staging", "alice", kTargetV2);
  request.comparison = CriticalRegressionComparison();
  Review review = MustRequest(request);
  EXPECT_FALSE(review.gates_passed);
  auto approved = Approve(review, "bob");
  ASSERT_FALSE(approved);
  EXPECT_EQ(approved.error().kind, ErrorKind::kConflict);
  EXPECT_THAT(approved.error().message, HasSubstr("no_critical_regression (comparison verdict regressed, severity critical)"));
}

TEST_F(GateTest, NonInferiorityNotShownBlocksApproval) {
  SignedOffBaseline("staging");
  ReviewRequest request = MakeRequest(AddDoneRun(kTargetV2), "staging", "alice", kTargetV2);
  request.comparison = NonInferiorityFailedComparison();
  Review review = MustRequest(request);
  auto approved = Approve(review, "bob");
  ASSERT_FALSE(approved);
  EXPECT_THAT(approved.error().message, HasSubstr("non_inferiority (primary metric pass_rate: non-inferiority fail)"));
}

TEST_F(GateTest, AnUnderpoweredGoldenSetBlocksApproval) {
  SignedOffBaseline("staging");
  ReviewRequest request = MakeRequest(AddDoneRun(kTargetV2), "staging", "alice", kTargetV2);
  request.comparison = UnderpoweredComparison();
  Review review = MustRequest(request);
  auto approved = Approve(review, "bob");
  ASSERT_FALSE(approved);
  EXPECT_THAT(approved.error().message, HasSubstr("adequately_powered"));
}

TEST_F(GateTest, AComparisonWithoutAPrimaryMetricShowsNoNonInferiority) {
  SignedOffBaseline("staging");
  ReviewRequest request = MakeRequest(AddDoneRun(kTargetV2), "staging", "alice", kTargetV2);
  request.comparison = nlohmann::json{{"verdict", "unchanged"}, {"severity", "none"}, {"metrics", nlohmann::json::array()}};
  Review review = MustRequest(request);
  auto detail = ShowReview(*db_, review.id);
  ASSERT_TRUE(detail);
  ASSERT_EQ(detail->gates.size(), 3u);
  EXPECT_TRUE(detail->gates[0].passed);
  EXPECT_FALSE(detail->gates[1].passed);
  EXPECT_EQ(detail->gates[1].detail, "no primary metric on the \"all\" slice");
}

class WaiverWithRoleTest : public GovernanceTest {
 protected:
  void SetUp() override {
    GovernanceTest::SetUp();
    ASSERT_TRUE(GrantAppRole(*db_, "admin", "rita", "release_manager", "on call"));
    SignedOffBaseline("staging");
    ReviewRequest request = MakeRequest(AddDoneRun(kTargetV2), "staging", "alice", kTargetV2);
    request.comparison = NonInferiorityFailedComparison();
    failing_ = MustRequest(request);
  }
  Review failing_;
};

TEST_F(WaiverWithRoleTest, AWaiverByAReleaseManagerUnlocksApproval) {
  auto waived = Decide(*db_, Waiver(failing_, "rita", system_clock::now() + std::chrono::hours(24)));
  ASSERT_TRUE(waived) << waived.error().message;
  EXPECT_EQ(waived->status, "open");
  auto approved = Approve(failing_, "bob");
  ASSERT_TRUE(approved) << approved.error().message;
  EXPECT_EQ(approved->status, "approved");
}

TEST_F(WaiverWithRoleTest, AWaiverNeedsAWaivingRole) {
  auto waived = Decide(*db_, Waiver(failing_, "bob", system_clock::now() + std::chrono::hours(24)));
  ASSERT_FALSE(waived);
  EXPECT_EQ(waived.error().kind, ErrorKind::kPermissionDenied);
  EXPECT_THAT(waived.error().message, HasSubstr("bob holds no role that may waive"));
}

TEST_F(WaiverWithRoleTest, ARevokedRoleNoLongerWaives) {
  ASSERT_TRUE(RevokeAppRole(*db_, "admin", "rita", "release_manager", "rotation ended"));
  auto waived = Decide(*db_, Waiver(failing_, "rita", system_clock::now() + std::chrono::hours(24)));
  ASSERT_FALSE(waived);
  EXPECT_EQ(waived.error().kind, ErrorKind::kPermissionDenied);
}

TEST_F(WaiverWithRoleTest, TheRequesterCannotWaiveTheirOwnReview) {
  ASSERT_TRUE(GrantAppRole(*db_, "admin", "alice", "release_manager", "on call"));
  auto waived = Decide(*db_, Waiver(failing_, "alice", system_clock::now() + std::chrono::hours(24)));
  ASSERT_FALSE(waived);
  EXPECT_THAT(waived.error().message, HasSubstr("no self-approval"));
}

TEST_F(WaiverWithRoleTest, AWaiverMustExpireInTheFuture) {
  auto waived = Decide(*db_, Waiver(failing_, "rita", system_clock::now() - std::chrono::minutes(1)));
  ASSERT_FALSE(waived);
  EXPECT_EQ(waived.error().kind, ErrorKind::kInvalidInput);
  EXPECT_THAT(waived.error().message, HasSubstr("must expire in the future"));
}

TEST_F(WaiverWithRoleTest, AnExpiredWaiverNoLongerUnlocksApproval) {
  ASSERT_TRUE(Decide(*db_, Waiver(failing_, "rita", system_clock::now() + std::chrono::milliseconds(700))));
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  auto approved = Approve(failing_, "bob");
  ASSERT_FALSE(approved);
  EXPECT_THAT(approved.error().message, HasSubstr("needs an unexpired waiver"));
}

TEST_F(WaiverWithRoleTest, AWaiverNeedsAReason) {
  DecisionInput input = Waiver(failing_, "rita", system_clock::now() + std::chrono::hours(1));
  input.reason = "";
  auto waived = Decide(*db_, input);
  ASSERT_FALSE(waived);
  EXPECT_EQ(waived.error().kind, ErrorKind::kInvalidInput);
}

TEST_F(WaiverTest, AReviewThatPassesEveryGateHasNothingToWaive) {
  ASSERT_TRUE(GrantAppRole(*db_, "admin", "rita", "release_manager", "on call"));
  Review review = MustRequest(MakeRequest(AddDoneRun(), "staging"));
  auto waived = Decide(*db_, Waiver(review, "rita", system_clock::now() + std::chrono::hours(1)));
  ASSERT_FALSE(waived);
  EXPECT_THAT(waived.error().message, HasSubstr("nothing to waive"));
}

TEST_F(WaiverTest, NobodyGrantsThemselvesARole) {
  auto granted = GrantAppRole(*db_, "rita", "rita", "release_manager", "trust me");
  ASSERT_FALSE(granted);
  EXPECT_EQ(granted.error().kind, ErrorKind::kPermissionDenied);
  EXPECT_THAT(granted.error().message, HasSubstr("rita cannot grant their own roles"));
}

TEST_F(OwnerBypassTest, DecisionsCannotBeUpdatedDeletedOrTruncatedEvenByTheOwner) {
  Review review = MustRequest(MakeRequest(AddDoneRun(), "production"));
  ASSERT_TRUE(Approve(review, "bob"));
  EXPECT_THAT(tdb_.Exec("UPDATE gov.decision SET reviewer = 'dave'"), HasSubstr("UPDATE on gov.decision is not allowed"));
  EXPECT_THAT(tdb_.Exec("DELETE FROM gov.decision"), HasSubstr("DELETE on gov.decision is not allowed"));
  EXPECT_THAT(tdb_.Exec("TRUNCATE gov.decision CASCADE"), HasSubstr("is not allowed"));
  EXPECT_EQ(tdb_.Query("SELECT count(*) FROM gov.decision"), "1");
}

TEST_F(OwnerBypassTest, AReviewsEvidenceCannotBeRewrittenEvenByTheOwner) {
  Review review = MustRequest(MakeRequest(AddDoneRun(), "staging"));
  EXPECT_THAT(tdb_.Exec("UPDATE gov.review SET evidence_sha256 = repeat('f', 64)"), HasSubstr("is immutable"));
  EXPECT_THAT(tdb_.Exec("DELETE FROM gov.review"), HasSubstr("DELETE on gov.review is not allowed"));
  EXPECT_EQ(tdb_.Query("SELECT evidence_sha256 FROM gov.review"), review.evidence_sha256);
}

TEST_F(OwnerBypassTest, TheOwnerCannotMarkAReviewApprovedWithoutTheApprovals) {
  MustRequest(MakeRequest(AddDoneRun(), "production"));
  EXPECT_THAT(tdb_.Exec("UPDATE gov.review SET status = 'approved'"), HasSubstr("has 0 of 2 required approvals"));
}

TEST_F(OwnerBypassTest, TheOwnerCannotMoveProductionWithoutAnApprovedReview) {
  Review review = MustRequest(MakeRequest(AddDoneRun(), "production"));
  std::string error = tdb_.Exec(
      "INSERT INTO gov.pointer_event (pointer, target, environment, run_id, target_version_id, review_id, approvers) "
      "VALUES ('environment', 'support-bot', 'production', '" + review.run_id + "', 1, '" + review.id + "', '{}')");
  EXPECT_THAT(error, HasSubstr("moves only through an approved review"));
  EXPECT_EQ(tdb_.Query("SELECT count(*) FROM gov.pointer_event"), "0");
}

TEST_F(OwnerBypassTest, TheOwnerCannotSlipInADecisionWithoutAnAuditEvent) {
  Review review = MustRequest(MakeRequest(AddDoneRun(), "staging"));
  std::string error = tdb_.Exec(
      "INSERT INTO gov.decision (review_id, reviewer, decision, evidence_sha256) VALUES ('" + review.id +
      "', 'bob', 'approve', '" + review.evidence_sha256 + "')");
  EXPECT_THAT(error, HasSubstr("has no audit event"));
  EXPECT_EQ(tdb_.Query("SELECT count(*) FROM gov.decision"), "0");
}

}  // namespace
}  // namespace dw::governance::testing
