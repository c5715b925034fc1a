#include "store/migrations.h"

#include <sys/wait.h>
#include <unistd.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "support/test_database.h"

namespace dw::store {
namespace {

using ::testing::HasSubstr;

TEST(Migrate, FreshDatabaseGetsEveryMigration) {
  testing::TestDatabase tdb(/*migrated=*/false);
  auto db = tdb.Connect();
  ASSERT_TRUE(db);
  auto applied = Migrate(*db);
  ASSERT_TRUE(applied) << applied.error().message;
  EXPECT_EQ(*applied, static_cast<int>(EmbeddedMigrations().size()));
  EXPECT_EQ(tdb.Query("SELECT count(*) FROM ops.schema_migration"), std::to_string(EmbeddedMigrations().size()));
  EXPECT_EQ(tdb.Query("SELECT to_regclass('run.result') IS NOT NULL"), "t");
  EXPECT_TRUE(CheckSchemaCurrent(*db));
}

TEST(Migrate, SecondRunAppliesNothing) {
  testing::TestDatabase tdb(false);
  auto db = tdb.Connect();
  ASSERT_TRUE(Migrate(*db));
  auto again = Migrate(*db);
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ(*again, 0);
}

TEST(Migrate, EditedAppliedMigrationIsAHardError) {
  testing::TestDatabase tdb;
  ASSERT_EQ(tdb.Exec("UPDATE ops.schema_migration SET sha256 = repeat('a', 64) WHERE version = 1"), "");
  auto db = tdb.Connect();
  auto applied = Migrate(*db);
  ASSERT_FALSE(applied);
  EXPECT_EQ(applied.error().kind, ErrorKind::kConflict);
  EXPECT_THAT(applied.error().message, HasSubstr("V0001__core_schema.sql was edited after it was applied"));
  EXPECT_FALSE(CheckSchemaCurrent(*db));
}

TEST(Migrate, DatabaseAheadOfTheBinaryIsRefused) {
  testing::TestDatabase tdb;
  ASSERT_EQ(tdb.Exec("INSERT INTO ops.schema_migration (version, name, sha256, exec_ms) "
                     "VALUES (9999, 'future', repeat('b', 64), 1)"),
            "");
  auto db = tdb.Connect();
  auto applied = Migrate(*db);
  ASSERT_FALSE(applied);
  EXPECT_THAT(applied.error().message, HasSubstr("V9999 (future) that this driftwatch build does not know"));
}

TEST(Migrate, TwoProcessesMigratingAtOnceApplyEachMigrationOnce) {
  testing::TestDatabase tdb(false);
  std::string url = tdb.url();
  pid_t children[2];
  for (pid_t& child : children) {
    child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      auto db = Database::Connect(url);
      if (!db) _exit(10);
      auto applied = Migrate(**db);
      _exit(applied ? 0 : 11);
    }
  }
  for (pid_t child : children) {
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 0);
  }
  EXPECT_EQ(tdb.Query("SELECT count(*) FROM ops.schema_migration"), std::to_string(EmbeddedMigrations().size()));
}

TEST(MigrationStatus, ListsPendingThenApplied) {
  testing::TestDatabase tdb(false);
  auto db = tdb.Connect();
  auto before = GetMigrationStatus(*db);
  ASSERT_TRUE(before) << before.error().message;
  ASSERT_FALSE(before->empty());
  EXPECT_FALSE((*before)[0].applied);
  EXPECT_FALSE(CheckSchemaCurrent(*db));
  ASSERT_TRUE(Migrate(*db));
  auto after = GetMigrationStatus(*db);
  ASSERT_TRUE(after);
  EXPECT_TRUE((*after)[0].applied);
  EXPECT_EQ((*after)[0].name, "core_schema");
  EXPECT_EQ((*after)[0].sha256.size(), 64u);
}

}  // namespace
}  // namespace dw::store
