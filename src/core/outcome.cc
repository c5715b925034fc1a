#include "core/outcome.h"

namespace dw {

std::string_view OutcomeName(Outcome outcome) {
  switch (outcome) {
    case Outcome::kPass: return "pass";
    case Outcome::kFail: return "fail";
    case Outcome::kRefusal: return "refusal";
    case Outcome::kFormatError: return "format_error";
    case Outcome::kTruncated: return "truncated";
    case Outcome::kEmpty: return "empty";
    case Outcome::kTimeout: return "timeout";
    case Outcome::kRateLimited: return "rate_limited";
    case Outcome::kTransportError: return "transport_error";
    case Outcome::kProviderError: return "provider_error";
    case Outcome::kBudgetExceeded: return "budget_exceeded";
  }
  return "unknown";
}

std::optional<Outcome> ParseOutcome(std::string_view name) {
  for (Outcome o : kAllOutcomes)
    if (OutcomeName(o) == name) return o;
  return std::nullopt;
}

bool IsInfrastructureFailure(Outcome outcome) {
  switch (outcome) {
    case Outcome::kTimeout:
    case Outcome::kRateLimited:
    case Outcome::kTransportError:
    case Outcome::kProviderError:
    case Outcome::kBudgetExceeded:
      return true;
    default:
      return false;
  }
}

}  // namespace dw
