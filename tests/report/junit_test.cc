// JUnit XML: well-formed whatever the case ids and outputs contain, with
// model failures as <failure> and infrastructure failures as <error>,
// counted in the suite's attributes; end to end from a stored run.
#include "report/junit.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

#include "report/xml_tree.h"
#include "support/cli_process.h"
#include "support/temp_dir.h"
#include "support/test_database.h"

namespace dw::report {
namespace {

using ::testing::HasSubstr;
using testing::ParseXml;
using testing::XmlElement;

store::RunInfo RunOf(int repeats = 1) {
  store::RunInfo run;
  run.id = "3f2a9c1e-0000-4000-8000-000000000001";
  run.golden_set = "faq";
  run.golden_set_version = 2;
  run.target = "bot";
  run.target_version_hash = "abc123";
  run.target_model = "sim-support";
  run.manifest_sha256 = "feed";
  run.status = "done";
  run.repeats = repeats;
  return run;
}

ReplayResult ResultOf(const std::string& id, Outcome outcome, int repeat = 0) {
  ReplayResult r;
  r.case_id = id;
  r.repeat = repeat;
  r.outcome = outcome;
  r.latency_ms = 12.5;
  r.output = "answer to " + id;
  return r;
}

const XmlElement& Suite(const XmlElement& root) {
  auto suites = root.Children("testsuite");
  EXPECT_EQ(suites.size(), 1u);
  return *suites.at(0);
}

TEST(JunitReport, IsWellFormedXmlWithOneTestcasePerResult) {
  std::vector<ReplayResult> results = {ResultOf("c1", Outcome::kPass), ResultOf("c2", Outcome::kPass, 1)};
  auto doc = ParseXml(RenderJunit(RunOf(2), results));
  ASSERT_TRUE(doc) << doc.error().message;
  EXPECT_EQ((*doc)->name, "testsuites");
  const XmlElement& suite = Suite(**doc);
  EXPECT_EQ(suite.Attr("name"), "faq@2 on bot");
  EXPECT_EQ(suite.Attr("tests"), "2");
  auto cases = suite.Children("testcase");
  ASSERT_EQ(cases.size(), 2u);
  EXPECT_EQ(cases[0]->Attr("classname"), "faq");
  EXPECT_EQ(cases[0]->Attr("name"), "c1 #0");
  EXPECT_EQ(cases[1]->Attr("name"), "c2 #1");
  EXPECT_EQ(cases[0]->Attr("time"), "0.013");
  EXPECT_TRUE(cases[0]->children.empty());
}

TEST(JunitReport, CountsModelFailuresAsFailuresAndInfrastructureFailuresAsErrors) {
  std::vector<ReplayResult> results = {ResultOf("ok", Outcome::kPass),
                                       ResultOf("wrong", Outcome::kFail),
                                       ResultOf("declined", Outcome::kRefusal),
                                       ResultOf("cut", Outcome::kTruncated),
                                       ResultOf("slow", Outcome::kTimeout),
                                       ResultOf("down", Outcome::kProviderError),
                                       ResultOf("unpaid", Outcome::kBudgetExceeded)};
  auto doc = ParseXml(RenderJunit(RunOf(), results));
  ASSERT_TRUE(doc) << doc.error().message;
  for (const XmlElement* counted : std::vector<const XmlElement*>{doc->get(), &Suite(**doc)}) {
    EXPECT_EQ(counted->Attr("tests"), "7");
    EXPECT_EQ(counted->Attr("failures"), "3");
    EXPECT_EQ(counted->Attr("errors"), "3");
  }
  std::map<std::string, std::string> element_of, type_of;
  for (const XmlElement* testcase : Suite(**doc).Children("testcase")) {
    for (const auto& child : testcase->children) {
      element_of[testcase->Attr("name")] = child->name;
      type_of[testcase->Attr("name")] = child->Attr("type");
    }
  }
  EXPECT_EQ(element_of, (std::map<std::string, std::string>{{"wrong", "failure"},
                                                            {"declined", "failure"},
                                                            {"cut", "failure"},
                                                            {"slow", "error"},
                                                            {"down", "error"},
                                                            {"unpaid", "error"}}));
  EXPECT_EQ(type_of["declined"], "refusal");
  EXPECT_EQ(type_of["slow"], "timeout");
  EXPECT_EQ(type_of["unpaid"], "budget_exceeded");
}

TEST(JunitReport, AFailureNamesEachFailedAssertionWithItsReasonAndTheOutput) {
  ReplayResult r = ResultOf("c9", Outcome::kFail);
  r.scores = {{"0:icontains", 0.0, false, 1.0, "expected output to contain \"a9\""},
              {"1:regex", 1.0, true, 1.0, "matched"},
              {"2:is-json", 0.0, false, 1.0, "not JSON"}};
  auto doc = ParseXml(RenderJunit(RunOf(), {r}));
  ASSERT_TRUE(doc) << doc.error().message;
  auto failures = Suite(**doc).Children("testcase").at(0)->Children("failure");
  ASSERT_EQ(failures.size(), 1u);
  EXPECT_EQ(failures[0]->Attr("message"), "fail: 0:icontains: expected output to contain \"a9\"; 2:is-json: not JSON");
  EXPECT_THAT(failures[0]->text, HasSubstr("output: answer to c9"));
  EXPECT_THAT(failures[0]->text, ::testing::Not(HasSubstr("matched")));
}

TEST(JunitReport, AnErrorCarriesTheErrorDetail) {
  ReplayResult r = ResultOf("c3", Outcome::kProviderError);
  r.error_detail = "HTTP 503 from http://127.0.0.1:9/v1/chat/completions after 3 attempts";
  auto doc = ParseXml(RenderJunit(RunOf(), {r}));
  ASSERT_TRUE(doc) << doc.error().message;
  auto errors = Suite(**doc).Children("testcase").at(0)->Children("error");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0]->Attr("type"), "provider_error");
  EXPECT_EQ(errors[0]->Attr("message"), "provider_error: " + r.error_detail);
  EXPECT_EQ(errors[0]->text, r.error_detail);
}

