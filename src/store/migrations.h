// Forward-only schema migrations embedded in the binary (migrations/V*.sql).
#pragma once

#include <string>
#include <vector>

#include "core/status.h"
#include "store/database.h"

namespace dw::store {

struct EmbeddedMigration {
  const char* file;  // "V0001__core_schema.sql"
  const char* sql;
};

// All migrations compiled into this binary, in version order. Generated.
const std::vector<EmbeddedMigration>& EmbeddedMigrations();

struct MigrationState {
  int version = 0;
  std::string name;
  std::string sha256;      // of the embedded file
  bool applied = false;
  std::string applied_at;  // ISO time, empty when pending
};

// Applies every pending migration, each in its own transaction, under a
// session advisory lock so concurrent callers serialise. Before applying,
// verifies that each applied migration's recorded sha256 matches the embedded
// file (kConflict naming the file otherwise) and that the database is not
// ahead of this binary. Idempotent. Returns how many were applied.
Result<int> Migrate(Database& db);

// Applied and pending migrations; fails the same checks as Migrate.
Result<std::vector<MigrationState>> GetMigrationStatus(Database& db);

// Ok when the schema is exactly current; kConflict with the reason otherwise.
Status CheckSchemaCurrent(Database& db);

}  // namespace dw::store
