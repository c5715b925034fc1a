// A PostgreSQL session. The only place (with store/*.cc) that touches libpqxx;
// everything above talks to repositories that return Result values.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "core/status.h"

namespace pqxx {
class connection_base;
class dbtransaction;
}  // namespace pqxx

namespace dw::store {

// One connection. Not thread-safe: use one Database per thread.
class Database {
 public:
  // Connects with a libpq URL or key=value string ("postgresql://..." or
  // "host=/path dbname=x"). kUnavailable when the server cannot be reached.
  static Result<std::unique_ptr<Database>> Connect(const std::string& url);
  ~Database();

  // Runs `body` in a read-committed transaction and commits it. Library
  // exceptions thrown by `body` are converted to an Error and the
  // transaction rolls back; `body` returns its own Status to abort cleanly.
  Status Transact(const std::function<Status(pqxx::dbtransaction&)>& body);

  // Runs one statement outside an explicit transaction (e.g. CREATE DATABASE).
  Status ExecuteNonTransactional(const std::string& sql);

  // Replaces the connection with a new one to the same URL (after the
  // server restarted or the connection broke). kUnavailable if the server
  // cannot be reached; the old connection is then kept.
  Status Reconnect();

  pqxx::connection_base& connection();
  const std::string& url() const { return url_; }

 private:
  struct Impl;  // holds the concrete pqxx::connection
  Database(std::string url, std::unique_ptr<Impl> impl);
  std::string url_;
  std::unique_ptr<Impl> impl_;
};

// Converts the exception currently being handled (inside a catch block) into
// an Error: broken connection → kUnavailable, unique violation → kConflict,
// a Driftwatch trigger refusal → kConflict, privilege → kPermissionDenied.
Error ErrorFromCurrentException(const std::string& context);

// Runs `fn` and converts any exception to an Error (see above).
Status Guard(const std::string& context, const std::function<Status()>& fn);

// Runs `attempt`; while it fails with kUnavailable (connection lost, server
// restarting), reconnects `db` and tries again, pausing 0.1 s doubling to
// 2 s, until `retry_seconds` have passed. Returns the first success, the
// first other error, or the last kUnavailable. `attempt` must be safe to
// repeat: a read, or an idempotent write in one transaction.
Status WithReconnect(Database& db, double retry_seconds, const std::function<Status()>& attempt);

}  // namespace dw::store
