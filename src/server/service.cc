#include "server/service.h"

#include <pthread.h>
#include <signal.h>

#include <cstdio>
#include <ctime>
#include <filesystem>
#include <iostream>

#include "config/loader.h"
#include "config/yaml_util.h"
#include "core/hash.h"
#include "metrics/exposition.h"
#include "sched/job_queue.h"
#include "store/audit_log.h"
#include "store/migrations.h"

namespace dw::server {
namespace {

using Json = nlohmann::json;

double UnixNow() { return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count(); }

void Family(std::string& out, const char* name, const char* help, prometheus::MetricType type) {
  metrics::AppendFamilyHeader(out, name, help, type);
}

void Sample(std::string& out, const char* name, double value) { metrics::AppendSample(out, name, "", {}, value); }

void Sample(std::string& out, const char* name, const char* label, const std::string& label_value, double value) {
  metrics::LabelRef labels[] = {{label, label_value}};
  metrics::AppendSample(out, name, "", labels, value);
}

}  // namespace

Result<std::shared_ptr<const LoadedConfig>> LoadServiceConfig(const std::string& path) {
  config::Config c;
  std::string sha256;
  if (path.empty()) {
    c = config::DefaultConfig();
  } else {
    auto text = config::ReadTextFile(path);
    if (!text) return Fail(text.error());
    sha256 = Sha256Hex(*text);
    auto parsed = config::ParseConfig(*text, path);
    if (!parsed) return Fail(parsed.error());
    c = std::move(*parsed);
  }
  auto schedules = sched::CompileSchedules(c);
  if (!schedules)
    return Fail(ErrorKind::kInvalidInput, (path.empty() ? std::string() : path + ": ") + schedules.error().message);
  auto loaded = std::make_shared<LoadedConfig>();
  loaded->config = std::move(c);
  loaded->schedules = std::move(*schedules);
  loaded->source_sha256 = std::move(sha256);
  return std::shared_ptr<const LoadedConfig>(std::move(loaded));
}

Service::Service(ServiceOptions options, sched::JobRunner& runner)
    : options_(std::move(options)), runner_(runner), log_(*options_.log) {}

Result<std::unique_ptr<Service>> Service::Start(ServiceOptions options, sched::JobRunner& runner) {
  if (!options.log) return Fail(ErrorKind::kInvalidInput, "the service needs a log");
  if (!options.load_config) return Fail(ErrorKind::kInvalidInput, "the service needs a config loader");
  if (options.database_url.empty()) return Fail(ErrorKind::kInvalidInput, "the service needs a database URL");
  if (options.workers < 0 || options.workers > 256)
    return Fail(ErrorKind::kInvalidInput, "workers must be between 0 and 256");
  if (options.scheduler_interval.count() <= 0)
    return Fail(ErrorKind::kInvalidInput, "the scheduler interval must be positive");
  std::unique_ptr<Service> service(new Service(std::move(options), runner));
  Service& s = *service;
  auto loaded = s.options_.load_config();
  if (!loaded) return Fail(loaded.error());
  s.config_ = *loaded;
  s.config_generation_ = 1;
  s.last_reload_success_ = UnixNow();
  {
    auto db = store::Database::Connect(s.options_.database_url);
    if (!db) return Fail(db.error());
    if (auto current = store::CheckSchemaCurrent(**db); !current) return Fail(current.error());
    if (s.options_.once && s.options_.scheduler) s.Tick(**db);
  }
  if (s.options_.workers > 0) {
    sched::WorkerPoolOptions w = s.options_.worker_options;
    w.database_url = s.options_.database_url;
    w.workers = s.options_.workers;
    w.log = &s.log_;
    w.exit_when_idle = s.options_.once;
    w.config = [raw = &s]() -> std::shared_ptr<const config::Config> {
      auto c = raw->config();
      return std::shared_ptr<const config::Config>(c, &c->config);
    };
    auto pool = sched::WorkerPool::Start(std::move(w), runner);
    if (!pool) return Fail(pool.error());
    s.workers_ = std::move(*pool);
  }
  if (!s.options_.http_listen.empty()) {
    ApiHooks hooks;
    hooks.config = [raw = &s]() -> std::shared_ptr<const config::Config> {
      auto c = raw->config();
      return std::shared_ptr<const config::Config>(c, &c->config);
    };
    hooks.metrics_text = [raw = &s] { return raw->MetricsText(); };
    hooks.not_ready = [raw = &s] { return raw->NotReady(); };
    hooks.status = [raw = &s] {
      std::lock_guard<std::mutex> lock(raw->mu_);
      return Json{{"config_generation", raw->config_generation_},
                  {"last_reload_error", raw->last_reload_error_.empty() ? Json() : Json(raw->last_reload_error_)},
                  {"workers", raw->options_.workers},
                  {"scheduler", raw->options_.scheduler}};
    };
    hooks.job_enqueued = [raw = &s] {
      if (raw->workers_) raw->workers_->Wake();
    };
    s.api_ = std::make_unique<Api>(s.options_.database_url, s.options_.api, std::move(hooks));
    HttpServerOptions http = s.options_.http;
    http.listen = s.options_.http_listen;
    auto server = HttpServer::Start(http, s.api_->handler());
    if (!server) {
      if (s.workers_) s.workers_->Drain(s.options_.drain_timeout);
      return Fail(server.error());
    }
    s.http_ = std::move(*server);
  }
  if (s.options_.scheduler && !s.options_.once) s.scheduler_thread_ = std::thread([raw = &s] { raw->SchedulerLoop(); });
  if (!s.options_.watch_path.empty() && !s.options_.once)
    s.watch_thread_ = std::thread([raw = &s] { raw->WatchLoop(); });
  s.log_.Info("service.started", {{"workers", s.options_.workers},
                                  {"worker", s.workers_ ? Json(s.workers_->worker_id()) : Json()},
                                  {"scheduler", s.options_.scheduler},
                                  {"http_port", s.http_port()},
                                  {"schedules", s.config_->schedules.size()},
                                  {"targets", s.config_->config.targets.size()},
                                  {"once", s.options_.once}});
  return service;
}

Service::~Service() {
  int abandoned = Shutdown();
  if (abandoned > 0) {
    // Runner threads are still busy and cannot be joined; the process is
    // about to end (see Shutdown), so leave the pool to it.
    (void)workers_.release();
  }
}

std::shared_ptr<const LoadedConfig> Service::config() const {
  std::lock_guard<std::mutex> lock(mu_);
  return config_;
}

int Service::http_port() const { return http_ ? http_->port() : 0; }

Status Service::Reload() {
  auto loaded = options_.load_config();
  if (!loaded) {
    std::uint64_t generation;
    {
      std::lock_guard<std::mutex> lock(mu_);
      last_reload_error_ = loaded.error().message;
      generation = config_generation_;
    }
    ++reloads_failed_;
    log_.Error("config.reload_failed", {{"error", loaded.error().message}, {"kept_generation", generation}});
    // The rejected bytes are not at hand: hash the file as it is now.
    std::string sha256;
    if (!options_.config_path.empty())
      if (auto text = config::ReadTextFile(options_.config_path)) sha256 = Sha256Hex(*text);
    AuditReload(sha256, false, generation, loaded.error().message);
    return Fail(loaded.error());
  }
  std::uint64_t generation;
  {
    std::lock_guard<std::mutex> lock(mu_);
    config_ = *loaded;
    generation = ++config_generation_;
    last_reload_error_.clear();
    last_reload_success_ = UnixNow();
  }
  ++reloads_ok_;
  log_.Info("config.reloaded", {{"generation", generation},
                                {"schedules", (*loaded)->schedules.size()},
                                {"targets", (*loaded)->config.targets.size()},
                                {"sha256", (*loaded)->source_sha256}});
  if (workers_) workers_->Wake();
  AuditReload((*loaded)->source_sha256, true, generation, "");
  return Ok();
}

void Service::AuditReload(const std::string& sha256, bool applied, std::uint64_t generation, const std::string& error) {
  Json payload = {{"sha256", sha256.empty() ? Json() : Json(sha256)},
                  {"result", applied ? "applied" : "rejected"},
                  {"generation", generation}};
  if (!applied) payload["error"] = error;
  const std::string object = options_.config_path.empty() ? "(built-in defaults)" : options_.config_path;
  Status status = [&]() -> Status {
    auto db = store::Database::Connect(options_.database_url);
    if (!db) return Fail(db.error());
    return (*db)->Transact([&](pqxx::dbtransaction& tx) -> Status {
      return AsStatus(store::AppendAudit(tx, options_.actor, "config.reload", "config", object, payload));
    });
  }();
  if (!status)
    log_.Error("config.reload_audit_failed", {{"error", status.error().message}, {"result", payload["result"]}});
}

void Service::Tick(store::Database& db) {
  auto current = config();
  if (current->schedules.empty()) return;
  ++ticks_;
  auto report =
      sched::TickSchedules(db, current->schedules, std::chrono::system_clock::now(), options_.scheduler_options);
  if (!report) {
    ++tick_errors_;
    log_.Warn("scheduler.error", {{"error", report.error().message}});
    return;
  }
  for (const auto& e : report->errors) {
    ++tick_errors_;
    log_.Warn("scheduler.schedule_error", {{"error", e}});
  }
  fires_ += static_cast<std::uint64_t>(report->fires_enqueued);
  jobs_enqueued_ += static_cast<std::uint64_t>(report->jobs_enqueued);
  if (report->fires_enqueued || report->fires_skipped)
    log_.Info("scheduler.fired", {{"fires", report->fires_enqueued},
                                  {"jobs", report->jobs_enqueued},
                                  {"skipped", report->fires_skipped},
                                  {"missed", report->missed}});
  if (report->jobs_enqueued && workers_) workers_->Wake();
}

void Service::SchedulerLoop() {
  std::unique_ptr<store::Database> db;
  while (true) {
    if (!db) {
      auto connected = store::Database::Connect(options_.database_url);
      if (connected)
        db = std::move(*connected);
      else
        log_.Warn("scheduler.db_error", {{"error", connected.error().message}});
    }
    if (db) {
      const auto errors_before = tick_errors_.load();
      Tick(*db);
      if (tick_errors_.load() != errors_before) db.reset();
    }
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, options_.scheduler_interval, [&] { return stopping_; });
    if (stopping_) return;
  }
}

