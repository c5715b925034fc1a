// `driftwatch serve` (scheduler, workers, HTTP API and /metrics in one
// process) and `driftwatch token` (API bearer tokens).
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/commands.h"
#include "cli/context.h"
#include "cli/run_support.h"
#include "core/text_table.h"
#include "metrics/drift_metrics.h"
#include "sched/log.h"
#include "sched/scheduler.h"
#include "sched/worker.h"
#include "server/service.h"
#include "server/tokens.h"
#include "store/run_repo.h"

namespace po = boost::program_options;

namespace dw::cli {
namespace {

// Runs queued jobs with the same machinery as `driftwatch run`: one Context
// per job, with the service's config in force at claim time, whose every
// database connection carries the job's fence, so the database refuses the
// writes of a worker that lost its lease. Thread-safe: each call builds its
// own Context.
class ReplayJobRunner : public sched::JobRunner {
 public:
  ReplayJobRunner(GlobalOptions base, std::shared_ptr<metrics::DriftMetrics> drift)
      : base_(std::move(base)), drift_(std::move(drift)) {}

  Result<sched::JobOutcome> Run(const sched::Job& job, const sched::JobContext& context) override {
    GlobalOptions options = base_;
    options.database_url = context.database_url;
    options.user = job.requested_by;
    options.quiet = true;
    options.format = "json";
    std::ostringstream out, err;
    Context ctx(options, out, err);
    if (context.config) ctx.SetConfig(*context.config);
    RunRequest request;
    request.goldenset = job.goldenset;
    request.target = job.target;
    request.repeats = job.repeats;
    request.trigger = job.trigger;
    request.schedule_name = job.schedule_name;
    request.resume_run = job.run_id;
    // The schedule's budget and concurrency are already on the job's target
    // (sched::ConfigForJob); its policy travels with the run's settings.
    if (context.config && !job.schedule_name.empty()) {
      auto schedule = context.config->schedules.find(job.schedule_name);
      if (schedule != context.config->schedules.end()) request.policy = schedule->second.policy;
    }
    auto result = ExecuteRun(ctx, request, context.cancel);
    if (!result) return Fail(result.error());
    if (drift_ && !result->cancelled) {
      if (auto db = ctx.Database()) {
        if (auto run = store::GetRun(**db, result->run_id)) (void)RecordRunMetrics(ctx, *drift_, *run, *result);
      }
    }
    std::string detail = result->golden_set + " on " + result->target + ": " +
                         std::to_string(result->summary.count(Outcome::kPass)) + " passed";
    if (result->comparison) detail += ", verdict " + result->comparison->value("verdict", "");
    else if (!result->comparison_skipped.empty())
      detail += ", not compared: " + result->comparison_skipped;
    return sched::JobOutcome{result->cancelled, result->run_id, detail};
  }

