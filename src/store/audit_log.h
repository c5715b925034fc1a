// Appending to the hash-chained audit log (audit.append in the database).
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "core/status.h"

namespace pqxx {
class dbtransaction;
}

namespace dw::store {

// Appends one event inside the caller's transaction, so the event commits or
// rolls back with the change it records, and returns its sequence number in
// the chain. The payload is stored as canonical JSON text and covered by the
// chain hash. The one way every module records a state change.
// kInvalidInput for an empty actor, object type or object id, or an action
// not matching [a-z][a-z0-9_.-]{0,63}; kPermissionDenied when the
// connection's role may not execute audit.append; other database failures
// as ErrorFromCurrentException maps them. After a database error the
// transaction is aborted and must be rolled back.
Result<std::int64_t> AppendAudit(pqxx::dbtransaction& tx, const std::string& actor, const std::string& action,
                                 const std::string& object_type, const std::string& object_id,
                                 const nlohmann::json& payload);

}  // namespace dw::store
