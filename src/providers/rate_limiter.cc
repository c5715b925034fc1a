#include "providers/rate_limiter.h"

#include <algorithm>
#include <cstdint>

namespace dw::providers {

TokenBucket::TokenBucket(double rate_per_second, double capacity)
    : rate_(rate_per_second), capacity_(std::max(capacity, 1.0)), level_(capacity_) {}

void TokenBucket::Refill(SteadyTime now) {
  if (!started_) {
    started_ = true;
    last_ = now;
    return;
  }
  if (now <= last_) return;
  const double elapsed = std::chrono::duration<double>(now - last_).count();
  level_ = std::min(capacity_, level_ + elapsed * rate_);
  last_ = now;
}

std::chrono::nanoseconds TokenBucket::Reserve(double amount, SteadyTime now) {
  if (unlimited()) return std::chrono::nanoseconds(0);
  Refill(now);
  level_ -= amount;
  if (level_ >= 0) return std::chrono::nanoseconds(0);
  return std::chrono::nanoseconds(static_cast<std::int64_t>(-level_ / rate_ * 1e9));
}

void TokenBucket::Adjust(double amount, SteadyTime now) {
  if (unlimited()) return;
  Refill(now);
  level_ = std::min(capacity_, level_ + amount);
}

double TokenBucket::Level(SteadyTime now) {
  if (!unlimited()) Refill(now);
  return level_;
}

RateLimiter::RateLimiter(const config::RateLimit& limit)
    : requests_(limit.requests_per_second, limit.requests_per_second),
      tokens_(limit.tokens_per_minute / 60.0, limit.tokens_per_minute) {}

std::chrono::nanoseconds RateLimiter::Reserve(double estimated_tokens, SteadyTime now) {
  return std::max(requests_.Reserve(1, now), tokens_.Reserve(estimated_tokens, now));
}

void RateLimiter::CorrectTokens(double reserved, double actual, SteadyTime now) {
  tokens_.Adjust(reserved - actual, now);
}

}  // namespace dw::providers
