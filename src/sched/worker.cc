#include "sched/worker.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <random>

#include "core/ids.h"

namespace dw::sched {
namespace {

constexpr auto kForever = std::chrono::hours(24 * 365 * 10);
constexpr auto kMaxRetryDelay = std::chrono::minutes(10);

std::chrono::milliseconds RetryDelay(std::chrono::milliseconds base, int attempts) {
  auto delay = base;
  for (int i = 1; i < attempts && delay < kMaxRetryDelay; ++i) delay *= 2;
  return std::min<std::chrono::milliseconds>(delay, kMaxRetryDelay);
}

bool Retryable(ErrorKind kind) { return kind == ErrorKind::kUnavailable || kind == ErrorKind::kInternal; }

}  // namespace

config::RateLimit RateLimitShare(const config::RateLimit& limit, int slots) {
  const double n = std::max(slots, 1);
  return config::RateLimit{limit.requests_per_second / n, limit.tokens_per_minute / n};
}

std::shared_ptr<const config::Config> ConfigForSlot(std::shared_ptr<const config::Config> config,
                                                    const std::string& target, int slots) {
  if (!config || slots <= 1) return config;
  auto it = config->targets.find(target);
  if (it == config->targets.end()) return config;
  auto shared = std::make_shared<config::Config>(*config);
  config::TargetConfig& t = shared->targets.at(target);
  t.rate_limit = RateLimitShare(t.rate_limit, slots);
  const int concurrency = t.concurrency > 0 ? t.concurrency : config->concurrency;
  t.concurrency = std::max(1, concurrency / slots);
  return shared;
}

std::shared_ptr<const config::Config> ConfigForJob(std::shared_ptr<const config::Config> config, const Job& job) {
  if (!config || job.schedule_name.empty()) return ConfigForSlot(std::move(config), job.target, job.target_slots);
  auto schedule = config->schedules.find(job.schedule_name);
  auto target = config->targets.find(job.target);
  if (schedule == config->schedules.end() || target == config->targets.end() ||
      (!schedule->second.budget_usd && schedule->second.concurrency <= 0))
    return ConfigForSlot(std::move(config), job.target, job.target_slots);
  auto adjusted = std::make_shared<config::Config>(*config);
  config::TargetConfig& t = adjusted->targets.at(job.target);
  const config::ScheduleConfig& s = schedule->second;
  if (s.budget_usd) t.budget_usd = s.budget_usd;
  if (s.concurrency > 0) t.concurrency = t.concurrency > 0 ? std::min(t.concurrency, s.concurrency) : s.concurrency;
  return ConfigForSlot(std::move(adjusted), job.target, job.target_slots);
}

std::string DefaultWorkerId() {
  std::random_device rd;
  char suffix[8];
  std::snprintf(suffix, sizeof suffix, "%06x", static_cast<unsigned>(rd() & 0xffffff));
  return HostName() + ":" + std::to_string(getpid()) + ":" + suffix;
}

struct WorkerPool::Slot {
  std::string id;
  std::thread thread;
  std::mutex mu;
  std::optional<Lease> lease;  // the job being run
  std::chrono::steady_clock::time_point renewed_at;
  bool abandoned = false;  // handed back by Drain at its deadline
  std::atomic<bool> cancel{false};
  std::atomic<bool> lost{false};
};

WorkerPool::WorkerPool(WorkerPoolOptions options, JobRunner& runner) : options_(std::move(options)), runner_(runner) {}

Result<std::unique_ptr<WorkerPool>> WorkerPool::Start(WorkerPoolOptions options, JobRunner& runner) {
  if (options.database_url.empty()) return Fail(ErrorKind::kInvalidInput, "workers need a database URL");
  if (options.workers < 1 || options.workers > 256)
    return Fail(ErrorKind::kInvalidInput, "workers must be between 1 and 256");
  if (options.lease < std::chrono::milliseconds(200))
    return Fail(ErrorKind::kInvalidInput, "a lease must last at least 200 ms");
  if (options.renew_interval.count() <= 0 || options.renew_interval * 2 > options.lease)
    return Fail(ErrorKind::kInvalidInput, "the lease renewal interval must be positive and at most half the lease");
  if (options.poll_interval.count() <= 0) return Fail(ErrorKind::kInvalidInput, "the poll interval must be positive");
  if (options.retry_delay.count() < 0) return Fail(ErrorKind::kInvalidInput, "the retry delay must not be negative");
  if (options.worker_id.empty()) options.worker_id = DefaultWorkerId();
  std::unique_ptr<WorkerPool> pool(new WorkerPool(std::move(options), runner));
  const int n = pool->options_.workers;
  for (int i = 0; i < n; ++i) {
    auto slot = std::make_unique<Slot>();
    slot->id = pool->options_.worker_id + "/" + std::to_string(i + 1);
    pool->slots_.push_back(std::move(slot));
  }
  pool->live_workers_ = n;
  for (auto& slot : pool->slots_) {
    Slot* s = slot.get();
    WorkerPool* p = pool.get();
    s->thread = std::thread([p, s] { p->WorkerLoop(*s); });
  }
  pool->heartbeat_ = std::thread([p = pool.get()] { p->HeartbeatLoop(); });
  if (pool->options_.log)
    pool->options_.log->Info(
        "workers.started",
        {{"worker", pool->options_.worker_id}, {"threads", n}, {"lease_ms", pool->options_.lease.count()}});
  return pool;
}

WorkerPool::~WorkerPool() {
  Drain(std::chrono::duration_cast<std::chrono::milliseconds>(kForever));
  for (auto& slot : slots_)
    if (slot->thread.joinable()) slot->thread.join();
  {
    std::lock_guard<std::mutex> lock(mu_);
    drained_ = true;
  }
  cv_.notify_all();
  if (heartbeat_.joinable()) heartbeat_.join();
}

void WorkerPool::Wake() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++wake_generation_;
  }
  cv_.notify_all();
}

