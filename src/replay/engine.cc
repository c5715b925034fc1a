#include "replay/engine.h"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <future>
#include <thread>

#include "scoring/scorer.h"

namespace dw::replay {
namespace {

bool ExpectsRefusal(const GoldenCase& c) {
  for (const auto& a : c.asserts)
    if (a.is_object() && a.value("type", "") == "is-refusal") return true;
  return false;
}

struct CaseEntry {
  GoldenCase golden_case;
  std::optional<scoring::CompiledAssertions> compiled;
  std::string compile_error;
  bool expects_refusal = false;
};

std::shared_ptr<CaseEntry> MakeEntry(GoldenCase c) {
  auto e = std::make_shared<CaseEntry>();
  e->expects_refusal = ExpectsRefusal(c);
  auto compiled = scoring::CompiledAssertions::Compile(c);
  if (compiled)
    e->compiled.emplace(std::move(*compiled));
  else
    e->compile_error = compiled.error().message;
  e->golden_case = std::move(c);
  return e;
}

using Batch = std::vector<std::shared_ptr<CaseEntry>>;

class Engine {
 public:
  Engine(CaseSource& cases, providers::Provider& provider, boost::asio::io_context& io, ResultSink& sink,
         const ReplayOptions& options)
      : cases_(cases), provider_(provider), io_(io), sink_(sink), options_(options), progress_timer_(io) {}
  ~Engine() {
    if (reader_.joinable()) reader_.join();
  }

  Result<ReplayOutcome> Run() {
    start_ = std::chrono::steady_clock::now();
    boost::asio::post(io_, [this] { Launch(); });
    if (options_.on_progress) ScheduleProgress();
    io_.restart();
    io_.run();
    if (pool_) pool_->join();
    if (error_) return Fail(*error_);
    if (auto s = sink_.Flush(); !s) return Fail(s.error());
    if (options_.on_progress) options_.on_progress(Snapshot());
    ReplayOutcome outcome;
    outcome.summary = std::move(summary_);
    outcome.cancelled = cancelled_;
    outcome.budget_exhausted = budget_exhausted_;
    return outcome;
  }

 private:
  // Advances to the next case x repeat that still needs a result.
  bool NextWork(std::shared_ptr<CaseEntry>& entry, int& repeat) {
    while (true) {
      if (batch_pos_ < batch_.size()) {
        auto& e = batch_[batch_pos_];
        int r = next_repeat_++;
        if (next_repeat_ >= options_.repeats) {
          next_repeat_ = 0;
          ++batch_pos_;
        }
        if (options_.completed && options_.completed->count(e->golden_case.id + '\x1f' + std::to_string(r))) {
          ++skipped_;
          continue;
        }
        entry = e;
        repeat = r;
        return true;
      }
      if (source_exhausted_) return false;
      if (!prefetch_.valid()) Prefetch();
      // Not read yet: the reader calls Launch() again when it has the batch.
      if (prefetch_.wait_for(std::chrono::seconds(0)) != std::future_status::ready) return false;
      auto next = prefetch_.get();
      if (!next) {
        Stop(next.error());
        return false;
      }
      batch_ = std::move(*next);
      batch_pos_ = 0;
      next_repeat_ = 0;
      if (batch_.empty()) {
        source_exhausted_ = true;
        return false;
      }
      Prefetch();
    }
  }

  // Reads and compiles the next batch on a reader thread while this batch's
  // calls run: the io thread never waits for the case source (a slow read,
  // or a database outage, holds back new calls, not answers to calls in
  // flight). At most one read is outstanding; its result is posted back as
  // a call to Launch(), and the work guard keeps io_.run() alive until then.
  void Prefetch() {
    if (reader_.joinable()) reader_.join();  // done: its batch was taken
    std::promise<Result<Batch>> promise;
    prefetch_ = promise.get_future();
    reader_ = std::thread([this, promise = std::move(promise), guard = boost::asio::make_work_guard(io_)]() mutable {
      promise.set_value([&]() -> Result<Batch> {
        auto next = cases_.Next();
        if (!next) return Fail(next.error());
        Batch batch;
        batch.reserve(next->size());
        for (auto& c : *next) batch.push_back(MakeEntry(std::move(c)));
        return batch;
      }());
      boost::asio::post(io_, [this, alive = std::weak_ptr<bool>(alive_)] {
        if (alive.lock()) Launch();
      });
    });
  }

