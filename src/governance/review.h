// Sign-off reviews: a request binds a candidate run, its golden-set and
// target versions and the current baseline to an evidence manifest whose
// sha256 the database computes and freezes; decisions (approve, reject,
// waive) are append-only and checked by the database (migrations/
// V0003__governance.sql), so these functions are a typed front end to
// gov.request_review and gov.decide, not the place the rules live.
//
// Every function takes a caller-owned Database, runs one transaction and is
// as thread-safe as that Database (one per thread). Errors: kInvalidInput
// for malformed arguments, kNotFound for unknown golden sets, targets, runs or
// reviews, kConflict for a rule the database refused (self-approval, stale
// evidence, failed gates, closed review, ...), kPermissionDenied when the
// connection's database role may not do this, kUnavailable for a lost
// connection.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/status.h"
#include "store/database.h"

namespace dw::governance {

enum class DecisionKind { kApprove, kReject, kWaive };

// "approve", "reject", "waive".
const char* DecisionKindName(DecisionKind kind);

// The kind named by `name` (as printed by DecisionKindName), if any.
std::optional<DecisionKind> ParseDecisionKind(std::string_view name);

// Ok when `principal` is a valid application identity: 1–128 characters of
// [A-Za-z0-9_.@+-], starting with a letter or digit. Identities are compared
// case-insensitively ("Bob" is "bob"). kInvalidInput otherwise.
Status ValidatePrincipal(std::string_view principal);

// Ok when `environment` is 1–63 characters of [a-z0-9_-] starting with a
// letter. kInvalidInput otherwise.
Status ValidateEnvironment(std::string_view environment);

struct ReviewRequest {
  std::string requested_by;  // principal
  std::string golden_set;    // name
  int golden_set_version = 0;
  std::string target;          // target name
  std::string target_version;  // its version hash, or a unique prefix of ≥ 8 hex digits
  std::string run_id;          // candidate run (uuid); must be done and match the versions above
  std::string environment;     // e.g. "staging", "production"
  // Distinct approvers the configuration asks for (PolicyConfig::
  // min_approvals[environment]); the database raises it to its own floor.
  int min_approvals = 1;
  // The statistics module's comparison of the candidate against the current
  // baseline (stats::ComparisonToJson). Required when a baseline exists,
  // refused when none does. Hashed as its canonical JSON bytes.
  std::optional<nlohmann::json> comparison;
  std::string tool_build;  // the driftwatch build making the request
  std::string note;
};

// One policy gate evaluated by the database from the comparison.
struct Gate {
  std::string name;  // "no_critical_regression", "non_inferiority", "adequately_powered", "first_baseline"
  bool passed = false;
  std::string detail;
};

struct Review {
  std::string id;  // uuid
  std::string golden_set;
  int golden_set_version = 0;
  std::string target;
  std::string target_version_hash;
  std::string environment;
  std::string run_id;
  std::optional<std::string> baseline_run_id;  // the baseline when requested; none for a first sign-off
  std::string requested_by;
  std::string requested_at;  // UTC, "YYYY-MM-DDTHH:MM:SS.ffffffZ"
  std::string status;        // "open", "approved", "rejected"
  int min_approvals = 0;     // effective: max(requested, database floor)
  int approvals = 0;
  bool gates_passed = false;
  std::string evidence_sha256;
  std::optional<std::string> closed_at;
  std::string note;
};

struct DecisionRecord {
  std::int64_t id = 0;
  std::string reviewer;
  DecisionKind kind = DecisionKind::kApprove;
  std::string reason;
  std::optional<std::string> waiver_expires_at;  // UTC ISO; waivers only
  std::string evidence_sha256;
  std::string decided_at;  // UTC ISO
};

struct ReviewDetail {
  Review review;
  nlohmann::json evidence;                   // the frozen manifest; ContentHash(evidence) == evidence_sha256
  std::optional<nlohmann::json> comparison;  // as stored
  std::vector<Gate> gates;
  std::vector<DecisionRecord> decisions;  // in decision order
  // For open reviews: the manifest hash recomputed from the current state;
  // differs from evidence_sha256 when the evidence went stale.
  std::optional<std::string> current_evidence_sha256;
  bool waiver_in_force = false;  // an unexpired waiver exists
};

struct DecisionInput {
  std::string review_id;  // uuid
  std::string reviewer;   // principal
  DecisionKind kind = DecisionKind::kApprove;
  // The evidence hash the reviewer was shown (ReviewDetail::review.
  // evidence_sha256); the database refuses any other.
  std::string evidence_sha256;
  std::string reason;  // required for reject and waive
  // Required for waive (in the future), absent otherwise.
  std::optional<std::chrono::system_clock::time_point> waiver_expires_at;
};

struct ReviewFilter {
  std::optional<std::string> status;  // "open", "approved", "rejected"
  std::optional<std::string> target;
  std::optional<std::string> environment;
  int limit = 100;  // newest first
};

// Opens a review (gov.request_review) and returns it. The database resolves
// the current baseline, computes and freezes the evidence manifest, evaluates
// the gates and appends a "review.request" audit event.
Result<Review> RequestReview(store::Database& db, const ReviewRequest& request);

// Records one decision (gov.decide) and returns the review afterwards. The
// database refuses self-approval (the requester or the run's author), a
// second verdict or waiver by the same person, evidence other than the
// request's, stale evidence, approval while a gate fails without an
// unexpired waiver, and waivers by principals without a waiving role. The
// last required approval closes the review and moves the baseline and the
// environment pointer to the candidate.
Result<Review> Decide(store::Database& db, const DecisionInput& input);

// Reviews matching `filter`, newest first.
Result<std::vector<Review>> ListReviews(store::Database& db, const ReviewFilter& filter);

// One review with its evidence, gates and decisions. `review_id` is a uuid
// or a unique prefix of at least 8 characters.
Result<ReviewDetail> ShowReview(store::Database& db, const std::string& review_id);

struct RunEvidenceRecord {
  // gov.evidence_manifest of the run on its own (no baseline, environment,
  // comparison or tool build): its golden-set and target versions and the
  // run's provenance with digests of every result and score, exactly as a
  // review of the run would bind them.
  nlohmann::json manifest;
  // The scorer version's spec (engine build, judge and embeddings targets),
  // which the manifest names only by hash; null when none was recorded.
  nlohmann::json scorer_spec;
};

// The evidence of one run, for reports of runs with or without a review.
// `run_id` is a uuid; kNotFound for an unknown run.
Result<RunEvidenceRecord> RunEvidence(store::Database& db, const std::string& run_id);

// The full uuid of the review whose id starts with `prefix` (≥ 8
// characters). kNotFound when none, kInvalidInput when ambiguous.
Result<std::string> ResolveReviewId(store::Database& db, const std::string& prefix);

}  // namespace dw::governance
