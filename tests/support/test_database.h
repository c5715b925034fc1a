// A fresh, fully migrated PostgreSQL database per test, on a real server.
//
// The server is $DRIFTWATCH_TEST_PG (a libpq key=value string without
// dbname, e.g. "host=/tmp/x port=5432 user=postgres"), or else an embedded
// cluster under <build>/test-pg started on first use. A template database is
// migrated once per schema version; each TestDatabase clones it (fast) and
// drops the clone on destruction.
#pragma once

#include <memory>
#include <string>

#include "store/database.h"

namespace dw::testing {

class TestDatabase {
 public:
  // Creates the database (migrated unless `migrated` is false); fails the
  // current test (ADD_FAILURE) and leaves url() empty if the server is
  // unreachable.
  explicit TestDatabase(bool migrated = true);
  ~TestDatabase();
  TestDatabase(const TestDatabase&) = delete;
  TestDatabase& operator=(const TestDatabase&) = delete;

  // Connection string for this test's database.
  const std::string& url() const { return url_; }
  const std::string& name() const { return name_; }
  // Server connection string without dbname.
  static std::string ServerUrl();

  // A new connection to this database; aborts the test on failure.
  std::unique_ptr<store::Database> Connect() const;

  // Runs SQL as the superuser on this database; returns the error text, or
  // "" on success.
  std::string Exec(const std::string& sql) const;
  // First column of the first row as text ("" when no rows / NULL).
  std::string Query(const std::string& sql) const;

 private:
  std::string name_;
  std::string url_;
};

}  // namespace dw::testing
