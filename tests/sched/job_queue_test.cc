#include "sched/job_queue.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <pqxx/pqxx>
#include <string>

#include "core/ids.h"
#include "queue_fixture.h"
#include "store/run_repo.h"
#include "support/test_database.h"

namespace dw::sched {
namespace {

using std::chrono::milliseconds;
using testing::ApiJob;
using ::testing::HasSubstr;
using testing::MustEnqueue;
using testing::QueryInt;

constexpr milliseconds kLease{60000};

Job MustClaim(store::Database& db, const std::string& worker, const std::vector<std::string>& targets = {}) {
  auto claimed = ClaimJob(db, worker, kLease, targets);
  EXPECT_TRUE(claimed) << (claimed ? "" : claimed.error().message);
  EXPECT_TRUE(claimed && *claimed) << "nothing was claimable";
  return claimed && *claimed ? **claimed : Job{};
}

bool NothingClaimable(store::Database& db, const std::string& worker) {
  auto claimed = ClaimJob(db, worker, kLease, {});
  EXPECT_TRUE(claimed) << (claimed ? "" : claimed.error().message);
  return claimed && !*claimed;
}

void ExpireLease(const dw::testing::TestDatabase& tdb, long long job_id) {
  ASSERT_EQ(tdb.Exec("UPDATE ops.job SET lease_expires_at = clock_timestamp() - interval '1 second' WHERE id = " +
                     std::to_string(job_id)),
            "");
}

store::RunSpec RunFor(long long version_id, const std::string& target) {
  store::RunSpec spec;
  spec.run_id = NewUuid();
  spec.golden_set_version_id = version_id;
  spec.target_name = target;
  spec.target_version_hash = std::string(64, 'b');
  spec.target_provider = "sim";
  spec.target_spec = {{"name", target}};
  spec.scorer_name = "test-scorer";
  spec.scorer_spec = {{"engine", "test"}};
  spec.requested_by = "tester";
  spec.runner_build = "test";
  spec.runner_host = "test";
  return spec;
}

// Inserts one result (and its score) over a new connection to `url`, the
// way the result writer does: staged, then INSERT ... SELECT.
Status WriteResult(const std::string& url, const std::string& run_id, const std::string& case_id) {
  return store::Guard("write result", [&]() -> Status {
    pqxx::connection conn(url);
    pqxx::work tx(conn);
    tx.exec_params(
        "INSERT INTO run.result (run_id, case_id, repeat, outcome, score, output) "
        "SELECT $1::uuid, $2, 0, 'pass', 1, 'ok' ON CONFLICT DO NOTHING",
        run_id, case_id);
    tx.exec_params(
        "INSERT INTO run.score (run_id, case_id, repeat, scorer, value, passed) "
        "VALUES ($1::uuid, $2, 0, 'contains', 1, true) ON CONFLICT DO NOTHING",
        run_id, case_id);
    tx.commit();
    return Ok();
  });
}

TEST(JobQueueTest, EnqueueRecordsAJobOncePerScheduleFireAndTarget) {
  dw::testing::TestDatabase tdb;
  auto db = tdb.Connect();
  JobSpec spec = ApiJob("faq@1", "t1");
  spec.schedule_name = "nightly";
  spec.trigger = "schedule";
  spec.fire_time = TimePoint(std::chrono::seconds(1700000000));
  auto first = EnqueueJob(*db, spec, "scheduler");
  auto second = EnqueueJob(*db, spec, "scheduler");
  ASSERT_TRUE(first && second);
  EXPECT_TRUE(first->has_value());
  EXPECT_FALSE(second->has_value());
  EXPECT_EQ((*first)->fire_time, "2023-11-14T22:13:20.000000Z");
  EXPECT_EQ(QueryInt(tdb, "SELECT count(*) FROM ops.job"), 1);
}

TEST(JobQueueTest, EnqueueAppendsAnAuditEventByTheActor) {
  dw::testing::TestDatabase tdb;
  auto db = tdb.Connect();
  Job job = MustEnqueue(*db, ApiJob("faq@1", "t1"));
  EXPECT_EQ(tdb.Query("SELECT actor || ' ' || action FROM audit.event WHERE object_type = 'job' AND object_id = '" +
                      std::to_string(job.id) + "'"),
            "tester job.enqueue");
}

TEST(JobQueueTest, EnqueueRejectsInvalidSpecs) {
  dw::testing::TestDatabase tdb;
  auto db = tdb.Connect();
  JobSpec bad_repeats = ApiJob("faq", "t1");
  bad_repeats.repeats = 0;
  JobSpec fire_without_schedule = ApiJob("faq", "t1");
  fire_without_schedule.fire_time = TimePoint(std::chrono::seconds(1));
  JobSpec bad_trigger = ApiJob("faq", "t1");
  bad_trigger.trigger = "cron";
  for (const JobSpec& spec : {bad_repeats, fire_without_schedule, bad_trigger, ApiJob("faq", "")}) {
    auto job = EnqueueJob(*db, spec, "tester");
    ASSERT_FALSE(job);
    EXPECT_EQ(job.error().kind, ErrorKind::kInvalidInput);
  }
}

TEST(JobQueueTest, ClaimTakesTheOldestJobAndBumpsFenceAndAttempts) {
  dw::testing::TestDatabase tdb;
  auto db = tdb.Connect();
  Job first = MustEnqueue(*db, ApiJob("faq@1", "t1"));
  MustEnqueue(*db, ApiJob("faq@1", "t2"));
  Job claimed = MustClaim(*db, "w1");
  EXPECT_EQ(claimed.id, first.id);
  EXPECT_EQ(claimed.state, "running");
  EXPECT_EQ(claimed.fence, 1);
  EXPECT_EQ(claimed.attempts, 1);
  EXPECT_EQ(claimed.lease_owner, "w1");
  EXPECT_FALSE(claimed.lease_expires_at.empty());
}

TEST(JobQueueTest, HigherPriorityJobsAreClaimedFirst) {
  dw::testing::TestDatabase tdb;
  auto db = tdb.Connect();
  MustEnqueue(*db, ApiJob("faq@1", "t1"));
  JobSpec urgent = ApiJob("faq@1", "t2");
  urgent.priority = 5;
  Job urgent_job = MustEnqueue(*db, urgent);
  EXPECT_EQ(MustClaim(*db, "w1").id, urgent_job.id);
}

TEST(JobQueueTest, ATargetRunsOneJobAtATimeByDefault) {
  dw::testing::TestDatabase tdb;
  auto db = tdb.Connect();
  MustEnqueue(*db, ApiJob("faq@1", "t1"));
  MustEnqueue(*db, ApiJob("faq@1", "t1"));
  MustClaim(*db, "w1");
  EXPECT_TRUE(NothingClaimable(*db, "w2"));
}

TEST(JobQueueTest, OtherTargetsStayClaimableWhileOneIsBusy) {
  dw::testing::TestDatabase tdb;
  auto db = tdb.Connect();
  MustEnqueue(*db, ApiJob("faq@1", "t1"));
  MustEnqueue(*db, ApiJob("faq@1", "t1"));
  Job other = MustEnqueue(*db, ApiJob("faq@1", "t2"));
  MustClaim(*db, "w1");
  EXPECT_EQ(MustClaim(*db, "w2").id, other.id);
}

TEST(JobQueueTest, TargetSlotsAllowThatManyJobsAtOnce) {
  dw::testing::TestDatabase tdb;
  auto db = tdb.Connect();
  ASSERT_TRUE(SetTargetSlots(*db, "t1", 2, "ops"));
  for (int i = 0; i < 3; ++i) MustEnqueue(*db, ApiJob("faq@1", "t1"));
  MustClaim(*db, "w1");
  MustClaim(*db, "w2");
  EXPECT_TRUE(NothingClaimable(*db, "w3"));
  auto slots = ListTargetSlots(*db);
  ASSERT_TRUE(slots);
  EXPECT_EQ(slots->at("t1"), 2);
  EXPECT_EQ(tdb.Query("SELECT action FROM audit.event WHERE object_type = 'target' AND object_id = 't1'"),
            "target.slots");
}

TEST(JobQueueTest, AClaimedJobCarriesItsTargetsSlotCount) {
  dw::testing::TestDatabase tdb;
  auto db = tdb.Connect();
  ASSERT_TRUE(SetTargetSlots(*db, "t1", 3, "ops"));
  MustEnqueue(*db, ApiJob("faq@1", "t1"));
  MustEnqueue(*db, ApiJob("faq@1", "t2"));
  EXPECT_EQ(MustClaim(*db, "w1").target_slots, 3);
  EXPECT_EQ(MustClaim(*db, "w2").target_slots, 1);  // no row: the default
}

TEST(JobQueueTest, ClaimOnlyTakesTargetsTheWorkerCanRun) {
  dw::testing::TestDatabase tdb;
  auto db = tdb.Connect();
  MustEnqueue(*db, ApiJob("faq@1", "elsewhere"));
  Job mine = MustEnqueue(*db, ApiJob("faq@1", "mine"));
  EXPECT_EQ(MustClaim(*db, "w1", {"mine"}).id, mine.id);
  auto none = ClaimJob(*db, "w1", kLease, {"mine"});
  ASSERT_TRUE(none);
  EXPECT_FALSE(*none);
}

TEST(JobQueueTest, AnExpiredLeaseMakesTheJobClaimableWithANewFence) {
  dw::testing::TestDatabase tdb;
  auto db = tdb.Connect();
  Job job = MustEnqueue(*db, ApiJob("faq@1", "t1"));
  Job first = MustClaim(*db, "w1");
  ExpireLease(tdb, job.id);
  Job second = MustClaim(*db, "w2");
  EXPECT_EQ(second.id, job.id);
  EXPECT_EQ(second.fence, first.fence + 1);
  EXPECT_EQ(second.attempts, 2);
  EXPECT_EQ(second.lease_owner, "w2");
  EXPECT_EQ(
      tdb.Query("SELECT outcome FROM ops.job_attempt WHERE job_id = " + std::to_string(job.id) + " AND fence = 1"),
      "lease_expired");
}

TEST(JobQueueTest, AnExpiredLeaseOnTheLastAttemptFailsTheJobWithTheReason) {
  dw::testing::TestDatabase tdb;
  auto db = tdb.Connect();
  Job job = MustEnqueue(*db, ApiJob("faq@1", "t1", 1));
  MustClaim(*db, "w1");
  ExpireLease(tdb, job.id);
  EXPECT_TRUE(NothingClaimable(*db, "w2"));
  auto after = GetJob(*db, job.id);
  ASSERT_TRUE(after);
  EXPECT_EQ(after->state, "failed");
  EXPECT_THAT(after->error, HasSubstr("lease of worker w1 expired (attempt 1 of 1)"));
  EXPECT_FALSE(after->finished_at.empty());
}

TEST(JobQueueTest, FinishDoneCompletesTheJob) {
  dw::testing::TestDatabase tdb;
  auto db = tdb.Connect();
  MustEnqueue(*db, ApiJob("faq@1", "t1"));
  Job job = MustClaim(*db, "w1");
  auto state = FinishJob(*db, {job.id, job.fence, "w1"}, JobEnd::kDone, "", milliseconds(0));
  ASSERT_TRUE(state && *state);
  EXPECT_EQ(**state, "done");
  auto after = GetJob(*db, job.id);
  EXPECT_EQ(after->state, "done");
  EXPECT_TRUE(after->lease_owner.empty());
}

TEST(JobQueueTest, RetryQueuesAgainAfterTheDelay) {
  dw::testing::TestDatabase tdb;
  auto db = tdb.Connect();
  MustEnqueue(*db, ApiJob("faq@1", "t1"));
  Job job = MustClaim(*db, "w1");
  auto state = FinishJob(*db, {job.id, job.fence, "w1"}, JobEnd::kRetry, "provider down", milliseconds(60000));
  ASSERT_TRUE(state && *state);
  EXPECT_EQ(**state, "queued");
  EXPECT_TRUE(NothingClaimable(*db, "w1"));
  EXPECT_EQ(QueryInt(tdb, "SELECT (not_before > clock_timestamp() + interval '50 seconds')::int FROM ops.job"), 1);
  EXPECT_EQ(tdb.Query("SELECT error FROM ops.job"), "provider down");
}

TEST(JobQueueTest, RetriesAreBoundedThenTheJobFailsWithTheReason) {
  dw::testing::TestDatabase tdb;
  auto db = tdb.Connect();
  Job enqueued = MustEnqueue(*db, ApiJob("faq@1", "t1", 2));
  for (int attempt = 1; attempt <= 2; ++attempt) {
    Job job = MustClaim(*db, "w1");
    auto state = FinishJob(*db, {job.id, job.fence, "w1"}, JobEnd::kRetry, "provider down", milliseconds(0));
    ASSERT_TRUE(state && *state);
    EXPECT_EQ(**state, attempt == 1 ? "queued" : "failed");
  }
  auto after = GetJob(*db, enqueued.id);
  EXPECT_EQ(after->state, "failed");
  EXPECT_EQ(after->error, "failed after 2 attempts: provider down");
}

TEST(JobQueueTest, PermanentFailureDoesNotRetry) {
  dw::testing::TestDatabase tdb;
  auto db = tdb.Connect();
  MustEnqueue(*db, ApiJob("faq@1", "t1", 5));
  Job job = MustClaim(*db, "w1");
  auto state = FinishJob(*db, {job.id, job.fence, "w1"}, JobEnd::kFailed, "no golden set faq", milliseconds(0));
  ASSERT_TRUE(state && *state);
  EXPECT_EQ(**state, "failed");
  EXPECT_EQ(GetJob(*db, job.id)->error, "no golden set faq");
}

TEST(JobQueueTest, ReleasingHandsTheJobBackWithoutUsingAnAttempt) {
  dw::testing::TestDatabase tdb;
  auto db = tdb.Connect();
  MustEnqueue(*db, ApiJob("faq@1", "t1", 1));
  Job job = MustClaim(*db, "w1");
  auto state = FinishJob(*db, {job.id, job.fence, "w1"}, JobEnd::kReleased, "draining", milliseconds(0));
  ASSERT_TRUE(state && *state);
  EXPECT_EQ(**state, "queued");
  Job again = MustClaim(*db, "w2");
  EXPECT_EQ(again.id, job.id);
  EXPECT_EQ(again.attempts, 1);
  EXPECT_EQ(again.fence, 2);
}

TEST(JobQueueTest, FinishWithAStaleFenceChangesNothing) {
  dw::testing::TestDatabase tdb;
  auto db = tdb.Connect();
  MustEnqueue(*db, ApiJob("faq@1", "t1"));
  Job first = MustClaim(*db, "w1");
  ExpireLease(tdb, first.id);
  Job second = MustClaim(*db, "w2");
  auto state = FinishJob(*db, {first.id, first.fence, "w1"}, JobEnd::kDone, "", milliseconds(0));
  ASSERT_TRUE(state);
  EXPECT_FALSE(state->has_value());
  auto after = GetJob(*db, first.id);
  EXPECT_EQ(after->state, "running");
  EXPECT_EQ(after->lease_owner, "w2");
  EXPECT_EQ(after->fence, second.fence);
}

TEST(JobQueueTest, RenewExtendsOnlyLeasesStillHeld) {
  dw::testing::TestDatabase tdb;
  auto db = tdb.Connect();
  MustEnqueue(*db, ApiJob("faq@1", "t1"));
  MustEnqueue(*db, ApiJob("faq@1", "t2"));
  Job a = MustClaim(*db, "w1");
  Job b = MustClaim(*db, "w1");
  ExpireLease(tdb, b.id);
  MustClaim(*db, "w2");  // takes b over
  auto renewed = RenewLeases(*db, "w1", kLease, {{a.id, a.fence, "w1"}, {b.id, b.fence, "w1"}});
  ASSERT_TRUE(renewed);
  EXPECT_THAT(*renewed, ::testing::ElementsAre(a.id));
}

TEST(JobQueueTest, CountsJobsByState) {
  dw::testing::TestDatabase tdb;
  auto db = tdb.Connect();
  MustEnqueue(*db, ApiJob("faq@1", "t1"));
  MustEnqueue(*db, ApiJob("faq@1", "t2"));
  MustClaim(*db, "w1");
  auto counts = CountJobsByState(*db);
  ASSERT_TRUE(counts);
  EXPECT_EQ(counts->at("queued"), 1);
  EXPECT_EQ(counts->at("running"), 1);
}

TEST(JobQueueTest, ListFiltersByStateNewestFirst) {
  dw::testing::TestDatabase tdb;
  auto db = tdb.Connect();
  Job a = MustEnqueue(*db, ApiJob("faq@1", "t1"));
  Job b = MustEnqueue(*db, ApiJob("faq@1", "t2"));
  Job c = MustEnqueue(*db, ApiJob("faq@1", "t3"));
  EXPECT_EQ(MustClaim(*db, "w1").id, a.id);
  JobFilter filter;
  filter.state = "queued";
  auto jobs = ListJobs(*db, filter);
  ASSERT_TRUE(jobs);
  ASSERT_EQ(jobs->size(), 2u);
  EXPECT_EQ((*jobs)[0].id, c.id);
  EXPECT_EQ((*jobs)[1].id, b.id);
}

TEST(SessionSettingsTest, AddsOptionsToAKeyValueConnectionString) {
  auto url = WithSessionSettings("host=/tmp/pg dbname=x", {{"driftwatch.job", "7"}});
  ASSERT_TRUE(url);
  EXPECT_EQ(*url, "host='/tmp/pg' dbname='x' options='-c driftwatch.job=7'");
}

TEST(SessionSettingsTest, MergesWithOptionsAlreadyPresent) {
  auto url = WithSessionSettings("host=h options='-c search_path=a' dbname=x", {{"driftwatch.fence", "3"}});
  ASSERT_TRUE(url);
  EXPECT_EQ(*url, "host='h' options='-c search_path=a -c driftwatch.fence=3' dbname='x'");
}

TEST(SessionSettingsTest, AddsAnOptionsParameterToAUrl) {
  auto plain = WithSessionSettings("postgresql://u@h/db", {{"driftwatch.job", "7"}});
  auto with_query =
      WithSessionSettings("postgresql://u@h/db?sslmode=disable&options=-c%20a.b%3D1", {{"driftwatch.job", "7"}});
  ASSERT_TRUE(plain && with_query);
  EXPECT_EQ(*plain, "postgresql://u@h/db?options=-c%20driftwatch.job%3D7");
  EXPECT_EQ(*with_query, "postgresql://u@h/db?sslmode=disable&options=-c%20a.b%3D1%20-c%20driftwatch.job%3D7");
}

TEST(SessionSettingsTest, RejectsUnsafeNamesAndValues) {
  EXPECT_FALSE(WithSessionSettings("dbname=x", {{"a b", "1"}}));
  EXPECT_FALSE(WithSessionSettings("dbname=x", {{"driftwatch.job", "1 -c x=y"}}));
  EXPECT_FALSE(WithSessionSettings("dbname='x", {{"driftwatch.job", "1"}}));
}

TEST(SessionSettingsTest, FencedUrlsReachTheServer) {
  dw::testing::TestDatabase tdb;
  auto url = FencedDatabaseUrl(tdb.url(), {12, 5, "w1"});
  ASSERT_TRUE(url);
  pqxx::connection conn(*url);
  pqxx::work tx(conn);
  EXPECT_EQ(tx.exec1("SELECT current_setting('driftwatch.job') || '/' || current_setting('driftwatch.fence')")[0]
                .as<std::string>(),
            "12/5");
}

// Fencing: the database itself refuses writes from a worker that lost its
// lease, whichever code path the worker's writes take.
class FencingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_ = tdb_.Connect();
    ASSERT_TRUE(db_);
    version_id_ = testing::VersionId(*db_, testing::PublishGoldenSet(*db_, "faq", 4));
    job_ = MustEnqueue(*db_, ApiJob("faq@1", "t1"));
    first_ = MustClaim(*db_, "w1");
    first_url_ = *FencedDatabaseUrl(tdb_.url(), {first_.id, first_.fence, "w1"});
    auto worker_db = store::Database::Connect(first_url_);
    ASSERT_TRUE(worker_db);
    auto run = store::CreateRun(**worker_db, RunFor(version_id_, "t1"));
    ASSERT_TRUE(run) << run.error().message;
    run_id_ = run->id;
  }

