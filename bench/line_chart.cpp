// Draws a line chart with the run report's SVG code (src/runs/svg.cpp), for benchmark scripts.
//   bench_line_chart TITLE X_LABEL Y_LABEL OUT.svg < points.tsv
// Each input line: series name <TAB> x <TAB> y. Series keep the order of their first line.
#include <algorithm>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include "nlpc/runs/svg.h"

int main(int argc, char** argv) {
  if (argc != 5) {
    std::cerr
        << "usage: bench_line_chart TITLE X_LABEL Y_LABEL OUT.svg < points.tsv (series, x, y per line)\n";
    return 2;
  }
  std::vector<nlpc::svg::Series> series;
  std::string line;
  int64_t n = 0;
  while (std::getline(std::cin, line)) {
    ++n;
    if (line.empty()) continue;
    std::istringstream in(line);
    std::string name, xs, ys;
    if (!std::getline(in, name, '\t') || !std::getline(in, xs, '\t') || !std::getline(in, ys)) {
      std::cerr << "stdin line " << n << ": expected series<TAB>x<TAB>y\n";
      return 2;
    }
    auto it = std::find_if(series.begin(), series.end(), [&](const auto& s) { return s.name == name; });
    if (it == series.end()) it = series.insert(series.end(), nlpc::svg::Series{name, {}});
    try {
      it->points.emplace_back(std::stod(xs), std::stod(ys));
    } catch (const std::exception&) {
      std::cerr << "stdin line " << n << ": x and y must be numbers\n";
      return 2;
    }
  }
  std::ofstream out(argv[4]);
  out << nlpc::svg::line_chart(argv[1], argv[2], argv[3], series) << "\n";
  return out ? 0 : 1;
}
