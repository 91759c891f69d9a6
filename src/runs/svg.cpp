#include "nlpc/runs/svg.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <sstream>

namespace nlpc::svg {
namespace {
const char* kPalette[] = {"#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9",
                          "#F0E442", "#000000", "#8C564B", "#7F7F7F", "#BCBD22", "#17BECF"};

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.2f", v);
  return buf;
}

std::string open_svg(double w, double h, const std::string& title) {
  std::ostringstream os;
  os << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << num(w) << "\" height=\"" << num(h)
     << "\" viewBox=\"0 0 " << num(w) << " " << num(h) << "\" font-family=\"sans-serif\" font-size=\"12\""
     << " role=\"img\"><title>" << escape(title) << "</title>"
     << "<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>"
     << "<text x=\"" << num(w / 2) << "\" y=\"18\" text-anchor=\"middle\" font-size=\"14\" font-weight=\"bold\">"
     << escape(title) << "</text>";
  return os.str();
}

std::string text(double x, double y, const std::string& s, const char* anchor = "middle",
                 const std::string& extra = "") {
  std::ostringstream os;
  os << "<text x=\"" << num(x) << "\" y=\"" << num(y) << "\" text-anchor=\"" << anchor << "\"" << extra << ">"
     << escape(s) << "</text>";
  return os.str();
}

std::string truncate_label(const std::string& s, size_t n) {
  if (s.size() <= n) return s;
  size_t cut = n - 1;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;  // UTF-8 boundary
  return s.substr(0, cut) + "\xE2\x80\xA6";
}
}  // namespace

std::string escape(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\t') break;  // invalid in XML
        out += c;
    }
  }
  return out;
}

const char* color(size_t i) { return kPalette[i % (sizeof(kPalette) / sizeof(kPalette[0]))]; }

std::string format_number(double v) {
  char buf[32];
  double a = std::fabs(v);
  if (a != 0 && (a >= 1e5 || a < 1e-3)) {
    std::snprintf(buf, sizeof(buf), "%.2g", v);
  } else if (a >= 100) {
    std::snprintf(buf, sizeof(buf), "%.0f", v);
  } else {
    std::snprintf(buf, sizeof(buf), "%.3g", v);
  }
  return buf;
}

std::vector<double> nice_ticks(double lo, double hi, int n) {
  if (!std::isfinite(lo) || !std::isfinite(hi)) return {};
  // A range that is empty or below the values' resolution (a metric that moves by an ulp) gets a
  // visible one: the ticks must be distinct numbers.
  const double scale = std::max(std::fabs(lo), std::fabs(hi));
  if (!(hi - lo > scale * 1e-9)) hi = lo + std::max(1.0, scale * 0.1);
  const double raw = (hi - lo) / std::max(1, n);
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 2.5, 5.0, 10.0}) {
    if (m * mag >= raw) {
      step = m * mag;
      break;
    }
  }
  std::vector<double> t;
  const double first = std::ceil(lo / step - 1e-9);
  for (int i = 0; i <= 4 * std::max(1, n) + 2; ++i) {  // by index: never stalls, at most a few dozen
    const double v = (first + i) * step;
    if (v > hi + step * 1e-9) break;
    t.push_back(std::fabs(v) < step * 1e-9 ? 0.0 : v);
  }
  return t;
}

