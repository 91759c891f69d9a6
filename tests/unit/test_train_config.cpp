#include <catch2/catch.hpp>

#include "../test_util.h"
#include "nlpc/core/error.h"
#include "nlpc/train/train_config.h"

TEST_CASE("train config: file + --set resolve into typed values", "[config]") {
  nlpc::test::TempDir d;
  nlpc::test::write_file(d.file("c.json"), R"({"task": "classification",
    "data": {"train": "t.csv", "valid": "v.csv", "label_column": "section"},
    "model": {"type": "ngram", "ngram": {"word_ngram_max": 3}},
    "train": {"epochs": 4, "seed": 7}})");
  auto c = nlpc::load_train_config(d.file("c.json"), {"train.lr=0.5", "data.delimiter=\\t"});
  CHECK(c.data.train == "t.csv");
  CHECK(c.data.label_column == "section");
  CHECK(c.data.text_column == "text");
  CHECK(c.data.delimiter == "\t");
  CHECK(c.model.ngram_features.word_ngram_max == 3);  // model.ngram.* bind to the baseline's own options
  CHECK(c.model.ngram_train.solver == "svm");
  CHECK(c.data.format == "auto");  // "" (from the extension) is the readers' auto
  CHECK(c.resolved["train"]["epochs"] == 4);
  CHECK(c.resolved["train"]["lr"] == 0.5);
  CHECK(c.train.epochs == 4);
  CHECK(c.train.seed == 7);
  CHECK(c.train.lr == Approx(0.5));
  auto b = nlpc::load_train_config("", {"data.train=t.csv", "model.type=bert", "model.config=c.json"});
  CHECK(b.train.lr == Approx(5e-5));
  CHECK(b.train.epochs == 3);
  CHECK(c.resolved["train"]["batch_size"] == 32);  // defaults are part of the resolved config
  CHECK(b.data.delimiter.empty());  // the default "," means the format's own delimiter
  CHECK_FALSE(b.data.multilabel);
  auto m = nlpc::load_train_config("", {"data.train=t.csv", "task=multilabel", "model.ngram.svm_c=2",
                                        "model.ngram.char_weight=0.5", "data.empty_target=skip"});
  CHECK(m.data.multilabel);
  CHECK(m.model.ngram_train.C == 2.0);
  CHECK(m.model.ngram_features.char_weight == Approx(0.5f));
  CHECK(m.data.empty_target == "skip");
  CHECK_THROWS_WITH(nlpc::load_train_config("", {"data.train=t.csv", "data.delimiter=;;"}),
                    Catch::Contains("'data.delimiter' must be one character"));
}

TEST_CASE("train config: typos and missing required keys are clear usage errors", "[config]") {
  nlpc::test::TempDir d;
  nlpc::test::write_file(d.file("c.json"), R"({"data": {"train": "t.csv"}, "train": {"epoch": 3}})");
  CHECK_THROWS_WITH(nlpc::load_train_config(d.file("c.json"), {}),
                    d.file("c.json") + ": unknown configuration key 'train.epoch' (did you mean 'train.epochs'?)");
  nlpc::test::write_file(d.file("c2.json"), R"({"data": {"valid": "v.csv"}})");
  CHECK_THROWS_WITH(nlpc::load_train_config(d.file("c2.json"), {}),
                    Catch::Contains("'data.train' is required"));
  CHECK_THROWS_WITH(nlpc::load_train_config("", {"data.train=x.csv", "model.type=bert"}),
                    Catch::Contains("set 'model.config'"));
  CHECK_THROWS_WITH(nlpc::load_train_config("", {"data.train=x.csv", "train.batch_size=0"}),
                    Catch::Contains("'train.batch_size' must be > 0"));
  CHECK_THROWS_AS(nlpc::load_train_config(d.file("missing.json"), {}), nlpc::InputError);
}
