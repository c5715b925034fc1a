#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <csignal>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <future>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_set>
#include <utility>

#include <boost/asio/io_context.hpp>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/context.h"
#include "cli/run_support.h"
#include "core/ids.h"
#include "core/text_table.h"
#include "providers/provider.h"
#include "replay/engine.h"
#include "replay/provider_grader.h"
#include "replay/summary.h"
#include "store/goldenset_repo.h"
#include "store/run_repo.h"

namespace po = boost::program_options;

namespace dw::cli {
namespace {

std::atomic<bool> g_cancel{false};
// SIGINT/SIGTERM received during this `run`; the second one ends the process.
std::atomic<int> g_interrupts{0};
// Write end of the InterruptAgainWatcher's pipe, -1 when there is none.
std::atomic<int> g_interrupt_again_fd{-1};
static_assert(std::atomic<int>::is_always_lock_free, "the signal handler needs lock-free atomics");

extern "C" void OnInterrupt(int) {
  const int saved_errno = errno;
  g_cancel.store(true);
  if (g_interrupts.fetch_add(1) >= 1) {
    const int fd = g_interrupt_again_fd.load();
    const char byte = 'x';
    if (fd >= 0) (void)!write(fd, &byte, 1);
  }
  errno = saved_errno;
}

// The second interrupt of a `run` (SIGINT or SIGTERM after the first): the
// first one lets the calls in flight finish; this one does not wait for them.
// A thread blocked on a pipe that the signal handler writes to, so that it
// may do what a handler cannot: record the run `cancelled` (its results
// committed so far are kept; the batch being written is rolled back by the
// database when the connection drops, so nothing is half-written), print how
// to resume, and end the process with kExitRuntimeFailure, the code of a
// cancelled run. Recording is bounded by kRecordSeconds; past that the run
// stays `running`, as after a crash, and resumes the same way.
class InterruptAgainWatcher {
 public:
  static constexpr std::chrono::seconds kRecordSeconds{2};

  InterruptAgainWatcher(std::ostream& err, std::string actor) : err_(err), actor_(std::move(actor)) {
    if (pipe2(fds_, O_CLOEXEC) != 0) {
      fds_[0] = fds_[1] = -1;
      return;  // then a second interrupt is handled like the first
    }
    thread_ = std::thread([this] { Loop(); });
    g_interrupt_again_fd.store(fds_[1]);
  }

  // Call after the interrupt handlers are uninstalled.
  ~InterruptAgainWatcher() {
    g_interrupt_again_fd.store(-1);
    if (thread_.joinable()) {
      stopping_.store(true);
      const char byte = 's';
      (void)!write(fds_[1], &byte, 1);
      thread_.join();
    }
    for (int fd : fds_)
      if (fd >= 0) close(fd);
  }
  InterruptAgainWatcher(const InterruptAgainWatcher&) = delete;
  InterruptAgainWatcher& operator=(const InterruptAgainWatcher&) = delete;

  // The run being replayed, once it exists; thread-safe.
  void SetRun(const std::string& run_id, const std::string& database_url) {
    std::lock_guard<std::mutex> lock(mu_);
    run_id_ = run_id;
    database_url_ = database_url;
    started_ = std::chrono::steady_clock::now();
  }

 private:
  void Loop() {
    char byte = 0;
    while (true) {
      ssize_t n = read(fds_[0], &byte, 1);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0 || stopping_.load()) return;
      break;
    }
    std::string run_id, url;
    std::chrono::steady_clock::time_point started;
    {
      std::lock_guard<std::mutex> lock(mu_);
      run_id = run_id_;
      url = database_url_;
      started = started_;
    }
    err_ << "\ndriftwatch: interrupted again: exiting now";
    if (run_id.empty()) {
      err_ << " (no run was started)" << std::endl;
      std::_Exit(kExitRuntimeFailure);
    }
    err_ << "; resume with driftwatch run --resume " << run_id.substr(0, 8) << std::endl;
    // The recording thread is abandoned (never joined) if it overruns.
    auto recorded = std::make_shared<std::promise<void>>();
    std::future<void> done = recorded->get_future();
    std::thread([recorded, run_id, url, started, actor = actor_] {
      RecordCancelled(run_id, url, started, actor);
      recorded->set_value();
    }).detach();
    (void)done.wait_for(kRecordSeconds);
    std::_Exit(kExitRuntimeFailure);
  }