  // Another worker takes the job over after the first lease expired.
  Job StealLease() {
    ExpireLease(tdb_, job_.id);
    return MustClaim(*db_, "w2");
  }

  dw::testing::TestDatabase tdb_;
  std::unique_ptr<store::Database> db_;
  long long version_id_ = 0;
  Job job_, first_;
  std::string first_url_;
  std::string run_id_;
};

TEST_F(FencingTest, ARunCreatedByAWorkerBelongsToItsJob) { EXPECT_EQ(GetJob(*db_, job_.id)->run_id, run_id_); }

TEST_F(FencingTest, TheLeaseHolderCanWriteResults) {
  ASSERT_TRUE(WriteResult(first_url_, run_id_, "c000"));
  EXPECT_EQ(QueryInt(tdb_, "SELECT count(*) FROM run.result"), 1);
}

TEST_F(FencingTest, AWorkerWhoseLeaseWasStolenCannotWriteResults) {
  StealLease();
  Status write = WriteResult(first_url_, run_id_, "c001");
  ASSERT_FALSE(write);
  EXPECT_EQ(write.error().kind, ErrorKind::kConflict);
  EXPECT_THAT(write.error().message, HasSubstr("stale fencing token"));
  EXPECT_EQ(QueryInt(tdb_, "SELECT count(*) FROM run.result"), 0);
}