void Service::WatchLoop() {
  namespace fs = std::filesystem;
  auto stamp = [&] {
    std::error_code ec;
    auto mtime = fs::last_write_time(options_.watch_path, ec);
    long long t = ec ? 0 : static_cast<long long>(mtime.time_since_epoch().count());
    auto size = fs::file_size(options_.watch_path, ec);
    return std::make_pair(t, ec ? -1LL : static_cast<long long>(size));
  };
  auto last = stamp();
  while (true) {
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait_for(lock, options_.watch_interval, [&] { return stopping_; });
      if (stopping_) return;
    }
    auto now = stamp();
    if (now == last) continue;
    last = now;
    log_.Info("config.changed", {{"path", options_.watch_path}});
    (void)Reload();
  }
}

std::vector<std::string> Service::NotReady() const {
  std::vector<std::string> problems;
  if (draining_) problems.push_back("draining: shutting down");
  return problems;
}

bool Service::WaitUntilIdle(std::chrono::milliseconds deadline) { return workers_ ? workers_->Wait(deadline) : true; }

int Service::Shutdown() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (abandoned_ >= 0) return abandoned_;
    stopping_ = true;
  }
  draining_ = true;
  cv_.notify_all();
  log_.Info("service.draining", {{"deadline_ms", options_.drain_timeout.count()}});
  if (scheduler_thread_.joinable()) scheduler_thread_.join();
  if (watch_thread_.joinable()) watch_thread_.join();
  int abandoned = workers_ ? workers_->Drain(options_.drain_timeout) : 0;
  if (http_) http_->Stop(std::chrono::milliseconds(2000));
  {
    std::lock_guard<std::mutex> lock(mu_);
    abandoned_ = abandoned;
  }
  auto stats = workers_ ? workers_->stats() : sched::WorkerStats{};
  log_.Info("service.stopped", {{"abandoned", abandoned},
                                {"jobs_done", stats.done},
                                {"jobs_released", stats.released},
                                {"jobs_failed", stats.failed}});
  return abandoned;
}

