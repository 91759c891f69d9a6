// TableReader (csv/tsv/jsonl/txt behind one interface) and read_labelled.
#include <catch2/catch.hpp>

#include <functional>

#include "../test_util.h"
#include "nlpc/data/labelled_set.h"
#include "nlpc/io/table.h"

using nlpc::io::TableFormat;
using nlpc::io::TableReader;
using nlpc::io::TableRecord;
using Rows = std::vector<std::vector<std::string>>;

namespace {

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const nlpc::Error& e) {
    return e.what();
  }
  return "no error";
}

Rows read_all(TableReader& reader, std::vector<int64_t>* lines = nullptr) {
  Rows rows;
  TableRecord rec;
  while (reader.next(rec)) {
    rows.push_back(rec.fields);
    if (lines != nullptr) lines->push_back(rec.line);
  }
  return rows;
}

}  // namespace

TEST_CASE("table: formats from the extension", "[io]") {
  CHECK(nlpc::io::format_from_path("a/b.CSV") == TableFormat::kCsv);
  CHECK(nlpc::io::format_from_path("b.tsv") == TableFormat::kTsv);
  CHECK(nlpc::io::format_from_path("b.json") == TableFormat::kJsonl);
  CHECK(nlpc::io::format_from_path("b.jsonl") == TableFormat::kJsonl);
  CHECK(nlpc::io::format_from_path("b.txt") == TableFormat::kText);
  CHECK(error_of([] { nlpc::io::format_from_path("dir.v1/data"); }) ==
        "cannot tell the format of 'dir.v1/data' from its extension: name it .csv, .tsv, .jsonl or .txt, or "
        "pass --format");
  CHECK(nlpc::io::parse_table_format("TSV") == TableFormat::kTsv);
  CHECK_THROWS_AS(nlpc::io::parse_table_format("xml"), nlpc::UsageError);
}

TEST_CASE("table: csv, tsv, jsonl and text records", "[io]") {
  nlpc::test::TempDir dir;
  SECTION("csv") {
    nlpc::test::write_file(dir.file("d.csv"), "text,label\n\"a,\nb\",x\nc,y\n");
    TableReader r(dir.file("d.csv"));
    CHECK(r.columns() == std::vector<std::string>{"text", "label"});
    std::vector<int64_t> lines;
    CHECK(read_all(r, &lines) == Rows{{"a,\nb", "x"}, {"c", "y"}});
    CHECK(lines == std::vector<int64_t>{2, 4});
  }
  SECTION("tsv") {
    nlpc::test::write_file(dir.file("d.tsv"), "text\tlabel\na,b\tx\n");
    TableReader r(dir.file("d.tsv"));
    CHECK(read_all(r) == Rows{{"a,b", "x"}});
  }
  SECTION("jsonl: columns from the first object, values as text") {
    nlpc::test::write_file(dir.file("d.jsonl"),
                           "{\"text\":\"hi\",\"label\":3,\"ok\":true,\"meta\":{\"a\":[1]},\"n\":null}\n\n"
                           "{\"n\":\"z\",\"label\":\"neg\",\"text\":\"yo\",\"ok\":false,\"meta\":1.5}\n");
    TableReader r(dir.file("d.jsonl"));
    CHECK(r.format() == TableFormat::kJsonl);
    CHECK(r.columns() == std::vector<std::string>{"text", "label", "ok", "meta", "n"});
    std::vector<int64_t> lines;
    CHECK(read_all(r, &lines) ==
          Rows{{"hi", "3", "true", "{\"a\":[1]}", ""}, {"yo", "neg", "false", "1.5", "z"}});
    CHECK(lines == std::vector<int64_t>{1, 3});
    CHECK(std::string(r.error_at(1, "unknown label").what()) ==
          dir.file("d.jsonl") + ":3: key \"label\": unknown label");
  }
  SECTION("text: one column, blank lines kept") {
    nlpc::test::write_file(dir.file("d.txt"), "first\r\n\nthird\n");
    TableReader r(dir.file("d.txt"));
    CHECK(r.columns() == std::vector<std::string>{"text"});
    CHECK(read_all(r) == Rows{{"first"}, {""}, {"third"}});
  }
  SECTION("explicit format and delimiter") {
    nlpc::test::write_file(dir.file("d.dat"), "a;b\n1;2\n");
    nlpc::io::TableOptions opts;
    opts.format = TableFormat::kCsv;
    opts.delimiter = ';';
    TableReader r(dir.file("d.dat"), opts);
    CHECK(read_all(r) == Rows{{"1", "2"}});
  }
}

