#include "metrics/observations.h"

namespace dw::metrics {

std::string_view VerdictName(Verdict verdict) {
  switch (verdict) {
    case Verdict::kImproved: return "improved";
    case Verdict::kRegressed: return "regressed";
    case Verdict::kUnchanged: return "unchanged";
    case Verdict::kInsufficientData: return "insufficient_data";
  }
  return "unknown";
}

std::optional<Verdict> ParseVerdict(std::string_view name) {
  for (Verdict v : kAllVerdicts)
    if (VerdictName(v) == name) return v;
  return std::nullopt;
}

std::string_view SeverityName(Severity severity) {
  switch (severity) {
    case Severity::kNone: return "none";
    case Severity::kInfo: return "info";
    case Severity::kWarning: return "warning";
    case Severity::kCritical: return "critical";
  }
  return "unknown";
}

std::optional<Severity> ParseSeverity(std::string_view name) {
  for (Severity s : kAllSeverities)
    if (SeverityName(s) == name) return s;
  return std::nullopt;
}

}  // namespace dw::metrics