  void Launch() {
    if (launching_) return;  // Complete() inside the loop below re-enters
    launching_ = true;
    while (!error_ && in_flight_ < options_.concurrency) {
      if (options_.cancel && options_.cancel->load()) cancelled_ = true;
      if (cancelled_) break;
      std::shared_ptr<CaseEntry> entry;
      int repeat = 0;
      if (!NextWork(entry, repeat)) break;
      if (options_.budget_usd && summary_.cost_usd() >= *options_.budget_usd) budget_exhausted_ = true;
      if (budget_exhausted_) {
        providers::CallResult skipped;
        skipped.outcome = Outcome::kBudgetExceeded;
        skipped.error_detail = "not attempted: the run's cost budget of $" + std::to_string(*options_.budget_usd) +
                               " was used up";
        ++in_flight_;
        Complete(MakeResult(entry->golden_case, repeat, skipped, std::nullopt));
        continue;
      }
      ++in_flight_;
      provider_.Call(providers::CallRequest::For(entry->golden_case, repeat, options_.run_salt),
                     [this, entry, repeat](providers::CallResult call) { OnAnswer(entry, repeat, std::move(call)); });
    }
    launching_ = false;
    MaybeFinish();
  }

  void OnAnswer(const std::shared_ptr<CaseEntry>& entry, int repeat, providers::CallResult call) {
    bool scorable = call.outcome == Outcome::kPass || (call.outcome == Outcome::kRefusal && entry->expects_refusal);
    if (!scorable || !entry->compiled) {
      if (scorable && !entry->compiled) {
        call.outcome = Outcome::kProviderError;
        call.error_detail = "assertions could not be compiled: " + entry->compile_error;
      }
      Complete(MakeResult(entry->golden_case, repeat, call, std::nullopt));
      return;
    }
    if (entry->compiled->NeedsGrader()) {
      if (!pool_) pool_ = std::make_unique<boost::asio::thread_pool>(std::max(1, options_.scoring_threads));
      // The guard keeps io_.run() alive until the scored result is posted back.
      auto guard = boost::asio::make_work_guard(io_);
      boost::asio::post(*pool_, [this, entry, repeat, call = std::move(call), guard = std::move(guard)]() mutable {
        auto score = Score(*entry, call);
        boost::asio::post(io_, [this, entry, repeat, call = std::move(call), score = std::move(score)]() {
          Complete(MakeResult(entry->golden_case, repeat, call, score));
        });
      });
      return;
    }
    Complete(MakeResult(entry->golden_case, repeat, call, Score(*entry, call)));
  }

  scoring::CaseScore Score(const CaseEntry& entry, const providers::CallResult& call) const {
    scoring::ScoreInput input;
    input.output = call.output;
    input.prompt = call.request;
    input.latency_ms = call.latency_ms;
    input.cost_usd = call.cost_usd;
    if (!call.finish_reason.empty()) input.finish_reason = call.finish_reason;
    input.grader = options_.grader;
    return entry.compiled->Evaluate(input);
  }

  void Complete(ReplayResult result) {
    --in_flight_;
    ++done_;
    summary_.Add(result);
    if (result.outcome != Outcome::kPass && result.outcome != Outcome::kFail) ++failures_;
    if (result.outcome == Outcome::kFail) ++failed_assertions_;
    if (!error_) {
      if (auto s = sink_.Add(std::move(result)); !s) Stop(s.error());
    }
    Launch();
  }

