#include "report/evidence.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <map>

#include "core/text_table.h"
#include "report/html.h"

namespace dw::report {
namespace {

constexpr size_t kMaxOutputBytes = 2000;
constexpr size_t kMaxInputBytes = 600;
constexpr size_t kMaxVerdictRows = 200;
constexpr size_t kMaxSummaryRows = 6;
constexpr const char* kMinus = "\u2212";

std::string E(std::string_view text) { return EscapeMarkup(text); }

std::string Printf(const char* format, double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, format, value);
  return buffer;
}

// "+1.5", "−1.5", or "0.0" when the value rounds to zero.
std::string Signed(double value, int decimals) {
  std::string digits = FormatFixed(std::abs(value), decimals);
  if (digits.find_first_not_of("0.") == std::string::npos) return digits;
  return (value < 0 ? kMinus : "+") + digits;
}

std::string Percent(double fraction, int decimals = 1) { return FormatFixed(100 * fraction, decimals) + "%"; }

// A change on the analysis scale, without unit (for interval bounds).
std::string ChangeNumber(const std::string& kind, double value) {
  if (!std::isfinite(value)) return value > 0 ? "+\u221e" : std::string(kMinus) + "\u221e";
  if (kind == "binary") return Signed(100 * value, 1);
  if (kind == "positive_ratio") return "\u00d7" + FormatFixed(std::exp(value), 2);
  return Signed(value, 3);
}

std::string Change(const std::string& kind, double value) {
  return ChangeNumber(kind, value) + (kind == "binary" && std::isfinite(value) ? " pp" : "");
}

// A level on the metric's natural scale, with its unit where known.
std::string Level(const VerdictRow& row, const std::optional<double>& value) {
  if (!value || !std::isfinite(*value)) return "\u2013";
  if (row.kind == "binary") return Percent(*value);
  if (row.kind != "positive_ratio") return FormatFixed(*value, 3);
  if (row.metric == "latency_ms") return Printf("%.4g", *value) + " ms";
  if (row.metric == "cost_usd") {  // three significant digits without an exponent: $0.00000782
    const int decimals = *value > 0 ? std::clamp(2 - static_cast<int>(std::floor(std::log10(*value))), 2, 12) : 2;
    return "$" + FormatFixed(*value, decimals);
  }
  return Printf("%.4g", *value);
}

std::string PValue(const std::optional<double>& p) {
  if (!p || !std::isfinite(*p)) return "\u2013";
  if (*p < 1e-4) return "&lt;0.0001";
  return Printf("%.2g", *p);
}

std::string CiName(double level) { return Printf("%g", 100 * level) + "% CI"; }

std::string MetricLabel(const std::string& metric) {
  static const std::map<std::string, std::string> kNames = {
      {"pass_rate", "pass rate"}, {"score", "mean score"},
      {"latency_ms", "latency"},  {"output_tokens", "output length (tokens)"},
      {"cost_usd", "cost"},       {"output_text", "output wording"}};
  if (auto it = kNames.find(metric); it != kNames.end()) return it->second;
  std::string label = metric;
  std::replace(label.begin(), label.end(), '_', ' ');
  return label;
}

std::string SliceLabel(const std::string& slice) {
  return slice.empty() || slice == "all" ? "" : " (cases tagged \u201c" + slice + "\u201d)";
}

std::string Short(const std::string& id, size_t n = 8) { return id.substr(0, n); }

// Cuts `text` to at most `max` bytes without splitting a UTF-8 sequence.
std::string Clip(const std::string& text, size_t max, size_t* dropped) {
  *dropped = 0;
  if (text.size() <= max) return text;
  size_t end = max;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  *dropped = text.size() - end;
  return text.substr(0, end);
}

int SeverityRank(const std::string& severity) {
  static const std::map<std::string, int> kRank = {{"critical", 3}, {"warning", 2}, {"info", 1}};
  auto it = kRank.find(severity);
  return it == kRank.end() ? 0 : it->second;
}

int VerdictRank(const std::string& verdict) {
  static const std::map<std::string, int> kRank = {
      {"regressed", 0}, {"changed", 1}, {"improved", 2}, {"insufficient_data", 3}, {"unchanged", 4}};
  auto it = kRank.find(verdict);
  return it == kRank.end() ? 5 : it->second;
}

// Most severe first, then by verdict, the primary metric first, input order.
std::vector<const VerdictRow*> OrderedRows(const std::vector<VerdictRow>& rows) {
  std::vector<const VerdictRow*> ordered;
  for (const auto& r : rows) ordered.push_back(&r);
  std::stable_sort(ordered.begin(), ordered.end(), [](const VerdictRow* a, const VerdictRow* b) {
    if (SeverityRank(a->severity) != SeverityRank(b->severity))
      return SeverityRank(a->severity) > SeverityRank(b->severity);
    if (VerdictRank(a->verdict) != VerdictRank(b->verdict)) return VerdictRank(a->verdict) < VerdictRank(b->verdict);
    return a->primary && !b->primary;
  });
  return ordered;
}

const VerdictRow* PrimaryRow(const ComparisonFacts& comparison) {
  for (const auto& r : comparison.rows)
    if (r.primary && r.slice == "all") return &r;
  return nullptr;
}

// The CSS class of a verdict's colour: bad, warn, good or neutral.
std::string Tone(const std::string& verdict, const std::string& severity) {
  if (verdict == "regressed") return severity == "critical" ? "bad" : "warn";
  if (verdict == "improved" || verdict == "unchanged") return "good";
  if (verdict == "changed") return "warn";
  if (verdict == "insufficient_data") return severity == "none" ? "neutral" : "warn";
  return "neutral";
}

std::string Badge(const std::string& text, const std::string& tone) {
  return "<span class=\"badge " + tone + "\">" + E(text) + "</span>";
}

std::string VerdictWord(const std::string& verdict) {
  if (verdict == "insufficient_data") return "insufficient data";
  return verdict;
}

std::string Hash(const std::string& hash) {
  if (hash.empty()) return "<span class=\"muted\">\u2013</span>";
  return "<code class=\"hash\">" + E(hash) + "</code>";
}

std::string Text(const std::string& text) {
  if (text.empty()) return "<span class=\"muted\">\u2013</span>";
  return E(text);
}

std::string GateLabel(const std::string& gate) {
  static const std::map<std::string, std::string> kNames = {
      {"no_critical_regression", "No critical regression"},
      {"non_inferiority", "Not worse than the margin (non-inferiority)"},
      {"adequately_powered", "Enough data to decide"},
      {"first_baseline", "First baseline (nothing to compare yet)"}};
  if (auto it = kNames.find(gate); it != kNames.end()) return it->second;
  return gate;
}

std::string DecisionWord(const std::string& decision) {
  if (decision == "approve") return "approved";
  if (decision == "reject") return "rejected";
  if (decision == "waive") return "waived a failed gate";
  return decision;
}

// Drops the fractional seconds of "YYYY-MM-DDTHH:MM:SS.ffffffZ" for display.
std::string When(const std::string& iso) {
  if (iso.size() >= 19 && iso[10] == 'T') return iso.substr(0, 10) + " " + iso.substr(11, 8) + " UTC";
  return iso;
}

constexpr const char* kStyle = R"CSS(
:root { --ink:#101828; --muted:#475467; --line:#d0d5dd; --soft:#f2f4f7; --bad:#b42318; --warn:#b54708;
        --good:#067647; --neutral:#475467; --base:#175cd3; --cand:#c11574; }
* { box-sizing: border-box; }
body { margin: 0; background: #f8f9fb; color: var(--ink); font: 15px/1.5 "DejaVu Sans", "Liberation Sans", Arial,
       Helvetica, sans-serif; }
main { max-width: 1120px; margin: 0 auto; padding: 28px 32px 40px; background: #ffffff; }
h1 { font-size: 26px; margin: 2px 0 4px; }
h2 { font-size: 19px; margin: 34px 0 10px; padding-bottom: 4px; border-bottom: 2px solid var(--line); }
h3 { font-size: 16px; margin: 0 0 6px; }
h4 { font-size: 14px; margin: 0 0 6px; }
p { margin: 6px 0; }
code, pre, .hash { font-family: "DejaVu Sans Mono", "Liberation Mono", monospace; font-size: 12.5px; }
.hash { word-break: break-all; }
.eyebrow { text-transform: uppercase; letter-spacing: .08em; font-size: 12px; color: var(--muted); margin: 0; }
.meta, .muted { color: var(--muted); }
.verdict { margin: 18px 0 8px; padding: 18px 22px; border-radius: 8px; color: #ffffff; }
.verdict.bad { background: var(--bad); } .verdict.warn { background: var(--warn); }
.verdict.good { background: var(--good); } .verdict.neutral { background: var(--neutral); }
.verdict .word { font-size: 30px; font-weight: bold; text-transform: uppercase; letter-spacing: .04em; margin: 0; }
.verdict .sub { margin: 0 0 8px; opacity: .92; }
.verdict .headline { font-size: 18px; margin: 0; }
ul.summary { padding-left: 20px; } ul.summary li { margin: 4px 0; }
table { border-collapse: collapse; width: 100%; margin: 8px 0; font-size: 13.5px; }
th, td { text-align: left; vertical-align: top; padding: 6px 8px; border-bottom: 1px solid var(--line); }
th { background: var(--soft); font-weight: bold; }
td.num { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
td.when { white-space: nowrap; font-variant-numeric: tabular-nums; }
tr.group th { background: #ffffff; border-bottom: 2px solid var(--line); padding-top: 14px; }
tr.changed td { background: #fffaeb; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: bold;
         color: #ffffff; white-space: nowrap; }
.badge.bad { background: var(--bad); } .badge.warn { background: var(--warn); }
.badge.good { background: var(--good); } .badge.neutral { background: var(--neutral); }
.tag { display: inline-block; padding: 0 6px; margin-left: 4px; border: 1px solid var(--line); border-radius: 4px;
       font-size: 12px; color: var(--muted); font-weight: normal; }
figure { margin: 12px 0 22px; } figcaption { margin-bottom: 6px; }
svg.chart { width: 100%; height: auto; display: block; }
.case { border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; margin: 12px 0; }
.case dl { margin: 4px 0 10px; display: grid; grid-template-columns: max-content 1fr; gap: 2px 10px; }
.case dt { color: var(--muted); } .case dd { margin: 0; white-space: pre-wrap; word-break: break-word; }
.sides { display: grid; grid-template-columns: 1fr 1fr; gap: 12px; }
.side { border-radius: 6px; padding: 8px 10px; background: var(--soft); border-top: 4px solid var(--base); }
.side.candidate { border-top-color: var(--cand); }
pre.output { white-space: pre-wrap; word-break: break-word; background: #ffffff; border: 1px solid var(--line);
             border-radius: 4px; padding: 8px; margin: 6px 0; font-size: 12.5px; }
ul.checks { list-style: none; padding: 0; margin: 4px 0 0; font-size: 13px; }
ul.checks li { margin: 2px 0; } ul.checks li.fail { color: var(--bad); } ul.checks li.pass { color: var(--good); }
.callout { border-left: 4px solid var(--line); padding: 6px 12px; background: var(--soft); margin: 10px 0; }
.callout.bad { border-left-color: var(--bad); } .callout.good { border-left-color: var(--good); }
dl.glossary dt { font-weight: bold; margin-top: 8px; } dl.glossary dd { margin: 0 0 0 16px; }
pre.manifest { white-space: pre-wrap; word-break: break-all; font-size: 11px; background: var(--soft);
               padding: 10px; border-radius: 4px; }
footer { margin-top: 36px; font-size: 12px; color: var(--muted); border-top: 1px solid var(--line); padding-top: 8px; }
@page { size: A4; margin: 14mm 12mm; }
@media print {
  body { background: #ffffff; font-size: 10.5pt; }
  main { max-width: none; padding: 0; }
  .verdict, .badge, tr.changed td, th, .side { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  h2 { break-after: avoid; } figure, .case, tr, .verdict { break-inside: avoid; }
  .appendix { break-before: page; }
}
)CSS";

class Page {
 public:
  explicit Page(const EvidencePack& pack) : pack_(pack) {}

  std::string Render() {
    const RunFacts& run = pack_.candidate;
    std::string title = run.target + " on " + run.golden_set + "@" + std::to_string(run.golden_set_version);
    html_ +=
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"/>"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>"
        "<title>" +
        E("Evidence pack: " + title) + "</title><style>" + kStyle + "</style></head>\n<body><main>\n";
    html_ += "<header><p class=\"eyebrow\">Driftwatch evidence pack</p><h1>" + E(title) + "</h1>";
    html_ += "<p class=\"meta\">Candidate run <code>" + E(run.id) + "</code> \u00b7 generated " +
             E(When(pack_.generated_at)) + " by " + E(pack_.generated_by) + "</p></header>\n";
    Banner();
    Summary();
    Decision();
    Verdicts();
    Trends();
    Cases();
    Versions();
    Audit();
    Glossary();
    Appendix();
    html_ +=
        "<footer>This page is self-contained: it needs no network access and no Driftwatch installation to "
        "read or print. Generated by " +
        E(pack_.generated_by) + " at " + E(When(pack_.generated_at)) + ".</footer>\n</main></body></html>\n";
    return std::move(html_);
  }

 private:
  // The sentence that leads the page: the primary metric's, or the first
  // regressed row's when the primary metric did not regress.
  std::string Headline() const {
    const ComparisonFacts& c = *pack_.comparison;
    const VerdictRow* primary = PrimaryRow(c);
    if (c.verdict == "regressed" && (!primary || primary->verdict != "regressed")) {
      for (const VerdictRow* r : OrderedRows(c.rows))
        if (r->verdict == "regressed") return PlainVerdictSentence(*r, c.ci_level);
    }
    if (primary) return PlainVerdictSentence(*primary, c.ci_level);
    return c.reasons.empty() ? "" : c.reasons.front();
  }

  void Banner() {
    if (!pack_.comparison) {
      html_ +=
          "<section class=\"verdict neutral\"><p class=\"word\">No baseline comparison</p>"
          "<p class=\"headline\">This run has not been compared with a signed-off baseline, so there is no "
          "verdict: the figures below describe the run on its own.</p></section>\n";
      return;
    }
    const ComparisonFacts& c = *pack_.comparison;
    html_ += "<section class=\"verdict " + Tone(c.verdict, c.severity) + "\"><p class=\"word\">" +
             E(VerdictWord(c.verdict)) + "</p><p class=\"sub\">severity " + E(c.severity) +
             (c.primary_metric.empty() ? "" : " \u00b7 primary metric " + E(MetricLabel(c.primary_metric))) +
             " \u00b7 " + std::to_string(c.cases) + " cases compared with baseline run <code>" +
             E(Short(pack_.baseline ? pack_.baseline->id : "")) + "</code></p><p class=\"headline\">" + E(Headline()) +
             "</p></section>\n";
  }

  void Summary() {
    html_ += "<section><h2>Summary</h2><ul class=\"summary\">";
    if (pack_.comparison) {
      const ComparisonFacts& c = *pack_.comparison;
      size_t shown = 0, quiet = 0;
      for (const VerdictRow* r : OrderedRows(c.rows)) {
        const bool notable = (r->primary && r->slice == "all") || SeverityRank(r->severity) >= 2 ||
                             (r->slice == "all" && (r->verdict == "improved" || r->verdict == "changed"));
        if (notable && shown < kMaxSummaryRows) {
          html_ += "<li>" + Badge(VerdictWord(r->verdict), Tone(r->verdict, r->severity)) + " " +
                   E(PlainVerdictSentence(*r, c.ci_level)) + ".</li>";
          ++shown;
        } else {
          ++quiet;
        }
      }
      if (quiet > 0)
        html_ += "<li>" + std::to_string(quiet) + " further metric and slice rows are listed under Verdicts.</li>";
      const CaseChanges& cases = pack_.cases;
      html_ += "<li>" + std::to_string(cases.regressed_total) + " of " + std::to_string(cases.compared) +
               " compared cases passed less often on the candidate than on the baseline; " +
               std::to_string(cases.improved_total) + " passed more often.</li>";
      if (!c.note.empty()) html_ += "<li>" + E(c.note) + ".</li>";
    } else {
      const RunFacts& run = pack_.candidate;
      if (run.pass_rate)
        html_ += "<li>The run passed " + Percent(*run.pass_rate) + " of " + std::to_string(run.scored) +
                 " scored results" + PassRateInterval(run) + ".</li>";
      html_ += "<li>No baseline comparison is stored for this run.</li>";
    }
    html_ += "<li>" + ReviewSentence() + "</li>";
    html_ += "<li>" + AuditSentence() + "</li>";
    html_ += "</ul></section>\n";
  }

  std::string PassRateInterval(const RunFacts& run) const {
    if (!run.pass_rate_low || !run.pass_rate_high) return "";
    return " (95% CI " + Percent(*run.pass_rate_low) + " to " + Percent(*run.pass_rate_high) + ")";
  }

  std::string ReviewSentence() const {
    if (!pack_.review) return "No sign-off review has been requested for this run.";
    const ReviewFacts& r = *pack_.review;
    std::string s = "Review <code>" + E(Short(r.id)) + "</code> for <b>" + E(r.environment) + "</b> is " +
                    Badge(r.status, r.status == "approved"   ? "good"
                                    : r.status == "rejected" ? "bad"
                                                             : "neutral") +
                    " with " + std::to_string(r.approvals) + " of " + std::to_string(r.min_approvals) +
                    " required approvals; the policy gates " + (r.gates_passed ? "pass" : "<b>fail</b>");
    if (!r.gates_passed && r.waiver_in_force) s += " (a waiver is in force)";
    return s + ".";
  }

  std::string AuditSentence() const {
    const AuditFacts& a = pack_.audit;
    if (!a.checked) return "The audit trail was not verified: " + E(a.message) + ".";
    if (a.ok)
      return "The audit trail is intact: " + std::to_string(a.events) +
             " hash-chained events were verified when this pack was generated.";
    return "<b>The audit trail is broken</b> at event " + std::to_string(a.first_bad_seq) + ": " + E(a.message) + ".";
  }

  void Decision() {
    html_ += "<section><h2>Decision</h2>";
    if (!pack_.review) {
      html_ +=
          "<p>No review has been requested for this run, so nobody has signed it off. A review binds this "
          "evidence to a request and records every decision: <code>driftwatch review request " +
          E(Short(pack_.candidate.id)) + " --env production</code>.</p></section>\n";
      return;
    }
    const ReviewFacts& r = *pack_.review;
    html_ += "<p>" + ReviewSentence() + "</p>";
    if (!r.note.empty()) html_ += "<p>Request note: \u201c" + E(r.note) + "\u201d</p>";
    html_ += "<h3>Policy gates</h3><table><thead><tr><th>Gate</th><th>Result</th><th>Detail</th></tr></thead><tbody>";
    for (const auto& g : r.gates)
      html_ += "<tr><td>" + E(GateLabel(g.name)) + "</td><td>" +
               Badge(g.passed ? "pass" : "fail", g.passed ? "good" : "bad") + "</td><td>" + E(g.detail) + "</td></tr>";
    html_ += "</tbody></table>";

    struct Step {
      std::string when, who, what, why;
    };
    std::vector<Step> trail;
    trail.push_back({r.requested_at, r.requested_by, "requested sign-off for " + r.environment, r.note});
    for (const auto& d : r.decisions) {
      std::string why = d.reason;
      if (!d.waiver_expires_at.empty())
        why += (why.empty() ? "" : " ") + std::string("(waiver until ") + When(d.waiver_expires_at) + ")";
      trail.push_back({d.decided_at, d.reviewer, DecisionWord(d.decision), why});
    }
    for (const auto& m : r.pointer_moves) {
      std::string approvers;
      for (const auto& a : m.approvers) approvers += (approvers.empty() ? "" : ", ") + a;
      trail.push_back({m.moved_at, approvers,
                       "moved the " + m.environment + " " + m.pointer + " pointer to run " + Short(m.run_id),
                       m.previous_run_id.empty() ? "first " + m.pointer : "was run " + Short(m.previous_run_id)});
    }
    if (!r.closed_at.empty() && r.status != "open")
      trail.push_back({r.closed_at, "", "review closed as " + r.status, ""});
    std::stable_sort(trail.begin(), trail.end(), [](const Step& a, const Step& b) { return a.when < b.when; });
    html_ +=
        "<h3>Decision trail</h3><table><thead><tr><th>When</th><th>Who</th><th>What</th><th>Reason</th></tr>"
        "</thead><tbody>";
    for (const auto& s : trail)
      html_ += "<tr><td class=\"when\">" + E(When(s.when)) + "</td><td>" + Text(s.who) + "</td><td>" + E(s.what) +
               "</td><td>" + Text(s.why) + "</td></tr>";
    html_ += "</tbody></table>";

    html_ += "<h3>Evidence fingerprint</h3><p>Evidence manifest sha256 " + Hash(r.evidence_sha256) + "</p>";
    if (r.evidence_intact)
      html_ +=
          "<p class=\"callout good\">The manifest stored with the review still hashes to this value (checked "
          "when this pack was generated).</p>";
    else
      html_ +=
          "<p class=\"callout bad\"><b>The manifest stored with the review does not hash to this value</b>: "
          "the stored evidence was altered after the request.</p>";
    if (r.current_evidence_sha256) {
      if (*r.current_evidence_sha256 == r.evidence_sha256)
        html_ +=
            "<p class=\"callout good\">Recomputed from the current data, the evidence is unchanged since the "
            "request.</p>";
      else
        html_ += "<p class=\"callout bad\"><b>The evidence changed since the request</b> (now " +
                 Hash(*r.current_evidence_sha256) + "): approval will be refused until a new review is requested.</p>";
    }
    html_ += "</section>\n";
  }

  // Whether a row belongs in the main verdicts table: every metric on all
  // cases, and any slice that changed or raised a warning. The rest (slices
  // with no meaningful change or too few cases) go to the appendix.
  static bool Notable(const VerdictRow& r) {
    return r.slice == "all" || SeverityRank(r.severity) >= 2 || r.verdict == "regressed" || r.verdict == "improved" ||
           r.verdict == "changed";
  }

  void VerdictTable(const std::vector<const VerdictRow*>& rows) {
    const ComparisonFacts& c = *pack_.comparison;
    html_ +=
        "<table><thead><tr><th>Metric</th><th>Slice</th><th>Cases</th><th>Baseline</th><th>Candidate</th>"
        "<th>Change (" +
        E(CiName(c.ci_level)) +
        ")</th><th>p</th><th>q</th><th>Test</th><th>Verdict</th>"
        "</tr></thead><tbody>";
    for (const VerdictRow* r : rows) {
      std::string change = "\u2013";
      if (r->delta) {
        change = E(Change(r->kind, *r->delta));
        if (r->ci_low && r->ci_high)
          change += "<br/><span class=\"muted\">" + E(ChangeNumber(r->kind, *r->ci_low)) + " to " +
                    E(ChangeNumber(r->kind, *r->ci_high)) + "</span>";
      }
      const bool primary = r->primary && r->slice == "all";
      html_ += "<tr><td>" + E(MetricLabel(r->metric)) + (primary ? " \u2605" : "") + "</td><td>" + E(r->slice) +
               "</td><td class=\"num\">" + std::to_string(r->n) + "</td><td class=\"num\">" +
               E(Level(*r, r->baseline)) + "</td><td class=\"num\">" + E(Level(*r, r->candidate)) +
               "</td><td class=\"num\">" + change + "</td><td class=\"num\">" + PValue(r->p_value) +
               "</td><td class=\"num\">" + (r->family == "secondary" ? PValue(r->q_value) : "\u2013") + "</td><td>" +
               Text(r->test) + "</td><td>" + Badge(VerdictWord(r->verdict), Tone(r->verdict, r->severity)) +
               "</td></tr>";
    }
    html_ += "</tbody></table>";
  }

  void Verdicts() {
    html_ += "<section><h2>Verdicts</h2>";
    if (!pack_.comparison) {
      html_ += "<p>No baseline comparison: there are no verdicts.</p></section>\n";
      return;
    }
    const ComparisonFacts& c = *pack_.comparison;
    html_ +=
        "<p>Each row compares the candidate with the baseline on the same cases (paired). The primary metric "
        "(marked \u2605) is judged at \u03b1 = " +
        Printf("%g", c.alpha) + "; other metrics and slices at a false-discovery rate of q = " + Printf("%g", c.fdr_q) +
        ". Changes smaller than " + Printf("%g", 100 * c.delta_min) + " points are not treated as meaningful.</p>";
    auto ordered = OrderedRows(c.rows);
    if (ordered.size() > kMaxVerdictRows) ordered.resize(kMaxVerdictRows);
    std::vector<const VerdictRow*> main, rest;
    for (const VerdictRow* r : ordered) (Notable(*r) ? main : rest).push_back(r);
    VerdictTable(main);
    if (!rest.empty())
      html_ += "<p class=\"muted\">" + std::to_string(rest.size()) +
               " more rows, for slices (tags) with no meaningful change or too few cases to judge, are listed in the "
               "appendix.</p>";
    if (c.rows.size() > kMaxVerdictRows)
      html_ += "<p class=\"muted\">" + std::to_string(c.rows.size() - kMaxVerdictRows) +
               " further rows are in <code>driftwatch report " + E(Short(pack_.candidate.id)) +
               " --format json</code>.</p>";
    html_ += "</section>\n";
  }

  void Trends() {
    html_ += "<section><h2>Trends</h2>";
    if (pack_.trends.empty()) html_ += "<p>No run history for this golden set and target yet.</p>";
    for (const auto& chart : pack_.trends)
      html_ += "<figure><figcaption><b>" + E(chart.title) + "</b> \u2014 " + E(chart.description) + "</figcaption>" +
               RenderLineChartSvg(chart) + "</figure>";
    html_ += "</section>\n";
  }

  void Side(const CaseSide& side, const std::string& role, const std::string& who) {
    html_ += "<div class=\"side " + role + "\"><h4>" + E(who) + " \u00b7 passed " + std::to_string(side.passed) +
             " of " + std::to_string(side.scored) + "</h4><p>" +
             Badge(side.outcome, side.outcome == "pass" ? "good" : "bad") +
             (side.score ? " score " + FormatFixed(*side.score, 2) : std::string()) +
             " <span class=\"muted\">repeat #" + std::to_string(side.repeat) + "</span></p>";
    size_t dropped = 0;
    std::string output = Clip(side.output, kMaxOutputBytes, &dropped);
    if (output.empty())
      html_ += "<pre class=\"output\"><i>(empty output)</i></pre>";
    else
      html_ += "<pre class=\"output\">" + E(output) + (dropped ? "\u2026" : "") + "</pre>";
    if (dropped) html_ += "<p class=\"muted\">" + std::to_string(dropped) + " more bytes not shown.</p>";
    if (!side.error_detail.empty()) html_ += "<p>" + E(side.error_detail) + "</p>";
    if (!side.scores.empty()) {
      html_ += "<ul class=\"checks\">";
      for (const auto& s : side.scores) {
        const std::string state = !s.passed ? "info" : *s.passed ? "pass" : "fail";
        const std::string mark = !s.passed ? "\u2022" : *s.passed ? "\u2713" : "\u2717";
        html_ += "<li class=\"" + state + "\">" + mark + " <code>" + E(s.scorer) + "</code>" +
                 (s.value ? " " + FormatFixed(*s.value, 2) : std::string()) +
                 (s.reason.empty() ? "" : ": " + E(s.reason)) + "</li>";
      }
      html_ += "</ul>";
    }
    html_ += "</div>";
  }

  void Cases() {
    html_ += "<section><h2>Cases that got worse</h2>";
    if (!pack_.comparison) {
      html_ += "<p>Without a baseline comparison there is nothing to set side by side.</p></section>\n";
      return;
    }
    const CaseChanges& cases = pack_.cases;
    if (cases.regressed_total == 0) {
      html_ += "<p>No case passed less often on the candidate than on the baseline.</p></section>\n";
      return;
    }
    html_ += "<p>" + std::to_string(cases.regressed_total) +
             " cases passed less often on the candidate than on the baseline. Each shows what the case asked, the "
             "baseline's answer and the candidate's, with the checks that passed (\u2713) or failed (\u2717).</p>";
    for (const auto& change : cases.regressed) {
      html_ += "<article class=\"case\"><h3>" + E(change.case_id);
      for (const auto& t : change.tags) html_ += "<span class=\"tag\">" + E(t) + "</span>";
      html_ += "</h3>";
      if (!change.description.empty()) html_ += "<p>" + E(change.description) + "</p>";
      if (!change.input.empty()) {
        html_ += "<dl>";
        for (const auto& [key, value] : change.input) {
          size_t dropped = 0;
          html_ += "<dt>" + E(key) + "</dt><dd>" + E(Clip(value, kMaxInputBytes, &dropped)) +
                   (dropped ? "\u2026" : "") + "</dd>";
        }
        html_ += "</dl>";
      }
      html_ += "<div class=\"sides\">";
      Side(change.baseline, "baseline", "Baseline");
      Side(change.candidate, "candidate", "Candidate");
      html_ += "</div></article>";
    }
    if (cases.regressed_total > cases.regressed.size())
      html_ += "<p>\u2026and " + std::to_string(cases.regressed_total - cases.regressed.size()) +
               " more cases got worse. <code>driftwatch report " + E(Short(pack_.candidate.id)) +
               " --format json</code> lists every result.</p>";
    html_ += "</section>\n";
  }

  void Versions() {
    const RunFacts& cand = pack_.candidate;
    const RunFacts* base = pack_.baseline ? &*pack_.baseline : nullptr;
    html_ +=
        "<section><h2>Versions and hashes</h2><p>What exactly was compared. Rows that differ between the "
        "baseline and the candidate are highlighted.</p><table><thead><tr><th></th>";
    if (base) html_ += "<th>Baseline</th>";
    html_ += "<th>Candidate</th></tr></thead><tbody>";
    auto group = [&](const std::string& name) {
      html_ += "<tr class=\"group\"><th colspan=\"" + std::string(base ? "3" : "2") + "\">" + E(name) + "</th></tr>";
    };
    // `cell` formats one run's value; rows whose raw values differ are marked.
    auto row = [&](const std::string& label, const std::function<std::string(const RunFacts&)>& raw,
                   const std::function<std::string(const std::string&)>& cell) {
      const bool changed = base && raw(*base) != raw(cand);
      html_ += std::string("<tr") + (changed ? " class=\"changed\"" : "") + "><td>" + E(label) + "</td>";
      if (base) html_ += "<td>" + cell(raw(*base)) + "</td>";
      html_ += "<td>" + cell(raw(cand)) + "</td></tr>";
    };
    auto text = [](const std::string& s) { return Text(s); };
    group("Golden set");
    row(
        "Name and version", [](const RunFacts& r) { return r.golden_set + "@" + std::to_string(r.golden_set_version); },
        text);
    row(
        "Cases", [](const RunFacts& r) { return std::to_string(r.case_count); }, text);
    row(
        "Manifest sha256", [](const RunFacts& r) { return r.golden_set_manifest_sha256; }, Hash);
    group("Model under test (target)");
    row(
        "Target", [](const RunFacts& r) { return r.target; }, text);
    row(
        "Provider and model", [](const RunFacts& r) { return r.provider + " / " + r.model; }, text);
    row(
        "Target version hash", [](const RunFacts& r) { return r.target_version_hash; }, Hash);
    row(
        "Prompt sha256", [](const RunFacts& r) { return r.prompt_sha256; }, Hash);
    row(
        "Target settings sha256", [](const RunFacts& r) { return r.target_spec_sha256; }, Hash);
    group("Scoring");
    row(
        "Scorer", [](const RunFacts& r) { return r.scorer; }, text);
    row(
        "Scorer version hash", [](const RunFacts& r) { return r.scorer_version_hash; }, Hash);
    row(
        "Judge model", [](const RunFacts& r) { return r.judge.empty() ? std::string("none") : r.judge; }, text);
    group("Run");
    row(
        "Run id", [](const RunFacts& r) { return r.id; }, Hash);
    row(
        "Status", [](const RunFacts& r) { return r.status; }, text);
    row(
        "Started", [](const RunFacts& r) { return When(r.created_at); }, text);
    row(
        "Finished", [](const RunFacts& r) { return When(r.finished_at); }, text);
    row(
        "Requested by", [](const RunFacts& r) { return r.requested_by + " (" + r.trigger + ")"; }, text);
    row(
        "Repeats per case", [](const RunFacts& r) { return std::to_string(r.repeats); }, text);
    row(
        "Driftwatch build", [](const RunFacts& r) { return r.runner_build; }, text);
    row(
        "Host", [](const RunFacts& r) { return r.runner_host; }, text);
    group("Results");
    row(
        "Pass rate (95% CI)",
        [&](const RunFacts& r) {
          return r.pass_rate ? Percent(*r.pass_rate) + PassRateInterval(r) : std::string("no scored result");
        },
        text);
    row(
        "Results stored", [](const RunFacts& r) { return std::to_string(r.results); }, text);
    row(
        "Infrastructure failures", [](const RunFacts& r) { return std::to_string(r.infra_failures); }, text);
    row(
        "Cost (USD)", [](const RunFacts& r) { return FormatFixed(r.cost_usd, 4); }, text);
    row(
        "Results sha256", [](const RunFacts& r) { return r.results_sha256; }, Hash);
    row(
        "Scores sha256", [](const RunFacts& r) { return r.scores_sha256; }, Hash);
    html_ += "</tbody></table>";
    if (pack_.comparison) {
      const ComparisonFacts& c = *pack_.comparison;
      html_ += "<h3>Comparison</h3><table><tbody>";
      html_ += "<tr><td>Comparison sha256</td><td>" + Hash(c.sha256) + "</td></tr>";
      html_ += "<tr><td>Random seed (reproducible)</td><td><code>" + E(c.seed) + "</code></td></tr>";
      html_ += "<tr><td>Policy</td><td>\u03b1 = " + Printf("%g", c.alpha) + ", q = " + Printf("%g", c.fdr_q) +
               ", practical floor " + Printf("%g", 100 * c.delta_min) + " points, non-inferiority margin " +
               Printf("%g", 100 * c.ni_margin) + " points, " + E(CiName(c.ci_level)) + "</td></tr>";
      html_ += "</tbody></table>";
    }
    html_ += "</section>\n";
  }

  void Audit() {
    const AuditFacts& a = pack_.audit;
    html_ += "<section><h2>Audit trail</h2><p class=\"callout " +
             std::string(a.checked && a.ok ? "good"
                         : a.checked       ? "bad"
                                           : "") +
             "\">" + AuditSentence() + "</p>";
    if (a.checked && !a.head_hash.empty()) html_ += "<p>Chain head " + Hash(a.head_hash) + "</p>";
    html_ += "</section>\n";
  }

  void Glossary() {
    html_ += R"(<section><h2>How to read this pack</h2><dl class="glossary">
<dt>Baseline and candidate</dt><dd>The baseline is the run that was signed off earlier; the candidate is the new run.
Both answered the same test cases, and each case is compared with itself.</dd>
<dt>pp (percentage points)</dt><dd>The difference between two percentages: 93.0% to 87.0% is &#8722;6.0 pp.</dd>
<dt>95% CI (confidence interval)</dt><dd>The range the true change lies in with 95% confidence. When the whole range
lies on one side of zero (of &#215;1.00 for ratios), the change is unlikely to be chance.</dd>
<dt>p and q</dt><dd>How likely a difference this large would be if nothing had really changed. q corrects p for
checking many metrics and slices at once. Small values mean a real change.</dd>
<dt>&#215;1.25</dt><dd>A ratio: the candidate's latency, length or cost is 1.25 times the baseline's.</dd>
<dt>Non-inferiority</dt><dd>A check that the candidate is not worse than the baseline by more than an agreed
margin.</dd>
<dt>sha256</dt><dd>A fingerprint: any change to what it covers (test cases, prompt, model settings, results, the
comparison) changes it, so reviewers know they approved exactly this evidence.</dd>
</dl></section>
)";
  }

  void Appendix() {
    std::vector<const VerdictRow*> rest;
    if (pack_.comparison) {
      auto ordered = OrderedRows(pack_.comparison->rows);
      if (ordered.size() > kMaxVerdictRows) ordered.resize(kMaxVerdictRows);
      for (const VerdictRow* r : ordered)
        if (!Notable(*r)) rest.push_back(r);
    }
    const bool manifest = pack_.review && !pack_.review->evidence_json.empty();
    if (rest.empty() && !manifest) return;
    html_ += "<section class=\"appendix\"><h2>Appendix</h2>";
    if (!rest.empty()) {
      html_ += "<h3>Every other metric and slice</h3>";
      VerdictTable(rest);
    }
    if (manifest)
      html_ +=
          "<h3>The evidence manifest</h3><p>As frozen when the review was requested; its canonical JSON hashes "
          "to " +
          Hash(pack_.review->evidence_sha256) + ".</p><pre class=\"manifest\">" + E(pack_.review->evidence_json) +
          "</pre>";
    html_ += "</section>\n";
  }

  const EvidencePack& pack_;
  std::string html_;
};

}  // namespace

std::string PlainVerdictSentence(const VerdictRow& row, double ci_level) {
  const std::string metric = MetricLabel(row.metric) + SliceLabel(row.slice);
  std::string change;
  if (row.delta) {
    change = Change(row.kind, *row.delta);
    if (row.ci_low && row.ci_high)
      change += " (" + CiName(ci_level) + " " + ChangeNumber(row.kind, *row.ci_low) + " to " +
                ChangeNumber(row.kind, *row.ci_high) + ")";
  }
  const std::string tail = change.empty() ? "" : ": " + change;
  if (row.verdict == "regressed") return "Candidate is worse than baseline on " + metric + tail;
  if (row.verdict == "improved") return "Candidate is better than baseline on " + metric + tail;
  if (row.verdict == "unchanged") return "No meaningful difference between candidate and baseline on " + metric + tail;
  if (row.verdict == "changed") {
    if (row.changed_share && row.null_changed_share)
      return "Candidate's " + metric +
             " changed beyond the baseline's own run-to-run variation: " + Percent(*row.changed_share, 0) +
             " of cases changed (" + Percent(*row.null_changed_share, 0) + " between baseline repeats)";
    return "Candidate's " + metric + " changed" + tail;
  }
  if (row.verdict == "insufficient_data")
    return "Not enough data to judge " + metric + (row.reason.empty() ? "" : ": " + row.reason);
  return MetricLabel(row.metric) + SliceLabel(row.slice) + ": " + row.verdict + tail;
}

std::string RenderEvidenceHtml(const EvidencePack& pack) { return Page(pack).Render(); }

}  // namespace dw::report
