// Execution control shared by every provider: per-target concurrency,
// client-side rate limiting, the per-attempt timeout, and retries with
// exponential backoff, full jitter and Retry-After.
//
// A provider renders its request, then hands the controller a function that
// performs one attempt. The controller decides when each attempt starts (a
// free concurrency slot, rate-limit budget, backoff elapsed), gives it a
// deadline of now + timeout_ms, and decides from the attempt's result whether
// to retry. The timeout applies to each attempt; time spent queueing,
// waiting for the rate limiter or backing off is not counted against it. A
// call keeps its concurrency slot while it backs off, so a provider that
// answers 429 slows the whole target down.
//
// Threading: single-threaded, on the io_context thread (see provider.h).
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>

#include <boost/asio/io_context.hpp>

#include "config/config.h"
#include "providers/provider.h"
#include "providers/rate_limiter.h"

namespace dw::providers {

// What one attempt produced. The attempt fills `result`'s response fields
// (outcome, output, http_status, token counts, ids, finish_reason,
// error_detail); the controller owns attempts, latencies, cost and the
// request/request_hash fields.
struct AttemptResult {
  CallResult result;
  bool retryable = false;
  std::optional<std::chrono::milliseconds> retry_after;
};

struct ControlOptions {
  int concurrency = 0;  // 0: unlimited (the replay engine bounds it globally)
  config::RateLimit rate_limit;
  int timeout_ms = 30000;
  config::RetryPolicy retry;
  config::Price price;
  std::uint64_t jitter_seed = 0;  // 0: seeded from std::random_device

  // The target's concurrency, rate_limit, timeout_ms, retry and price.
  static ControlOptions From(const config::TargetConfig& target);
};

class CallController : public std::enable_shared_from_this<CallController> {
 public:
  using AttemptDone = std::function<void(AttemptResult)>;
  // Performs attempt number `attempt` (0-based) of the call whose rendered
  // request is `request`, and must invoke `done` exactly once, on the
  // io_context thread, never before returning. It should give up by
  // `deadline` and then report Outcome::kTimeout.
  using AttemptFn =
      std::function<void(int attempt, SteadyTime deadline, const std::string& request, AttemptDone done)>;

  static std::shared_ptr<CallController> Create(boost::asio::io_context& io, const ControlOptions& options);

  // Runs a call to completion and invokes `done` once with the final result.
  // `prepared` carries `request` and `request_hash`; `estimated_tokens` is
  // charged to the tokens/min limit until the real usage is known.
  void Run(CallResult prepared, double estimated_tokens, AttemptFn attempt, std::function<void(CallResult)> done);

  // Ends a call that failed before any attempt (e.g. its request could not
  // be rendered): posts `done` with `result` and counts the call.
  void FailEarly(CallResult result, std::function<void(CallResult)> done);

  // calls/attempts/retries/in_flight/queued; connections_opened stays 0.
  ProviderStats Stats() const { return stats_; }

 private:
  struct PendingCall;

  CallController(boost::asio::io_context& io, const ControlOptions& options);

  void Admit(std::shared_ptr<PendingCall> call);
  void Schedule(std::shared_ptr<PendingCall> call);
  void StartAttempt(std::shared_ptr<PendingCall> call);
  void OnAttempt(std::shared_ptr<PendingCall> call, AttemptResult attempt);
  void Finish(std::shared_ptr<PendingCall> call);
  void WaitThen(const std::shared_ptr<PendingCall>& call, std::chrono::nanoseconds delay,
                void (CallController::*next)(std::shared_ptr<PendingCall>));

  boost::asio::io_context& io_;
  ControlOptions options_;
  RateLimiter limiter_;
  std::mt19937_64 jitter_;
  std::deque<std::shared_ptr<PendingCall>> queue_;
  ProviderStats stats_;
};

}  // namespace dw::providers
