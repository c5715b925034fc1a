// Least-privilege database roles: each role is proved unable to do what it
// must not, from a real login session in that role.
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "gov_fixture.h"
#include "governance/audit.h"
#include "governance/policy.h"
#include "governance/review.h"
#include "store/audit_log.h"

namespace dw::governance::testing {
namespace {

using ::testing::HasSubstr;
using store::AppendAudit;

using RunnerRoleTest = GovernanceTest;
using ReviewerRoleTest = GovernanceTest;
using ReaderRoleTest = GovernanceTest;
using AuditorRoleTest = GovernanceTest;
using AdminRoleTest = GovernanceTest;

TEST_F(RunnerRoleTest, MayRequestAReview) {
  RoleSession runner(tdb_, "dw_runner");
  auto review = RequestReview(runner.db(), MakeRequest(AddDoneRun(), "staging"));
  ASSERT_TRUE(review) << review.error().message;
  EXPECT_EQ(review->status, "open");
  EXPECT_EQ(tdb_.Query("SELECT db_role FROM audit.event WHERE action = 'review.request'"), runner.login());
}

TEST_F(RunnerRoleTest, CannotApprove) {
  Review review = MustRequest(MakeRequest(AddDoneRun(), "staging"));
  RoleSession runner(tdb_, "dw_runner");
  DecisionInput input{review.id, "bob", DecisionKind::kApprove, review.evidence_sha256, "", std::nullopt};
  auto approved = Decide(runner.db(), input);
  ASSERT_FALSE(approved);
  EXPECT_EQ(approved.error().kind, ErrorKind::kPermissionDenied);
  EXPECT_THAT(approved.error().message, HasSubstr("permission denied for function decide"));
}

TEST_F(RunnerRoleTest, CannotMoveProductionWithSql) {
  Review review = MustRequest(MakeRequest(AddDoneRun(), "production"));
  RoleSession runner(tdb_, "dw_runner");
  EXPECT_THAT(runner.Exec("INSERT INTO gov.pointer_event (pointer, target, environment, run_id, target_version_id, "
                          "review_id, approvers) VALUES ('environment', 'support-bot', 'production', '" +
                          review.run_id + "', 1, '" + review.id + "', '{}')"),
              HasSubstr("permission denied for table pointer_event"));
  EXPECT_THAT(runner.Exec("UPDATE gov.review SET status = 'approved'"), HasSubstr("permission denied for table review"));
  EXPECT_THAT(runner.Exec("INSERT INTO gov.decision (review_id, reviewer, decision, evidence_sha256) VALUES ('" +
                          review.id + "', 'bob', 'approve', '" + review.evidence_sha256 + "')"),
              HasSubstr("permission denied for table decision"));
  EXPECT_EQ(tdb_.Query("SELECT count(*) FROM gov.pointer_event"), "0");
}

TEST_F(RunnerRoleTest, CannotEditTheAuditLog) {
  RoleSession runner(tdb_, "dw_runner");
  EXPECT_THAT(runner.Exec("UPDATE audit.event SET actor = 'nobody'"), HasSubstr("permission denied for table event"));
  EXPECT_THAT(runner.Exec("DELETE FROM audit.event"), HasSubstr("permission denied for table event"));
  EXPECT_THAT(runner.Exec("UPDATE audit.chain_head SET last_seq = 0"), HasSubstr("permission denied"));
}

TEST_F(ReviewerRoleTest, MayApproveThroughTheDecisionFunction) {
  Review review = MustRequest(MakeRequest(AddDoneRun(), "staging"));
  RoleSession reviewer(tdb_, "dw_reviewer");
  DecisionInput input{review.id, "bob", DecisionKind::kApprove, review.evidence_sha256, "", std::nullopt};
  auto approved = Decide(reviewer.db(), input);
  ASSERT_TRUE(approved) << approved.error().message;
  EXPECT_EQ(approved->status, "approved");
  EXPECT_EQ(tdb_.Query("SELECT db_role FROM audit.event WHERE action = 'review.approve'"), reviewer.login());
}

TEST_F(ReviewerRoleTest, CannotWriteResults) {
  std::string run = AddDoneRun();
  RoleSession reviewer(tdb_, "dw_reviewer");
  EXPECT_THAT(reviewer.Exec("INSERT INTO run.result (run_id, case_id, repeat, outcome) VALUES ('" + run +
                            "', 'case-7', 0, 'pass')"),
              HasSubstr("permission denied for table result"));
  EXPECT_THAT(reviewer.Exec("UPDATE run.run SET summary = '{}'"), HasSubstr("permission denied for table run"));
  EXPECT_THAT(reviewer.Exec("INSERT INTO run.score (run_id, case_id, repeat, scorer, value) VALUES ('" + run +
                            "', 'case-0', 0, 'exact', 1)"),
              HasSubstr("permission denied for table score"));
}

TEST_F(ReviewerRoleTest, CannotWriteDecisionsDirectly) {
  Review review = MustRequest(MakeRequest(AddDoneRun(), "staging"));
  RoleSession reviewer(tdb_, "dw_reviewer");
  EXPECT_THAT(reviewer.Exec("INSERT INTO gov.decision (review_id, reviewer, decision, evidence_sha256) VALUES ('" +
                            review.id + "', 'bob', 'approve', '" + review.evidence_sha256 + "')"),
              HasSubstr("permission denied for table decision"));
  EXPECT_THAT(reviewer.Exec("DELETE FROM gov.decision"), HasSubstr("permission denied for table decision"));
}

TEST_F(ReaderRoleTest, CannotWriteAnything) {
  Review review = MustRequest(MakeRequest(AddDoneRun(), "staging"));
  RoleSession reader(tdb_, "dw_reader");
  for (const std::string& sql : {
           std::string("INSERT INTO core.golden_set (name) VALUES ('x')"),
           std::string("UPDATE run.run SET status = 'failed'"),
           std::string("CREATE TABLE report.shadow (a int)"),
           std::string("SELECT audit.append('r', 'x.y', 't', 'o', '{}')"),
           "SELECT gov.decide('" + review.id + "', 'bob', 'approve', '" + review.evidence_sha256 + "', '', NULL)",
           std::string("SELECT gov.request_review('r', 'faq', 1, 'support-bot', '11111111', gen_random_uuid(), "
                       "'staging', 1, NULL, 'b', '')"),
           std::string("DELETE FROM gov.review"),
       }) {
    EXPECT_THAT(reader.Exec(sql), HasSubstr("permission denied")) << sql;
  }
}

TEST_F(ReaderRoleTest, SeesTheReportViewsAndNothingElse) {
  SignedOffBaseline("staging");
  RoleSession reader(tdb_, "dw_reader");
  EXPECT_EQ(reader.Exec("SELECT * FROM report.pointer_history"), "");
  EXPECT_EQ(reader.Exec("SELECT * FROM report.review_status"), "");
  EXPECT_EQ(reader.Exec("SELECT * FROM report.run_summary"), "");
  EXPECT_THAT(reader.Exec("SELECT * FROM gov.review"), HasSubstr("permission denied for schema gov"));
  EXPECT_THAT(reader.Exec("SELECT * FROM run.result"), HasSubstr("permission denied for schema run"));
  EXPECT_THAT(reader.Exec("SELECT * FROM audit.event"), HasSubstr("permission denied for schema audit"));
}

TEST_F(AuditorRoleTest, MayVerifyAndExportTheChain) {
  SignedOffBaseline("staging");
  RoleSession auditor(tdb_, "dw_auditor");
  auto report = VerifyAudit(auditor.db());
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_TRUE(report->ok()) << report->message;
  std::ostringstream out;
  auto exported = ExportAudit(auditor.db(), out);
  ASSERT_TRUE(exported) << exported.error().message;
  EXPECT_EQ(*exported, report->events);
}

TEST_F(AuditorRoleTest, CannotAppendOrDecide) {
  Review review = MustRequest(MakeRequest(AddDoneRun(), "staging"));
  RoleSession auditor(tdb_, "dw_auditor");
  Status appended = auditor.db().Transact([](pqxx::dbtransaction& tx) -> Status {
    auto seq = AppendAudit(tx, "eve", "audit.note", "audit", "main", nlohmann::json::object());
    if (!seq) return Fail(seq.error());
    return Ok();
  });
  ASSERT_FALSE(appended);
  EXPECT_EQ(appended.error().kind, ErrorKind::kPermissionDenied);
  DecisionInput input{review.id, "eve", DecisionKind::kApprove, review.evidence_sha256, "", std::nullopt};
  auto approved = Decide(auditor.db(), input);
  ASSERT_FALSE(approved);
  EXPECT_EQ(approved.error().kind, ErrorKind::kPermissionDenied);
}

TEST_F(AdminRoleTest, OnlyTheMigratorSetsApprovalFloors) {
  RoleSession runner(tdb_, "dw_runner");
  auto lowered = SetApprovalFloor(runner.db(), "mallory", "production", 1);
  ASSERT_FALSE(lowered);
  EXPECT_EQ(lowered.error().kind, ErrorKind::kPermissionDenied);

  RoleSession migrator(tdb_, "dw_migrator");
  ASSERT_TRUE(SetApprovalFloor(migrator.db(), "admin", "canary", 3));
  auto floors = ApprovalFloors(*db_);
  ASSERT_TRUE(floors);
  EXPECT_EQ(floors->at("canary"), 3);
  EXPECT_EQ(floors->at("production"), 2);
}

TEST_F(AdminRoleTest, OnlyTheMigratorGrantsWaivingRoles) {
  RoleSession reviewer(tdb_, "dw_reviewer");
  auto granted = GrantAppRole(reviewer.db(), "bob", "rita", "release_manager", "");
  ASSERT_FALSE(granted);
  EXPECT_EQ(granted.error().kind, ErrorKind::kPermissionDenied);

  RoleSession migrator(tdb_, "dw_migrator");
  ASSERT_TRUE(GrantAppRole(migrator.db(), "admin", "rita", "release_manager", "on call"));
  auto roles = AppRolesOf(*db_, "Rita");
  ASSERT_TRUE(roles);
  EXPECT_EQ(*roles, std::vector<std::string>{"release_manager"});
}

}  // namespace
}  // namespace dw::governance::testing
