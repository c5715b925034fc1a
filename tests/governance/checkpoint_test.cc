// Signed checkpoints: Ed25519 keys outside the database, and detection of a
// superuser's consistent rewrite or truncation against an exported
// checkpoint.
#include "governance/checkpoint.h"

#include <sys/stat.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "gov_fixture.h"
#include "support/temp_dir.h"
#include "store/audit_log.h"

namespace dw::governance::testing {
namespace {

using ::testing::HasSubstr;
using store::AppendAudit;

class CheckpointTest : public GovernanceTest {
 protected:
  void SetUp() override {
    GovernanceTest::SetUp();
    key_ = (dir_.path() / "audit.key").string();
    for (int i = 0; i < 4; ++i) {
      ASSERT_TRUE(db_->Transact([&](pqxx::dbtransaction& tx) -> Status {
        auto seq = AppendAudit(tx, "alice", "run.finish", "run", "run-" + std::to_string(i), {{"i", i}});
        if (!seq) return Fail(seq.error());
        return Ok();
      }));
    }
  }

  Checkpoint MustCheckpoint() {
    auto checkpoint = WriteCheckpoint(*db_, key_);
    EXPECT_TRUE(checkpoint) << checkpoint.error().message;
    return checkpoint ? *checkpoint : Checkpoint{};
  }

  VerifyReport VerifyWith(const Checkpoint& checkpoint) {
    auto report = VerifyAuditAgainstCheckpoint(*db_, checkpoint, key_);
    EXPECT_TRUE(report) << report.error().message;
    return report ? *report : VerifyReport{};
  }

  void AsSuperuser(const std::string& sql) {
    ASSERT_EQ(tdb_.Exec("ALTER TABLE audit.event DISABLE TRIGGER USER; " + sql +
                        "; ALTER TABLE audit.event ENABLE TRIGGER USER;"),
              "");
  }

