// The evidence pack: one self-contained HTML page for a sign-off review of a
// candidate run (versions and hashes, verdicts with confidence intervals,
// cases that got worse side by side, trend charts, the decision trail and
// the audit status), readable and printable without Driftwatch.
//
// EvidencePack is plain data, gathered from the store by report/gather.h;
// rendering it is pure, so every sentence and table is unit-testable.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "report/case_changes.h"
#include "report/chart.h"

namespace dw::report {

// One run's identity and provenance, as a review would bind it.
struct RunFacts {
  std::string id;
  std::string status;
  std::string created_at;  // UTC, ISO 8601
  std::string finished_at;
  std::string requested_by;
  std::string trigger;
  int repeats = 1;
  std::string golden_set;
  int golden_set_version = 0;
  std::string golden_set_manifest_sha256;
  int case_count = 0;
  std::string target;
  std::string target_version_hash;
  std::string provider;
  std::string model;
  std::string prompt_sha256;
  std::string target_spec_sha256;
  std::string scorer;  // name; empty when none was recorded
  std::string scorer_version_hash;
  std::string judge;  // "target (model)" of the grading model; empty when none
  std::string runner_build;
  std::string runner_host;
  long long results = 0;
  std::string results_sha256;
  std::string scores_sha256;
  std::optional<double> pass_rate;  // from the stored summary
  std::optional<double> pass_rate_low;
  std::optional<double> pass_rate_high;
  long long scored = 0;
  long long infra_failures = 0;
  double cost_usd = 0;
};

// One metric on one slice of the comparison (stats::MetricResultToJson).
struct VerdictRow {
  std::string metric;
  std::string slice = "all";
  std::string kind;  // binary, continuous, positive_ratio, text_change
  bool primary = false;
  int n = 0;
  int n_missing = 0;
  std::optional<double> baseline;  // levels on the metric's natural scale
  std::optional<double> candidate;
  std::optional<double> delta;  // candidate − baseline on the analysis scale (log-ratio for positive_ratio)
  std::optional<double> ci_low;
  std::optional<double> ci_high;
  std::optional<double> p_value;
  std::optional<double> q_value;
  std::string family;                        // primary, secondary, descriptive
  std::string test;                          // method name; empty without a test
  std::optional<int> b;                      // binary: cases pass→fail
  std::optional<int> c;                      // binary: cases fail→pass
  std::optional<double> changed_share;       // text_change
  std::optional<double> null_changed_share;  // text_change
  std::string non_inferiority;               // pass, fail, underpowered, not_applicable
  std::string verdict;                       // improved, regressed, unchanged, changed, insufficient_data
  std::string severity;                      // none, info, warning, critical
  std::string reason;
};

struct ComparisonFacts {
  std::string verdict;
  std::string severity;
  std::vector<std::string> reasons;
  std::string primary_metric;
  int cases = 0;
  std::string seed;
  double ci_level = 0.95;
  double alpha = 0.01;
  double fdr_q = 0.05;
  double delta_min = 0.02;
  double ni_margin = 0.02;
  std::string note;    // e.g. only the cases common to two golden-set versions
  std::string sha256;  // of the comparison document (as stored and as bound by a review)
  std::vector<VerdictRow> rows;
};

struct GateFacts {
  std::string name;
  bool passed = false;
  std::string detail;
};

struct DecisionFacts {
  std::string decided_at;  // UTC ISO
  std::string reviewer;
  std::string decision;  // approve, reject, waive
  std::string reason;
  std::string waiver_expires_at;  // waivers only
};

struct PointerMoveFacts {
  std::string moved_at;  // UTC ISO
  std::string pointer;   // baseline, environment
  std::string environment;
  std::string run_id;
  std::string previous_run_id;  // empty for the first
  std::string target_version_hash;
  std::vector<std::string> approvers;
};

struct ReviewFacts {
  std::string id;
  std::string environment;
  std::string status;  // open, approved, rejected
  std::string requested_by;
  std::string requested_at;
  std::string closed_at;
  std::string note;
  int min_approvals = 0;
  int approvals = 0;
  bool gates_passed = false;
  bool waiver_in_force = false;
  std::string evidence_sha256;
  bool evidence_intact = false;                        // the stored manifest still hashes to evidence_sha256
  std::optional<std::string> current_evidence_sha256;  // open reviews: the manifest recomputed now
  std::vector<GateFacts> gates;
  std::vector<DecisionFacts> decisions;  // in decision order
  std::vector<PointerMoveFacts> pointer_moves;
  std::string evidence_json;  // the frozen manifest, indented
};

struct AuditFacts {
  bool checked = false;  // false: could not be verified (message says why)
  bool ok = false;
  long long events = 0;
  long long first_bad_seq = 0;
  std::string head_hash;
  std::string message;
};

struct EvidencePack {
  std::string generated_at;  // UTC ISO
  std::string generated_by;  // driftwatch build
  RunFacts candidate;
  std::optional<RunFacts> baseline;  // set with a comparison
  std::optional<ComparisonFacts> comparison;
  CaseChanges cases;
  std::vector<LineChart> trends;
  std::optional<ReviewFacts> review;
  AuditFacts audit;
};

// The pack as a complete HTML5 document (UTF-8): inline CSS (screen and
// print), inline SVG, no scripts, no external references, and markup that is
// also well-formed XML. Every stored string (model outputs, reasons, names)
// is escaped. Pure.
std::string RenderEvidenceHtml(const EvidencePack& pack);

// The plain-language sentence for one comparison row, e.g. "Candidate is
// worse than baseline on pass rate: −6.0 pp (95% CI −9.1 to −2.9)". Not
// escaped. Pure.
std::string PlainVerdictSentence(const VerdictRow& row, double ci_level);

}  // namespace dw::report
