// The governance subcommands end to end: the real driftwatch binary against a
// real PostgreSQL database. `review` (waive, list, show), `target history`
// and `audit` (verify, checkpoint, export), including tampering with the
// audit chain as the database superuser.
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
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

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::CliOutcome;
using testing::DriftwatchCli;

constexpr int kCases = 60;

class GovernanceCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_FALSE(tdb_.url().empty());
    cli_ = std::make_unique<DriftwatchCli>(dir_.path(), tdb_.url());
    WriteConfig(0.95);
    std::string cases = "name: gs\ncases:\n";
    for (int i = 0; i < kCases; ++i)
      cases += "  - id: c" + std::to_string(i) + "\n    vars: {question: q" + std::to_string(i) + ", expected: a" +
               std::to_string(i) + "}\n    assert: [{type: icontains, value: \"{{expected}}\"}]\n";
    dir_.WriteFile("gs.yaml", cases);
    CliOutcome published = Dw({"goldenset", "publish", "gs.yaml"});
    ASSERT_EQ(published.exit_code, 0) << published.err;
  }

  // Target `bot` on the simulated model at `accuracy`; production needs two
  // approvers. A new accuracy is a new version of the same target.
  void WriteConfig(double accuracy) {
    std::ostringstream yaml;
    yaml << "targets:\n  bot:\n    provider: sim\n    prompt: \"{{question}}\"\n    sim: {accuracy: " << accuracy
         << ", seed: 5}\npolicies:\n  default: {min_approvals: {production: 2}}\n";
    dir_.WriteFile("driftwatch.yaml", yaml.str());
  }

  CliOutcome Dw(const std::vector<std::string>& args) const { return cli_->Run(args); }

  // JSON output of a command that must succeed.
  nlohmann::json Json(std::vector<std::string> args) {
    args.insert(args.end(), {"--format", "json"});
    CliOutcome outcome = Dw(args);
    EXPECT_EQ(outcome.exit_code, 0) << args[0] << " " << args[1] << ": " << outcome.err;
    return nlohmann::json::parse(outcome.out, nullptr, false);
  }

  // Runs gs on bot; `expected_exit` 1 when the run regresses against the
  // baseline. Returns the run id.
  std::string RunBot(int expected_exit = 0) {
    CliOutcome run = Dw({"run", "-g", "gs", "-t", "bot", "-q", "--format", "json"});
    EXPECT_EQ(run.exit_code, expected_exit) << run.err;
    return nlohmann::json::parse(run.out, nullptr, false).value("run_id", "");
  }

  std::string RequestReview(const std::string& run_id) {
    return Json({"review", "request", run_id, "--as", "maria"}).value("id", "");
  }

  void Approve(const std::string& review, const std::string& reviewer) {
    CliOutcome approved = Dw({"review", "approve", review, "--as", reviewer});
    ASSERT_EQ(approved.exit_code, 0) << approved.err;
  }

  // The first sign-off: a run of bot approved by ana and li. Sets
  // baseline_run_ and baseline_review_.
  void SignOffBaseline() {
    baseline_run_ = RunBot();
    baseline_review_ = RequestReview(baseline_run_);
    ASSERT_FALSE(baseline_review_.empty());
    Approve(baseline_review_, "ana");
    Approve(baseline_review_, "li");
  }

  // After SignOffBaseline: a much less accurate version of bot, replayed and
  // put up for production; its evidence fails the critical-regression gate.
  std::string RegressedReview() {
    WriteConfig(0.4);
    regressed_run_ = RunBot(/*expected_exit=*/1);
    return RequestReview(regressed_run_);
  }

  void GrantReleaseManager(const std::string& principal) {
    ASSERT_EQ(tdb_.Exec("SELECT gov.change_app_role('admin', '" + principal +
                        "', 'release_manager', 'grant', 'on call for releases')"),
              "");
  }

  std::string Decisions(const std::string& review) const {
    return tdb_.Query("SELECT count(*) FROM gov.decision WHERE review_id = '" + review + "'");
  }

  std::string ProductionRun() const {
    return tdb_.Query(
        "SELECT run_id FROM gov.pointer_event WHERE target = 'bot' AND pointer = 'environment' "
        "AND environment = 'production' ORDER BY seq DESC LIMIT 1");
  }

  // Runs `sql` as the superuser with audit.event's append-only triggers off.
  void TamperAsSuperuser(const std::string& sql) {
    ASSERT_EQ(tdb_.Exec("ALTER TABLE audit.event DISABLE TRIGGER USER; " + sql +
                        "; ALTER TABLE audit.event ENABLE TRIGGER USER"),
              "");
  }

  testing::TestDatabase tdb_;
  testing::TempDir dir_;
  std::unique_ptr<DriftwatchCli> cli_;
  std::string baseline_run_, baseline_review_, regressed_run_;
};