  void Stop(const Error& error) {
    if (!error_) error_ = error;
  }

  void MaybeFinish() {
    bool no_more_work = error_ || cancelled_ || source_exhausted_;
    if (in_flight_ == 0 && no_more_work) {
      finished_ = true;
      progress_timer_.cancel();
      io_.stop();
    }
  }

  Progress Snapshot() const {
    Progress p;
    p.done = done_ + skipped_;
    p.total = options_.total_cases * static_cast<size_t>(options_.repeats);
    p.failures = failures_;
    p.failed_assertions = failed_assertions_;
    p.elapsed_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    p.cost_usd = summary_.cost_usd();
    return p;
  }

  void ScheduleProgress() {
    progress_timer_.expires_after(std::chrono::milliseconds(250));
    progress_timer_.async_wait([this](const boost::system::error_code& ec) {
      if (ec || finished_) return;
      options_.on_progress(Snapshot());
      ScheduleProgress();
    });
  }

  CaseSource& cases_;
  providers::Provider& provider_;
  boost::asio::io_context& io_;
  ResultSink& sink_;
  const ReplayOptions& options_;
  boost::asio::steady_timer progress_timer_;
  std::unique_ptr<boost::asio::thread_pool> pool_;
  Batch batch_;
  std::future<Result<Batch>> prefetch_;
  std::thread reader_;
  // Expires with the engine, so a Launch() the reader posted after the run
  // ended never touches it.
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  size_t batch_pos_ = 0;
  int next_repeat_ = 0;
  bool source_exhausted_ = false;
  int in_flight_ = 0;
  size_t done_ = 0, skipped_ = 0, failures_ = 0, failed_assertions_ = 0;
  bool cancelled_ = false, budget_exhausted_ = false, finished_ = false, launching_ = false;
  std::optional<Error> error_;
  RunSummary summary_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace

ReplayResult MakeResult(const GoldenCase& golden_case, int repeat, const providers::CallResult& call,
                        const std::optional<scoring::CaseScore>& score) {
  ReplayResult r;
  r.case_id = golden_case.id;
  r.repeat = repeat;
  r.outcome = call.outcome;
  r.output = call.output;
  r.request_hash = call.request_hash;
  r.latency_ms = call.latency_ms;
  r.input_tokens = call.input_tokens;
  r.output_tokens = call.output_tokens;
  r.cost_usd = call.cost_usd;
  r.attempts = call.attempts;
  r.provider_model = call.model;
  r.fingerprint = call.system_fingerprint;
  r.finish_reason = call.finish_reason;
  r.response_id = call.response_id;
  r.error_detail = call.error_detail;
  if (!score) return r;
  if (score->error) {
    r.outcome = Outcome::kProviderError;
    r.error_detail = "scoring failed (judge or scorer unavailable): " + *score->error;
  } else {
    r.outcome = score->pass ? Outcome::kPass : Outcome::kFail;
    r.score = score->score;
  }
  r.scores.reserve(score->components.size() + score->named_scores.size());
  for (const auto& c : score->components) {
    ScoreRow row;
    row.scorer = c.path + ":" + c.type;
    if (!c.error) {
      row.value = c.score;
      row.passed = c.pass;
    }
    row.weight = c.weight;
    row.reason = c.error ? "error: " + *c.error : c.reason;
    r.scores.push_back(std::move(row));
  }
  for (const auto& [name, value] : score->named_scores) {
    ScoreRow row;
    row.scorer = "metric:" + name;
    row.value = value;
    r.scores.push_back(std::move(row));
  }
  return r;
}

Result<ReplayOutcome> RunReplay(CaseSource& cases, providers::Provider& provider, boost::asio::io_context& io,
                                ResultSink& sink, const ReplayOptions& options) {
  Engine engine(cases, provider, io, sink, options);
  return engine.Run();
}

}  // namespace dw::replay
