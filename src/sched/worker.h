// Workers: threads that claim jobs from the queue (sched/job_queue.h), keep
// their leases alive and hand each job to a JobRunner.
//
// The runner is an interface so that this module does not depend on the
// replay machinery: `driftwatch serve` implements it with cli::ExecuteRun,
// tests plug in fakes. Each job runs with a fenced database URL: the
// database refuses its writes once the worker has lost the lease (see
// migrations/V0004__jobs.sql), so a worker that stalls past its lease can
// never overwrite the work of the worker that took the job over.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "config/config.h"
#include "core/status.h"
#include "sched/job_queue.h"
#include "sched/log.h"

namespace dw::sched {

// What a runner gets besides the job.
struct JobContext {
  // The service's database URL with this attempt's fencing settings: every
  // connection the runner opens for the job must use it.
  std::string database_url;
  // Becomes true when the worker drains (SIGTERM) or loses the lease. The
  // runner then stops starting new work, lets in-flight calls finish, and
  // returns promptly with JobOutcome::cancelled.
  const std::atomic<bool>* cancel = nullptr;
  std::string worker_id;
  Lease lease;
  // The configuration in force when the job was claimed, with the job's
  // target given its schedule's budget and concurrency and limited to one
  // slot's share of its rate limit and concurrency (ConfigForJob); null when
  // the pool has no config source.
  std::shared_ptr<const config::Config> config;
};

struct JobOutcome {
  bool cancelled = false;  // stopped early on `cancel`: the job is unfinished
  std::string run_id;      // the run it created or resumed, if any
  std::string detail;      // one line for the log
};

// Performs jobs. Implementations must be safe to call from several worker
// threads at once. A job may be a retry of an earlier attempt (Job::attempts
// > 1) whose run (Job::run_id) already holds some results: resume it, and
// never write a result twice. Errors of kind kUnavailable or kInternal are
// retried (up to the job's max_attempts, with exponential backoff); every
// other kind fails the job at once with the error as its reason.
class JobRunner {
 public:
  virtual ~JobRunner() = default;
  virtual Result<JobOutcome> Run(const Job& job, const JobContext& context) = 0;
};

struct WorkerPoolOptions {
  std::string database_url;  // unfenced; the pool fences it per job
  int workers = 1;           // threads, each running one job at a time (1..256)
  // Worker ids are "<worker_id>/<n>"; empty: "<host>:<pid>:<random>".
  std::string worker_id;
  std::chrono::milliseconds lease{30000};
  std::chrono::milliseconds renew_interval{10000};  // below lease / 2
  std::chrono::milliseconds poll_interval{1000};    // idle wait between claims
  // Delay before the first retry; doubles with each attempt, at most 10 min.
  std::chrono::milliseconds retry_delay{10000};
  // The configuration in force, read before every claim from worker
  // threads: workers claim only jobs for its targets and hand it to the
  // runner. Unset: claim any target; runners get no config.
  std::function<std::shared_ptr<const config::Config>()> config;
  // Threads end when nothing is claimable (one-shot `serve --once`).
  bool exit_when_idle = false;
  JsonLog* log = nullptr;  // not owned; may be null
};

// Counters since Start, for /metrics.
struct WorkerStats {
  std::uint64_t claimed = 0;
  std::uint64_t done = 0;
  std::uint64_t retried = 0;
  std::uint64_t failed = 0;
  std::uint64_t released = 0;
  std::uint64_t lease_lost = 0;
  std::uint64_t errors = 0;  // database failures while claiming or finishing
  int busy = 0;              // jobs running now
};

// A set of worker threads plus one lease-renewal thread. Thread-safe.
class WorkerPool {
 public:
  // Validates the options and starts the threads. `runner` must outlive the
  // pool. kInvalidInput for bad options.
  static Result<std::unique_ptr<WorkerPool>> Start(WorkerPoolOptions options, JobRunner& runner);

  // Drains with no deadline, then joins every thread.
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  // Makes idle workers try to claim now (e.g. after enqueueing a job).
  void Wake();

  // Stops claiming and cancels running jobs, then waits up to `deadline` for
  // their runners to return; each returning job is finished as usual
  // (handed back when unfinished). Jobs still running at the deadline are
  // handed back from here, which makes their fence stale, and counted in the
  // result: their runner threads cannot be joined, so when the result is
  // non-zero the caller must end the process (std::_Exit) rather than
  // destroy the pool. Idempotent; later calls only wait.
  int Drain(std::chrono::milliseconds deadline);

  // Waits until every worker thread has ended (with exit_when_idle, once the
  // queue has nothing claimable for this pool), or `deadline` passes.
  // Returns true when they all ended.
  bool Wait(std::chrono::milliseconds deadline);

  WorkerStats stats() const;
  const std::string& worker_id() const { return options_.worker_id; }

 private:
  struct Slot;
  WorkerPool(WorkerPoolOptions options, JobRunner& runner);
  void WorkerLoop(Slot& slot);
  void Execute(Slot& slot, store::Database& db, const Job& job, std::shared_ptr<const config::Config> config);
  void HeartbeatLoop();
  bool IdleWait(std::chrono::milliseconds wait);

  WorkerPoolOptions options_;
  JobRunner& runner_;
  std::vector<std::unique_ptr<Slot>> slots_;
  std::thread heartbeat_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool drained_ = false;
  int live_workers_ = 0;
  std::uint64_t wake_generation_ = 0;

  std::atomic<std::uint64_t> claimed_{0}, done_{0}, retried_{0}, failed_{0}, released_{0}, lease_lost_{0}, errors_{0};
};

// A worker id for this process: "<host>:<pid>:<6 random hex digits>".
std::string DefaultWorkerId();

// One job slot's share of a target's limits when `slots` jobs of the target
// may run at once across all workers: requests/s and tokens/min divided by
// `slots`, so the jobs running together never exceed the configured rates
// (a limit of 0, unlimited, stays 0). slots < 1 counts as 1.
config::RateLimit RateLimitShare(const config::RateLimit& limit, int slots);

// `config` with `target`'s rate limit replaced by its RateLimitShare and its
// concurrency (the target's, else the config's) by max(1, concurrency /
// slots). `config` itself when slots <= 1 or the target is not in it.
std::shared_ptr<const config::Config> ConfigForSlot(std::shared_ptr<const config::Config> config,
                                                    const std::string& target, int slots);

// `config` as job `job` runs it. When the job comes from a schedule of
// `config`, its target takes that schedule's budget_usd and concurrency (a
// schedule's concurrency replaces the config's default but never exceeds the
// target's own); then ConfigForSlot with Job::target_slots. `config` itself
// when nothing changes.
std::shared_ptr<const config::Config> ConfigForJob(std::shared_ptr<const config::Config> config, const Job& job);

}  // namespace dw::sched