bool WorkerPool::IdleWait(std::chrono::milliseconds wait) {
  std::unique_lock<std::mutex> lock(mu_);
  const std::uint64_t generation = wake_generation_;
  cv_.wait_for(lock, wait, [&] { return stopping_ || wake_generation_ != generation; });
  return !stopping_;
}

void WorkerPool::WorkerLoop(Slot& slot) {
  std::unique_ptr<store::Database> db;
  while (true) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (stopping_) break;
    }
    if (!db) {
      auto connected = store::Database::Connect(options_.database_url);
      if (!connected) {
        ++errors_;
        if (options_.log)
          options_.log->Warn("worker.db_error", {{"worker", slot.id}, {"error", connected.error().message}});
        IdleWait(options_.poll_interval);
        continue;
      }
      db = std::move(*connected);
    }
    std::shared_ptr<const config::Config> config = options_.config ? options_.config() : nullptr;
    std::vector<std::string> targets;
    if (config)
      for (const auto& [name, target] : config->targets) targets.push_back(name);
    auto claimed = ClaimJob(*db, slot.id, options_.lease, targets);
    if (!claimed) {
      ++errors_;
      if (options_.log)
        options_.log->Warn("worker.claim_error", {{"worker", slot.id}, {"error", claimed.error().message}});
      db.reset();
      IdleWait(options_.poll_interval);
      continue;
    }
    if (!*claimed) {
      if (options_.exit_when_idle) break;
      IdleWait(options_.poll_interval);
      continue;
    }
    Execute(slot, *db, **claimed, std::move(config));
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    --live_workers_;
  }
  cv_.notify_all();
}

