// ROUGE: rouge_score's own test expectations (including its ROUGE-1.5.5 ground truth), hand-computed
// cases, the Unicode tokenizer, and the Porter stemmer against NLTK's output.
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

#include "../test_util.h"
#include "nlpc/core/error.h"
#include "nlpc/eval/rouge.h"

using namespace nlpc::eval;
using nlpc::test::fixture;

namespace {

std::vector<std::string> lines(const std::string& rel) {
  std::ifstream f(fixture(rel));
  std::vector<std::string> out;
  for (std::string l; std::getline(f, l);) out.push_back(l + "\n");  // as Python's readlines()
  return out;
}

void check(const RougeScore& s, double p, double r, double f, double eps = 1e-9) {
  CHECK(s.precision == Approx(p).margin(eps));
  CHECK(s.recall == Approx(r).margin(eps));
  CHECK(s.fmeasure == Approx(f).margin(eps));
}

using Toks = std::vector<std::string>;

}  // namespace

TEST_CASE("ROUGE: rouge_score unit expectations", "[rouge]") {
  check(rouge_score("testing one two", "testing").rouge1, 1, 1.0 / 3, 0.5);
  check(rouge_score("testing one two", "testing one").rouge2, 1, 0.5, 2.0 / 3);
  check(rouge_score("testing one two", "testing one").rougeL, 1, 2.0 / 3, 0.8);
  check(rouge_score("testing one two", "testing two").rougeL, 1, 2.0 / 3, 0.8);
  auto empty = rouge_score("testing one two", "");
  for (const auto& s : {empty.rouge1, empty.rouge2, empty.rougeL, empty.rougeLsum}) check(s, 0, 0, 0);

  auto lsum = rouge_score("w1 w2 w3 w4 w5", "w1 w2 w6 w7 w8\nw1 w3 w8 w9 w5").rougeLsum;
  check(lsum, 0.4, 0.8, 0.4 * 0.8 * 2 / 1.2);
  check(rouge_score("w1 w2 w3 w4 w5", "").rougeLsum, 0, 0, 0);
  check(rouge_score("", "w1").rougeLsum, 0, 0, 0);
  check(rouge_score("w1 w2 w3 w4 w5", "/").rougeLsum, 0, 0, 0);
}

TEST_CASE("ROUGE: LCS, union LCS and summary-level LCS (rouge_score tests)", "[rouge]") {
  Toks ref = {"1", "2", "3", "4", "5"};
  CHECK(lcs_indices(ref, {"2", "5", "3", "4"}) == std::vector<size_t>{1, 2, 3});
  CHECK(lcs_indices(ref, {"8", "9"}).empty());
  // Lin (2004) section 3.2: ref w1..w5, candidates [w1 w2 w6 w7 w8] and [w1 w3 w8 w9 w5]
  auto s = rouge_lsum({ref}, {{"1", "2", "6", "7", "8"}, {"1", "3", "8", "9", "5"}});
  check(s, 0.4, 0.8, 0.5333333333333333);
  check(rouge_lsum({{"reference"}}, {{}}), 0, 0, 0);
}

TEST_CASE("ROUGE: against ROUGE-1.5.5 (rouge_score's testdata)", "[rouge]") {
  auto targets = lines("rouge/target.txt"), predictions = lines("rouge/prediction.txt");
  REQUIRE(targets.size() == 2);
  const double eps = 5e-6;  // the expectations are rounded to 5 places
  auto s0 = rouge_score(targets[0], predictions[0]);
  check(s0.rouge1, 0.68750, 0.40741, 0.51163, eps);
  check(s0.rouge2, 0.53333, 0.30769, 0.39024, eps);
  check(s0.rougeL, 0.68750, 0.40741, 0.51163, eps);
  auto s1 = rouge_score(targets[1], predictions[1]);
  check(s1.rouge1, 0.65385, 0.40476, 0.50000, eps);
  check(s1.rouge2, 0.48000, 0.29268, 0.36364, eps);
  check(s1.rougeL, 0.65385, 0.40476, 0.50000, eps);

  RougeOptions stem;
  stem.use_stemmer = true;
  auto t0 = rouge_score(targets[0], predictions[0], stem);
  check(t0.rouge1, 0.68750, 0.40741, 0.51163, eps);
  check(t0.rouge2, 0.53333, 0.30769, 0.39024, eps);
  auto t1 = rouge_score(targets[1], predictions[1], stem);
  check(t1.rouge1, 0.69231, 0.42857, 0.52941, eps);
  check(t1.rouge2, 0.48000, 0.29268, 0.36364, eps);

  auto multi = rouge_score(nlpc::test::read_file(fixture("rouge/target_multi.0.txt")),
                           nlpc::test::read_file(fixture("rouge/prediction_multi.0.txt")), stem);
  check(multi.rougeLsum, 0.66667, 0.36538, 0.47205, eps);
}

