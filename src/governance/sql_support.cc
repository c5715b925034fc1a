#include "governance/sql_support.h"

#include <regex>

#include <pqxx/pqxx>

namespace dw::governance::internal {
namespace {

// "ERROR:  driftwatch: x\nCONTEXT: ..." → "driftwatch: x".
std::string FirstLine(const std::string& what) {
  std::string line = what.substr(0, what.find('\n'));
  for (const char* prefix : {"ERROR:  ", "ERROR: "}) {
    if (line.rfind(prefix, 0) == 0) return line.substr(std::string(prefix).size());
  }
  return line;
}

Error MapSqlError(const pqxx::sql_error& e, const std::string& context) {
  const std::string& state = e.sqlstate();
  const std::string message = context + ": " + FirstLine(e.what());
  if (state == "P0002") return {ErrorKind::kNotFound, message};
  if (state == "22023" || state == "22P02" || state == "23514" || state == "22001" || state == "23502")
    return {ErrorKind::kInvalidInput, message};
  if (state == "42501") return {ErrorKind::kPermissionDenied, message};
  if (state == "P0001" || state == "23505" || state == "40001" || state == "40P01")
    return {ErrorKind::kConflict, message};
  return store::ErrorFromCurrentException(context);
}

}  // namespace

Status RunTransaction(store::Database& db, const std::string& context,
                      const std::function<Status(pqxx::dbtransaction&)>& body) {
  bool body_failed = false;
  Status status = db.Transact([&](pqxx::dbtransaction& tx) -> Status {
    Status result;
    try {
      result = body(tx);
    } catch (const pqxx::sql_error& e) {
      result = Fail(MapSqlError(e, context));
    }
    body_failed = !result;
    return result;
  });
  if (!status && !body_failed) {
    // Raised at commit (deferred constraint triggers) and mapped by the store.
    return Fail(status.error().kind, context + ": " + FirstLine(status.error().message));
  }
  return status;
}

std::string IsoUtc(const std::string& column) {
  return "to_char((" + column + ") AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')";
}

std::optional<std::string> OptionalText(const pqxx::field& field) {
  if (field.is_null()) return std::nullopt;
  return std::string(field.c_str());
}

bool IsUuid(const std::string& text) {
  static const std::regex kUuid("^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$");
  return std::regex_match(text, kUuid);
}

bool IsSha256Hex(const std::string& text) {
  static const std::regex kHex("^[0-9a-f]{64}$");
  return std::regex_match(text, kHex);
}

}  // namespace dw::governance::internal
