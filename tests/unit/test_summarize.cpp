// Summarization pieces without a model: the lead baseline, reading text/target pairs, ROUGE scores
// with bootstrap intervals.
#include <torch/torch.h>

#include <catch2/catch.hpp>

#include "../test_util.h"
#include "nlpc/tasks/summarization/summarize.h"
#include "nlpc/core/error.h"

using nlpc::lead_sentence;
using nlpc::test::TempDir;
using nlpc::test::write_file;

TEST_CASE("summarize: lead_sentence is the first sentence, whitespace collapsed", "[summarize]") {
  CHECK(lead_sentence("Play chess.  It is fun.") == "Play chess.");
  CHECK(lead_sentence("A library for\nparsing JSON. It is fast.") == "A library for parsing JSON.");
  CHECK(lead_sentence("Version 2.0 of the tool! More text.") == "Version 2.0 of the tool!");  // "2.0" is no end
  CHECK(lead_sentence("Is it? Yes.") == "Is it?");
  CHECK(lead_sentence("no final stop") == "no final stop");
  CHECK(lead_sentence("first paragraph\n\nsecond. paragraph") == "first paragraph");
  CHECK(lead_sentence("São três tabuleiros, empilhados; 96 peças. Fornece desafio.") ==
        "São três tabuleiros, empilhados; 96 peças.");
  CHECK(lead_sentence("  leading space. x") == "leading space.");
}

TEST_CASE("summarize: read_summary_set reads pairs and names bad rows", "[summarize]") {
  TempDir d;
  nlpc::DataSpec spec;
  write_file(d.file("ok.csv"), "summary,text\nshort,\"long\ntext\"\nother,\n");
  auto s = nlpc::read_summary_set(d.file("ok.csv"), spec);
  REQUIRE(s.texts.size() == 1);
  CHECK(s.texts[0] == "long\ntext");
  CHECK(s.targets[0] == "short");
  CHECK(s.skipped_empty == 1);

  write_file(d.file("empty.csv"), "summary,text\nshort,a text\n,another text\n");
  try {
    nlpc::read_summary_set(d.file("empty.csv"), spec);
    FAIL("no error");
  } catch (const nlpc::InputError& e) {
    CHECK(e.line() == 3);
    CHECK_THAT(e.what(), Catch::Contains("empty target in column \"summary\""));
  }
  // skip empty targets (counted), at most max_rows kept rows, skipped rows not counted as kept
  spec.empty_target = "skip";
  write_file(d.file("mixed.csv"), "summary,text\n,t1\ns2,\ns3,t3\ns4,t4\ns5,t5\n");
  spec.max_rows = 2;
  auto m = nlpc::read_summary_set(d.file("mixed.csv"), spec);
  CHECK(m.targets == std::vector<std::string>{"s3", "s4"});
  CHECK(m.lines == std::vector<int64_t>{4, 5});
  CHECK(m.skipped_empty_target == 1);
  CHECK(m.skipped_empty == 1);
  spec.max_rows = 0;
  // every row without a target: no example left
  write_file(d.file("none.csv"), "summary,text\n,t1\n,t2\n");
  CHECK_THROWS_WITH(nlpc::read_summary_set(d.file("none.csv"), spec), Catch::Contains("no data rows"));
  // empty_text "fail": the row and the column are named
  spec.empty_text = "fail";
  try {
    nlpc::read_summary_set(d.file("mixed.csv"), spec);
    FAIL("no error");
  } catch (const nlpc::InputError& e) {
    CHECK(e.line() == 3);
    CHECK_THAT(e.what(), Catch::Contains("empty text in column \"text\""));
  }
  spec.target_column = "abstract";
  CHECK_THROWS_AS(nlpc::read_summary_set(d.file("ok.csv"), spec), nlpc::InputError);
}

TEST_CASE("summarize: score_summaries gives corpus means and intervals around them", "[summarize]") {
  const std::vector<std::string> refs = {"the cat sat on the mat", "a quick brown fox", "hello world"};
  const std::vector<std::string> preds = {"the cat sat", "a slow brown dog", "goodbye"};
  auto s = nlpc::score_summaries(refs, preds, {}, 200, 0.9, 1);
  // Pair 1: P 3/3, R 3/6 -> F 2/3; pair 2: 2/4, 2/4 -> 1/2; pair 3: 0.
  CHECK(s.metrics.get("rouge1") == Approx((2.0 / 3 + 0.5 + 0) / 3));
  REQUIRE(s.intervals.size() == 4);
  for (const auto& iv : s.intervals) {
    CHECK(iv.lower <= iv.value);
    CHECK(iv.value <= iv.upper);
  }
  CHECK_THAT(nlpc::format_summary_scores(s), Catch::Contains("rougeLsum"));
}
