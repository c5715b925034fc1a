#include "report/chart.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "report/html.h"

namespace dw::report {
namespace {

constexpr double kLeft = 58, kRight = 34, kTop = 34, kBottom = 44;

std::string Coord(double v) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.1f", v);
  return buffer;
}

std::string TickLabel(double v, bool percent, double step) {
  char buffer[32];
  if (percent) {
    std::snprintf(buffer, sizeof buffer, step * 100 < 1 ? "%.1f%%" : "%.0f%%", v * 100);
  } else {
    std::snprintf(buffer, sizeof buffer, "%.3g", v);
  }
  return buffer;
}

// A 1, 2 or 5 × 10^k step giving about `target` intervals over `span`.
double NiceStep(double span, int target) {
  double raw = span / target;
  double magnitude = std::pow(10, std::floor(std::log10(raw)));
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (raw <= m * magnitude) return m * magnitude;
  return 10 * magnitude;
}

bool Drawable(const ChartPoint& p, size_t x_count) {
  return p.x >= 0 && static_cast<size_t>(p.x) < x_count && std::isfinite(p.y);
}

bool HasInterval(const ChartPoint& p) { return p.low && p.high && std::isfinite(*p.low) && std::isfinite(*p.high); }

}  // namespace

std::string RenderLineChartSvg(const LineChart& chart) {
  const double width = chart.width, height = chart.height;
  const double plot_w = width - kLeft - kRight, plot_h = height - kTop - kBottom;
  const size_t x_count = chart.x_labels.size();

  std::vector<ChartSeries> series = chart.series;
  double lo = INFINITY, hi = -INFINITY;
  bool any = false;
  for (auto& s : series) {
    std::erase_if(s.points, [&](const ChartPoint& p) { return !Drawable(p, x_count); });
    std::stable_sort(s.points.begin(), s.points.end(),
                     [](const ChartPoint& a, const ChartPoint& b) { return a.x < b.x; });
    for (const auto& p : s.points) {
      any = true;
      lo = std::min(lo, p.y);
      hi = std::max(hi, p.y);
      if (HasInterval(p)) {
        lo = std::min(lo, *p.low);
        hi = std::max(hi, *p.high);
      }
    }
  }

  std::string svg = "<svg class=\"chart\" viewBox=\"0 0 " + Coord(width) + " " + Coord(height) +
                    "\" role=\"img\" preserveAspectRatio=\"xMidYMid meet\">";
  svg += "<title>" + EscapeMarkup(chart.title) + "</title>";
  svg += "<desc>" + EscapeMarkup(chart.description) + "</desc>";
  svg += "<rect x=\"0\" y=\"0\" width=\"" + Coord(width) + "\" height=\"" + Coord(height) +
         "\" fill=\"#ffffff\" stroke=\"#d0d5dd\"/>";
  if (!any) {
    svg += "<text x=\"" + Coord(width / 2) + "\" y=\"" + Coord(height / 2) +
           "\" text-anchor=\"middle\" font-size=\"14\" fill=\"#667085\">No history to draw yet</text></svg>";
    return svg;
  }
  for (const auto& r : chart.references) {
    if (!std::isfinite(r.y)) continue;
    lo = std::min(lo, r.y);
    hi = std::max(hi, r.y);
  }
  const bool non_negative = lo >= 0;
  if (hi - lo < 1e-12) {
    double pad = chart.percent ? 0.05 : std::max(std::abs(hi) * 0.1, 1e-3);
    lo -= pad;
    hi += pad;
  }
  double pad = (hi - lo) * 0.08;
  lo -= pad;
  hi += pad;
  if (non_negative) lo = std::max(lo, 0.0);
  if (chart.percent) {
    lo = std::max(lo, 0.0);
    hi = std::min(hi, 1.0);
  }
  const double step = NiceStep(hi - lo, 4);
  lo = std::floor(lo / step) * step;
  hi = std::ceil(hi / step) * step;

  auto px = [&](int x) {
    const double inset = 14;
    if (x_count <= 1) return kLeft + plot_w / 2;
    return kLeft + inset + (plot_w - 2 * inset) * x / static_cast<double>(x_count - 1);
  };
  auto py = [&](double y) { return kTop + plot_h * (1 - (y - lo) / (hi - lo)); };

  // Grid and y ticks.
  svg += "<g font-size=\"11\" fill=\"#475467\">";
  const int ticks = static_cast<int>(std::lround((hi - lo) / step));
  for (int k = 0; k <= ticks; ++k) {
    double y = lo + k * step;
    if (std::abs(y) < step * 1e-6) y = 0;
    svg += "<line x1=\"" + Coord(kLeft) + "\" x2=\"" + Coord(kLeft + plot_w) + "\" y1=\"" + Coord(py(y)) + "\" y2=\"" +
           Coord(py(y)) + "\" stroke=\"#eaecf0\"/>";
    svg += "<text x=\"" + Coord(kLeft - 6) + "\" y=\"" + Coord(py(y) + 4) + "\" text-anchor=\"end\">" +
           EscapeMarkup(TickLabel(y, chart.percent, step)) + "</text>";
  }
  // X labels: at most about eight, evenly spaced, always the last one.
  size_t every = std::max<size_t>(1, (x_count + 7) / 8);
  for (size_t x = 0; x < x_count; ++x) {
    const bool last = x + 1 == x_count;
    // A regular label too close to the last one gives way to it.
    if (!last && (x % every != 0 || x + every / 2 >= x_count - 1)) continue;
    svg += "<text x=\"" + Coord(px(static_cast<int>(x))) + "\" y=\"" + Coord(kTop + plot_h + 18) +
           "\" text-anchor=\"middle\">" + EscapeMarkup(chart.x_labels[x]) + "</text>";
  }
  svg += "</g>";
  svg += "<line x1=\"" + Coord(kLeft) + "\" x2=\"" + Coord(kLeft) + "\" y1=\"" + Coord(kTop) + "\" y2=\"" +
         Coord(kTop + plot_h) + "\" stroke=\"#98a2b3\"/>";
  svg += "<line x1=\"" + Coord(kLeft) + "\" x2=\"" + Coord(kLeft + plot_w) + "\" y1=\"" + Coord(kTop + plot_h) +
         "\" y2=\"" + Coord(kTop + plot_h) + "\" stroke=\"#98a2b3\"/>";

  // Bands and whiskers first, so lines and markers are drawn over them.
  for (const auto& s : series) {
    const std::string color = EscapeMarkup(s.color);
    size_t i = 0;
    while (i < s.points.size()) {
      if (!HasInterval(s.points[i])) {
        ++i;
        continue;
      }
      size_t j = i;
      while (j + 1 < s.points.size() && HasInterval(s.points[j + 1])) ++j;
      if (j > i) {
        std::string d = "M";
        for (size_t k = i; k <= j; ++k)
          d += (k == i ? "" : " L") + Coord(px(s.points[k].x)) + " " + Coord(py(*s.points[k].high));
        for (size_t k = j + 1; k-- > i;) d += " L" + Coord(px(s.points[k].x)) + " " + Coord(py(*s.points[k].low));
        svg += "<path d=\"" + d + " Z\" fill=\"" + color + "\" fill-opacity=\"0.15\" stroke=\"none\"/>";
      }
      for (size_t k = i; k <= j; ++k) {
        const auto& p = s.points[k];
        svg += "<line x1=\"" + Coord(px(p.x)) + "\" x2=\"" + Coord(px(p.x)) + "\" y1=\"" + Coord(py(*p.low)) +
               "\" y2=\"" + Coord(py(*p.high)) + "\" stroke=\"" + color + "\" stroke-opacity=\"0.45\"/>";
      }
      i = j + 1;
    }
  }
  for (const auto& r : chart.references) {
    if (!std::isfinite(r.y)) continue;
    const std::string color = EscapeMarkup(r.color);
    svg += "<line x1=\"" + Coord(kLeft) + "\" x2=\"" + Coord(kLeft + plot_w) + "\" y1=\"" + Coord(py(r.y)) +
           "\" y2=\"" + Coord(py(r.y)) + "\" stroke=\"" + color + "\" stroke-dasharray=\"6 4\"/>";
    svg += "<text x=\"" + Coord(kLeft + plot_w - 4) + "\" y=\"" + Coord(py(r.y) - 5) +
           "\" text-anchor=\"end\" font-size=\"11\" fill=\"" + color + "\">" + EscapeMarkup(r.label) + "</text>";
  }
  for (const auto& s : series) {
    const std::string color = EscapeMarkup(s.color);
    if (s.points.size() > 1) {
      std::string points;
      for (const auto& p : s.points) points += (points.empty() ? "" : " ") + Coord(px(p.x)) + "," + Coord(py(p.y));
      svg += "<polyline points=\"" + points + "\" fill=\"none\" stroke=\"" + color + "\" stroke-width=\"2\"" +
             (s.dashed ? " stroke-dasharray=\"5 3\"" : "") + "/>";
    }
    for (const auto& p : s.points) {
      const std::string cx = Coord(px(p.x)), cy = Coord(py(p.y));
      if (p.highlight)
        svg += "<circle cx=\"" + cx + "\" cy=\"" + cy +
               "\" r=\"8\" fill=\"none\" stroke=\"#101828\" stroke-width=\"1.5\"/>";
      svg += "<circle cx=\"" + cx + "\" cy=\"" + cy + "\" r=\"" + (p.alarm ? "5" : "3.5") + "\" fill=\"" +
             (p.alarm ? std::string("#d92d20") : color) + "\" stroke=\"#ffffff\" stroke-width=\"1\"/>";
    }
  }

  // Legend along the top.
  double lx = kLeft;
  svg += "<g font-size=\"12\" fill=\"#344054\">";
  for (const auto& s : series) {
    svg += "<rect x=\"" + Coord(lx) + "\" y=\"12\" width=\"14\" height=\"4\" fill=\"" + EscapeMarkup(s.color) + "\"/>";
    svg += "<text x=\"" + Coord(lx + 19) + "\" y=\"18\">" + EscapeMarkup(s.name) + "</text>";
    lx += 34 + 7.0 * static_cast<double>(s.name.size());
  }
  bool alarms = false, highlights = false;
  for (const auto& s : series)
    for (const auto& p : s.points) {
      alarms |= p.alarm;
      highlights |= p.highlight;
    }
  if (alarms) {
    svg += "<circle cx=\"" + Coord(lx + 5) + "\" cy=\"14\" r=\"5\" fill=\"#d92d20\"/><text x=\"" + Coord(lx + 15) +
           "\" y=\"18\">drift alarm</text>";
    lx += 100;
  }
  if (highlights)
    svg += "<circle cx=\"" + Coord(lx + 7) +
           "\" cy=\"14\" r=\"7\" fill=\"none\" stroke=\"#101828\" "
           "stroke-width=\"1.5\"/><text x=\"" +
           Coord(lx + 19) + "\" y=\"18\">this run</text>";
  svg += "</g></svg>";
  return svg;
}

}  // namespace dw::report