  // Marks the run `cancelled` with the summary of the results committed so
  // far, unless it is no longer running; errors are ignored (the run then
  // stays `running`, which --resume handles too).
  static void RecordCancelled(const std::string& run_id, const std::string& url,
                              std::chrono::steady_clock::time_point started, const std::string& actor) {
    auto db = store::Database::Connect(url);
    if (!db) return;
    auto status = store::GetRun(**db, run_id);
    if (!status || status->status != "running") return;
    auto results = store::LoadResults(**db, run_id, false);
    if (!results) return;
    replay::RunSummary summary;
    for (const auto& r : *results) summary.Add(r);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    nlohmann::json summary_json = summary.ToJson(seconds);
    summary_json["budget_exhausted"] = false;
    (void)store::FinishRun(**db, run_id, "cancelled", summary_json, "", actor);
  }

  std::ostream& err_;
  std::string actor_;
  int fds_[2] = {-1, -1};
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  std::mutex mu_;
  std::string run_id_, database_url_;
  std::chrono::steady_clock::time_point started_;
};

class StoreCaseSource : public replay::CaseSource {
 public:
  explicit StoreCaseSource(std::unique_ptr<store::CaseCursor> cursor) : cursor_(std::move(cursor)) {}
  Result<std::vector<GoldenCase>> Next() override { return cursor_->Next(); }

 private:
  std::unique_ptr<store::CaseCursor> cursor_;
};

class StoreSink : public replay::ResultSink {
 public:
  explicit StoreSink(std::unique_ptr<store::ResultWriter> writer) : writer_(std::move(writer)) {}
  Status Add(ReplayResult result) override { return writer_->Add(std::move(result)); }
  Status Flush() override { return writer_->Flush(); }

 private:
  std::unique_ptr<store::ResultWriter> writer_;
};

// Seconds between plain progress lines when stderr is not a terminal:
// DRIFTWATCH_PROGRESS_INTERVAL (a positive number), else 5.
Result<double> PlainProgressInterval() {
  constexpr double kDefault = 5.0;
  const char* text = std::getenv("DRIFTWATCH_PROGRESS_INTERVAL");
  if (text == nullptr || *text == '\0') return kDefault;
  char* end = nullptr;
  double seconds = std::strtod(text, &end);
  if (end == text || *end != '\0' || !std::isfinite(seconds) || seconds <= 0)
    return Fail(ErrorKind::kInvalidInput, std::string("DRIFTWATCH_PROGRESS_INTERVAL must be a number of seconds > 0 (got '") +
                                              text + "')");
  return seconds;
}

// Progress on stderr: on a terminal a bar redrawn in place with \r (no
// escape sequences); otherwise a plain line every `interval` seconds, plus
// one for the last state. Not thread-safe: the engine calls it from its
// io_context thread only.
class ProgressPrinter {
 public:
  ProgressPrinter(std::ostream& err, bool quiet, double interval)
      : err_(err), quiet_(quiet), tty_(isatty(STDERR_FILENO) == 1), interval_(interval) {}
  void Update(const replay::Progress& p) {
    if (quiet_) return;
    last_ = p;
    if (tty_) {
      constexpr int kWidth = 30;
      int filled = p.total ? static_cast<int>(kWidth * static_cast<double>(p.done) / static_cast<double>(p.total)) : 0;
      filled = std::min(filled, kWidth);
      err_ << "\r[" << std::string(static_cast<size_t>(filled), '#')
           << std::string(static_cast<size_t>(kWidth - filled), '.') << "] " << Line(p) << "   " << std::flush;
      drawn_ = true;
      return;
    }
    bool complete = p.total && p.done >= p.total;
    if (p.elapsed_seconds - last_line_ >= interval_ || (complete && !final_printed_)) {
      last_line_ = p.elapsed_seconds;
      final_printed_ = complete;
      printed_ = p.done;
      err_ << "progress " << Line(p) << "\n" << std::flush;
    }
  }
  // Ends the bar's line, or prints the last state if no plain line showed it.
  void Finish() {
    if (quiet_) return;
    if (drawn_) err_ << "\n" << std::flush;
    else if (last_ && printed_ != last_->done) err_ << "progress " << Line(*last_) << "\n" << std::flush;
  }

