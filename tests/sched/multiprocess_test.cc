// Several scheduler and worker processes against one database, as N
// `driftwatch serve` processes on N machines would be. Children are forked
// from the test and talk to the database only through their own connections.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <string>
#include <thread>
#include <vector>

#include "queue_fixture.h"
#include "sched/job_queue.h"
#include "sched/scheduler.h"
#include "sched/worker.h"
#include "support/test_database.h"

namespace dw::sched {
namespace {

using std::chrono::milliseconds;
using std::chrono::minutes;
using std::chrono::seconds;
using testing::Fork;
using testing::QueryInt;
using testing::WaitExit;
using testing::WaitFor;

std::atomic<bool> g_terminate{false};
extern "C" void OnTerminate(int) { g_terminate.store(true); }

// Records each execution in a plain table (not fenced), so the test can see
// duplicates if the queue ever handed a job to two workers.
class RecordingRunner : public JobRunner {
 public:
  explicit RecordingRunner(std::string url) : url_(std::move(url)) {}
  Result<JobOutcome> Run(const Job& job, const JobContext& context) override {
    auto db = store::Database::Connect(url_);
    if (!db) return Fail(db.error());
    std::this_thread::sleep_for(milliseconds(15));
    Status s = (*db)->ExecuteNonTransactional("INSERT INTO public.execution (job_id, worker) VALUES (" +
                                              std::to_string(job.id) + ", '" + context.worker_id + "')");
    if (!s) return Fail(s.error());
    return JobOutcome{};
  }