TEST_F(GovernanceCliTest, ApprovingFailedEvidenceWithoutAWaiverIsRefused) {
  SignOffBaseline();
  std::string review = RegressedReview();
  CliOutcome approved = Dw({"review", "approve", review, "--as", "ana"});
  EXPECT_EQ(approved.exit_code, 2);
  EXPECT_THAT(approved.err, HasSubstr("needs an unexpired waiver before approval"));
  EXPECT_THAT(approved.err, HasSubstr("no_critical_regression"));
  EXPECT_EQ(Decisions(review), "0");
}

TEST_F(GovernanceCliTest, ReviewWaiveWithoutAReasonIsBadInputAndRecordsNothing) {
  SignOffBaseline();
  std::string review = RegressedReview();
  GrantReleaseManager("rm");
  CliOutcome waived = Dw({"review", "waive", review, "--expires", "7d", "--as", "rm"});
  EXPECT_EQ(waived.exit_code, 2);
  EXPECT_THAT(waived.err, HasSubstr("a reason is required to waive a review"));
  EXPECT_EQ(Decisions(review), "0");
}

TEST_F(GovernanceCliTest, ReviewWaiveWithoutAnExpiryIsBadInputAndRecordsNothing) {
  SignOffBaseline();
  std::string review = RegressedReview();
  GrantReleaseManager("rm");
  CliOutcome waived = Dw({"review", "waive", review, "--reason", "accepted for the sale", "--as", "rm"});
  EXPECT_EQ(waived.exit_code, 2);
  EXPECT_THAT(waived.err, HasSubstr("waive needs --expires"));
  CliOutcome malformed =
      Dw({"review", "waive", review, "--reason", "accepted for the sale", "--expires", "soon", "--as", "rm"});
  EXPECT_EQ(malformed.exit_code, 2);
  EXPECT_THAT(malformed.err, HasSubstr("--expires must be"));
  EXPECT_EQ(Decisions(review), "0");
}

TEST_F(GovernanceCliTest, ReviewWaiveByAPrincipalWithoutAWaivingRoleIsRefused) {
  SignOffBaseline();
  std::string review = RegressedReview();
  CliOutcome waived = Dw({"review", "waive", review, "--reason", "ship it", "--expires", "7d", "--as", "ana"});
  EXPECT_EQ(waived.exit_code, 2);
  EXPECT_THAT(waived.err, HasSubstr("ana holds no role that may waive policy gates"));
  EXPECT_EQ(Decisions(review), "0");
}

TEST_F(GovernanceCliTest, AWaiverByAReleaseManagerLetsTwoApprovalsMoveProduction) {
  SignOffBaseline();
  std::string review = RegressedReview();
  GrantReleaseManager("rm");
  CliOutcome waived =
      Dw({"review", "waive", review, "--reason", "known regression, fix next sprint", "--expires", "7d", "--as", "rm"});
  ASSERT_EQ(waived.exit_code, 0) << waived.err;
  EXPECT_THAT(waived.out, HasSubstr("rm waived review " + review.substr(0, 8)));
  EXPECT_EQ(
      tdb_.Query("SELECT reviewer || '|' || reason || '|' || (waiver_expires_at BETWEEN now() + interval '6 days' "
                 "AND now() + interval '8 days') FROM gov.decision WHERE review_id = '" +
                 review + "' AND decision = 'waive'"),
      "rm|known regression, fix next sprint|true");
  EXPECT_EQ(ProductionRun(), baseline_run_) << "a waiver is not an approval";
  Approve(review, "ana");
  Approve(review, "li");
  EXPECT_EQ(ProductionRun(), regressed_run_);
}

TEST_F(GovernanceCliTest, ReviewListShowsEveryReviewAndFiltersByStatus) {
  SignOffBaseline();
  std::string open = RegressedReview();
  CliOutcome table = Dw({"review", "list"});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_THAT(table.out, HasSubstr(baseline_review_.substr(0, 8)));
  EXPECT_THAT(table.out, HasSubstr(open.substr(0, 8)));

  nlohmann::json open_reviews = Json({"review", "list", "--status", "open"});
  ASSERT_EQ(open_reviews.size(), 1u) << open_reviews.dump();
  EXPECT_EQ(open_reviews[0]["id"], open);
  EXPECT_EQ(open_reviews[0]["gates_passed"], false);
  EXPECT_EQ(open_reviews[0]["requested_by"], "maria");

  nlohmann::json approved = Json({"review", "list", "--status", "approved"});
  ASSERT_EQ(approved.size(), 1u) << approved.dump();
  EXPECT_EQ(approved[0]["id"], baseline_review_);
  EXPECT_EQ(approved[0]["approvals"], 2);
  EXPECT_EQ(approved[0]["min_approvals"], 2);
}

