#include "stats/compare_render.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <numeric>
#include <vector>

#include "stats/rng.h"

namespace dw::stats {
namespace {

nlohmann::json Number(double value) {
  if (!std::isfinite(value)) return nullptr;
  return value;
}

nlohmann::json Optional(const std::optional<double>& value) {
  if (!value) return nullptr;
  return Number(*value);
}

nlohmann::json MethodJson(const Method& method) {
  if (method.name.empty()) return nullptr;
  return {{"name", method.name}, {"version", method.version}, {"params", method.params}};
}

std::string Printf(const char* format, double value) {
  char buffer[48];
  std::snprintf(buffer, sizeof buffer, format, value);
  return buffer;
}

// A level (baseline or candidate) in the metric's natural unit.
std::string FormatLevel(const MetricResult& row, double value) {
  if (row.kind == MetricKind::kBinary) return Printf("%.1f%%", 100 * value);
  return Printf("%.4g", value);
}

// A difference on the analysis scale, signed.
std::string FormatDelta(const MetricResult& row, double value) {
  if (!std::isfinite(value)) return value > 0 ? "+inf" : "-inf";
  switch (row.kind) {
    case MetricKind::kBinary: return Printf("%+.1fpp", 100 * value);
    case MetricKind::kPositiveRatio: return Printf("x%.3f", std::exp(value));
    default: return Printf("%+.4f", value);
  }
}

std::string FormatP(const std::optional<double>& p) {
  if (!p) return "-";
  return Printf("%.2g", *p);
}

int VerdictRank(Verdict verdict) {
  switch (verdict) {
    case Verdict::kRegressed: return 0;
    case Verdict::kChanged: return 1;
    case Verdict::kImproved: return 2;
    case Verdict::kInsufficientData: return 3;
    case Verdict::kUnchanged: return 4;
  }
  return 5;
}

}  // namespace

nlohmann::json MetricResultToJson(const MetricResult& row) {
  nlohmann::json out = {
      {"metric", row.metric},
      {"kind", MetricKindName(row.kind)},
      {"slice", row.slice},
      {"primary", row.primary},
      {"higher_is_better", row.higher_is_better},
      {"n", row.n},
      {"n_missing", row.n_missing},
      {"n_invalid", row.n_invalid},
      {"clusters", row.clusters},
      {"k_baseline", {{"min", row.k_baseline_min}, {"max", row.k_baseline_max}}},
      {"k_candidate", {{"min", row.k_candidate_min}, {"max", row.k_candidate_max}}},
      {"baseline", row.n > 0 ? Number(row.baseline.value) : nlohmann::json()},
      {"baseline_ci_low", row.baseline.ci ? Number(row.baseline.ci->low) : nlohmann::json()},
      {"baseline_ci_high", row.baseline.ci ? Number(row.baseline.ci->high) : nlohmann::json()},
      {"baseline_method", row.baseline.method.empty() ? nlohmann::json() : nlohmann::json(row.baseline.method)},
      {"candidate", row.n > 0 ? Number(row.candidate.value) : nlohmann::json()},
      {"candidate_ci_low", row.candidate.ci ? Number(row.candidate.ci->low) : nlohmann::json()},
      {"candidate_ci_high", row.candidate.ci ? Number(row.candidate.ci->high) : nlohmann::json()},
      {"candidate_method", row.candidate.method.empty() ? nlohmann::json() : nlohmann::json(row.candidate.method)},
      {"delta", row.n > 0 ? Number(row.delta) : nlohmann::json()},
      {"ci_low", row.delta_ci ? Number(row.delta_ci->low) : nlohmann::json()},
      {"ci_high", row.delta_ci ? Number(row.delta_ci->high) : nlohmann::json()},
      {"ci_method", MethodJson(row.ci_method)},
      {"p_value", Optional(row.p_value)},
      {"q_value", Optional(row.q_value)},
      {"min_attainable_p", row.p_value ? Number(row.min_attainable_p) : nlohmann::json()},
      {"family", FamilyName(row.family)},
      {"test", MethodJson(row.test)},
      {"ties", row.ties},
      {"min_effect", row.min_effect},
      {"non_inferiority",
       {{"status", NiStatusName(row.non_inferiority.status)},
        {"margin", row.non_inferiority.margin},
        {"alpha", row.non_inferiority.alpha},
        {"bound", Optional(row.non_inferiority.bound)},
        {"reason", row.non_inferiority.reason}}},
      {"power",
       {{"mde", Optional(row.power.mde)},
        {"alpha", row.power.alpha},
        {"power", row.power.power},
        {"ni_power", Optional(row.power.ni_power)},
        {"discordant_share", Optional(row.power.discordant_share)}}},
      {"verdict", VerdictName(row.verdict)},
      {"severity", SeverityName(row.severity)},
      {"reason", row.reason},
      {"seed", SeedHex(row.seed)},
  };
  if (row.kind == MetricKind::kBinary) {
    out["b"] = row.b ? nlohmann::json(*row.b) : nlohmann::json();
    out["c"] = row.c ? nlohmann::json(*row.c) : nlohmann::json();
  }
  if (row.kind == MetricKind::kPositiveRatio) {
    out["ratio"] = row.n > 0 ? Number(std::exp(row.delta)) : nlohmann::json();
    out["ratio_ci_low"] = row.delta_ci ? Number(std::exp(row.delta_ci->low)) : nlohmann::json();
    out["ratio_ci_high"] = row.delta_ci ? Number(std::exp(row.delta_ci->high)) : nlohmann::json();
  }
  if (row.kind == MetricKind::kTextChange) {
    out["changed_share"] = Optional(row.changed_share);
    out["null_changed_share"] = Optional(row.null_changed_share);
    out["null_threshold"] = Optional(row.null_threshold);
  }
  return out;
}

nlohmann::json ComparisonToJson(const ComparisonResult& result) {
  nlohmann::json rows = nlohmann::json::array();
  for (const MetricResult& row : result.results) rows.push_back(MetricResultToJson(row));
  return {{"schema_version", 1},
          {"verdict", VerdictName(result.verdict)},
          {"severity", SeverityName(result.severity)},
          {"reasons", result.reasons},
          {"primary_metric", result.primary_metric.empty() ? nlohmann::json() : nlohmann::json(result.primary_metric)},
          {"seed", SeedHex(result.seed)},
          {"cases", result.cases},
          {"policy", result.policy.ToJson()},
          {"metrics", std::move(rows)}};
}

std::string RenderComparisonTable(const ComparisonResult& result) {
  std::vector<std::size_t> order(result.results.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t x, std::size_t y) {
    const MetricResult& a = result.results[x];
    const MetricResult& b = result.results[y];
    if (a.severity != b.severity) return a.severity > b.severity;
    if (VerdictRank(a.verdict) != VerdictRank(b.verdict)) return VerdictRank(a.verdict) < VerdictRank(b.verdict);
    return a.primary && !b.primary;
  });

