// Tokenizer behaviour beyond the goldens: decode round-trips, offsets, padding, truncation errors,
// vocabulary lookups and errors for missing/corrupt files.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <random>

#include "../test_util.h"
#include "nlpc/core/error.h"
#include "nlpc/text/families.h"
#include "nlpc/text/tokenizer.h"
#include "nlpc/text/unicode.h"

using namespace nlpc::text;
using nlpc::test::fixture;
using nlpc::test::TempDir;
using nlpc::test::write_file;

namespace {
const Tokenizer& tok(const std::string& rel) {
  static std::map<std::string, std::unique_ptr<Tokenizer>> cache;
  auto& t = cache[rel];
  if (!t) t = load_tokenizer(fixture(rel));
  return *t;
}
EncodeOptions plain() {
  EncodeOptions o;
  o.add_special_tokens = false;
  return o;
}
}  // namespace

TEST_CASE("byte-level BPE decode returns the original bytes for valid UTF-8", "[text]") {
  const auto& t = tok("text/whisper-tiny");
  std::mt19937 rng(7);
  const std::vector<std::string> alphabet = {"a", "Z", " ", "  ", "\t", "\n", "é", "ß", "中", "😀", "'s", "0", "!",
                                             "\xF0\x9F\x91\xA8\xE2\x80\x8D", "\x01", "<|", "|>", "\xC2\xA0"};
  for (int iter = 0; iter < 300; ++iter) {
    std::string s;
    int n = static_cast<int>(rng() % 40);
    for (int k = 0; k < n; ++k) s += alphabet[rng() % alphabet.size()];
    auto e = t.encode(s, plain());
    INFO(s);
    CHECK(t.decode(e.ids) == s);
  }
}

TEST_CASE("byte-level BPE decode of invalid UTF-8 replaces maximal subparts like HF", "[text]") {
  const auto& t = tok("text/whisper-tiny");
  std::mt19937 rng(11);
  for (int iter = 0; iter < 300; ++iter) {
    std::string s;
    int n = static_cast<int>(rng() % 24);
    for (int k = 0; k < n; ++k) s.push_back(static_cast<char>(rng() % 256));
    auto e = t.encode(s, plain());
    CHECK(t.decode(e.ids) == unicode::utf8_lossy(s));
  }
  CHECK(unicode::utf8_lossy("a\xF0\x9F\x98") == "a\xEF\xBF\xBD");  // truncated 4-byte sequence: one U+FFFD
  CHECK(unicode::utf8_lossy("\xC0\x80") == "\xEF\xBF\xBD\xEF\xBF\xBD");
  CHECK(unicode::utf8_lossy("\xED\xA0\x80x") == "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBDx");
  // A token that holds the first bytes of an emoji decodes to U+FFFD on its own.
  auto e = t.encode("😀", plain());
  REQUIRE(e.ids.size() == 2);
  CHECK(t.decode({e.ids[0]}) == "\xEF\xBF\xBD");
}

TEST_CASE("byte-level BPE pre-tokenizer follows the GPT-2 pattern", "[text]") {
  auto split = [](const std::string& s) {
    std::vector<std::pair<uint32_t, uint32_t>> r;
    ByteBpeTokenizer::pre_tokenize(s, r);
    std::vector<std::string> out;
    for (auto [a, b] : r) out.push_back(s.substr(a, b - a));
    return out;
  };
  CHECK(split("Hello world") == std::vector<std::string>{"Hello", " world"});
  CHECK(split("it's  a   test\n") == std::vector<std::string>{"it", "'s", " ", " a", "  ", " test", "\n"});
  CHECK(split("x  !!?") == std::vector<std::string>{"x", " ", " !!?"});
  CHECK(split("abc123 45") == std::vector<std::string>{"abc", "123", " 45"});
  CHECK(split("  ") == std::vector<std::string>{"  "});
}

TEST_CASE("decoders: WordPiece joins ## and cleans spaces, Metaspace restores spaces", "[text]") {
  const auto& bert = tok("text/bert-base-uncased");
  auto e = bert.encode("Hello, world! Unaffable isn't it?");
  CHECK(bert.decode(e.ids) == "[CLS] hello, world! unaffable isn't it? [SEP]");
  CHECK(bert.decode(e.ids, true) == "hello, world! unaffable isn't it?");
  const auto& t5 = tok("text/t5-small");
  auto f = t5.encode("Hello world, how are you?");
  CHECK(t5.decode(f.ids) == "Hello world, how are you?</s>");
  CHECK(t5.decode(f.ids, true) == "Hello world, how are you?");
}

