// The audit chain: appending, the C++ verifier, and tampering by a superuser
// (triggers disabled), which must be reported at the exact sequence number.
#include "governance/audit.h"

#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "core/hash.h"
#include "gov_fixture.h"
#include "store/audit_log.h"
#include "store/migrations.h"

namespace dw::governance::testing {
namespace {

using ::testing::HasSubstr;
using store::AppendAudit;

class AuditChainTest : public GovernanceTest {
 protected:
  // The migrations leave two events (the seeded approval floors); this adds
  // four more.
  void SetUp() override {
    GovernanceTest::SetUp();
    for (int i = 0; i < 4; ++i) {
      Status status = db_->Transact([&](pqxx::dbtransaction& tx) -> Status {
        auto seq = AppendAudit(tx, "alice", "test.event", "thing", "thing-" + std::to_string(i),
                               {{"i", i}, {"note", "zoë ✓"}});
        if (!seq) return Fail(seq.error());
        return Ok();
      });
      ASSERT_TRUE(status) << status.error().message;
    }
    ASSERT_EQ(tdb_.Query("SELECT count(*) FROM audit.event"), std::to_string(kEvents));
  }

  VerifyReport Verify() {
    auto report = VerifyAudit(*db_);
    EXPECT_TRUE(report) << report.error().message;
    return report ? *report : VerifyReport{};
  }

  // Runs `sql` as the superuser with the append-only triggers disabled.
  void AsSuperuser(const std::string& sql) {
    ASSERT_EQ(tdb_.Exec("ALTER TABLE audit.event DISABLE TRIGGER USER; " + sql +
                        "; ALTER TABLE audit.event ENABLE TRIGGER USER;"),
              "");
  }