TEST_CASE("table: jsonl key errors", "[io]") {
  nlpc::test::TempDir dir;
  const std::string path = dir.file("d.jsonl");
  auto read = [&](const std::string& text, bool ragged = false) {
    nlpc::test::write_file(path, text);
    nlpc::io::TableOptions opts;
    opts.allow_ragged = ragged;
    TableReader r(path, opts);
    return read_all(r);
  };
  CHECK(error_of([&] { read("{\"text\":\"a\",\"label\":\"x\"}\n{\"text\":\"b\",\"lable\":\"y\"}\n"); }) ==
        path +
            ":2: unexpected key \"lable\": every object must have the keys of the first one (line 1): "
            "\"text\", \"label\"");
  CHECK(error_of([&] { read("{\"text\":\"a\",\"label\":\"x\"}\n{\"text\":\"b\"}\n"); }) ==
        path +
            ":2: missing key \"label\": every object must have the keys of the first one (line 1): \"text\", "
            "\"label\"");
  CHECK(read("{\"text\":\"a\",\"label\":\"x\"}\n{\"text\":\"b\"}\n", true) == Rows{{"a", "x"}, {"b", ""}});
  CHECK(error_of([&] { read("[{\"text\":\"a\"}]\n"); }) ==
        path +
            ":1: expected one JSON object per line, found an array (a JSON array file cannot be streamed: "
            "convert "
            "it to JSON Lines first, e.g. jq -c '.[]' in.json > out.jsonl)");
  CHECK(error_of([&] { read("{\"a\":1}\n\"str\"\n"); }) ==
        path + ":2: expected a JSON object, found a string");
  CHECK(error_of([&] { read("\n\n"); }) == path + ": the file is empty: expected one JSON object per line");
}

TEST_CASE("read_labelled: pairs and clear errors", "[io]") {
  nlpc::test::TempDir dir;
  const std::string csv = dir.file("train.csv");
  nlpc::test::write_file(csv, "id,text,label\n1,good film,pos\n2,\"bad,\nfilm\",neg\n");
  auto data = nlpc::io::read_labelled(csv, "text", "label");
  CHECK(data.texts == std::vector<std::string>{"good film", "bad,\nfilm"});
  CHECK(data.labels == std::vector<std::string>{"pos", "neg"});
  CHECK(data.lines == std::vector<int64_t>{2, 3});

  CHECK(error_of([&] { nlpc::io::read_labelled(csv, "sentence", "label"); }) ==
        csv + ":1: no column named \"sentence\"; the columns are \"id\", \"text\", \"label\"");
  const std::string jsonl = dir.file("train.jsonl");
  nlpc::test::write_file(jsonl, "{\"text\":\"a\",\"label\":\"x\"}\n");
  CHECK(error_of([&] { nlpc::io::read_labelled(jsonl, "text", "labels"); }) ==
        jsonl +
            ":1: no column named \"labels\"; the columns are \"text\", \"label\" (did you mean \"label\"?)");

  const std::string header_only = dir.file("empty.csv");
  nlpc::test::write_file(header_only, "text,label\n");
  CHECK(error_of([&] { nlpc::io::read_labelled(header_only, "text", "label"); }) ==
        header_only + ": no data rows: expected at least one example after the header");
  nlpc::test::write_file(header_only, "");
  CHECK(error_of([&] { nlpc::io::read_labelled(header_only, "text", "label"); }) ==
        header_only + ": the file is empty: expected a header row with the column names");

  const std::string no_label = dir.file("nolabel.csv");
  nlpc::test::write_file(no_label, "text,label\n\xC3\xA9t\xC3\xA9,\n");
  CHECK(error_of([&] { nlpc::io::read_labelled(no_label, "text", "label"); }) ==
        no_label + ":2:5: empty label in column \"label\": every example needs a label");
}

