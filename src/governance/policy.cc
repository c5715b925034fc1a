#include "governance/policy.h"

#include <pqxx/pqxx>

#include "governance/review.h"
#include "governance/sql_support.h"

namespace dw::governance {
namespace {

Status ChangeAppRole(store::Database& db, const std::string& action, const std::string& actor,
                     const std::string& principal, const std::string& app_role, const std::string& reason) {
  if (auto s = ValidatePrincipal(actor); !s) return s;
  if (auto s = ValidatePrincipal(principal); !s) return s;
  if (app_role.empty()) return Fail(ErrorKind::kInvalidInput, "an application role name is required");
  return internal::RunTransaction(db, "role " + action, [&](pqxx::dbtransaction& tx) -> Status {
    tx.exec_params("SELECT gov.change_app_role($1, $2, $3, $4, $5)", actor, principal, app_role, action, reason);
    return Ok();
  });
}

}  // namespace

Status SetApprovalFloor(store::Database& db, const std::string& actor, const std::string& environment,
                        int min_approvals) {
  if (auto s = ValidatePrincipal(actor); !s) return s;
  if (auto s = ValidateEnvironment(environment); !s) return s;
  if (min_approvals < 1 || min_approvals > 10)
    return Fail(ErrorKind::kInvalidInput, "min_approvals must be between 1 and 10");
  return internal::RunTransaction(db, "approval policy", [&](pqxx::dbtransaction& tx) -> Status {
    tx.exec_params("SELECT gov.set_approval_policy($1, $2, $3)", actor, environment, min_approvals);
    return Ok();
  });
}

Result<std::map<std::string, int>> ApprovalFloors(store::Database& db) {
  std::map<std::string, int> floors;
  Status status = internal::RunTransaction(db, "approval policy", [&](pqxx::dbtransaction& tx) -> Status {
    for (const auto& row : tx.exec("SELECT DISTINCT ON (environment) environment, min_approvals "
                                   "FROM gov.policy_event ORDER BY environment, seq DESC"))
      floors[row[0].as<std::string>()] = row[1].as<int>();
    return Ok();
  });
  if (!status) return Fail(status.error());
  return floors;
}

Status GrantAppRole(store::Database& db, const std::string& actor, const std::string& principal,
                    const std::string& app_role, const std::string& reason) {
  return ChangeAppRole(db, "grant", actor, principal, app_role, reason);
}

Status RevokeAppRole(store::Database& db, const std::string& actor, const std::string& principal,
                     const std::string& app_role, const std::string& reason) {
  return ChangeAppRole(db, "revoke", actor, principal, app_role, reason);
}

Result<std::vector<std::string>> AppRolesOf(store::Database& db, const std::string& principal) {
  if (auto s = ValidatePrincipal(principal); !s) return Fail(s.error());
  std::vector<std::string> roles;
  Status status = internal::RunTransaction(db, "application roles", [&](pqxx::dbtransaction& tx) -> Status {
    for (const auto& row : tx.exec_params(
             "SELECT app_role FROM (SELECT DISTINCT ON (app_role) app_role, action FROM gov.role_event "
             "WHERE lower(principal) = lower($1) ORDER BY app_role, seq DESC) latest "
             "WHERE action = 'grant' ORDER BY app_role",
             principal))
      roles.push_back(row[0].as<std::string>());
    return Ok();
  });
  if (!status) return Fail(status.error());
  return roles;
}

}  // namespace dw::governance