void WorkerPool::Execute(Slot& slot, store::Database& db, const Job& job,
                         std::shared_ptr<const config::Config> config) {
  const Lease lease{job.id, job.fence, slot.id};
  {
    std::lock_guard<std::mutex> lock(slot.mu);
    slot.lease = lease;
    slot.renewed_at = std::chrono::steady_clock::now();
    slot.abandoned = false;
    slot.cancel = false;
    slot.lost = false;
  }
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) slot.cancel = true;
  }
  ++claimed_;
  if (options_.log)
    options_.log->Info("job.claimed", {{"job", job.id},
                                       {"fence", job.fence},
                                       {"attempt", job.attempts},
                                       {"target", job.target},
                                       {"goldenset", job.goldenset},
                                       {"target_slots", job.target_slots},
                                       {"run", job.run_id},
                                       {"worker", slot.id}});
  const auto started = std::chrono::steady_clock::now();
  Result<JobOutcome> result = JobOutcome{};
  bool finished_before = false;
  if (!job.run_id.empty()) {
    // A previous attempt may have finished the run and died before it could
    // mark the job done.
    auto status = RunStatus(db, job.run_id);
    if (status && *status == "done") {
      finished_before = true;
      result = JobOutcome{false, job.run_id, "the run had already finished"};
    }
  }
  if (!finished_before) {
    auto url = FencedDatabaseUrl(options_.database_url, lease);
    if (!url) {
      result = Fail(url.error());
    } else {
      JobContext context{*url, &slot.cancel, slot.id, lease,
                         ConfigForJob(std::move(config), job)};
      try {
        result = runner_.Run(job, context);
      } catch (const std::exception& e) {
        result = Fail(ErrorKind::kInternal, std::string("job runner threw: ") + e.what());
      }
    }
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  bool abandoned = false;
  {
    std::lock_guard<std::mutex> lock(slot.mu);
    abandoned = slot.abandoned;
  }
  if (slot.lost || abandoned) {
    if (slot.lost) ++lease_lost_;
    if (options_.log)
      options_.log->Warn(slot.lost ? "job.lease_lost" : "job.abandoned",
                         {{"job", job.id}, {"fence", job.fence}, {"worker", slot.id}, {"seconds", seconds}});
  } else {
    JobEnd end = JobEnd::kDone;
    std::string detail;
    if (result && !result->cancelled) {
      detail = result->detail;
    } else if (result) {
      end = JobEnd::kReleased;
      detail = "handed back unfinished: the worker is shutting down";
    } else {
      end = Retryable(result.error().kind) ? JobEnd::kRetry : JobEnd::kFailed;
      detail = result.error().message;
    }
    const auto delay = RetryDelay(options_.retry_delay, job.attempts);
    std::unique_ptr<store::Database> spare;
    store::Database* finishing = &db;
    for (int attempt = 0; attempt < 3; ++attempt) {
      auto finished = FinishJob(*finishing, lease, end, detail, delay);
      if (finished) {
        if (!*finished) {
          ++lease_lost_;
          if (options_.log)
            options_.log->Warn("job.lease_lost", {{"job", job.id}, {"fence", job.fence}, {"worker", slot.id}});
          break;
        }
        const std::string& state = **finished;
        if (end == JobEnd::kDone)
          ++done_;
        else if (end == JobEnd::kReleased)
          ++released_;
        else if (state == "failed")
          ++failed_;
        else
          ++retried_;
        nlohmann::json fields = {{"job", job.id},
                                 {"fence", job.fence},
                                 {"state", state},
                                 {"worker", slot.id},
                                 {"seconds", seconds},
                                 {"attempt", job.attempts},
                                 {"run", result ? result->run_id : job.run_id}};
        if (!detail.empty()) fields["detail"] = detail;
        if (options_.log) {
          const char* event = end == JobEnd::kDone       ? "job.done"
                              : end == JobEnd::kReleased ? "job.released"
                              : state == "failed"        ? "job.failed"
                                                         : "job.retry";
          if (end == JobEnd::kDone || end == JobEnd::kReleased)
            options_.log->Info(event, fields);
          else
            options_.log->Warn(event, fields);
        }
        break;
      }
      ++errors_;
      if (options_.log) options_.log->Warn("job.finish_error", {{"job", job.id}, {"error", finished.error().message}});
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      auto reconnected = store::Database::Connect(options_.database_url);
      if (reconnected) {
        spare = std::move(*reconnected);
        finishing = spare.get();
      }
    }
  }
  std::lock_guard<std::mutex> lock(slot.mu);
  slot.lease.reset();
}

