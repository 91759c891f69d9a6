// Charts a person would rather look at (issue 20, point 7): bar chart labels clear of the title and
// run names in full, radars of at most a few polygons without unfinished runs, confusion matrices
// scaled (not in scroll boxes) with axis titles, a colour scale and cell values, single points off
// the frame, and a --metric typo as an error.
#include <catch2/catch.hpp>

#include <regex>

#include <nlohmann/json.hpp>

#include "../test_util.h"
#include "../xml_check.h"
#include "nlpc/core/error.h"
#include "nlpc/runs/report.h"
#include "nlpc/runs/svg.h"

using nlohmann::json;
using nlpc::test::check_xml;
using nlpc::test::count;

namespace {
std::string make_run(const nlpc::test::TempDir& dir, const std::string& id, const std::string& name, double acc,
                     const std::string& status = "FINISHED", int nclass = 3) {
  const std::string d = dir.file(id);
  nlpc::test::write_file(d + "/run.json", json{{"run_id", id}, {"run_name", name}, {"experiment", "default"},
                                               {"status", status}}.dump());
  std::string metrics;
  for (const char* m : {"accuracy", "f1_macro", "precision_macro", "recall_macro"})
    metrics += json{{"key", std::string("test/") + m}, {"value", acc}, {"step", 0}, {"timestamp", 1}}.dump() + "\n";
  nlpc::test::write_file(d + "/metrics.jsonl", metrics);
  json labels = json::array(), matrix = json::array();
  for (int i = 0; i < nclass; ++i) {
    labels.push_back("c" + std::to_string(i));
    json row = json::array();
    for (int j = 0; j < nclass; ++j) row.push_back(i == j ? 20 : 1);
    matrix.push_back(row);
  }
  nlpc::test::write_file(d + "/artifacts/confusion_matrix.json", json{{"labels", labels}, {"matrix", matrix}}.dump());
  return d;
}

// The y coordinates of the <text> elements of an SVG, with their content.
std::vector<std::pair<double, std::string>> texts(const std::string& svg) {
  std::vector<std::pair<double, std::string>> out;
  const std::regex re(R"re(<text x="[-0-9.]+" y="([-0-9.]+)"[^>]*>([^<]*)</text>)re");
  for (std::sregex_iterator it(svg.begin(), svg.end(), re), end; it != end; ++it)
    out.emplace_back(std::stod((*it)[1].str()), (*it)[2].str());
  return out;
}
}  // namespace

TEST_CASE("charts: bar chart names in full, value labels clear of the title", "[report][charts]") {
  const std::string long_name = "svg-words-chars-with-a-long-run-name (a1b2c3)";  // 45 characters
  std::vector<nlpc::svg::Bar> bars;
  for (int i = 0; i < 3; ++i) bars.push_back({long_name + std::to_string(i), 0.9 + 0.01 * i, 0.88, 0.99, true});
  const std::string s = nlpc::svg::bar_chart("accuracy", "accuracy", bars);
  CHECK(check_xml(s) == "");
  for (int i = 0; i < 3; ++i) CHECK(s.find(">" + long_name + std::to_string(i) + "<") != std::string::npos);
  double title_y = 0;
  std::vector<double> value_ys;
  for (const auto& [y, t] : texts(s)) {
    if (t == "accuracy" && title_y == 0) title_y = y;
    if (t.rfind("0.9", 0) == 0 && t.find('[') != std::string::npos) value_ys.push_back(y);  // "0.91  [0.88, 0.99]"
  }
  REQUIRE(value_ys.size() == 3);
  for (double y : value_ys) CHECK(y > title_y + 20);  // 14 px title, 11 px labels: no overlap
}