std::string line_chart(const std::string& title, const std::string& x_label, const std::string& y_label,
                       const std::vector<Series>& series) {
  const double W = 640, H = 360, L = 64, R = 16, T = 32, B = 48;
  const double legend_h = 18.0 * static_cast<double>(series.size());
  const double total_h = H + legend_h;
  double x0 = std::numeric_limits<double>::infinity(), x1 = -x0, y0 = x0, y1 = -x0;
  for (const auto& s : series) {
    for (auto [x, y] : s.points) {
      if (!std::isfinite(x) || !std::isfinite(y)) continue;
      x0 = std::min(x0, x), x1 = std::max(x1, x), y0 = std::min(y0, y), y1 = std::max(y1, y);
    }
  }
  if (!std::isfinite(x0)) x0 = 0, x1 = 1, y0 = 0, y1 = 1;
  if (x1 <= x0) x0 -= 1, x1 += 1;  // one step only (e.g. single points): centred, not on the frame
  // flat, or flat up to rounding (a metric that moves by an ulp): a visible range around it
  if (!(y1 - y0 > 1e-9 * std::max(std::fabs(y0), std::fabs(y1)))) {
    const double pad = std::max(1e-6, std::fabs(y0) * 0.1);
    y1 = y0 + pad, y0 -= pad;
  }
  const auto xt = nice_ticks(x0, x1, 6), yt = nice_ticks(y0, y1, 5);
  // 4 % of room on each side, so that no point sits on the frame; ticks stay inside the data range
  const double xpad = 0.04 * (x1 - x0), ypad = 0.04 * (y1 - y0);
  x0 -= xpad, x1 += xpad, y0 -= ypad, y1 += ypad;
  auto px = [&](double x) { return L + (x - x0) / (x1 - x0) * (W - L - R); };
  auto py = [&](double y) { return H - B - (y - y0) / (y1 - y0) * (H - T - B); };
  std::ostringstream os;
  os << open_svg(W, total_h, title);
  os << "<g class=\"axes\" stroke=\"#bbbbbb\" stroke-width=\"1\">";
  for (double v : yt) os << "<line x1=\"" << num(L) << "\" x2=\"" << num(W - R) << "\" y1=\"" << num(py(v))
                         << "\" y2=\"" << num(py(v)) << "\" stroke-dasharray=\"2,3\"/>";
  os << "<line x1=\"" << num(L) << "\" x2=\"" << num(L) << "\" y1=\"" << num(T) << "\" y2=\"" << num(H - B)
     << "\" stroke=\"#333333\"/><line x1=\"" << num(L) << "\" x2=\"" << num(W - R) << "\" y1=\"" << num(H - B)
     << "\" y2=\"" << num(H - B) << "\" stroke=\"#333333\"/></g>";
  for (double v : yt) os << text(L - 6, py(v) + 4, format_number(v), "end");
  for (double v : xt) os << text(px(v), H - B + 16, format_number(v));
  os << text((L + W - R) / 2, H - 10, x_label);
  os << text(14, (T + H - B) / 2, y_label, "middle",
             " transform=\"rotate(-90 14 " + num((T + H - B) / 2) + ")\"");
  for (size_t i = 0; i < series.size(); ++i) {
    const auto& s = series[i];
    os << "<polyline class=\"series\" data-name=\"" << escape(s.name) << "\" fill=\"none\" stroke=\""
       << color(i) << "\" stroke-width=\"1.8\" points=\"";
    for (auto [x, y] : s.points) {
      if (std::isfinite(x) && std::isfinite(y)) os << num(px(x)) << "," << num(py(y)) << " ";
    }
    os << "\"/>";
    if (s.points.size() == 1) {
      os << "<circle cx=\"" << num(px(s.points[0].first)) << "\" cy=\"" << num(py(s.points[0].second))
         << "\" r=\"3\" fill=\"" << color(i) << "\"/>";
    }
    const double ly = H + 12 + 18.0 * static_cast<double>(i);
    os << "<rect x=\"" << num(L) << "\" y=\"" << num(ly - 9) << "\" width=\"14\" height=\"10\" fill=\""
       << color(i) << "\"/>" << text(L + 20, ly, s.name, "start");
  }
  os << "</svg>";
  return os.str();
}

namespace {
// white -> dark blue, t in [0, 1]
std::string heat_color(double t) {
  const int r = static_cast<int>(255 - t * (255 - 8)), g = static_cast<int>(255 - t * (255 - 48)),
            b = static_cast<int>(255 - t * (255 - 107));
  char fill[8];
  std::snprintf(fill, sizeof(fill), "#%02x%02x%02x", r, g, b);
  return fill;
}

// A vertical colour scale of 10 steps from 0 (bottom) to vmax (top) at (x, y), `h` high.
std::string color_scale(double x, double y, double h, double vmax, bool percent) {
  std::ostringstream os;
  const int steps = 10;
  for (int s = 0; s < steps; ++s) {
    const double t = (static_cast<double>(s) + 0.5) / steps;
    os << "<rect x=\"" << num(x) << "\" y=\"" << num(y + h - h * (s + 1) / steps) << "\" width=\"12\" height=\""
       << num(h / steps + 0.5) << "\" fill=\"" << heat_color(t) << "\"/>";
  }
  os << "<rect x=\"" << num(x) << "\" y=\"" << num(y) << "\" width=\"12\" height=\"" << num(h)
     << "\" fill=\"none\" stroke=\"#999999\"/>";
  const std::string top = percent ? format_number(vmax * 100) + "%" : format_number(vmax);
  os << text(x + 16, y + 9, top, "start", " font-size=\"10\"") << text(x + 16, y + h, percent ? "0%" : "0", "start",
                                                                      " font-size=\"10\"");
  return os.str();
}

std::string cell_value(double v, bool normalized) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.0f", normalized ? v * 100 : v);
  return buf;
}
}  // namespace

