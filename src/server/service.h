// `driftwatch serve`: the scheduler, the workers and the HTTP API in one
// process, sharing one PostgreSQL with any number of other such processes
// (no leader; see sched/scheduler.h and sched/job_queue.h).
//
// Behaviour:
//  - the scheduler ticks every scheduler_interval with the config in force;
//  - workers claim jobs, renew leases, run them through the JobRunner;
//  - HTTP serves /healthz, /readyz, /metrics and the API (server/api.h);
//  - Reload() (SIGHUP, or a change of the watched config file) loads the
//    config again; when the new one is invalid the old one keeps running and
//    the error is logged, counted in /metrics and shown on /readyz;
//  - Shutdown() (SIGTERM, SIGINT) stops the scheduler and HTTP listener,
//    tells running jobs to stop issuing calls, waits up to drain_timeout for
//    in-flight calls to finish and hands unfinished jobs back to the queue.
// Logs are JSON lines (sched/log.h).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "config/config.h"
#include "core/status.h"
#include "metrics/drift_metrics.h"
#include "sched/log.h"
#include "sched/scheduler.h"
#include "sched/worker.h"
#include "server/api.h"
#include "server/http_server.h"

namespace dw::server {

// A validated configuration with its schedules compiled. Immutable.
struct LoadedConfig {
  config::Config config;
  std::vector<sched::CompiledSchedule> schedules;
  // sha256 (hex) of the file bytes that were parsed; empty for the built-in
  // defaults.
  std::string source_sha256;
};

// Produces the configuration; called at start and on every reload, from any
// thread.
using ConfigLoader = std::function<Result<std::shared_ptr<const LoadedConfig>>()>;

// Reads `path` once, hashes and parses those bytes (config::ParseConfig; the
// built-in defaults when empty) and compiles its schedules; errors name the
// file and schedule.
Result<std::shared_ptr<const LoadedConfig>> LoadServiceConfig(const std::string& path);

struct ServiceOptions {
  std::string database_url;  // required
  ConfigLoader load_config;  // required
  // The file load_config reads, named with its sha256 in the config.reload
  // audit event of every reload; empty: the built-in defaults.
  std::string config_path;
  // Who the config.reload audit events name as actor.
  std::string actor = "driftwatch-serve";
  // Reload when this file's modification time or size changes (checked
  // every watch_interval); empty: reload on SIGHUP only.
  std::string watch_path;
  std::chrono::milliseconds watch_interval{2000};

  bool scheduler = true;
  std::chrono::milliseconds scheduler_interval{5000};
  sched::SchedulerOptions scheduler_options;

  int workers = 2;  // 0: this process runs no jobs
  // Lease, renewal, polling and retry settings; the service fills in the
  // database URL, thread count, targets and log.
  sched::WorkerPoolOptions worker_options;

  std::string http_listen;  // empty: no HTTP server
  HttpServerOptions http;   // listen is taken from http_listen
  ApiOptions api;

  std::chrono::milliseconds drain_timeout{30000};
  // One-shot mode (cron): tick the scheduler once, run jobs until none is
  // claimable, then stop.
  bool once = false;

  std::shared_ptr<metrics::DriftMetrics> drift;  // shown on /metrics; may be null
  sched::JsonLog* log = nullptr;                 // required; not owned
};

// Thread-safe.
class Service {
 public:
  // Loads the config, connects, and starts the threads. A config error at
  // start is fatal (kInvalidInput); so is an unreachable database
  // (kUnavailable) or an unbindable HTTP address.
  static Result<std::unique_ptr<Service>> Start(ServiceOptions options, sched::JobRunner& runner);

  // Shutdown(), then joins every thread.
  ~Service();
  Service(const Service&) = delete;
  Service& operator=(const Service&) = delete;

  // Loads the config again. On success the new schedules and targets apply
  // from the next tick and claim; on failure the current config stays and
  // the error is returned (and logged). Either way a config.reload event
  // (file, sha256, applied or rejected) is appended to the audit trail; when
  // that append fails the outcome stands and config.reload_audit_failed is
  // logged.
  Status Reload();

  // Drains (see above) and returns how many jobs were still running at the
  // deadline; they were handed back, but their runner threads are still
  // busy, so the process must then end with std::_Exit. Idempotent.
  int Shutdown();

  // In `once` mode: waits until the workers found nothing more to claim, or
  // `deadline` passed. True when done.
  bool WaitUntilIdle(std::chrono::milliseconds deadline);

  // The bound HTTP port (0 without HTTP).
  int http_port() const;

  std::shared_ptr<const LoadedConfig> config() const;

  // Service families for /metrics (queue, workers, scheduler, reloads).
  std::string MetricsText();

 private:
  Service(ServiceOptions options, sched::JobRunner& runner);
  void SchedulerLoop();
  void WatchLoop();
  void Tick(store::Database& db);
  std::vector<std::string> NotReady() const;
  // Appends the config.reload audit event; logs when it cannot.
  void AuditReload(const std::string& sha256, bool applied, std::uint64_t generation, const std::string& error);

  ServiceOptions options_;
  sched::JobRunner& runner_;
  sched::JsonLog& log_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::shared_ptr<const LoadedConfig> config_;
  std::uint64_t config_generation_ = 0;
  std::string last_reload_error_;
  double last_reload_success_ = 0;
  bool stopping_ = false;
  int abandoned_ = -1;  // set by the first Shutdown

  std::unique_ptr<sched::WorkerPool> workers_;
  std::unique_ptr<Api> api_;
  std::unique_ptr<HttpServer> http_;
  std::thread scheduler_thread_;
  std::thread watch_thread_;
  std::atomic<bool> draining_{false};

  std::atomic<std::uint64_t> reloads_ok_{0}, reloads_failed_{0};
  std::atomic<std::uint64_t> ticks_{0}, fires_{0}, jobs_enqueued_{0}, tick_errors_{0};

  std::mutex queue_mu_;
  std::map<std::string, long long> queue_counts_;
  std::chrono::steady_clock::time_point queue_counted_at_{};
  std::unique_ptr<store::Database> metrics_db_;
};

// Runs a Service until SIGTERM or SIGINT, reloading on SIGHUP. Blocks those
// signals in the calling thread before any service thread starts (so call it
// from the main thread before creating other threads) and waits for them
// with sigtimedwait. Returns the exit code: 0 after a clean drain (or, in
// once mode, when the work is done), 3 when the service cannot start. When
// the drain deadline passes with jobs still running, they are handed back
// and the process ends at once with std::_Exit(1).
int RunServiceUntilSignal(ServiceOptions options, sched::JobRunner& runner);

}  // namespace dw::server
