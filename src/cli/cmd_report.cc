#include <iostream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/context.h"
#include "cli/run_support.h"
#include "core/text_table.h"
#include "metrics/exposition.h"
#include "replay/summary.h"
#include "report/evidence.h"
#include "report/gather.h"
#include "report/junit.h"
#include "store/comparison_repo.h"
#include "store/run_repo.h"

namespace po = boost::program_options;

namespace dw::cli {
namespace {

std::string Truncate(const std::string& s, size_t n) {
  std::string flat;
  for (char c : s) flat += (c == '\n' || c == '\t') ? ' ' : c;
  return flat.size() <= n ? flat : flat.substr(0, n) + "…";
}

// `driftwatch report --format html`: the evidence pack of a run or review,
// to `out_path` (written atomically) or standard output.
int WriteEvidencePack(Context& ctx, const std::string& run_ref, const std::string& review_ref, int max_cases,
                      const std::string& out_path) {
  auto db = ctx.Database();
  if (!db) return ReportError(ctx.err(), db.error());
  report::EvidenceRequest request;
  request.run = run_ref;
  request.review = review_ref;
  request.max_cases = static_cast<size_t>(max_cases);
  request.generated_by = BuildId();
  auto pack = report::GatherEvidence(**db, request);
  if (!pack) return ReportError(ctx.err(), pack.error());
  std::string page = report::RenderEvidenceHtml(*pack);
  if (out_path.empty()) {
    ctx.out() << page;
    return kExitOk;
  }
  if (auto s = metrics::WriteFileAtomically(out_path, page); !s) return ReportError(ctx.err(), s.error());
  ctx.out() << "evidence pack for run " << pack->candidate.id.substr(0, 8) << " written to " << out_path << " ("
            << (page.size() + 1023) / 1024 << " KiB): "
            << (pack->comparison
                    ? "verdict " + pack->comparison->verdict + " (severity " + pack->comparison->severity + ")"
                    : std::string("no baseline comparison"))
            << (pack->review ? ", review " + pack->review->id.substr(0, 8) + " " + pack->review->status
                             : std::string(", no review"))
            << "\n";
  return kExitOk;
}

}  // namespace

int ReportCommand(const Args& args, std::ostream& out, std::ostream& err) {
  const std::string usage = "driftwatch report RUN [--format table|json|junit] [--failures N]\n"
                            "       driftwatch report RUN --format html [--review ID] [--cases N] [-o FILE]\n"
                            "       driftwatch report --review ID --format html [--cases N] [-o FILE]\n"
                            "       driftwatch report --list [--goldenset NAME] [--target NAME]";
  GlobalOptions global;
  std::string run_ref, gs_filter, target_filter, review_ref, out_path;
  bool list = false;
  int max_failures = 20, max_cases = 50;
  po::options_description desc("report options");
  AddGlobalOptions(desc, global);
  desc.add_options()("run", po::value(&run_ref), "run id or unique prefix")(
      "list", po::bool_switch(&list), "list recent runs")("goldenset", po::value(&gs_filter), "filter for --list")(
      "target", po::value(&target_filter), "filter for --list")(
      "failures", po::value(&max_failures)->default_value(20), "failing cases to show in table format")(
      "review", po::value(&review_ref), "html: the review to document (default: the run's newest review)")(
      "cases", po::value(&max_cases)->default_value(50), "html: regressed cases shown side by side")(
      "out,o", po::value(&out_path), "html: write the evidence pack to this file (default: standard output)");
  po::positional_options_description pos;
  pos.add("run", 1);
  po::variables_map vm;
  int code = 0;
  if (!ParseCommandLine(args, usage, desc, pos, vm, out, err, code)) return code;
  bool junit = global.format == "junit", html = global.format == "html";
  if (junit || html) global.format = "table";
  if (global.format != "table" && global.format != "json") {
    err << "driftwatch: --format must be table, json, junit or html (got '" << global.format << "')\n";
    return kExitBadInput;
  }
  if (!html && (!review_ref.empty() || !out_path.empty() || !vm["cases"].defaulted())) {
    err << "driftwatch: --review, --cases and --out are options of --format html\nusage: " << usage << "\n";
    return kExitBadInput;
  }
  if (html && (list || (run_ref.empty() && review_ref.empty()) || max_cases < 0)) {
    err << "driftwatch: --format html needs a RUN id or --review ID (and --cases >= 0)\nusage: " << usage << "\n";
    return kExitBadInput;
  }
  Context ctx(global, out, err);
  if (html) return WriteEvidencePack(ctx, run_ref, review_ref, max_cases, out_path);
  auto db = ctx.Database();
  if (!db) return ReportError(err, db.error());
  if (list) {
    auto runs = store::ListRuns(**db, gs_filter, target_filter, 50);
    if (!runs) return ReportError(err, runs.error());
    if (ctx.format() == OutputFormat::kJson) {
      nlohmann::json arr = nlohmann::json::array();
      for (const auto& r : *runs)
        arr.push_back({{"run_id", r.id}, {"golden_set", r.golden_set}, {"version", r.golden_set_version},
                       {"target", r.target}, {"status", r.status}, {"created_at", r.created_at},
                       {"pass_rate", r.summary.is_object() ? r.summary.value("pass_rate", nlohmann::json()) : nullptr}});
      out << arr.dump(2) << "\n";
    } else {
      TextTable table({"RUN", "GOLDEN SET", "TARGET", "STATUS", "PASS RATE", "RESULTS", "CREATED"});
      for (const auto& r : *runs) {
        std::string rate = r.summary.is_object() && r.summary["pass_rate"].is_number()
                               ? FormatFixed(100 * r.summary["pass_rate"].get<double>(), 1) + "%"
                               : "-";
        std::string n = r.summary.is_object() ? std::to_string(r.summary.value("results", 0)) : "-";
        table.AddRow({r.id.substr(0, 8), r.golden_set + "@" + std::to_string(r.golden_set_version), r.target,
                      r.status, rate, n, r.created_at});
      }
      out << table.Render();
    }
    return kExitOk;
  }
  if (run_ref.empty()) {
    err << "driftwatch: report needs a RUN id (or --list)\nusage: " << usage << "\n";
    return kExitBadInput;
  }
  auto run = store::GetRun(**db, run_ref);
  if (!run) return ReportError(err, run.error());
  auto results = store::LoadResults(**db, run->id, true);
  if (!results) return ReportError(err, results.error());
  replay::RunSummary summary;
  for (const auto& r : *results) summary.Add(r);
  double duration = run->summary.is_object() ? run->summary.value("duration_seconds", 0.0) : 0.0;
  auto comparison = store::LatestComparisonFor(**db, run->id);
  if (!comparison) return ReportError(err, comparison.error());
  if (junit) {
    out << report::RenderJunit(*run, *results);
    return kExitOk;
  }
  if (ctx.format() == OutputFormat::kJson) {
    nlohmann::json j = {{"run_id", run->id},
                        {"golden_set", run->golden_set},
                        {"golden_set_version", run->golden_set_version},
                        {"manifest_sha256", run->manifest_sha256},
                        {"target", run->target},
                        {"target_version", run->target_version_hash},
                        {"model", run->target_model},
                        {"status", run->status},
                        {"repeats", run->repeats},
                        {"requested_by", run->requested_by},
                        {"created_at", run->created_at},
                        {"finished_at", run->finished_at},
                        {"summary", summary.ToJson(duration)}};
    nlohmann::json cases = nlohmann::json::array();
    for (const auto& r : *results) {
      nlohmann::json c = {{"case_id", r.case_id}, {"repeat", r.repeat}, {"outcome", OutcomeName(r.outcome)},
                          {"score", r.score ? nlohmann::json(*r.score) : nlohmann::json()},
                          {"output", r.output}, {"latency_ms", r.latency_ms}, {"request_sha256", r.request_hash},
                          {"input_tokens", r.input_tokens}, {"output_tokens", r.output_tokens},
                          {"cost_usd", r.cost_usd}, {"attempts", r.attempts}, {"provider_model", r.provider_model},
                          {"fingerprint", r.fingerprint}, {"finish_reason", r.finish_reason},
                          {"error_detail", r.error_detail}};
      nlohmann::json scores = nlohmann::json::array();
      for (const auto& s : r.scores)
        scores.push_back({{"scorer", s.scorer}, {"value", s.value ? nlohmann::json(*s.value) : nlohmann::json()},
                          {"passed", s.passed ? nlohmann::json(*s.passed) : nlohmann::json()},
                          {"weight", s.weight}, {"reason", s.reason}});
      c["scores"] = scores;
      cases.push_back(std::move(c));
    }
    j["results"] = cases;
    if (*comparison) j["comparison"] = **comparison;
    out << j.dump(2) << "\n";
    return kExitOk;
  }
  out << "run         " << run->id << " (" << run->status << ")\n"
      << "golden set  " << run->golden_set << "@" << run->golden_set_version << "  manifest "
      << run->manifest_sha256.substr(0, 16) << "…\n"
      << "target      " << run->target << "  model " << run->target_model << "  version "
      << run->target_version_hash.substr(0, 12) << "\n"
      << "requested   " << run->created_at << " by " << run->requested_by << "\n"
      << summary.ToText(duration);
  TextTable failing({"CASE", "REPEAT", "OUTCOME", "WHY", "OUTPUT"});
  for (const auto& r : *results) {
    if (r.outcome == Outcome::kPass || static_cast<int>(failing.size()) >= max_failures) continue;
    std::string why = r.error_detail;
    for (const auto& s : r.scores)
      if (s.passed && !*s.passed && why.empty()) why = s.scorer + ": " + s.reason;
    failing.AddRow({r.case_id, std::to_string(r.repeat), std::string(OutcomeName(r.outcome)), Truncate(why, 50),
                    Truncate(r.output, 40)});
  }
  if (failing.size() > 0) out << "\nnot passing (first " << failing.size() << "):\n" << failing.Render();
  if (*comparison)
    out << "\nlatest comparison: verdict " << (**comparison).value("verdict", "") << " (severity "
        << (**comparison).value("severity", "") << ") against baseline run "
        << (**comparison).value("baseline_run_id", "").substr(0, 8) << "\n";
  return kExitOk;
}

}  // namespace dw::cli