std::string heatmap(const std::string& title, const std::vector<std::string>& labels,
                    const std::vector<std::vector<double>>& matrix, bool normalized) {
  const size_t n = labels.size();
  const double cell = n > 30 ? 18 : n > 12 ? 26 : 40;
  const double font = cell >= 26 ? 10 : 7.5;
  size_t longest = 0;
  for (const auto& l : labels) longest = std::max(longest, std::min<size_t>(l.size(), 18));
  const double margin = 20 + 7.0 * static_cast<double>(longest);
  const double left = 22 + margin, top = 56 + margin, grid = cell * static_cast<double>(n);
  const double W = left + grid + 70, H = top + grid + 16;
  std::vector<std::vector<double>> shown = matrix;
  double vmax = 0;
  for (auto& row : shown) {
    double sum = 0;
    for (double v : row) sum += v;
    for (double& v : row) {
      if (normalized) v = sum > 0 ? v / sum : 0;
      vmax = std::max(vmax, v);
    }
  }
  if (vmax <= 0) vmax = 1;
  std::ostringstream os;
  os << open_svg(W, H, title);
  os << text(left + grid / 2, 38, "predicted", "middle", " font-weight=\"bold\"");
  os << text(12, top + grid / 2, normalized ? "true (each row sums to 100%)" : "true", "middle",
             " font-weight=\"bold\" transform=\"rotate(-90 12 " + num(top + grid / 2) + ")\"");
  for (size_t j = 0; j < n; ++j) {  // predicted labels, rotated, above the grid
    const double x = left + cell * (static_cast<double>(j) + 0.5);
    os << text(x, top - 6, truncate_label(labels[j], 18), "start",
               " font-size=\"10\" transform=\"rotate(-60 " + num(x) + " " + num(top - 6) + ")\"");
  }
  for (size_t i = 0; i < n; ++i) {
    const double y = top + cell * static_cast<double>(i);
    os << text(left - 4, y + cell / 2 + 3, truncate_label(labels[i], 18), "end", " font-size=\"10\"");
    for (size_t j = 0; j < n; ++j) {
      const double v = i < shown.size() && j < shown[i].size() ? shown[i][j] : 0;
      const double t = v / vmax;
      const double x = left + cell * static_cast<double>(j);
      const double raw = i < matrix.size() && j < matrix[i].size() ? matrix[i][j] : 0;
      os << "<rect class=\"cell\" x=\"" << num(x) << "\" y=\"" << num(y) << "\" width=\"" << num(cell)
         << "\" height=\"" << num(cell) << "\" fill=\"" << heat_color(t) << "\" stroke=\"#eeeeee\"><title>"
         << escape(labels[i] + " → " + labels[j] + ": " + format_number(raw) +
                   (normalized ? " (" + format_number(v * 100) + "%)" : ""))
         << "</title></rect>";
      const std::string label = cell_value(v, normalized);
      if (v > 0 && label != "0") {
        os << text(x + cell / 2, y + cell / 2 + font / 2 - 1, label, "middle",
                   " font-size=\"" + num(font) + "\" fill=\"" + (t > 0.5 ? "#ffffff" : "#222222") + "\"");
      }
    }
  }
  os << color_scale(left + grid + 14, top, std::min(grid, 200.0), vmax, normalized);
  os << "</svg>";
  return os.str();
}

std::string bar_chart(const std::string& title, const std::string& x_label, const std::vector<Bar>& bars) {
  // Horizontal bars: full run names on the left, value (and interval) to the right of each bar.
  size_t longest = 8;
  for (const auto& b : bars) longest = std::max(longest, std::min<size_t>(b.name.size(), 48));
  const double row = 30, L = 16 + 6.6 * static_cast<double>(longest), plot = 420, R = 190, T = 52, B = 40;
  const double W = L + plot + R, H = T + row * static_cast<double>(bars.size()) + B;
  double hi = 0, lo = 0;
  for (const auto& b : bars) {
    hi = std::max({hi, b.value, b.has_ci ? b.high : b.value});
    lo = std::min({lo, b.value, b.has_ci ? b.low : b.value});
  }
  if (hi <= lo) hi = lo + 1;
  auto xt = nice_ticks(lo, hi, 5);
  if (xt.size() >= 2 && xt.back() < hi) xt.push_back(xt.back() + (xt[1] - xt[0]));  // the axis ends on a tick
  hi = std::max(hi, xt.back());
  auto px = [&](double v) { return L + (v - lo) / (hi - lo) * plot; };
  std::ostringstream os;
  os << open_svg(W, H, title);
  const double bottom = T + row * static_cast<double>(bars.size());
  for (double v : xt) {
    os << "<line x1=\"" << num(px(v)) << "\" x2=\"" << num(px(v)) << "\" y1=\"" << num(T - 4) << "\" y2=\""
       << num(bottom) << "\" stroke=\"#dddddd\"/>" << text(px(v), bottom + 14, format_number(v), "middle",
                                                           " font-size=\"11\"");
  }
  os << text(L + plot / 2, bottom + 32, x_label);
  for (size_t i = 0; i < bars.size(); ++i) {
    const auto& b = bars[i];
    const double y = T + row * static_cast<double>(i), cy = y + row / 2;
    const double x_lo = px(std::min(b.value, 0.0)), x_hi = px(std::max(b.value, 0.0));
    os << text(L - 8, cy + 4, truncate_label(b.name, 48), "end");
    os << "<rect class=\"bar\" x=\"" << num(x_lo) << "\" y=\"" << num(y + 6) << "\" width=\""
       << num(std::max(1.0, x_hi - x_lo)) << "\" height=\"" << num(row - 12) << "\" fill=\"" << color(i)
       << "\"><title>" << escape(b.name + ": " + format_number(b.value)) << "</title></rect>";
    std::string label = format_number(b.value);
    if (b.has_ci) {
      os << "<g class=\"ci\" stroke=\"#222222\" stroke-width=\"1.5\"><line x1=\"" << num(px(b.low)) << "\" x2=\""
         << num(px(b.high)) << "\" y1=\"" << num(cy) << "\" y2=\"" << num(cy) << "\"/><line x1=\"" << num(px(b.low))
         << "\" x2=\"" << num(px(b.low)) << "\" y1=\"" << num(cy - 6) << "\" y2=\"" << num(cy + 6) << "\"/><line x1=\""
         << num(px(b.high)) << "\" x2=\"" << num(px(b.high)) << "\" y1=\"" << num(cy - 6) << "\" y2=\"" << num(cy + 6)
         << "\"/></g>";
      label += "  [" + format_number(b.low) + ", " + format_number(b.high) + "]";
    }
    os << text(px(std::max(b.value, b.has_ci ? b.high : b.value)) + 8, cy + 4, label, "start", " font-size=\"11\"");
  }
  os << "</svg>";
  return os.str();
}

