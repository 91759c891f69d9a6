// e2e: `nlpc tokenize`, `nlpc tokenize decode`, `nlpc tokenize train` through the real binary.
#include <catch2/catch.hpp>

#include "../test_util.h"

using nlpc::test::fixture;
using nlpc::test::read_file;
using nlpc::test::run_nlpc;
using nlpc::test::TempDir;
using nlpc::test::write_file;

namespace {
std::string bert() { return "--tokenizer '" + fixture("text/bert-base-uncased") + "'"; }
}  // namespace

TEST_CASE("tokenize --text in ids, tokens and jsonl formats", "[tokenize_cli]") {
  auto r = run_nlpc("tokenize " + bert() + " --text 'Hello, world!'");
  REQUIRE(r.exit_code == 0);
  CHECK(r.out == "101 7592 1010 2088 999 102\n");
  r = run_nlpc("tokenize " + bert() + " --text 'Hello, world!' --format tokens --no-special-tokens");
  CHECK(r.out == "hello , world !\n");
  r = run_nlpc("tokenize " + bert() + " --text 'a b' --pair-text c --format jsonl --max-length 7 --pad");
  CHECK(r.out ==
        "{\"ids\":[101,1037,1038,102,1039,102,0],\"tokens\":[\"[CLS]\",\"a\",\"b\",\"[SEP]\",\"c\",\"[SEP]\","
        "\"[PAD]\"],\"attention_mask\":[1,1,1,1,1,1,0],\"token_type_ids\":[0,0,0,0,1,1,0],\"offsets\":[[0,0],"
        "[0,1],[2,3],[0,0],[0,1],[0,0],[0,0]]}\n");
}

TEST_CASE("tokenize reads stdin lines and CSV columns with pairs and truncation", "[tokenize_cli]") {
  auto r = run_nlpc("tokenize --tokenizer '" + fixture("text/t5-small") + "'", "Hello world\n\nSão Paulo\n");
  REQUIRE(r.exit_code == 0);
  CHECK(r.out == "8774 296 1\n1\n180 2 32 1838 32 1\n");
  TempDir d;
  write_file(d.file("in.csv"), "id,q,a\n1,\"How old, really?\",\"I am \"\"six\"\".\"\n2,x,\"multi\nline\"\n");
  r = run_nlpc("tokenize " + bert() + " --input '" + d.file("in.csv") + "' --column q --pair-column a " +
               "--max-length 8 --output '" + d.file("out.txt") + "'");
  REQUIRE(r.exit_code == 0);
  // longest_first on 5 + 6 tokens with room for 5: 2 from the first, 3 from the second (HF semantics)
  CHECK(read_file(d.file("out.txt")) == "101 2129 2214 102 1045 2572 1000 102\n101 1060 102 4800 2240 102\n");
  r = run_nlpc("tokenize " + bert() + " --input '" + d.file("in.csv") + "' --column nope");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains("has no column 'nope' (columns: id, q, a)"));
}

TEST_CASE("tokenize decode turns id lines back into text", "[tokenize_cli]") {
  std::string w = "--tokenizer '" + fixture("text/whisper-tiny") + "'";
  auto r = run_nlpc("tokenize " + w + " --no-special-tokens", "Hello there, 😀!\n");
  REQUIRE(r.exit_code == 0);
  auto d = run_nlpc("tokenize decode " + w, r.out);
  REQUIRE(d.exit_code == 0);
  CHECK(d.out == "Hello there, 😀!\n");
  d = run_nlpc("tokenize decode " + w + " --skip-special-tokens --format jsonl", "[50258, 50363, 15947, 50257]\n");
  CHECK(d.out == "{\"text\":\"Hello\"}\n");
  d = run_nlpc("tokenize decode " + w, "1 two 3\n");
  CHECK(d.exit_code == 2);
  CHECK_THAT(d.err, Catch::Contains("'two' is not a token id"));
}

TEST_CASE("tokenize errors: missing tokenizer, bad flags", "[tokenize_cli]") {
  auto r = run_nlpc("tokenize --tokenizer /no/such/dir --text x");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains("/no/such/dir: no such file or folder"));
  r = run_nlpc("tokenize " + bert() + " --text x --format xml");
  CHECK(r.exit_code == 2);
  r = run_nlpc("tokenize " + bert() + " --text x --truncation sideways --max-length 4");
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains("longest_first, only_first or only_second"));
}

TEST_CASE("tokenize train writes folders that load again", "[tokenize_cli]") {
  TempDir d;
  std::string corpus;
  for (int i = 0; i < 60; ++i)
    corpus += "The quick brown fox jumps over the lazy dog number " + std::to_string(i) +
              ". Tokenizers split words into pieces; pieces become ids.\n";
  write_file(d.file("corpus.txt"), corpus);
  auto r = run_nlpc("-q tokenize train --type wordpiece --vocab-size 120 --min-frequency 1 --input '" +
                    d.file("corpus.txt") + "' --output '" + d.file("wp") + "'");
  REQUIRE(r.exit_code == 0);
  auto e = run_nlpc("tokenize --tokenizer '" + d.file("wp") + "' --format tokens", "the quick fox\n");
  REQUIRE(e.exit_code == 0);
  CHECK(e.out.rfind("[CLS] ", 0) == 0);
  CHECK_THAT(e.out, Catch::Contains("[SEP]"));
  CHECK_THAT(e.out, !Catch::Contains("[UNK]"));
  r = run_nlpc("-q tokenize train --type unigram --vocab-size 45 --input '" + d.file("corpus.txt") +
               "' --output '" + d.file("uni") + "'");
  REQUIRE(r.exit_code == 0);
  e = run_nlpc("tokenize --tokenizer '" + d.file("uni") + "'", "the quick fox\n");
  REQUIRE(e.exit_code == 0);
  CHECK(e.out.size() > 4);
  CHECK(e.out.substr(e.out.size() - 3) == " 1\n");  // </s> appended
}
