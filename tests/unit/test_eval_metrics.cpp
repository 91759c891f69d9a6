// Golden tests of src/eval against scikit-learn 1.2 (scripts/ref/metrics_ref.py).
#include <catch2/catch.hpp>

#include <cmath>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "nlpc/core/error.h"
#include "nlpc/eval/bootstrap.h"
#include "nlpc/eval/classification.h"
#include "nlpc/eval/multilabel.h"
#include "../test_util.h"

using namespace nlpc::eval;
using nlohmann::json;

namespace {

const json& ref() {
  static json j = json::parse(nlpc::test::read_file(nlpc::test::fixture("eval/metrics_ref.json")));
  return j;
}

Matrix to_matrix(const json& rows) {
  Matrix m(int64_t(rows.size()), int64_t(rows[0].size()));
  for (size_t i = 0; i < rows.size(); ++i) {
    for (size_t j = 0; j < rows[i].size(); ++j) m.at(int64_t(i), int64_t(j)) = rows[i][j].get<float>();
  }
  return m;
}

void check_expected(const MetricSet& got, const json& expected, const std::string& case_name) {
  for (const auto& [name, value] : expected.items()) {
    INFO(case_name << " " << name);
    REQUIRE(got.has(name));
    CHECK(got.get(name) == Approx(value.get<double>()).margin(1e-9));
  }
}

}  // namespace

TEST_CASE("classification metrics match scikit-learn", "[eval]") {
  for (const auto& c : ref()["multiclass"]) {
    auto y = c["y_true"].get<std::vector<int>>();
    auto p = to_matrix(c["proba"]);
    auto m = classification_metrics(y, p);
    check_expected(m, c["expected"], c["name"]);
    auto cm = confusion_matrix(y, argmax_rows(p), int(p.cols));
    CHECK(json(cm) == c["confusion_matrix"]);
  }
}

TEST_CASE("classification metrics: order, names and per-class labels", "[eval]") {
  Matrix p(3, 2);
  p.at(0, 0) = 0.9f, p.at(0, 1) = 0.1f;
  p.at(1, 0) = 0.2f, p.at(1, 1) = 0.8f;
  p.at(2, 0) = 0.6f, p.at(2, 1) = 0.4f;
  auto m = classification_metrics({0, 1, 1}, p, {"neg", "pos"});
  CHECK(m.items()[0].first == "accuracy");
  CHECK(m.get("accuracy") == Approx(2.0 / 3));
  CHECK(m.get("recall/pos") == Approx(0.5));
  CHECK(m.get("precision/pos") == Approx(1.0));
  CHECK(m.get("support/neg") == 1);
  CHECK(m.get("roc_auc_ovr_macro") == Approx(1.0));
  CHECK_THROWS_AS(m.get("f1_mcro"), nlpc::UsageError);
  CHECK_THROWS_AS(classification_metrics({0, 2, 1}, p), nlpc::InputError);
  CHECK_THROWS_AS(classification_metrics({0, 1}, p), nlpc::InputError);
  auto cm = confusion_matrix({0, 1, 1}, argmax_rows(p), 2);
  CHECK(confusion_matrix_csv(cm, {"neg", "p,os"}) == "true\\pred,neg,\"p,os\"\nneg,1,0\n\"p,os\",1,1\n");
  CHECK(confusion_matrix_json(cm, {"neg", "pos"}) == R"({"labels":["neg","pos"],"matrix":[[1,0],[1,1]]})");
  CHECK(m.to_json().rfind(R"({"accuracy":0.6666666666666666,"precision_macro":0.75,)", 0) == 0);
}

TEST_CASE("multi-label metrics match scikit-learn", "[eval]") {
  for (const auto& c : ref()["multilabel"]) {
    auto y = c["y_true"].get<LabelSets>();
    auto p = to_matrix(c["proba"]);
    auto thr = c["thresholds"].get<std::vector<float>>();
    check_expected(multilabel_metrics(y, p, thr), c["expected"], c["name"]);
  }
}