  dw::testing::TempDir dir_;
  std::string key_;
};

TEST_F(CheckpointTest, AGeneratedKeyIsReadableOnlyByItsOwner) {
  ASSERT_TRUE(GenerateSigningKey(key_));
  struct stat st{};
  ASSERT_EQ(::stat(key_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(CheckpointTest, AnExistingKeyIsNeverOverwritten) {
  ASSERT_TRUE(GenerateSigningKey(key_));
  std::string before = dw::testing::ReadFile(key_);
  auto again = GenerateSigningKey(key_);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().kind, ErrorKind::kConflict);
  EXPECT_EQ(dw::testing::ReadFile(key_), before);
}

TEST_F(CheckpointTest, SignsTheHeadOfTheVerifiedChainCreatingTheKeyIfMissing) {
  Checkpoint checkpoint = MustCheckpoint();
  EXPECT_EQ(checkpoint.chain, "main");
  EXPECT_EQ(checkpoint.seq, 6);
  EXPECT_EQ(checkpoint.head_hash, tdb_.Query("SELECT last_hash FROM audit.chain_head"));
  EXPECT_EQ(checkpoint.signature.size(), 128u);
  EXPECT_TRUE(VerifyCheckpointSignature(checkpoint, key_));
  EXPECT_TRUE(VerifyWith(checkpoint).ok());
}

TEST_F(CheckpointTest, TheChainMayGrowAfterACheckpoint) {
  Checkpoint checkpoint = MustCheckpoint();
  ASSERT_TRUE(db_->Transact([&](pqxx::dbtransaction& tx) -> Status {
    auto seq = AppendAudit(tx, "bob", "run.start", "run", "run-9", nlohmann::json::object());
    if (!seq) return Fail(seq.error());
    return Ok();
  }));
  VerifyReport report = VerifyWith(checkpoint);
  EXPECT_TRUE(report.ok()) << report.message;
  EXPECT_EQ(report.last_seq, 7);
}

TEST_F(CheckpointTest, RoundTripsThroughAFileThatIsNeverOverwritten) {
  Checkpoint checkpoint = MustCheckpoint();
  std::string path = (dir_.path() / "checkpoint-6.json").string();
  ASSERT_TRUE(SaveCheckpoint(checkpoint, path));
  auto loaded = LoadCheckpoint(path);
  ASSERT_TRUE(loaded) << loaded.error().message;
  EXPECT_EQ(loaded->seq, checkpoint.seq);
  EXPECT_EQ(loaded->head_hash, checkpoint.head_hash);
  EXPECT_EQ(loaded->signature, checkpoint.signature);
  EXPECT_TRUE(VerifyCheckpointSignature(*loaded, key_));
  auto again = SaveCheckpoint(checkpoint, path);
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().kind, ErrorKind::kConflict);
}

TEST_F(CheckpointTest, AnAlteredCheckpointFailsItsSignature) {
  Checkpoint checkpoint = MustCheckpoint();
  checkpoint.seq = 3;
  auto signature = VerifyCheckpointSignature(checkpoint, key_);
  ASSERT_FALSE(signature);
  EXPECT_EQ(signature.error().kind, ErrorKind::kConflict);
  VerifyReport report = VerifyWith(checkpoint);
  EXPECT_EQ(report.problem, AuditProblem::kBadCheckpoint);
  EXPECT_THAT(report.message, HasSubstr("signature does not verify"));
}

TEST_F(CheckpointTest, ACheckpointSignedByAnotherKeyIsNotTrusted) {
  ASSERT_TRUE(GenerateSigningKey(key_));
  std::string other = (dir_.path() / "other.key").string();
  auto forged = WriteCheckpoint(*db_, other);
  ASSERT_TRUE(forged) << forged.error().message;
  VerifyReport report = VerifyWith(*forged);
  EXPECT_EQ(report.problem, AuditProblem::kBadCheckpoint);
  EXPECT_THAT(report.message, HasSubstr("not by the trusted key"));
}

TEST_F(CheckpointTest, ThePublicKeyAloneVerifiesCheckpoints) {
  Checkpoint checkpoint = MustCheckpoint();
  auto pem = PublicKeyPem(key_);
  ASSERT_TRUE(pem) << pem.error().message;
  EXPECT_THAT(*pem, HasSubstr("-----BEGIN PUBLIC KEY-----"));
  std::string public_path = dir_.WriteFile("audit.pub", *pem).string();
  EXPECT_TRUE(VerifyCheckpointSignature(checkpoint, public_path));
}

TEST_F(CheckpointTest, APublicKeyCannotSign) {
  ASSERT_TRUE(GenerateSigningKey(key_));
  std::string public_path = dir_.WriteFile("audit.pub", PublicKeyPem(key_).value_or("")).string();
  auto checkpoint = WriteCheckpoint(*db_, public_path);
  ASSERT_FALSE(checkpoint);
  EXPECT_EQ(checkpoint.error().kind, ErrorKind::kInvalidInput);
}

TEST_F(CheckpointTest, APrivateKeyReadableByOthersIsRefused) {
  ASSERT_TRUE(GenerateSigningKey(key_));
  ASSERT_EQ(::chmod(key_.c_str(), 0644), 0);
  auto checkpoint = WriteCheckpoint(*db_, key_);
  ASSERT_FALSE(checkpoint);
  EXPECT_EQ(checkpoint.error().kind, ErrorKind::kPermissionDenied);
  EXPECT_THAT(checkpoint.error().message, HasSubstr("chmod 600"));
}

TEST_F(CheckpointTest, ABrokenChainIsNeverSigned) {
  AsSuperuser("UPDATE audit.event SET actor = 'mallory' WHERE seq = 4");
  auto checkpoint = WriteCheckpoint(*db_, key_);
  ASSERT_FALSE(checkpoint);
  EXPECT_EQ(checkpoint.error().kind, ErrorKind::kConflict);
  EXPECT_THAT(checkpoint.error().message, HasSubstr("broken at event 4"));
}

TEST_F(CheckpointTest, ASuperusersConsistentRewriteIsDetectedOnlyAgainstTheCheckpoint) {
  Checkpoint checkpoint = MustCheckpoint();
  AsSuperuser(R"sql(
    UPDATE audit.event SET payload = '{"i":99}' WHERE seq = 4;
    DO $$
    DECLARE r record; prev text;
    BEGIN
      SELECT row_hash INTO prev FROM audit.event WHERE seq = 3;
      FOR r IN SELECT * FROM audit.event WHERE seq >= 4 ORDER BY seq LOOP
        UPDATE audit.event
           SET prev_hash = prev,
               row_hash = CASE r.hash_version
                 WHEN 1 THEN audit.row_hash(prev, r.seq, r.occurred_at, r.actor, r.action, r.object_type,
                                            r.object_id, r.payload)
                 ELSE audit.row_hash_v2(prev, r.seq, r.occurred_at, r.actor, r.db_role, r.action, r.object_type,
                                        r.object_id, r.payload) END
         WHERE seq = r.seq
        RETURNING row_hash INTO prev;
      END LOOP;
      UPDATE audit.chain_head SET last_hash = prev WHERE chain = 'main';
    END $$)sql");
  auto internal = VerifyAudit(*db_);
  ASSERT_TRUE(internal);
  EXPECT_TRUE(internal->ok()) << "a consistent rewrite cannot be seen from inside: " << internal->message;

  VerifyReport report = VerifyWith(checkpoint);
  EXPECT_EQ(report.problem, AuditProblem::kCheckpointMismatch);
  EXPECT_EQ(report.first_bad_seq, 6);
}

TEST_F(CheckpointTest, TruncationWithARewrittenHeadIsDetectedOnlyAgainstTheCheckpoint) {
  Checkpoint checkpoint = MustCheckpoint();
  AsSuperuser(
      "DELETE FROM audit.event WHERE seq > 4; "
      "UPDATE audit.chain_head SET last_seq = 4, last_hash = (SELECT row_hash FROM audit.event WHERE seq = 4)");
  auto internal = VerifyAudit(*db_);
  ASSERT_TRUE(internal);
  EXPECT_TRUE(internal->ok()) << internal->message;

  VerifyReport report = VerifyWith(checkpoint);
  EXPECT_EQ(report.problem, AuditProblem::kTruncated);
  EXPECT_EQ(report.first_bad_seq, 5);
}

}  // namespace
}  // namespace dw::governance::testing