TEST_CASE("table: position() and seek() read the same records again", "[io]") {
  nlpc::test::TempDir d;
  const std::string bom = "\xEF\xBB\xBF";
  const std::vector<std::pair<std::string, std::string>> files = {
      {"a.csv", bom + "text,label\n\"two\nlines\",x\n\nplain,y\r\n\"a \"\"quote\"\", comma\",z\nlast,w"},
      {"a.jsonl", "{\"text\": \"one\", \"label\": \"x\"}\n\n{\"text\": \"two\", \"label\": \"y\"}\n"
                  "{\"label\": \"z\", \"text\": \"three\"}\n"},
      {"a.txt", "first\n\nthird\nfourth"}};
  for (const auto& [name, content] : files) {
    INFO(name);
    nlpc::test::write_file(d.file(name), content);
    TableReader reader(d.file(name), {});
    std::vector<nlpc::io::ReadPosition> at;
    std::vector<TableRecord> recs;
    TableRecord rec;
    for (;;) {
      at.push_back(reader.position());
      if (!reader.next(rec)) break;
      recs.push_back(rec);
    }
    REQUIRE(recs.size() >= 3);
    // Each record again from its position, out of order, in a fresh reader with a tiny buffer
    // (every seek reads) and with the default one (seeks inside what is buffered).
    for (size_t buffer : {size_t{16}, size_t{1} << 20}) {
      nlpc::io::TableOptions small;
      small.buffer_size = buffer;
      TableReader again(d.file(name), small);
      for (size_t k : {size_t{2}, size_t{0}, recs.size() - 1, size_t{1}, size_t{1}, size_t{0}}) {
        again.seek(at[k]);
        REQUIRE(again.next(rec));
        CHECK(rec.fields == recs[k].fields);
        CHECK(rec.line == recs[k].line);
        CHECK(rec.number == recs[k].number);
        CHECK(again.position() == at[k + 1]);
      }
      again.seek(at.back());
      CHECK_FALSE(again.next(rec));
    }
  }
}

TEST_CASE("table: seek() past the end of the file is a clear error", "[io]") {
  nlpc::test::TempDir d;
  nlpc::test::write_file(d.file("a.csv"), "text\nx\n");
  TableReader reader(d.file("a.csv"), {});
  CHECK_THAT(error_of([&] { reader.seek({1000, 5, 3}); }), Catch::Contains("the file changed"));
}

TEST_CASE("labelled summary: chunks cover the kept rows and seek to their first row", "[io]") {
  nlpc::test::TempDir d;
  std::string csv = "text,label\n";
  for (int i = 0; i < 60; ++i) {
    csv += i % 7 == 3 ? "\"\",a\n" : "\"row " + std::to_string(i) + "\nsecond line\",l" + std::to_string(i % 3) + "\n";
  }
  nlpc::test::write_file(d.file("s.csv"), csv);
  nlpc::DataSpec spec;
  const nlpc::LabelledSummary sum = nlpc::summarize_labelled_set(d.file("s.csv"), spec, 100);
  CHECK(sum.num_rows == 60 - 9);  // rows 3, 10, ..., 59 have an empty text
  CHECK(sum.skipped_empty == 9);
  CHECK(sum.label_counts.at("l0") + sum.label_counts.at("l1") + sum.label_counts.at("l2") == sum.num_rows);
  REQUIRE(sum.chunks.size() > 5);
  std::vector<std::string> texts;
  nlpc::LabelledRows all(d.file("s.csv"), spec);
  while (all.next()) texts.push_back(all.text());
  int64_t expect_first = 0;
  nlpc::LabelledRows again(d.file("s.csv"), spec, 16);
  for (const auto& c : sum.chunks) {
    CHECK(c.first_row == expect_first);
    expect_first += c.rows;
    again.seek(c.start, c.first_row);
    for (int64_t r = 0; r < c.rows; ++r) {
      REQUIRE(again.next());
      CHECK(again.text() == texts[size_t(c.first_row + r)]);
    }
  }
  CHECK(expect_first == sum.num_rows);
}