TEST_F(FencingTest, AWorkerWhoseLeaseWasStolenCannotFinishTheRun) {
  StealLease();
  auto worker_db = store::Database::Connect(first_url_);
  ASSERT_TRUE(worker_db);
  Status finish = store::FinishRun(**worker_db, run_id_, "done", nlohmann::json::object(), "", "w1");
  ASSERT_FALSE(finish);
  EXPECT_THAT(finish.error().message, HasSubstr("stale fencing token"));
  EXPECT_EQ(tdb_.Query("SELECT status FROM run.run"), "running");
}

TEST_F(FencingTest, AWorkerWhoseLeaseWasStolenCannotCompleteTheJob) {
  Job second = StealLease();
  auto state = FinishJob(*db_, {first_.id, first_.fence, "w1"}, JobEnd::kDone, "", milliseconds(0));
  ASSERT_TRUE(state);
  EXPECT_FALSE(state->has_value());
  EXPECT_EQ(GetJob(*db_, job_.id)->fence, second.fence);
}

TEST_F(FencingTest, TheNewLeaseHolderWritesTheSameRun) {
  Job second = StealLease();
  EXPECT_EQ(second.run_id, run_id_);
  std::string url = *FencedDatabaseUrl(tdb_.url(), {second.id, second.fence, "w2"});
  ASSERT_TRUE(WriteResult(url, run_id_, "c002"));
  EXPECT_EQ(QueryInt(tdb_, "SELECT count(*) FROM run.result"), 1);
}

