#include "gov_fixture.h"

#include <unistd.h>

#include <atomic>

#include <pqxx/pqxx>

namespace dw::governance::testing {
namespace {

nlohmann::json Comparison(const std::string& verdict, const std::string& severity,
                          const std::string& primary_verdict, const std::string& ni_status) {
  return {{"schema_version", 1},
          {"verdict", verdict},
          {"severity", severity},
          {"reasons", nlohmann::json::array()},
          {"primary_metric", "pass_rate"},
          {"cases", 120},
          {"metrics",
           {{{"metric", "pass_rate"},
             {"slice", "all"},
             {"primary", true},
             {"n", 120},
             {"verdict", primary_verdict},
             {"severity", severity},
             {"non_inferiority", {{"status", ni_status}, {"reason", ""}}}},
            {{"metric", "latency_ms"},
             {"slice", "all"},
             {"primary", false},
             {"n", 120},
             {"verdict", "unchanged"},
             {"severity", "none"},
             {"non_inferiority", {{"status", "not_applicable"}, {"reason", ""}}}}}}};
}

}  // namespace

nlohmann::json PassingComparison() { return Comparison("unchanged", "none", "unchanged", "pass"); }
nlohmann::json CriticalRegressionComparison() { return Comparison("regressed", "critical", "regressed", "fail"); }
nlohmann::json NonInferiorityFailedComparison() { return Comparison("unchanged", "warning", "unchanged", "fail"); }
nlohmann::json UnderpoweredComparison() {
  return Comparison("insufficient_data", "none", "insufficient_data", "underpowered");
}

RoleSession::RoleSession(const dw::testing::TestDatabase& tdb, const std::string& group_role) : tdb_(tdb) {
  static std::atomic<int> counter{0};
  login_ = "dwt_gov_" + std::to_string(getpid()) + "_" + std::to_string(counter++);
  std::string error = tdb_.Exec("CREATE ROLE " + login_ + " LOGIN IN ROLE " + group_role);
  EXPECT_EQ(error, "");
  auto db = store::Database::Connect(tdb_.url() + " user=" + login_);
  if (!db) {
    ADD_FAILURE() << db.error().message;
    return;
  }
  db_ = std::move(*db);
}

RoleSession::~RoleSession() {
  db_.reset();
  tdb_.Exec("DROP ROLE IF EXISTS " + login_);
}

std::string RoleSession::Exec(const std::string& sql) {
  auto status = db_->Transact([&](pqxx::dbtransaction& tx) -> Status {
    tx.exec(sql);
    return Ok();
  });
  return status ? "" : status.error().message;
}

void GovernanceTest::SetUp() {
  db_ = tdb_.Connect();
  ASSERT_TRUE(db_);
  ASSERT_EQ(tdb_.Exec(
                "INSERT INTO core.golden_set (name) VALUES ('faq');"
                "INSERT INTO core.golden_set_version (golden_set_id, version, manifest_sha256, case_count, "
                "  source_format, published_by) VALUES (1, 1, repeat('a', 64), 3, 'native', 'carol');"
                "INSERT INTO core.target_version (name, version_hash, provider, model, spec) VALUES "
                "  ('support-bot', '" + kTargetV1 + "', 'sim', 'model-a', '{\"prompt\":\"Q: {{q}}\"}'),"
                "  ('support-bot', '" + kTargetV2 + "', 'sim', 'model-b', '{\"prompt\":\"Question: {{q}}\"}');"),
            "");
}

std::string GovernanceTest::AddDoneRun(const std::string& target_version, const std::string& author,
                                       const std::vector<bool>& passes) {
  std::string id = tdb_.Query("SELECT gen_random_uuid()");
  std::string sql =
      "INSERT INTO run.run (id, golden_set_version_id, target_version_id, repeats, run_salt, requested_by, "
      "runner_build, runner_host, settings) SELECT '" + id + "', 1, t.id, 1, 'salt', '" + author +
      "', 'driftwatch 0.1.0', 'host-1', '{\"judge\":{\"target\":\"judge-bot\",\"version\":3}}' "
      "FROM core.target_version t WHERE t.version_hash = '" + target_version + "';";
  for (std::size_t i = 0; i < passes.size(); ++i) {
    sql += "INSERT INTO run.result (run_id, case_id, repeat, outcome, score, output) VALUES ('" + id + "', 'case-" +
           std::to_string(i) + "', 0, '" + (passes[i] ? "pass" : "fail") + "', " + (passes[i] ? "1" : "0") +
           ", 'answer " + std::to_string(i) + "');";
  }
  sql += "UPDATE run.run SET status = 'done', finished_at = now(), summary = '{\"results\":" +
         std::to_string(passes.size()) + "}' WHERE id = '" + id + "';";
  EXPECT_EQ(tdb_.Exec(sql), "");
  return id;
}

ReviewRequest GovernanceTest::MakeRequest(const std::string& run_id, const std::string& environment,
                                          const std::string& requested_by, const std::string& target_version) {
  ReviewRequest request;
  request.requested_by = requested_by;
  request.golden_set = "faq";
  request.golden_set_version = 1;
  request.target = "support-bot";
  request.target_version = target_version.substr(0, 12);
  request.run_id = run_id;
  request.environment = environment;
  request.min_approvals = 1;
  request.tool_build = "driftwatch 0.1.0 (test)";
  return request;
}

Review GovernanceTest::MustRequest(const ReviewRequest& request) {
  auto review = RequestReview(*db_, request);
  EXPECT_TRUE(review) << review.error().message;
  return review ? *review : Review{};
}

Result<Review> GovernanceTest::Approve(const Review& review, const std::string& reviewer) {
  DecisionInput input;
  input.review_id = review.id;
  input.reviewer = reviewer;
  input.kind = DecisionKind::kApprove;
  input.evidence_sha256 = review.evidence_sha256;
  return Decide(*db_, input);
}

Review GovernanceTest::MustApproveBy(const Review& review, const std::vector<std::string>& reviewers) {
  Review latest = review;
  for (const auto& reviewer : reviewers) {
    auto decided = Approve(review, reviewer);
    EXPECT_TRUE(decided) << decided.error().message;
    if (decided) latest = *decided;
  }
  return latest;
}

std::string GovernanceTest::SignedOffBaseline(const std::string& environment, const std::string& target_version) {
  std::string run = AddDoneRun(target_version);
  Review review = MustRequest(MakeRequest(run, environment, "alice", target_version));
  std::vector<std::string> approvers = {"bob"};
  if (environment == "production") approvers.push_back("dave");
  Review approved = MustApproveBy(review, approvers);
  EXPECT_EQ(approved.status, "approved");
  return run;
}

std::vector<std::string> GovernanceTest::AuditActions(const std::string& object_type, const std::string& object_id) {
  std::vector<std::string> actions;
  auto status = db_->Transact([&](pqxx::dbtransaction& tx) -> Status {
    for (const auto& row : tx.exec_params(
             "SELECT action FROM audit.event WHERE object_type = $1 AND object_id = $2 ORDER BY seq", object_type,
             object_id))
      actions.push_back(row[0].as<std::string>());
    return Ok();
  });
  EXPECT_TRUE(status) << status.error().message;
  return actions;
}

}  // namespace dw::governance::testing
