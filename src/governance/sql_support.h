// Internal helpers shared by the governance sources: transactions that map
// the governance functions' SQLSTATEs to error kinds. Not part of the API.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "core/status.h"
#include "store/database.h"

namespace pqxx {
class dbtransaction;
class field;
}  // namespace pqxx

namespace dw::governance::internal {

// Runs `body` in one transaction on `db`. SQL errors raised by the database
// become Errors prefixed with `context`: no_data_found (P0002) → kNotFound,
// invalid parameter / check violation → kInvalidInput, insufficient_privilege
// → kPermissionDenied, raise_exception (P0001) and unique violations →
// kConflict; anything else as store::ErrorFromCurrentException maps it.
Status RunTransaction(store::Database& db, const std::string& context,
                      const std::function<Status(pqxx::dbtransaction&)>& body);

// SQL expression formatting the timestamptz expression `column` as
// "YYYY-MM-DDTHH:MM:SS.ffffffZ" in UTC.
std::string IsoUtc(const std::string& column);

// The field's text, or nullopt for SQL NULL.
std::optional<std::string> OptionalText(const pqxx::field& field);

// True when `text` is a canonical lower-case UUID.
bool IsUuid(const std::string& text);

// True when `text` is exactly 64 lower-case hex digits.
bool IsSha256Hex(const std::string& text);

}  // namespace dw::governance::internal