 private:
  std::string url_;
};

WorkerPoolOptions ChildWorkerOptions(const std::string& url, const std::string& id, milliseconds lease) {
  WorkerPoolOptions o;
  o.database_url = url;
  o.workers = 1;
  o.worker_id = id;
  o.lease = lease;
  o.renew_interval = lease / 4;
  o.poll_interval = milliseconds(20);
  o.retry_delay = milliseconds(0);
  return o;
}

// A worker process: runs until SIGTERM, then drains and exits 0 (1 when a
// job had to be abandoned at the drain deadline, 2 on start-up failure).
int WorkerProcess(WorkerPoolOptions options, JobRunner& runner, milliseconds drain_deadline) {
  std::signal(SIGTERM, OnTerminate);
  auto pool = WorkerPool::Start(std::move(options), runner);
  if (!pool) return 2;
  for (int i = 0; i < 60000 && !g_terminate.load(); ++i) std::this_thread::sleep_for(milliseconds(5));
  int abandoned = (*pool)->Drain(drain_deadline);
  if (abandoned > 0) std::_Exit(1);
  return 0;
}

config::Config EveryMinute(const std::vector<std::string>& targets) {
  config::Config c;
  for (const auto& t : targets) {
    config::TargetConfig target;
    target.name = t;
    target.provider = "sim";
    c.targets[t] = target;
  }
  config::ScheduleConfig s;
  s.name = "every-minute";
  s.cron = "* * * * *";
  s.goldenset = "faq@1";
  s.targets = targets;
  c.schedules[s.name] = s;
  return c;
}

TEST(MultiProcessTest, TwoSchedulersAndFourWorkersExecuteHundredJobsExactlyOnce) {
  dw::testing::TestDatabase tdb;
  ASSERT_EQ(tdb.Exec("CREATE TABLE public.execution (job_id bigint NOT NULL, worker text NOT NULL)"), "");
  auto db = tdb.Connect();
  ASSERT_TRUE(SetTargetSlots(*db, "a", 2, "tester"));
  ASSERT_TRUE(SetTargetSlots(*db, "b", 2, "tester"));
  auto schedules = CompileSchedules(EveryMinute({"a", "b"}));
  ASSERT_TRUE(schedules);
  // 2024-03-01 00:00 UTC. The schedulers replay 50 minutes of (simulated)
  // time concurrently: 50 fires x 2 targets = 100 jobs.
  const TimePoint base = TimePoint(seconds(1709251200));
  SchedulerOptions registration;
  ASSERT_TRUE(TickSchedules(*db, *schedules, base, registration));

  std::vector<pid_t> schedulers;
  for (int s = 0; s < 2; ++s) {
    schedulers.push_back(Fork([&, s] {
      auto conn = store::Database::Connect(tdb.url());
      if (!conn) return 2;
      SchedulerOptions options;
      options.scheduler_id = "scheduler-" + std::to_string(s);
      options.grace = std::chrono::hours(24);
      for (int minute = 1; minute <= 50; ++minute) {
        auto report = TickSchedules(**conn, *schedules, base + minutes(minute) + seconds(s), options);
        if (!report || !report->errors.empty()) return 3;
        std::this_thread::sleep_for(milliseconds(3));
      }
      return 0;
    }));
  }
  std::vector<pid_t> workers;
  for (int w = 0; w < 4; ++w) {
    workers.push_back(Fork([&, w] {
      RecordingRunner runner(tdb.url());
      return WorkerProcess(ChildWorkerOptions(tdb.url(), "worker-" + std::to_string(w), milliseconds(5000)), runner,
                           milliseconds(5000));
    }));
  }
  for (pid_t pid : schedulers) EXPECT_EQ(WaitExit(pid, milliseconds(60000)), 0);
  bool all_done = WaitFor([&] { return QueryInt(tdb, "SELECT count(*) FROM ops.job WHERE state = 'done'") == 100; },
                          milliseconds(60000));
  for (pid_t pid : workers) kill(pid, SIGTERM);
  for (pid_t pid : workers) EXPECT_EQ(WaitExit(pid, milliseconds(20000)), 0);
  ASSERT_TRUE(all_done);

  EXPECT_EQ(QueryInt(tdb, "SELECT count(*) FROM ops.job"), 100);
  EXPECT_EQ(QueryInt(tdb, "SELECT count(*) FROM ops.schedule_fire"), 50);
  EXPECT_EQ(QueryInt(tdb, "SELECT count(*) FROM public.execution"), 100);
  EXPECT_EQ(QueryInt(tdb, "SELECT count(DISTINCT job_id) FROM public.execution"), 100);
  EXPECT_EQ(QueryInt(tdb, "SELECT max(attempts) FROM ops.job"), 1);
  EXPECT_GE(QueryInt(tdb, "SELECT count(DISTINCT worker) FROM public.execution"), 2);
}

TEST(MultiProcessTest, AWorkerKilledMidRunHasItsJobFinishedByAnotherWithoutDuplicatesOrGaps) {
  dw::testing::TestDatabase tdb;
  auto db = tdb.Connect();
  const std::string goldenset = testing::PublishGoldenSet(*db, "faq", 30);
  const long long version_id = testing::VersionId(*db, goldenset);
  JobSpec spec = testing::ApiJob(goldenset, "t1");
  spec.repeats = 2;
  Job job = testing::MustEnqueue(*db, spec);

  pid_t first = Fork([&] {
    testing::StoreWritingRunner runner(milliseconds(40), version_id);
    return WorkerProcess(ChildWorkerOptions(tdb.url(), "doomed", milliseconds(1000)), runner, milliseconds(5000));
  });
  ASSERT_TRUE(WaitFor([&] { return QueryInt(tdb, "SELECT count(*) FROM run.result") >= 15; }, milliseconds(20000)));
  kill(first, SIGKILL);
  EXPECT_EQ(WaitExit(first, milliseconds(5000)), 128 + SIGKILL);
  const long long written_before = QueryInt(tdb, "SELECT count(*) FROM run.result");
  EXPECT_LT(written_before, 60);

  pid_t second = Fork([&] {
    testing::StoreWritingRunner runner(milliseconds(5), version_id);
    return WorkerProcess(ChildWorkerOptions(tdb.url(), "rescuer", milliseconds(1000)), runner, milliseconds(5000));
  });
  bool done = WaitFor([&] { return tdb.Query("SELECT state FROM ops.job") == "done"; }, milliseconds(30000));
  kill(second, SIGTERM);
  EXPECT_EQ(WaitExit(second, milliseconds(10000)), 0);
  ASSERT_TRUE(done);

  EXPECT_EQ(QueryInt(tdb, "SELECT count(*) FROM run.result"), 60);
  EXPECT_EQ(QueryInt(tdb, "SELECT count(DISTINCT (case_id, repeat)) FROM run.result"), 60);
  EXPECT_EQ(QueryInt(tdb, "SELECT count(*) FROM run.run"), 1);
  EXPECT_EQ(tdb.Query("SELECT status FROM run.run"), "done");
  EXPECT_EQ(tdb.Query("SELECT run_id::text FROM ops.job"), tdb.Query("SELECT id::text FROM run.run"));
  EXPECT_EQ(tdb.Query("SELECT string_agg(fence || ':' || worker || ':' || outcome, ',' ORDER BY fence) "
                      "FROM ops.job_attempt WHERE job_id = " +
                      std::to_string(job.id)),
            "1:doomed/1:lease_expired,2:rescuer/1:done");
}

TEST(MultiProcessTest, SigtermDrainsInFlightWorkAndHandsTheJobBack) {
  dw::testing::TestDatabase tdb;
  auto db = tdb.Connect();
  const std::string goldenset = testing::PublishGoldenSet(*db, "faq", 50);
  const long long version_id = testing::VersionId(*db, goldenset);
  testing::MustEnqueue(*db, testing::ApiJob(goldenset, "t1", 1));

  pid_t worker = Fork([&] {
    testing::StoreWritingRunner runner(milliseconds(50), version_id);
    return WorkerProcess(ChildWorkerOptions(tdb.url(), "draining", milliseconds(5000)), runner, milliseconds(5000));
  });
  ASSERT_TRUE(WaitFor([&] { return QueryInt(tdb, "SELECT count(*) FROM run.result") >= 5; }, milliseconds(20000)));
  auto signalled = std::chrono::steady_clock::now();
  kill(worker, SIGTERM);
  EXPECT_EQ(WaitExit(worker, milliseconds(10000)), 0);
  EXPECT_LT(std::chrono::steady_clock::now() - signalled, milliseconds(3000));

  const long long kept = QueryInt(tdb, "SELECT count(*) FROM run.result");
  EXPECT_GE(kept, 5);
  EXPECT_LT(kept, 50);
  EXPECT_EQ(tdb.Query("SELECT state || ' ' || attempts || ' ' || coalesce(lease_owner, '-') FROM ops.job"),
            "queued 0 -");
  EXPECT_EQ(tdb.Query("SELECT outcome FROM ops.job_attempt"), "released");
  EXPECT_EQ(tdb.Query("SELECT status FROM run.run"), "cancelled");

  // Another worker picks the job up and completes the same run.
  testing::StoreWritingRunner runner(milliseconds(0), version_id);
  WorkerPoolOptions options = ChildWorkerOptions(tdb.url(), "next", milliseconds(5000));
  options.exit_when_idle = true;
  auto pool = WorkerPool::Start(options, runner);
  ASSERT_TRUE(pool);
  ASSERT_TRUE((*pool)->Wait(milliseconds(20000)));
  EXPECT_EQ(tdb.Query("SELECT state FROM ops.job"), "done");
  EXPECT_EQ(QueryInt(tdb, "SELECT count(*) FROM run.result"), 50);
  EXPECT_EQ(runner.written(), 50 - kept);
}

}  // namespace
}  // namespace dw::sched