TEST_CASE("charts: confusion matrix with axis titles, colour scale and cell values, scaled", "[report][charts]") {
  std::vector<std::string> labels;
  std::vector<std::vector<double>> m(40, std::vector<double>(40, 0));
  for (int i = 0; i < 40; ++i) labels.push_back("label" + std::to_string(i)), m[i][i] = 7, m[i][(i + 1) % 40] = 2;
  const std::string s = nlpc::svg::heatmap("counts", labels, m, false);
  CHECK(check_xml(s) == "");
  CHECK(s.find(">predicted<") != std::string::npos);
  CHECK(s.find(">true<") != std::string::npos);
  CHECK(count(s, ">7</text>") == 40 + 1);  // every non-zero cell shows its value (+ the colour scale's top)
  CHECK(count(s, ">2</text>") >= 40);
  CHECK(s.find(">0</text>") != std::string::npos);  // the colour scale's bottom label
  const std::string n = nlpc::svg::heatmap("row %", labels, m, true);
  CHECK(count(n, ">78</text>") == 40);  // 7 / 9 of each row, in percent
  CHECK(n.find(">0%</text>") != std::string::npos);

  nlpc::test::TempDir dir;
  nlpc::ReportOptions o;
  o.run_dirs = {make_run(dir, "aaaaaaaa", "big", 0.8, "FINISHED", 58)};
  const std::string html = nlpc::render_report(o);
  CHECK(html.find("class=\"scroll\"><svg") == std::string::npos);  // no heat map in a scroll box
  CHECK(html.find("class=\"fit\"><svg") != std::string::npos);
}

TEST_CASE("charts: a single point sits inside the frame", "[report][charts]") {
  const std::string s = nlpc::svg::line_chart("test/accuracy", "step", "accuracy", {{"eval", {{0.0, 0.8}}}});
  std::smatch m;
  REQUIRE(std::regex_search(s, m, std::regex(R"re(<circle cx="([0-9.]+)" cy="([0-9.]+)")re")));
  const double cx = std::stod(m[1].str()), cy = std::stod(m[2].str());
  CHECK(cx > 64 + 100);        // not on the y axis (x = 64) ...
  CHECK(cx < 640 - 16 - 100);  // ... nor on the right edge: centred
  CHECK(cy > 32 + 5);
  CHECK(cy < 360 - 48 - 5);
}

TEST_CASE("charts: radar without unfinished runs, never more than a few polygons", "[report][charts]") {
  nlpc::test::TempDir dir;
  nlpc::ReportOptions o;
  for (int i = 0; i < 8; ++i) {
    o.run_dirs.push_back(make_run(dir, "run0000" + std::to_string(i), "run-" + std::to_string(i), 0.6 + 0.03 * i));
  }
  o.run_dirs.push_back(make_run(dir, "failed00", "broken", 0.1, "FAILED"));
  const std::string html = nlpc::render_report(o);
  const auto overview = html.substr(html.find("Metrics overview"));
  const auto svgs = nlpc::test::extract_svgs(overview.substr(0, overview.find("<h2>", 10)));
  REQUIRE(svgs.size() == 8);  // small multiples: one per FINISHED run
  for (const auto& s : svgs) {
    CHECK(check_xml(s) == "");
    CHECK(count(s, "class=\"series\"") <= 2);  // the run, and the best run as a grey outline
    CHECK(s.find("broken") == std::string::npos);
  }
  CHECK(overview.find("1 run(s) not FINISHED are left out") != std::string::npos);
  CHECK(overview.find("best run by accuracy, run-7") != std::string::npos);

  nlpc::ReportOptions few;
  few.run_dirs = {o.run_dirs[0], o.run_dirs[1], o.run_dirs[8]};
  const std::string h2 = nlpc::render_report(few);
  const auto radar = nlpc::test::extract_svgs(h2.substr(h2.find("Metrics overview")));
  REQUIRE(!radar.empty());
  CHECK(count(radar[0], "class=\"series\"") == 2);  // one overlaid chart, FAILED run left out
}

TEST_CASE("charts: a --metric no run has is a usage error naming the close one", "[report][charts]") {
  nlpc::test::TempDir dir;
  nlpc::ReportOptions o;
  o.run_dirs = {make_run(dir, "aaaaaaaa", "a", 0.8)};
  o.metric = "accurcy";
  CHECK_NOTHROW(nlpc::render_report(o));  // the default metric may be absent (e.g. summarize runs)
  o.metric_required = true;
  try {
    nlpc::render_report(o);
    FAIL("no error");
  } catch (const nlpc::UsageError& e) {
    CHECK_THAT(e.what(), Catch::Contains("did you mean accuracy?") && Catch::Contains("f1_macro"));
  }
}
