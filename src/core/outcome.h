// The failure taxonomy: every case x repeat ends with exactly one Outcome.
#pragma once

#include <optional>
#include <string_view>

namespace dw {

enum class Outcome {
  kPass,            // the output was scored and passed its assertions
  kFail,            // the output was scored and failed its assertions
  kRefusal,         // the model declined to answer
  kFormatError,     // the output could not be parsed as the required format
  kTruncated,       // the provider stopped at the length limit
  kEmpty,           // the provider returned no content
  kTimeout,         // no complete answer within the per-call timeout
  kRateLimited,     // 429 / quota errors after all retries
  kTransportError,  // connection refused/reset, TLS or DNS failure, bad HTTP
  kProviderError,   // 5xx or a well-formed error body from the provider
  kBudgetExceeded,  // not attempted: the run's cost budget was exhausted
};

inline constexpr Outcome kAllOutcomes[] = {
    Outcome::kPass,      Outcome::kFail,        Outcome::kRefusal,        Outcome::kFormatError,
    Outcome::kTruncated, Outcome::kEmpty,       Outcome::kTimeout,        Outcome::kRateLimited,
    Outcome::kTransportError, Outcome::kProviderError, Outcome::kBudgetExceeded};

// Stable snake_case name ("pass", "format_error", ...), used in the database,
// JSON output and metric labels.
std::string_view OutcomeName(Outcome outcome);

// Inverse of OutcomeName; std::nullopt for an unknown name.
std::optional<Outcome> ParseOutcome(std::string_view name);

// True for outcomes caused by infrastructure rather than the model's answer:
// such results are never scored as a model pass or fail.
bool IsInfrastructureFailure(Outcome outcome);

}  // namespace dw
