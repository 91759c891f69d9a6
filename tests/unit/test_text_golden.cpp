// Golden tests: ids from scripts/ref/tokenizers_ref.py (an independent Python reference) on the real
// bert-base-uncased, whisper-tiny and t5-small tokenizer files and two SentencePiece models trained
// with spm_train (goldens from python3-sentencepiece).
#include <catch2/catch.hpp>

#include <fstream>
#include <map>

#include <nlohmann/json.hpp>

#include "nlpc/text/tokenizer.h"
#include "../test_util.h"

using nlpc::text::EncodeOptions;
using nlpc::text::load_tokenizer;
using nlpc::text::parse_truncation;
using nlpc::text::Tokenizer;

namespace {

std::vector<nlohmann::json> tokenizer_golden(const std::string& name) {
  std::ifstream f(nlpc::test::fixture("text/" + name));
  REQUIRE(f.good());
  std::vector<nlohmann::json> out;
  std::string line;
  while (std::getline(f, line))
    if (!line.empty()) out.push_back(nlohmann::json::parse(line));
  return out;
}

const Tokenizer& cached(const std::string& rel) {
  static std::map<std::string, std::unique_ptr<Tokenizer>> cache;
  auto& t = cache[rel];
  if (!t) t = load_tokenizer(nlpc::test::fixture(rel));
  return *t;
}

// Checks every golden case; `only_plain` restricts to add_special_tokens=false cases.
void check_goldens(const Tokenizer& tok, const std::string& file, bool only_plain = false) {
  auto cases = tokenizer_golden(file);
  REQUIRE(cases.size() >= 40);
  size_t checked = 0;
  for (const auto& c : cases) {
    EncodeOptions o;
    o.add_special_tokens = c.value("add_special_tokens", true);
    if (only_plain && o.add_special_tokens) continue;
    o.max_length = c.value("max_length", 0);
    if (c.contains("truncation")) o.truncation = parse_truncation(c["truncation"].get<std::string>());
    std::string text = c["text"].get<std::string>();
    auto e = c.contains("pair") ? tok.encode_pair(text, c["pair"].get<std::string>(), o) : tok.encode(text, o);
    INFO(file << ": " << c.dump());
    CHECK(e.ids == c["ids"].get<std::vector<int32_t>>());
    if (c.contains("type_ids")) CHECK(e.type_ids == c["type_ids"].get<std::vector<int32_t>>());
    if (c.contains("tokens")) CHECK(e.tokens == c["tokens"].get<std::vector<std::string>>());
    if (c.contains("decoded")) CHECK(tok.decode(e.ids) == c["decoded"].get<std::string>());
    ++checked;
  }
  CHECK(checked >= (only_plain ? 40u : 80u));
}

}  // namespace

TEST_CASE("WordPiece matches the reference on bert-base-uncased (tokenizer.json)", "[text][golden]") {
  const auto& tok = cached("text/bert-base-uncased");
  CHECK(tok.family() == "wordpiece");
  CHECK(tok.vocab_size() == 30522);
  check_goldens(tok, "golden_wordpiece.jsonl");
}

TEST_CASE("WordPiece from vocab.txt gives the same ids", "[text][golden]") {
  const auto& tok = cached("text/bert-base-uncased/vocab.txt");
  CHECK(tok.family() == "wordpiece");
  check_goldens(tok, "golden_wordpiece.jsonl");
}

TEST_CASE("byte-level BPE matches the reference on whisper-tiny (tokenizer.json)", "[text][golden]") {
  const auto& tok = cached("text/whisper-tiny");
  CHECK(tok.family() == "byte_bpe");
  CHECK(tok.token_to_id("<|startoftranscript|>") == 50258);
  CHECK(tok.token_to_id("<|0.00|>") == 50364);
  check_goldens(tok, "golden_bpe.jsonl");
}

TEST_CASE("byte-level BPE from vocab.json + merges.txt gives the same ids", "[text][golden]") {
  const auto& tok = cached("text/whisper-tiny/vocab.json");
  CHECK(tok.family() == "byte_bpe");
  check_goldens(tok, "golden_bpe.jsonl");
}

TEST_CASE("Unigram matches the reference on t5-small (tokenizer.json, Precompiled charsmap)", "[text][golden]") {
  const auto& tok = cached("text/t5-small");
  CHECK(tok.family() == "unigram");
  CHECK(tok.vocab_size() == 32100);
  CHECK(tok.token_to_id("<extra_id_0>") == 32099);
  CHECK(tok.special_id("pad") == 0);
  CHECK(tok.special_id("eos") == 1);
  check_goldens(tok, "golden_unigram.jsonl");
}

TEST_CASE("SentencePiece unigram .model matches python3-sentencepiece", "[text][golden]") {
  const auto& tok = cached("text/spm-unigram/spm.model");
  CHECK(tok.family() == "unigram");
  check_goldens(tok, "golden_spm_unigram.jsonl");
}

TEST_CASE("SentencePiece BPE .model matches python3-sentencepiece", "[text][golden]") {
  const auto& tok = cached("text/spm-bpe/spm.model");
  CHECK(tok.family() == "sentencepiece_bpe");
  check_goldens(tok, "golden_spm_bpe.jsonl");
}