TEST_CASE("offsets point into the original text", "[text]") {
  const auto& bert = tok("text/bert-base-uncased");
  std::string s = "Hello, Ação world!";
  auto e = bert.encode(s);
  auto c = char_offsets(s, e.offsets);
  std::vector<std::pair<uint32_t, uint32_t>> want = {{0, 0}, {0, 5}, {5, 6}, {7, 9}, {9, 11}, {12, 17}, {17, 18}, {0, 0}};
  CHECK(c == want);
  CHECK(e.tokens == std::vector<std::string>{"[CLS]", "hello", ",", "ac", "##ao", "world", "!", "[SEP]"});
  const auto& t5 = tok("text/t5-small");
  auto f = t5.encode("Hello  world", plain());
  REQUIRE(f.size() == 2);
  CHECK(f.offsets[0] == std::make_pair(0u, 5u));
  CHECK(f.offsets[1] == std::make_pair(7u, 12u));
  const auto& w = tok("text/whisper-tiny");
  auto g = w.encode(" Hello there", plain());
  REQUIRE(g.size() == 2);
  CHECK(g.offsets[0] == std::make_pair(0u, 6u));
  CHECK(g.offsets[1] == std::make_pair(6u, 12u));
}

TEST_CASE("padding, attention mask, token types and special-token mask", "[text]") {
  const auto& bert = tok("text/bert-base-uncased");
  EncodeOptions o;
  o.max_length = 9;
  o.pad_to_max_length = true;
  auto e = bert.encode_pair("a b", "c", o);
  CHECK(e.ids == std::vector<int32_t>{101, 1037, 1038, 102, 1039, 102, 0, 0, 0});
  CHECK(e.type_ids == std::vector<int32_t>{0, 0, 0, 0, 1, 1, 0, 0, 0});
  CHECK(e.attention_mask == std::vector<int32_t>{1, 1, 1, 1, 1, 1, 0, 0, 0});
  CHECK(e.special_tokens_mask == std::vector<uint8_t>{1, 0, 0, 1, 0, 1, 1, 1, 1});
  CHECK(bert.special_id("pad") == 0);
  CHECK(bert.special_id("mask") == 103);
}

TEST_CASE("truncation strategies that cannot be honoured fail clearly", "[text]") {
  const auto& bert = tok("text/bert-base-uncased");
  EncodeOptions o;
  o.max_length = 4;
  o.truncation = Truncation::kOnlySecond;
  CHECK_THROWS_AS(bert.encode("one two three four five", o), nlpc::UsageError);
  o.truncation = Truncation::kOnlyFirst;
  CHECK_THROWS_WITH(bert.encode_pair("a", "b c d e f g", o), Catch::Contains("only_first"));
  o.max_length = 2;
  o.truncation = Truncation::kLongestFirst;
  CHECK_THROWS_WITH(bert.encode_pair("a", "b", o), Catch::Contains("shorter than the 3 special tokens"));
  CHECK_THROWS_AS(parse_truncation("longest"), nlpc::UsageError);
}

TEST_CASE("vocabulary lookups", "[text]") {
  const auto& bert = tok("text/bert-base-uncased");
  CHECK(bert.token_to_id("[CLS]") == 101);
  CHECK(bert.token_to_id("hello") == 7592);
  CHECK(bert.token_to_id("no-such-token-here") == -1);
  CHECK(bert.id_to_token(102) == "[SEP]");
  CHECK_THROWS_AS(bert.id_to_token(999999), nlpc::UsageError);
  const auto& w = tok("text/whisper-tiny");
  CHECK(w.vocab_size() == 51865);
  CHECK(w.is_special(50257));
  CHECK(!w.is_special(50364));  // timestamps are added, not special
  CHECK(w.id_to_token(50364) == "<|0.00|>");
}

