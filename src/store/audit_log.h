// Appending to the hash-chained audit log (audit.append in the database).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "core/status.h"

namespace pqxx {
class dbtransaction;
}

namespace dw::store {

// Appends one event inside the caller's transaction, so the event commits or
// rolls back with the change it records. The payload is stored as canonical
// JSON text and covered by the chain hash.
Status AppendAudit(pqxx::dbtransaction& tx, const std::string& actor, const std::string& action,
                   const std::string& object_type, const std::string& object_id, const nlohmann::json& payload);

}  // namespace dw::store
