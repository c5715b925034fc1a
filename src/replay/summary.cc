#include "replay/summary.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "core/text_table.h"
#include "stats/intervals.h"

namespace dw::replay {

void RunSummary::Add(const ReplayResult& result) {
  ++results_;
  ++counts_[static_cast<size_t>(result.outcome)];
  if (!IsInfrastructureFailure(result.outcome) && result.latency_ms > 0) latencies_.push_back(result.latency_ms);
  input_tokens_ += result.input_tokens;
  output_tokens_ += result.output_tokens;
  cost_usd_ += result.cost_usd;
  attempts_ += static_cast<size_t>(result.attempts);
  for (const auto& s : result.scores) {
    if (s.scorer.rfind("metric:", 0) == 0 && s.value) {
      auto& [sum, n] = metric_sums_[s.scorer.substr(7)];
      sum += *s.value;
      ++n;
    }
  }
  if (result.score) {
    auto& [sum, n] = metric_sums_["score"];
    sum += *result.score;
    ++n;
  }
}

size_t RunSummary::infra_failures() const {
  size_t n = 0;
  for (Outcome o : kAllOutcomes)
    if (IsInfrastructureFailure(o)) n += count(o);
  return n;
}

size_t RunSummary::scored() const { return results_ - infra_failures(); }

double RunSummary::pass_rate() const {
  size_t n = scored();
  return n == 0 ? std::nan("") : static_cast<double>(count(Outcome::kPass)) / static_cast<double>(n);
}

double RunSummary::LatencyPercentile(double p) const {
  if (latencies_.empty()) return 0;
  std::vector<double> sorted = latencies_;
  size_t k = static_cast<size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size()))) ;
  k = std::clamp<size_t>(k == 0 ? 1 : k, 1, sorted.size()) - 1;
  std::nth_element(sorted.begin(), sorted.begin() + static_cast<long>(k), sorted.end());
  return sorted[k];
}

nlohmann::json RunSummary::ToJson(double duration_seconds) const {
  nlohmann::json j;
  j["results"] = results_;
  j["scored"] = scored();
  j["passed"] = count(Outcome::kPass);
  j["failed"] = count(Outcome::kFail);
  double rate = pass_rate();
  if (scored() > 0) {
    auto ci = stats::WilsonInterval(static_cast<double>(count(Outcome::kPass)), static_cast<double>(scored()), 0.95);
    j["pass_rate"] = rate;
    j["pass_rate_ci95"] = {ci.low, ci.high};
  } else {
    j["pass_rate"] = nullptr;
    j["pass_rate_ci95"] = nullptr;
  }
  nlohmann::json outcomes = nlohmann::json::object();
  for (Outcome o : kAllOutcomes) outcomes[std::string(OutcomeName(o))] = count(o);
  j["outcomes"] = outcomes;
  j["infra_failures"] = infra_failures();
  nlohmann::json metrics = nlohmann::json::object();
  for (const auto& [name, sn] : metric_sums_) metrics[name] = {{"mean", sn.first / static_cast<double>(sn.second)}, {"n", sn.second}};
  j["metrics"] = metrics;
  j["input_tokens"] = input_tokens_;
  j["output_tokens"] = output_tokens_;
  j["cost_usd"] = cost_usd_;
  j["attempts"] = attempts_;
  j["latency_ms"] = {{"p50", LatencyPercentile(50)}, {"p95", LatencyPercentile(95)}, {"p99", LatencyPercentile(99)}};
  j["duration_seconds"] = duration_seconds;
  j["requests_per_second"] = duration_seconds > 0 ? static_cast<double>(results_) / duration_seconds : 0.0;
  return j;
}

std::string RunSummary::ToText(double duration_seconds) const {
  std::ostringstream out;
  auto j = ToJson(duration_seconds);
  out << "results     " << results_ << " (" << count(Outcome::kPass) << " pass, " << count(Outcome::kFail)
      << " fail, " << (results_ - count(Outcome::kPass) - count(Outcome::kFail)) << " other)\n";
  if (scored() > 0) {
    out << "pass rate   " << FormatFixed(100 * pass_rate(), 1) << "%  (95% CI "
        << FormatFixed(100 * j["pass_rate_ci95"][0].get<double>(), 1) << "–"
        << FormatFixed(100 * j["pass_rate_ci95"][1].get<double>(), 1) << "%, Wilson, n=" << scored() << ")\n";
  } else {
    out << "pass rate   n/a (no result reached the model)\n";
  }
  for (const auto& [name, sn] : metric_sums_)
    out << "metric      " << name << " mean " << FormatFixed(sn.first / static_cast<double>(sn.second), 3)
        << " (n=" << sn.second << ")\n";
  bool any_failure = false;
  for (Outcome o : kAllOutcomes) {
    if (o == Outcome::kPass || o == Outcome::kFail || count(o) == 0) continue;
    out << (any_failure ? "            " : "failures    ") << OutcomeName(o) << " " << count(o)
        << (IsInfrastructureFailure(o) ? " (infrastructure, excluded from pass rate)" : "") << "\n";
    any_failure = true;
  }
  if (!any_failure) out << "failures    none\n";
  out << "tokens      " << input_tokens_ << " in, " << output_tokens_ << " out\n";
  out << "cost        $" << FormatFixed(cost_usd_, 4) << "\n";
  out << "latency     p50 " << FormatFixed(LatencyPercentile(50), 1) << " ms, p95 "
      << FormatFixed(LatencyPercentile(95), 1) << " ms, p99 " << FormatFixed(LatencyPercentile(99), 1) << " ms\n";
  out << "duration    " << FormatFixed(duration_seconds, 2) << " s ("
      << FormatFixed(duration_seconds > 0 ? static_cast<double>(results_) / duration_seconds : 0, 0) << " results/s)\n";
  return out.str();
}

}  // namespace dw::replay
