#include <filesystem>
#include <iostream>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/context.h"
#include "cli/run_support.h"
#include "config/loader.h"
#include "goldenset/parser.h"
#include "goldenset/validate.h"
#include "governance/audit.h"
#include "governance/pointers.h"
#include "governance/review.h"
#include "metrics/exposition.h"
#include "report/gather.h"
#include "store/goldenset_repo.h"
#include "store/run_repo.h"

namespace po = boost::program_options;

namespace dw::cli {
namespace {

// Two versions of one support bot on the simulated model: the current one,
// and a "next" prompt/model whose accuracy dropped (the drift to catch).
constexpr const char* kDemoConfig = R"(targets:
  faq-bot:
    provider: sim
    model: sim-support-v1
    prompt: "You are a support agent. Answer the customer: {{question}}"
    sim: {accuracy: 0.93, latency_ms: 4, seed: 7}
    price: {input_per_mtok: 0.15, output_per_mtok: 0.60}
  faq-bot-next:
    provider: sim
    model: sim-support-v2
    prompt: "Answer briefly: {{question}}"
    sim: {accuracy: 0.82, refusal_rate: 0.02, latency_ms: 4, seed: 7}
    price: {input_per_mtok: 0.10, output_per_mtok: 0.40}
policies:
  default: {min_approvals: {production: 2}}
schedules:
  faq-every-5-minutes:
    cron: "*/5 * * * *"
    goldenset: faq
    targets: [faq-bot, faq-bot-next]
    repeat: 2
metrics:
  textfile: DEMO_DIR/driftwatch.prom
  listen: LISTEN
)";

// A Prometheus that scrapes the demo's `serve` and loads the shipped rules.
std::string PrometheusConfig(const std::string& listen, const std::filesystem::path& rules_dir) {
  std::string rules;
  if (std::filesystem::is_directory(rules_dir)) rules = "rule_files: ['" + (rules_dir / "driftwatch-*.yml").string() + "']\n";
  return "global: {scrape_interval: 15s, evaluation_interval: 15s}\n" + rules +
         "scrape_configs:\n"
         "  - job_name: driftwatch\n"
         "    static_configs: [{targets: ['" +
         listen + "']}]\n";
}

void Step(std::ostream& out, int n, const std::string& text) {
  out << "\n== " << n << ". " << text << " ==\n";
}

}  // namespace

