// Client-side rate limiting: token buckets for requests/s and tokens/min.
// Time is passed in, so the arithmetic is testable without sleeping. Not
// thread-safe: each target's limiter lives on its provider's io_context thread.
#pragma once

#include <chrono>

#include "config/config.h"

namespace dw::providers {

using SteadyTime = std::chrono::steady_clock::time_point;

// A bucket refilled continuously at `rate_per_second` up to `capacity`, which
// starts full. Reservations may drive it into debt: each caller learns how
// long to wait before its share exists, so waiters are served in FIFO order
// without polling. A non-positive rate means unlimited.
class TokenBucket {
 public:
  TokenBucket(double rate_per_second, double capacity);

  // Takes `amount` now and returns how long the caller must wait before
  // proceeding (zero if the bucket held enough).
  std::chrono::nanoseconds Reserve(double amount, SteadyTime now);

  // Gives back (positive) or charges (negative) tokens after the fact, e.g.
  // once the real token usage of a call is known.
  void Adjust(double amount, SteadyTime now);

  // The current level (negative while in debt).
  double Level(SteadyTime now);

  bool unlimited() const { return rate_ <= 0; }

 private:
  void Refill(SteadyTime now);

  double rate_;
  double capacity_;
  double level_;
  SteadyTime last_{};
  bool started_ = false;
};

// Both limits of a target: requests per second (burst of one second) and
// tokens per minute (burst of one minute).
class RateLimiter {
 public:
  explicit RateLimiter(const config::RateLimit& limit);

  // Reserves one request and `estimated_tokens`; returns the wait before the
  // request may be sent.
  std::chrono::nanoseconds Reserve(double estimated_tokens, SteadyTime now);

  // Corrects the token bucket once usage is known (reserved - actual).
  void CorrectTokens(double reserved, double actual, SteadyTime now);

 private:
  TokenBucket requests_;
  TokenBucket tokens_;
};

}  // namespace dw::providers
