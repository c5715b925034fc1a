// Retry timing: exponential backoff with full jitter, and Retry-After.
// Pure functions; thread-safe.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

#include "config/config.h"

namespace dw::providers {

// The wait before the next attempt after `failed_attempts` (>= 1) failures.
// Without `retry_after`: full jitter, uniform01 * min(max_delay_ms,
// base_delay_ms * 2^(failed_attempts-1)). With `retry_after` (the server's
// Retry-After on 429/503): at least that long, capped at max_delay_ms.
// `uniform01` is a random number in [0, 1).
std::chrono::milliseconds RetryDelay(const config::RetryPolicy& policy, int failed_attempts,
                                     std::optional<std::chrono::milliseconds> retry_after, double uniform01);

// Parses a Retry-After header value: delay-seconds ("2", also "1.5") or an
// HTTP-date (IMF-fixdate "Sun, 06 Nov 1994 08:49:37 GMT", or the obsolete
// RFC 850 and asctime forms), relative to `now`. A date in the past is zero.
// std::nullopt for anything else.
std::optional<std::chrono::milliseconds> ParseRetryAfter(std::string_view value,
                                                         std::chrono::system_clock::time_point now);

}  // namespace dw::providers
