// Inline SVG line charts.
#include "report/chart.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <regex>
#include <string>

#include "report/markup_check.h"

namespace dw::report {
namespace {

using testing::CountOf;
using ::testing::HasSubstr;
using ::testing::Not;

LineChart TwoSeries() {
  LineChart chart;
  chart.title = "Pass rate by run";
  chart.description = "one point per run";
  chart.percent = true;
  chart.x_labels = {"03-01 09:00", "03-01 10:00", "03-01 11:00"};
  chart.series = {{"bot", "#175cd3", false, {{0, 0.93, 0.90, 0.96}, {1, 0.94, 0.91, 0.97}, {2, 0.92, 0.89, 0.95}}},
                  {"bot-next", "#c11574", false, {{2, 0.81, 0.77, 0.85, true, true}}}};
  chart.references = {{0.93, "signed-off baseline 93.0%", "#067647"}};
  return chart;
}

TEST(LineChartSvg, IsOneWellFormedSvgElementWithTitleAndDescription) {
  std::string svg = RenderLineChartSvg(TwoSeries());
  EXPECT_EQ(svg.rfind("<svg class=\"chart\" viewBox=\"0 0 760.0 260.0\"", 0), 0u);
  EXPECT_EQ(CountOf(svg, "<svg"), 1u);
  EXPECT_EQ(svg.substr(svg.size() - 6), "</svg>");
  EXPECT_EQ(testing::WellFormednessError(svg), "");
  EXPECT_THAT(svg, HasSubstr("<title>Pass rate by run</title><desc>one point per run</desc>"));
}

TEST(LineChartSvg, DrawsALineThroughEachSeriesOfSeveralPoints) {
  std::string svg = RenderLineChartSvg(TwoSeries());
  std::smatch match;
  ASSERT_TRUE(std::regex_search(svg, match, std::regex("<polyline points=\"([^\"]*)\"")));
  EXPECT_EQ(CountOf(match[1].str(), ","), 3u);  // three x,y pairs
  EXPECT_EQ(CountOf(svg, "<polyline"), 1u);     // a one-point series is a marker only
}

TEST(LineChartSvg, ShadesTheIntervalAsAClosedBandAndWhiskers) {
  std::string svg = RenderLineChartSvg(TwoSeries());
  EXPECT_EQ(CountOf(svg, "fill-opacity=\"0.15\""), 1u);
  EXPECT_TRUE(std::regex_search(svg, std::regex("<path d=\"M[0-9. L]+ Z\" fill=\"#175cd3\" fill-opacity")));
  EXPECT_EQ(CountOf(svg, "stroke-opacity=\"0.45\""), 4u);
}

TEST(LineChartSvg, MarksAlarmsAndTheHighlightedRunAndExplainsThemInTheLegend) {
  std::string svg = RenderLineChartSvg(TwoSeries());
  EXPECT_THAT(svg, HasSubstr("r=\"5\" fill=\"#d92d20\""));
  EXPECT_THAT(svg, HasSubstr("r=\"8\" fill=\"none\""));
  EXPECT_THAT(svg, HasSubstr(">drift alarm</text>"));
  EXPECT_THAT(svg, HasSubstr(">this run</text>"));
  EXPECT_THAT(svg, HasSubstr(">signed-off baseline 93.0%</text>"));
  EXPECT_THAT(svg, HasSubstr("stroke-dasharray=\"6 4\""));
}

TEST(LineChartSvg, PercentChartsLabelTheAxisInPercent) {
  std::string svg = RenderLineChartSvg(TwoSeries());
  EXPECT_TRUE(std::regex_search(svg, std::regex(">[0-9]+%</text>")));
  LineChart plain = TwoSeries();
  plain.percent = false;
  EXPECT_FALSE(std::regex_search(RenderLineChartSvg(plain), std::regex(">[0-9.]+%</text>")));
}

TEST(LineChartSvg, EscapesEveryLabel) {
  LineChart chart = TwoSeries();
  chart.title = "<b>title</b>";
  chart.series[0].name = "bot<script>";
  chart.x_labels[0] = "a&b";
  chart.references[0].label = "\"quoted\"";
  std::string svg = RenderLineChartSvg(chart);
  EXPECT_THAT(svg, Not(HasSubstr("<script")));
  EXPECT_THAT(svg, Not(HasSubstr("<b>")));
  EXPECT_THAT(svg, HasSubstr("bot&lt;script&gt;"));
  EXPECT_THAT(svg, HasSubstr(">a&amp;b</text>"));
  EXPECT_EQ(testing::WellFormednessError(svg), "");
}

TEST(LineChartSvg, SkipsNonFinitePointsAndPointsOffTheAxis) {
  LineChart chart = TwoSeries();
  chart.series[0].points.push_back({7, 0.5});
  chart.series[0].points.push_back({1, std::nan("")});
  std::smatch match;
  std::string svg = RenderLineChartSvg(chart);
  ASSERT_TRUE(std::regex_search(svg, match, std::regex("<polyline points=\"([^\"]*)\"")));
  EXPECT_EQ(CountOf(match[1].str(), ","), 3u);
  EXPECT_THAT(svg, Not(HasSubstr("nan")));
}

TEST(LineChartSvg, WithoutPointsSaysThereIsNoHistory) {
  LineChart chart;
  chart.title = "Pass rate by run";
  std::string svg = RenderLineChartSvg(chart);
  EXPECT_THAT(svg, HasSubstr("No history to draw yet"));
  EXPECT_THAT(svg, Not(HasSubstr("<polyline")));
  EXPECT_EQ(testing::WellFormednessError(svg), "");
}

TEST(LineChartSvg, NonNegativeSeriesNeverGetANegativeAxis) {
  LineChart chart;
  chart.x_labels = {"1", "2", "3"};
  chart.series = {{"S-", "#c11574", false, {{0, 0.0}, {1, 2.5}, {2, 20.0}}}};
  chart.references = {{5, "alarm threshold", "#d92d20"}};
  std::string svg = RenderLineChartSvg(chart);
  EXPECT_THAT(svg, HasSubstr(">0</text>"));
  EXPECT_FALSE(std::regex_search(svg, std::regex(">-[0-9.]+</text>")));
}

TEST(LineChartSvg, AFlatSingleValueStillGetsARange) {
  LineChart chart;
  chart.x_labels = {"only"};
  chart.series = {{"bot", "#175cd3", false, {{0, 1.0}}}};
  chart.percent = true;
  std::string svg = RenderLineChartSvg(chart);
  EXPECT_THAT(svg, HasSubstr(">100%</text>"));
  EXPECT_THAT(svg, Not(HasSubstr("nan")));
  EXPECT_THAT(svg, Not(HasSubstr("inf")));
}

}  // namespace
}  // namespace dw::report
