#include "store/migrations.h"

#include <algorithm>
#include <map>

#include <pqxx/pqxx>

#include "core/hash.h"

namespace dw::store {
namespace {

constexpr long long kMigrationLockKey = 0x44726966747761LL;  // "Driftwa"

struct Parsed {
  const char* file;
  int version;
  std::string name;
  std::string sha256;
  const char* sql;
};

std::vector<Parsed> ParsedMigrations() {
  std::vector<Parsed> out;
  for (const auto& m : EmbeddedMigrations()) {
    std::string file = m.file;
    int version = std::stoi(file.substr(1, file.find("__") - 1));
    std::string name = file.substr(file.find("__") + 2);
    name = name.substr(0, name.size() - 4);
    out.push_back({m.file, version, name, Sha256Hex(m.sql), m.sql});
  }
  return out;
}

constexpr const char* kHistoryDdl = R"(
  CREATE SCHEMA IF NOT EXISTS ops;
  CREATE TABLE IF NOT EXISTS ops.schema_migration (
    version     int PRIMARY KEY,
    name        text NOT NULL,
    sha256      text NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now(),
    applied_by  text NOT NULL DEFAULT session_user,
    exec_ms     int NOT NULL
  );)";

// Recorded history, version → (name, sha256, applied_at).
struct Applied {
  std::string name, sha256, applied_at;
};

std::map<int, Applied> ReadHistory(pqxx::transaction_base& tx) {
  std::map<int, Applied> history;
  auto exists = tx.exec1("SELECT to_regclass('ops.schema_migration') IS NOT NULL");
  if (!exists[0].as<bool>()) return history;
  for (const auto& row : tx.exec("SELECT version, name, sha256, to_char(applied_at, 'YYYY-MM-DD\"T\"HH24:MI:SSOF') "
                                 "FROM ops.schema_migration ORDER BY version")) {
    history[row[0].as<int>()] = {row[1].as<std::string>(), row[2].as<std::string>(), row[3].as<std::string>()};
  }
  return history;
}

Status Validate(const std::map<int, Applied>& history, const std::vector<Parsed>& embedded) {
  std::map<int, const Parsed*> by_version;
  for (const auto& m : embedded) by_version[m.version] = &m;
  for (const auto& [version, applied] : history) {
    auto it = by_version.find(version);
    if (it == by_version.end())
      return Fail(ErrorKind::kConflict, "the database has migration V" + std::to_string(version) + " (" +
                                            applied.name + ") that this driftwatch build does not know; "
                                            "upgrade driftwatch");
    if (it->second->sha256 != applied.sha256)
      return Fail(ErrorKind::kConflict,
                  "migration " + std::string(it->second->file) + " was edited after it was applied (recorded sha256 " + applied.sha256.substr(0, 12) +
                      "…, embedded " + it->second->sha256.substr(0, 12) +
                      "…); applied migrations are immutable: restore the file and add a new migration instead");
  }
  return Ok();
}

}  // namespace

Result<int> Migrate(Database& db) {
  int applied_count = 0;
  auto embedded = ParsedMigrations();
  // The common case, a current schema, is one read without the lock.
  bool current = false;
  Status checked = Guard("migrate", [&]() -> Status {
    pqxx::read_transaction tx(db.connection());
    auto history = ReadHistory(tx);
    if (auto s = Validate(history, embedded); !s) return s;
    current = std::all_of(embedded.begin(), embedded.end(), [&](const Parsed& m) { return history.count(m.version); });
    return Ok();
  });
  if (!checked) return Fail(checked.error());
  if (current) return 0;
  Status status = Guard("migrate", [&]() -> Status {
    auto& conn = db.connection();
    {
      pqxx::nontransaction lock(conn);
      lock.exec("SELECT pg_advisory_lock(" + std::to_string(kMigrationLockKey) + ")");
    }
    struct Unlock {
      pqxx::connection_base& conn;
      ~Unlock() {
        try {
          pqxx::nontransaction tx(conn);
          tx.exec("SELECT pg_advisory_unlock(" + std::to_string(kMigrationLockKey) + ")");
        } catch (...) {
        }
      }
    } unlock{conn};
    {
      pqxx::work tx(conn);
      tx.exec(kHistoryDdl);
      tx.commit();
    }
    std::map<int, Applied> history;
    {
      pqxx::read_transaction tx(conn);
      history = ReadHistory(tx);
    }
    if (auto s = Validate(history, embedded); !s) return s;
    for (const auto& m : embedded) {
      if (history.count(m.version)) continue;
      auto start = std::chrono::steady_clock::now();
      pqxx::work tx(conn);
      tx.exec("SET LOCAL lock_timeout = '10s'");
      tx.exec(m.sql);
      auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
      tx.exec_params("INSERT INTO ops.schema_migration (version, name, sha256, exec_ms) VALUES ($1, $2, $3, $4)",
                     m.version, m.name, m.sha256, static_cast<int>(ms.count()));
      tx.commit();
      ++applied_count;
    }
    return Ok();
  });
  if (!status) return Fail(status.error());
  return applied_count;
}

Result<std::vector<MigrationState>> GetMigrationStatus(Database& db) {
  std::vector<MigrationState> states;
  auto embedded = ParsedMigrations();
  Status status = Guard("migration status", [&]() -> Status {
    pqxx::read_transaction tx(db.connection());
    auto history = ReadHistory(tx);
    if (auto s = Validate(history, embedded); !s) return s;
    for (const auto& m : embedded) {
      MigrationState state{m.version, m.name, m.sha256, false, ""};
      if (auto it = history.find(m.version); it != history.end()) {
        state.applied = true;
        state.applied_at = it->second.applied_at;
      }
      states.push_back(state);
    }
    return Ok();
  });
  if (!status) return Fail(status.error());
  return states;
}

Status CheckSchemaCurrent(Database& db) {
  auto states = GetMigrationStatus(db);
  if (!states) return Fail(states.error());
  for (const auto& s : *states)
    if (!s.applied)
      return Fail(ErrorKind::kConflict, "migration V" + std::to_string(s.version) + "__" + s.name +
                                            " is pending: run `driftwatch db migrate`");
  return Ok();
}

}  // namespace dw::store