TEST_F(GovernanceCliTest, ReviewShowPrintsTheEvidenceGatesAndEveryDecision) {
  SignOffBaseline();
  CliOutcome shown = Dw({"review", "show", baseline_review_});
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  EXPECT_THAT(shown.out, HasSubstr("(approved, 2/2 approvals)"));
  EXPECT_THAT(shown.out, HasSubstr("first_baseline"));
  EXPECT_THAT(shown.out,
              HasSubstr(tdb_.Query("SELECT evidence_sha256 FROM gov.review WHERE id = '" + baseline_review_ + "'")));

  nlohmann::json json = Json({"review", "show", baseline_review_});
  ASSERT_EQ(json["decisions"].size(), 2u) << json.dump();
  EXPECT_EQ(json["decisions"][0]["reviewer"], "ana");
  EXPECT_EQ(json["decisions"][1]["reviewer"], "li");
  EXPECT_EQ(json["decisions"][0]["decision"], "approve");
  EXPECT_EQ(json["run_id"], baseline_run_);
}

TEST_F(GovernanceCliTest, ReviewShowOfFailedEvidenceNamesTheFailingGate) {
  SignOffBaseline();
  std::string review = RegressedReview();
  CliOutcome shown = Dw({"review", "show", review});
  ASSERT_EQ(shown.exit_code, 0) << shown.err;
  EXPECT_THAT(shown.out, ::testing::ContainsRegex("no_critical_regression +FAIL"));
  EXPECT_THAT(shown.out, HasSubstr("baseline    " + baseline_run_));
}

TEST_F(GovernanceCliTest, TargetHistoryShowsWhoWhenAndWhichReviewForEachMove) {
  SignOffBaseline();
  nlohmann::json history = Json({"target", "history", "bot"});
  ASSERT_EQ(history.size(), 2u) << history.dump();  // the baseline and the production pointer
  std::vector<std::string> pointers;
  for (const auto& move : history) {
    pointers.push_back(move["pointer"]);
    EXPECT_EQ(move["review_id"], baseline_review_);
    EXPECT_EQ(move["run_id"], baseline_run_);
    EXPECT_EQ(move["requested_by"], "maria");
    EXPECT_EQ(move["approvers"], nlohmann::json({"ana", "li"}));
    EXPECT_EQ(move["moved_at"],
              tdb_.Query("SELECT to_char(moved_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') "
                         "FROM gov.pointer_event WHERE seq = " +
                         std::to_string(move["seq"].get<int>())));
  }
  EXPECT_THAT(pointers, ElementsAre("baseline", "environment"));

  CliOutcome table = Dw({"target", "history", "bot"});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_THAT(table.out, HasSubstr(baseline_review_.substr(0, 8)));
  EXPECT_THAT(table.out, HasSubstr("ana,li"));
  EXPECT_THAT(table.out, HasSubstr(history[0]["moved_at"].get<std::string>().substr(0, 10)));
}

TEST_F(GovernanceCliTest, TargetHistoryOfATargetNeverSignedOffSaysSo) {
  CliOutcome table = Dw({"target", "history", "bot"});
  ASSERT_EQ(table.exit_code, 0) << table.err;
  EXPECT_THAT(table.out, HasSubstr("no approved moves for target 'bot' yet"));
}

TEST_F(GovernanceCliTest, AuditVerifyIsOkThenExitsOneAtTheSequenceTheSuperuserAltered) {
  SignOffBaseline();
  const std::string events = tdb_.Query("SELECT count(*) FROM audit.event");
  CliOutcome ok = Dw({"audit", "verify"});
  ASSERT_EQ(ok.exit_code, 0) << ok.out << ok.err;
  EXPECT_THAT(ok.out, HasSubstr("audit chain OK: " + events + " events"));

  TamperAsSuperuser("UPDATE audit.event SET actor = 'mallory' WHERE action = 'review.approve' AND actor = 'li'");
  const std::string seq = tdb_.Query("SELECT seq FROM audit.event WHERE actor = 'mallory'");
  ASSERT_FALSE(seq.empty());
  CliOutcome broken = Dw({"audit", "verify"});
  EXPECT_EQ(broken.exit_code, 1) << broken.err;
  EXPECT_THAT(broken.out, HasSubstr("audit chain BROKEN at seq " + seq + " (hash_mismatch)"));
  nlohmann::json json = nlohmann::json::parse(Dw({"audit", "verify", "--format", "json"}).out, nullptr, false);
  EXPECT_EQ(json["ok"], false);
  EXPECT_EQ(json["first_bad_seq"], std::stoll(seq));
}

