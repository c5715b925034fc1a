// The replay engine: every case x repeat of a golden-set version against one
// target, scored, streamed to a sink. Pure orchestration behind interfaces
// (CaseSource, ResultSink, Provider, ModelGrader), so tests can drive it with
// in-memory fakes and the CLI with PostgreSQL.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_set>
#include <vector>

#include "core/golden_case.h"
#include "core/replay_result.h"
#include "core/status.h"
#include "providers/provider.h"
#include "replay/summary.h"
#include "scoring/grader.h"
#include "scoring/scorer.h"

namespace dw::replay {

// Supplies cases in batches; an empty batch means the end. Called from one
// thread at a time, not necessarily the engine's: the engine reads the next
// batch ahead, on a helper thread, while the current one is replayed.
class CaseSource {
 public:
  virtual ~CaseSource() = default;
  virtual Result<std::vector<GoldenCase>> Next() = 0;
};

// Receives finished results. Add() may block (back-pressure) and is called
// from the engine's thread only; an error stops the run.
class ResultSink {
 public:
  virtual ~ResultSink() = default;
  virtual Status Add(ReplayResult result) = 0;
  virtual Status Flush() = 0;
};

// A snapshot for progress display.
struct Progress {
  size_t done = 0;
  size_t total = 0;    // case x repeat planned (including already stored)
  size_t failures = 0; // outcomes other than pass/fail
  size_t failed_assertions = 0;
  double elapsed_seconds = 0;
  double cost_usd = 0;
};

struct ReplayOptions {
  int repeats = 1;
  int concurrency = 16;  // calls in flight at once
  std::optional<double> budget_usd;
  std::string run_salt;
  size_t total_cases = 0;  // for progress; 0 if unknown
  // Results already stored (resume): skipped, not called again.
  const std::unordered_set<std::string>* completed = nullptr;
  // Set to true (e.g. by SIGINT) to stop issuing calls; in-flight calls finish.
  const std::atomic<bool>* cancel = nullptr;
  std::function<void(const Progress&)> on_progress;  // called about 4 times a second
  scoring::ModelGrader* grader = nullptr;             // for llm-rubric/factuality/similar
  int scoring_threads = 4;                            // used only for model-graded cases
};

struct ReplayOutcome {
  RunSummary summary;
  bool cancelled = false;
  bool budget_exhausted = false;
};

// Runs the replay on the calling thread (which drives the provider's
// io_context) until every case x repeat has exactly one result or the run is
// cancelled. `provider` must be bound to `io`. Errors: the case source or the
// sink failing (the run is then incomplete; stored results stay).
Result<ReplayOutcome> RunReplay(CaseSource& cases, providers::Provider& provider, boost::asio::io_context& io,
                                ResultSink& sink, const ReplayOptions& options);

// Builds a result from a provider answer and the case's scores; pure. An
// assertion that could not be evaluated (judge down) makes the outcome
// provider_error, never a model pass or fail.
ReplayResult MakeResult(const GoldenCase& golden_case, int repeat, const providers::CallResult& call,
                        const std::optional<scoring::CaseScore>& score);

}  // namespace dw::replay