std::string Service::MetricsText() {
  std::string out = options_.drift ? options_.drift->TextExposition() : std::string();
  std::map<std::string, long long> counts;
  {
    std::lock_guard<std::mutex> lock(queue_mu_);
    const auto now = std::chrono::steady_clock::now();
    if (now - queue_counted_at_ > std::chrono::seconds(5)) {
      if (!metrics_db_) {
        auto connected = store::Database::Connect(options_.database_url);
        if (connected) metrics_db_ = std::move(*connected);
      }
      if (metrics_db_) {
        auto fresh = sched::CountJobsByState(*metrics_db_);
        if (fresh) {
          queue_counts_ = std::move(*fresh);
          queue_counted_at_ = now;
        } else {
          metrics_db_.reset();
        }
      }
    }
    counts = queue_counts_;
  }
  using prometheus::MetricType;
  Family(out, "driftwatch_jobs", "Jobs in the queue by state (all workers).", MetricType::Gauge);
  for (const char* state : {"queued", "running", "done", "failed"})
    Sample(out, "driftwatch_jobs", "state", state, static_cast<double>(counts[state]));
  auto stats = workers_ ? workers_->stats() : sched::WorkerStats{};
  Family(out, "driftwatch_worker_jobs_total", "Job events in this process's workers.", MetricType::Counter);
  const std::pair<const char*, std::uint64_t> events[] = {
      {"claimed", stats.claimed}, {"done", stats.done},         {"retried", stats.retried},
      {"failed", stats.failed},   {"released", stats.released}, {"lease_lost", stats.lease_lost}};
  for (const auto& [event, n] : events)
    Sample(out, "driftwatch_worker_jobs_total", "event", event, static_cast<double>(n));
  Family(out, "driftwatch_worker_busy", "Jobs running in this process now.", MetricType::Gauge);
  Sample(out, "driftwatch_worker_busy", stats.busy);
  Family(out, "driftwatch_worker_errors_total", "Database failures while claiming, renewing or finishing jobs.",
         MetricType::Counter);
  Sample(out, "driftwatch_worker_errors_total", static_cast<double>(stats.errors));
  Family(out, "driftwatch_scheduler_ticks_total", "Scheduler ticks in this process.", MetricType::Counter);
  Sample(out, "driftwatch_scheduler_ticks_total", static_cast<double>(ticks_.load()));
  Family(out, "driftwatch_scheduler_fires_total", "Cron fires this process recorded and enqueued.",
         MetricType::Counter);
  Sample(out, "driftwatch_scheduler_fires_total", static_cast<double>(fires_.load()));
  Family(out, "driftwatch_scheduler_jobs_enqueued_total", "Jobs this process's scheduler enqueued.",
         MetricType::Counter);
  Sample(out, "driftwatch_scheduler_jobs_enqueued_total", static_cast<double>(jobs_enqueued_.load()));
  Family(out, "driftwatch_scheduler_errors_total", "Scheduler ticks or schedules that failed.", MetricType::Counter);
  Sample(out, "driftwatch_scheduler_errors_total", static_cast<double>(tick_errors_.load()));
  Family(out, "driftwatch_config_reloads_total", "Configuration reloads by result.", MetricType::Counter);
  Sample(out, "driftwatch_config_reloads_total", "result", "success", static_cast<double>(reloads_ok_.load()));
  Sample(out, "driftwatch_config_reloads_total", "result", "failure", static_cast<double>(reloads_failed_.load()));
  double last_success;
  {
    std::lock_guard<std::mutex> lock(mu_);
    last_success = last_reload_success_;
  }
  Family(out, "driftwatch_config_last_reload_success_timestamp_seconds",
         "Unix time the configuration in force was loaded.", MetricType::Gauge);
  Sample(out, "driftwatch_config_last_reload_success_timestamp_seconds", last_success);
  Family(out, "driftwatch_service_draining", "1 while the service shuts down.", MetricType::Gauge);
  Sample(out, "driftwatch_service_draining", draining_ ? 1 : 0);
  return out;
}

