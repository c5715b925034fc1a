#include <charconv>
#include <chrono>
#include <ctime>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "cli/commands.h"
#include "cli/context.h"
#include "cli/run_support.h"
#include "core/text_table.h"
#include "governance/audit.h"
#include "governance/checkpoint.h"
#include "governance/pointers.h"
#include "governance/review.h"
#include "store/comparison_repo.h"
#include "store/run_repo.h"

namespace po = boost::program_options;

namespace dw::cli {
namespace {

nlohmann::json ReviewJson(const governance::Review& r) {
  return {{"id", r.id},
          {"golden_set", r.golden_set + "@" + std::to_string(r.golden_set_version)},
          {"target", r.target},
          {"target_version", r.target_version_hash},
          {"environment", r.environment},
          {"run_id", r.run_id},
          {"baseline_run_id", r.baseline_run_id ? nlohmann::json(*r.baseline_run_id) : nlohmann::json()},
          {"requested_by", r.requested_by},
          {"requested_at", r.requested_at},
          {"status", r.status},
          {"approvals", r.approvals},
          {"min_approvals", r.min_approvals},
          {"gates_passed", r.gates_passed},
          {"evidence_sha256", r.evidence_sha256}};
}

// "2026-12-01", "2026-12-01T10:00:00Z" (years 1970 to 2200) or "7d" / "12h"
// from now (at most 100 years).
Result<std::chrono::system_clock::time_point> ParseExpiry(const std::string& text) {
  auto now = std::chrono::system_clock::now();
  const auto invalid = Fail(ErrorKind::kInvalidInput,
                            "--expires must be YYYY-MM-DD, YYYY-MM-DDTHH:MM:SSZ (1970 to 2200), Nd or Nh (at most 100 "
                            "years)");
  if (!text.empty() && (text.back() == 'd' || text.back() == 'h')) {
    const char* last = text.data() + text.size() - 1;
    long long n = 0;
    auto [end, ec] = std::from_chars(text.data(), last, n);
    if (ec == std::errc() && end == last && n > 0 && n <= (text.back() == 'd' ? 36525 : 24 * 36525))
      return now + std::chrono::hours(text.back() == 'd' ? 24 * n : n);
  }
  std::tm tm{};
  std::istringstream in(text);
  in >> std::get_time(&tm, text.size() > 10 ? "%Y-%m-%dT%H:%M:%S" : "%Y-%m-%d");
  if (in.fail() || tm.tm_year + 1900 < 1970 || tm.tm_year + 1900 > 2200) return invalid;
  return std::chrono::system_clock::from_time_t(timegm(&tm));
}

int ReviewRequestCmd(Context& ctx, const std::string& run_ref, const std::string& env, const std::string& note) {
  auto db = ctx.Database();
  if (!db) return ReportError(ctx.err(), db.error());
  auto cfg = ctx.Config();
  if (!cfg) return ReportError(ctx.err(), cfg.error());
  auto run = store::GetRun(**db, run_ref);
  if (!run) return ReportError(ctx.err(), run.error());
  governance::ReviewRequest request;
  request.requested_by = ctx.user();
  request.golden_set = run->golden_set;
  request.golden_set_version = run->golden_set_version;
  request.target = run->target;
  request.target_version = run->target_version_hash;
  request.run_id = run->id;
  request.environment = env;
  auto policy = (*cfg)->PolicyFor(run->golden_set);
  request.min_approvals = policy.min_approvals.count(env) ? policy.min_approvals.at(env) : 1;
  request.tool_build = BuildId();
  request.note = note;
  // Evidence: the comparison of this run with the current baseline.
  auto baseline = governance::CurrentBaseline(**db, run->golden_set, run->target, env);
  if (!baseline) return ReportError(ctx.err(), baseline.error());
  if (*baseline) {
    auto existing = store::LatestComparisonFor(**db, run->id);
    if (!existing) return ReportError(ctx.err(), existing.error());
    nlohmann::json comparison;
    if (*existing && (**existing).value("baseline_run_id", "") == **baseline) {
      comparison = **existing;
    } else {
      auto base_run = store::GetRun(**db, **baseline);
      if (!base_run) return ReportError(ctx.err(), base_run.error());
      auto plan = PlanComparison(ctx, *base_run, *run, base_run->golden_set_version_id != run->golden_set_version_id);
      if (!plan) return ReportError(ctx.err(), plan.error());
      if (!plan->refusal.empty()) {
        // Evidence that nothing could be compared: the non-inferiority and
        // power gates fail, so only a reviewer's waiver can move the pointer.
        comparison = {{"verdict", "insufficient_data"},     {"severity", "none"},
                      {"metrics", nlohmann::json::array()}, {"baseline_run_id", base_run->id},
                      {"candidate_run_id", run->id},        {"not_compared", plan->refusal}};
      } else {
        auto fresh = CompareAndStore(ctx, *base_run, *run, *plan);
        if (!fresh) return ReportError(ctx.err(), fresh.error());
        comparison = *fresh;
      }
    }
    comparison.erase("table");
    comparison.erase("comparison_id");
    request.comparison = comparison;
  }
  auto review = governance::RequestReview(**db, request);
  if (!review) return ReportError(ctx.err(), review.error());
  if (ctx.format() == OutputFormat::kJson) {
    ctx.out() << ReviewJson(*review).dump(2) << "\n";
  } else {
    ctx.out() << "review " << review->id << " opened for " << review->target << " → " << review->environment
              << " (run " << review->run_id.substr(0, 8) << ")\n"
              << "evidence sha256 " << review->evidence_sha256 << "\n"
              << "needs " << review->min_approvals << " distinct approver(s), not " << review->requested_by << "; "
              << (review->gates_passed ? "all policy gates pass" : "a policy gate FAILS: approval needs a waiver")
              << "\n";
  }
  return kExitOk;
}

int ReviewShowCmd(Context& ctx, const std::string& id) {
  auto db = ctx.Database();
  if (!db) return ReportError(ctx.err(), db.error());
  auto detail = governance::ShowReview(**db, id);
  if (!detail) return ReportError(ctx.err(), detail.error());
  if (ctx.format() == OutputFormat::kJson) {
    nlohmann::json j = ReviewJson(detail->review);
    j["evidence"] = detail->evidence;
    j["gates"] = nlohmann::json::array();
    for (const auto& g : detail->gates) j["gates"].push_back({{"name", g.name}, {"passed", g.passed}, {"detail", g.detail}});
    j["decisions"] = nlohmann::json::array();
    for (const auto& d : detail->decisions)
      j["decisions"].push_back({{"reviewer", d.reviewer}, {"decision", governance::DecisionKindName(d.kind)},
                                {"reason", d.reason}, {"decided_at", d.decided_at}});
    if (detail->current_evidence_sha256) j["current_evidence_sha256"] = *detail->current_evidence_sha256;
    ctx.out() << j.dump(2) << "\n";
    return kExitOk;
  }
  const auto& r = detail->review;
  ctx.out() << "review      " << r.id << " (" << r.status << ", " << r.approvals << "/" << r.min_approvals
            << " approvals)\n"
            << "subject     " << r.target << "@" << r.target_version_hash.substr(0, 12) << " → " << r.environment
            << "\nrun         " << r.run_id << " on " << r.golden_set << "@" << r.golden_set_version
            << "\nbaseline    " << (r.baseline_run_id ? *r.baseline_run_id : "none (first sign-off)")
            << "\nrequested   " << r.requested_at << " by " << r.requested_by << "\nevidence    "
            << r.evidence_sha256 << "\n";
  if (detail->current_evidence_sha256 && *detail->current_evidence_sha256 != r.evidence_sha256)
    ctx.out() << "WARNING     the evidence changed since the request (now " << *detail->current_evidence_sha256
              << "): approval will be refused\n";
  TextTable gates({"GATE", "RESULT", "DETAIL"});
  for (const auto& g : detail->gates) gates.AddRow({g.name, g.passed ? "pass" : "FAIL", g.detail});
  ctx.out() << "\n" << gates.Render();
  if (!detail->decisions.empty()) {
    TextTable decisions({"WHEN", "REVIEWER", "DECISION", "REASON"});
    for (const auto& d : detail->decisions)
      decisions.AddRow({d.decided_at, d.reviewer, governance::DecisionKindName(d.kind), d.reason});
    ctx.out() << "\n" << decisions.Render();
  }
  return kExitOk;
}

}  // namespace

int ReviewCommand(const Args& args, std::ostream& out, std::ostream& err) {
  const std::string usage =
      "driftwatch review request RUN [--env production] [--note TEXT]\n"
      "       driftwatch review approve|reject|waive REVIEW [--reason TEXT] [--expires 7d]\n"
      "       driftwatch review list [--status open] [--target T] [--env E]\n"
      "       driftwatch review show REVIEW";
  GlobalOptions global;
  std::string action, subject, env = "production", note, reason, expires, status, target;
  po::options_description desc("review options");
  AddGlobalOptions(desc, global);
  desc.add_options()("action", po::value(&action), "request | approve | reject | waive | list | show")(
      "subject", po::value(&subject), "run id (request) or review id")(
      "env", po::value(&env), "environment (request: default production; list: filter)")(
      "note", po::value(&note), "request: a note for reviewers")("reason", po::value(&reason),
                                                                   "reject/waive: required reason")(
      "expires", po::value(&expires), "waive: expiry (YYYY-MM-DD, 7d, 12h)")(
      "status", po::value(&status), "list: open, approved or rejected")("target", po::value(&target),
                                                                        "list: filter by target");
  po::positional_options_description pos;
  pos.add("action", 1).add("subject", 1);
  po::variables_map vm;
  int code = 0;
  if (!ParseCommandLine(args, usage, desc, pos, vm, out, err, code)) return code;
  Context ctx(global, out, err);
  if (action == "request") {
    if (subject.empty()) return ReportError(err, {ErrorKind::kInvalidInput, "review request needs a RUN id"});
    return ReviewRequestCmd(ctx, subject, env, note);
  }
  if (action == "show") return ReviewShowCmd(ctx, subject);
  auto db = ctx.Database();
  if (!db) return ReportError(err, db.error());
  if (action == "list") {
    governance::ReviewFilter filter;
    if (!status.empty()) filter.status = status;
    if (!target.empty()) filter.target = target;
    if (vm.count("env")) filter.environment = env;
    auto reviews = governance::ListReviews(**db, filter);
    if (!reviews) return ReportError(err, reviews.error());
    if (ctx.format() == OutputFormat::kJson) {
      nlohmann::json arr = nlohmann::json::array();
      for (const auto& r : *reviews) arr.push_back(ReviewJson(r));
      out << arr.dump(2) << "\n";
    } else {
      TextTable table({"REVIEW", "STATUS", "TARGET", "ENV", "RUN", "APPROVALS", "GATES", "REQUESTED BY"});
      for (const auto& r : *reviews)
        table.AddRow({r.id.substr(0, 8), r.status, r.target, r.environment, r.run_id.substr(0, 8),
                      std::to_string(r.approvals) + "/" + std::to_string(r.min_approvals),
                      r.gates_passed ? "pass" : "fail", r.requested_by});
      out << table.Render();
    }
    return kExitOk;
  }
  if (action == "approve" || action == "reject" || action == "waive") {
    auto detail = governance::ShowReview(**db, subject);
    if (!detail) return ReportError(err, detail.error());
    governance::DecisionInput input;
    input.review_id = detail->review.id;
    input.reviewer = ctx.user();
    input.kind = action == "approve" ? governance::DecisionKind::kApprove
                 : action == "reject" ? governance::DecisionKind::kReject
                                      : governance::DecisionKind::kWaive;
    input.evidence_sha256 = detail->review.evidence_sha256;
    input.reason = reason;
    if (action == "waive") {
      if (expires.empty()) return ReportError(err, {ErrorKind::kInvalidInput, "waive needs --expires"});
      auto at = ParseExpiry(expires);
      if (!at) return ReportError(err, at.error());
      input.waiver_expires_at = *at;
    }
    auto review = governance::Decide(**db, input);
    if (!review) return ReportError(err, review.error());
    if (ctx.format() == OutputFormat::kJson) {
      out << ReviewJson(*review).dump(2) << "\n";
    } else {
      out << ctx.user() << " " << (action == "approve" ? "approved" : action == "reject" ? "rejected" : "waived")
          << " review " << review->id.substr(0, 8) << " (evidence " << review->evidence_sha256.substr(0, 16)
          << "…): " << review->status << ", " << review->approvals << "/" << review->min_approvals
          << " approvals\n";
      if (review->status == "approved")
        out << "baseline and " << review->environment << " pointer of " << review->target << " moved to run "
            << review->run_id.substr(0, 8) << "\n";
    }
    return kExitOk;
  }
  err << "driftwatch: review needs an action: request, approve, reject, waive, list or show\nusage: " << usage
      << "\n";
  return kExitBadInput;
}

int TargetCommand(const Args& args, std::ostream& out, std::ostream& err) {
  const std::string usage = "driftwatch target history TARGET [--env ENV]";
  GlobalOptions global;
  std::string action, target, env;
  po::options_description desc("target options");
  AddGlobalOptions(desc, global);
  desc.add_options()("action", po::value(&action), "history")("target-name", po::value(&target), "target")(
      "env", po::value(&env), "only this environment");
  po::positional_options_description pos;
  pos.add("action", 1).add("target-name", 1);
  po::variables_map vm;
  int code = 0;
  if (!ParseCommandLine(args, usage, desc, pos, vm, out, err, code)) return code;
  if (action != "history" || target.empty()) {
    err << "usage: " << usage << "\n";
    return kExitBadInput;
  }
  Context ctx(global, out, err);
  auto db = ctx.Database();
  if (!db) return ReportError(err, db.error());
  auto events = governance::TargetHistory(**db, target, env.empty() ? std::nullopt : std::optional(env));
  if (!events) return ReportError(err, events.error());
  if (ctx.format() == OutputFormat::kJson) {
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& e : *events)
      arr.push_back({{"seq", e.seq}, {"pointer", e.pointer}, {"environment", e.environment},
                     {"golden_set", e.golden_set ? nlohmann::json(*e.golden_set) : nlohmann::json()},
                     {"run_id", e.run_id}, {"target_version", e.target_version_hash},
                     {"previous_run_id", e.previous_run_id ? nlohmann::json(*e.previous_run_id) : nlohmann::json()},
                     {"review_id", e.review_id}, {"requested_by", e.requested_by}, {"approvers", e.approvers},
                     {"moved_at", e.moved_at}});
    out << arr.dump(2) << "\n";
    return kExitOk;
  }
  if (events->empty()) {
    out << "no approved moves for target '" << target << "' yet\n";
    return kExitOk;
  }
  TextTable table({"WHEN", "POINTER", "ENV", "RUN", "VERSION", "REVIEW", "REQUESTED", "APPROVED BY"});
  for (const auto& e : *events) {
    std::string approvers;
    for (const auto& a : e.approvers) approvers += (approvers.empty() ? "" : ",") + a;
    table.AddRow({e.moved_at.substr(0, 19), e.pointer + (e.golden_set ? "(" + *e.golden_set + ")" : ""),
                  e.environment, e.run_id.substr(0, 8), e.target_version_hash.substr(0, 12), e.review_id.substr(0, 8),
                  e.requested_by, approvers});
  }
  out << table.Render();
  return kExitOk;
}

