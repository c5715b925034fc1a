#include "providers/call_controller.h"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "providers/retry.h"

namespace dw::providers {
namespace {

double Milliseconds(std::chrono::steady_clock::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

}  // namespace

struct CallController::PendingCall {
  CallResult result;
  double estimated_tokens = 0;
  AttemptFn attempt;
  std::function<void(CallResult)> done;
  SteadyTime started;
  SteadyTime attempt_started;
  std::unique_ptr<boost::asio::steady_timer> timer;
};

ControlOptions ControlOptions::From(const config::TargetConfig& target) {
  ControlOptions options;
  options.concurrency = target.concurrency;
  options.rate_limit = target.rate_limit;
  options.timeout_ms = target.timeout_ms;
  options.retry = target.retry;
  options.price = target.price;
  return options;
}

CallController::CallController(boost::asio::io_context& io, const ControlOptions& options)
    : io_(io),
      options_(options),
      limiter_(options.rate_limit),
      jitter_(options.jitter_seed != 0 ? options.jitter_seed : std::random_device{}()) {}

std::shared_ptr<CallController> CallController::Create(boost::asio::io_context& io, const ControlOptions& options) {
  return std::shared_ptr<CallController>(new CallController(io, options));
}

void CallController::Run(CallResult prepared, double estimated_tokens, AttemptFn attempt,
                         std::function<void(CallResult)> done) {
  auto call = std::make_shared<PendingCall>();
  call->result = std::move(prepared);
  call->estimated_tokens = estimated_tokens;
  call->attempt = std::move(attempt);
  call->done = std::move(done);
  call->started = std::chrono::steady_clock::now();
  ++stats_.calls;
  if (options_.concurrency > 0 && stats_.in_flight >= static_cast<std::uint64_t>(options_.concurrency)) {
    queue_.push_back(std::move(call));
    ++stats_.queued;
    return;
  }
  Admit(std::move(call));
}

void CallController::FailEarly(CallResult result, std::function<void(CallResult)> done) {
  ++stats_.calls;
  boost::asio::post(io_, [result = std::move(result), done = std::move(done)]() mutable { done(std::move(result)); });
}

void CallController::Admit(std::shared_ptr<PendingCall> call) {
  ++stats_.in_flight;
  Schedule(std::move(call));
}

void CallController::WaitThen(const std::shared_ptr<PendingCall>& call, std::chrono::nanoseconds delay,
                              void (CallController::*next)(std::shared_ptr<PendingCall>)) {
  if (!call->timer) call->timer = std::make_unique<boost::asio::steady_timer>(io_);
  call->timer->expires_after(delay);
  call->timer->async_wait([self = shared_from_this(), call, next](const boost::system::error_code&) {
    ((*self).*next)(call);
  });
}

void CallController::Schedule(std::shared_ptr<PendingCall> call) {
  auto wait = limiter_.Reserve(call->estimated_tokens, std::chrono::steady_clock::now());
  if (wait.count() > 0) return WaitThen(call, wait, &CallController::StartAttempt);
  StartAttempt(std::move(call));
}

void CallController::StartAttempt(std::shared_ptr<PendingCall> call) {
  const int attempt = call->result.attempts++;
  ++stats_.attempts;
  call->attempt_started = std::chrono::steady_clock::now();
  const SteadyTime deadline = call->attempt_started + std::chrono::milliseconds(options_.timeout_ms);
  PendingCall* raw = call.get();
  raw->attempt(attempt, deadline, raw->result.request,
               [self = shared_from_this(), call = std::move(call)](AttemptResult result) mutable {
                 self->OnAttempt(std::move(call), std::move(result));
               });
}

void CallController::OnAttempt(std::shared_ptr<PendingCall> call, AttemptResult attempt) {
  const SteadyTime now = std::chrono::steady_clock::now();
  CallResult& out = call->result;
  std::string request = std::move(out.request);
  std::string request_hash = std::move(out.request_hash);
  const int attempts = out.attempts;
  out = std::move(attempt.result);
  out.request = std::move(request);
  out.request_hash = std::move(request_hash);
  out.attempts = attempts;
  out.latency_ms = Milliseconds(now - call->attempt_started);
  const double actual_tokens =
      out.usage_reported ? static_cast<double>(out.input_tokens + out.output_tokens) : 0.0;
  limiter_.CorrectTokens(call->estimated_tokens, actual_tokens, now);

  if (attempt.retryable && attempts < options_.retry.max_attempts) {
    ++stats_.retries;
    const double uniform = std::uniform_real_distribution<double>(0.0, 1.0)(jitter_);
    auto delay = RetryDelay(options_.retry, attempts, attempt.retry_after, uniform);
    return WaitThen(call, delay, &CallController::Schedule);
  }
  Finish(std::move(call));
}

void CallController::Finish(std::shared_ptr<PendingCall> call) {
  CallResult& out = call->result;
  out.total_latency_ms = Milliseconds(std::chrono::steady_clock::now() - call->started);
  out.cost_usd = (static_cast<double>(out.input_tokens) * options_.price.input_per_mtok +
                  static_cast<double>(out.output_tokens) * options_.price.output_per_mtok) /
                 1e6;
  --stats_.in_flight;
  if (!queue_.empty() &&
      (options_.concurrency <= 0 || stats_.in_flight < static_cast<std::uint64_t>(options_.concurrency))) {
    auto next = std::move(queue_.front());
    queue_.pop_front();
    --stats_.queued;
    Admit(std::move(next));
  }
  auto done = std::move(call->done);
  done(std::move(out));
}

}  // namespace dw::providers
