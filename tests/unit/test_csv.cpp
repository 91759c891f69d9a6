// CSV reader/writer and UTF-8 validation. Every error test asserts the exact message, which
// carries file:line:column (1-based, column in characters).
#include <catch2/catch.hpp>
#include <unistd.h>

#include <filesystem>
#include <functional>

#include "../test_util.h"
#include "nlpc/io/csv.h"
#include "nlpc/io/utf8.h"

using nlpc::io::CsvOptions;
using nlpc::io::CsvReader;
using nlpc::io::CsvRecord;
using nlpc::io::InputSource;
using Rows = std::vector<std::vector<std::string>>;

namespace {

CsvReader open_csv(const std::string& text, CsvOptions options = {}) {
  return CsvReader(InputSource::from_string("data.csv", text), options);
}

Rows read_all(CsvReader& reader, std::vector<int64_t>* lines = nullptr) {
  Rows rows;
  CsvRecord rec;
  while (reader.next(rec)) {
    rows.push_back(rec.fields);
    if (lines != nullptr) lines->push_back(rec.line);
  }
  return rows;
}

Rows read_all(const std::string& text, CsvOptions options = {}) {
  auto reader = open_csv(text, options);
  return read_all(reader);
}

// The what() of the InputError thrown by f, or "no error".
std::string input_error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const nlpc::InputError& e) {
    return e.what();
  }
  return "no error";
}

std::string csv_error(const std::string& text, CsvOptions options = {}) {
  return input_error_of([&] { read_all(text, options); });
}

}  // namespace

TEST_CASE("csv: header, records, line and record numbers", "[io]") {
  auto reader = open_csv("text,label\nhello,pos\nbye,neg\n");
  CHECK(reader.header() == std::vector<std::string>{"text", "label"});
  CHECK(reader.column_index("label") == 1);
  CHECK(reader.find_column("nope") == -1);
  CsvRecord rec;
  REQUIRE(reader.next(rec));
  CHECK(rec.fields == std::vector<std::string>{"hello", "pos"});
  CHECK(rec.line == 2);
  CHECK(rec.number == 1);
  REQUIRE(reader.next(rec));
  CHECK(rec[0] == "bye");
  CHECK(rec.line == 3);
  CHECK(rec.number == 2);
  CHECK_FALSE(reader.next(rec));
}

TEST_CASE("csv: RFC 4180 quoted fields", "[io]") {
  SECTION("delimiter inside quotes") {
    CHECK(read_all("a,b\n\"hello, world\",x\n") == Rows{{"hello, world", "x"}});
  }
  SECTION("doubled quotes") {
    CHECK(read_all("a,b\n\"say \"\"hi\"\"\",\"\"\"\"\n") == Rows{{"say \"hi\"", "\""}});
  }
  SECTION("embedded LF and CRLF newlines, lines counted") {
    auto reader = open_csv("a,b\r\n\"one\ntwo\",x\r\n\"three\r\nfour\",y\r\nlast,z\r\n");
    std::vector<int64_t> lines;
    CHECK(read_all(reader, &lines) == Rows{{"one\ntwo", "x"}, {"three\r\nfour", "y"}, {"last", "z"}});
    CHECK(lines == std::vector<int64_t>{2, 4, 6});
  }
  SECTION("empty and quoted-empty fields") {
    CHECK(read_all("a,b,c\n,,\n\"\",x,\n") == Rows{{"", "", ""}, {"", "x", ""}});
  }
  SECTION("quote inside an unquoted field is data") {
    CHECK(read_all("a,b\n5\" screen,x\n") == Rows{{"5\" screen", "x"}});
  }
  SECTION("last record without a line end, quoted or not") {
    CHECK(read_all("a,b\n1,2") == Rows{{"1", "2"}});
    CHECK(read_all("a,b\n1,\"2\"") == Rows{{"1", "2"}});
    CHECK(read_all("a,b\n1,") == Rows{{"1", ""}});
  }
}

TEST_CASE("csv: CRLF, BOM and blank lines", "[io]") {
  CHECK(read_all("a,b\r\n1,2\r\n3,4\r\n") == Rows{{"1", "2"}, {"3", "4"}});
  auto bom = open_csv("\xEF\xBB\xBFtext,label\r\nx,y\r\n");
  CHECK(bom.header() == std::vector<std::string>{"text", "label"});
  CHECK(bom.column_index("text") == 0);
  auto blank = open_csv("a\n1\n\n\r\n2\n\n");
  std::vector<int64_t> lines;
  CHECK(read_all(blank, &lines) == Rows{{"1"}, {"2"}});
  CHECK(lines == std::vector<int64_t>{2, 5});
}

