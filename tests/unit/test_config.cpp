#include <catch2/catch.hpp>

#include "../test_util.h"
#include "nlpc/core/config.h"
#include "nlpc/core/error.h"

using nlpc::ConfigKey;
using nlpc::ConfigSchema;
using nlpc::ConfigType;
using nlohmann::json;

static ConfigSchema schema() {
  ConfigSchema s;
  s.add({"task", ConfigType::kString, "classification", "task", {"classification", "multilabel"}});
  s.add({"data.train", ConfigType::kString, nullptr, "train file", {}});
  s.add({"train.lr", ConfigType::kFloat, 5e-5, "learning rate", {}});
  s.add({"train.epochs", ConfigType::kInt, 3, "epochs", {}});
  s.add({"train.fp16", ConfigType::kBool, false, "", {}});
  s.add({"model.head.hidden", ConfigType::kIntList, json::array(), "", {}});
  return s;
}

TEST_CASE("config: defaults, file values and --set overrides resolve to nested JSON", "[config]") {
  auto s = schema();
  json file = {{"data", {{"train", "a.csv"}}}, {"train", {{"epochs", 5}}}};
  json r = s.resolve(file, {"train.lr=3e-5", "model.head.hidden=30,10", "train.fp16=true"}, "c.json");
  CHECK(r["task"] == "classification");
  CHECK(r["data"]["train"] == "a.csv");
  CHECK(r["train"]["epochs"] == 5);
  CHECK(r["train"]["lr"].get<double>() == Approx(3e-5));
  CHECK(r["model"]["head"]["hidden"] == json::array({30, 10}));
  CHECK(r["train"]["fp16"] == true);
  CHECK(nlpc::flatten_json(r).contains("model.head.hidden"));
}

TEST_CASE("config: unknown keys name the key and suggest the closest", "[config]") {
  auto s = schema();
  try {
    s.resolve(json{{"train", {{"lrr", 0.1}}}}, {}, "c.json");
    FAIL("expected an error");
  } catch (const nlpc::UsageError& e) {
    CHECK(std::string(e.what()) == "c.json: unknown configuration key 'train.lrr' (did you mean 'train.lr'?)");
  }
  try {
    s.resolve(json::object(), {"trian.epochs=3"}, "c.json");
    FAIL("expected an error");
  } catch (const nlpc::UsageError& e) {
    CHECK(std::string(e.what()) ==
          "--set: unknown configuration key 'trian.epochs' (did you mean 'train.epochs'?)");
  }
}

TEST_CASE("config: wrong types and choices are usage errors", "[config]") {
  auto s = schema();
  CHECK_THROWS_WITH(s.resolve(json{{"train", {{"epochs", "five"}}}}, {}, "c.json"),
                    "c.json: 'train.epochs' must be an integer, got \"five\"");
  CHECK_THROWS_WITH(s.resolve(json::object(), {"train.lr=fast"}, "c.json"),
                    "--set: 'train.lr' must be a number, got 'fast'");
  CHECK_THROWS_WITH(s.resolve(json{{"task", "regress"}}, {}, "c.json"),
                    "c.json: 'task' must be one of classification, multilabel, got \"regress\"");
  CHECK_THROWS_WITH(s.resolve(json::object(), {"train.lr"}, "c.json"),
                    Catch::Contains("expected key=value"));
}

TEST_CASE("config: JSON syntax errors carry line and column", "[config]") {
  nlpc::test::TempDir d;
  nlpc::test::write_file(d.file("c.json"), "{\n  \"task\": \"classification\",\n  \"train\": {,}\n}\n");
  try {
    nlpc::read_json_file(d.file("c.json"));
    FAIL("expected an error");
  } catch (const nlpc::InputError& e) {
    CHECK(e.line() == 3);
    CHECK(e.column() == 13);
    CHECK_THAT(e.what(), Catch::Contains("invalid JSON"));
  }
}