 private:
  static std::string Line(const replay::Progress& p) {
    double rate = p.elapsed_seconds > 0 ? static_cast<double>(p.done) / p.elapsed_seconds : 0;
    std::string eta = rate > 0 && p.total > p.done ? FormatFixed(static_cast<double>(p.total - p.done) / rate, 0) + "s"
                                                   : (p.total && p.done >= p.total ? "0s" : "-");
    return std::to_string(p.done) + "/" + std::to_string(p.total) + "  " + FormatFixed(rate, 0) + "/s  ETA " + eta +
           "  fail " + std::to_string(p.failed_assertions) + "  errors " + std::to_string(p.failures) + "  $" +
           FormatFixed(p.cost_usd, 4);
  }

  std::ostream& err_;
  bool quiet_;
  bool tty_;
  double interval_;
  bool drawn_ = false;
  bool final_printed_ = false;
  double last_line_ = 0;
  std::optional<replay::Progress> last_;
  size_t printed_ = static_cast<size_t>(-1);
};

}  // namespace

int RunCommand(const Args& args, std::ostream& out, std::ostream& err) {
  const std::string usage =
      "driftwatch run --goldenset NAME[@VERSION] --target NAME [--repeat K] [--concurrency N] [--budget USD]\n"
      "                [--no-compare | --common-cases] [--push URL]\n"
      "       driftwatch run --resume RUN_ID";
  GlobalOptions global;
  RunRequest request;
  po::options_description desc("run options");
  AddGlobalOptions(desc, global);
  desc.add_options()("goldenset,g", po::value(&request.goldenset), "golden set NAME or NAME@VERSION (default: latest)")(
      "target,t", po::value(&request.target), "target name from the config")(
      "repeat,r", po::value(&request.repeats)->default_value(1), "repeats per case (1-100)")(
      "concurrency,j", po::value(&request.concurrency)->default_value(0),
      "calls in flight (default: the target's, else the config's)")(
      "budget", po::value(&request.budget_usd), "stop cleanly once this many USD are spent")(
      "resume", po::value(&request.resume_run), "resume an interrupted run: redo only what is missing")(
      "no-compare", po::bool_switch(&request.no_compare), "do not compare with the signed-off baseline")(
      "common-cases", po::bool_switch(&request.common_cases),
      "compare with a baseline of another golden-set version (or judge) on the cases scored identically in both")(
      "push", po::value(&request.push_url), "push metrics to this Pushgateway URL when done");
  po::positional_options_description pos;
  po::variables_map vm;
  int code = 0;
  if (!ParseCommandLine(args, usage, desc, pos, vm, out, err, code)) return code;
  Context ctx(global, out, err);
  if (vm.count("budget")) request.has_budget = true;
  g_cancel.store(false);
  g_interrupts.store(0);
  std::optional<Result<RunResult>> result;
  {
    InterruptAgainWatcher watcher(err, ctx.user());
    request.on_run_started = [&watcher](const std::string& run_id, const std::string& database_url) {
      watcher.SetRun(run_id, database_url);
    };
    struct sigaction action {};
    action.sa_handler = OnInterrupt;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, nullptr);
    sigaction(SIGTERM, &action, nullptr);
    result = ExecuteRun(ctx, request, &g_cancel);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
  }
  if (!*result) return ReportError(err, result->error());
  const RunResult& run = **result;
  PrintRunResult(ctx, run);
  if (run.cancelled)
    err << "driftwatch: run " << run.run_id.substr(0, 8) << " cancelled (interrupted): the "
        << run.summary.results() << " results stored so far are kept; finish it with: driftwatch run --resume "
        << run.run_id.substr(0, 8) << "\n";
  ctx.Trace("printed");
  return run.exit_code;
}