TEST(JunitReport, AFailureWithoutAFailedAssertionExplainsItsClass) {
  ReplayResult refused = ResultOf("c4", Outcome::kRefusal);
  ReplayResult below = ResultOf("c5", Outcome::kFail);
  below.score = 0.4;
  auto doc = ParseXml(RenderJunit(RunOf(), {refused, below}));
  ASSERT_TRUE(doc) << doc.error().message;
  auto cases = Suite(**doc).Children("testcase");
  EXPECT_EQ(cases.at(0)->Children("failure").at(0)->Attr("message"), "refusal: the model declined to answer");
  EXPECT_EQ(cases.at(1)->Children("failure").at(0)->Attr("message"), "fail: case score 0.400 below its threshold");
}

TEST(JunitReport, MarkupAndControlCharactersInIdsAndOutputsStayWellFormed) {
  ReplayResult r = ResultOf("a<b>&\"c'", Outcome::kFail);
  r.output = std::string("<script>x</script> & \x01\x1b[31m ]]> é\n");
  r.scores = {{"0:equals", 0.0, false, 1.0, "expected \"<tag>\" & more"}};
  auto doc = ParseXml(RenderJunit(RunOf(), {r}));
  ASSERT_TRUE(doc) << doc.error().message;
  const XmlElement* testcase = Suite(**doc).Children("testcase").at(0);
  EXPECT_EQ(testcase->Attr("name"), "a<b>&\"c'");
  EXPECT_THAT(testcase->Children("failure").at(0)->text, HasSubstr("<script>x</script> & \xEF\xBF\xBD"));
  EXPECT_THAT(testcase->Children("failure").at(0)->Attr("message"), HasSubstr("expected \"<tag>\" & more"));
}

TEST(XmlTreeChecker, RejectsDocumentsThatAreNotWellFormed) {
  EXPECT_FALSE(ParseXml("<a><b></a></b>"));
  EXPECT_FALSE(ParseXml("<a x=1/>"));
  EXPECT_FALSE(ParseXml("<a>fish & chips</a>"));
  EXPECT_FALSE(ParseXml("<a x=\"1\" x=\"2\"/>"));
  EXPECT_FALSE(ParseXml("<a>\x01</a>"));
  EXPECT_FALSE(ParseXml("<a/><b/>"));
  EXPECT_FALSE(ParseXml("<a>&bogus;</a>"));
  EXPECT_TRUE(ParseXml("<?xml version=\"1.0\"?>\n<a x='&lt;&#233;'>t&amp;<b/></a>\n"));
}

