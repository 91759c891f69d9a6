#pragma once
// Small SVG chart renderers for run reports (self-contained markup, no scripts, no network).
// Each returns one <svg> element as a string. Text is XML-escaped.
#include <string>
#include <utility>
#include <vector>

namespace nlpc::svg {

std::string escape(const std::string& s);
// Qualitative palette (colour-blind friendly, Okabe-Ito + Tableau extras); i-th series colour.
const char* color(size_t i);

struct Series {
  std::string name;
  std::vector<std::pair<double, double>> points;  // (x, y)
};
// Lines against a shared x axis, one per series, with axes, ticks, labels and a legend.
std::string line_chart(const std::string& title, const std::string& x_label, const std::string& y_label,
                       const std::vector<Series>& series);

// Confusion matrix heat map: rows = true label, columns = predicted (axis titles on both), the
// value in every non-zero cell, and a colour scale. normalized: row-normalised shares (cells show
// percentages) instead of counts. Cells are `class="cell"` rects.
std::string heatmap(const std::string& title, const std::vector<std::string>& labels,
                    const std::vector<std::vector<double>>& matrix, bool normalized);

struct Bar {
  std::string name;
  double value = 0;
  double low = 0, high = 0;  // confidence interval; low == high == value when unknown
  bool has_ci = false;
};
// Horizontal bars, one row per bar: the full name on the left (up to 48 characters), the bar, its
// CI whisker, and the value (with its interval) to the right.
std::string bar_chart(const std::string& title, const std::string& x_label, const std::vector<Bar>& bars);

// Radar (spider) chart of several metrics in [0, 1], one polygon per series; a series with an
// empty name is drawn as a grey dashed reference outline without a legend entry. Named series i
// gets color(first_color + i).
std::string radar_chart(const std::string& title, const std::vector<std::string>& axes,
                        const std::vector<std::pair<std::string, std::vector<double>>>& series,
                        double radius = 130, size_t first_color = 0);

// "Nice" axis ticks covering [lo, hi] (about n of them).
std::vector<double> nice_ticks(double lo, double hi, int n);
std::string format_number(double v);

}  // namespace nlpc::svg
