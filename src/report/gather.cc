#include "report/gather.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "core/hash.h"
#include "core/text_table.h"
#include "governance/audit.h"
#include "governance/pointers.h"
#include "governance/review.h"
#include "store/comparison_repo.h"
#include "store/goldenset_repo.h"
#include "store/run_repo.h"

namespace dw::report {
namespace {

using nlohmann::json;

constexpr const char* kBaselineColor = "#175cd3";
constexpr const char* kCandidateColor = "#c11574";
constexpr const char* kReferenceColor = "#067647";

std::optional<double> Number(const json& object, const char* key) {
  if (!object.is_object()) return std::nullopt;
  auto it = object.find(key);
  if (it == object.end() || !it->is_number()) return std::nullopt;
  return it->get<double>();
}

std::string Text(const json& object, const char* key) {
  if (!object.is_object()) return "";
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : "";
}

long long Integer(const json& object, const char* key) {
  if (!object.is_object()) return 0;
  auto it = object.find(key);
  return it != object.end() && it->is_number() ? it->get<long long>() : 0;
}

// The run-level value of `metric` and its interval from a stored summary.
std::optional<double> SummaryValue(const json& summary, const std::string& metric, std::optional<double>* low,
                                   std::optional<double>* high) {
  if (!summary.is_object()) return std::nullopt;
  if (metric == "pass_rate") {
    const json& ci = summary.value("pass_rate_ci95", json());
    if (ci.is_array() && ci.size() == 2 && ci[0].is_number() && ci[1].is_number()) {
      *low = ci[0].get<double>();
      *high = ci[1].get<double>();
    }
    return Number(summary, "pass_rate");
  }
  const json& metrics = summary.value("metrics", json::object());
  for (const std::string& key : {metric, "metric:" + metric})
    if (metrics.contains(key)) return Number(metrics[key], "mean");
  return std::nullopt;
}

RunFacts ToRunFacts(const store::RunInfo& info, const governance::RunEvidenceRecord& evidence) {
  const json& manifest = evidence.manifest;
  const json& golden_set = manifest.value("golden_set", json::object());
  const json& target = manifest.value("target", json::object());
  const json& run = manifest.value("candidate", json::object());
  RunFacts facts;
  facts.id = info.id;
  facts.status = info.status;
  facts.created_at = info.created_at;
  facts.finished_at = info.finished_at;
  facts.requested_by = info.requested_by;
  facts.trigger = Text(run, "trigger");
  facts.repeats = info.repeats;
  facts.golden_set = info.golden_set;
  facts.golden_set_version = info.golden_set_version;
  facts.golden_set_manifest_sha256 = info.manifest_sha256;
  facts.case_count = static_cast<int>(Integer(golden_set, "case_count"));
  facts.target = info.target;
  facts.target_version_hash = info.target_version_hash;
  facts.provider = Text(target, "provider");
  facts.model = info.target_model;
  facts.prompt_sha256 = Text(target, "prompt_sha256");
  facts.target_spec_sha256 = Text(target, "spec_sha256");
  if (run.contains("scorer") && run["scorer"].is_object()) {
    facts.scorer = Text(run["scorer"], "name");
    facts.scorer_version_hash = Text(run["scorer"], "version_hash");
  }
  if (evidence.scorer_spec.is_object() && evidence.scorer_spec.contains("judge")) {
    const json& judge = evidence.scorer_spec["judge"];
    facts.judge = Text(judge, "target") + " (" + Text(judge, "model") + ")";
  }
  facts.runner_build = Text(run, "runner_build");
  facts.runner_host = Text(run, "runner_host");
  facts.results = Integer(run, "results");
  facts.results_sha256 = Text(run, "results_sha256");
  facts.scores_sha256 = Text(run, "scores_sha256");
  const json& summary = info.summary;
  facts.pass_rate = SummaryValue(summary, "pass_rate", &facts.pass_rate_low, &facts.pass_rate_high);
  facts.scored = Integer(summary, "scored");
  facts.infra_failures = Integer(summary, "infra_failures");
  facts.cost_usd = Number(summary, "cost_usd").value_or(0);
  return facts;
}

Result<RunFacts> LoadRunFacts(store::Database& db, const store::RunInfo& info) {
  auto evidence = governance::RunEvidence(db, info.id);
  if (!evidence) return Fail(evidence.error());
  return ToRunFacts(info, *evidence);
}

VerdictRow ToVerdictRow(const json& row) {
  VerdictRow r;
  r.metric = Text(row, "metric");
  r.slice = Text(row, "slice");
  r.kind = Text(row, "kind");
  r.primary = row.value("primary", false);
  r.n = static_cast<int>(Integer(row, "n"));
  r.n_missing = static_cast<int>(Integer(row, "n_missing"));
  r.baseline = Number(row, "baseline");
  r.candidate = Number(row, "candidate");
  r.delta = Number(row, "delta");
  r.ci_low = Number(row, "ci_low");
  r.ci_high = Number(row, "ci_high");
  r.p_value = Number(row, "p_value");
  r.q_value = Number(row, "q_value");
  r.family = Text(row, "family");
  if (row.contains("test") && row["test"].is_object()) r.test = Text(row["test"], "name");
  if (auto b = Number(row, "b")) r.b = static_cast<int>(*b);
  if (auto c = Number(row, "c")) r.c = static_cast<int>(*c);
  r.changed_share = Number(row, "changed_share");
  r.null_changed_share = Number(row, "null_changed_share");
  if (row.contains("non_inferiority") && row["non_inferiority"].is_object())
    r.non_inferiority = Text(row["non_inferiority"], "status");
  r.verdict = Text(row, "verdict");
  r.severity = Text(row, "severity");
  r.reason = Text(row, "reason");
  return r;
}

// `document` is the comparison as stored (stats::ComparisonToJson plus run
// ids); `sha256` is the hash a review bound, or empty to compute it.
ComparisonFacts ToComparisonFacts(json document, const std::string& sha256) {
  document.erase("comparison_id");
  document.erase("table");
  ComparisonFacts facts;
  facts.sha256 = sha256.empty() ? ContentHash(document) : sha256;
  facts.verdict = Text(document, "verdict");
  facts.severity = Text(document, "severity");
  if (document.contains("reasons") && document["reasons"].is_array())
    for (const auto& reason : document["reasons"])
      if (reason.is_string()) facts.reasons.push_back(reason.get<std::string>());
  facts.primary_metric = Text(document, "primary_metric");
  facts.cases = static_cast<int>(Integer(document, "cases"));
  facts.seed = Text(document, "seed");
  facts.note = Text(document, "note");
  const json& policy = document.value("policy", json::object());
  facts.ci_level = Number(policy, "ci_level").value_or(facts.ci_level);
  facts.alpha = Number(policy, "alpha").value_or(facts.alpha);
  facts.fdr_q = Number(policy, "fdr_q").value_or(facts.fdr_q);
  facts.delta_min = Number(policy, "delta_min").value_or(facts.delta_min);
  facts.ni_margin = Number(policy, "ni_margin").value_or(facts.ni_margin);
  if (document.contains("metrics") && document["metrics"].is_array())
    for (const auto& row : document["metrics"]) facts.rows.push_back(ToVerdictRow(row));
  return facts;
}

std::string ValueText(const json& value) { return value.is_string() ? value.get<std::string>() : value.dump(); }

// Adds each regressed case's description, variables and tags from the golden set.
Status DescribeCases(store::Database& db, long long golden_set_version_id, CaseChanges& changes) {
  if (changes.regressed.empty()) return Ok();
  auto cases = store::LoadCases(db, golden_set_version_id);
  if (!cases) return Fail(cases.error());
  std::map<std::string, const GoldenCase*> by_id;
  for (const auto& c : cases->cases) by_id[c.id] = &c;
  for (auto& change : changes.regressed) {
    auto it = by_id.find(change.case_id);
    if (it == by_id.end()) continue;
    const GoldenCase& c = *it->second;
    change.description = c.description;
    if (c.vars.is_object())
      for (const auto& [key, value] : c.vars.items()) change.input.emplace_back(key, ValueText(value));
    for (const auto& tag : c.tags)
      if (tag != "all") change.tags.push_back(tag);
  }
  return Ok();
}

// "MM-DD HH:MM" of "YYYY-MM-DDTHH:MM:SSZ".
std::string ShortTime(const std::string& iso) {
  return iso.size() >= 16 ? iso.substr(5, 5) + " " + iso.substr(11, 5) : iso;
}

struct TrendInput {
  std::vector<store::RunInfo> runs;                             // time order
  std::map<std::string, std::vector<store::DriftPoint>> drift;  // target -> points of the primary metric
};

std::string MetricTitle(const std::string& metric) {
  if (metric == "pass_rate") return "Pass rate";
  if (metric == "score") return "Mean score";
  return metric;
}

LineChart LevelChart(const TrendInput& input, const std::string& metric, const RunFacts& candidate,
                     const RunFacts* baseline) {
  LineChart chart;
  chart.title = MetricTitle(metric) + " by run";
  chart.percent = metric == "pass_rate";
  chart.description =
      std::string(metric == "pass_rate" ? "Share of scored answers that passed" : "Run-level value") +
      ", one point per run in time order" + (metric == "pass_rate" ? " with its 95% confidence band" : "") +
      "; the ringed point is the candidate" + (baseline ? ", the dashed line the signed-off baseline" : "") + ".";
  std::map<std::string, size_t> series_of;  // target -> index
  std::set<std::string> alarms;
  for (const auto& [target, points] : input.drift)
    for (const auto& p : points)
      if (p.in_alarm) alarms.insert(p.run_id);
  for (size_t x = 0; x < input.runs.size(); ++x) {
    const store::RunInfo& run = input.runs[x];
    chart.x_labels.push_back(ShortTime(run.created_at));
    ChartPoint point;
    point.x = static_cast<int>(x);
    auto value = SummaryValue(run.summary, metric, &point.low, &point.high);
    if (!value) continue;
    point.y = *value;
    point.highlight = run.id == candidate.id;
    point.alarm = alarms.count(run.id) > 0;
    if (!series_of.count(run.target)) {
      ChartSeries series;
      series.name = run.target;
      series.color = run.target == candidate.target ? kCandidateColor : kBaselineColor;
      series_of[run.target] = chart.series.size();
      chart.series.push_back(series);
    }
    chart.series[series_of[run.target]].points.push_back(point);
  }
  if (chart.series.size() == 1) chart.series[0].color = kBaselineColor;
  if (baseline) {
    for (const auto& run : input.runs) {
      if (run.id != baseline->id) continue;
      std::optional<double> low, high;
      if (auto value = SummaryValue(run.summary, metric, &low, &high))
        chart.references.push_back(
            {*value,
             "signed-off baseline " + (chart.percent ? FormatFixed(100 * *value, 1) + "%" : FormatFixed(*value, 3)),
             kReferenceColor});
    }
  }
  return chart;
}

// The CUSUM sums of the candidate's series, against their alarm threshold.
std::optional<LineChart> DetectorChart(const TrendInput& input, const std::string& metric, const RunFacts& candidate) {
  auto it = input.drift.find(candidate.target);
  if (it == input.drift.end() || it->second.empty()) return std::nullopt;
  const auto& points = it->second;
  std::map<std::string, std::string> created;
  for (const auto& run : input.runs) created[run.id] = run.created_at;
  LineChart chart;
  const std::string name = metric == "pass_rate" ? "pass rate" : metric;
  chart.title = "Drift detector on " + name;
  chart.description = "Cumulative evidence (CUSUM, in standard deviations of the run-to-run noise) that the " + name +
                      " of " + candidate.target +
                      " has fallen (S\u2212) or risen (S+) since the signed-off baseline; crossing the threshold "
                      "raises a drift alarm.";
  ChartSeries falling{"falling (S\u2212)", kCandidateColor, false, {}};
  ChartSeries rising{"rising (S+)", kBaselineColor, true, {}};
  for (size_t x = 0; x < points.size(); ++x) {
    const auto& p = points[x];
    auto when = created.find(p.run_id);
    chart.x_labels.push_back(when != created.end() ? ShortTime(when->second) : p.run_id.substr(0, 8));
    ChartPoint lower{static_cast<int>(x), p.cusum_lower, std::nullopt,
                     std::nullopt,        p.in_alarm,    p.run_id == candidate.id};
    ChartPoint upper{static_cast<int>(x), p.cusum_upper, std::nullopt, std::nullopt, false, false};
    falling.points.push_back(lower);
    rising.points.push_back(upper);
  }
  chart.series = {falling, rising};
  const json& config = points.back().state.value("config", json::object());
  if (auto h = Number(config, "h")) chart.references.push_back({*h, "alarm threshold", "#d92d20"});
  return chart;
}

Result<std::vector<LineChart>> Trends(store::Database& db, const EvidenceRequest& request, const RunFacts& candidate,
                                      const RunFacts* baseline, const std::string& metric) {
  TrendInput input;
  std::set<std::string> targets = {candidate.target};
  if (baseline) targets.insert(baseline->target);
  std::map<std::string, store::RunInfo> runs;
  for (const auto& target : targets) {
    auto listed = store::ListRuns(db, candidate.golden_set, target, request.trend_runs);
    if (!listed) return Fail(listed.error());
    for (auto& run : *listed)
      if (run.status == "done" || run.id == candidate.id) runs.emplace(run.id, std::move(run));
    auto drift = store::DriftHistory(db, candidate.golden_set, target, metric, request.trend_runs);
    if (!drift) return Fail(drift.error());
    input.drift[target] = std::move(*drift);
  }
  for (const RunFacts* pinned : {&candidate, baseline}) {
    if (!pinned || runs.count(pinned->id)) continue;
    auto run = store::GetRun(db, pinned->id);
    if (!run) return Fail(run.error());
    runs.emplace(run->id, std::move(*run));
  }
  for (auto& [id, run] : runs) input.runs.push_back(std::move(run));
  std::stable_sort(input.runs.begin(), input.runs.end(), [](const store::RunInfo& a, const store::RunInfo& b) {
    return a.created_at != b.created_at ? a.created_at < b.created_at : a.id < b.id;
  });
  std::vector<LineChart> charts = {LevelChart(input, metric, candidate, baseline)};
  if (auto detector = DetectorChart(input, metric, candidate)) charts.push_back(std::move(*detector));
  return charts;
}

Result<ReviewFacts> LoadReview(store::Database& db, const governance::ReviewDetail& detail) {
  const governance::Review& r = detail.review;
  ReviewFacts facts;
  facts.id = r.id;
  facts.environment = r.environment;
  facts.status = r.status;
  facts.requested_by = r.requested_by;
  facts.requested_at = r.requested_at;
  facts.closed_at = r.closed_at.value_or("");
  facts.note = r.note;
  facts.min_approvals = r.min_approvals;
  facts.approvals = r.approvals;
  facts.gates_passed = r.gates_passed;
  facts.waiver_in_force = detail.waiver_in_force;
  facts.evidence_sha256 = r.evidence_sha256;
  facts.evidence_intact = ContentHash(detail.evidence) == r.evidence_sha256;
  facts.current_evidence_sha256 = detail.current_evidence_sha256;
  for (const auto& g : detail.gates) facts.gates.push_back({g.name, g.passed, g.detail});
  for (const auto& d : detail.decisions)
    facts.decisions.push_back(
        {d.decided_at, d.reviewer, governance::DecisionKindName(d.kind), d.reason, d.waiver_expires_at.value_or("")});
  auto moves = governance::TargetHistory(db, r.target, r.environment);
  if (!moves) return Fail(moves.error());
  for (const auto& m : *moves)
    if (m.review_id == r.id)
      facts.pointer_moves.push_back({m.moved_at, m.pointer, m.environment, m.run_id, m.previous_run_id.value_or(""),
                                     m.target_version_hash, m.approvers});
  facts.evidence_json = detail.evidence.dump(2);
  return facts;
}

// The review named by the request, else the newest review of the run.
Result<std::optional<governance::ReviewDetail>> FindReview(store::Database& db, const std::string& review,
                                                           const store::RunInfo* run) {
  if (!review.empty()) {
    auto detail = governance::ShowReview(db, review);
    if (!detail) return Fail(detail.error());
    return std::optional<governance::ReviewDetail>(std::move(*detail));
  }
  governance::ReviewFilter filter;
  filter.target = run->target;
  auto reviews = governance::ListReviews(db, filter);
  if (!reviews) return Fail(reviews.error());
  for (const auto& r : *reviews) {
    if (r.run_id != run->id) continue;
    auto detail = governance::ShowReview(db, r.id);
    if (!detail) return Fail(detail.error());
    return std::optional<governance::ReviewDetail>(std::move(*detail));
  }
  return std::optional<governance::ReviewDetail>();
}

AuditFacts VerifyAuditChain(store::Database& db) {
  AuditFacts facts;
  auto report = governance::VerifyAudit(db);
  if (!report) {
    facts.message = report.error().message;
    return facts;
  }
  facts.checked = true;
  facts.ok = report->ok();
  facts.events = report->events;
  facts.first_bad_seq = report->first_bad_seq;
  facts.head_hash = report->head_hash;
  facts.message = report->message;
  return facts;
}

}  // namespace

Result<EvidencePack> GatherEvidence(store::Database& db, const EvidenceRequest& request) {
  if (request.run.empty() && request.review.empty())
    return Fail(ErrorKind::kInvalidInput, "an evidence pack needs a run id or a review id");
  EvidencePack pack;
  pack.generated_at = governance::FormatAuditTime(
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
  pack.generated_by = request.generated_by;

  std::optional<store::RunInfo> run;
  if (!request.run.empty()) {
    auto found = store::GetRun(db, request.run);
    if (!found) return Fail(found.error());
    run = std::move(*found);
  }
  std::optional<governance::ReviewDetail> review;
  if (!request.review.empty() || run) {
    auto found = FindReview(db, request.review, run ? &*run : nullptr);
    if (!found) return Fail(found.error());
    review = std::move(*found);
  }
  if (review && run && review->review.run_id != run->id)
    return Fail(ErrorKind::kInvalidInput, "review " + review->review.id.substr(0, 8) + " is about run " +
                                              review->review.run_id.substr(0, 8) + ", not run " + run->id.substr(0, 8));
  if (!run) {
    auto found = store::GetRun(db, review->review.run_id);
    if (!found) return Fail(found.error());
    run = std::move(*found);
  }
  auto candidate = LoadRunFacts(db, *run);
  if (!candidate) return Fail(candidate.error());
  pack.candidate = std::move(*candidate);

  // The comparison a review bound is the evidence (none for a first
  // sign-off); without a review, the latest stored one.
  std::optional<json> comparison;
  std::string comparison_sha256;
  if (review && review->comparison) {
    comparison = review->comparison;
    comparison_sha256 = Text(review->evidence, "comparison_sha256");
  } else if (!review) {
    auto latest = store::LatestComparisonFor(db, run->id);
    if (!latest) return Fail(latest.error());
    comparison = std::move(*latest);
  }
  std::string metric = "pass_rate";
  if (comparison) {
    pack.comparison = ToComparisonFacts(*comparison, comparison_sha256);
    if (!pack.comparison->primary_metric.empty()) metric = pack.comparison->primary_metric;
    auto baseline_run = store::GetRun(db, Text(*comparison, "baseline_run_id"));
    if (!baseline_run) return Fail(baseline_run.error());
    auto baseline = LoadRunFacts(db, *baseline_run);
    if (!baseline) return Fail(baseline.error());
    pack.baseline = std::move(*baseline);
    auto before = store::LoadResults(db, baseline_run->id, true);
    if (!before) return Fail(before.error());
    auto after = store::LoadResults(db, run->id, true);
    if (!after) return Fail(after.error());
    pack.cases = CompareCases(*before, *after, request.max_cases);
    if (auto s = DescribeCases(db, run->golden_set_version_id, pack.cases); !s) return Fail(s.error());
  }
  auto trends = Trends(db, request, pack.candidate, pack.baseline ? &*pack.baseline : nullptr, metric);
  if (!trends) return Fail(trends.error());
  pack.trends = std::move(*trends);
  if (review) {
    auto facts = LoadReview(db, *review);
    if (!facts) return Fail(facts.error());
    pack.review = std::move(*facts);
  }
  if (request.verify_audit)
    pack.audit = VerifyAuditChain(db);
  else
    pack.audit.message = "not requested";
  return pack;
}

}  // namespace dw::report