TEST_CASE("csv: delimiters", "[io]") {
  CsvOptions tsv;
  tsv.delimiter = nlpc::io::parse_delimiter("\\t");
  CHECK(read_all("a\tb\n\"x\ty\"\tz,2\n", tsv) == Rows{{"x\ty", "z,2"}});
  CHECK(nlpc::io::parse_delimiter("tab") == '\t');
  CHECK(nlpc::io::parse_delimiter(";") == ';');
  CHECK_THROWS_AS(nlpc::io::parse_delimiter("ab"), nlpc::UsageError);
  CHECK_THROWS_AS(nlpc::io::parse_delimiter("\""), nlpc::UsageError);
  CsvOptions raw = tsv;
  raw.quoting = false;
  CHECK(read_all("a\tb\n\"x\"y\t\"\n", raw) == Rows{{"\"x\"y", "\""}});
}

TEST_CASE("csv: errors carry file, line and character column", "[io]") {
  SECTION("missing column lists the columns") {
    auto reader = open_csv("text,label\nx,y\n");
    CHECK(input_error_of([&] { reader.column_index("body"); }) ==
          "data.csv:1: no column named \"body\"; the columns are \"text\", \"label\"");
    CHECK(
        input_error_of([&] { reader.column_index("txt"); }) ==
        "data.csv:1: no column named \"txt\"; the columns are \"text\", \"label\" (did you mean \"text\"?)");
    CHECK(input_error_of([&] { reader.column_index("Label "); }) ==
          "data.csv:1: no column named \"Label \"; the columns are \"text\", \"label\" (did you mean "
          "\"label\"?)");
  }
  SECTION("empty file") {
    CHECK(csv_error("") == "data.csv: the file is empty: expected a header row with the column names");
    CHECK(csv_error("\xEF\xBB\xBF") ==
          "data.csv: the file is empty: expected a header row with the column names");
  }
  SECTION("ragged rows") {
    CHECK(csv_error("a,b\n1,2,3\n") ==
          "data.csv:2:5: expected 2 fields as in the header, found 3 (quote fields that contain ',')");
    CHECK(csv_error("a,b,c\n1,2\n") == "data.csv:2:4: expected 3 fields as in the header, found 2");
    CHECK(csv_error("a,b\n\xC3\xA9\xC3\xA9,x,y\n") ==
          "data.csv:2:6: expected 2 fields as in the header, found 3 (quote fields that contain ',')");
    CHECK(csv_error("a,b\n\"x\ny\",2,3\n") ==
          "data.csv:3:6: expected 2 fields as in the header, found 3 (quote fields that contain ',')");
  }
  SECTION("invalid UTF-8") {
    CHECK(csv_error("a,b\nok,caf\xE9\n") ==
          "data.csv:2:7: invalid UTF-8 byte 0xe9: the input must be UTF-8 encoded (convert it first, e.g. "
          "iconv -f "
          "latin1 -t utf-8)");
    CHECK(csv_error("a,b\n\"\xC3\xA9\n\xE2\x82\xAC\xC0\xAF\",x\n") ==
          "data.csv:3:2: invalid UTF-8 byte 0xc0: the input must be UTF-8 encoded (convert it first, e.g. "
          "iconv -f "
          "latin1 -t utf-8)");
  }
  SECTION("unterminated quote points at the opening quote") {
    CHECK(csv_error("a,b\n1,\"open\nmore\n2,3\n") ==
          "data.csv:2:3: unterminated quoted field: the quote opened here is not closed before the end of "
          "the file");
  }
  SECTION("characters after a closing quote") {
    CHECK(csv_error("a,b\n\"x\"y,2\n") ==
          "data.csv:2:4: unexpected 'y' after the closing quote of a quoted field: expected ',' or the end "
          "of the "
          "line (write a quote inside a quoted field as \"\")");
  }
  SECTION("bare carriage return") {
    CHECK(csv_error("a,b\n1,2\r3,4\n") ==
          "data.csv:2:4: carriage return (CR) not followed by a line feed: lines must end with LF or CRLF "
          "(quote "
          "fields that contain a CR)");
  }
  SECTION("duplicate header names; empty names are allowed") {
    CHECK(csv_error("a,b,a\n") ==
          "data.csv:1:5: duplicate column name \"a\" (columns 1 and 3): column names must be unique");
    auto reader = open_csv(",text\n0,x\n");
    CHECK(reader.header() == std::vector<std::string>{"", "text"});
    CHECK(reader.find_column("") == -1);
  }
  SECTION("file errors name the path") {
    nlpc::test::TempDir dir;
    const std::string path = dir.file("in.csv");
    nlpc::test::write_file(path, "a,b\n1\n");
    CHECK(input_error_of([&] {
            CsvReader r(path);
            CsvRecord rec;
            r.next(rec);
          }) == path + ":2:2: expected 2 fields as in the header, found 1");
    CHECK(input_error_of([&] { CsvReader r(dir.file("missing.csv")); }) ==
          dir.file("missing.csv") + ": cannot open file: No such file or directory");
  }
}