TEST_F(FencingTest, AnExpiredLeaseStopsWritesEvenBeforeAnyoneClaims) {
  ExpireLease(tdb_, job_.id);
  Status write = WriteResult(first_url_, run_id_, "c001");
  ASSERT_FALSE(write);
  EXPECT_THAT(write.error().message, HasSubstr("has expired"));
}

TEST_F(FencingTest, AStaleWorkerCannotStartASecondRunForTheJob) {
  auto worker_db = store::Database::Connect(first_url_);
  ASSERT_TRUE(worker_db);
  auto second_run = store::CreateRun(**worker_db, RunFor(version_id_, "t1"));
  ASSERT_FALSE(second_run);
  EXPECT_THAT(second_run.error().message, HasSubstr("already has a run"));
}

TEST_F(FencingTest, OthersCannotWriteARunWhileAWorkerHoldsItsJob) {
  Status write = WriteResult(tdb_.url(), run_id_, "c003");
  ASSERT_FALSE(write);
  EXPECT_THAT(write.error().message, HasSubstr("only that worker may write it"));
}

TEST_F(FencingTest, OthersMayResumeTheRunOnceNoWorkerHoldsTheJob) {
  ASSERT_TRUE(FinishJob(*db_, {first_.id, first_.fence, "w1"}, JobEnd::kFailed, "given up", milliseconds(0)));
  EXPECT_TRUE(WriteResult(tdb_.url(), run_id_, "c003"));
}

TEST_F(FencingTest, RunsOutsideTheQueueAreUnaffected) {
  auto run = store::CreateRun(*db_, RunFor(version_id_, "t9"));
  ASSERT_TRUE(run) << run.error().message;
  EXPECT_TRUE(WriteResult(tdb_.url(), run->id, "c000"));
}

}  // namespace
}  // namespace dw::sched
