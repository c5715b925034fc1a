// Shared fixture for the governance suites: a fresh migrated database with
// a published golden set ("faq" v1), a target ("support-bot") with two
// versions, finished runs on demand, stock comparison documents, and login
// sessions in the least-privilege roles.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "governance/review.h"
#include "store/database.h"
#include "support/test_database.h"

namespace dw::governance::testing {

inline const std::string kTargetV1 = std::string(64, '1');
inline const std::string kTargetV2 = std::string(64, '2');

// A connection logged in as a fresh LOGIN role that is a member of
// `group_role` (dw_runner, dw_reviewer, dw_reader, dw_auditor, dw_migrator).
// The role is dropped when the session ends.
class RoleSession {
 public:
  RoleSession(const dw::testing::TestDatabase& tdb, const std::string& group_role);
  ~RoleSession();
  RoleSession(const RoleSession&) = delete;
  RoleSession& operator=(const RoleSession&) = delete;

  store::Database& db() { return *db_; }
  const std::string& login() const { return login_; }
  // Runs `sql` in its own transaction; "" on success, else the error text.
  std::string Exec(const std::string& sql);

 private:
  const dw::testing::TestDatabase& tdb_;
  std::string login_;
  std::unique_ptr<store::Database> db_;
};

class GovernanceTest : public ::testing::Test {
 protected:
  void SetUp() override;

  // A finished ("done") run of faq@1 on support-bot `target_version`, started
  // by `author`, with one result per entry of `passes`. Returns its uuid.
  std::string AddDoneRun(const std::string& target_version = kTargetV1, const std::string& author = "ci",
                         const std::vector<bool>& passes = {true, true, false});

  // A request by `requested_by` for `run_id` in `environment`.
  ReviewRequest MakeRequest(const std::string& run_id, const std::string& environment,
                            const std::string& requested_by = "alice",
                            const std::string& target_version = kTargetV1);

  // Requests a review and fails the test if the database refuses.
  Review MustRequest(const ReviewRequest& request);

  // `reviewer` approves `review` citing its frozen evidence.
  Result<Review> Approve(const Review& review, const std::string& reviewer);

  // Approves by each of `reviewers` in turn, failing the test on refusal.
  Review MustApproveBy(const Review& review, const std::vector<std::string>& reviewers);

  // A run made the staging/production baseline through an approved review
  // (first sign-off, no comparison). Returns the run id.
  std::string SignedOffBaseline(const std::string& environment = "staging",
                                const std::string& target_version = kTargetV1);

  // Audit actions recorded on object (type, id), in sequence order.
  std::vector<std::string> AuditActions(const std::string& object_type, const std::string& object_id);

  dw::testing::TestDatabase tdb_;
  std::unique_ptr<store::Database> db_;
};

// Comparison documents in the statistics module's JSON shape.
nlohmann::json PassingComparison();
nlohmann::json CriticalRegressionComparison();
nlohmann::json NonInferiorityFailedComparison();
nlohmann::json UnderpoweredComparison();

}  // namespace dw::governance::testing
