// Review lifecycle: request, evidence, gates, approvals, rejection, listing.
#include "governance/review.h"

#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "core/hash.h"
#include "gov_fixture.h"
#include "governance/audit.h"

namespace dw::governance::testing {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

using ReviewRequestTest = GovernanceTest;
using ReviewDecisionTest = GovernanceTest;
using ReviewQueryTest = GovernanceTest;

TEST_F(ReviewRequestTest, FreezesAnEvidenceManifestWhoseHashIsItsCanonicalJson) {
  std::string run = AddDoneRun();
  Review review = MustRequest(MakeRequest(run, "staging"));
  auto detail = ShowReview(*db_, review.id);
  ASSERT_TRUE(detail) << detail.error().message;

  EXPECT_EQ(review.status, "open");
  EXPECT_EQ(review.evidence_sha256, ContentHash(detail->evidence));
  const auto& evidence = detail->evidence;
  EXPECT_EQ(evidence["schema"], "driftwatch.evidence/1");
  EXPECT_EQ(evidence["environment"], "staging");
  EXPECT_EQ(evidence["golden_set"]["name"], "faq");
  EXPECT_EQ(evidence["golden_set"]["version"], 1);
  EXPECT_EQ(evidence["golden_set"]["manifest_sha256"], std::string(64, 'a'));
  EXPECT_EQ(evidence["target"]["version_hash"], kTargetV1);
  EXPECT_EQ(evidence["target"]["model"], "model-a");
  EXPECT_EQ(evidence["target"]["prompt_sha256"],
            ContentHash({{"prompt", "Q: {{q}}"}, {"messages", nullptr}}));
  EXPECT_EQ(evidence["candidate"]["id"], run);
  EXPECT_EQ(evidence["candidate"]["status"], "done");
  EXPECT_EQ(evidence["candidate"]["results"], 3);
  EXPECT_EQ(evidence["candidate"]["runner_build"], "driftwatch 0.1.0");
  EXPECT_EQ(evidence["candidate"]["judge"]["target"], "judge-bot");
  EXPECT_EQ(evidence["candidate"]["summary_sha256"], ContentHash({{"results", 3}}));
  EXPECT_TRUE(evidence["baseline"].is_null());
  EXPECT_TRUE(evidence["comparison_sha256"].is_null());
  EXPECT_EQ(evidence["tool_build"], "driftwatch 0.1.0 (test)");
}

TEST_F(ReviewRequestTest, FirstSignOffHasNoBaselineAndOnlyTheFirstBaselineGate) {
  Review review = MustRequest(MakeRequest(AddDoneRun(), "staging"));
  auto detail = ShowReview(*db_, review.id);
  ASSERT_TRUE(detail);
  EXPECT_FALSE(review.baseline_run_id.has_value());
  EXPECT_TRUE(review.gates_passed);
  ASSERT_EQ(detail->gates.size(), 1u);
  EXPECT_EQ(detail->gates[0].name, "first_baseline");
  EXPECT_TRUE(detail->gates[0].passed);
}

TEST_F(ReviewRequestTest, AgainstABaselineRecordsItAndHashesTheComparison) {
  std::string baseline = SignedOffBaseline("staging");
  ReviewRequest request = MakeRequest(AddDoneRun(kTargetV2), "staging", "alice", kTargetV2);
  request.comparison = PassingComparison();
  Review review = MustRequest(request);
  auto detail = ShowReview(*db_, review.id);
  ASSERT_TRUE(detail);

  EXPECT_EQ(review.baseline_run_id, baseline);
  EXPECT_EQ(detail->evidence["baseline"]["id"], baseline);
  EXPECT_EQ(detail->evidence["comparison_sha256"], ContentHash(PassingComparison()));
  ASSERT_TRUE(detail->comparison.has_value());
  EXPECT_EQ(*detail->comparison, PassingComparison());
  ASSERT_EQ(detail->gates.size(), 3u);
  EXPECT_EQ(detail->gates[0].name, "no_critical_regression");
  EXPECT_EQ(detail->gates[1].name, "non_inferiority");
  EXPECT_EQ(detail->gates[2].name, "adequately_powered");
  EXPECT_TRUE(review.gates_passed);
}

TEST_F(ReviewRequestTest, AgainstABaselineWithoutAComparisonIsRefused) {
  SignedOffBaseline("staging");
  auto review = RequestReview(*db_, MakeRequest(AddDoneRun(kTargetV2), "staging", "alice", kTargetV2));
  ASSERT_FALSE(review);
  EXPECT_EQ(review.error().kind, ErrorKind::kInvalidInput);
  EXPECT_THAT(review.error().message, HasSubstr("against the current baseline"));
}

TEST_F(ReviewRequestTest, AComparisonWithoutABaselineIsRefused) {
  ReviewRequest request = MakeRequest(AddDoneRun(), "staging");
  request.comparison = PassingComparison();
  auto review = RequestReview(*db_, request);
  ASSERT_FALSE(review);
  EXPECT_EQ(review.error().kind, ErrorKind::kInvalidInput);
  EXPECT_THAT(review.error().message, HasSubstr("there is no baseline"));
}

TEST_F(ReviewRequestTest, ARunThatIsNotDoneCannotBeReviewed) {
  std::string run = AddDoneRun();
  ASSERT_EQ(tdb_.Exec("UPDATE run.run SET status = 'scored' WHERE id = '" + run + "'"), "");
  auto review = RequestReview(*db_, MakeRequest(run, "staging"));
  ASSERT_FALSE(review);
  EXPECT_EQ(review.error().kind, ErrorKind::kConflict);
  EXPECT_THAT(review.error().message, HasSubstr("is scored, not done"));
}

TEST_F(ReviewRequestTest, ARunOfAnotherTargetVersionIsRefused) {
  std::string run = AddDoneRun(kTargetV1);
  auto review = RequestReview(*db_, MakeRequest(run, "staging", "alice", kTargetV2));
  ASSERT_FALSE(review);
  EXPECT_EQ(review.error().kind, ErrorKind::kConflict);
  EXPECT_THAT(review.error().message, HasSubstr("did not replay this golden-set version on this target version"));
}

TEST_F(ReviewRequestTest, UnknownGoldenSetVersionIsNotFound) {
  ReviewRequest request = MakeRequest(AddDoneRun(), "staging");
  request.golden_set_version = 7;
  auto review = RequestReview(*db_, request);
  ASSERT_FALSE(review);
  EXPECT_EQ(review.error().kind, ErrorKind::kNotFound);
  EXPECT_THAT(review.error().message, HasSubstr("golden set faq@7 is not published"));
}

TEST_F(ReviewRequestTest, UnknownRunIsNotFound) {
  auto review = RequestReview(*db_, MakeRequest("00000000-0000-4000-8000-000000000000", "staging"));
  ASSERT_FALSE(review);
  EXPECT_EQ(review.error().kind, ErrorKind::kNotFound);
}

TEST_F(ReviewRequestTest, MalformedPrincipalIsInvalidInput) {
  auto review = RequestReview(*db_, MakeRequest(AddDoneRun(), "staging", "alice smith"));
  ASSERT_FALSE(review);
  EXPECT_EQ(review.error().kind, ErrorKind::kInvalidInput);
}

TEST_F(ReviewRequestTest, TheDatabaseFloorRaisesTheRequestedApprovals) {
  Review review = MustRequest(MakeRequest(AddDoneRun(), "production"));
  EXPECT_EQ(review.min_approvals, 2);
}

TEST_F(ReviewRequestTest, TheConfigurationMayAskForMoreApproversThanTheFloor) {
  ReviewRequest request = MakeRequest(AddDoneRun(), "staging");
  request.min_approvals = 3;
  Review review = MustRequest(request);
  EXPECT_EQ(review.min_approvals, 3);
  Review after = MustApproveBy(review, {"bob", "dave"});
  EXPECT_EQ(after.status, "open");
  EXPECT_EQ(after.approvals, 2);
}

TEST_F(ReviewDecisionTest, OneApprovalClosesAStagingReview) {
  Review review = MustRequest(MakeRequest(AddDoneRun(), "staging"));
  auto approved = Approve(review, "bob");
  ASSERT_TRUE(approved) << approved.error().message;
  EXPECT_EQ(approved->status, "approved");
  EXPECT_EQ(approved->approvals, 1);
  EXPECT_TRUE(approved->closed_at.has_value());
}

TEST_F(ReviewDecisionTest, ProductionNeedsTwoDistinctApprovers) {
  Review review = MustRequest(MakeRequest(AddDoneRun(), "production"));
  auto first = Approve(review, "bob");
  ASSERT_TRUE(first) << first.error().message;
  EXPECT_EQ(first->status, "open");
  EXPECT_EQ(first->approvals, 1);
  auto second = Approve(review, "dave");
  ASSERT_TRUE(second) << second.error().message;
  EXPECT_EQ(second->status, "approved");
  EXPECT_EQ(second->approvals, 2);
}

TEST_F(ReviewDecisionTest, ConcurrentApprovalsStillReachTheQuorum) {
  Review review = MustRequest(MakeRequest(AddDoneRun(), "production"));
  auto other = tdb_.Connect();
  ASSERT_TRUE(other);
  auto decide = [&](store::Database& db, const std::string& reviewer) {
    return Decide(db, DecisionInput{review.id, reviewer, DecisionKind::kApprove, review.evidence_sha256, "",
                                    std::nullopt});
  };
  Result<Review> by_bob = Fail(ErrorKind::kInternal, "not run");
  Result<Review> by_dave = Fail(ErrorKind::kInternal, "not run");
  std::thread bob([&] { by_bob = decide(*db_, "bob"); });
  std::thread dave([&] { by_dave = decide(*other, "dave"); });
  bob.join();
  dave.join();
  ASSERT_TRUE(by_bob) << by_bob.error().message;
  ASSERT_TRUE(by_dave) << by_dave.error().message;
  auto detail = ShowReview(*db_, review.id);
  ASSERT_TRUE(detail);
  EXPECT_EQ(detail->review.status, "approved");
  EXPECT_EQ(detail->review.approvals, 2);
}

TEST_F(ReviewDecisionTest, RejectionNeedsAReason) {
  Review review = MustRequest(MakeRequest(AddDoneRun(), "staging"));
  DecisionInput input{review.id, "bob", DecisionKind::kReject, review.evidence_sha256, "   ", std::nullopt};
  auto rejected = Decide(*db_, input);
  ASSERT_FALSE(rejected);
  EXPECT_EQ(rejected.error().kind, ErrorKind::kInvalidInput);
  EXPECT_THAT(rejected.error().message, HasSubstr("a reason is required to reject"));
}

TEST_F(ReviewDecisionTest, RejectionClosesTheReviewWithItsReason) {
  Review review = MustRequest(MakeRequest(AddDoneRun(), "staging"));
  DecisionInput input{review.id, "bob", DecisionKind::kReject, review.evidence_sha256, "refunds regressed",
                      std::nullopt};
  auto rejected = Decide(*db_, input);
  ASSERT_TRUE(rejected) << rejected.error().message;
  EXPECT_EQ(rejected->status, "rejected");
  auto detail = ShowReview(*db_, review.id);
  ASSERT_TRUE(detail);
  ASSERT_EQ(detail->decisions.size(), 1u);
  EXPECT_EQ(detail->decisions[0].reviewer, "bob");
  EXPECT_EQ(detail->decisions[0].kind, DecisionKind::kReject);
  EXPECT_EQ(detail->decisions[0].reason, "refunds regressed");
  EXPECT_EQ(detail->decisions[0].evidence_sha256, review.evidence_sha256);
}

TEST_F(ReviewDecisionTest, TheRequesterMayWithdrawByRejecting) {
  Review review = MustRequest(MakeRequest(AddDoneRun(), "staging"));
  DecisionInput input{review.id, "alice", DecisionKind::kReject, review.evidence_sha256, "wrong run",
                      std::nullopt};
  auto rejected = Decide(*db_, input);
  ASSERT_TRUE(rejected) << rejected.error().message;
  EXPECT_EQ(rejected->status, "rejected");
}

TEST_F(ReviewDecisionTest, AClosedReviewTakesNoFurtherDecisions) {
  Review review = MustRequest(MakeRequest(AddDoneRun(), "production"));
  DecisionInput reject{review.id, "bob", DecisionKind::kReject, review.evidence_sha256, "no", std::nullopt};
  ASSERT_TRUE(Decide(*db_, reject));
  auto approved = Approve(review, "dave");
  ASSERT_FALSE(approved);
  EXPECT_EQ(approved.error().kind, ErrorKind::kConflict);
  EXPECT_THAT(approved.error().message, HasSubstr("is already rejected"));
}

TEST_F(ReviewDecisionTest, UnknownReviewIsNotFound) {
  DecisionInput input{"00000000-0000-4000-8000-000000000000", "bob", DecisionKind::kApprove,
                      std::string(64, 'e'), "", std::nullopt};
  auto decided = Decide(*db_, input);
  ASSERT_FALSE(decided);
  EXPECT_EQ(decided.error().kind, ErrorKind::kNotFound);
}

TEST_F(ReviewDecisionTest, EveryStepIsAuditedAndTheChainVerifies) {
  Review review = MustRequest(MakeRequest(AddDoneRun(), "staging"));
  MustApproveBy(review, {"bob"});
  EXPECT_THAT(AuditActions("review", review.id), ElementsAre("review.request", "review.approve", "review.approved"));
  EXPECT_THAT(AuditActions("target", "support-bot"), ElementsAre("baseline.move", "environment.move"));
  auto report = VerifyAudit(*db_);
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_TRUE(report->ok()) << report->message;
}

TEST_F(ReviewQueryTest, ListFiltersByStatusAndEnvironment) {
  Review staging = MustRequest(MakeRequest(AddDoneRun(), "staging"));
  Review production = MustRequest(MakeRequest(AddDoneRun(), "production"));
  MustApproveBy(staging, {"bob"});

  auto open = ListReviews(*db_, ReviewFilter{"open", std::nullopt, std::nullopt, 100});
  ASSERT_TRUE(open) << open.error().message;
  ASSERT_EQ(open->size(), 1u);
  EXPECT_EQ((*open)[0].id, production.id);

  auto in_staging = ListReviews(*db_, ReviewFilter{std::nullopt, "support-bot", "staging", 100});
  ASSERT_TRUE(in_staging);
  ASSERT_EQ(in_staging->size(), 1u);
  EXPECT_EQ((*in_staging)[0].id, staging.id);
  EXPECT_EQ((*in_staging)[0].status, "approved");

  auto all = ListReviews(*db_, ReviewFilter{});
  ASSERT_TRUE(all);
  EXPECT_EQ(all->size(), 2u);
}

TEST_F(ReviewQueryTest, ShowAcceptsAUniqueIdPrefix) {
  Review review = MustRequest(MakeRequest(AddDoneRun(), "staging"));
  auto detail = ShowReview(*db_, review.id.substr(0, 8));
  ASSERT_TRUE(detail) << detail.error().message;
  EXPECT_EQ(detail->review.id, review.id);
}

TEST_F(ReviewQueryTest, ShowOfAnUnknownPrefixIsNotFound) {
  auto detail = ShowReview(*db_, "ffffffff");
  ASSERT_FALSE(detail);
  EXPECT_EQ(detail.error().kind, ErrorKind::kNotFound);
}

TEST_F(ReviewQueryTest, ShowRecomputesTheEvidenceOfAnOpenReview) {
  std::string run = AddDoneRun();
  Review review = MustRequest(MakeRequest(run, "staging"));
  auto fresh = ShowReview(*db_, review.id);
  ASSERT_TRUE(fresh);
  EXPECT_EQ(fresh->current_evidence_sha256, review.evidence_sha256);

  ASSERT_EQ(tdb_.Exec("UPDATE run.run SET summary = '{\"results\":2}' WHERE id = '" + run + "'"), "");
  auto stale = ShowReview(*db_, review.id);
  ASSERT_TRUE(stale);
  ASSERT_TRUE(stale->current_evidence_sha256.has_value());
  EXPECT_NE(*stale->current_evidence_sha256, review.evidence_sha256);
}

}  // namespace
}  // namespace dw::governance::testing
