#include "stats/compare_render.h"

#include <cmath>
#include <sstream>

#include <gtest/gtest.h>

#include "stats/rng.h"
#include "stats_test_support.h"

namespace dw::stats {
namespace {

using testing::BinaryTable;
using testing::CaseId;
using testing::FastPolicy;
using testing::Metric;
using testing::Values;

ComparisonResult RunCompare(const ComparisonInput& input) { return *Compare(input, FastPolicy(), 99); }

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream stream(text);
  for (std::string line; std::getline(stream, line);) lines.push_back(line);
  return lines;
}

TEST(MetricResultToJson, CarriesTheFieldsAReviewerNeeds) {
  const ComparisonResult result = RunCompare(BinaryTable(300, 40, 4, 56));
  const MetricResult& row = result.results[0];
  const nlohmann::json json = MetricResultToJson(row);
  EXPECT_EQ(json["metric"], "pass_rate");
  EXPECT_EQ(json["slice"], "all");
  EXPECT_EQ(json["kind"], "binary");
  EXPECT_EQ(json["n"], 400);
  EXPECT_DOUBLE_EQ(json["baseline"].get<double>(), 0.85);
  EXPECT_DOUBLE_EQ(json["candidate"].get<double>(), 0.76);
  EXPECT_DOUBLE_EQ(json["delta"].get<double>(), -0.09);
  EXPECT_DOUBLE_EQ(json["ci_low"].get<double>(), row.delta_ci->low);
  EXPECT_DOUBLE_EQ(json["ci_high"].get<double>(), row.delta_ci->high);
  EXPECT_DOUBLE_EQ(json["p_value"].get<double>(), *row.p_value);
  EXPECT_DOUBLE_EQ(json["q_value"].get<double>(), *row.p_value);
  EXPECT_EQ(json["test"]["name"], "mcnemar_asymptotic");
  EXPECT_EQ(json["test"]["version"], 1);
  EXPECT_EQ(json["b"], 40);
  EXPECT_EQ(json["c"], 4);
  EXPECT_EQ(json["k_baseline"]["max"], 1);
  EXPECT_EQ(json["verdict"], "regressed");
  EXPECT_EQ(json["severity"], "critical");
  EXPECT_EQ(json["family"], "primary");
  EXPECT_EQ(json["seed"], SeedHex(row.seed));
  EXPECT_EQ(json["non_inferiority"]["status"], "fail");
  EXPECT_FALSE(json.contains("ratio"));
}

TEST(MetricResultToJson, WritesUnboundedAndAbsentValuesAsNull) {
  ComparisonInput input;
  input.metrics.push_back(Metric("score", MetricKind::kContinuous));
  CaseRecord record;
  record.id = "only";
  record.metrics.push_back(Values({0.2}, {0.4}));
  input.cases.push_back(record);
  const nlohmann::json json = MetricResultToJson(RunCompare(input).results[0]);
  EXPECT_TRUE(json["ci_low"].is_null());
  EXPECT_TRUE(json["ci_high"].is_null());
  EXPECT_TRUE(json["q_value"].is_null());
  EXPECT_FALSE(json.contains("b"));
  EXPECT_DOUBLE_EQ(json["delta"].get<double>(), 0.4 - 0.2);
}

TEST(MetricResultToJson, AddsRatioFieldsForPositiveRatioMetrics) {
  ComparisonInput input;
  input.metrics.push_back(Metric("cost_usd", MetricKind::kPositiveRatio));
  for (int i = 0; i < 40; ++i) {
    CaseRecord record;
    record.id = CaseId(i);
    record.metrics.push_back(Values({0.01 * (i + 1)}, {0.02 * (i + 1)}));
    input.cases.push_back(record);
  }
  const nlohmann::json json = MetricResultToJson(RunCompare(input).results[0]);
  EXPECT_NEAR(json["ratio"].get<double>(), 2.0, 1e-12);
  EXPECT_NEAR(json["ratio_ci_low"].get<double>(), 2.0, 1e-9);
  EXPECT_EQ(json["higher_is_better"], false);
}

TEST(ComparisonToJson, HasTheOverallVerdictPolicyAndOneEntryPerRow) {
  ComparisonInput input = BinaryTable(300, 40, 4, 56);
  for (std::size_t i = 0; i < input.cases.size(); ++i) input.cases[i].tags = {i % 2 ? "a" : "b"};
  const ComparisonResult result = RunCompare(input);
  const nlohmann::json json = ComparisonToJson(result);
  EXPECT_EQ(json["verdict"], "regressed");
  EXPECT_EQ(json["severity"], "critical");
  EXPECT_EQ(json["primary_metric"], "pass_rate");
  EXPECT_EQ(json["seed"], SeedHex(99));
  EXPECT_EQ(json["cases"], 400);
  EXPECT_EQ(json["policy"]["alpha"], 0.01);
  EXPECT_EQ(json["metrics"].size(), 3u);
  EXPECT_EQ(json["reasons"].size(), result.reasons.size());
}

TEST(RenderComparisonTable, ListsTheMostSevereRowsFirstInAlignedColumns) {
  ComparisonInput input = BinaryTable(300, 40, 4, 56);
  input.metrics.push_back(Metric("score", MetricKind::kContinuous));
  for (std::size_t i = 0; i < input.cases.size(); ++i) {
    input.cases[i].metrics.push_back(Values({0.5}, {0.5}));
  }
  const std::string table = RenderComparisonTable(RunCompare(input));
  const std::vector<std::string> lines = Lines(table);
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0].rfind("Comparison: regressed (severity critical), primary metric pass_rate*, 400 cases", 0), 0u);
  EXPECT_EQ(lines[1].rfind("SEVERITY", 0), 0u);
  EXPECT_EQ(lines[2].rfind("critical  regressed", 0), 0u);
  EXPECT_EQ(lines[3].rfind("none      unchanged", 0), 0u);
  EXPECT_NE(lines[2].find("-9.0pp"), std::string::npos);
  EXPECT_NE(lines[2].find("85.0%"), std::string::npos);
  EXPECT_NE(lines[2].find("40/4"), std::string::npos);
  // Every column starts at the same offset on every line.
  for (const char* column : {"VERDICT", "METRIC", "SLICE", "TEST"}) {
    const std::size_t offset = lines[1].find(column);
    for (std::size_t i = 2; i < lines.size(); ++i) {
      EXPECT_EQ(lines[i][offset - 1], ' ') << column << " line " << i;
      EXPECT_NE(lines[i][offset], ' ') << column << " line " << i;
    }
  }
  EXPECT_EQ(table.back(), '\n');
}

TEST(RenderComparisonTable, ShowsRatiosAsMultipliers) {
  ComparisonInput input;
  input.metrics.push_back(Metric("latency_ms", MetricKind::kPositiveRatio));
  for (int i = 0; i < 40; ++i) {
    CaseRecord record;
    record.id = CaseId(i);
    record.metrics.push_back(Values({100.0 + i}, {125.0 + 1.25 * i}));
    input.cases.push_back(record);
  }
  const std::string table = RenderComparisonTable(RunCompare(input));
  EXPECT_NE(table.find("x1.250"), std::string::npos) << table;
}

}  // namespace
}  // namespace dw::stats