int AuditCommand(const Args& args, std::ostream& out, std::ostream& err) {
  const std::string usage =
      "driftwatch audit verify [--checkpoint FILE --key KEY.pem]\n"
      "       driftwatch audit checkpoint --key KEY.pem --out FILE\n"
      "       driftwatch audit export [--out FILE]";
  GlobalOptions global;
  std::string action, checkpoint_path, key_path, out_path;
  po::options_description desc("audit options");
  AddGlobalOptions(desc, global);
  desc.add_options()("action", po::value(&action), "verify | checkpoint | export")(
      "checkpoint", po::value(&checkpoint_path), "a signed checkpoint file to verify against")(
      "key", po::value(&key_path), "Ed25519 private key (PEM), kept outside the database")(
      "out", po::value(&out_path), "output file");
  po::positional_options_description pos;
  pos.add("action", 1);
  po::variables_map vm;
  int code = 0;
  if (!ParseCommandLine(args, usage, desc, pos, vm, out, err, code)) return code;
  Context ctx(global, out, err);
  auto db = ctx.Database();
  if (!db) return ReportError(err, db.error());
  if (action == "verify") {
    Result<governance::VerifyReport> report = Fail(ErrorKind::kInternal, "");
    if (!checkpoint_path.empty()) {
      if (key_path.empty()) return ReportError(err, {ErrorKind::kInvalidInput, "--checkpoint needs --key"});
      auto checkpoint = governance::LoadCheckpoint(checkpoint_path);
      if (!checkpoint) return ReportError(err, checkpoint.error());
      report = governance::VerifyAuditAgainstCheckpoint(**db, *checkpoint, key_path);
    } else {
      report = governance::VerifyAudit(**db);
    }
    if (!report) return ReportError(err, report.error());
    if (ctx.format() == OutputFormat::kJson) {
      out << nlohmann::json{{"ok", report->ok()}, {"problem", governance::AuditProblemName(report->problem)},
                            {"events", report->events}, {"last_seq", report->last_seq},
                            {"head_hash", report->head_hash}, {"first_bad_seq", report->first_bad_seq},
                            {"message", report->message}}
                 .dump(2)
          << "\n";
    } else if (report->ok()) {
      out << "audit chain OK: " << report->events << " events, head #" << report->last_seq << " "
          << report->head_hash.substr(0, 16) << "…\n";
    } else {
      out << "audit chain BROKEN at seq " << report->first_bad_seq << " ("
          << governance::AuditProblemName(report->problem) << "): " << report->message << "\n";
    }
    return report->ok() ? kExitOk : kExitRegression;
  }
  if (action == "checkpoint") {
    if (key_path.empty() || out_path.empty())
      return ReportError(err, {ErrorKind::kInvalidInput, "checkpoint needs --key KEY.pem and --out FILE"});
    auto checkpoint = governance::WriteCheckpoint(**db, key_path);
    if (!checkpoint) return ReportError(err, checkpoint.error());
    if (auto s = governance::SaveCheckpoint(*checkpoint, out_path); !s) return ReportError(err, s.error());
    out << "signed checkpoint of seq " << checkpoint->seq << " (head " << checkpoint->head_hash.substr(0, 16)
        << "…, key " << checkpoint->key_id.substr(0, 16) << "…) written to " << out_path << "\n";
    return kExitOk;
  }
  if (action == "export") {
    std::ofstream file;
    if (!out_path.empty()) {
      file.open(out_path);
      if (!file) return ReportError(err, {ErrorKind::kInvalidInput, "cannot write " + out_path});
    }
    auto n = governance::ExportAudit(**db, out_path.empty() ? out : file);
    if (!n) return ReportError(err, n.error());
    if (!out_path.empty()) out << "exported " << *n << " events to " << out_path << "\n";
    return kExitOk;
  }
  err << "usage: " << usage << "\n";
  return kExitBadInput;
}

}  // namespace dw::cli
