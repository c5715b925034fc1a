// The shipped Prometheus rules, their promtool unit tests and the runbooks
// must agree with each other and with the metrics Driftwatch exports.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "metrics/catalogue.h"
#include "support/processes.h"
#include "support/temp_dir.h"

namespace dw::metrics {
namespace {

const std::filesystem::path kSourceDir = DRIFTWATCH_SOURCE_DIR;
const std::filesystem::path kAlertsFile = kSourceDir / "config/prometheus/driftwatch-alerts.yml";
const std::filesystem::path kRulesFile = kSourceDir / "config/prometheus/driftwatch-rules.yml";
const std::filesystem::path kRunbooks = kSourceDir / "docs/runbooks.md";
constexpr std::string_view kRunbookBase = "https://driftwatch.example.com/docs/runbooks#";

std::string Read(const std::filesystem::path& path) {
  std::string text = dw::testing::ReadFile(path);
  EXPECT_FALSE(text.empty()) << "cannot read " << path;
  return text;
}

// Alert name -> the text of its rule (one entry per rule; names may repeat).
std::multimap<std::string, std::string> AlertRules() {
  std::multimap<std::string, std::string> rules;
  std::istringstream in(Read(kAlertsFile));
  std::string name, body;
  static const std::regex kAlertLine(R"(^\s*- alert:\s*(\S+)\s*$)");
  for (std::string line; std::getline(in, line);) {
    std::smatch m;
    if (std::regex_match(line, m, kAlertLine)) {
      if (!name.empty()) rules.emplace(name, body);
      name = m[1];
      body.clear();
    } else if (!name.empty()) {
      body += line + "\n";
    }
  }
  if (!name.empty()) rules.emplace(name, body);
  return rules;
}

std::set<std::string> ExportedNames() {
  std::set<std::string> names;
  for (const MetricSpec& spec : Catalogue()) {
    std::string name(spec.name);
    names.insert(name);
    if (spec.type == prometheus::MetricType::Histogram)
      for (const char* suffix : {"_bucket", "_sum", "_count"}) names.insert(name + suffix);
  }
  return names;
}

// Metric-name tokens in `text`, split into plain names and recording-rule
// names (those with colons). Prefixes in prose ("driftwatch_last_run_*") are
// not names.
void Tokens(const std::string& text, std::set<std::string>* plain,
            std::set<std::string>* recorded) {
  static const std::regex kToken(R"([A-Za-z_:][A-Za-z0-9_:]*)");
  for (auto it = std::sregex_iterator(text.begin(), text.end(), kToken);
       it != std::sregex_iterator(); ++it) {
    std::string token = it->str();
    if (token.find("driftwatch_") == std::string::npos || token.ends_with("_")) continue;
    if (token.find(':') != std::string::npos)
      recorded->insert(token);
    else if (token.starts_with("driftwatch_"))
      plain->insert(token);
  }
}

TEST(PrometheusRules, PromtoolCheckAndUnitTestsPass) {
  dw::testing::TempDir dir;
  auto result = dw::testing::RunCommand(
      {(kSourceDir / "tests/prometheus/run_promtool_tests.sh").string()}, "", dir.path());
  EXPECT_EQ(result.exit_code, 0) << result.output;
}

TEST(PrometheusRules, RulesAndRunbooksReferenceOnlyExportedMetrics) {
  std::set<std::string> exported = ExportedNames();
  for (const auto& path : {kAlertsFile, kRulesFile, kRunbooks}) {
    std::set<std::string> plain, recorded;
    Tokens(Read(path), &plain, &recorded);
    EXPECT_FALSE(plain.empty()) << path;
    for (const std::string& name : plain)
      EXPECT_TRUE(exported.contains(name)) << path.filename() << " uses unknown metric " << name;
  }
}

TEST(PrometheusRules, AlertsUseOnlyDefinedRecordingRules) {
  std::set<std::string> defined;
  static const std::regex kRecord(R"(-\s*record:\s*(\S+))");
  std::string rules = Read(kRulesFile);
  for (auto it = std::sregex_iterator(rules.begin(), rules.end(), kRecord);
       it != std::sregex_iterator(); ++it)
    defined.insert((*it)[1]);
  EXPECT_FALSE(defined.empty());
  std::set<std::string> plain, recorded;
  Tokens(Read(kAlertsFile), &plain, &recorded);
  Tokens(Read(kRunbooks), &plain, &recorded);
  for (const std::string& name : recorded)
    EXPECT_TRUE(defined.contains(name)) << "undefined recording rule " << name;
}

TEST(PrometheusRules, EveryAlertFollowsTheMixinConventions) {
  auto rules = AlertRules();
  ASSERT_FALSE(rules.empty());
  static const std::regex kSeverity(R"(\n\s+severity:\s*(critical|warning|info)\n)");
  for (const auto& [name, body] : rules) {
    EXPECT_TRUE(std::regex_match(name, std::regex("Driftwatch[A-Z][A-Za-z]+"))) << name;
    EXPECT_TRUE(std::regex_search(body, kSeverity)) << name << " has no valid severity label";
    EXPECT_THAT(body, ::testing::HasSubstr("summary:")) << name;
    EXPECT_THAT(body, ::testing::HasSubstr("description:")) << name;
    std::string anchor = name;
    std::transform(anchor.begin(), anchor.end(), anchor.begin(), ::tolower);
    EXPECT_THAT(body, ::testing::HasSubstr("runbook_url: " + std::string(kRunbookBase) + anchor))
        << name;
  }
}

TEST(PrometheusRules, EveryAlertHasARunbookSection) {
  std::string runbooks = Read(kRunbooks);
  for (const auto& [name, body] : AlertRules())
    EXPECT_THAT(runbooks, ::testing::HasSubstr("\n## " + name + "\n")) << name;
}

TEST(PrometheusRules, EveryAlertIsUnitTestedFiringAndNotFiring) {
  std::string tests;
  for (const auto& entry : std::filesystem::directory_iterator(kSourceDir / "tests/prometheus"))
    if (entry.path().filename().string().ends_with("_test.yml")) tests += Read(entry.path());
  // A not-firing case is an alert_rule_test entry without exp_alerts, i.e. an
  // "alertname:" line not followed by "exp_alerts:".
  static const std::regex kCase(R"(alertname:\s*(\S+)\n(\s+exp_alerts:)?)");
  std::map<std::string, std::pair<int, int>> cases;  // name -> (firing, not firing)
  for (auto it = std::sregex_iterator(tests.begin(), tests.end(), kCase);
       it != std::sregex_iterator(); ++it)
    ((*it)[2].matched ? cases[(*it)[1]].first : cases[(*it)[1]].second) += 1;
  for (const auto& [name, body] : AlertRules()) {
    EXPECT_GE(cases[name].first, 1) << name << " has no firing test";
    EXPECT_GE(cases[name].second, 1) << name << " has no not-firing test";
  }
}

}  // namespace
}  // namespace dw::metrics
