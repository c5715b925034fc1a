// Line charts as inline SVG for self-contained reports: one or more series
// over a shared ordinal x axis (runs in time order), each point with an
// optional confidence interval drawn as a shaded band, alarm and highlight
// markers, and horizontal reference lines (a baseline level, a threshold).
#pragma once

#include <optional>
#include <string>
#include <vector>

namespace dw::report {

struct ChartPoint {
  int x = 0;  // index into LineChart::x_labels
  double y = 0;
  std::optional<double> low = std::nullopt;  // interval around y; drawn when both are set
  std::optional<double> high = std::nullopt;
  bool alarm = false;      // drawn as a red marker (e.g. a drift alarm)
  bool highlight = false;  // ringed (e.g. the run under review)
};

struct ChartSeries {
  std::string name;   // legend text
  std::string color;  // CSS colour
  bool dashed = false;
  std::vector<ChartPoint> points;  // any order; sorted by x when drawn
};

struct ReferenceLine {
  double y = 0;
  std::string label;
  std::string color;
};

struct LineChart {
  std::string title;                  // heading shown above the chart and as its SVG <title>
  std::string description;            // one plain sentence for readers; the SVG <desc>
  bool percent = false;               // y values are fractions, labelled as percentages
  std::vector<std::string> x_labels;  // one per x position
  std::vector<ChartSeries> series;
  std::vector<ReferenceLine> references;
  int width = 760;
  int height = 260;
};

// The chart as one <svg> element with a viewBox (it scales with its
// container and prints), no scripts and no external references. Every text
// is escaped. Non-finite values and points outside x_labels are skipped; a
// chart without drawable points says so in place of the plot. Pure.
std::string RenderLineChartSvg(const LineChart& chart);

}  // namespace dw::report
