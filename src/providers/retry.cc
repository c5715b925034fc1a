#include "providers/retry.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <ctime>
#include <string>

namespace dw::providers {
namespace {

std::string_view TrimSpaces(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::optional<double> ParseSeconds(std::string_view s) {
  if (s.empty() || s.size() > 32) return std::nullopt;
  bool dot = false;
  for (char c : s) {
    if (c == '.' && !dot) {
      dot = true;
    } else if (c < '0' || c > '9') {
      return std::nullopt;
    }
  }
  if (s.front() == '.' || s.back() == '.') return std::nullopt;
  return std::stod(std::string(s));
}

std::optional<std::time_t> ParseHttpDate(std::string_view s) {
  static constexpr const char* kFormats[] = {
      "%a, %d %b %Y %H:%M:%S GMT",  // IMF-fixdate
      "%A, %d-%b-%y %H:%M:%S GMT",  // RFC 850
      "%a %b %e %H:%M:%S %Y",       // asctime
  };
  std::string text(s);
  for (const char* format : kFormats) {
    std::tm tm{};
    const char* end = strptime(text.c_str(), format, &tm);
    if (end != nullptr && *end == '\0') return timegm(&tm);
  }
  return std::nullopt;
}

}  // namespace

std::chrono::milliseconds RetryDelay(const config::RetryPolicy& policy, int failed_attempts,
                                     std::optional<std::chrono::milliseconds> retry_after, double uniform01) {
  const double max_delay = std::max(0, policy.max_delay_ms);
  if (retry_after) {
    double wanted = static_cast<double>(std::max<std::int64_t>(0, retry_after->count()));
    return std::chrono::milliseconds(static_cast<std::int64_t>(std::min(wanted, max_delay)));
  }
  const int exponent = std::clamp(failed_attempts - 1, 0, 62);
  const double ceiling = std::min(max_delay, std::max(0, policy.base_delay_ms) * std::ldexp(1.0, exponent));
  const double jitter = std::clamp(uniform01, 0.0, 1.0) * ceiling;
  return std::chrono::milliseconds(static_cast<std::int64_t>(jitter));
}

std::optional<std::chrono::milliseconds> ParseRetryAfter(std::string_view value,
                                                         std::chrono::system_clock::time_point now) {
  // Capped at 1e9 s (about 31 years): beyond any max_delay_ms, and far from
  // overflowing clock arithmetic whatever date a server sends.
  static constexpr double kMaxSeconds = 1e9;
  auto wait = [](double seconds) {
    return std::chrono::milliseconds(std::llround(std::min(seconds, kMaxSeconds) * 1000.0));
  };
  value = TrimSpaces(value);
  if (auto seconds = ParseSeconds(value)) return wait(*seconds);
  auto when = ParseHttpDate(value);
  if (!when) return std::nullopt;
  const double ahead = static_cast<double>(*when) - std::chrono::duration<double>(now.time_since_epoch()).count();
  return ahead <= 0 ? std::chrono::milliseconds(0) : wait(ahead);
}

}  // namespace dw::providers
