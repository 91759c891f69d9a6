// The columns a model folder records (data/model_columns.h): which fields per task, how the record
// fills a DataSpec around the flags given, and the missing-column hint.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "../test_util.h"
#include "nlpc/data/model_columns.h"

using nlpc::test::read_file;
using nlpc::test::TempDir;
using nlpc::test::write_file;

TEST_CASE("model columns: the fields each task records", "[columns]") {
  nlpc::DataSpec s;
  s.text_column = "summary,text";
  s.label_column = "section";
  s.target_column = "abstract";
  s.audio_column = "wav";
  CHECK(nlpc::columns_of_spec(s, "classification") ==
        nlpc::ModelColumns{{"text_column", "summary,text"}, {"pair_column", ""}, {"label_column", "section"}});
  CHECK(nlpc::columns_of_spec(s, "multilabel").count("label_column") == 1);
  CHECK(nlpc::columns_of_spec(s, "summarize") ==
        nlpc::ModelColumns{{"text_column", "summary,text"}, {"target_column", "abstract"}});
  CHECK(nlpc::columns_of_spec(s, "asr") == nlpc::ModelColumns{{"audio_column", "wav"}, {"text_column", "summary,text"}});
}

TEST_CASE("model columns: record, read back, apply around the given flags", "[columns]") {
  TempDir d;
  const std::string dir = d.path().string();
  write_file(dir + "/config.json", R"({"model_type": "bert", "hidden_size": 8})");
  CHECK_FALSE(nlpc::read_model_columns(dir).has_value());
  nlpc::DataSpec untouched;
  CHECK(nlpc::apply_model_columns(dir, untouched, {}).empty());  // no record: defaults stay
  CHECK(untouched.text_column == "text");

  nlpc::record_model_columns(dir, {{"text_column", "a,b"}, {"pair_column", "q"}, {"label_column", "y"}});
  const auto cfg = nlohmann::json::parse(read_file(dir + "/config.json"));
  CHECK(cfg["model_type"] == "bert");  // other keys kept
  CHECK(cfg["hidden_size"] == 8);
  REQUIRE(nlpc::read_model_columns(dir).has_value());

  nlpc::DataSpec spec;
  spec.label_column = "gold";
  const std::string taken = nlpc::apply_model_columns(dir, spec, {"label_column"});
  CHECK(spec.text_column == "a,b");
  CHECK(spec.pair_column == "q");
  CHECK(spec.label_column == "gold");  // given on the command line: kept
  CHECK(taken == "pair_column=q text_column=a,b");

  const nlpc::InputError missing("data.csv", 1, 0, "no column named \"a\"; the columns are \"b\"");
  const nlpc::InputError hinted = nlpc::with_model_column_hint(missing, dir, taken);
  CHECK(std::string(hinted.what()).find("was trained on pair_column=q text_column=a,b") != std::string::npos);
  CHECK(hinted.exit_code() == 2);
  const nlpc::InputError other("data.csv", 3, 0, "empty text");
  CHECK(std::string(nlpc::with_model_column_hint(other, dir, taken).what()) == other.what());
}

TEST_CASE("model columns: a malformed record is an input error", "[columns]") {
  TempDir d;
  write_file(d.file("config.json"), R"({"nlpc_columns": {"text_column": 3}})");
  CHECK_THROWS_AS(nlpc::read_model_columns(d.path().string()), nlpc::InputError);
}
