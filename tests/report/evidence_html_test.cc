// The evidence pack's HTML, rendered from hand-made packs.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <regex>
#include <string>

#include "report/evidence.h"
#include "report/markup_check.h"

namespace dw::report {
namespace {

using testing::CountOf;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::WellFormednessError;

const std::string kHostile = "<script>alert('x')</script>";

RunFacts MakeRun(const std::string& id, const std::string& target, const std::string& model) {
  RunFacts r;
  r.id = id;
  r.status = "done";
  r.created_at = "2026-03-01T10:00:00Z";
  r.finished_at = "2026-03-01T10:02:00Z";
  r.requested_by = "maria";
  r.trigger = "manual";
  r.golden_set = "faq";
  r.golden_set_version = 3;
  r.golden_set_manifest_sha256 = std::string(64, 'a');
  r.case_count = 120;
  r.target = target;
  r.target_version_hash = std::string(63, 'b') + (model == "m1" ? "1" : "2");
  r.provider = "sim";
  r.model = model;
  r.prompt_sha256 = std::string(64, 'c');
  r.scorer = "driftwatch-assertions";
  r.scorer_version_hash = std::string(64, 'd');
  r.runner_build = "driftwatch 0.1.0";
  r.results = 120;
  r.results_sha256 = std::string(64, 'e');
  r.pass_rate = model == "m1" ? 0.93 : 0.87;
  r.pass_rate_low = *r.pass_rate - 0.05;
  r.pass_rate_high = *r.pass_rate + 0.04;
  r.scored = 120;
  return r;
}

VerdictRow PassRateRow() {
  VerdictRow r;
  r.metric = "pass_rate";
  r.kind = "binary";
  r.primary = true;
  r.n = 120;
  r.baseline = 0.93;
  r.candidate = 0.87;
  r.delta = -0.06;
  r.ci_low = -0.091;
  r.ci_high = -0.029;
  r.p_value = 0.0004;
  r.family = "primary";
  r.test = "mcnemar_midp";
  r.verdict = "regressed";
  r.severity = "critical";
  return r;
}

CaseChange Change(const std::string& id, const std::string& candidate_output) {
  CaseChange c;
  c.case_id = id;
  c.description = "refund window";
  c.input = {{"question", "How long do I have to return an item?"}};
  c.tags = {"billing"};
  c.baseline.outcome = "pass";
  c.baseline.output = "The answer is 30 days.";
  c.baseline.passed = 2;
  c.baseline.scored = 2;
  c.baseline.scores = {{"0:icontains", true, 1.0, "contains \"30 days\""}};
  c.candidate.outcome = "fail";
  c.candidate.output = candidate_output;
  c.candidate.passed = 0;
  c.candidate.scored = 2;
  c.candidate.scores = {{"0:icontains", false, 0.0, "expected output to contain \"30 days\""}};
  return c;
}

EvidencePack FullPack() {
  EvidencePack pack;
  pack.generated_at = "2026-03-01T11:00:00Z";
  pack.generated_by = "driftwatch 0.1.0";
  pack.candidate = MakeRun("22222222-0000-4000-8000-000000000002", "faq-bot", "m2");
  pack.baseline = MakeRun("11111111-0000-4000-8000-000000000001", "faq-bot", "m1");
  ComparisonFacts c;
  c.verdict = "regressed";
  c.severity = "critical";
  c.primary_metric = "pass_rate";
  c.cases = 120;
  c.seed = "00ff00ff00ff00ff";
  c.sha256 = std::string(64, 'f');
  c.rows.push_back(PassRateRow());
  VerdictRow latency;
  latency.metric = "latency_ms";
  latency.kind = "positive_ratio";
  latency.n = 120;
  latency.baseline = 410;
  latency.candidate = 330;
  latency.delta = std::log(0.8);
  latency.ci_low = std::log(0.7);
  latency.ci_high = std::log(0.9);
  latency.p_value = 0.002;
  latency.q_value = 0.004;
  latency.family = "secondary";
  latency.verdict = "improved";
  latency.severity = "info";
  c.rows.push_back(latency);
  pack.comparison = c;
  pack.cases.compared = 120;
  pack.cases.regressed_total = 12;
  pack.cases.improved_total = 1;
  pack.cases.regressed = {Change("refund-window", kHostile), Change("shipping", "")};
  LineChart chart;
  chart.title = "Pass rate by run";
  chart.description = "one point per run";
  chart.percent = true;
  chart.x_labels = {"03-01 09:00", "03-01 10:00"};
  chart.series = {{"faq-bot", "#175cd3", false, {{0, 0.93, 0.88, 0.97}, {1, 0.87, 0.82, 0.91, true, true}}}};
  pack.trends = {chart};
  ReviewFacts review;
  review.id = "33333333-0000-4000-8000-000000000003";
  review.environment = "production";
  review.status = "rejected";
  review.requested_by = "maria";
  review.requested_at = "2026-03-01T10:05:00.000000Z";
  review.closed_at = "2026-03-01T10:30:00.000000Z";
  review.note = "new prompt <b>v2</b>";
  review.min_approvals = 2;
  review.gates = {{"no_critical_regression", false, "comparison verdict regressed, severity critical"}};
  review.decisions = {{"2026-03-01T10:30:00.000000Z", "ana", "reject", "<img src=x onerror=alert(1)>", ""}};
  review.evidence_sha256 = std::string(64, '9');
  review.evidence_intact = true;
  review.evidence_json = "{\"schema\": \"driftwatch.evidence/1\"}";
  pack.review = review;
  pack.audit.checked = true;
  pack.audit.ok = true;
  pack.audit.events = 42;
  pack.audit.head_hash = std::string(64, '7');
  return pack;
}

TEST(PlainVerdictSentence, RegressedBinaryMetricInPercentagePointsWithItsInterval) {
  EXPECT_EQ(PlainVerdictSentence(PassRateRow(), 0.95),
            "Candidate is worse than baseline on pass rate: \u22126.0 pp (95% CI \u22129.1 to \u22122.9)");
}

TEST(PlainVerdictSentence, RatioMetricIsShownAsTimesTheBaseline) {
  VerdictRow r;
  r.metric = "latency_ms";
  r.kind = "positive_ratio";
  r.delta = std::log(0.8);
  r.ci_low = std::log(0.7);
  r.ci_high = std::log(0.9);
  r.verdict = "improved";
  EXPECT_EQ(PlainVerdictSentence(r, 0.95),
            "Candidate is better than baseline on latency: \u00d70.80 (95% CI \u00d70.70 to \u00d70.90)");
}

TEST(PlainVerdictSentence, UnchangedSliceNamesItsTagAndSignsBothBounds) {
  VerdictRow r = PassRateRow();
  r.slice = "billing";
  r.delta = 0.003;
  r.ci_low = -0.012;
  r.ci_high = 0.018;
  r.verdict = "unchanged";
  EXPECT_EQ(PlainVerdictSentence(r, 0.9),
            "No meaningful difference between candidate and baseline on pass rate (cases tagged \u201c"
            "billing\u201d): +0.3 pp (90% CI \u22121.2 to +1.8)");
}

TEST(PlainVerdictSentence, InsufficientDataGivesTheReason) {
  VerdictRow r = PassRateRow();
  r.verdict = "insufficient_data";
  r.reason = "12 paired cases, fewer than 30";
  EXPECT_EQ(PlainVerdictSentence(r, 0.95), "Not enough data to judge pass rate: 12 paired cases, fewer than 30");
}

TEST(PlainVerdictSentence, TextChangeReportsTheShareOfChangedCasesAgainstTheNoise) {
  VerdictRow r;
  r.metric = "output_text";
  r.kind = "text_change";
  r.verdict = "changed";
  r.delta = 0.21;
  r.changed_share = 0.34;
  r.null_changed_share = 0.05;
  EXPECT_EQ(PlainVerdictSentence(r, 0.95),
            "Candidate's output wording changed beyond the baseline's own run-to-run variation: 34% of cases "
            "changed (5% between baseline repeats)");
}

TEST(EvidenceHtml, LeadsWithTheVerdictBannerAndThePrimarySentence) {
  std::string html = RenderEvidenceHtml(FullPack());
  size_t banner = html.find("<section class=\"verdict bad\">");
  ASSERT_NE(banner, std::string::npos);
  size_t sentence = html.find(
      "Candidate is worse than baseline on pass rate: \u22126.0 pp (95% CI \u22129.1 to "
      "\u22122.9)");
  ASSERT_NE(sentence, std::string::npos);
  EXPECT_LT(banner, sentence);
  EXPECT_LT(sentence, html.find("<h2>Summary</h2>"));
}

TEST(EvidenceHtml, ModelOutputAndPeoplesTextAreEscapedNeverInjected) {
  std::string html = RenderEvidenceHtml(FullPack());
  EXPECT_THAT(html, Not(HasSubstr("<script")));
  EXPECT_THAT(html, Not(HasSubstr("<img")));
  EXPECT_THAT(html, Not(HasSubstr("<b>v2")));
  EXPECT_THAT(html, HasSubstr("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"));
  EXPECT_THAT(html, HasSubstr("&lt;img src=x onerror=alert(1)&gt;"));
  EXPECT_THAT(html, HasSubstr("new prompt &lt;b&gt;v2&lt;/b&gt;"));
}

TEST(EvidenceHtml, DocumentIsWellFormedMarkup) {
  EXPECT_EQ(WellFormednessError(RenderEvidenceHtml(FullPack())), "");
  EvidencePack bare;
  bare.candidate = MakeRun("44444444-0000-4000-8000-000000000004", "bot", "m1");
  EXPECT_EQ(WellFormednessError(RenderEvidenceHtml(bare)), "");
}

TEST(EvidenceHtml, SelfContainedWithoutScriptsOrExternalReferences) {
  std::string html = RenderEvidenceHtml(FullPack());
  for (const char* banned : {"http:", "https:", "<script", "<link", "<iframe", "url(", "@import"})
    EXPECT_THAT(html, Not(HasSubstr(banned))) << banned;
  EXPECT_FALSE(std::regex_search(html, std::regex(R"(<[^>]*\s(src|href|xlink:href)=)")));
  EXPECT_THAT(html, HasSubstr("<style>"));
  EXPECT_THAT(html, HasSubstr("<meta charset=\"utf-8\"/>"));
}

TEST(EvidenceHtml, PrintableWithPrintStylesAndUnbrokenCases) {
  std::string html = RenderEvidenceHtml(FullPack());
  EXPECT_THAT(html, HasSubstr("@media print"));
  EXPECT_THAT(html, HasSubstr("@page"));
  EXPECT_THAT(html, HasSubstr(".case, tr, .verdict { break-inside: avoid; }"));
}

TEST(EvidenceHtml, VerdictTableShowsLevelsChangesIntervalsAndPValues) {
  std::string html = RenderEvidenceHtml(FullPack());
  EXPECT_THAT(html, HasSubstr("<td>pass rate \u2605</td><td>all</td><td class=\"num\">120</td>"
                              "<td class=\"num\">93.0%</td><td class=\"num\">87.0%</td>"
                              "<td class=\"num\">\u22126.0 pp<br/><span class=\"muted\">\u22129.1 to \u22122.9</span>"
                              "</td><td class=\"num\">0.0004</td><td class=\"num\">\u2013</td>"));
  EXPECT_THAT(html, HasSubstr("\u00d70.80<br/><span class=\"muted\">\u00d70.70 to \u00d70.90</span>"));
  EXPECT_THAT(html, HasSubstr("<td class=\"num\">0.002</td><td class=\"num\">0.004</td>"));
}

TEST(EvidenceHtml, QuietSliceRowsMoveToTheAppendixWithANeutralBadge) {
  EvidencePack pack = FullPack();
  VerdictRow quiet = PassRateRow();
  quiet.slice = "warranty";
  quiet.n = 20;
  quiet.family = "descriptive";
  quiet.verdict = "insufficient_data";
  quiet.severity = "none";
  pack.comparison->rows.push_back(quiet);
  std::string html = RenderEvidenceHtml(pack);
  size_t appendix = html.find("<section class=\"appendix\">");
  size_t row = html.find("<td>pass rate</td><td>warranty</td>");
  ASSERT_NE(appendix, std::string::npos);
  EXPECT_GT(row, appendix);
  EXPECT_THAT(html, HasSubstr("1 more rows, for slices (tags) with no meaningful change or too few cases to judge"));
  EXPECT_THAT(html.substr(row), HasSubstr("<span class=\"badge neutral\">insufficient data</span>"));
  EXPECT_LT(html.find("<td>pass rate \u2605</td><td>all</td>"), appendix);
}

TEST(EvidenceHtml, RatioLevelsCarryTheirUnits) {
  EvidencePack pack = FullPack();
  VerdictRow cost = pack.comparison->rows[1];
  cost.metric = "cost_usd";
  cost.baseline = 7.821e-6;
  cost.candidate = 0.25;
  pack.comparison->rows.push_back(cost);
  std::string html = RenderEvidenceHtml(pack);
  EXPECT_THAT(html, HasSubstr("<td class=\"num\">410 ms</td><td class=\"num\">330 ms</td>"));
  EXPECT_THAT(html, HasSubstr("<td class=\"num\">$0.00000782</td><td class=\"num\">$0.250</td>"));
}

TEST(EvidenceHtml, RegressedCasesSideBySideWithChecksAndTheCountOfTheRest) {
  std::string html = RenderEvidenceHtml(FullPack());
  EXPECT_EQ(CountOf(html, "<article class=\"case\">"), 2u);
  EXPECT_THAT(html, HasSubstr("<h3>refund-window<span class=\"tag\">billing</span></h3>"));
  EXPECT_THAT(html, HasSubstr("<div class=\"side baseline\"><h4>Baseline \u00b7 passed 2 of 2</h4>"));
  EXPECT_THAT(html, HasSubstr("<div class=\"side candidate\"><h4>Candidate \u00b7 passed 0 of 2</h4>"));
  EXPECT_THAT(html, HasSubstr("<li class=\"fail\">\u2717 <code>0:icontains</code> 0.00: expected output to contain "
                              "&quot;30 days&quot;</li>"));
  EXPECT_THAT(html, HasSubstr("<i>(empty output)</i>"));
  EXPECT_THAT(html, HasSubstr("\u2026and 10 more cases got worse."));
  EXPECT_THAT(html, HasSubstr("12 of 120 compared cases passed less often on the candidate"));
}

TEST(EvidenceHtml, LongOutputIsClippedOnACharacterBoundary) {
  EvidencePack pack = FullPack();
  std::string long_output;
  for (int i = 0; i < 1500; ++i) long_output += "\u00e9";  // 3000 bytes
  pack.cases.regressed = {Change("long", long_output)};
  std::string html = RenderEvidenceHtml(pack);
  EXPECT_TRUE(testing::IsValidUtf8(html));
  EXPECT_THAT(html, HasSubstr("1000 more bytes not shown."));
}

TEST(EvidenceHtml, DecisionTrailListsRequestDecisionsAndMovesInTimeOrder) {
  EvidencePack pack = FullPack();
  pack.review->status = "approved";
  pack.review->decisions = {{"2026-03-01T10:20:00.000000Z", "li", "approve", "", ""},
                            {"2026-03-01T10:10:00.000000Z", "ana", "approve", "", ""}};
  pack.review->pointer_moves = {{"2026-03-01T10:20:00.500000Z",
                                 "baseline",
                                 "production",
                                 pack.candidate.id,
                                 pack.baseline->id,
                                 pack.candidate.target_version_hash,
                                 {"ana", "li"}}};
  pack.review->closed_at = "2026-03-01T10:20:00.600000Z";
  std::string html = RenderEvidenceHtml(pack);
  size_t requested = html.find("<td>maria</td><td>requested sign-off for production</td>");
  size_t ana = html.find("<td>ana</td><td>approved</td>");
  size_t li = html.find("<td>li</td><td>approved</td>");
  size_t moved = html.find(
      "<td>ana, li</td><td>moved the production baseline pointer to run 22222222</td>"
      "<td>was run 11111111</td>");
  size_t closed = html.find("<td>review closed as approved</td>");
  ASSERT_NE(requested, std::string::npos);
  ASSERT_NE(moved, std::string::npos);
  ASSERT_NE(closed, std::string::npos);
  EXPECT_LT(requested, ana);
  EXPECT_LT(ana, li);
  EXPECT_LT(li, moved);
  EXPECT_LT(moved, closed);
  EXPECT_THAT(html, HasSubstr("2026-03-01 10:10:00 UTC"));
}

TEST(EvidenceHtml, WarnsWhenTheStoredEvidenceNoLongerMatchesItsHash) {
  EvidencePack pack = FullPack();
  pack.review->evidence_intact = false;
  EXPECT_THAT(RenderEvidenceHtml(pack), HasSubstr("does not hash to this value"));
}

TEST(EvidenceHtml, WarnsWhenAnOpenReviewsEvidenceWentStale) {
  EvidencePack pack = FullPack();
  pack.review->status = "open";
  pack.review->current_evidence_sha256 = std::string(64, '8');
  std::string html = RenderEvidenceHtml(pack);
  EXPECT_THAT(html, HasSubstr("The evidence changed since the request"));
  EXPECT_THAT(html, HasSubstr(std::string(64, '8')));
}

TEST(EvidenceHtml, VersionsTableShowsFullHashesAndMarksWhatChanged) {
  std::string html = RenderEvidenceHtml(FullPack());
  EXPECT_THAT(html, HasSubstr("<tr class=\"changed\"><td>Provider and model</td><td>sim / m1</td>"
                              "<td>sim / m2</td></tr>"));
  EXPECT_THAT(html, HasSubstr("<tr><td>Manifest sha256</td><td><code class=\"hash\">" + std::string(64, 'a')));
  EXPECT_THAT(html, HasSubstr("<tr><td>Comparison sha256</td><td><code class=\"hash\">" + std::string(64, 'f')));
  EXPECT_THAT(html, HasSubstr("Evidence manifest sha256 <code class=\"hash\">" + std::string(64, '9')));
}

TEST(EvidenceHtml, ChartsAreInlineSvg) {
  std::string html = RenderEvidenceHtml(FullPack());
  EXPECT_EQ(CountOf(html, "<svg "), 1u);
  EXPECT_EQ(CountOf(html, "</svg>"), 1u);
  EXPECT_THAT(html, HasSubstr("<figcaption><b>Pass rate by run</b>"));
}

TEST(EvidenceHtml, RunWithoutComparisonOrReviewSaysSoPlainly) {
  EvidencePack pack;
  pack.generated_by = "driftwatch 0.1.0";
  pack.candidate = MakeRun("44444444-0000-4000-8000-000000000004", "bot", "m1");
  pack.audit.message = "permission denied for schema audit";
  std::string html = RenderEvidenceHtml(pack);
  EXPECT_THAT(html, HasSubstr("<p class=\"word\">No baseline comparison</p>"));
  EXPECT_THAT(html, HasSubstr("The run passed 93.0% of 120 scored results (95% CI 88.0% to 97.0%)."));
  EXPECT_THAT(html, HasSubstr("No review has been requested for this run"));
  EXPECT_THAT(html, HasSubstr("driftwatch review request 44444444 --env production"));
  EXPECT_THAT(html, HasSubstr("The audit trail was not verified: permission denied for schema audit."));
  EXPECT_THAT(html, HasSubstr("No run history for this golden set and target yet."));
  EXPECT_THAT(html, Not(HasSubstr("<th>Baseline</th>")));
}

TEST(EvidenceHtml, BrokenAuditChainIsCalledOut) {
  EvidencePack pack = FullPack();
  pack.audit.ok = false;
  pack.audit.first_bad_seq = 17;
  pack.audit.message = "row 17 no longer matches its hash";
  EXPECT_THAT(RenderEvidenceHtml(pack),
              HasSubstr("<b>The audit trail is broken</b> at event 17: row 17 no longer matches its hash."));
}

}  // namespace
}  // namespace dw::report