  const std::vector<std::string> header = {"SEVERITY", "VERDICT", "METRIC", "SLICE", "N",    "BASELINE",
                                           "CANDIDATE", "DELTA",  "CI",     "P",     "Q",    "B/C", "TEST"};
  // Numeric columns are right-aligned.
  const std::vector<bool> right = {false, false, false, false, true, true, true, true, false, true, true, true, false};
  std::vector<std::vector<std::string>> table = {header};
  for (std::size_t index : order) {
    const MetricResult& row = result.results[index];
    const bool has_data = row.n > 0;
    std::string ci = "-";
    if (row.delta_ci) ci = "[" + FormatDelta(row, row.delta_ci->low) + ", " + FormatDelta(row, row.delta_ci->high) + "]";
    table.push_back({SeverityName(row.severity), VerdictName(row.verdict), row.metric + (row.primary ? "*" : ""),
                     row.slice, std::to_string(row.n), has_data ? FormatLevel(row, row.baseline.value) : "-",
                     has_data ? FormatLevel(row, row.candidate.value) : "-",
                     has_data ? FormatDelta(row, row.delta) : "-", ci, FormatP(row.p_value),
                     row.family == Family::kSecondary ? FormatP(row.q_value) : "-",
                     row.b ? std::to_string(*row.b) + "/" + std::to_string(*row.c) : "-",
                     row.test.name.empty() ? "-" : row.test.name});
  }
  std::vector<std::size_t> widths(header.size(), 0);
  for (const auto& line : table) {
    for (std::size_t col = 0; col < line.size(); ++col) widths[col] = std::max(widths[col], line[col].size());
  }

  std::string out = "Comparison: " + std::string(VerdictName(result.verdict)) + " (severity " +
                    SeverityName(result.severity) + "), primary metric " +
                    (result.primary_metric.empty() ? std::string("none") : result.primary_metric + "*") + ", " +
                    std::to_string(result.cases) + " cases, seed " + SeedHex(result.seed) + "\n";
  for (const auto& line : table) {
    std::string text;
    for (std::size_t col = 0; col < line.size(); ++col) {
      const std::string padding(widths[col] - line[col].size(), ' ');
      if (col > 0) text += "  ";
      text += right[col] ? padding + line[col] : line[col] + padding;
    }
    while (!text.empty() && text.back() == ' ') text.pop_back();
    out += text + "\n";
  }
  return out;
}

}  // namespace dw::stats