TEST_CASE("csv: reading goes on after a ragged row or invalid UTF-8", "[io]") {
  auto reader = open_csv("a,b\n1,2,3\nok,\xFF\n\"x\ny\",z\n");
  CsvRecord rec;
  CHECK(input_error_of([&] { reader.next(rec); }) ==
        "data.csv:2:5: expected 2 fields as in the header, found 3 (quote fields that contain ',')");
  CHECK(input_error_of([&] { reader.next(rec); }) ==
        "data.csv:3:4: invalid UTF-8 byte 0xff: the input must be UTF-8 encoded (convert it first, e.g. "
        "iconv -f "
        "latin1 -t utf-8)");
  REQUIRE(reader.next(rec));
  CHECK(rec.fields == std::vector<std::string>{"x\ny", "z"});
  CHECK(rec.line == 4);
  CHECK(rec.number == 3);
  CHECK_FALSE(reader.next(rec));
}

TEST_CASE("csv: ragged rows can be left to the caller", "[io]") {
  CsvOptions opts;
  opts.allow_ragged = true;
  auto reader = open_csv("a,b\n1\n1,2\n1,2,3\n", opts);
  CsvRecord rec;
  REQUIRE(reader.next(rec));
  CHECK(rec.size() == 1);
  CHECK(std::string(reader.ragged_error().what()) ==
        "data.csv:2:2: expected 2 fields as in the header, found 1");
  REQUIRE(reader.next(rec));
  CHECK(rec.size() == 2);
  REQUIRE(reader.next(rec));
  CHECK(rec.size() == 3);
  CHECK(std::string(reader.error_at(1, "bad label").what()) == "data.csv:4:3: bad label");
  CHECK_FALSE(reader.next(rec));
}

TEST_CASE("csv: results do not depend on the buffer size", "[io]") {
  std::string text = "\xEF\xBB\xBFid,text,label\r\n";
  for (int i = 0; i < 40; ++i) {
    text += std::to_string(i) + ",\"line one, \"\"quoted\"\"\r\nline two \xE2\x82\xAC\"," +
            (i % 3 == 0 ? std::string("\"a\nb\"") : std::string("plain")) + "\r\n";
    if (i % 7 == 0) text += "\r\n";
    text += std::to_string(i) + "," + std::string(static_cast<size_t>(i * 5), 'x') + ",\xC3\xA9t\xC3\xA9\n";
  }
  text += "end,\"no newline\",x";
  auto big = open_csv(text);
  std::vector<int64_t> big_lines;
  const Rows expected = read_all(big, &big_lines);
  REQUIRE(expected.size() == 81);
  CHECK(expected[0] ==
        std::vector<std::string>{"0", "line one, \"quoted\"\r\nline two \xE2\x82\xAC", "a\nb"});
  for (size_t cap : {16, 17, 23, 31, 64, 100}) {
    CsvOptions opts;
    opts.buffer_size = cap;
    auto small = open_csv(text, opts);
    std::vector<int64_t> lines;
    CHECK(read_all(small, &lines) == expected);
    CHECK(lines == big_lines);
  }
}

TEST_CASE("csv writer: quotes only when needed and round-trips nasty fields", "[io]") {
  nlpc::test::TempDir dir;
  const std::string path = dir.file("out.csv");
  const Rows rows = {{"plain", "with,comma", "say \"hi\""},
                     {"multi\nline", "crlf\r\nline", "\r"},
                     {"", " lead", "trail "},
                     {"\xC3\xBCn\xC3\xAF\x63\xC3\xB6\x64\xC3\xA9 \xF0\x9F\x98\x80", "\"", ","}};
  {
    nlpc::io::CsvWriter w(path);
    w.write_row({"a", "b", "c"});
    for (const auto& r : rows) w.write_row(r);
    CHECK_FALSE(std::filesystem::exists(path));
    w.commit();
  }
  CHECK(nlpc::test::read_file(path) ==
        "a,b,c\nplain,\"with,comma\",\"say \"\"hi\"\"\"\n\"multi\nline\",\"crlf\r\nline\",\"\r\"\n, "
        "lead,trail \n"
        "\xC3\xBCn\xC3\xAF\x63\xC3\xB6\x64\xC3\xA9 \xF0\x9F\x98\x80,\"\"\"\",\",\"\n");
  CsvReader reader(path);
  CHECK(read_all(reader) == rows);

  nlpc::io::CsvWriterOptions opts;
  opts.quote_spaces = true;
  opts.delimiter = '\t';
  const std::string tsv = dir.file("out.tsv");
  nlpc::io::CsvWriter w(tsv, opts);
  w.write_row({"text"});
  w.write_row({""});
  w.write_row({" x"});
  w.write_row({"a,b"});
  w.commit();
  CHECK(nlpc::test::read_file(tsv) == "text\n\"\"\n\" x\"\na,b\n");
  CsvOptions read_tsv;
  read_tsv.delimiter = '\t';
  CsvReader r2(tsv, read_tsv);
  CHECK(read_all(r2) == Rows{{""}, {" x"}, {"a,b"}});
}

