#include <catch2/catch.hpp>

#include <filesystem>
#include <limits>

#include <nlohmann/json.hpp>

#include "../test_util.h"
#include "../xml_check.h"
#include "nlpc/runs/report.h"
#include "nlpc/runs/svg.h"

using nlohmann::json;
using nlpc::test::check_xml;
using nlpc::test::count;

namespace {
std::string make_run(const nlpc::test::TempDir& dir, const std::string& id, const std::string& name, int nclass,
                     double acc, const std::string& model) {
  const std::string d = dir.file(id);
  nlpc::test::write_file(d + "/run.json", json{{"run_id", id}, {"run_name", name}, {"experiment", "default"},
                                               {"status", "FINISHED"}}.dump());
  nlpc::test::write_file(d + "/params.json", json{{"model.type", model}, {"train.lr", 0.1}}.dump());
  std::string metrics;
  for (int s = 1; s <= 5; ++s) {
    metrics += json{{"key", "train/loss"}, {"value", 2.0 / s}, {"step", s}, {"timestamp", 1}}.dump() + "\n";
    metrics += json{{"key", "valid/accuracy"}, {"value", acc - 0.1 / s}, {"step", s}, {"timestamp", 1}}.dump() + "\n";
  }
  for (const char* m : {"accuracy", "f1_macro", "precision_macro", "recall_macro"})
    metrics += json{{"key", std::string("test/") + m}, {"value", acc}, {"step", 5}, {"timestamp", 1}}.dump() + "\n";
  metrics += "{\"key\": \"test/trunc";  // a partial last line, as a killed run may leave
  nlpc::test::write_file(d + "/metrics.jsonl", metrics);
  json labels = json::array(), matrix = json::array();
  for (int i = 0; i < nclass; ++i) {
    labels.push_back("class<" + std::to_string(i) + ">");
    json row = json::array();
    for (int j = 0; j < nclass; ++j) row.push_back(i == j ? 10 + i : (i + j) % 3);
    matrix.push_back(row);
  }
  nlpc::test::write_file(d + "/artifacts/confusion_matrix.json", json{{"labels", labels}, {"matrix", matrix}}.dump());
  nlpc::test::write_file(d + "/artifacts/bootstrap.json",
                         json{{"ci", 0.95}, {"metrics", {{"accuracy", {{"value", acc}, {"low", acc - 0.02},
                                                                      {"high", acc + 0.02}}}}}}.dump());
  return d;
}
}  // namespace

TEST_CASE("report: self-contained HTML with well-formed SVG charts", "[runs][report]") {
  nlpc::test::TempDir dir;
  nlpc::ReportOptions o;
  o.run_dirs = {make_run(dir, "aaaaaaaa", "baseline", 4, 0.8, "ngram"),
                make_run(dir, "bbbbbbbb", "bert", 4, 0.85, "bert"),
                make_run(dir, "cccccccc", "big", 58, 0.7, "bert")};
  const std::string html = nlpc::render_report(o);
  CHECK(html.find("<script") == std::string::npos);
  CHECK(html.find("http://") == html.find("http://www.w3.org/2000/svg"));  // only the SVG namespace
  auto svgs = nlpc::test::extract_svgs(html);
  REQUIRE(svgs.size() >= 2 + 1 + 1 + 6);  // 2 curves, bars, radar, 3 x 2 heat maps
  for (const auto& s : svgs) CHECK(check_xml(s) == "");
  // curves: one series per run
  CHECK(count(svgs[0], "class=\"series\"") == 3);
  CHECK(svgs[0].find("train/loss") != std::string::npos);
  // bar chart with 3 bars and 3 CI whiskers
  size_t bars = 0, cis = 0, cells = 0;
  for (const auto& s : svgs) bars += count(s, "class=\"bar\""), cis += count(s, "class=\"ci\""),
                             cells += count(s, "class=\"cell\"");
  CHECK(bars == 3);
  CHECK(cis == 3);
  CHECK(cells == 2 * (16 + 16 + 58 * 58));
  CHECK(html.find("class&lt;3&gt;") != std::string::npos);  // labels escaped
  CHECK(html.find("Parameters that differ") != std::string::npos);
  CHECK(html.find("<td class=\"l\">model.type</td>") != std::string::npos);
}

TEST_CASE("report: long label lists fold into 'other'", "[runs][report]") {
  std::vector<std::string> labels;
  std::vector<std::vector<double>> m(70, std::vector<double>(70, 1));
  for (int i = 0; i < 70; ++i) labels.push_back("c" + std::to_string(i)), m[i][i] = 100 + i;
  nlpc::fold_confusion(labels, m, 20);
  REQUIRE(labels.size() == 20);
  CHECK(labels[0] == "c69");
  CHECK(labels[19] == "other (51 classes)");
  double total = 0;
  for (auto& r : m)
    for (double v : r) total += v;
  CHECK(total == Approx(70 * 69 + (100 * 70 + 69 * 70 / 2)));
}

TEST_CASE("report: per-run chart artifacts", "[runs][report]") {
  nlpc::test::TempDir dir;
  auto d = make_run(dir, "dddddddd", "r", 3, 0.9, "ngram");
  auto files = nlpc::write_run_charts(d);
  CHECK(files.size() == 4);  // two curves + two heat maps
  for (const auto& f : files) CHECK(check_xml(nlpc::test::read_file(f)) == "");
  CHECK(std::filesystem::exists(d + "/artifacts/confusion_matrix_normalized.svg"));
}

TEST_CASE("svg: nice ticks", "[runs][report]") {
  auto t = nlpc::svg::nice_ticks(0.13, 0.87, 5);
  CHECK(t.front() == Approx(0.2));
  CHECK(t.back() == Approx(0.8));
  CHECK(nlpc::svg::escape("a<b & \"c\"") == "a&lt;b &amp; &quot;c&quot;");
  // A metric that moved by two ulps (a multi-label valid/hamming_loss did): distinct ticks, no
  // endless loop; non-finite bounds give none.
  const auto flat = nlpc::svg::nice_ticks(0.011516853932584264, 0.011516853932584266, 5);
  REQUIRE(flat.size() >= 2);
  CHECK(flat.size() <= 22);
  for (size_t i = 1; i < flat.size(); ++i) CHECK(flat[i] > flat[i - 1]);
  CHECK(nlpc::svg::nice_ticks(0, std::numeric_limits<double>::infinity(), 5).empty());
  CHECK(nlpc::svg::nice_ticks(1e300, 1e300, 5).size() >= 2);
  nlpc::svg::Series s;
  s.name = "valid/hamming_loss";
  s.points = {{1, 0.011516853932584264}, {2, 0.011516853932584266}};
  CHECK(check_xml(nlpc::svg::line_chart("t", "step", "value", {s})) == "");
}
