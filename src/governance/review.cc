#include "governance/review.h"

#include <regex>

#include <pqxx/pqxx>

#include "core/hash.h"
#include "governance/sql_support.h"

namespace dw::governance {
namespace {

using internal::IsoUtc;
using internal::OptionalText;
using internal::RunTransaction;

const char* NullIfEmpty(const std::optional<std::string>& value) { return value ? value->c_str() : nullptr; }

std::string ReviewSelect() {
  return "SELECT r.id::text, g.name, v.version, t.name, t.version_hash, r.environment, r.run_id::text, "
         "r.baseline_run_id::text, r.requested_by, " +
         IsoUtc("r.requested_at") +
         ", r.status, r.min_approvals, "
         "(SELECT count(*) FROM gov.decision d WHERE d.review_id = r.id AND d.decision = 'approve'), "
         "r.gates_passed, r.evidence_sha256, " +
         IsoUtc("r.closed_at") +
         ", r.note "
         "FROM gov.review r "
         "JOIN core.golden_set_version v ON v.id = r.golden_set_version_id "
         "JOIN core.golden_set g ON g.id = v.golden_set_id "
         "JOIN core.target_version t ON t.id = r.target_version_id ";
}

Review ReviewFromRow(const pqxx::row& row) {
  Review review;
  review.id = row[0].as<std::string>();
  review.golden_set = row[1].as<std::string>();
  review.golden_set_version = row[2].as<int>();
  review.target = row[3].as<std::string>();
  review.target_version_hash = row[4].as<std::string>();
  review.environment = row[5].as<std::string>();
  review.run_id = row[6].as<std::string>();
  review.baseline_run_id = OptionalText(row[7]);
  review.requested_by = row[8].as<std::string>();
  review.requested_at = row[9].as<std::string>();
  review.status = row[10].as<std::string>();
  review.min_approvals = row[11].as<int>();
  review.approvals = row[12].as<int>();
  review.gates_passed = row[13].as<bool>();
  review.evidence_sha256 = row[14].as<std::string>();
  review.closed_at = OptionalText(row[15]);
  review.note = row[16].as<std::string>();
  return review;
}

Result<Review> LoadReview(pqxx::dbtransaction& tx, const std::string& id) {
  auto rows = tx.exec_params(ReviewSelect() + "WHERE r.id = $1::uuid", id);
  if (rows.empty()) return Fail(ErrorKind::kNotFound, "there is no review " + id);
  return ReviewFromRow(rows[0]);
}

Status ValidateRequest(const ReviewRequest& request) {
  if (auto s = ValidatePrincipal(request.requested_by); !s) return s;
  if (auto s = ValidateEnvironment(request.environment); !s) return s;
  if (request.golden_set.empty()) return Fail(ErrorKind::kInvalidInput, "a golden set name is required");
  if (request.golden_set_version < 1) return Fail(ErrorKind::kInvalidInput, "golden-set versions start at 1");
  if (request.target.empty()) return Fail(ErrorKind::kInvalidInput, "a target name is required");
  static const std::regex kVersion("^[0-9a-f]{8,64}$");
  if (!std::regex_match(request.target_version, kVersion))
    return Fail(ErrorKind::kInvalidInput, "a target version is 8 to 64 lower-case hex digits of its hash, not '" +
                                              request.target_version + "'");
  if (!internal::IsUuid(request.run_id))
    return Fail(ErrorKind::kInvalidInput, "'" + request.run_id + "' is not a run id (a lower-case uuid)");
  if (request.min_approvals < 1 || request.min_approvals > 10)
    return Fail(ErrorKind::kInvalidInput, "min_approvals must be between 1 and 10");
  if (request.tool_build.empty() || request.tool_build.size() > 200)
    return Fail(ErrorKind::kInvalidInput, "the tool build must be 1 to 200 characters");
  if (request.comparison && !request.comparison->is_object())
    return Fail(ErrorKind::kInvalidInput, "the comparison must be a JSON object");
  return Ok();
}

Status ValidateDecision(const DecisionInput& input) {
  if (!internal::IsUuid(input.review_id))
    return Fail(ErrorKind::kInvalidInput, "'" + input.review_id + "' is not a review id (a lower-case uuid)");
  if (auto s = ValidatePrincipal(input.reviewer); !s) return s;
  if (!internal::IsSha256Hex(input.evidence_sha256))
    return Fail(ErrorKind::kInvalidInput, "the evidence hash must be 64 lower-case hex digits");
  const bool blank_reason = input.reason.find_first_not_of(" \t\r\n") == std::string::npos;
  if (input.kind != DecisionKind::kApprove && blank_reason)
    return Fail(ErrorKind::kInvalidInput,
                std::string("a reason is required to ") + DecisionKindName(input.kind) + " a review");
  if (input.kind == DecisionKind::kWaive && !input.waiver_expires_at)
    return Fail(ErrorKind::kInvalidInput, "a waiver needs an expiry");
  if (input.kind != DecisionKind::kWaive && input.waiver_expires_at)
    return Fail(ErrorKind::kInvalidInput, "only a waiver has an expiry");
  return Ok();
}

}  // namespace

const char* DecisionKindName(DecisionKind kind) {
  switch (kind) {
    case DecisionKind::kApprove: return "approve";
    case DecisionKind::kReject: return "reject";
    case DecisionKind::kWaive: return "waive";
  }
  return "approve";
}

std::optional<DecisionKind> ParseDecisionKind(std::string_view name) {
  for (DecisionKind kind : {DecisionKind::kApprove, DecisionKind::kReject, DecisionKind::kWaive}) {
    if (name == DecisionKindName(kind)) return kind;
  }
  return std::nullopt;
}

Status ValidatePrincipal(std::string_view principal) {
  static const std::regex kPrincipal("^[A-Za-z0-9][A-Za-z0-9_.@+-]{0,127}$");
  if (!std::regex_match(principal.begin(), principal.end(), kPrincipal))
    return Fail(ErrorKind::kInvalidInput,
                "'" + std::string(principal) +
                    "' is not a principal: use 1-128 characters of letters, digits and _ . @ + -");
  return Ok();
}

Status ValidateEnvironment(std::string_view environment) {
  static const std::regex kEnvironment("^[a-z][a-z0-9_-]{0,62}$");
  if (!std::regex_match(environment.begin(), environment.end(), kEnvironment))
    return Fail(ErrorKind::kInvalidInput, "'" + std::string(environment) +
                                              "' is not an environment: use lower-case letters, digits, _ and -");
  return Ok();
}

Result<Review> RequestReview(store::Database& db, const ReviewRequest& request) {
  if (auto s = ValidateRequest(request); !s) return Fail(s.error());
  std::optional<std::string> comparison;
  if (request.comparison) comparison = CanonicalJson(*request.comparison);
  Review review;
  Status status = RunTransaction(db, "review request", [&](pqxx::dbtransaction& tx) -> Status {
    auto row = tx.exec_params1(
        "SELECT gov.request_review($1, $2, $3, $4, $5, $6::uuid, $7, $8, $9, $10, $11)::text", request.requested_by,
        request.golden_set, request.golden_set_version, request.target, request.target_version, request.run_id,
        request.environment, request.min_approvals, NullIfEmpty(comparison), request.tool_build, request.note);
    auto loaded = LoadReview(tx, row[0].as<std::string>());
    if (!loaded) return Fail(loaded.error());
    review = std::move(*loaded);
    return Ok();
  });
  if (!status) return Fail(status.error());
  return review;
}

Result<Review> Decide(store::Database& db, const DecisionInput& input) {
  if (auto s = ValidateDecision(input); !s) return Fail(s.error());
  std::optional<std::string> expires;
  if (input.waiver_expires_at) {
    auto micros =
        std::chrono::duration_cast<std::chrono::microseconds>(input.waiver_expires_at->time_since_epoch()).count();
    expires = std::to_string(micros);
  }
  Review review;
  Status status = RunTransaction(
      db, std::string("review ") + DecisionKindName(input.kind), [&](pqxx::dbtransaction& tx) -> Status {
        tx.exec_params("SELECT gov.decide($1::uuid, $2, $3, $4, $5, "
                       "to_timestamp($6::bigint / 1000000.0))",
                       input.review_id, input.reviewer, DecisionKindName(input.kind), input.evidence_sha256,
                       input.reason, NullIfEmpty(expires));
        auto loaded = LoadReview(tx, input.review_id);
        if (!loaded) return Fail(loaded.error());
        review = std::move(*loaded);
        return Ok();
      });
  if (!status) return Fail(status.error());
  return review;
}

Result<std::vector<Review>> ListReviews(store::Database& db, const ReviewFilter& filter) {
  if (filter.limit < 1) return Fail(ErrorKind::kInvalidInput, "the limit must be positive");
  std::vector<Review> reviews;
  Status status = RunTransaction(db, "review list", [&](pqxx::dbtransaction& tx) -> Status {
    auto rows = tx.exec_params(ReviewSelect() +
                                   "WHERE ($1::text IS NULL OR r.status = $1) AND ($2::text IS NULL OR t.name = $2) "
                                   "AND ($3::text IS NULL OR r.environment = $3) "
                                   "ORDER BY r.requested_at DESC, r.id LIMIT $4",
                               NullIfEmpty(filter.status), NullIfEmpty(filter.target),
                               NullIfEmpty(filter.environment), filter.limit);
    for (const auto& row : rows) reviews.push_back(ReviewFromRow(row));
    return Ok();
  });
  if (!status) return Fail(status.error());
  return reviews;
}

Result<RunEvidenceRecord> RunEvidence(store::Database& db, const std::string& run_id) {
  if (!internal::IsUuid(run_id))
    return Fail(ErrorKind::kInvalidInput, "'" + run_id + "' is not a run id (a lower-case uuid)");
  RunEvidenceRecord record;
  Status status = RunTransaction(db, "run evidence", [&](pqxx::dbtransaction& tx) -> Status {
    auto rows = tx.exec_params(
        "SELECT gov.evidence_manifest(r.golden_set_version_id, r.target_version_id, r.id, NULL, NULL, NULL, "
        "NULL)::text, s.spec::text FROM run.run r LEFT JOIN core.scorer_version s ON s.id = r.scorer_version_id "
        "WHERE r.id = $1::uuid",
        run_id);
    if (rows.empty()) return Fail(ErrorKind::kNotFound, "there is no run " + run_id);
    record.manifest = nlohmann::json::parse(rows[0][0].as<std::string>());
    if (!rows[0][1].is_null()) record.scorer_spec = nlohmann::json::parse(rows[0][1].as<std::string>());
    return Ok();
  });
  if (!status) return Fail(status.error());
  return record;
}

Result<std::string> ResolveReviewId(store::Database& db, const std::string& prefix) {
  if (internal::IsUuid(prefix)) return prefix;
  static const std::regex kPrefix("^[0-9a-f-]{8,36}$");
  if (!std::regex_match(prefix, kPrefix))
    return Fail(ErrorKind::kInvalidInput, "'" + prefix + "' is not a review id or a prefix of at least 8 characters");
  std::vector<std::string> matches;
  Status status = RunTransaction(db, "review lookup", [&](pqxx::dbtransaction& tx) -> Status {
    for (const auto& row :
         tx.exec_params("SELECT id::text FROM gov.review WHERE id::text LIKE $1 || '%' ORDER BY id LIMIT 2", prefix))
      matches.push_back(row[0].as<std::string>());
    return Ok();
  });
  if (!status) return Fail(status.error());
  if (matches.empty()) return Fail(ErrorKind::kNotFound, "there is no review " + prefix);
  if (matches.size() > 1) return Fail(ErrorKind::kInvalidInput, "review id prefix " + prefix + " is ambiguous");
  return matches[0];
}

Result<ReviewDetail> ShowReview(store::Database& db, const std::string& review_id) {
  auto id = ResolveReviewId(db, review_id);
  if (!id) return Fail(id.error());
  ReviewDetail detail;
  Status status = RunTransaction(db, "review show", [&](pqxx::dbtransaction& tx) -> Status {
    auto loaded = LoadReview(tx, *id);
    if (!loaded) return Fail(loaded.error());
    detail.review = std::move(*loaded);
    auto row = tx.exec_params1(
        "SELECT r.evidence::text, r.comparison, r.gates::text, gov.has_valid_waiver(r.id), "
        "CASE WHEN r.status = 'open' THEN gov.json_sha256(gov.review_current_evidence(r.id)) END "
        "FROM gov.review r WHERE r.id = $1::uuid",
        *id);
    detail.evidence = nlohmann::json::parse(row[0].as<std::string>());
    if (!row[1].is_null()) detail.comparison = nlohmann::json::parse(row[1].as<std::string>());
    for (const auto& gate : nlohmann::json::parse(row[2].as<std::string>())) {
      detail.gates.push_back(
          {gate.at("gate").get<std::string>(), gate.at("passed").get<bool>(), gate.at("detail").get<std::string>()});
    }
    detail.waiver_in_force = row[3].as<bool>();
    detail.current_evidence_sha256 = OptionalText(row[4]);
    for (const auto& d : tx.exec_params("SELECT id, reviewer, decision, reason, " + IsoUtc("waiver_expires_at") +
                                            ", evidence_sha256, " + IsoUtc("decided_at") +
                                            " FROM gov.decision WHERE review_id = $1::uuid ORDER BY id",
                                        *id)) {
      DecisionRecord record;
      record.id = d[0].as<std::int64_t>();
      record.reviewer = d[1].as<std::string>();
      record.kind = ParseDecisionKind(d[2].as<std::string>()).value_or(DecisionKind::kApprove);
      record.reason = d[3].as<std::string>();
      record.waiver_expires_at = OptionalText(d[4]);
      record.evidence_sha256 = d[5].as<std::string>();
      record.decided_at = d[6].as<std::string>();
      detail.decisions.push_back(std::move(record));
    }
    return Ok();
  });
  if (!status) return Fail(status.error());
  return detail;
}

}  // namespace dw::governance