// End to end: a stored run with assertion failures, refusals and, once the
// budget is spent, budget_exceeded results.
TEST(JunitReport, ReportCommandEmitsEveryStoredFailureAndErrorOfTheRun) {
  dw::testing::TestDatabase tdb;
  dw::testing::TempDir dir;
  dir.WriteFile("driftwatch.yaml",
                "targets:\n  bot:\n    provider: sim\n    prompt: \"{{question}}\"\n    concurrency: 1\n"
                "    sim: {accuracy: 0.7, refusal_rate: 0.1, seed: 5}\n"
                "    price: {input_per_mtok: 10000, output_per_mtok: 10000}\n");
  std::string cases = "name: gs\ncases:\n";
  for (int i = 0; i < 60; ++i)
    cases += "  - id: c" + std::to_string(i) + "\n    vars: {question: q" + std::to_string(i) + ", expected: a" +
             std::to_string(i) + "}\n    assert: [{type: icontains, value: \"{{expected}}\"}]\n";
  dir.WriteFile("gs.yaml", cases);
  dw::testing::DriftwatchCli cli(dir.path(), tdb.url());
  auto published = cli.Run({"goldenset", "publish", "gs.yaml"});
  ASSERT_EQ(published.exit_code, 0) << published.err;
  auto run = cli.Run({"run", "-g", "gs", "-t", "bot", "--budget", "0.5", "-q"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const std::string run_id = tdb.Query("SELECT id FROM run.run");
  auto report = cli.Run({"report", run_id.substr(0, 8), "--format", "junit"});
  ASSERT_EQ(report.exit_code, 0) << report.err;
  auto doc = ParseXml(report.out);
  ASSERT_TRUE(doc) << doc.error().message << "\n" << report.out;

  std::map<std::string, std::string> stored;  // case id -> outcome
  std::string rows = tdb.Query("SELECT string_agg(case_id || '=' || outcome, ',') FROM run.result");
  for (size_t at = 0; at < rows.size();) {
    size_t comma = rows.find(',', at);
    std::string pair = rows.substr(at, comma == std::string::npos ? std::string::npos : comma - at);
    stored[pair.substr(0, pair.find('='))] = pair.substr(pair.find('=') + 1);
    at = comma == std::string::npos ? rows.size() : comma + 1;
  }
  ASSERT_EQ(stored.size(), 60u);
  size_t model_failures = 0, infra = 0;
  for (const auto& [id, outcome] : stored) {
    if (outcome == "budget_exceeded")
      ++infra;
    else if (outcome != "pass")
      ++model_failures;
  }
  ASSERT_GT(infra, 0u) << "the budget should stop the run before the end";
  ASSERT_GT(model_failures, 0u);
  const XmlElement& suite = Suite(**doc);
  EXPECT_EQ(suite.Attr("tests"), "60");
  EXPECT_EQ(suite.Attr("failures"), std::to_string(model_failures));
  EXPECT_EQ(suite.Attr("errors"), std::to_string(infra));
  for (const XmlElement* testcase : suite.Children("testcase")) {
    const std::string outcome = stored.at(testcase->Attr("name"));
    auto failure = testcase->Children("failure");
    auto error = testcase->Children("error");
    if (outcome == "pass") {
      EXPECT_TRUE(testcase->children.empty()) << testcase->Attr("name");
    } else if (outcome == "budget_exceeded") {
      ASSERT_EQ(error.size(), 1u) << testcase->Attr("name");
      EXPECT_EQ(error[0]->Attr("type"), "budget_exceeded");
      EXPECT_THAT(error[0]->Attr("message"), HasSubstr("budget"));
    } else {
      ASSERT_EQ(failure.size(), 1u) << testcase->Attr("name");
      EXPECT_EQ(failure[0]->Attr("type"), outcome);
      if (outcome == "fail") EXPECT_THAT(failure[0]->Attr("message"), HasSubstr("0:icontains: "));
    }
  }
}

}  // namespace
}  // namespace dw::report
