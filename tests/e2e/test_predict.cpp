// End-to-end: nlpc predict over CSV/JSONL with a model trained by the test.
#include <catch2/catch.hpp>

#include <filesystem>
#include <regex>

#include <nlohmann/json.hpp>

#include "../test_util.h"
#include "nlpc/io/csv.h"

using nlohmann::json;
using nlpc::test::fixture;
using nlpc::test::read_file;
using nlpc::test::run_nlpc;
using nlpc::test::TempDir;
using nlpc::test::write_file;
namespace fs = std::filesystem;

namespace {
std::string model_dir() { return nlpc::test::trained_baseline_model(); }

std::vector<std::vector<std::string>> read_csv(const std::string& path) {
  nlpc::io::CsvReader reader(path);
  std::vector<std::vector<std::string>> rows{reader.header()};
  nlpc::io::CsvRecord rec;
  while (reader.next(rec)) rows.push_back(rec.fields);
  return rows;
}

const char* kInput =
    "id,text,note\n"
    "1,\"A Python 3 library for parsing, with \"\"quotes\"\"\nand a second line\",\"x, y\"\n"
    "2,a strategy game with 3D graphics,\n"
    "3,TrueType font family with wide Unicode coverage,  spaced  \n"
    "4,audio sound mixer and synthesizer for ALSA,z\n";
}  // namespace

TEST_CASE("predict: every column and row kept in order, quoting preserved", "[e2e][predict]") {
  TempDir d;
  write_file(d.file("in.csv"), kInput);
  auto r = run_nlpc("--threads 1 predict -m " + model_dir() + " -i " + d.file("in.csv") + " -o " +
                    d.file("out.csv") + " --top-k 2 --all-probs --batch-size 2 --window 3");
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  auto rows = read_csv(d.file("out.csv"));
  REQUIRE(rows.size() == 5);
  REQUIRE(rows[0].size() == 3 + 2 + 2 + 6);
  CHECK(rows[0][0] == "id");
  CHECK(rows[0][3] == "label");
  CHECK(rows[0][4] == "score");
  CHECK(rows[0][5] == "top_labels");
  CHECK(rows[0][7].rfind("prob_", 0) == 0);
  auto in = read_csv(d.file("in.csv"));
  for (size_t i = 1; i < rows.size(); ++i) {
    for (size_t c = 0; c < 3; ++c) CHECK(rows[i][c] == in[i][c]);  // order and content kept
    double sum = 0;
    for (size_t c = 7; c < rows[i].size(); ++c) sum += std::stod(rows[i][c]);
    CHECK(sum == Approx(1.0).epsilon(1e-4));
    CHECK(std::count(rows[i][5].begin(), rows[i][5].end(), ';') == 1);
  }
  CHECK(rows[2][3] == "games");
  CHECK(rows[3][3] == "fonts");
  CHECK(rows[4][3] == "sound");
  CHECK_FALSE(fs::exists(d.file("out.csv.tmp-") ));
}

TEST_CASE("predict: stdin to stdout, JSONL with probabilities", "[e2e][predict]") {
  auto r = run_nlpc("--threads 1 predict -m " + model_dir() + " -i - -o - --input-format csv", kInput);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.rfind("id,text,note,label,score\n", 0) == 0);
  CHECK_THAT(r.out, Catch::Contains("\"x, y\""));
  TempDir d;
  write_file(d.file("in.jsonl"), "{\"text\": \"fonts for latin scripts\", \"label\": \"fonts\"}\n"
                                 "{\"text\": \"a physics simulation toolkit\", \"label\": \"science\"}\n");
  auto j = run_nlpc("--threads 1 predict -m " + model_dir() + " -i " + d.file("in.jsonl") + " -o " +
                    d.file("out.jsonl") + " --all-probs");
  REQUIRE(j.exit_code == 0);
  std::istringstream is(read_file(d.file("out.jsonl")));
  std::string line;
  std::vector<json> out;
  while (std::getline(is, line)) out.push_back(json::parse(line));
  REQUIRE(out.size() == 2);
  CHECK(out[0]["text"] == "fonts for latin scripts");
  CHECK(out[0]["label"] == "fonts");                // the input's column, kept
  CHECK(out[0].contains("predicted_label"));         // the prediction, renamed to avoid the clash
  CHECK(out[0]["probabilities"].size() == 6);
}

TEST_CASE("predict: malformed rows skipped and reported, or fatal", "[e2e][predict]") {
  TempDir d;
  write_file(d.file("in.csv"), "id,text\n1,a game\n2,a font,extra\n3,a library\n");
  auto skip = run_nlpc("--threads 1 predict -m " + model_dir() + " -i " + d.file("in.csv") + " -o " +
                       d.file("out.csv") + " --on-error skip");
  INFO(skip.err);
  REQUIRE(skip.exit_code == 0);
  CHECK_THAT(skip.err, Catch::Contains("skipped 1 malformed row(s) at line(s) 3"));
  auto rows = read_csv(d.file("out.csv"));
  REQUIRE(rows.size() == 3);
  CHECK(rows[1][0] == "1");
  CHECK(rows[2][0] == "3");
  auto fail = run_nlpc("--threads 1 predict -m " + model_dir() + " -i " + d.file("in.csv") + " -o " +
                       d.file("out2.csv"));
  CHECK(fail.exit_code == 2);
  CHECK_THAT(fail.err, Catch::Contains(d.file("in.csv") + ":3:"));
  CHECK_FALSE(fs::exists(d.file("out2.csv")));  // no half file that looks complete
  for (const auto& e : fs::directory_iterator(d.path())) CHECK(e.path().filename().string().find(".tmp-") == std::string::npos);
}

TEST_CASE("predict: a missing text column lists the columns", "[e2e][predict]") {
  TempDir d;
  write_file(d.file("in.csv"), "id,body\n1,a game\n");
  auto r = run_nlpc("predict -m " + model_dir() + " -i " + d.file("in.csv") + " -o " + d.file("o.csv"));
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains("text"));
  CHECK_THAT(r.err, Catch::Contains("\"id\", \"body\""));
}

TEST_CASE("predict/eval: a folder that is not a model is a clear error, and nothing is written", "[e2e][predict]") {
  TempDir d;
  write_file(d.file("in.csv"), "id,text\n1,a game\n");
  write_file(d.file("out.csv"), "kept\n");
  auto r = run_nlpc("predict -m " + d.file("nope") + " -i " + d.file("in.csv") + " -o " + d.file("out.csv"));
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains(d.file("nope") + ": not a model folder"));
  CHECK(read_file(d.file("out.csv")) == "kept\n");  // an existing output is left untouched
  fs::create_directories(d.file("empty"));
  auto e = run_nlpc("eval --runs-dir '" + d.file("runs") + "' -m " + d.file("empty") + " -d " + d.file("in.csv") +
                    " --label-column id");
  CHECK(e.exit_code == 2);
  CHECK_THAT(e.err, Catch::Contains(d.file("empty") + "/config.json: missing"));
}
