// Token-bucket rate limits per key (API token or client address).
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <mutex>
#include <string>
#include <unordered_map>

namespace dw::server {

// Each key gets a bucket of `burst` requests refilled at `rate` per second.
// Thread-safe. Keeps at most `max_keys` buckets: when full, buckets that have
// refilled completely are forgotten first, then the map is cleared (a reset
// only ever lets requests through). rate <= 0 disables the limit.
class RateLimiter {
 public:
  using Clock = std::function<std::chrono::steady_clock::time_point()>;

  RateLimiter(double rate, double burst, std::size_t max_keys = 10000, Clock clock = {});

  // Takes one request from `key`'s bucket. When it is empty returns false and
  // sets `retry_after_seconds` (when given) to the wait for the next token.
  bool Allow(const std::string& key, double* retry_after_seconds = nullptr);

  // True when `key`'s bucket is empty now (Allow would refuse); consumes
  // nothing.
  bool Exhausted(const std::string& key);

 private:
  struct Bucket {
    double tokens;
    std::chrono::steady_clock::time_point updated;
  };
  double rate_;
  double burst_;
  std::size_t max_keys_;
  Clock clock_;
  std::mutex mu_;
  std::unordered_map<std::string, Bucket> buckets_;
};

}  // namespace dw::server
