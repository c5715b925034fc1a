#include "sched/worker.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>

#include "queue_fixture.h"
#include "sched/job_queue.h"
#include "support/test_database.h"

namespace dw::sched {
namespace {

using std::chrono::milliseconds;
using testing::ApiJob;
using ::testing::HasSubstr;
using testing::MustEnqueue;
using testing::QueryInt;
using testing::WaitFor;

WorkerPoolOptions FastOptions(const std::string& url, int workers = 1) {
  WorkerPoolOptions o;
  o.database_url = url;
  o.workers = workers;
  o.worker_id = "test-worker";
  o.lease = milliseconds(2000);
  o.renew_interval = milliseconds(200);
  o.poll_interval = milliseconds(20);
  o.retry_delay = milliseconds(0);
  return o;
}

// Returns a fixed result after an optional pause; counts calls.
class ScriptedRunner : public JobRunner {
 public:
  explicit ScriptedRunner(Result<JobOutcome> result, milliseconds pause = milliseconds(0))
      : result_(std::move(result)), pause_(pause) {}
  Result<JobOutcome> Run(const Job& job, const JobContext& context) override {
    ++calls;
    last_url = context.database_url;
    std::this_thread::sleep_for(pause_);
    return result_;
  }
  std::atomic<int> calls{0};
  std::string last_url;

 private:
  Result<JobOutcome> result_;
  milliseconds pause_;
};

// Blocks until cancelled (or, when `ignore_cancel`, until released), then
// reports the job unfinished.
class BlockingRunner : public JobRunner {
 public:
  explicit BlockingRunner(bool ignore_cancel) : ignore_cancel_(ignore_cancel) {}
  Result<JobOutcome> Run(const Job& job, const JobContext& context) override {
    started = true;
    std::unique_lock<std::mutex> lock(mu_);
    for (int i = 0; i < 3000; ++i) {
      if (released_ || (!ignore_cancel_ && context.cancel->load())) break;
      cv_.wait_for(lock, milliseconds(10));
    }
    saw_cancel = context.cancel->load();
    return JobOutcome{true, "", "stopped"};
  }
  void Release() {
    std::lock_guard<std::mutex> lock(mu_);
    released_ = true;
    cv_.notify_all();
  }
  std::atomic<bool> started{false};
  std::atomic<bool> saw_cancel{false};

 private:
  bool ignore_cancel_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool released_ = false;
};

// Tracks how many jobs of each target run at the same time.
class ConcurrencyRunner : public JobRunner {
 public:
  Result<JobOutcome> Run(const Job& job, const JobContext& context) override {
    int now = ++running_;
    int seen = max_running.load();
    while (now > seen && !max_running.compare_exchange_weak(seen, now)) {
    }
    std::this_thread::sleep_for(milliseconds(60));
    --running_;
    ++finished;
    return JobOutcome{};
  }
  std::atomic<int> max_running{0};
  std::atomic<int> finished{0};