TEST_CASE("ROUGE: hand-computed Portuguese example", "[rouge]") {
  // target: o gato comeu o peixe (5 tokens); prediction: o gato não comeu (4 tokens)
  auto s = rouge_score("O gato comeu o peixe.", "O gato NÃO comeu!");
  check(s.rouge1, 3.0 / 4, 3.0 / 5, 2.0 / 3);  // o (min 2,1), gato, comeu
  check(s.rouge2, 1.0 / 3, 1.0 / 4, 2.0 / 7);  // only "o gato"
  check(s.rougeL, 3.0 / 4, 3.0 / 5, 2.0 / 3);  // LCS "o gato comeu"
  check(s.rougeLsum, 3.0 / 4, 3.0 / 5, 2.0 / 3);
  // two sentences each: Lsum unions per target sentence, L sees one sequence
  auto m = rouge_score("a b c\nd e", "d e\na b c");
  check(m.rougeLsum, 1, 1, 1);
  check(m.rougeL, 0.6, 0.6, 0.6);
}

TEST_CASE("ROUGE tokenizer: Unicode letters kept, ASCII mode as rouge_score", "[rouge]") {
  CHECK(rouge_tokenize("A Câmara aprovou; NÃO houve ÇÉDULA-3 (2024)...") ==
        Toks{"a", "câmara", "aprovou", "não", "houve", "çédula", "3", "2024"});
  CHECK(rouge_tokenize("Ελληνικά ΚΕΙΜΕΝΑ, Русский ТЕКСТ — œuvre Łódź") ==
        Toks{"ελληνικά", "κειμενα", "русский", "текст", "œuvre", "łódź"});
  CHECK(rouge_tokenize("emoji 🙂 and “quotes” ok") == Toks{"emoji", "and", "quotes", "ok"});
  CHECK(rouge_tokenize("cafe\xCC\x81 bar") == Toks{"cafe\xCC\x81", "bar"});  // combining acute stays
  RougeOptions ascii;
  ascii.ascii_only = true;
  CHECK(rouge_tokenize("NÃO houve_x Ação", ascii) == Toks{"n", "o", "houve", "x", "a", "o"});
  RougeOptions stem;
  stem.use_stemmer = true;
  // only tokens longer than 3 characters are stemmed; non-ASCII tokens are left alone
  CHECK(rouge_tokenize("The cats were running happily; ações dies", stem) ==
        Toks{"the", "cat", "were", "run", "happili", "ações", "die"});
}

TEST_CASE("ROUGE: Porter stemmer equals NLTK on 1,629 words", "[rouge]") {
  std::ifstream f(fixture("rouge/porter_golden.tsv"));
  int n = 0, bad = 0;
  for (std::string line; std::getline(f, line); ++n) {
    auto tab = line.find('\t');
    const auto word = line.substr(0, tab), expected = line.substr(tab + 1);
    if (porter_stem(word) != expected) {
      ++bad;
      if (bad < 20) FAIL_CHECK(word << ": got " << porter_stem(word) << ", NLTK " << expected);
    }
  }
  CHECK(n == 1629);
  CHECK(bad == 0);
}

TEST_CASE("ROUGE corpus: mean of per-example F, size mismatch is a usage error", "[rouge]") {
  auto c = rouge_corpus({"testing one two", "a b"}, {"testing", "a b"});
  CHECK(c.rouge1 == Approx((0.5 + 1.0) / 2));
  CHECK(c.per_example.size() == 2);
  CHECK(c.rougeLsum == Approx((0.5 + 1.0) / 2));
  CHECK_THROWS_AS(rouge_corpus({"a"}, {}), nlpc::UsageError);
}