  static constexpr int kEvents = 6;
};

TEST_F(AuditChainTest, AppendReturnsGaplessSequenceNumbers) {
  std::vector<std::int64_t> seqs;
  for (int i = 0; i < 3; ++i) {
    Status status = db_->Transact([&](pqxx::dbtransaction& tx) -> Status {
      auto seq = AppendAudit(tx, "bob", "config.reload", "config", "driftwatch.yaml", nlohmann::json::object());
      if (!seq) return Fail(seq.error());
      seqs.push_back(*seq);
      return Ok();
    });
    ASSERT_TRUE(status) << status.error().message;
  }
  EXPECT_EQ(seqs, (std::vector<std::int64_t>{kEvents + 1, kEvents + 2, kEvents + 3}));
}

TEST_F(AuditChainTest, AnAppendRolledBackWithItsTransactionLeavesNoGap) {
  Status aborted = db_->Transact([&](pqxx::dbtransaction& tx) -> Status {
    auto seq = AppendAudit(tx, "bob", "goldenset.publish", "golden_set", "faq", {{"version", 2}});
    EXPECT_TRUE(seq);
    return Fail(ErrorKind::kConflict, "publish failed later");
  });
  ASSERT_FALSE(aborted);
  std::int64_t next = 0;
  ASSERT_TRUE(db_->Transact([&](pqxx::dbtransaction& tx) -> Status {
    next = AppendAudit(tx, "bob", "goldenset.publish", "golden_set", "faq", {{"version", 2}}).value_or(-1);
    return Ok();
  }));
  EXPECT_EQ(next, kEvents + 1);
  EXPECT_TRUE(Verify().ok());
}

TEST_F(AuditChainTest, ThePayloadIsStoredAsCanonicalJson) {
  EXPECT_EQ(tdb_.Query("SELECT payload FROM audit.event WHERE seq = 3"), "{\"i\":0,\"note\":\"zoë ✓\"}");
}

TEST_F(AuditChainTest, AMalformedActionIsInvalidInput) {
  Status status = db_->Transact([&](pqxx::dbtransaction& tx) -> Status {
    auto seq = AppendAudit(tx, "bob", "Config Reload", "config", "x", nlohmann::json::object());
    if (!seq) return Fail(seq.error());
    return Ok();
  });
  ASSERT_FALSE(status);
  EXPECT_EQ(status.error().kind, ErrorKind::kInvalidInput);
}

AuditEvent NonAsciiEvent(int hash_version) {
  AuditEvent event;
  event.seq = 42;
  event.occurred_at = "2026-03-01T12:34:56.123456Z";
  event.actor = "zoë";
  event.db_role = "rôle_runner";
  event.action = "review.approve";
  event.object_type = "review";
  event.object_id = "ü/1";
  event.payload = "{\"k\":\"✓\"}";
  event.prev_hash = std::string(64, 'c');
  event.hash_version = hash_version;
  return event;
}

TEST_F(AuditChainTest, TheCxxFormat1RowHashEqualsTheDatabaseFunctionForNonAsciiFields) {
  std::string expected = tdb_.Query(
      "SELECT audit.row_hash(repeat('c', 64), 42, '2026-03-01T12:34:56.123456Z'::timestamptz, 'zoë', "
      "'review.approve', 'review', 'ü/1', '{\"k\":\"✓\"}')");
  EXPECT_EQ(AuditRowHash(NonAsciiEvent(kAuditHashV1)), expected);
}

TEST_F(AuditChainTest, TheCxxFormat2RowHashEqualsTheDatabaseFunctionForNonAsciiFields) {
  std::string expected = tdb_.Query(
      "SELECT audit.row_hash_v2(repeat('c', 64), 42, '2026-03-01T12:34:56.123456Z'::timestamptz, 'zoë', "
      "'rôle_runner', 'review.approve', 'review', 'ü/1', '{\"k\":\"✓\"}')");
  EXPECT_EQ(AuditRowHash(NonAsciiEvent(kAuditHashV2)), expected);
}

TEST_F(AuditChainTest, OnlyTheFormat2RowHashDependsOnTheDbRole) {
  AuditEvent v1 = NonAsciiEvent(kAuditHashV1), v2 = NonAsciiEvent(kAuditHashV2);
  const std::string v1_hash = AuditRowHash(v1), v2_hash = AuditRowHash(v2);
  v1.db_role = v2.db_role = "postgres";
  EXPECT_EQ(AuditRowHash(v1), v1_hash);
  EXPECT_NE(AuditRowHash(v2), v2_hash);
  EXPECT_NE(v1_hash, v2_hash);
}

TEST_F(AuditChainTest, AnUnknownHashFormatMatchesNoRow) { EXPECT_EQ(AuditRowHash(NonAsciiEvent(3)), ""); }

TEST_F(AuditChainTest, RowsAppendedBeforeV0005KeepFormat1AndNewRowsUseFormat2) {
  // The two seeded approval floors were appended by V0003, before V0005.
  EXPECT_EQ(tdb_.Query("SELECT string_agg(hash_version::text, ',' ORDER BY seq) FROM audit.event"), "1,1,2,2,2,2");
  EXPECT_EQ(tdb_.Query("SELECT bool_and(row_hash = audit.row_hash(prev_hash, seq, occurred_at, actor, action, "
                       "object_type, object_id, payload)) FROM audit.event WHERE seq <= 2"),
            "t");
  EXPECT_EQ(tdb_.Query("SELECT bool_and(row_hash = audit.row_hash_v2(prev_hash, seq, occurred_at, actor, db_role, "
                       "action, object_type, object_id, payload)) FROM audit.event WHERE seq > 2"),
            "t");
  EXPECT_TRUE(Verify().ok());
}

TEST_F(AuditChainTest, FormatsTimesAsTheHashDoes) {
  EXPECT_EQ(FormatAuditTime(1772368496123456), "2026-03-01T12:34:56.123456Z");
  EXPECT_EQ(FormatAuditTime(0), "1970-01-01T00:00:00.000000Z");
}

TEST_F(AuditChainTest, AnIntactChainVerifiesWithItsHead) {
  VerifyReport report = Verify();
  EXPECT_TRUE(report.ok()) << report.message;
  EXPECT_EQ(report.events, kEvents);
  EXPECT_EQ(report.last_seq, kEvents);
  EXPECT_EQ(report.head_hash, tdb_.Query("SELECT last_hash FROM audit.chain_head"));
  EXPECT_EQ(report.first_bad_seq, 0);
}

TEST_F(AuditChainTest, TheOwnerCannotUpdateDeleteOrTruncateEvents) {
  EXPECT_THAT(tdb_.Exec("UPDATE audit.event SET actor = 'mallory' WHERE seq = 3"),
              HasSubstr("UPDATE on audit.event is not allowed"));
  EXPECT_THAT(tdb_.Exec("DELETE FROM audit.event WHERE seq = 3"), HasSubstr("DELETE on audit.event is not allowed"));
  EXPECT_THAT(tdb_.Exec("TRUNCATE audit.event"), HasSubstr("TRUNCATE on audit.event is not allowed"));
  EXPECT_TRUE(Verify().ok());
}

struct Tamper {
  const char* column;
  const char* alter;    // SET clause that changes the column
  const char* restore;  // SET clause that undoes it
};

class AuditTamperTest : public AuditChainTest, public ::testing::WithParamInterface<Tamper> {};

TEST_P(AuditTamperTest, AlteringTheColumnInAnyRowIsReportedAtThatRow) {
  const Tamper& tamper = GetParam();
  for (int seq = 1; seq <= kEvents; ++seq) {
    const std::string where = " WHERE seq = " + std::to_string(seq);
    AsSuperuser(std::string("UPDATE audit.event SET ") + tamper.alter + where);
    VerifyReport report = Verify();
    EXPECT_EQ(report.problem, AuditProblem::kHashMismatch) << tamper.column << " of " << seq;
    EXPECT_EQ(report.first_bad_seq, seq) << tamper.column << " of " << seq << ": " << report.message;
    AsSuperuser(std::string("UPDATE audit.event SET ") + tamper.restore + where);
  }
  EXPECT_TRUE(Verify().ok());
}

INSTANTIATE_TEST_SUITE_P(
    EveryHashedColumn, AuditTamperTest,
    ::testing::Values(Tamper{"payload", "payload = payload || ' '", "payload = left(payload, -1)"},
                      Tamper{"actor", "actor = actor || 'x'", "actor = left(actor, -1)"},
                      Tamper{"action", "action = action || 'x'", "action = left(action, -1)"},
                      Tamper{"object_type", "object_type = object_type || 'x'", "object_type = left(object_type, -1)"},
                      Tamper{"object_id", "object_id = object_id || 'x'", "object_id = left(object_id, -1)"},
                      Tamper{"occurred_at", "occurred_at = occurred_at + interval '1 microsecond'",
                             "occurred_at = occurred_at - interval '1 microsecond'"},
                      Tamper{"prev_hash", "prev_hash = prev_hash || 'x'", "prev_hash = left(prev_hash, -1)"},
                      Tamper{"row_hash", "row_hash = row_hash || 'x'", "row_hash = left(row_hash, -1)"},
                      Tamper{"hash_version", "hash_version = 3 - hash_version", "hash_version = 3 - hash_version"}),
    [](const ::testing::TestParamInfo<Tamper>& info) { return std::string(info.param.column); });

TEST_F(AuditChainTest, AlteringTheDbRoleOfAnyFormat2RowIsReportedAtThatRow) {
  for (int seq = 3; seq <= kEvents; ++seq) {
    const std::string where = " WHERE seq = " + std::to_string(seq);
    AsSuperuser("UPDATE audit.event SET db_role = db_role || 'x'" + where);
    VerifyReport report = Verify();
    EXPECT_EQ(report.problem, AuditProblem::kHashMismatch) << seq;
    EXPECT_EQ(report.first_bad_seq, seq) << report.message;
    AsSuperuser("UPDATE audit.event SET db_role = left(db_role, -1)" + where);
  }
  EXPECT_TRUE(Verify().ok());
}

TEST_F(AuditChainTest, DowngradingARowToFormat1ToHideADbRoleChangeIsReportedAtThatRow) {
  AsSuperuser(
      "UPDATE audit.event SET db_role = 'dw_reviewer', hash_version = 1, "
      "row_hash = audit.row_hash(prev_hash, seq, occurred_at, actor, action, object_type, object_id, payload) "
      "WHERE seq = 4");
  VerifyReport report = Verify();
  EXPECT_EQ(report.problem, AuditProblem::kRewritten);
  EXPECT_EQ(report.first_bad_seq, 4) << report.message;
}

TEST_F(AuditChainTest, DeletingAnyRowIsReportedAtItsSequenceNumber) {
  ASSERT_EQ(tdb_.Exec("CREATE TABLE public.audit_saved (LIKE audit.event)"), "");
  for (int seq = 1; seq <= kEvents; ++seq) {
    const std::string n = std::to_string(seq);
    AsSuperuser("WITH d AS (DELETE FROM audit.event WHERE seq = " + n +
                " RETURNING *) INSERT INTO public.audit_saved SELECT * FROM d");
    VerifyReport report = Verify();
    EXPECT_EQ(report.first_bad_seq, seq) << report.message;
    EXPECT_EQ(report.problem, seq < kEvents ? AuditProblem::kGap : AuditProblem::kHeadMismatch) << seq;
    AsSuperuser("INSERT INTO audit.event SELECT * FROM public.audit_saved; DELETE FROM public.audit_saved");
  }
  EXPECT_TRUE(Verify().ok());
}

TEST_F(AuditChainTest, ARowAlteredAndRehashedIsReportedAtItsOwnSequenceNumber) {
  AsSuperuser(
      "UPDATE audit.event SET payload = '{\"i\":99}', "
      "row_hash = audit.row_hash_v2(prev_hash, seq, occurred_at, actor, db_role, action, object_type, object_id, "
      "'{\"i\":99}') WHERE seq = 4");
  VerifyReport report = Verify();
  EXPECT_EQ(report.problem, AuditProblem::kRewritten);
  EXPECT_EQ(report.first_bad_seq, 4);
  EXPECT_THAT(report.message, HasSubstr("event 5 still links to its original hash"));
}

TEST_F(AuditChainTest, RowsAddedBehindTheHeadAreReported) {
  AsSuperuser(
      "INSERT INTO audit.event (seq, occurred_at, actor, db_role, action, object_type, object_id, payload, "
      "prev_hash, row_hash) SELECT 7, occurred_at, 'mallory', 'x', 'review.approve', 'review', 'r', '{}', row_hash, "
      "audit.row_hash_v2(row_hash, 7, occurred_at, 'mallory', 'x', 'review.approve', 'review', 'r', '{}') "
      "FROM audit.event WHERE seq = 6");
  VerifyReport report = Verify();
  EXPECT_EQ(report.problem, AuditProblem::kHeadMismatch);
  EXPECT_EQ(report.first_bad_seq, 7);
}

TEST_F(AuditChainTest, TheExportIsOneCanonicalJsonLinePerEventAndVerifiesOffline) {
  std::ostringstream out;
  auto exported = ExportAudit(*db_, out);
  ASSERT_TRUE(exported) << exported.error().message;
  EXPECT_EQ(*exported, kEvents);

  std::istringstream lines(out.str());
  std::string first;
  std::getline(lines, first);
  auto event = AuditEventFromJson(nlohmann::json::parse(first));
  ASSERT_TRUE(event);
  EXPECT_EQ(event->seq, 1);
  EXPECT_EQ(event->actor, "driftwatch-migrate");
  EXPECT_EQ(event->action, "policy.set");
  EXPECT_EQ(event->hash_version, kAuditHashV1);
  EXPECT_EQ(event->row_hash, AuditRowHash(*event));

  std::istringstream in(out.str());
  auto report = VerifyAuditExport(in);
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_TRUE(report->ok()) << report->message;
  EXPECT_EQ(report->events, kEvents);
  EXPECT_EQ(report->head_hash, tdb_.Query("SELECT last_hash FROM audit.chain_head"));
}

TEST_F(AuditChainTest, AnAlteredExportLineIsReportedAtItsSequenceNumber) {
  std::ostringstream out;
  ASSERT_TRUE(ExportAudit(*db_, out));
  std::istringstream lines(out.str());
  std::string edited, line;
  while (std::getline(lines, line)) {
    auto json = nlohmann::json::parse(line);
    if (json["seq"] == 4) json["actor"] = "mallory";
    edited += json.dump() + "\n";
  }
  std::istringstream in(edited);
  auto report = VerifyAuditExport(in);
  ASSERT_TRUE(report);
  EXPECT_EQ(report->problem, AuditProblem::kHashMismatch);
  EXPECT_EQ(report->first_bad_seq, 4);
}

TEST_F(AuditChainTest, AnExportLineWithoutHashVersionIsReadAsFormat1) {
  std::ostringstream out;
  ASSERT_TRUE(ExportAudit(*db_, out));
  std::istringstream lines(out.str());
  std::string first;
  std::getline(lines, first);
  auto json = nlohmann::json::parse(first);
  ASSERT_EQ(json.at("hash_version"), 1);
  json.erase("hash_version");
  auto event = AuditEventFromJson(json);
  ASSERT_TRUE(event) << event.error().message;
  EXPECT_EQ(event->hash_version, kAuditHashV1);
  EXPECT_EQ(AuditRowHash(*event), event->row_hash);
}

TEST_F(AuditChainTest, AMalformedExportLineIsInvalidInputNamingTheLine) {
  std::istringstream in("{\"seq\":1}\n");
  auto report = VerifyAuditExport(in);
  ASSERT_FALSE(report);
  EXPECT_EQ(report.error().kind, ErrorKind::kInvalidInput);
  EXPECT_THAT(report.error().message, HasSubstr("line 1: field 'chain' must be a string"));
}

// A database written by a driftwatch build from before V0005 (its events are
// all format 1) is upgraded; its old events still verify, chained with the
// format 2 events appended after the upgrade.
TEST(AuditUpgradeTest, EventsAppendedBeforeV0005StillVerifyAfterTheUpgrade) {
  dw::testing::TestDatabase tdb(/*migrated=*/false);
  // The migration history table as store/migrations.cc creates it.
  ASSERT_EQ(tdb.Exec("CREATE SCHEMA ops; CREATE TABLE ops.schema_migration (version int PRIMARY KEY, "
                     "name text NOT NULL, sha256 text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now(), "
                     "applied_by text NOT NULL DEFAULT session_user, exec_ms int NOT NULL)"),
            "");
  int applied_by_hand = 0;
  for (const auto& migration : store::EmbeddedMigrations()) {
    const std::string file = migration.file;
    if (file >= "V0005") break;
    ASSERT_EQ(tdb.Exec(migration.sql), "") << file;
    ASSERT_EQ(tdb.Exec("INSERT INTO ops.schema_migration (version, name, sha256, exec_ms) VALUES (" +
                       std::to_string(std::stoi(file.substr(1, 4))) + ", '" + file.substr(7, file.size() - 11) +
                       "', '" + Sha256Hex(migration.sql) + "', 0)"),
              "")
        << file;
    ++applied_by_hand;
  }
  ASSERT_EQ(applied_by_hand, 4);
  ASSERT_EQ(tdb.Query("SELECT to_regprocedure('audit.row_hash_v2(text,bigint,timestamptz,text,text,text,text,text,"
                      "text)') IS NULL"),
            "t");
  for (int i = 0; i < 3; ++i)
    ASSERT_EQ(
        tdb.Exec("SELECT audit.append('old-binary', 'test.event', 'thing', 'old-" + std::to_string(i) + "', '{}')"),
        "");

  auto db = tdb.Connect();
  auto applied = store::Migrate(*db);
  ASSERT_TRUE(applied) << applied.error().message;
  EXPECT_EQ(*applied, static_cast<int>(store::EmbeddedMigrations().size()) - applied_by_hand);
  for (int i = 0; i < 2; ++i) {
    Status status = db->Transact([&](pqxx::dbtransaction& tx) -> Status {
      return AsStatus(AppendAudit(tx, "new-binary", "test.event", "thing", "new-" + std::to_string(i), {{"i", i}}));
    });
    ASSERT_TRUE(status) << status.error().message;
  }

  EXPECT_EQ(tdb.Query("SELECT string_agg(hash_version::text, ',' ORDER BY seq) FROM audit.event"), "1,1,1,1,1,2,2");
  auto report = VerifyAudit(*db);
  ASSERT_TRUE(report) << report.error().message;
  EXPECT_TRUE(report->ok()) << report->message;
  EXPECT_EQ(report->events, 7);
}

}  // namespace
}  // namespace dw::governance::testing