TEST_F(GovernanceCliTest, AuditVerifyReportsAChangedDbRoleAtItsSequence) {
  SignOffBaseline();
  TamperAsSuperuser(
      "UPDATE audit.event SET db_role = 'dw_reviewer' WHERE seq = (SELECT max(seq) FROM audit.event WHERE action = "
      "'review.request')");
  const std::string seq = tdb_.Query("SELECT seq FROM audit.event WHERE db_role = 'dw_reviewer'");
  CliOutcome broken = Dw({"audit", "verify"});
  EXPECT_EQ(broken.exit_code, 1) << broken.err;
  EXPECT_THAT(broken.out, HasSubstr("audit chain BROKEN at seq " + seq + " (hash_mismatch)"));
}

TEST_F(GovernanceCliTest, AuditCheckpointSignsTheHeadAndExposesATruncatedTail) {
  SignOffBaseline();
  CliOutcome missing_out = Dw({"audit", "checkpoint", "--key", "key.pem"});
  EXPECT_EQ(missing_out.exit_code, 2);
  EXPECT_THAT(missing_out.err, HasSubstr("checkpoint needs --key KEY.pem and --out FILE"));

  CliOutcome signed_head = Dw({"audit", "checkpoint", "--key", "key.pem", "--out", "checkpoint.json"});
  ASSERT_EQ(signed_head.exit_code, 0) << signed_head.err;
  const std::string head_seq = tdb_.Query("SELECT last_seq FROM audit.chain_head");
  EXPECT_THAT(signed_head.out, HasSubstr("signed checkpoint of seq " + head_seq));
  struct stat key_stat {};
  ASSERT_EQ(stat((dir_.path() / "key.pem").c_str(), &key_stat), 0);
  EXPECT_EQ(key_stat.st_mode & 0777, 0600u);
  nlohmann::json checkpoint = nlohmann::json::parse(testing::ReadFile(dir_.path() / "checkpoint.json"), nullptr, false);
  EXPECT_EQ(checkpoint["seq"], std::stoll(head_seq));
  EXPECT_EQ(checkpoint["head_hash"], tdb_.Query("SELECT last_hash FROM audit.chain_head"));

  CliOutcome against = Dw({"audit", "verify", "--checkpoint", "checkpoint.json", "--key", "key.pem"});
  EXPECT_EQ(against.exit_code, 0) << against.out << against.err;

  // The superuser deletes the last event and moves the head back: the chain
  // alone is consistent again, the signed checkpoint is not.
  TamperAsSuperuser("DELETE FROM audit.event WHERE seq = " + head_seq +
                    "; UPDATE audit.chain_head SET last_seq = last_seq - 1, last_hash = (SELECT row_hash FROM "
                    "audit.event WHERE seq = " +
                    head_seq + " - 1)");
  EXPECT_EQ(Dw({"audit", "verify"}).exit_code, 0);
  CliOutcome truncated = Dw({"audit", "verify", "--checkpoint", "checkpoint.json", "--key", "key.pem"});
  EXPECT_EQ(truncated.exit_code, 1) << truncated.err;
  EXPECT_THAT(truncated.out, HasSubstr("audit chain BROKEN at seq " + head_seq + " (truncated)"));
}

TEST_F(GovernanceCliTest, AuditExportWritesOneJsonLinePerEventInSequence) {
  SignOffBaseline();
  CliOutcome exported = Dw({"audit", "export", "--out", "audit.jsonl"});
  ASSERT_EQ(exported.exit_code, 0) << exported.err;
  const std::string events = tdb_.Query("SELECT count(*) FROM audit.event");
  EXPECT_THAT(exported.out, HasSubstr("exported " + events + " events to audit.jsonl"));

  std::ifstream in(dir_.path() / "audit.jsonl");
  std::string line, last_hash;
  long long lines = 0;
  while (std::getline(in, line)) {
    ++lines;
    nlohmann::json event = nlohmann::json::parse(line, nullptr, false);
    ASSERT_TRUE(event.is_object()) << "line " << lines << ": " << line;
    EXPECT_EQ(event["seq"], lines);
    EXPECT_EQ(event.dump(), line) << "each line is canonical JSON";
    last_hash = event.value("row_hash", "");
  }
  EXPECT_EQ(std::to_string(lines), events);
  EXPECT_EQ(last_hash, tdb_.Query("SELECT last_hash FROM audit.chain_head"));
}

}  // namespace
}  // namespace dw
