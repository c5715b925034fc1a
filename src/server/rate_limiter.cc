#include "server/rate_limiter.h"

#include <algorithm>

namespace dw::server {

RateLimiter::RateLimiter(double rate, double burst, std::size_t max_keys, Clock clock)
    : rate_(rate),
      burst_(std::max(1.0, burst)),
      max_keys_(std::max<std::size_t>(1, max_keys)),
      clock_(std::move(clock)) {
  if (!clock_) clock_ = [] { return std::chrono::steady_clock::now(); };
}

bool RateLimiter::Allow(const std::string& key, double* retry_after_seconds) {
  if (rate_ <= 0) return true;
  const auto now = clock_();
  std::lock_guard<std::mutex> lock(mu_);
  auto it = buckets_.find(key);
  if (it == buckets_.end()) {
    if (buckets_.size() >= max_keys_) {
      for (auto b = buckets_.begin(); b != buckets_.end();) {
        double refilled = b->second.tokens + std::chrono::duration<double>(now - b->second.updated).count() * rate_;
        b = refilled >= burst_ ? buckets_.erase(b) : std::next(b);
      }
      if (buckets_.size() >= max_keys_) buckets_.clear();
    }
    it = buckets_.emplace(key, Bucket{burst_, now}).first;
  }
  Bucket& bucket = it->second;
  bucket.tokens = std::min(burst_, bucket.tokens + std::chrono::duration<double>(now - bucket.updated).count() * rate_);
  bucket.updated = now;
  if (bucket.tokens >= 1.0) {
    bucket.tokens -= 1.0;
    return true;
  }
  if (retry_after_seconds) *retry_after_seconds = (1.0 - bucket.tokens) / rate_;
  return false;
}

bool RateLimiter::Exhausted(const std::string& key) {
  if (rate_ <= 0) return false;
  const auto now = clock_();
  std::lock_guard<std::mutex> lock(mu_);
  auto it = buckets_.find(key);
  if (it == buckets_.end()) return false;
  double tokens =
      std::min(burst_, it->second.tokens + std::chrono::duration<double>(now - it->second.updated).count() * rate_);
  return tokens < 1.0;
}

}  // namespace dw::server