TEST_CASE("tuned thresholds reach each label's best F1", "[eval]") {
  for (const auto& c : ref()["multilabel"]) {
    auto y = c["y_true"].get<LabelSets>();
    auto p = to_matrix(c["proba"]);
    auto thr = tune_thresholds(y, p, 0.5f);
    MultilabelOptions o;
    o.per_label = true;
    auto m = multilabel_metrics(y, p, thr, {}, o);
    const auto& best = c["best_f1_per_label"];
    for (size_t l = 0; l < best.size(); ++l) {
      INFO(c["name"] << " label " << l);
      if (best[l].is_null()) {
        CHECK(thr[l] == 0.5f);  // no positive row: the default stays
      } else {
        CHECK(m.get("f1/" + std::to_string(l)) == Approx(best[l].get<double>()).margin(1e-12));
      }
    }
    CHECK(m.get("f1_micro") >= multilabel_metrics(y, p, {0.5f}).get("f1_micro") - 0.05);
  }
}

TEST_CASE("percentile matches numpy", "[eval]") {
  const auto& pc = ref()["percentile"];
  auto qs = pc["q"].get<std::vector<double>>();
  for (size_t i = 0; i < qs.size(); ++i) {
    auto v = pc["values"].get<std::vector<double>>();
    CHECK(percentile(v, qs[i]) == Approx(pc["expected"][i].get<double>()).margin(1e-12));
  }
}

TEST_CASE("bootstrap intervals are seeded and thread-independent", "[eval]") {
  const auto& c = ref()["multiclass"][0];
  auto y = c["y_true"].get<std::vector<int>>();
  auto p = to_matrix(c["proba"]);
  auto fn = [&](const std::vector<int64_t>& rows) {
    std::vector<int> ys;
    for (auto r : rows) ys.push_back(y[size_t(r)]);
    ClassificationOptions o;
    o.per_class = false;
    return classification_metrics(ys, take_rows(p, rows), {}, o);
  };
  BootstrapOptions o;
  o.resamples = 200;
  o.seed = 7;
  o.threads = 1;
  auto a = bootstrap(int64_t(y.size()), fn, o);
  o.threads = 3;
  auto b = bootstrap(int64_t(y.size()), fn, o);
  REQUIRE(a.size() == b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    INFO(a[i].name);
    CHECK(a[i].lower == b[i].lower);
    CHECK(a[i].upper == b[i].upper);
    CHECK(a[i].resamples == 200);
    CHECK(a[i].lower <= a[i].value);
    CHECK(a[i].value <= a[i].upper);
  }
  CHECK(a[0].name == "accuracy");
  CHECK(a[0].value == Approx(c["expected"]["accuracy"].get<double>()));
  CHECK(a[0].upper - a[0].lower > 0.05);  // n = 240: a CI about +-0.06 wide
  CHECK(a[0].upper - a[0].lower < 0.2);
  o.seed = 8;
  auto d = bootstrap(int64_t(y.size()), fn, o);
  CHECK((d[0].lower != a[0].lower || d[0].upper != a[0].upper));
  auto table = format_intervals(a, 0.95);
  CHECK(table.find("95% CI") != std::string::npos);
  CHECK_THROWS_AS(bootstrap(3, fn, BootstrapOptions{0, 0.95, 0, 1}), nlpc::UsageError);
  CHECK_THROWS_AS(bootstrap(3, fn, BootstrapOptions{10, 1.5, 0, 1}), nlpc::UsageError);
}

TEST_CASE("threshold tuning leaves rare labels at the default", "[eval]") {
  // label 0: 6 positives, separable at 0.35; label 1: 2 positives, ranked low
  LabelSets y = {{0}, {0}, {0}, {0}, {0}, {0, 1}, {1}, {}, {}, {}};
  Matrix p(10, 2);
  const float s0[] = {0.9f, 0.8f, 0.7f, 0.6f, 0.5f, 0.4f, 0.3f, 0.2f, 0.1f, 0.05f};
  const float s1[] = {0.3f, 0.3f, 0.3f, 0.3f, 0.3f, 0.1f, 0.1f, 0.2f, 0.2f, 0.2f};
  for (int64_t i = 0; i < 10; ++i) p.at(i, 0) = s0[i], p.at(i, 1) = s1[i];
  auto t = tune_thresholds(y, p, 0.5f);
  CHECK(t[0] == Approx(0.35f));
  CHECK(t[1] == 0.5f);
  auto t1 = tune_thresholds(y, p, 0.5f, 1);
  CHECK(t1[1] < 0.5f);
}