int RunServiceUntilSignal(ServiceOptions options, sched::JobRunner& runner) {
  sigset_t signals, previous;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, &previous);
  sched::JsonLog* log = options.log;
  const bool once = options.once;
  auto service = Service::Start(std::move(options), runner);
  if (!service) {
    if (log) log->Error("service.start_failed", {{"error", service.error().message}});
    pthread_sigmask(SIG_SETMASK, &previous, nullptr);
    return 3;
  }
  while (true) {
    if (once && (*service)->WaitUntilIdle(std::chrono::milliseconds(0))) break;
    timespec wait{0, 200 * 1000 * 1000};
    int sig = sigtimedwait(&signals, nullptr, &wait);
    if (sig == SIGHUP) {
      log->Info("signal.received", {{"signal", "SIGHUP"}});
      (void)(*service)->Reload();
    } else if (sig == SIGTERM || sig == SIGINT) {
      log->Info("signal.received", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
      break;
    }
  }
  int abandoned = (*service)->Shutdown();
  if (abandoned > 0) {
    log->Error("service.exit_with_busy_runners", {{"abandoned", abandoned}});
    std::fflush(nullptr);
    std::_Exit(1);
  }
  service->reset();
  pthread_sigmask(SIG_SETMASK, &previous, nullptr);
  return 0;
}

}  // namespace dw::server
