// The embedded default database: a private PostgreSQL cluster that
// Driftwatch initialises, starts and reuses under its data directory, so a
// newcomer needs no database set-up.
#pragma once

#include <memory>
#include <string>

#include "core/status.h"
#include "store/database.h"

namespace dw::store {

struct EmbeddedCluster {
  std::string data_dir;    // absolute path of the cluster's PGDATA
  std::string socket_dir;  // Unix socket directory (no TCP listener)
  std::string url;         // libpq connection string for database `dbname`
  // A connection to `url` when the cluster was found already running (the
  // check that proves it), for the caller to use instead of connecting
  // again; null otherwise.
  std::shared_ptr<Database> connection;
};

// Ensures a cluster exists under `<base_dir>/pg` and is running, and that
// database `dbname` exists in it; returns how to connect. Initialises with
// initdb on first use (trust auth on a private Unix socket; no TCP port).
// When running as root the cluster runs as the `postgres` user, as
// PostgreSQL refuses root. Safe to call from several processes at once (a
// file lock serialises start-up). Errors: kUnavailable with the server log's
// last lines when PostgreSQL cannot be found or started.
Result<EmbeddedCluster> EnsureEmbeddedCluster(const std::string& base_dir, const std::string& dbname = "driftwatch");

// Stops the cluster under `<base_dir>/pg` if it runs (fast shutdown).
Status StopEmbeddedCluster(const std::string& base_dir);

// Directory holding initdb/pg_ctl: $DRIFTWATCH_PG_BINDIR, else the newest
// /usr/lib/postgresql/*/bin, else the directory of `pg_ctl` on PATH.
Result<std::string> FindPostgresBinDir();

}  // namespace dw::store
