#include "store/audit_log.h"

#include <pqxx/pqxx>

#include "core/hash.h"
#include "store/database.h"

namespace dw::store {
namespace {

bool IsAuditAction(const std::string& action) {
  if (action.empty() || action.size() > 64 || action[0] < 'a' || action[0] > 'z') return false;
  for (char c : action) {
    bool allowed = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
    if (!allowed) return false;
  }
  return true;
}

}  // namespace

Result<std::int64_t> AppendAudit(pqxx::dbtransaction& tx, const std::string& actor, const std::string& action,
                                 const std::string& object_type, const std::string& object_id,
                                 const nlohmann::json& payload) {
  if (actor.empty()) return Fail(ErrorKind::kInvalidInput, "an audit event needs an actor");
  if (!IsAuditAction(action))
    return Fail(ErrorKind::kInvalidInput, "'" + action + "' is not an audit action (e.g. goldenset.publish)");
  if (object_type.empty() || object_id.empty())
    return Fail(ErrorKind::kInvalidInput, "an audit event needs an object type and id");
  try {
    auto row = tx.exec_params1("SELECT audit.append($1, $2, $3, $4, $5)", actor, action, object_type, object_id,
                               CanonicalJson(payload));
    return row[0].as<std::int64_t>();
  } catch (...) {
    return Fail(ErrorFromCurrentException("audit append"));
  }
}

}  // namespace dw::store