 private:
  std::atomic<int> running_{0};
};

std::string JobState(const dw::testing::TestDatabase& tdb, long long id) {
  return tdb.Query("SELECT state FROM ops.job WHERE id = " + std::to_string(id));
}

// Records the target settings each job ran under.
class ConfigRecordingRunner : public JobRunner {
 public:
  Result<JobOutcome> Run(const Job& job, const JobContext& context) override {
    std::lock_guard<std::mutex> lock(mu);
    seen[job.target] = context.config->targets.at(job.target);
    return JobOutcome{};
  }
  std::mutex mu;
  std::map<std::string, config::TargetConfig> seen;
};

TEST(RateLimitShare, DividesRequestsAndTokensBySlots) {
  config::RateLimit limit{12, 90000};
  config::RateLimit share = RateLimitShare(limit, 3);
  EXPECT_DOUBLE_EQ(share.requests_per_second, 4);
  EXPECT_DOUBLE_EQ(share.tokens_per_minute, 30000);
  EXPECT_DOUBLE_EQ(RateLimitShare(limit, 8).requests_per_second, 1.5);
}

TEST(RateLimitShare, OneSlotOrUnlimitedIsUnchanged) {
  config::RateLimit limit{12, 0};
  EXPECT_DOUBLE_EQ(RateLimitShare(limit, 1).requests_per_second, 12);
  EXPECT_DOUBLE_EQ(RateLimitShare(limit, 0).requests_per_second, 12);
  EXPECT_DOUBLE_EQ(RateLimitShare(limit, 4).tokens_per_minute, 0);  // 0 stays unlimited
}

TEST(ConfigForSlot, LimitsOnlyTheJobsTargetToOneSlotsShare) {
  auto config = std::make_shared<config::Config>();
  config->concurrency = 10;
  config->targets["api"].rate_limit = {20, 60000};
  config->targets["api"].concurrency = 8;
  config->targets["other"].rate_limit = {20, 60000};
  config->targets["default-concurrency"].rate_limit = {20, 0};
  auto shared = ConfigForSlot(config, "api", 4);
  EXPECT_DOUBLE_EQ(shared->targets.at("api").rate_limit.requests_per_second, 5);
  EXPECT_DOUBLE_EQ(shared->targets.at("api").rate_limit.tokens_per_minute, 15000);
  EXPECT_EQ(shared->targets.at("api").concurrency, 2);
  EXPECT_DOUBLE_EQ(shared->targets.at("other").rate_limit.requests_per_second, 20);
  EXPECT_DOUBLE_EQ(config->targets.at("api").rate_limit.requests_per_second, 20);  // the original is untouched
  EXPECT_EQ(ConfigForSlot(config, "default-concurrency", 3)->targets.at("default-concurrency").concurrency, 3);
  EXPECT_EQ(ConfigForSlot(config, "api", 16)->targets.at("api").concurrency, 1);
  EXPECT_EQ(ConfigForSlot(config, "api", 1), config);
  EXPECT_EQ(ConfigForSlot(config, "missing", 4), config);
}

// A config with one target whose own concurrency is `target_concurrency`
// (0: unset) and a schedule "nightly" of it with `budget` and `concurrency`.
std::shared_ptr<const config::Config> ScheduledConfig(int target_concurrency, std::optional<double> budget,
                                                      int concurrency) {
  auto config = std::make_shared<config::Config>();
  config->concurrency = 16;
  config->targets["bot"].concurrency = target_concurrency;
  config->targets["bot"].budget_usd = 9.0;
  config->schedules["nightly"].targets = {"bot"};
  config->schedules["nightly"].budget_usd = budget;
  config->schedules["nightly"].concurrency = concurrency;
  return config;
}

Job ScheduledJob(const std::string& schedule, int slots) {
  Job job;
  job.schedule_name = schedule;
  job.target = "bot";
  job.target_slots = slots;
  return job;
}

TEST(ConfigForJob, AScheduledJobsTargetTakesItsSchedulesBudgetAndConcurrency) {
  auto config = ScheduledConfig(0, 0.25, 6);
  auto adjusted = ConfigForJob(config, ScheduledJob("nightly", 1));
  EXPECT_EQ(adjusted->targets.at("bot").concurrency, 6);
  ASSERT_TRUE(adjusted->targets.at("bot").budget_usd.has_value());
  EXPECT_DOUBLE_EQ(*adjusted->targets.at("bot").budget_usd, 0.25);
  EXPECT_DOUBLE_EQ(*config->targets.at("bot").budget_usd, 9.0);  // the original is untouched
}

TEST(ConfigForJob, AScheduleNeverRaisesConcurrencyAboveTheTargetsOwn) {
  EXPECT_EQ(ConfigForJob(ScheduledConfig(4, std::nullopt, 32), ScheduledJob("nightly", 1))->targets.at("bot").concurrency,
            4);
  EXPECT_EQ(ConfigForJob(ScheduledConfig(8, std::nullopt, 2), ScheduledJob("nightly", 1))->targets.at("bot").concurrency,
            2);
}

TEST(ConfigForJob, TheSchedulesConcurrencyIsSharedBetweenTheTargetsSlots) {
  auto adjusted = ConfigForJob(ScheduledConfig(0, std::nullopt, 12), ScheduledJob("nightly", 3));
  EXPECT_EQ(adjusted->targets.at("bot").concurrency, 4);
}

TEST(ConfigForJob, JobsOfUnknownOrUnsetSchedulesKeepTheTargetsSettings) {
  auto config = ScheduledConfig(5, std::nullopt, 0);
  EXPECT_EQ(ConfigForJob(config, ScheduledJob("nightly", 1)), config);
  EXPECT_EQ(ConfigForJob(config, ScheduledJob("gone", 1)), config);
  EXPECT_EQ(ConfigForJob(config, ScheduledJob("", 1)), config);
  auto api = ConfigForJob(ScheduledConfig(0, 0.5, 3), ScheduledJob("", 1));
  EXPECT_EQ(api->targets.at("bot").concurrency, 0);
  EXPECT_DOUBLE_EQ(*api->targets.at("bot").budget_usd, 9.0);
}

TEST(WorkerPoolTest, TheRunnerGetsItsTargetsShareOfTheRateLimitForTheSlotsAtClaimTime) {
  dw::testing::TestDatabase tdb;
  auto db = tdb.Connect();
  ASSERT_TRUE(SetTargetSlots(*db, "t1", 4, "ops"));
  Job shared = MustEnqueue(*db, ApiJob("faq@1", "t1"));
  Job alone = MustEnqueue(*db, ApiJob("faq@1", "t2"));
  auto config = std::make_shared<config::Config>();
  config->targets["t1"].rate_limit = {8, 4000};
  config->targets["t2"].rate_limit = {8, 4000};
  ConfigRecordingRunner runner;
  WorkerPoolOptions options = FastOptions(tdb.url());
  options.config = [config] { return std::shared_ptr<const config::Config>(config); };
  auto pool = WorkerPool::Start(options, runner);
  ASSERT_TRUE(pool);
  ASSERT_TRUE(WaitFor([&] { return JobState(tdb, shared.id) == "done" && JobState(tdb, alone.id) == "done"; },
                      milliseconds(10000)));
  std::lock_guard<std::mutex> lock(runner.mu);
  EXPECT_DOUBLE_EQ(runner.seen.at("t1").rate_limit.requests_per_second, 2);
  EXPECT_DOUBLE_EQ(runner.seen.at("t1").rate_limit.tokens_per_minute, 1000);
  EXPECT_DOUBLE_EQ(runner.seen.at("t2").rate_limit.requests_per_second, 8);
}

TEST(WorkerPoolTest, RunsAClaimedJobAndMarksItDone) {
  dw::testing::TestDatabase tdb;
  auto db = tdb.Connect();
  Job job = MustEnqueue(*db, ApiJob("faq@1", "t1"));
  ScriptedRunner runner(JobOutcome{false, "", "ok"});
  auto pool = WorkerPool::Start(FastOptions(tdb.url()), runner);
  ASSERT_TRUE(pool);
  EXPECT_TRUE(WaitFor([&] { return JobState(tdb, job.id) == "done"; }, milliseconds(10000)));
  EXPECT_EQ(runner.calls, 1);
  EXPECT_EQ((*pool)->stats().done, 1u);
}

TEST(WorkerPoolTest, TheRunnerGetsAFencedDatabaseUrl) {
  dw::testing::TestDatabase tdb;
  auto db = tdb.Connect();
  Job job = MustEnqueue(*db, ApiJob("faq@1", "t1"));
  ScriptedRunner runner(JobOutcome{});
  auto pool = WorkerPool::Start(FastOptions(tdb.url()), runner);
  ASSERT_TRUE(WaitFor([&] { return JobState(tdb, job.id) == "done"; }, milliseconds(10000)));
  EXPECT_THAT(runner.last_url, HasSubstr("-c driftwatch.fence=1"));
  EXPECT_THAT(runner.last_url, HasSubstr("-c driftwatch.job=" + std::to_string(job.id)));
}

TEST(WorkerPoolTest, TransientErrorsAreRetriedThenTheJobFailsWithTheReason) {
  dw::testing::TestDatabase tdb;
  auto db = tdb.Connect();
  Job job = MustEnqueue(*db, ApiJob("faq@1", "t1", 3));
  ScriptedRunner runner(Fail(ErrorKind::kUnavailable, "provider unreachable"));
  auto pool = WorkerPool::Start(FastOptions(tdb.url()), runner);
  ASSERT_TRUE(WaitFor([&] { return JobState(tdb, job.id) == "failed"; }, milliseconds(10000)));
  EXPECT_EQ(runner.calls, 3);
  EXPECT_EQ(tdb.Query("SELECT error FROM ops.job"), "failed after 3 attempts: provider unreachable");
  EXPECT_EQ((*pool)->stats().retried, 2u);
  EXPECT_EQ((*pool)->stats().failed, 1u);
}

TEST(WorkerPoolTest, InputErrorsFailTheJobWithoutRetry) {
  dw::testing::TestDatabase tdb;
  auto db = tdb.Connect();
  Job job = MustEnqueue(*db, ApiJob("faq@1", "t1", 3));
  ScriptedRunner runner(Fail(ErrorKind::kNotFound, "no golden set named faq"));
  auto pool = WorkerPool::Start(FastOptions(tdb.url()), runner);
  ASSERT_TRUE(WaitFor([&] { return JobState(tdb, job.id) == "failed"; }, milliseconds(10000)));
  EXPECT_EQ(runner.calls, 1);
  EXPECT_EQ(tdb.Query("SELECT error FROM ops.job"), "no golden set named faq");
}

TEST(WorkerPoolTest, RetriesBackOffExponentially) {
  dw::testing::TestDatabase tdb;
  auto db = tdb.Connect();
  Job job = MustEnqueue(*db, ApiJob("faq@1", "t1", 3));
  ScriptedRunner runner(Fail(ErrorKind::kUnavailable, "down"));
  WorkerPoolOptions options = FastOptions(tdb.url());
  options.retry_delay = milliseconds(30000);
  auto pool = WorkerPool::Start(options, runner);
  ASSERT_TRUE(WaitFor([&] { return runner.calls == 1 && JobState(tdb, job.id) == "queued"; }, milliseconds(10000)));
  EXPECT_EQ(QueryInt(tdb,
                     "SELECT (not_before - updated_at BETWEEN interval '29 s' AND interval '31 s')::int "
                     "FROM ops.job"),
            1);
}

TEST(WorkerPoolTest, DrainCancelsTheRunnerAndHandsTheJobBack) {
  dw::testing::TestDatabase tdb;
  auto db = tdb.Connect();
  Job job = MustEnqueue(*db, ApiJob("faq@1", "t1", 1));
  BlockingRunner runner(false);
  auto pool = WorkerPool::Start(FastOptions(tdb.url()), runner);
  ASSERT_TRUE(WaitFor([&] { return runner.started.load(); }, milliseconds(10000)));
  EXPECT_EQ((*pool)->Drain(milliseconds(5000)), 0);
  EXPECT_TRUE(runner.saw_cancel);
  EXPECT_EQ(JobState(tdb, job.id), "queued");
  EXPECT_EQ(QueryInt(tdb, "SELECT attempts FROM ops.job"), 0);
  EXPECT_EQ(tdb.Query("SELECT outcome FROM ops.job_attempt"), "released");
  EXPECT_EQ((*pool)->stats().released, 1u);
}

TEST(WorkerPoolTest, DrainHandsBackJobsWhoseRunnerOutlivesTheDeadline) {
  dw::testing::TestDatabase tdb;
  auto db = tdb.Connect();
  Job job = MustEnqueue(*db, ApiJob("faq@1", "t1"));
  BlockingRunner runner(true);
  auto pool = WorkerPool::Start(FastOptions(tdb.url()), runner);
  ASSERT_TRUE(WaitFor([&] { return runner.started.load(); }, milliseconds(10000)));
  auto started = std::chrono::steady_clock::now();
  EXPECT_EQ((*pool)->Drain(milliseconds(300)), 1);
  EXPECT_LT(std::chrono::steady_clock::now() - started, milliseconds(3000));
  EXPECT_EQ(JobState(tdb, job.id), "queued");
  EXPECT_THAT(tdb.Query("SELECT detail FROM ops.job_attempt"), HasSubstr("drain deadline"));
  runner.Release();
}

TEST(WorkerPoolTest, ALostLeaseCancelsTheRunnerAndLeavesTheJobToItsNewOwner) {
  dw::testing::TestDatabase tdb;
  auto db = tdb.Connect();
  Job job = MustEnqueue(*db, ApiJob("faq@1", "t1"));
  BlockingRunner runner(false);
  auto pool = WorkerPool::Start(FastOptions(tdb.url()), runner);
  ASSERT_TRUE(WaitFor([&] { return runner.started.load(); }, milliseconds(10000)));
  // Another worker took the job over (as after a network partition).
  ASSERT_EQ(
      tdb.Exec("UPDATE ops.job SET fence = fence + 1, lease_owner = 'thief' WHERE id = " + std::to_string(job.id)), "");
  ASSERT_TRUE(WaitFor([&] { return (*pool)->stats().lease_lost == 1; }, milliseconds(10000)));
  EXPECT_TRUE(runner.saw_cancel);
  EXPECT_EQ(tdb.Query("SELECT state || ' ' || lease_owner FROM ops.job"), "running thief");
}

TEST(WorkerPoolTest, LeasesAreRenewedWhileAJobRuns) {
  dw::testing::TestDatabase tdb;
  auto db = tdb.Connect();
  Job job = MustEnqueue(*db, ApiJob("faq@1", "t1"));
  ScriptedRunner runner(JobOutcome{}, milliseconds(3000));  // longer than the 2 s lease
  auto pool = WorkerPool::Start(FastOptions(tdb.url()), runner);
  ASSERT_TRUE(WaitFor([&] { return JobState(tdb, job.id) == "done"; }, milliseconds(15000)));
  EXPECT_EQ(QueryInt(tdb, "SELECT attempts FROM ops.job"), 1);
  EXPECT_EQ((*pool)->stats().lease_lost, 0u);
}

TEST(WorkerPoolTest, ATargetNeverRunsMoreJobsThanItsSlotsAcrossWorkers) {
  dw::testing::TestDatabase tdb;
  auto db = tdb.Connect();
  for (int i = 0; i < 8; ++i) MustEnqueue(*db, ApiJob("faq@1", "t1"));
  ConcurrencyRunner runner;
  auto pool = WorkerPool::Start(FastOptions(tdb.url(), 4), runner);
  ASSERT_TRUE(WaitFor([&] { return runner.finished == 8; }, milliseconds(20000)));
  EXPECT_EQ(runner.max_running, 1);
}

TEST(WorkerPoolTest, MoreSlotsLetWorkersShareATarget) {
  dw::testing::TestDatabase tdb;
  auto db = tdb.Connect();
  ASSERT_TRUE(SetTargetSlots(*db, "t1", 2, "ops"));
  for (int i = 0; i < 8; ++i) MustEnqueue(*db, ApiJob("faq@1", "t1"));
  ConcurrencyRunner runner;
  auto pool = WorkerPool::Start(FastOptions(tdb.url(), 4), runner);
  ASSERT_TRUE(WaitFor([&] { return runner.finished == 8; }, milliseconds(20000)));
  EXPECT_EQ(runner.max_running, 2);
}

TEST(WorkerPoolTest, ExitWhenIdleEndsOnceTheQueueIsEmpty) {
  dw::testing::TestDatabase tdb;
  auto db = tdb.Connect();
  MustEnqueue(*db, ApiJob("faq@1", "t1"));
  MustEnqueue(*db, ApiJob("faq@1", "t2"));
  ScriptedRunner runner(JobOutcome{});
  WorkerPoolOptions options = FastOptions(tdb.url(), 2);
  options.exit_when_idle = true;
  auto pool = WorkerPool::Start(options, runner);
  ASSERT_TRUE(pool);
  EXPECT_TRUE((*pool)->Wait(milliseconds(10000)));
  EXPECT_EQ(QueryInt(tdb, "SELECT count(*) FROM ops.job WHERE state = 'done'"), 2);
}

TEST(WorkerPoolTest, JobEventsAreLoggedAsJsonLines) {
  dw::testing::TestDatabase tdb;
  auto db = tdb.Connect();
  Job job = MustEnqueue(*db, ApiJob("faq@1", "t1"));
  std::ostringstream out;
  JsonLog log(out);
  ScriptedRunner runner(JobOutcome{});
  WorkerPoolOptions options = FastOptions(tdb.url());
  options.log = &log;
  {
    auto pool = WorkerPool::Start(options, runner);
    ASSERT_TRUE(WaitFor([&] { return JobState(tdb, job.id) == "done"; }, milliseconds(10000)));
  }
  std::istringstream lines(out.str());
  std::vector<std::string> events;
  for (std::string line; std::getline(lines, line);) {
    auto parsed = nlohmann::json::parse(line, nullptr, false);
    ASSERT_FALSE(parsed.is_discarded()) << line;
    events.push_back(parsed["event"]);
  }
  EXPECT_THAT(events, ::testing::IsSupersetOf({"workers.started", "job.claimed", "job.done", "workers.draining"}));
}

TEST(WorkerPoolTest, RejectsALeaseShorterThanTwoRenewals) {
  dw::testing::TestDatabase tdb;
  ScriptedRunner runner(JobOutcome{});
  WorkerPoolOptions options = FastOptions(tdb.url());
  options.renew_interval = milliseconds(1500);
  auto pool = WorkerPool::Start(options, runner);
  ASSERT_FALSE(pool);
  EXPECT_EQ(pool.error().kind, ErrorKind::kInvalidInput);
}

}  // namespace
}  // namespace dw::sched