int DemoCommand(const Args& args, std::ostream& out, std::ostream& err) {
  const std::string usage = "driftwatch demo [--goldenset FILE] [--dir DIR] [--serve [--listen HOST:PORT]]";
  GlobalOptions global;
  std::string goldenset_file = "config/examples/faq.yaml", dir = ".driftwatch/demo", listen = "127.0.0.1:9464";
  bool serve = false;
  po::options_description desc("demo options");
  AddGlobalOptions(desc, global);
  desc.add_options()("goldenset", po::value(&goldenset_file)->default_value(goldenset_file), "golden set to publish")(
      "dir", po::value(&dir)->default_value(dir), "where the demo writes its config, Prometheus config and metrics textfile")(
      "serve", po::bool_switch(&serve),
      "afterwards keep serving /metrics, the API and a 5-minute schedule until Ctrl-C")(
      "listen", po::value(&listen)->default_value(listen), "address of the service with --serve");
  po::positional_options_description pos;
  po::variables_map vm;
  int code = 0;
  if (!ParseCommandLine(args, usage, desc, pos, vm, out, err, code)) return code;
  std::filesystem::create_directories(dir);
  std::string text = kDemoConfig;
  const std::filesystem::path demo_dir = std::filesystem::absolute(dir);
  text.replace(text.find("DEMO_DIR"), 8, demo_dir.string());
  text.replace(text.find("LISTEN"), 6, nlohmann::json(listen).dump());
  if (!global.config_path.empty()) {
    auto user_config = config::LoadConfig(global.config_path);
    if (!user_config) return ReportError(err, user_config.error());
    nlohmann::json database = nlohmann::json::object();
    if (!user_config->database_url.empty()) database["url"] = user_config->database_url;
    if (!user_config->data_dir.empty()) database["data_dir"] = std::filesystem::absolute(user_config->data_dir);
    if (!database.empty()) text = "database: " + database.dump() + "\n" + text;
  }
  const std::filesystem::path config_file = demo_dir / "driftwatch.yaml";
  auto config = config::ParseConfig(text, config_file.string());
  if (!config) return ReportError(err, config.error());
  if (auto s = metrics::WriteFileAtomically(config_file, text); !s) return ReportError(err, s.error());
  // Each person acts through their own context: the audit trail names them.
  // The replays' context is quiet only with --quiet, so they show their
  // progress (a bar on a terminal, else a plain line per
  // DRIFTWATCH_PROGRESS_INTERVAL); the others keep set-up notes quiet.
  auto as = [&](const std::string& user, bool quiet = true) {
    GlobalOptions o = global;
    o.user = user;
    o.quiet = quiet || global.quiet;
    auto ctx = std::make_unique<Context>(o, out, err);
    ctx->SetConfig(*config);
    return ctx;
  };
  auto engineer = as("maria.engineer");
  auto replayer = as("maria.engineer", false);

  Step(out, 1, "Publish the golden set (versioned, content-hashed, immutable)");
  auto parsed = goldenset::LoadGoldenSet(goldenset_file);
  if (!parsed) return ReportError(err, parsed.error());
  if (parsed->set.name.empty()) parsed->set.name = goldenset::NameFromPath(goldenset_file);
  if (auto s = goldenset::NormalizeForPublish(parsed->set, goldenset_file); !s) return ReportError(err, s.error());
  auto db = engineer->Database();
  if (!db) return ReportError(err, db.error());
  auto published =
      store::PublishGoldenSet(**db, {parsed->set, parsed->format, goldenset_file, engineer->user()});
  if (!published) return ReportError(err, published.error());
  out << (published->created ? "published " : "already published as ") << published->name << "@"
      << published->version << ": " << published->case_count << " cases, manifest sha256 "
      << published->manifest_sha256.substr(0, 16) << "…\n";
  std::string gs = published->name + "@" + std::to_string(published->version);

  auto run = [&](Context& ctx, const std::string& target) -> Result<RunResult> {
    RunRequest request;
    request.goldenset = gs;
    request.target = target;
    request.repeats = 2;
    return ExecuteRun(ctx, request, nullptr);
  };

  auto existing = governance::CurrentBaseline(**db, published->name, "faq-bot", "production");
  if (!existing) return ReportError(err, existing.error());
  if (!*existing) {
    Step(out, 2, "Replay it against the current target (simulated model, 2 repeats) and store everything");
    auto baseline = run(*replayer, "faq-bot");
    if (!baseline) return ReportError(err, baseline.error());
    PrintRunResult(*replayer, *baseline);

    Step(out, 3, "Sign-off: maria requests a review; two other people approve the exact evidence");
    auto review_out = [&](Context& ctx) -> Result<governance::Review> {
      auto store_run = store::GetRun(**db, baseline->run_id);
      if (!store_run) return Fail(store_run.error());
      governance::ReviewRequest request;
      request.requested_by = ctx.user();
      request.golden_set = store_run->golden_set;
      request.golden_set_version = store_run->golden_set_version;
      request.target = store_run->target;
      request.target_version = store_run->target_version_hash;
      request.run_id = store_run->id;
      request.environment = "production";
      request.min_approvals = 2;
      request.tool_build = BuildId();
      request.note = "initial baseline for the support bot";
      return governance::RequestReview(**db, request);
    };
    auto review = review_out(*engineer);
    if (!review) return ReportError(err, review.error());
    out << "review " << review->id.substr(0, 8) << " opened; evidence sha256 " << review->evidence_sha256.substr(0, 16)
        << "…; needs " << review->min_approvals << " approvers\n";
    governance::DecisionInput self;
    self.review_id = review->id;
    self.reviewer = engineer->user();
    self.evidence_sha256 = review->evidence_sha256;
    auto refused = governance::Decide(**db, self);
    out << "maria.engineer tries to approve her own request: "
        << (refused ? "ACCEPTED (unexpected!)" : "refused: " + refused.error().message.substr(0, 110)) << "\n";
    for (const char* reviewer : {"ana.reviewer", "li.lead"}) {
      governance::DecisionInput approve = self;
      approve.reviewer = reviewer;
      auto decided = governance::Decide(**db, approve);
      if (!decided) return ReportError(err, decided.error());
      out << reviewer << " approved: review " << decided->status << " (" << decided->approvals << "/"
          << decided->min_approvals << ")\n";
    }
  } else {
    out << "\n(a signed-off baseline already exists from an earlier demo: run " << (*existing)->substr(0, 8) << ")\n";
  }

  Step(out, 4, "Scheduled re-run of the same target: compared with the baseline, no drift expected");
  auto rerun = run(*replayer, "faq-bot");
  if (!rerun) return ReportError(err, rerun.error());
  PrintRunResult(*replayer, *rerun);

  Step(out, 5, "A new prompt/model version (faq-bot-next) is replayed and compared with production's baseline");
  RunRequest next_request;
  next_request.goldenset = gs;
  next_request.target = "faq-bot-next";
  next_request.repeats = 2;
  next_request.no_compare = true;
  auto drifted = ExecuteRun(*replayer, next_request, nullptr);
  if (!drifted) return ReportError(err, drifted.error());
  auto baseline_id = governance::CurrentBaseline(**db, published->name, "faq-bot", "production");
  if (!baseline_id || !*baseline_id) return ReportError(err, {ErrorKind::kInternal, "the demo baseline is missing"});
  auto baseline_run = store::GetRun(**db, **baseline_id);
  auto candidate_run = store::GetRun(**db, drifted->run_id);
  if (!baseline_run || !candidate_run) return ReportError(err, {ErrorKind::kInternal, "demo runs are missing"});
  auto comparison = CompareAndStore(*engineer, *baseline_run, *candidate_run, false);
  if (!comparison) return ReportError(err, comparison.error());
  drifted->critical_regression =
      comparison->value("verdict", "") == "regressed" && comparison->value("severity", "") == "critical";
  drifted->comparison_text = comparison->value("table", "");
  drifted->comparison = *comparison;
  if (auto s = ExportRunMetrics(*engineer, *candidate_run, *drifted, ""); !s) return ReportError(err, s.error());
  PrintRunResult(*engineer, *drifted);
  out << "(`driftwatch run` exits with code 1 on such a critical regression, so cron and CI can act on it)\n";

  Step(out, 6, "Who moved what, and is the audit trail intact?");
  auto history = governance::TargetHistory(**db, "faq-bot");
  if (!history) return ReportError(err, history.error());
  for (const auto& e : *history) {
    std::string approvers;
    for (const auto& a : e.approvers) approvers += (approvers.empty() ? "" : ", ") + a;
    out << e.moved_at.substr(0, 19) << "  " << e.pointer << " (" << e.environment << ") → run "
        << e.run_id.substr(0, 8) << " via review " << e.review_id.substr(0, 8) << ", approved by " << approvers
        << "\n";
  }
  auto verify = governance::VerifyAudit(**db);
  if (!verify) return ReportError(err, verify.error());
  out << "audit verify: " << (verify->ok() ? "OK" : "BROKEN") << " (" << verify->events << " events, head #"
      << verify->last_seq << " " << verify->head_hash.substr(0, 16) << "…)\n";
  out << "Prometheus metrics of the last run: " << (demo_dir / "driftwatch.prom").string() << "\n";
  report::EvidenceRequest evidence_request;
  evidence_request.run = drifted->run_id;
  evidence_request.generated_by = BuildId();
  auto pack = report::GatherEvidence(**db, evidence_request);
  if (!pack) return ReportError(err, pack.error());
  const std::filesystem::path evidence_file = demo_dir / "evidence-faq-bot-next.html";
  if (auto s = metrics::WriteFileAtomically(evidence_file, report::RenderEvidenceHtml(*pack)); !s)
    return ReportError(err, s.error());
  out << "Evidence pack for reviewers of faq-bot-next: " << evidence_file.string() << "\n";

  bool ok = verify->ok() && !rerun->critical_regression && drifted->critical_regression;
  out << "\nDemo " << (ok ? "complete: the unchanged re-run passed and the drifted version was flagged critical."
                          : "FAILED: the expected verdicts were not reached.")
      << "\nTry: ./build/driftwatch report --list | review list | target history faq-bot | audit verify\n";
  if (!ok) return kExitRuntimeFailure;

  // The shipped rules, when the demo runs from a source checkout.
  const std::filesystem::path rules_dir = std::filesystem::absolute("config/prometheus");
  const std::filesystem::path prometheus_file = demo_dir / "prometheus.yml";
  if (auto s = metrics::WriteFileAtomically(prometheus_file, PrometheusConfig(listen, rules_dir)); !s)
    return ReportError(err, s.error());
  const std::string config_arg = " --config " + config_file.string();
  out << "\nThe stack:\n"
      << "  service    driftwatch serve" << config_arg << "   (/metrics, /healthz, API and the 5-minute schedule on " << listen
      << ";\n             or: driftwatch demo --dir " << dir << " --serve)\n"
      << "  Prometheus prometheus --config.file=" << prometheus_file.string() << " --storage.tsdb.path="
      << (demo_dir / "prometheus").string() << " --web.listen-address=127.0.0.1:9090\n"
      << "  Grafana    one docker run with dashboards/provisioning (docs/dashboards.md), then Driftwatch / Overview\n"
      << "  API token  driftwatch token create" << config_arg << " --name me --scopes read,run\n";
  if (!serve) return kExitOk;
  out << "\nServing on http://" << listen << " until Ctrl-C (SIGINT/SIGTERM drain and stop).\n" << std::flush;
  Args serve_args = {"--config", config_file.string(), "--workers", "1"};
  if (!global.database_url.empty()) serve_args.insert(serve_args.end(), {"--database-url", global.database_url});
  return ServeCommand(serve_args, out, err);
}

}  // namespace dw::cli
