// Administrative governance settings, written only through SECURITY DEFINER
// functions granted to dw_migrator (the administrator's database role) and
// audited in the same transaction:
//  - per-environment approval floors: a review needs at least
//    max(requested, floor) distinct approvers; migrations seed production = 2
//    and staging = 1, other environments default to 1;
//  - application roles (gov.app_role) held by principals; a role with
//    may_waive (seeded: "release_manager") lets its holders waive failed gates.
//
// Functions take a caller-owned Database and run one transaction; thread-
// safety is the Database's. Errors: kInvalidInput for malformed names or
// numbers, kNotFound for an unknown role, kConflict for a grant that already
// holds or a revocation that does not, kPermissionDenied for roles other than
// dw_migrator (writes) or without SELECT on gov (reads).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "core/status.h"
#include "store/database.h"

namespace dw::governance {

// Sets the approval floor of `environment` (1–10) on behalf of principal
// `actor`.
Status SetApprovalFloor(store::Database& db, const std::string& actor, const std::string& environment,
                        int min_approvals);

// The current floor of every environment that has one.
Result<std::map<std::string, int>> ApprovalFloors(store::Database& db);

// Grants `app_role` to `principal` on behalf of `actor` (who may not be the
// principal), with a reason for the record.
Status GrantAppRole(store::Database& db, const std::string& actor, const std::string& principal,
                    const std::string& app_role, const std::string& reason);

// Revokes `app_role` from `principal` on behalf of `actor`.
Status RevokeAppRole(store::Database& db, const std::string& actor, const std::string& principal,
                     const std::string& app_role, const std::string& reason);

// The application roles `principal` holds now, sorted.
Result<std::vector<std::string>> AppRolesOf(store::Database& db, const std::string& principal);

}  // namespace dw::governance