void WorkerPool::HeartbeatLoop() {
  std::unique_ptr<store::Database> db;
  while (true) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait_for(lock, options_.renew_interval, [&] { return drained_; });
      if (drained_) return;
    }
    for (auto& slot : slots_) {
      std::optional<Lease> lease;
      std::chrono::steady_clock::time_point renewed_at;
      {
        std::lock_guard<std::mutex> lock(slot->mu);
        if (slot->lease && !slot->abandoned && !slot->lost) lease = slot->lease;
        renewed_at = slot->renewed_at;
      }
      if (!lease) continue;
      Status ok = Ok();
      if (!db) {
        auto connected = store::Database::Connect(options_.database_url);
        if (connected)
          db = std::move(*connected);
        else
          ok = Fail(connected.error());
      }
      if (db) {
        auto renewed = RenewLeases(*db, lease->worker, options_.lease, {*lease});
        if (renewed && renewed->empty()) {
          slot->lost = true;
          slot->cancel = true;
          if (options_.log)
            options_.log->Warn("lease.lost",
                               {{"job", lease->job_id}, {"fence", lease->fence}, {"worker", lease->worker}});
          continue;
        }
        if (renewed) {
          std::lock_guard<std::mutex> lock(slot->mu);
          slot->renewed_at = std::chrono::steady_clock::now();
          continue;
        }
        ok = Fail(renewed.error());
        db.reset();
      }
      ++errors_;
      if (options_.log)
        options_.log->Warn("lease.renew_error", {{"job", lease->job_id}, {"error", ok.error().message}});
      if (std::chrono::steady_clock::now() - renewed_at >= options_.lease) {
        // The lease has run out: another worker may hold the job by now and
        // the database refuses this attempt's writes. Stop the runner.
        slot->lost = true;
        slot->cancel = true;
      }
    }
  }
}

int WorkerPool::Drain(std::chrono::milliseconds deadline) {
  bool first = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    first = !stopping_;
    stopping_ = true;
  }
  for (auto& slot : slots_) slot->cancel = true;
  cv_.notify_all();
  if (first && options_.log)
    options_.log->Info("workers.draining", {{"worker", options_.worker_id}, {"deadline_ms", deadline.count()}});
  if (Wait(deadline)) return 0;
  int abandoned = 0;
  std::unique_ptr<store::Database> db;
  if (auto connected = store::Database::Connect(options_.database_url)) db = std::move(*connected);
  for (auto& slot : slots_) {
    std::optional<Lease> lease;
    {
      std::lock_guard<std::mutex> lock(slot->mu);
      if (slot->lease && !slot->abandoned) {
        slot->abandoned = true;
        lease = slot->lease;
      }
    }
    if (!lease) continue;
    ++abandoned;
    if (!db) continue;  // the lease will expire and the job be rescued
    auto finished =
        FinishJob(*db, *lease, JobEnd::kReleased, "handed back at the drain deadline while its runner was still busy",
                  std::chrono::milliseconds(0));
    if (finished && *finished) ++released_;
    if (options_.log)
      options_.log->Warn("job.handed_back", {{"job", lease->job_id},
                                             {"fence", lease->fence},
                                             {"worker", lease->worker},
                                             {"ok", finished && finished->has_value()}});
  }
  return abandoned;
}

bool WorkerPool::Wait(std::chrono::milliseconds deadline) {
  std::unique_lock<std::mutex> lock(mu_);
  return cv_.wait_for(lock, deadline, [&] { return live_workers_ == 0; });
}

WorkerStats WorkerPool::stats() const {
  WorkerStats s;
  s.claimed = claimed_;
  s.done = done_;
  s.retried = retried_;
  s.failed = failed_;
  s.released = released_;
  s.lease_lost = lease_lost_;
  s.errors = errors_;
  for (const auto& slot : slots_) {
    std::lock_guard<std::mutex> lock(slot->mu);
    if (slot->lease) ++s.busy;
  }
  return s;
}

}  // namespace dw::sched
