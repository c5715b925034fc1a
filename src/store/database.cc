#include "store/database.h"

#include <algorithm>
#include <chrono>
#include <pqxx/pqxx>
#include <thread>

namespace dw::store {

Error ErrorFromCurrentException(const std::string& context) {
  const std::string prefix = context.empty() ? "" : context + ": ";
  try {
    throw;
  } catch (const pqxx::broken_connection& e) {
    return {ErrorKind::kUnavailable, prefix + "database connection failed: " + std::string(e.what())};
  } catch (const pqxx::insufficient_privilege& e) {
    return {ErrorKind::kPermissionDenied, prefix + "permission denied: " + std::string(e.what())};
  } catch (const pqxx::unique_violation& e) {
    return {ErrorKind::kConflict, prefix + std::string(e.what())};
  } catch (const pqxx::sql_error& e) {
    std::string what = e.what();
    if (e.sqlstate() == "P0001") return {ErrorKind::kConflict, prefix + what};
    if (e.sqlstate().rfind("08", 0) == 0) return {ErrorKind::kUnavailable, prefix + what};
    if (e.sqlstate() == "57P01" || e.sqlstate() == "57P02" || e.sqlstate() == "57P03")
      return {ErrorKind::kUnavailable, prefix + what};
    return {ErrorKind::kInternal, prefix + what};
  } catch (const pqxx::in_doubt_error& e) {
    return {ErrorKind::kUnavailable, prefix + "commit outcome unknown: " + std::string(e.what())};
  } catch (const pqxx::failure& e) {
    return {ErrorKind::kUnavailable, prefix + std::string(e.what())};
  } catch (const std::exception& e) {
    return {ErrorKind::kInternal, prefix + std::string(e.what())};
  }
}

Status Guard(const std::string& context, const std::function<Status()>& fn) {
  try {
    return fn();
  } catch (...) {
    return Fail(ErrorFromCurrentException(context));
  }
}

struct Database::Impl {
  explicit Impl(const std::string& url) : conn(url) {}
  pqxx::connection conn;
};

Database::Database(std::string url, std::unique_ptr<Impl> impl) : url_(std::move(url)), impl_(std::move(impl)) {}

Database::~Database() = default;

Result<std::unique_ptr<Database>> Database::Connect(const std::string& url) {
  try {
    auto impl = std::make_unique<Impl>(url);
    return std::unique_ptr<Database>(new Database(url, std::move(impl)));
  } catch (...) {
    return Fail(ErrorFromCurrentException("connect"));
  }
}

Status Database::Reconnect() {
  try {
    impl_ = std::make_unique<Impl>(url_);
    return Ok();
  } catch (...) {
    return Fail(ErrorFromCurrentException("reconnect"));
  }
}

Status WithReconnect(Database& db, double retry_seconds, const std::function<Status()>& attempt) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(retry_seconds);
  int pauses = 0;
  Status status = attempt();
  while (!status && status.error().kind == ErrorKind::kUnavailable && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(std::min(2000, 100 << std::min(pauses++, 4))));
    if (db.Reconnect()) status = attempt();
  }
  return status;
}

pqxx::connection_base& Database::connection() { return impl_->conn; }

Status Database::Transact(const std::function<Status(pqxx::dbtransaction&)>& body) {
  return Guard("", [&]() -> Status {
    pqxx::work tx(impl_->conn);
    Status status = body(tx);
    if (!status) return status;  // tx destructor rolls back
    tx.commit();
    return Ok();
  });
}

Status Database::ExecuteNonTransactional(const std::string& sql) {
  return Guard("", [&]() -> Status {
    pqxx::nontransaction tx(impl_->conn);
    tx.exec0(sql);
    return Ok();
  });
}

}  // namespace dw::store
