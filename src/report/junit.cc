#include "report/junit.h"

#include <sstream>

#include "core/text_table.h"
#include "report/html.h"

namespace dw::report {
namespace {

// `s` on one line, cut to `n` bytes (not inside a UTF-8 sequence) with "…".
std::string OneLine(const std::string& s, size_t n) {
  std::string flat;
  for (char c : s) flat += (c == '\n' || c == '\t' || c == '\r') ? ' ' : c;
  if (flat.size() <= n) return flat;
  size_t cut = n;
  while (cut > 0 && (static_cast<unsigned char>(flat[cut]) & 0xC0) == 0x80) --cut;
  return flat.substr(0, cut) + "…";
}

std::string DescribeOutcome(Outcome o) {
  switch (o) {
    case Outcome::kRefusal:
      return "the model declined to answer";
    case Outcome::kFormatError:
      return "the output is not in the required format";
    case Outcome::kTruncated:
      return "the provider stopped at the length limit";
    case Outcome::kEmpty:
      return "the provider returned no content";
    case Outcome::kTimeout:
      return "no complete answer within the per-call timeout";
    case Outcome::kRateLimited:
      return "rate limited after all retries";
    case Outcome::kTransportError:
      return "the connection to the provider failed";
    case Outcome::kProviderError:
      return "the provider answered with an error";
    case Outcome::kBudgetExceeded:
      return "not attempted: the run's cost budget was exhausted";
    default:
      return "assertions failed";
  }
}

std::string Seconds(double ms) { return FormatFixed(ms / 1000.0, 3); }

}  // namespace

std::string RenderJunit(const store::RunInfo& run, const std::vector<ReplayResult>& results) {
  size_t failures = 0, errors = 0;
  double total_ms = 0;
  for (const auto& r : results) {
    if (IsInfrastructureFailure(r.outcome))
      ++errors;
    else if (r.outcome != Outcome::kPass)
      ++failures;
    total_ms += r.latency_ms;
  }
  const std::string counts = "tests=\"" + std::to_string(results.size()) + "\" failures=\"" + std::to_string(failures) +
                             "\" errors=\"" + std::to_string(errors) + "\"";
  std::ostringstream out;
  out << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
      << "<testsuites name=\"driftwatch\" " << counts << " time=\"" << Seconds(total_ms) << "\">\n"
      << "  <testsuite name=\""
      << EscapeMarkup(run.golden_set + "@" + std::to_string(run.golden_set_version) + " on " + run.target) << "\" "
      << counts << " skipped=\"0\" time=\"" << Seconds(total_ms) << "\" id=\"" << EscapeMarkup(run.id) << "\">\n"
      << "    <properties>\n";
  auto property = [&](const std::string& name, const std::string& value) {
    out << "      <property name=\"" << name << "\" value=\"" << EscapeMarkup(value) << "\"/>\n";
  };
  property("run_id", run.id);
  property("golden_set_manifest_sha256", run.manifest_sha256);
  property("target_version", run.target_version_hash);
  property("model", run.target_model);
  property("status", run.status);
  out << "    </properties>\n";
  const std::string classname = EscapeMarkup(run.golden_set);
  for (const auto& r : results) {
    out << "    <testcase classname=\"" << classname << "\" name=\""
        << EscapeMarkup(r.case_id + (run.repeats > 1 ? " #" + std::to_string(r.repeat) : "")) << "\" time=\""
        << Seconds(r.latency_ms) << "\"";
    if (r.outcome == Outcome::kPass) {
      out << "/>\n";
      continue;
    }
    out << ">\n";
    const std::string type(OutcomeName(r.outcome));
    if (IsInfrastructureFailure(r.outcome)) {
      std::string message = r.error_detail.empty() ? DescribeOutcome(r.outcome) : r.error_detail;
      out << "      <error type=\"" << type << "\" message=\"" << EscapeMarkup(OneLine(type + ": " + message, 300))
          << "\">" << EscapeMarkup(message) << "</error>\n";
    } else {
      std::string failed;
      for (const auto& s : r.scores)
        if (s.passed && !*s.passed) failed += (failed.empty() ? "" : "; ") + s.scorer + ": " + s.reason;
      std::string message = !failed.empty()           ? failed
                            : !r.error_detail.empty() ? r.error_detail
                            : r.outcome == Outcome::kFail && r.score
                                ? "case score " + FormatFixed(*r.score, 3) + " below its threshold"
                                : DescribeOutcome(r.outcome);
      out << "      <failure type=\"" << type << "\" message=\"" << EscapeMarkup(OneLine(type + ": " + message, 300))
          << "\">" << EscapeMarkup(message + "\noutput: " + r.output) << "</failure>\n";
    }
    out << "    </testcase>\n";
  }
  out << "  </testsuite>\n</testsuites>\n";
  return out.str();
}

}  // namespace dw::report
