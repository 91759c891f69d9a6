// WER/CER (src/eval/wer.cpp): hand-checked alignments, the normaliser, and agreement with NIST
// sclite's counts on the pairs of scripts/ref/wer_sclite.py (tests/fixtures/eval/wer_sclite.json).
#include <catch2/catch.hpp>

#include <cmath>

#include <nlohmann/json.hpp>

#include "../test_util.h"
#include "nlpc/eval/wer.h"

using namespace nlpc::eval;

namespace {
std::vector<int64_t> csdi(const EditCounts& c) { return {c.hits, c.substitutions, c.deletions, c.insertions}; }
}  // namespace

TEST_CASE("wer: hand-checked word alignments", "[wer]") {
  CHECK(csdi(word_edits("the cat sat on the mat", "the cat sat on mat")) == std::vector<int64_t>{5, 0, 1, 0});
  CHECK(csdi(word_edits("hello world", "hello big world")) == std::vector<int64_t>{2, 0, 0, 1});
  CHECK(csdi(word_edits("a b c", "a x c")) == std::vector<int64_t>{2, 1, 0, 0});
  CHECK(csdi(word_edits("a b c", "")) == std::vector<int64_t>{0, 0, 3, 0});
  CHECK(csdi(word_edits("", "a b")) == std::vector<int64_t>{0, 0, 0, 2});
  CHECK(csdi(word_edits("  a   b ", "a b")) == std::vector<int64_t>{2, 0, 0, 0});
  // two zero zero six -> two thousand six: 1 substitution + 1 deletion = 2 errors of 4
  auto c = word_edits("two zero zero six", "two thousand six");
  CHECK(c.errors() == 2);
  CHECK(error_rate(c) == Approx(0.5));
  CHECK(error_rate(EditCounts{}) == 0.0);
  CHECK(std::isinf(error_rate(word_edits("", "x"))));
  auto al = align_tokens({"a", "b"}, {"a", "c", "b"});
  REQUIRE(al.size() == 3);
  CHECK(al[1].op == 'I');
  CHECK(al[1].hyp == 1);
}

TEST_CASE("wer: characters are Unicode code points, spaces included", "[wer]") {
  CHECK(split_code_points("café").size() == 4);
  CHECK(csdi(char_edits("café", "cafe")) == std::vector<int64_t>{3, 1, 0, 0});
  CHECK(csdi(char_edits("ab cd", "abcd")) == std::vector<int64_t>{4, 0, 1, 0});
  CHECK(csdi(char_edits("один", "одн")) == std::vector<int64_t>{3, 0, 1, 0});
}

TEST_CASE("wer: normaliser lower-cases, strips punctuation, collapses spaces", "[wer]") {
  NormalizeOptions all;
  CHECK(normalize_transcript("  Hello,   World!  ", all) == "hello world");
  CHECK(normalize_transcript("Don't stop — ÉCOLE.", all) == "don t stop école");
  CHECK(normalize_transcript("well-known (very)", all) == "well known very");
  CHECK(normalize_transcript("50% + $3", all) == "50 + $3");  // symbols are not punctuation
  NormalizeOptions none{false, false, false};
  CHECK(normalize_transcript(" A, b ", none) == " A, b ");
  auto s = score_transcripts({"Hello, world."}, {"hello world"}, &all);
  CHECK(s.wer() == 0.0);
  auto raw = score_transcripts({"Hello, world."}, {"hello world"}, nullptr);
  CHECK(raw.wer() == 1.0);
  CHECK_THROWS(score_transcripts({"a"}, {}, nullptr));
}

TEST_CASE("wer: corpus rates sum errors over utterances (not a mean of rates)", "[wer]") {
  auto s = score_transcripts({"a b c d", "e"}, {"a b c d", "f"}, nullptr);
  CHECK(s.wer() == Approx(1.0 / 5.0));  // a mean of per-utterance rates would give 0.5
  CHECK(s.word_total.ref_length() == 5);
}

TEST_CASE("wer: with sclite's costs, counts equal sclite's on every reference pair", "[wer][golden]") {
  auto j = nlohmann::json::parse(nlpc::test::read_file(nlpc::test::fixture("eval/wer_sclite.json")));
  REQUIRE(j["pairs"].size() >= 20);
  EditCounts words, chars, unit_words, unit_chars;
  int64_t unit_differs = 0;
  for (const auto& p : j["pairs"]) {
    const std::string ref = p["ref"], hyp = p["hyp"];
    INFO("ref: " << ref << "\nhyp: " << hyp);
    auto w = word_edits(ref, hyp, kScliteCosts);
    auto c = char_edits(ref, hyp, kScliteCosts);
    CHECK(csdi(w) == p["words"].get<std::vector<int64_t>>());
    CHECK(csdi(c) == p["chars"].get<std::vector<int64_t>>());
    words += w;
    chars += c;
    // unit costs (nlpc's default): never more errors than sclite, same reference length
    auto uw = word_edits(ref, hyp), uc = char_edits(ref, hyp);
    CHECK(uw.errors() <= w.errors());
    CHECK(uc.errors() <= c.errors());
    CHECK(uw.ref_length() == w.ref_length());
    if (csdi(uw) != csdi(w) || csdi(uc) != csdi(c)) ++unit_differs;
    unit_words += uw;
    unit_chars += uc;
  }
  // sclite's totals for these pairs (scripts/ref/wer_sclite.py prints them)
  CHECK(csdi(words) == std::vector<int64_t>{89, 26, 10, 16});
  CHECK(csdi(chars) == std::vector<int64_t>{508, 28, 46, 70});
  CHECK(error_rate(words) == Approx(52.0 / 125.0));
  // Unit costs: the same word errors in total (52), one character error fewer (sclite aligns
  // "turn the lights off in the kitchen" / "turn lights of in kitchen please" with 16 character
  // errors, 15 are enough), and another S/D/I split on 4 of the 24 pairs.
  CHECK(unit_words.errors() == 52);
  CHECK(unit_chars.errors() == 143);
  CHECK(unit_differs == 4);
  // "a b c d e f" / "f e d c b a": sclite 1 hit + 4 S + 1 D + 1 I, unit costs 6 substitutions
  CHECK(csdi(word_edits("a b c d e f", "f e d c b a")) == std::vector<int64_t>{0, 6, 0, 0});
  CHECK(csdi(word_edits("a b c d e f", "f e d c b a", kScliteCosts)) == std::vector<int64_t>{1, 4, 1, 1});
}