TEST_CASE("csv writer: uncommitted output is discarded", "[io]") {
  nlpc::test::TempDir dir;
  const std::string path = dir.file("out.csv");
  {
    nlpc::io::CsvWriter w(path);
    w.write_row({"a"});
    w.flush();
  }
  CHECK_FALSE(std::filesystem::exists(path));
  CHECK(std::filesystem::is_empty(dir.path()));
}

TEST_CASE("utf8: validation and character columns", "[io]") {
  using nlpc::io::validate_utf8;
  CHECK(validate_utf8(std::string_view("plain ascii text, longer than eight bytes")) == 41);
  CHECK(validate_utf8(std::string_view("\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\xF4\x8F\xBF\xBF")) == 13);
  CHECK(validate_utf8(std::string_view("0123456789abc\xFFxyz")) == 13);
  CHECK(validate_utf8(std::string_view("\xC0\xAF")) == 0);          // overlong
  CHECK(validate_utf8(std::string_view("a\xE0\x80\xAF")) == 1);     // overlong 3-byte
  CHECK(validate_utf8(std::string_view("ab\xED\xA0\x80")) == 2);    // surrogate
  CHECK(validate_utf8(std::string_view("\xF4\x90\x80\x80")) == 0);  // above U+10FFFF
  CHECK(validate_utf8(std::string_view("ok\xE2\x82")) == 2);        // truncated
  CHECK(validate_utf8(std::string_view("\x80")) == 0);              // stray continuation
  CHECK(nlpc::io::describe_invalid_utf8("ok\xE2\x82", 4, 2) == "truncated UTF-8 sequence 0xe2 0x82");
  CHECK(nlpc::io::describe_invalid_utf8("\xE2\x82x", 3, 0) == "invalid UTF-8 sequence 0xe2 0x82");
  CHECK(nlpc::io::utf8_column("\xC3\xA9t\xC3\xA9!", 5) == 4);
  CHECK(nlpc::io::utf8_column("abc", 0) == 1);
  CHECK(nlpc::io::utf8_length("\xF0\x9F\x98\x80x") == 2);
}

TEST_CASE("csv writer: streaming output is flushed every N rows", "[io]") {
  nlpc::test::TempDir dir;
  const std::string path = dir.file("stream.csv");
  nlpc::io::CsvWriterOptions opts;
  opts.flush_every_rows = 2;
  opts.flush_every_seconds = 1e9;
  nlpc::io::CsvWriter w(path, opts);
  const std::string tmp = path + ".tmp-" + std::to_string(getpid());
  w.write_row({"a"});
  w.write_row({"1"});
  CHECK(nlpc::test::read_file(tmp) == "a\n1\n");
  w.write_row({"2"});
  CHECK(nlpc::test::read_file(tmp) == "a\n1\n");  // buffered until the next flush
  w.write_row({"3"});
  CHECK(nlpc::test::read_file(tmp) == "a\n1\n2\n3\n");
  w.commit();
  CHECK(nlpc::test::read_file(path) == "a\n1\n2\n3\n");
  CHECK_FALSE(std::filesystem::exists(tmp));
}

TEST_CASE("csv: reads standard input as \"-\"", "[io]") {
  int fds[2];
  REQUIRE(pipe(fds) == 0);
  const std::string text = "text,label\n\"a\nb\",x\n";
  REQUIRE(write(fds[1], text.data(), text.size()) == static_cast<ssize_t>(text.size()));
  close(fds[1]);
  const int saved = dup(STDIN_FILENO);
  dup2(fds[0], STDIN_FILENO);
  close(fds[0]);
  Rows rows;
  std::string name;
  try {
    CsvReader reader("-");
    name = reader.name();
    rows = read_all(reader);
  } catch (...) {
    dup2(saved, STDIN_FILENO);
    close(saved);
    throw;
  }
  dup2(saved, STDIN_FILENO);
  close(saved);
  CHECK(name == "<stdin>");
  CHECK(rows == Rows{{"a\nb", "x"}});
}
