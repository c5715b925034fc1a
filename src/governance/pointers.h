// Baseline and environment pointers. Both move only when a review is
// approved (gov.decide); their full history is the append-only table
// gov.pointer_event, read here.
//
//  - baseline: per (golden set, target, environment), the signed-off run
//    that later runs are compared with;
//  - environment: per (target, environment), the target version deployed
//    there (e.g. "production").
//
// Functions take a caller-owned Database and run one read transaction;
// thread-safety is the Database's. Errors: kInvalidInput for a malformed
// environment, kPermissionDenied for roles without SELECT on gov (the
// reader), kUnavailable for a lost connection.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/status.h"
#include "store/database.h"

namespace dw::governance {

struct PointerEvent {
  std::int64_t seq = 0;
  std::string pointer;  // "baseline" or "environment"
  std::string target;
  std::string environment;
  std::optional<std::string> golden_set;  // baseline pointers only
  std::string run_id;                     // the approved run
  std::string target_version_hash;        // its target version
  std::optional<std::string> previous_run_id;
  std::optional<std::string> previous_target_version_hash;
  std::string review_id;
  std::string requested_by;            // who asked for the review
  std::vector<std::string> approvers;  // who approved it, in order
  std::string moved_at;                // UTC, "YYYY-MM-DDTHH:MM:SS.ffffffZ"
};

// Every move of `target`'s pointers (optionally in one environment), oldest
// first. Empty when nothing was ever approved.
Result<std::vector<PointerEvent>> TargetHistory(store::Database& db, const std::string& target,
                                                const std::optional<std::string>& environment = std::nullopt);

// The run id of the current baseline for (golden set name, target,
// environment), or nullopt when none was signed off.
Result<std::optional<std::string>> CurrentBaseline(store::Database& db, const std::string& golden_set,
                                                   const std::string& target, const std::string& environment);

// The version hash of the target version approved for `environment`, or
// nullopt when none was.
Result<std::optional<std::string>> CurrentTargetVersion(store::Database& db, const std::string& target,
                                                        const std::string& environment);

}  // namespace dw::governance