std::string radar_chart(const std::string& title, const std::vector<std::string>& axes,
                        const std::vector<std::pair<std::string, std::vector<double>>>& series, double radius,
                        size_t first_color) {
  const double R = radius, cx = R + 120, cy = R + 60;
  const double legend_top = 2 * R + 140;
  const double H = legend_top + 18.0 * static_cast<double>(series.size());
  const size_t n = axes.size();
  std::ostringstream os;
  os << open_svg(2 * R + 240, H, title);
  auto pt = [&](size_t k, double r) {
    const double a = -M_PI / 2 + 2 * M_PI * static_cast<double>(k) / static_cast<double>(std::max<size_t>(n, 1));
    return std::make_pair(cx + r * std::cos(a), cy + r * std::sin(a));
  };
  for (double level : {0.25, 0.5, 0.75, 1.0}) {
    os << "<polygon fill=\"none\" stroke=\"#dddddd\" points=\"";
    for (size_t k = 0; k < n; ++k) {
      auto [x, y] = pt(k, R * level);
      os << num(x) << "," << num(y) << " ";
    }
    os << "\"/>" << text(cx + 3, cy - R * level + 11, format_number(level), "start", " font-size=\"9\" fill=\"#999999\"");
  }
  for (size_t k = 0; k < n; ++k) {
    auto [x, y] = pt(k, R);
    auto [lx, ly] = pt(k, R + 16);
    os << "<line x1=\"" << num(cx) << "\" y1=\"" << num(cy) << "\" x2=\"" << num(x) << "\" y2=\"" << num(y)
       << "\" stroke=\"#cccccc\"/>"
       << text(lx, ly + 4, axes[k], lx < cx - 5 ? "end" : lx > cx + 5 ? "start" : "middle", " font-size=\"11\"");
  }
  for (size_t i = 0; i < series.size(); ++i) {
    const char* c = series[i].first.empty() ? "#bbbbbb" : color(first_color + i);  // unnamed: grey reference
    os << "<polygon class=\"series\" data-name=\"" << escape(series[i].first) << "\" fill=\"" << c
       << "\" fill-opacity=\"" << (series[i].first.empty() ? "0" : "0.15") << "\" stroke=\"" << c
       << "\" stroke-width=\"2\"" << (series[i].first.empty() ? " stroke-dasharray=\"4,3\"" : "") << " points=\"";
    for (size_t k = 0; k < n; ++k) {
      double v = k < series[i].second.size() ? series[i].second[k] : 0;
      v = std::isfinite(v) ? std::clamp(v, 0.0, 1.0) : 0;
      auto [x, y] = pt(k, R * v);
      os << num(x) << "," << num(y) << " ";
    }
    os << "\"/>";
    if (series[i].first.empty()) continue;
    const double ly = legend_top - 10 + 18.0 * static_cast<double>(i);
    os << "<rect x=\"40\" y=\"" << num(ly - 9) << "\" width=\"14\" height=\"10\" fill=\"" << c << "\"/>"
       << text(60, ly, series[i].first, "start");
  }
  os << "</svg>";
  return os.str();
}

}  // namespace nlpc::svg
