#include "store/audit_log.h"

#include <pqxx/pqxx>

#include "core/hash.h"

namespace dw::store {

Status AppendAudit(pqxx::dbtransaction& tx, const std::string& actor, const std::string& action,
                   const std::string& object_type, const std::string& object_id, const nlohmann::json& payload) {
  tx.exec_params("SELECT audit.append($1, $2, $3, $4, $5)", actor, action, object_type, object_id,
                 CanonicalJson(payload));
  return Ok();
}

}  // namespace dw::store