Result<RunResult> ExecuteRun(Context& ctx, const RunRequest& request, const std::atomic<bool>* cancel) {
  const bool quiet_progress = ctx.options().quiet || ctx.format() == OutputFormat::kJson;
  auto progress_interval = quiet_progress ? Result<double>(0.0) : PlainProgressInterval();
  if (!progress_interval) return Fail(progress_interval.error());
  auto cfg = ctx.Config();
  if (!cfg) return Fail(cfg.error());
  ctx.Trace("config loaded");
  auto db = ctx.Database();
  if (!db) return Fail(db.error());
  auto url = ctx.DatabaseUrl();
  if (!url) return Fail(url.error());
  const double reconnect_seconds = (*cfg)->reconnect_seconds;

  // Results queued for the writer before the replay waits for it: two
  // batches, so peak memory does not grow with the golden set.
  constexpr size_t kMaxPendingResults = 2000;
  // The case cursor and the result writer connect on another thread while
  // this one registers the run (a commit: an fsync).
  using Streams = std::pair<Result<std::unique_ptr<store::CaseCursor>>, Result<std::unique_ptr<store::ResultWriter>>>;
  std::future<Streams> opening;
  auto open_streams = [&](long long version_id, const std::string& run_id) {
    opening = std::async(std::launch::async, [url = *url, version_id, run_id, reconnect_seconds] {
      return Streams(store::CaseCursor::Open(url, version_id, 1000, reconnect_seconds),
                     store::ResultWriter::Open(url, run_id, 1000, kMaxPendingResults, reconnect_seconds));
    });
  };

  store::RunInfo run;
  const config::TargetConfig* target = nullptr;
  if (!request.resume_run.empty()) {
    auto found = store::GetRun(**db, request.resume_run);
    if (!found) return Fail(found.error());
    run = *found;
    auto it = (*cfg)->targets.find(run.target);
    if (it == (*cfg)->targets.end())
      return Fail(ErrorKind::kInvalidInput, "run " + run.id + " used target '" + run.target +
                                                "', which is no longer in the config");
    if (it->second.VersionHash() != run.target_version_hash)
      return Fail(ErrorKind::kConflict, "target '" + run.target + "' changed since run " + run.id.substr(0, 8) +
                                            " started (version " + run.target_version_hash.substr(0, 12) + " → " +
                                            it->second.VersionHash().substr(0, 12) +
                                            "); start a new run instead of resuming");
    target = &it->second;
    open_streams(run.golden_set_version_id, run.id);
    if (auto s = store::ReopenRun(**db, run.id, ctx.user()); !s) return Fail(s.error());
  } else {
    if (request.goldenset.empty() || request.target.empty())
      return Fail(ErrorKind::kInvalidInput, "run needs --goldenset NAME[@VERSION] and --target NAME (or --resume RUN)");
    if (request.repeats < 1 || request.repeats > 100)
      return Fail(ErrorKind::kInvalidInput, "--repeat must be between 1 and 100");
    auto it = (*cfg)->targets.find(request.target);
    if (it == (*cfg)->targets.end()) {
      std::string names;
      for (const auto& [n, t] : (*cfg)->targets) names += (names.empty() ? "" : ", ") + n;
      return Fail(ErrorKind::kInvalidInput, "unknown target '" + request.target + "' in " + (*cfg)->path +
                                                "; defined targets: " + names);
    }
    target = &it->second;
    if (!request.policy.empty() && !(*cfg)->policies.count(request.policy))
      return Fail(ErrorKind::kInvalidInput, "unknown policy '" + request.policy + "' in " + (*cfg)->path +
                                                "; defined policies: " + (*cfg)->PolicyNames());
    auto ref = store::ParseVersionRef(request.goldenset);
    if (!ref) return Fail(ref.error());
    auto version = store::FindVersion(**db, ref->first, ref->second);
    if (!version) return Fail(version.error());
    store::RunSpec spec;
    spec.run_id = NewUuid();
    spec.golden_set_version_id = version->id;
    spec.target_name = target->name;
    spec.target_version_hash = target->VersionHash();
    spec.target_provider = target->provider;
    spec.target_model = target->model;
    spec.target_spec = target->ToJson();
    spec.scorer_name = "driftwatch-assertions";
    spec.scorer_spec = ScorerSpec(**cfg);
    spec.repeats = request.repeats;
    spec.trigger = request.trigger;
    spec.schedule_name = request.schedule_name;
    spec.requested_by = ctx.user();
    spec.runner_build = BuildId();
    spec.runner_host = HostName();
    int concurrency = request.concurrency > 0 ? request.concurrency
                                              : (target->concurrency > 0 ? target->concurrency : (*cfg)->concurrency);
    spec.settings = {{"concurrency", concurrency}};
    if (request.has_budget) spec.settings["budget_usd"] = request.budget_usd;
    else if (target->budget_usd) spec.settings["budget_usd"] = *target->budget_usd;
    if (!request.policy.empty()) spec.settings["policy"] = request.policy;
    open_streams(version->id, spec.run_id);
    auto created = store::CreateRun(**db, spec);
    if (!created) return Fail(created.error());
    run = *created;
  }
  ctx.Trace("run registered");
  if (request.on_run_started) request.on_run_started(run.id, *url);

  auto version = store::FindVersion(**db, run.golden_set, run.golden_set_version);
  if (!version) return Fail(version.error());
  std::unordered_set<std::string> completed;  // a new run has none
  if (!request.resume_run.empty()) {
    auto stored = store::CompletedKeys(**db, run.id);
    if (!stored) return Fail(stored.error());
    completed = std::move(*stored);
  }

  boost::asio::io_context io;
  auto provider = providers::MakeProvider(*target, io);
  if (!provider) return Fail(provider.error());
  ctx.Trace("provider ready");
  std::unique_ptr<replay::ProviderGrader> grader;
  {
    const auto& scorers = (*cfg)->scorers;
    const config::TargetConfig* judge =
        scorers.judge_target.empty() ? nullptr : &(*cfg)->targets.at(scorers.judge_target);
    const config::TargetConfig* embeddings =
        scorers.embeddings_target.empty() ? nullptr : &(*cfg)->targets.at(scorers.embeddings_target);
    auto made = replay::ProviderGrader::Create(judge, embeddings);
    if (!made) return Fail(made.error());
    grader = std::move(*made);
  }
  auto [cursor, writer] = opening.get();
  if (!cursor) return Fail(cursor.error());
  if (!writer) return Fail(writer.error());
  StoreCaseSource source(std::move(*cursor));
  StoreSink sink(std::move(*writer));
  ctx.Trace("case cursor and result writer ready");

  replay::ReplayOptions options;
  options.repeats = run.repeats;
  options.concurrency = run.settings.value("concurrency", 16);
  if (run.settings.contains("budget_usd")) options.budget_usd = run.settings["budget_usd"].get<double>();
  options.run_salt = run.run_salt;
  options.total_cases = static_cast<size_t>(version->case_count);
  options.completed = &completed;
  options.cancel = cancel;
  options.grader = grader.get();
  ProgressPrinter printer(ctx.err(), quiet_progress, *progress_interval);
  options.on_progress = [&printer](const replay::Progress& p) { printer.Update(p); };

  auto started = std::chrono::steady_clock::now();
  auto outcome = replay::RunReplay(source, **provider, io, sink, options);
  printer.Finish();
  double duration = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  ctx.Trace("replay (calls, scoring, results committed)");
  // The replay may have outlived a database restart that broke this
  // connection: every use below reconnects (bounded) first.
  auto reconnecting = [&](const std::function<Status()>& attempt) {
    return store::WithReconnect(**db, reconnect_seconds, attempt);
  };
  if (!outcome) {
    // Everything already committed stays; the run can be resumed. A run left
    // `running` looks alive to people and dashboards, so recording the
    // failure waits for the database at least kRecordFailureSeconds, even
    // when reconnect_seconds is shorter.
    constexpr double kRecordFailureSeconds = 10;
    const double record_seconds = std::max(reconnect_seconds, kRecordFailureSeconds);
    ctx.err() << "driftwatch: run " << run.id.substr(0, 8) << " failed; recording the failure (waiting up to "
              << record_seconds << " s for the database)" << std::endl;
    Status recorded = store::WithReconnect(**db, record_seconds, [&] {
      return store::FinishRun(**db, run.id, "failed", nlohmann::json::object(), outcome.error().message, ctx.user());
    });
    return Fail(ErrorKind::kUnavailable,
                "run " + run.id + " failed: " + outcome.error().message +
                    (recorded ? "" : "\n(the database could not record the failure; the run stays 'running')") +
                    "\nstored results are kept; resume with: driftwatch run --resume " + run.id.substr(0, 8));
  }
  RunResult result;
  result.run_id = run.id;
  result.golden_set = run.golden_set + "@" + std::to_string(run.golden_set_version);
  result.target = run.target;
  result.duration_seconds = duration;
  // A new run's summary is the engine's, accumulated while its results
  // streamed to the store (all committed by now). A resumed run's covers
  // every stored result, not only this session's: it is read back.
  if (completed.empty()) {
    result.summary = std::move(outcome->summary);
  } else {
    std::vector<ReplayResult> all;
    if (auto s = reconnecting([&]() -> Status {
          auto loaded = store::LoadResults(**db, run.id, true);
          if (!loaded) return Fail(loaded.error());
          all = std::move(*loaded);
          return Ok();
        });
        !s)
      return Fail(s.error());
    for (const auto& r : all) result.summary.Add(r);
  }
  result.cancelled = outcome->cancelled;
  result.budget_exhausted = outcome->budget_exhausted;
  nlohmann::json summary_json = result.summary.ToJson(duration);
  summary_json["budget_exhausted"] = result.budget_exhausted;
  std::string status = result.cancelled ? "cancelled" : "done";
  ctx.Trace("summary");
  if (auto s = reconnecting([&] { return store::FinishRun(**db, run.id, status, summary_json, "", ctx.user()); }); !s)
    return Fail(s.error());
  ctx.Trace("run finished");
  if (!result.cancelled && !request.no_compare) {
    if (auto s = CompareWithBaseline(ctx, run, request.common_cases, result); !s) return Fail(s.error());
    ctx.Trace("compared with the baseline");
  }
  if (!request.push_url.empty() || !(*cfg)->metrics.textfile_path.empty()) {
    if (auto s = ExportRunMetrics(ctx, run, result, request.push_url); !s) {
      ctx.Warn("results are stored, but exporting metrics failed: " + s.error().message);
      result.export_error = s.error().message;
    }
  }
  result.exit_code = result.cancelled ? kExitRuntimeFailure : (result.critical_regression ? kExitRegression : kExitOk);
  return result;
}

}  // namespace dw::cli
