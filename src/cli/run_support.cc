#include "cli/run_support.h"

#include <chrono>
#include <cmath>
#include <map>
#include <set>

#include "core/text_table.h"
#include "governance/pointers.h"
#include "metrics/drift_metrics.h"
#include "metrics/pushgateway.h"
#include "scoring/scorer.h"
#include "stats/compare_render.h"
#include "stats/control_chart.h"
#include "stats/rng.h"
#include "store/comparison_repo.h"
#include "store/goldenset_repo.h"

namespace dw::cli {
namespace {

constexpr const char* kRunLevelMetrics[] = {"pass_rate", "score"};

// Per-case, per-metric repeat values of one run.
struct RunValues {
  std::map<std::string, std::map<std::string, std::vector<double>>> numeric;  // metric -> case -> values
  std::map<std::string, std::vector<std::string>> text;                       // case -> outputs
};

RunValues Collect(const std::vector<ReplayResult>& results, const std::set<std::string>* keep) {
  RunValues v;
  for (const auto& r : results) {
    if (keep && !keep->count(r.case_id)) continue;
    if (IsInfrastructureFailure(r.outcome)) continue;  // missing, never a model failure
    v.numeric["pass_rate"][r.case_id].push_back(r.outcome == Outcome::kPass ? 1.0 : 0.0);
    if (r.score) v.numeric["score"][r.case_id].push_back(*r.score);
    for (const auto& s : r.scores)
      if (s.scorer.rfind("metric:", 0) == 0 && s.value) v.numeric[s.scorer][r.case_id].push_back(*s.value);
    if (r.latency_ms > 0) v.numeric["latency_ms"][r.case_id].push_back(r.latency_ms);
    if (r.output_tokens > 0) v.numeric["output_tokens"][r.case_id].push_back(static_cast<double>(r.output_tokens));
    if (r.cost_usd > 0) v.numeric["cost_usd"][r.case_id].push_back(r.cost_usd);
    v.text[r.case_id].push_back(r.output);
  }
  return v;
}

double RunLevelValue(const std::map<std::string, std::vector<double>>& per_case) {
  double sum = 0;
  size_t n = 0;
  for (const auto& [id, values] : per_case) {
    if (values.empty()) continue;
    double mean = 0;
    for (double x : values) mean += x;
    sum += mean / static_cast<double>(values.size());
    ++n;
  }
  return n == 0 ? std::nan("") : sum / static_cast<double>(n);
}

}  // namespace

std::string BuildId() { return std::string("driftwatch ") + DRIFTWATCH_VERSION; }

metrics::DriftMetricsOptions MetricsOptions() {
  metrics::DriftMetricsOptions options;
  options.build.version = DRIFTWATCH_VERSION;
  options.build.git_sha = DRIFTWATCH_GIT_SHA;
  return options;
}

nlohmann::json ScorerSpec(const config::Config& config) {
  nlohmann::json spec = {{"engine", std::string(scoring::kScoringVersion)}};
  if (!config.scorers.judge_target.empty()) {
    const auto& t = config.targets.at(config.scorers.judge_target);
    spec["judge"] = {{"target", t.name}, {"model", t.model}, {"version", t.VersionHash()}};
  }
  if (!config.scorers.embeddings_target.empty()) {
    const auto& t = config.targets.at(config.scorers.embeddings_target);
    spec["embeddings"] = {{"target", t.name}, {"model", t.model}, {"version", t.VersionHash()}};
  }
  return spec;
}

stats::Policy ToStatsPolicy(const config::PolicyConfig& p) {
  stats::Policy policy;
  policy.primary_metric = p.primary_metric;
  policy.alpha = p.alpha;
  policy.fdr_q = p.fdr_q;
  policy.delta_min = p.delta_min;
  policy.ni_margin = p.ni_margin;
  policy.min_cases = p.min_cases;
  policy.permutations = p.permutations;
  policy.bootstrap = p.bootstrap;
  return policy;
}

namespace {

// What two runs' scorers disagree on (core.scorer_version specs).
struct ScorerChange {
  bool engine = false;      // the scoring engine (build) or scorer name: every score may differ
  bool judge = false;       // the llm-rubric/factuality judge target
  bool embeddings = false;  // the `similar` embeddings target
  bool any() const { return engine || judge || embeddings; }
};

ScorerChange DiffScorers(const store::RunInfo& a, const store::RunInfo& b) {
  ScorerChange change;
  if (a.scorer_version_hash == b.scorer_version_hash && a.scorer_name == b.scorer_name) return change;
  auto part = [](const nlohmann::json& spec, const char* key) {
    return spec.is_object() && spec.contains(key) ? spec[key] : nlohmann::json();
  };
  change.engine = a.scorer_name != b.scorer_name || part(a.scorer_spec, "engine") != part(b.scorer_spec, "engine") ||
                  !a.scorer_spec.is_object() || !b.scorer_spec.is_object();
  change.judge = part(a.scorer_spec, "judge") != part(b.scorer_spec, "judge");
  change.embeddings = part(a.scorer_spec, "embeddings") != part(b.scorer_spec, "embeddings");
  // A difference outside the known parts still means different scorers.
  if (!change.any()) change.engine = true;
  return change;
}

// "engine driftwatch 0.1.0, judge gpt-4o (3f2a9c81d0e4)" for a scorer spec.
std::string DescribeScorer(const store::RunInfo& run) {
  if (!run.scorer_spec.is_object()) return "no recorded scorer";
  std::string text = "engine " + run.scorer_spec.value("engine", std::string("?"));
  for (const char* part : {"judge", "embeddings"}) {
    const auto it = run.scorer_spec.find(part);
    if (it == run.scorer_spec.end() || !it->is_object()) {
      text += std::string(", no ") + part;
      continue;
    }
    text += std::string(", ") + part + " " + it->value("target", std::string("?")) + " (" +
            it->value("model", std::string("")) + ", " + it->value("version", std::string("")).substr(0, 12) + ")";
  }
  return text;
}

std::string SetRef(const store::RunInfo& run) { return run.golden_set + "@" + std::to_string(run.golden_set_version); }

std::string JoinNotes(const std::vector<std::string>& notes) {
  std::string text;
  for (const auto& n : notes) text += (text.empty() ? "" : "; ") + n;
  return text;
}

}  // namespace

Result<ComparisonPlan> PlanComparison(Context& ctx, const store::RunInfo& baseline, const store::RunInfo& candidate,
                                      bool common_cases_only) {
  auto db = ctx.Database();
  if (!db) return Fail(db.error());
  if (baseline.id == candidate.id) return Fail(ErrorKind::kInvalidInput, "a run cannot be compared with itself");
  if (baseline.golden_set != candidate.golden_set)
    return Fail(ErrorKind::kInvalidInput, "runs replay different golden sets ('" + baseline.golden_set + "' and '" +
                                              candidate.golden_set + "'); nothing to pair");
  ComparisonPlan plan;
  const ScorerChange scorer = DiffScorers(baseline, candidate);
  if (scorer.engine) {
    plan.refusal = "the runs were scored by different scorer versions (baseline: " + DescribeScorer(baseline) +
                   "; candidate: " + DescribeScorer(candidate) +
                   "); every score may differ for reasons other than the target, so they are not compared, not even "
                   "with --common-cases. Replay the baseline's target with this scorer and sign that run off";
    plan.short_refusal = "baseline was scored by " + DescribeScorer(baseline) + ", this run by " +
                         DescribeScorer(candidate) + "; re-baseline with this scorer to compare";
    return plan;
  }
  auto candidate_cases = store::LoadCases(**db, candidate.golden_set_version_id);
  if (!candidate_cases) return Fail(candidate_cases.error());
  plan.cases = std::move(candidate_cases->cases);
  if (baseline.golden_set_version_id != candidate.golden_set_version_id) {
    if (!common_cases_only) {
      plan.refusal = "the runs replay different golden-set versions (" + SetRef(baseline) + " and @" +
                     std::to_string(candidate.golden_set_version) +
                     "); a paired comparison needs the same cases. Re-run the baseline on the new version, or pass "
                     "--common-cases to compare only cases whose content is unchanged";
      plan.short_refusal = "baseline is " + SetRef(baseline) + ", this run is " + SetRef(candidate) +
                           "; pass --common-cases to compare the unchanged cases";
      return plan;
    }
    auto baseline_cases = store::LoadCases(**db, baseline.golden_set_version_id);
    if (!baseline_cases) return Fail(baseline_cases.error());
    std::map<std::string, std::string> before;
    for (const auto& c : baseline_cases->cases) before[c.id] = c.ContentHash();
    std::set<std::string> common;
    for (const auto& c : plan.cases)
      if (auto it = before.find(c.id); it != before.end() && it->second == c.ContentHash()) common.insert(c.id);
    plan.notes.push_back("compared only the " + std::to_string(common.size()) + " cases unchanged between " +
                         SetRef(baseline) + " and @" + std::to_string(candidate.golden_set_version));
    plan.keep = std::move(common);
  }
  if (scorer.judge || scorer.embeddings) {
    // Only cases graded by the changed model are affected; deterministic
    // assertions score the same under both.
    std::set<std::string> affected, kept;
    for (const auto& c : plan.cases) {
      if (plan.keep && !plan.keep->count(c.id)) continue;
      auto compiled = scoring::CompiledAssertions::Compile(c);
      bool uses =
          !compiled || (scorer.judge && compiled->NeedsJudge()) || (scorer.embeddings && compiled->NeedsEmbeddings());
      (uses ? affected : kept).insert(c.id);
    }
    const std::string what = scorer.judge && scorer.embeddings ? "judge and embeddings model"
                             : scorer.judge                    ? "judge"
                                                               : "embeddings model";
    if (!affected.empty() && !common_cases_only) {
      plan.refusal = "the runs were scored with a different " + what + " (baseline: " + DescribeScorer(baseline) +
                     "; candidate: " + DescribeScorer(candidate) + "); " + std::to_string(affected.size()) +
                     " cases are graded by it. Pass --common-cases to compare only "
                     "the " +
                     std::to_string(kept.size()) + " cases it does not grade, or re-baseline with this scorer";
      plan.short_refusal = "baseline and this run use a different " + what + " for " + std::to_string(affected.size()) +
                           " cases; pass --common-cases to compare the " + std::to_string(kept.size()) +
                           " cases it does not grade";
      return plan;
    }
    if (affected.empty()) {
      plan.notes.push_back("the scorer versions differ only in the " + what +
                           ", which none of the compared cases uses");
    } else {
      plan.notes.push_back("compared only the " + std::to_string(kept.size()) + " cases not graded by the " + what +
                           ", which differs between the runs (" + std::to_string(affected.size()) + " cases left out)");
      plan.keep = std::move(kept);
    }
  }
  return plan;
}

Result<nlohmann::json> CompareAndStore(Context& ctx, const store::RunInfo& baseline, const store::RunInfo& candidate,
                                       bool common_cases_only) {
  auto plan = PlanComparison(ctx, baseline, candidate, common_cases_only);
  if (!plan) return Fail(plan.error());
  if (!plan->refusal.empty()) return Fail(ErrorKind::kConflict, plan->refusal);
  return CompareAndStore(ctx, baseline, candidate, *plan);
}

Result<nlohmann::json> CompareAndStore(Context& ctx, const store::RunInfo& baseline, const store::RunInfo& candidate,
                                       const ComparisonPlan& plan) {
  auto db = ctx.Database();
  if (!db) return Fail(db.error());
  auto cfg = ctx.Config();
  if (!cfg) return Fail(cfg.error());
  if (!plan.refusal.empty()) return Fail(ErrorKind::kConflict, plan.refusal);
  const std::string note = JoinNotes(plan.notes);
  auto base_results = store::LoadResults(**db, baseline.id, true);
  if (!base_results) return Fail(base_results.error());
  auto cand_results = store::LoadResults(**db, candidate.id, true);
  if (!cand_results) return Fail(cand_results.error());
  const std::set<std::string>* keep = plan.keep ? &*plan.keep : nullptr;
  RunValues b = Collect(*base_results, keep), c = Collect(*cand_results, keep);

  stats::ComparisonInput input;
  std::vector<std::string> metric_names;
  auto add_metric = [&](const std::string& name, stats::MetricKind kind, double log_offset) {
    if (!b.numeric.count(name) && !c.numeric.count(name)) return;
    stats::MetricSpec spec;
    spec.name = name.rfind("metric:", 0) == 0 ? name.substr(7) : name;
    spec.kind = kind;
    spec.log_offset = log_offset;
    input.metrics.push_back(spec);
    metric_names.push_back(name);
  };
  add_metric("pass_rate", stats::MetricKind::kBinary, 0);
  add_metric("score", stats::MetricKind::kContinuous, 0);
  for (const auto& [name, values] : c.numeric)
    if (name.rfind("metric:", 0) == 0 && b.numeric.count(name)) add_metric(name, stats::MetricKind::kContinuous, 0);
  add_metric("latency_ms", stats::MetricKind::kPositiveRatio, 0);
  add_metric("output_tokens", stats::MetricKind::kPositiveRatio, 1);
  add_metric("cost_usd", stats::MetricKind::kPositiveRatio, 1e-9);
  stats::MetricSpec text;
  text.name = "output_text";
  text.kind = stats::MetricKind::kTextChange;
  input.metrics.push_back(text);

  std::set<std::string> groups;
  for (const auto& gc : plan.cases) {
    if (keep && !keep->count(gc.id)) continue;
    stats::CaseRecord record;
    record.id = gc.id;
    record.cluster = gc.group;
    if (!gc.group.empty()) groups.insert(gc.group);
    for (const auto& t : gc.tags)
      if (t != "all") record.tags.push_back(t);
    std::sort(record.tags.begin(), record.tags.end());
    record.tags.erase(std::unique(record.tags.begin(), record.tags.end()), record.tags.end());
    for (const auto& name : metric_names) {
      stats::MetricObservations obs;
      if (auto it = b.numeric.find(name); it != b.numeric.end())
        if (auto jt = it->second.find(gc.id); jt != it->second.end()) obs.baseline = jt->second;
      if (auto it = c.numeric.find(name); it != c.numeric.end())
        if (auto jt = it->second.find(gc.id); jt != it->second.end()) obs.candidate = jt->second;
      record.metrics.push_back(std::move(obs));
    }
    stats::MetricObservations text_obs;
    if (auto it = b.text.find(gc.id); it != b.text.end()) text_obs.baseline_text = it->second;
    if (auto it = c.text.find(gc.id); it != c.text.end()) text_obs.candidate_text = it->second;
    record.metrics.push_back(std::move(text_obs));
    input.cases.push_back(std::move(record));
  }
  const std::string policy_name =
      candidate.settings.is_object() ? candidate.settings.value("policy", std::string()) : std::string();
  auto policy_config = (*cfg)->PolicyForRun(candidate.golden_set, policy_name);
  if (!policy_config)
    return Fail(ErrorKind::kInvalidInput, "run " + candidate.id.substr(0, 8) + " is to be compared under policy '" +
                                              policy_name + "', which " + (*cfg)->path +
                                              " no longer defines; defined policies: " + (*cfg)->PolicyNames());
  stats::Policy policy = ToStatsPolicy(*policy_config);
  std::uint64_t seed = stats::SeedForComparison(baseline.id, candidate.id);
  auto compared = stats::Compare(input, policy, seed);
  if (!compared) return Fail(compared.error());
  nlohmann::json j = stats::ComparisonToJson(*compared);
  j["baseline_run_id"] = baseline.id;
  j["candidate_run_id"] = candidate.id;
  j["golden_set"] = candidate.golden_set;
  j["golden_set_version"] = candidate.golden_set_version;
  j["baseline_target"] = baseline.target;
  j["candidate_target"] = candidate.target;
  j["common_cases_only"] = plan.keep.has_value();
  // Cases sharing a group are resampled and flipped as one cluster.
  j["clustered"] = !groups.empty();
  j["groups"] = groups.size();
  j["policy"]["name"] = policy_config->name;
  if (!note.empty()) j["note"] = note;
  store::ComparisonRecord record;
  record.baseline_run_id = baseline.id;
  record.candidate_run_id = candidate.id;
  record.common_cases_only = plan.keep.has_value();
  record.verdict = stats::VerdictName(compared->verdict);
  record.severity = stats::SeverityName(compared->severity);
  record.seed = stats::SeedHex(seed);
  record.policy = policy.ToJson();
  record.policy["name"] = policy_config->name;
  record.result = j;
  record.computed_by = BuildId();
  record.created_by = ctx.user();
  auto id = store::SaveComparison(**db, record);
  if (!id) return Fail(id.error());
  j["comparison_id"] = *id;
  j["table"] = stats::RenderComparisonTable(*compared);
  return j;
}

Status UpdateDriftSeries(Context& ctx, const store::RunInfo& candidate, const std::string& baseline_run_id) {
  auto db = ctx.Database();
  if (!db) return Fail(db.error());
  auto cand = store::LoadResults(**db, candidate.id, false);
  if (!cand) return Fail(cand.error());
  auto base = store::LoadResults(**db, baseline_run_id, false);
  if (!base) return Fail(base.error());
  RunValues c = Collect(*cand, nullptr), b = Collect(*base, nullptr);
  for (const char* metric : kRunLevelMetrics) {
    if (!c.numeric.count(metric)) continue;
    double value = RunLevelValue(c.numeric[metric]);
    auto last = store::LatestDriftPoint(**db, candidate.golden_set, candidate.target, metric);
    if (!last) return Fail(last.error());
    stats::DetectorState state;
    bool rebaseline = !*last || (*last)->baseline_run_id != baseline_run_id;
    if (!rebaseline) {
      auto parsed = stats::DetectorStateFromJson((*last)->state);
      if (!parsed) rebaseline = true;
      else state = *parsed;
    }
    if (rebaseline) {
      stats::DetectorConfig config;
      std::vector<std::vector<double>> repeats;
      for (const auto& [id, values] : b.numeric[metric]) repeats.push_back(values);
      state = stats::Rebaseline(config, RunLevelValue(b.numeric[metric]), stats::ReplicateSigma(repeats));
    }
    state = stats::Update(state, value);
    store::DriftPoint point;
    point.run_id = candidate.id;
    point.golden_set = candidate.golden_set;
    point.target = candidate.target;
    point.metric = metric;
    if (std::isfinite(value)) point.value = value;
    point.baseline_run_id = baseline_run_id;
    point.cusum_upper = state.cusum_upper;
    point.cusum_lower = state.cusum_lower;
    point.ewma = state.ewma;
    point.in_alarm = state.in_alarm;
    point.runs_in_alarm = state.consecutive_alarm_runs;
    point.state = stats::DetectorStateToJson(state);
    if (auto s = store::SaveDriftPoint(**db, point); !s) return s;
  }
  return Ok();
}

Status CompareWithBaseline(Context& ctx, const store::RunInfo& candidate, bool common_cases_only, RunResult& result) {
  auto db = ctx.Database();
  if (!db) return Fail(db.error());
  auto baseline_id = governance::CurrentBaseline(**db, candidate.golden_set, candidate.target, "production");
  if (!baseline_id) return Fail(baseline_id.error());
  if (!*baseline_id || **baseline_id == candidate.id) return Ok();
  auto baseline = store::GetRun(**db, **baseline_id);
  if (!baseline) return Fail(baseline.error());
  auto plan = PlanComparison(ctx, *baseline, candidate, common_cases_only);
  if (!plan) return Fail(plan.error());
  if (!plan->refusal.empty()) {
    // The run stands on its own; only its comparison is refused.
    result.comparison_skipped = plan->short_refusal;
    return Ok();
  }
  auto compared = CompareAndStore(ctx, *baseline, candidate, *plan);
  if (!compared) return Fail(compared.error());
  if (auto s = UpdateDriftSeries(ctx, candidate, baseline->id); !s) return s;
  result.critical_regression = compared->value("severity", "") == "critical" &&
                               compared->value("verdict", "") == "regressed";
  result.comparison_text = compared->value("table", "");
  result.comparison = std::move(*compared);
  return Ok();
}

Status RecordRunMetrics(Context& ctx, metrics::DriftMetrics& drift, const store::RunInfo& run,
                        const RunResult& result) {
  metrics::RunObservation obs;
  obs.golden_set = run.golden_set;
  obs.golden_set_version = std::to_string(run.golden_set_version);
  obs.target = run.target;
  obs.target_version = run.target_version_hash.substr(0, 12);
  obs.success = !result.cancelled;
  obs.finished_at = std::chrono::duration_cast<std::chrono::seconds>(
                        std::chrono::system_clock::now().time_since_epoch())
                        .count();
  obs.duration_seconds = result.duration_seconds;
  for (Outcome o : kAllOutcomes) obs.outcome_counts[o] = static_cast<std::int64_t>(result.summary.count(o));
  auto summary = result.summary.ToJson(result.duration_seconds);
  obs.input_tokens = summary.value("input_tokens", 0LL);
  obs.output_tokens = summary.value("output_tokens", 0LL);
  obs.cost_usd = summary.value("cost_usd", 0.0);
  if (auto s = drift.Record(obs); !s) return s;
  // One series per metric x slice of the comparison, else the run's level.
  auto to_verdict = [](const std::string& v) {
    return metrics::ParseVerdict(v == "changed" ? "unchanged" : v).value_or(metrics::Verdict::kInsufficientData);
  };
  if (result.comparison && result.comparison->contains("metrics")) {
    for (const auto& row : (*result.comparison)["metrics"]) {
      if (!row.value("n", 0) || !row["candidate"].is_number()) continue;
      metrics::MetricObservation m;
      m.golden_set = obs.golden_set;
      m.golden_set_version = obs.golden_set_version;
      m.target = obs.target;
      m.target_version = obs.target_version;
      m.metric = row.value("metric", "");
      m.slice = row.value("slice", "all");
      m.value = row["candidate"].get<double>();
      auto num = [&](const char* k) -> std::optional<double> {
        return row.contains(k) && row[k].is_number() ? std::optional<double>(row[k].get<double>()) : std::nullopt;
      };
      m.ci_low = num("candidate_ci_low");
      m.ci_high = num("candidate_ci_high");
      m.baseline = num("baseline");
      m.delta = num("delta");
      m.delta_ci_low = num("ci_low");
      m.delta_ci_high = num("ci_high");
      m.p_value = num("p_value");
      m.q_value = num("q_value");
      m.verdict = to_verdict(row.value("verdict", "insufficient_data"));
      m.severity = metrics::ParseSeverity(row.value("severity", "none")).value_or(metrics::Severity::kNone);
      if (m.slice == "all") {
        auto db = ctx.Database();
        if (db) {
          auto point = store::LatestDriftPoint(**db, run.golden_set, run.target, m.metric);
          if (point && *point && (*point)->run_id == run.id) {
            m.cusum_upper = (*point)->cusum_upper;
            m.cusum_lower = (*point)->cusum_lower;
            m.ewma = (*point)->ewma;
            m.runs_in_alarm = (*point)->runs_in_alarm;
          }
        }
      }
      if (auto s = drift.Record(m); !s) return s;
    }
  } else if (result.summary.scored() > 0) {
    metrics::MetricObservation m;
    m.golden_set = obs.golden_set;
    m.golden_set_version = obs.golden_set_version;
    m.target = obs.target;
    m.target_version = obs.target_version;
    m.metric = "pass_rate";
    m.value = result.summary.pass_rate();
    auto ci = summary["pass_rate_ci95"];
    if (ci.is_array() && ci.size() == 2 && ci[0].is_number() && ci[1].is_number()) {
      m.ci_low = ci[0].get<double>();
      m.ci_high = ci[1].get<double>();
    }
    if (auto s = drift.Record(m); !s) return s;
  }
  return Ok();
}

Status ExportRunMetrics(Context& ctx, const store::RunInfo& run, const RunResult& result,
                        const std::string& push_url) {
  auto cfg = ctx.Config();
  if (!cfg) return Fail(cfg.error());
  metrics::DriftMetrics drift(MetricsOptions());
  if (auto s = RecordRunMetrics(ctx, drift, run, result); !s) return s;
  if (!(*cfg)->metrics.textfile_path.empty()) {
    if (auto s = drift.WriteTextfile((*cfg)->metrics.textfile_path); !s) return s;
  }
  std::string url = push_url.empty() ? (*cfg)->metrics.pushgateway_url : push_url;
  if (!url.empty()) {
    metrics::PushTarget target;
    target.url = url;
    target.job = "driftwatch";
    if (auto s = drift.Push(target); !s) return s;
  }
  return Ok();
}

void PrintRunResult(Context& ctx, const RunResult& result) {
  if (ctx.format() == OutputFormat::kJson) {
    nlohmann::json j = {{"run_id", result.run_id},
                        {"golden_set", result.golden_set},
                        {"target", result.target},
                        {"status", result.cancelled ? "cancelled" : "done"},
                        {"summary", result.summary.ToJson(result.duration_seconds)},
                        {"budget_exhausted", result.budget_exhausted}};
    if (result.comparison) {
      nlohmann::json c = *result.comparison;
      c.erase("table");
      j["comparison"] = c;
      j["verdict"] = c.value("verdict", "");
    }
    if (!result.comparison_skipped.empty()) j["not_compared"] = result.comparison_skipped;
    if (!result.export_error.empty()) j["export_error"] = result.export_error;
    ctx.out() << j.dump(2) << "\n";
    return;
  }
  ctx.out() << "run         " << result.run_id << (result.cancelled ? " (cancelled: resume with --resume)" : "")
            << "\ngolden set  " << result.golden_set << "\ntarget      " << result.target << "\n"
            << result.summary.ToText(result.duration_seconds);
  if (result.budget_exhausted) ctx.out() << "budget      exhausted: remaining cases recorded as budget_exceeded\n";
  if (!result.export_error.empty()) ctx.out() << "metrics     not exported: " << result.export_error << "\n";
  if (result.comparison) {
    ctx.out() << "\ncompared with baseline run " << result.comparison->value("baseline_run_id", "").substr(0, 8)
              << ": verdict " << result.comparison->value("verdict", "") << " (severity "
              << result.comparison->value("severity", "") << ")\n";
    if (result.comparison->contains("note"))
      ctx.out() << "note: " << (*result.comparison)["note"].get<std::string>() << "\n";
    ctx.out() << result.comparison_text;
  } else if (!result.comparison_skipped.empty()) {
    ctx.out() << "\nnot compared: " << result.comparison_skipped << "\n";
  } else {
    ctx.out() << "\nno signed-off baseline for this golden set and target yet: nothing compared\n";
  }
}

}  // namespace dw::cli
