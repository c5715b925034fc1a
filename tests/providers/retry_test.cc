#include "providers/retry.h"

#include <gtest/gtest.h>

#include "providers/rate_limiter.h"

namespace dw::providers {
namespace {

using std::chrono::milliseconds;

config::RetryPolicy Policy(int base, int max) {
  config::RetryPolicy policy;
  policy.max_attempts = 5;
  policy.base_delay_ms = base;
  policy.max_delay_ms = max;
  return policy;
}

TEST(RetryDelay, FullJitterScalesTheExponentialCeiling) {
  auto policy = Policy(100, 10000);
  EXPECT_EQ(RetryDelay(policy, 1, std::nullopt, 0.5), milliseconds(50));
  EXPECT_EQ(RetryDelay(policy, 2, std::nullopt, 0.5), milliseconds(100));
  EXPECT_EQ(RetryDelay(policy, 3, std::nullopt, 0.5), milliseconds(200));
  EXPECT_EQ(RetryDelay(policy, 3, std::nullopt, 0.0), milliseconds(0));
}

TEST(RetryDelay, CeilingIsCappedByMaxDelay) {
  EXPECT_EQ(RetryDelay(Policy(100, 1000), 30, std::nullopt, 0.999), milliseconds(999));
}

TEST(RetryDelay, RetryAfterIsHonouredUpToMaxDelay) {
  EXPECT_EQ(RetryDelay(Policy(100, 10000), 1, milliseconds(2500), 0.1), milliseconds(2500));
  EXPECT_EQ(RetryDelay(Policy(100, 1000), 1, milliseconds(2500), 0.1), milliseconds(1000));
}

TEST(ParseRetryAfter, ReadsDelaySeconds) {
  auto now = std::chrono::system_clock::now();
  EXPECT_EQ(ParseRetryAfter("2", now), milliseconds(2000));
  EXPECT_EQ(ParseRetryAfter(" 0.25 ", now), milliseconds(250));
}

TEST(ParseRetryAfter, ReadsHttpDatesRelativeToNow) {
  auto now = std::chrono::system_clock::from_time_t(784111777);  // Sun, 06 Nov 1994 08:49:37 GMT
  EXPECT_EQ(ParseRetryAfter("Sun, 06 Nov 1994 08:49:40 GMT", now), milliseconds(3000));
  EXPECT_EQ(ParseRetryAfter("Sunday, 06-Nov-94 08:49:47 GMT", now), milliseconds(10000));
  EXPECT_EQ(ParseRetryAfter("Sun Nov  6 08:49:38 1994", now), milliseconds(1000));
}

TEST(ParseRetryAfter, PastDateMeansNoWait) {
  auto now = std::chrono::system_clock::from_time_t(784111777);
  EXPECT_EQ(ParseRetryAfter("Sun, 06 Nov 1994 08:00:00 GMT", now), milliseconds(0));
}

TEST(ParseRetryAfter, DateInTheYear9999IsCappedInsteadOfOverflowingTheClock) {
  auto now = std::chrono::system_clock::from_time_t(784111777);
  EXPECT_EQ(ParseRetryAfter("Fri, 31 Dec 9999 23:59:59 GMT", now), milliseconds(1'000'000'000'000));
}

TEST(ParseRetryAfter, RejectsGarbage) {
  auto now = std::chrono::system_clock::now();
  for (std::string_view bad : {"", "soon", "-1", "1.", "12abc", "Sun, 06 Nov 1994"})
    EXPECT_EQ(ParseRetryAfter(bad, now), std::nullopt) << bad;
}

TEST(TokenBucket, AllowsABurstUpToCapacityThenPacesAtTheRate) {
  TokenBucket bucket(10, 10);
  SteadyTime t0{};
  for (int i = 0; i < 10; ++i) EXPECT_EQ(bucket.Reserve(1, t0).count(), 0) << i;
  EXPECT_EQ(bucket.Reserve(1, t0), std::chrono::milliseconds(100));
  EXPECT_EQ(bucket.Reserve(1, t0), std::chrono::milliseconds(200));
}

TEST(TokenBucket, RefillsWithElapsedTimeButNotBeyondCapacity) {
  TokenBucket bucket(10, 5);
  SteadyTime t0{};
  EXPECT_EQ(bucket.Reserve(5, t0).count(), 0);
  EXPECT_DOUBLE_EQ(bucket.Level(t0 + std::chrono::milliseconds(200)), 2.0);
  EXPECT_DOUBLE_EQ(bucket.Level(t0 + std::chrono::seconds(60)), 5.0);
}

TEST(TokenBucket, AdjustRefundsOrChargesAfterTheFact) {
  TokenBucket bucket(1, 100);
  SteadyTime t0{};
  bucket.Reserve(80, t0);
  bucket.Adjust(50, t0);
  EXPECT_DOUBLE_EQ(bucket.Level(t0), 70.0);
  bucket.Adjust(-100, t0);
  EXPECT_DOUBLE_EQ(bucket.Level(t0), -30.0);
  EXPECT_EQ(bucket.Reserve(0, t0), std::chrono::seconds(30));
}

TEST(TokenBucket, NonPositiveRateIsUnlimited) {
  TokenBucket bucket(0, 0);
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(bucket.Reserve(1e6, SteadyTime{}).count(), 0);
}

TEST(RateLimiter, TokensPerMinuteLimitDelaysLargeRequests) {
  config::RateLimit limit;
  limit.tokens_per_minute = 600;  // 10 tokens/s, burst 600
  RateLimiter limiter(limit);
  SteadyTime t0{};
  EXPECT_EQ(limiter.Reserve(600, t0).count(), 0);
  EXPECT_EQ(limiter.Reserve(50, t0), std::chrono::seconds(5));
  limiter.CorrectTokens(50, 0, t0);  // the request turned out to use nothing
  EXPECT_EQ(limiter.Reserve(10, t0), std::chrono::seconds(1));
}

}  // namespace
}  // namespace dw::providers
