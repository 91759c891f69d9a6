// JSON Lines and plain-text line readers/writers: exact error locations (line, character column).
#include <catch2/catch.hpp>

#include <filesystem>
#include <functional>

#include "../test_util.h"
#include "nlpc/io/jsonl.h"
#include "nlpc/io/lines.h"

using nlpc::io::InputSource;
using nlpc::io::JsonlReader;
using nlpc::io::LineReader;

namespace {

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const nlpc::InputError& e) {
    return e.what();
  }
  return "no error";
}

std::vector<nlohmann::ordered_json> read_jsonl(const std::string& text,
                                               std::vector<int64_t>* lines = nullptr) {
  JsonlReader reader(InputSource::from_string("data.jsonl", text));
  std::vector<nlohmann::ordered_json> out;
  nlohmann::ordered_json v;
  while (reader.next(v)) {
    out.push_back(v);
    if (lines != nullptr) lines->push_back(reader.line_number());
  }
  return out;
}

std::vector<std::string> read_lines(const std::string& text, nlpc::io::LineOptions opts = {},
                                    std::vector<int64_t>* numbers = nullptr) {
  LineReader reader(InputSource::from_string("data.txt", text), opts);
  std::vector<std::string> out;
  std::string line;
  while (reader.next(line)) {
    out.push_back(line);
    if (numbers != nullptr) numbers->push_back(reader.line_number());
  }
  return out;
}

}  // namespace

TEST_CASE("jsonl: objects keep key order, blank lines are skipped", "[io]") {
  std::vector<int64_t> lines;
  auto values = read_jsonl("{\"z\":1,\"a\":\"x\"}\r\n\n   \n{\"b\":[1,2]}", &lines);
  REQUIRE(values.size() == 2);
  CHECK(values[0].dump() == "{\"z\":1,\"a\":\"x\"}");
  CHECK(values[1]["b"][1] == 2);
  CHECK(lines == std::vector<int64_t>{1, 4});
}

TEST_CASE("jsonl: errors carry line and character column", "[io]") {
  CHECK(error_of([] { read_jsonl("{\"a\":1}\n\n{\"a\":2,}\n"); }) ==
        "data.jsonl:3:8: invalid JSON: syntax error while parsing object key - unexpected '}'; expected "
        "string literal");
  // The column counts characters, not bytes: "é" is two bytes.
  CHECK(error_of([] { read_jsonl("{\"t\":\"\xC3\xA9\xC3\xA9\" x}\n"); }) ==
        "data.jsonl:1:11: invalid JSON: syntax error while parsing object - invalid literal; last read: "
        "'\"\xC3\xA9\xC3\xA9\" x'; expected '}'");
  CHECK(
      error_of([] { read_jsonl("{\n  \"a\": 1\n}\n"); }) ==
      "data.jsonl:1:2: invalid JSON: syntax error while parsing object key - unexpected end of input; "
      "expected "
      "string literal (each line must hold one complete JSON value; pretty-printed JSON is not JSON Lines)");
  CHECK(error_of([] { read_jsonl("{\"a\":\"caf\xE9\"}\n"); }) ==
        "data.jsonl:1:10: invalid UTF-8 byte 0xe9: the input must be UTF-8 encoded (convert it first, e.g. "
        "iconv "
        "-f latin1 -t utf-8)");
}

TEST_CASE("jsonl writer: one compact object per line, key order kept", "[io]") {
  nlpc::test::TempDir dir;
  const std::string path = dir.file("out.jsonl");
  nlpc::io::JsonlWriter w(path);
  nlohmann::ordered_json row;
  row["text"] = "h\xC3\xA9llo \"x\"\n";
  row["label"] = "pos";
  row["score"] = 0.5;
  w.write(row);
  w.write(nlohmann::ordered_json{{"b", 1}, {"a", nullptr}});
  CHECK_FALSE(std::filesystem::exists(path));
  w.commit();
  CHECK(nlpc::test::read_file(path) ==
        "{\"text\":\"h\xC3\xA9llo \\\"x\\\"\\n\",\"label\":\"pos\",\"score\":0.5}\n{\"b\":1,\"a\":null}\n");
  JsonlReader reader(path);
  nlohmann::ordered_json v;
  REQUIRE(reader.next(v));
  CHECK(v == row);
}

TEST_CASE("text lines: CRLF stripped, BOM skipped, UTF-8 validated", "[io]") {
  std::vector<int64_t> numbers;
  CHECK(read_lines("\xEF\xBB\xBFone\r\n\ntwo\rx\nlast", {}, &numbers) ==
        std::vector<std::string>{"one", "", "two\rx", "last"});
  CHECK(numbers == std::vector<int64_t>{1, 2, 3, 4});
  nlpc::io::LineOptions skip;
  skip.skip_blank = true;
  skip.buffer_size = 16;
  numbers.clear();
  const std::string long_line(100, 'y');
  CHECK(read_lines("a\n \n" + long_line + "\r\n\n", skip, &numbers) ==
        std::vector<std::string>{"a", long_line});
  CHECK(numbers == std::vector<int64_t>{1, 3});
  CHECK(read_lines("").empty());
  LineReader reader(InputSource::from_string("data.txt", "\xFF\nok\n"));
  std::string line;
  CHECK_THROWS_AS(reader.next(line), nlpc::InputError);
  REQUIRE(reader.next(line));  // the bad line was consumed: callers may skip it
  CHECK(line == "ok");
  CHECK(reader.line_number() == 2);
  CHECK(error_of([] { read_lines("fine\n\xE2\x82\xAC \xFF\n"); }) ==
        "data.txt:2:3: invalid UTF-8 byte 0xff: the input must be UTF-8 encoded (convert it first, e.g. "
        "iconv -f "
        "latin1 -t utf-8)");
}
