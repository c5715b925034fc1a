#include "support/test_database.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>

#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "core/hash.h"
#include "store/embedded_postgres.h"
#include "store/migrations.h"

namespace dw::testing {
namespace {

std::string TemplateName() {
  std::string all;
  for (const auto& m : store::EmbeddedMigrations()) all += std::string(m.file) + m.sql;
  return "dw_template_" + Sha256Hex(all).substr(0, 16);
}

}  // namespace

std::string TestDatabase::ServerUrl() {
  static const std::string url = [] {
    if (const char* env = std::getenv("DRIFTWATCH_TEST_PG"); env && *env) return std::string(env);
    auto cluster = store::EnsureEmbeddedCluster(std::string(DRIFTWATCH_BINARY_DIR) + "/test-pg", "postgres");
    if (!cluster) {
      ADD_FAILURE() << "cannot start the test PostgreSQL: " << cluster.error().message;
      return std::string();
    }
    std::string u = cluster->url;
    u = u.substr(0, u.find(" dbname="));
    try {  // a throwaway test cluster needs no durability
      pqxx::connection conn(u + " dbname=postgres");
      pqxx::nontransaction tx(conn);
      tx.exec("ALTER SYSTEM SET fsync = off");
      tx.exec("ALTER SYSTEM SET synchronous_commit = off");
      tx.exec("ALTER SYSTEM SET full_page_writes = off");
      tx.exec("SELECT pg_reload_conf()");
    } catch (const std::exception& e) {
      ADD_FAILURE() << "cannot tune the test PostgreSQL: " << e.what();
    }
    return u;
  }();
  return url;
}

TestDatabase::TestDatabase(bool migrated) {
  std::string server = ServerUrl();
  if (server.empty()) return;
  static std::atomic<int> counter{0};
  name_ = "dwt_" + std::to_string(getpid()) + "_" + std::to_string(counter++);
  const std::string tmpl = TemplateName();
  try {
    pqxx::connection admin(server + " dbname=postgres");
    pqxx::nontransaction tx(admin);
    // Serialise template creation across test processes.
    tx.exec("SELECT pg_advisory_lock(77001)");
    if (tx.exec_params("SELECT 1 FROM pg_database WHERE datname = $1", tmpl).empty()) {
      tx.exec0("DROP DATABASE IF EXISTS " + tmpl + "_build");
      tx.exec0("CREATE DATABASE " + tmpl + "_build");
      {
        auto db = store::Database::Connect(server + " dbname=" + tmpl + "_build");
        if (!db) throw std::runtime_error(db.error().message);
        auto migrated = store::Migrate(**db);
        if (!migrated) throw std::runtime_error(migrated.error().message);
      }
      // The migrating backend may take a moment to exit after disconnecting.
      for (int attempt = 0;; ++attempt) {
        try {
          tx.exec0("ALTER DATABASE " + tmpl + "_build RENAME TO " + tmpl);
          break;
        } catch (const pqxx::sql_error&) {
          if (attempt >= 100) throw;
          usleep(50 * 1000);
        }
      }
    }
    tx.exec("SELECT pg_advisory_unlock(77001)");
    tx.exec0("DROP DATABASE IF EXISTS " + name_);
    tx.exec0("CREATE DATABASE " + name_ + " TEMPLATE " + (migrated ? tmpl : std::string("template0")));
    url_ = server + " dbname=" + name_;
  } catch (const std::exception& e) {
    ADD_FAILURE() << "cannot create test database: " << e.what();
  }
}

TestDatabase::~TestDatabase() {
  if (url_.empty()) return;
  try {
    pqxx::connection admin(ServerUrl() + " dbname=postgres");
    pqxx::nontransaction tx(admin);
    tx.exec0("DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
  } catch (const std::exception&) {
  }
}

std::unique_ptr<store::Database> TestDatabase::Connect() const {
  auto db = store::Database::Connect(url_);
  if (!db) {
    ADD_FAILURE() << db.error().message;
    return nullptr;
  }
  return std::move(*db);
}

std::string TestDatabase::Exec(const std::string& sql) const {
  try {
    pqxx::connection conn(url_);
    pqxx::work tx(conn);
    tx.exec(sql);
    tx.commit();
    return "";
  } catch (const std::exception& e) {
    return e.what();
  }
}

std::string TestDatabase::Query(const std::string& sql) const {
  try {
    pqxx::connection conn(url_);
    pqxx::work tx(conn);
    auto r = tx.exec(sql);
    if (r.empty() || r[0][0].is_null()) return "";
    return r[0][0].c_str();
  } catch (const std::exception& e) {
    return std::string("ERROR: ") + e.what();
  }
}

}  // namespace dw::testing
