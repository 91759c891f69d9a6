// The n-gram baseline on tiny synthetic data: features, both solvers, determinism, save/load.
#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>

#include "../test_util.h"
#include "nlpc/core/error.h"
#include "nlpc/eval/classification.h"
#include "nlpc/models/ngram/linear.h"

using namespace nlpc;
using models::NgramDataset;
using models::NgramModel;

namespace {

// Three topics with a few keywords each, plus shared filler words.
NgramDataset topics(int n, uint64_t seed) {
  const std::vector<std::vector<std::string>> words = {
      {"kernel", "driver", "module", "firmware"}, {"game", "player", "level", "arcade"},
      {"python", "library", "bindings", "module"}};
  const std::vector<std::string> filler = {"the", "a", "package", "this", "provides", "for", "and"};
  NgramDataset d;
  uint64_t s = seed * 2654435761u + 1;
  auto rnd = [&](uint64_t m) {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    return (s >> 33) % m;
  };
  for (int i = 0; i < n; ++i) {
    int y = int(rnd(3));
    std::string t;
    for (int j = 0; j < 8; ++j) {
      t += (rnd(3) == 0 ? words[size_t(y)][rnd(4)] : filler[rnd(filler.size())]) + " ";
    }
    d.texts.push_back(t);
    d.labels.push_back(y);
    d.label_sets.push_back(y == 2 ? std::vector<int>{1, 2} : std::vector<int>{y});
  }
  return d;
}

const std::vector<std::string> kNames = {"kernel", "games", "python"};

// Small hash space: fast tests.
models::NgramFeatureOptions feats() {
  models::NgramFeatureOptions f;
  f.hash_bits = 16;
  return f;
}

models::NgramTrainOptions quiet(const std::string& solver, int threads) {
  models::NgramTrainOptions o;
  o.solver = solver;
  o.threads = threads;
  o.progress = false;
  o.seed = 3;
  return o;
}

}  // namespace

TEST_CASE("n-gram features: TF-IDF rows are L2-normalised per group", "[ngram]") {
  auto f = feats();
  f.min_df = 1;
  f.char_ngram_min = 2;
  auto m = NgramModel::train(topics(60, 1), kNames, f, quiet("svm", 1));
  auto row = m.vectorize("Kernel driver, KERNEL module!");
  REQUIRE(!row.ids.empty());
  for (size_t i = 1; i < row.ids.size(); ++i) CHECK(row.ids[i] > row.ids[i - 1]);
  double sq = 0;
  for (float v : row.values) sq += double(v) * v;
  CHECK(sq == Approx(2.0).margin(1e-4));  // word group + char group, each of norm 1
  auto same = m.vectorize("kernel driver kernel module");  // case and punctuation do not matter
  CHECK(same.ids == row.ids);
  CHECK(m.vectorize("").ids.empty());
  CHECK(m.vectorize("zzzzqqqq").ids.empty());
  models::NgramFeatureOptions bad;
  bad.hash_bits = 40;
  CHECK_THROWS_AS(NgramModel::train(topics(10, 1), kNames, bad, quiet("svm", 1)), UsageError);
}

TEST_CASE("n-gram baseline learns topics with both solvers", "[ngram]") {
  auto train = topics(300, 1), test = topics(100, 2);
  for (const char* solver : {"svm", "sgd"}) {
    INFO(solver);
    auto o = quiet(solver, 2);
    if (std::string(solver) == "sgd") o.epochs = 10;
    auto m = NgramModel::train(train, kNames, feats(), o, &test);
    auto p = m.predict_proba(test.texts);
    REQUIRE(p.rows == 100);
    REQUIRE(p.cols == 3);
    for (int64_t i = 0; i < p.rows; ++i) {
      double s = 0;
      for (int64_t c = 0; c < 3; ++c) s += p.at(i, c);
      CHECK(s == Approx(1.0).margin(1e-5));
    }
    auto metrics = eval::classification_metrics(test.labels, p);
    CHECK(metrics.get("accuracy") > 0.9);
    CHECK(m.predict(test.texts) == eval::argmax_rows(p));
  }
}

TEST_CASE("n-gram training is deterministic", "[ngram]") {
  auto train = topics(200, 4), test = topics(50, 5);
  // svm: classes are independent, any thread count gives the same model
  auto a = NgramModel::train(train, kNames, feats(), quiet("svm", 1)).predict_proba(test.texts);
  auto b = NgramModel::train(train, kNames, feats(), quiet("svm", 3)).predict_proba(test.texts);
  CHECK(a.data == b.data);
  // sgd: same seed with one thread gives the same model
  auto c = NgramModel::train(train, kNames, feats(), quiet("sgd", 1)).predict_proba(test.texts, 1);
  auto d = NgramModel::train(train, kNames, feats(), quiet("sgd", 1)).predict_proba(test.texts, 4);
  CHECK(c.data == d.data);
}

TEST_CASE("n-gram multi-label: thresholds, save and load", "[ngram]") {
  auto train = topics(300, 6), valid = topics(100, 7);
  auto f = feats();
  f.char_ngram_min = 3;
  f.char_ngram_max = 4;
  auto m = NgramModel::train_multilabel(train, kNames, f, quiet("svm", 2), &valid);
  REQUIRE(m.thresholds().size() == 3);
  auto sets = m.predict_sets(valid.texts);
  int exact = 0;
  for (size_t i = 0; i < sets.size(); ++i) exact += sets[i] == valid.label_sets[i];
  CHECK(exact > 85);

  test::TempDir dir;
  m.save(dir.file("model"));
  CHECK(std::filesystem::exists(dir.file("model/config.json")));
  auto cfg = test::read_file(dir.file("model/config.json"));
  CHECK(cfg.find("\"model_type\": \"nlpc-ngram\"") != std::string::npos);
  CHECK(cfg.find("\"problem_type\": \"multi_label_classification\"") != std::string::npos);
  auto back = NgramModel::load(dir.file("model"));
  CHECK(back.labels() == kNames);
  CHECK(back.thresholds() == m.thresholds());
  CHECK(back.predict_proba(valid.texts).data == m.predict_proba(valid.texts).data);

  test::write_file(dir.file("model/config.json"), "{\"model_type\": \"bert\"}");
  CHECK_THROWS_AS(NgramModel::load(dir.file("model")), InputError);
  CHECK_THROWS_AS(NgramModel::load(dir.file("missing")), InputError);
}

TEST_CASE("n-gram baseline rejects bad input", "[ngram]") {
  auto d = topics(20, 8);
  d.labels[3] = 7;
  CHECK_THROWS_AS(NgramModel::train(d, kNames, feats(), quiet("svm", 1)), InputError);
  CHECK_THROWS_AS(NgramModel::train(NgramDataset{}, kNames, feats(), quiet("svm", 1)), InputError);
  CHECK_THROWS_AS(NgramModel::train(topics(20, 8), kNames, feats(), quiet("adam", 1)), UsageError);
  NgramDataset empty_texts;
  empty_texts.texts = {"", " ", "!"};
  empty_texts.labels = {0, 1, 2};
  CHECK_THROWS_AS(NgramModel::train(empty_texts, kNames, feats(), quiet("svm", 1)), InputError);
}
