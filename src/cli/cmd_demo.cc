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
metrics:
  textfile: DEMO_DIR/driftwatch.prom
)";

void Step(std::ostream& out, int n, const std::string& text) {
  out << "\n== " << n << ". " << text << " ==\n";
}

}  // namespace

int DemoCommand(const Args& args, std::ostream& out, std::ostream& err) {
  const std::string usage = "driftwatch demo [--goldenset FILE] [--dir DIR]";
  GlobalOptions global;
  std::string goldenset_file = "config/examples/faq.yaml", dir = ".driftwatch/demo";
  po::options_description desc("demo options");
  AddGlobalOptions(desc, global);
  desc.add_options()("goldenset", po::value(&goldenset_file)->default_value(goldenset_file), "golden set to publish")(
      "dir", po::value(&dir)->default_value(dir), "where the demo writes its metrics textfile");
  po::positional_options_description pos;
  po::variables_map vm;
  int code = 0;
  if (!ParseCommandLine(args, usage, desc, pos, vm, out, err, code)) return code;
  std::filesystem::create_directories(dir);
  std::string text = kDemoConfig;
  text.replace(text.find("DEMO_DIR"), 8, std::filesystem::absolute(dir).string());
  auto config = config::ParseConfig(text, "(demo config)");
  if (!config) return ReportError(err, config.error());
  if (!global.config_path.empty()) {
    auto user_config = config::LoadConfig(global.config_path);
    if (!user_config) return ReportError(err, user_config.error());
    config->database_url = user_config->database_url;
    config->data_dir = user_config->data_dir;
  }
  // Each person acts through their own context: the audit trail names them.
  auto as = [&](const std::string& user) {
    GlobalOptions o = global;
    o.user = user;
    o.quiet = true;
    auto ctx = std::make_unique<Context>(o, out, err);
    ctx->SetConfig(*config);
    return ctx;
  };
  auto engineer = as("maria.engineer");

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
    auto baseline = run(*engineer, "faq-bot");
    if (!baseline) return ReportError(err, baseline.error());
    PrintRunResult(*engineer, *baseline);

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
  auto rerun = run(*engineer, "faq-bot");
  if (!rerun) return ReportError(err, rerun.error());
  PrintRunResult(*engineer, *rerun);

  Step(out, 5, "A new prompt/model version (faq-bot-next) is replayed and compared with production's baseline");
  RunRequest next_request;
  next_request.goldenset = gs;
  next_request.target = "faq-bot-next";
  next_request.repeats = 2;
  next_request.no_compare = true;
  auto drifted = ExecuteRun(*engineer, next_request, nullptr);
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
  out << "Prometheus metrics of the last run: " << std::filesystem::absolute(dir).string() << "/driftwatch.prom\n";

  bool ok = verify->ok() && !rerun->critical_regression && drifted->critical_regression;
  out << "\nDemo " << (ok ? "complete: the unchanged re-run passed and the drifted version was flagged critical."
                          : "FAILED: the expected verdicts were not reached.")
      << "\nTry: ./build/driftwatch report --list | review list | target history faq-bot | audit verify\n";
  return ok ? kExitOk : kExitRuntimeFailure;
}

}  // namespace dw::cli