 private:
  GlobalOptions base_;
  std::shared_ptr<metrics::DriftMetrics> drift_;
};

std::chrono::milliseconds Seconds(double s) {
  return std::chrono::milliseconds(static_cast<long long>(std::llround(s * 1000)));
}

}  // namespace

int ServeCommand(const Args& args, std::ostream& out, std::ostream& err) {
  const std::string usage =
      "driftwatch serve [--workers N] [--listen HOST:PORT | --no-http] [--no-scheduler] [--once] [options]";
  GlobalOptions global;
  int workers = 2;
  std::string listen;
  bool no_http = false, no_scheduler = false, once = false, no_watch = false;
  double lease = 30, drain = 30, tick = 5, retry_delay = 10, grace = 120, api_rate = 20, api_burst = 40;
  int max_attempts = 3, http_threads = 4;
  std::size_t max_body = 1024 * 1024;
  std::string log_level = "info";
  po::options_description desc("serve options");
  AddGlobalOptions(desc, global);
  desc.add_options()("workers,w", po::value(&workers)->default_value(2), "jobs this process runs at once (0: none)")(
      "listen", po::value(&listen), "HTTP address for the API, /metrics and probes (default: metrics.listen)")(
      "no-http", po::bool_switch(&no_http), "serve no HTTP")("no-scheduler", po::bool_switch(&no_scheduler),
                                                             "do not turn cron fires into jobs in this process")(
      "once", po::bool_switch(&once), "tick the schedules once, run jobs until none is left, exit (for cron)")(
      "lease", po::value(&lease)->default_value(30), "job lease in seconds (renewed every third of it)")(
      "drain-timeout", po::value(&drain)->default_value(30), "seconds SIGTERM waits for in-flight calls")(
      "scheduler-interval", po::value(&tick)->default_value(5), "seconds between scheduler ticks")(
      "grace", po::value(&grace)->default_value(120), "a fire seen later than this (seconds) counts as missed")(
      "max-attempts", po::value(&max_attempts)->default_value(3), "attempts per scheduled job (1-100)")(
      "retry-delay", po::value(&retry_delay)->default_value(10), "seconds before the first retry (doubles)")(
      "no-watch", po::bool_switch(&no_watch), "reload the config on SIGHUP only, not when the file changes")(
      "api-rate", po::value(&api_rate)->default_value(20), "API requests per second per token")(
      "api-burst", po::value(&api_burst)->default_value(40), "API burst per token")(
      "max-body", po::value(&max_body)->default_value(1024 * 1024), "largest accepted request body in bytes")(
      "http-threads", po::value(&http_threads)->default_value(4), "HTTP handler threads")(
      "log-level", po::value(&log_level)->default_value("info"), "debug, info, warn or error");
  po::positional_options_description pos;
  po::variables_map vm;
  int code = 0;
  if (!ParseCommandLine(args, usage, desc, pos, vm, out, err, code)) return code;
  if (lease < 1 || drain < 0 || tick <= 0 || grace < 0 || retry_delay < 0 || max_attempts < 1 || max_attempts > 100 ||
      workers < 0 || workers > 256) {
    err << "driftwatch: serve: --lease must be at least 1 s, --workers 0-256, --max-attempts 1-100, and times "
           "must not be negative\n";
    return kExitBadInput;
  }
  sched::LogLevel level = sched::LogLevel::kInfo;
  if (log_level == "debug")
    level = sched::LogLevel::kDebug;
  else if (log_level == "warn")
    level = sched::LogLevel::kWarn;
  else if (log_level == "error")
    level = sched::LogLevel::kError;
  else if (log_level != "info") {
    err << "driftwatch: serve: --log-level must be debug, info, warn or error\n";
    return kExitBadInput;
  }
  Context ctx(global, out, err);
  std::string config_path = global.config_path;
  if (config_path.empty() && std::filesystem::exists("driftwatch.yaml")) config_path = "driftwatch.yaml";
  auto initial = server::LoadServiceConfig(config_path);
  if (!initial) return ReportError(err, initial.error());
  auto db = ctx.Database();
  if (!db) return ReportError(err, db.error());
  auto url = ctx.DatabaseUrl();
  if (!url) return ReportError(err, url.error());

  sched::JsonLog log(err, level, {{"pid", static_cast<long long>(getpid())}});
  auto drift = std::make_shared<metrics::DriftMetrics>(MetricsOptions());
  GlobalOptions runner_options = global;
  runner_options.config_path = config_path;
  ReplayJobRunner runner(runner_options, drift);

  server::ServiceOptions options;
  options.database_url = *url;
  options.load_config = [config_path] { return server::LoadServiceConfig(config_path); };
  options.config_path = config_path;
  options.actor = ctx.user().empty() ? "driftwatch-serve" : ctx.user();
  if (!no_watch && !config_path.empty()) options.watch_path = config_path;
  options.scheduler = !no_scheduler;
  options.scheduler_interval = Seconds(tick);
  options.scheduler_options.scheduler_id = sched::DefaultWorkerId();
  options.scheduler_options.grace = std::chrono::seconds(static_cast<long long>(grace));
  options.scheduler_options.max_attempts = max_attempts;
  options.workers = workers;
  options.worker_options.lease = Seconds(lease);
  options.worker_options.renew_interval = Seconds(lease / 3);
  options.worker_options.poll_interval = std::chrono::milliseconds(1000);
  options.worker_options.retry_delay = Seconds(retry_delay);
  if (!no_http) options.http_listen = listen.empty() ? (*initial)->config.metrics.listen : listen;
  options.http.threads = http_threads;
  options.http.max_body_bytes = max_body;
  options.api.rate_per_second = api_rate;
  options.api.burst = api_burst;
  options.api.database_connections = http_threads;
  options.drain_timeout = Seconds(drain);
  options.once = once;
  options.drift = drift;
  options.log = &log;
  return server::RunServiceUntilSignal(std::move(options), runner);
}

int TokenCommand(const Args& args, std::ostream& out, std::ostream& err) {
  const std::string usage =
      "driftwatch token create --name NAME --scopes read,run,review,admin\n"
      "       driftwatch token list [--all]\n"
      "       driftwatch token revoke NAME";
  GlobalOptions global;
  std::vector<std::string> rest;
  std::string name, scopes;
  bool all = false;
  po::options_description desc("token options");
  AddGlobalOptions(desc, global);
  desc.add_options()("name", po::value(&name), "token name: the identity its API writes are audited under")(
      "scopes", po::value(&scopes), "comma-separated scopes: read, run, review, admin")(
      "all", po::bool_switch(&all), "list revoked tokens too")("args", po::value(&rest)->multitoken(),
                                                               "subcommand and arguments");
  po::positional_options_description pos;
  pos.add("args", -1);
  po::variables_map vm;
  int code = 0;
  if (!ParseCommandLine(args, usage, desc, pos, vm, out, err, code)) return code;
  if (rest.empty()) {
    err << "driftwatch: token needs a subcommand: create, list or revoke\nusage: " << usage << "\n";
    return kExitBadInput;
  }
  Context ctx(global, out, err);
  const std::string sub = rest[0];
  if (sub == "create") {
    if (name.empty() || scopes.empty() || rest.size() != 1) {
      err << "driftwatch: token create needs --name and --scopes\nusage: " << usage << "\n";
      return kExitBadInput;
    }
    auto parsed = server::ParseScopeList(scopes);
    if (!parsed) return ReportError(err, parsed.error());
    auto db = ctx.Database();
    if (!db) return ReportError(err, db.error());
    auto created = server::CreateToken(**db, name, *parsed, ctx.user());
    if (!created) return ReportError(err, created.error());
    if (ctx.format() == OutputFormat::kJson) {
      out << nlohmann::json{{"token", server::TokenToJson(created->token)}, {"secret", created->secret}}.dump(2)
          << "\n";
    } else {
      out << "created token '" << created->token.name << "' with scopes " << scopes
          << "\nsecret (shown only now; only its sha256 is stored):\n"
          << created->secret << "\n";
    }
    return kExitOk;
  }
  if (sub == "list") {
    if (rest.size() != 1) {
      err << "driftwatch: token list takes no arguments\n";
      return kExitBadInput;
    }
    auto db = ctx.Database();
    if (!db) return ReportError(err, db.error());
    auto tokens = server::ListTokens(**db, all);
    if (!tokens) return ReportError(err, tokens.error());
    if (ctx.format() == OutputFormat::kJson) {
      nlohmann::json arr = nlohmann::json::array();
      for (const auto& t : *tokens) arr.push_back(server::TokenToJson(t));
      out << arr.dump(2) << "\n";
      return kExitOk;
    }
    TextTable table({"NAME", "SCOPES", "CREATED", "BY", "LAST USED", "REVOKED"});
    for (const auto& t : *tokens) {
      std::string s;
      for (auto scope : t.scopes) s += (s.empty() ? "" : ",") + std::string(server::ScopeName(scope));
      table.AddRow({t.name, s, t.created_at, t.created_by, t.last_used_at.empty() ? "-" : t.last_used_at,
                    t.revoked_at.empty() ? "-" : t.revoked_at});
    }
    out << table.Render();
    return kExitOk;
  }
  if (sub == "revoke") {
    if (rest.size() != 2) {
      err << "driftwatch: token revoke needs exactly one NAME\n";
      return kExitBadInput;
    }
    auto db = ctx.Database();
    if (!db) return ReportError(err, db.error());
    if (auto s = server::RevokeToken(**db, rest[1], ctx.user()); !s) return ReportError(err, s.error());
    out << "revoked token '" << rest[1] << "'\n";
    return kExitOk;
  }
  err << "driftwatch: unknown token subcommand '" << sub << "' (create, list, revoke)\n";
  return kExitBadInput;
}

}  // namespace dw::cli