TEST_CASE("missing and corrupt tokenizer files give errors that name the file", "[text]") {
  TempDir d;
  CHECK_THROWS_WITH(load_tokenizer(d.file("nope")), Catch::Contains("nope: no such file or folder"));
  CHECK_THROWS_WITH(load_tokenizer(d.path().string()), Catch::Contains("holds no tokenizer files"));
  write_file(d.file("vocab.json"), "{\"a\": 0}");
  CHECK_THROWS_WITH(load_tokenizer(d.path().string()), Catch::Contains("merges.txt: missing"));
  write_file(d.file("tokenizer.json"), "{\"model\": {\"type\": \"WordPiece\", \"vocab\": ");
  CHECK_THROWS_WITH(load_tokenizer(d.path().string()),
                    Catch::Contains("tokenizer.json: is not valid JSON") && Catch::Contains("expected"));
  write_file(d.file("tokenizer.json"), "{\"model\": {\"type\": \"WordLevel\", \"vocab\": {}}}");
  CHECK_THROWS_WITH(load_tokenizer(d.path().string()), Catch::Contains("unsupported model type \"WordLevel\""));
  write_file(d.file("tokenizer.json"), "{\"model\": {\"type\": \"WordPiece\"}}");
  CHECK_THROWS_WITH(load_tokenizer(d.path().string()), Catch::Contains("missing \"vocab\" in model"));
  write_file(d.file("bad.model"), std::string("\x0a\xff\xff\xff\x0f garbage", 12));
  CHECK_THROWS_WITH(load_tokenizer(d.file("bad.model")), Catch::Contains("bad.model: is not a valid SentencePiece model"));
  write_file(d.file("empty.model"), "");
  CHECK_THROWS_WITH(load_tokenizer(d.file("empty.model")), Catch::Contains("no pieces"));
  TempDir e;
  write_file(e.file("vocab.json"), "{\"a\": 0}");
  write_file(e.file("merges.txt"), "#version: 0.2\na b c\n");
  CHECK_THROWS_WITH(load_tokenizer(e.path().string()), Catch::Contains("merges.txt:2: expected two tokens"));
  TempDir f;
  write_file(f.file("vocab.txt"), "a\nb\n");
  CHECK_THROWS_WITH(load_tokenizer(f.path().string()), Catch::Contains("vocab.txt") && Catch::Contains("[UNK]"));
  CHECK_THROWS_AS(PrecompiledCharsmap(std::string("\xff\xff\x00\x00", 4)), nlpc::RuntimeError);
}

TEST_CASE("BertNormalizer honours lowercase and strip_accents like HF", "[text]") {
  std::vector<std::string> vocab = {"[UNK]", "a"};
  auto norm = [&](bool lower, int strip, const std::string& s) {
    BertNormalizerConfig c;
    c.lowercase = lower;
    c.strip_accents = strip;
    return WordPieceTokenizer(vocab, "[UNK]", c).normalize(s);
  };
  CHECK(norm(true, -1, "Ação İ") == "acao i");
  CHECK(norm(true, 0, "Ação İ") == "ação i\xCC\x87");  // full lower-casing: İ → i + U+0307
  CHECK(norm(false, -1, "Ação") == "Ação");
  CHECK(norm(false, 1, "Ação") == "Acao");
  CHECK(norm(true, -1, "a\x01" "b\xE2\x80\x8B" "c\td") == "abc d");  // controls and Cf dropped, tab → space
  CHECK(norm(true, -1, "中a") == " 中 a");
}

TEST_CASE("WordPiece splits words over 100 characters to [UNK] and uses ## continuations", "[text]") {
  const auto& bert = tok("text/bert-base-uncased");
  auto e = bert.encode(std::string(101, 'a') + " unaffable", plain());
  CHECK(e.tokens == std::vector<std::string>{"[UNK]", "una", "##ffa", "##ble"});
  CHECK(e.offsets[0] == std::make_pair(0u, 101u));
}

TEST_CASE("slow BPE folders take specials from special_tokens_map.json, appended after the vocabulary", "[text]") {
  // whisper-tiny.en ships vocab.json + merges.txt ending at <|endoftext|>; its 106 additional special
  // tokens exist only in special_tokens_map.json and get the next ids in list order, as
  // transformers' slow WhisperTokenizer assigns them (.en: <|startoftranscript|> 50257 after
  // <|endoftext|> 50256). The fixture's vocabulary is the multilingual one (<|endoftext|> 50257),
  // where the same rule gives the multilingual ids (<|startoftranscript|> 50258 ... 50363).
  TempDir dir;
  for (const char* f : {"vocab.json", "merges.txt"})
    std::filesystem::copy_file(fixture(std::string("text/whisper-tiny/") + f), dir.file(f));
  for (const char* f : {"special_tokens_map.json", "tokenizer_config.json"})
    std::filesystem::copy_file(fixture(std::string("text/whisper-tiny.en/") + f), dir.file(f));
  auto t = load_tokenizer(dir.path().string());
  const int32_t eot = t->token_to_id("<|endoftext|>");
  CHECK(eot == 50257);
  CHECK(t->token_to_id("<|startoftranscript|>") == 50258);
  CHECK(t->token_to_id("<|en|>") == 50259);
  CHECK(t->token_to_id("<|su|>") == 50357);
  CHECK(t->token_to_id("<|translate|>") == 50358);
  CHECK(t->token_to_id("<|transcribe|>") == 50359);
  CHECK(t->token_to_id("<|notimestamps|>") == 50363);
  CHECK(t->vocab_size() == 50364);
  // added specials are matched whole in the text, never split by BPE
  auto e = t->encode("<|startoftranscript|><|en|> hello", plain());
  REQUIRE(e.ids.size() >= 3);
  CHECK(e.ids[0] == 50258);
  CHECK(e.ids[1] == 50259);
  CHECK(t->decode({50258, 50259}, false) == "<|startoftranscript|><|en|>");
}
