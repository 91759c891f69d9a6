// Benchmark of the n-gram baseline on a CSV data set (train -> test), driven by
// scripts/bench/baseline.sh. Prints one JSON line with the test metrics and the training time.
//
//   bench_ngram_baseline --data DIR [--task section|tags] [--text-column text] [--epochs 5] [--lr 0.5]
//                        [--threads N] [--seed 0] [--word MIN-MAX] [--char MIN-MAX] [--hash-bits 22]
//                        [--min-df 2] [--l2 0] [--no-average] [--save DIR] [--valid]
//                        [--solver svm|sgd] [--C 0.5] [--tol 0.1] [--max-iter 200] [--char-weight 1]
//
// The CSV loader here is a minimal RFC 4180 reader for this benchmark only.
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "nlpc/core/fs.h"
#include "nlpc/core/log.h"
#include "nlpc/core/system.h"
#include "nlpc/eval/classification.h"
#include "nlpc/eval/multilabel.h"
#include "nlpc/models/ngram/linear.h"

using namespace nlpc;

namespace {

struct Table {
  std::vector<std::string> header;
  std::vector<std::vector<std::string>> rows;
  size_t column(const std::string& name) const {
    for (size_t i = 0; i < header.size(); ++i) {
      if (header[i] == name) return i;
    }
    std::fprintf(stderr, "no column %s\n", name.c_str());
    std::exit(2);
  }
};

Table read_csv(const std::string& path) {
  std::string s = read_file(path);
  Table t;
  std::vector<std::string> row;
  std::string field;
  bool quoted = false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (quoted) {
      if (c == '"' && i + 1 < s.size() && s[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      row.push_back(std::move(field));
      field.clear();
    } else if (c == '\n' || c == '\r') {
      if (c == '\r' && i + 1 < s.size() && s[i + 1] == '\n') ++i;
      row.push_back(std::move(field));
      field.clear();
      (t.header.empty() ? t.header : (t.rows.emplace_back(), t.rows.back())) = std::move(row);
      row.clear();
    } else {
      field += c;
    }
  }
  if (!field.empty() || !row.empty()) {
    row.push_back(field);
    t.rows.push_back(row);
  }
  return t;
}

std::vector<std::string> split_tags(const std::string& s) {
  std::vector<std::string> out;
  size_t b = 0;
  while (b <= s.size()) {
    size_t e = s.find(';', b);
    if (e == std::string::npos) e = s.size();
    if (e > b) out.push_back(s.substr(b, e - b));
    b = e + 1;
  }
  return out;
}

std::pair<int, int> parse_range(const std::string& s) {
  if (s == "0" || s == "off") return {0, 0};
  auto dash = s.find('-');
  if (dash == std::string::npos) return {std::atoi(s.c_str()), std::atoi(s.c_str())};
  return {std::atoi(s.substr(0, dash).c_str()), std::atoi(s.substr(dash + 1).c_str())};
}

double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + 1e-6 * double(u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

int main(int argc, char** argv) {
  init_logging("info", false);  // logs to stderr; stdout is the JSON result
  std::map<std::string, std::string> a = {{"--task", "section"}, {"--text-column", "text"}};
  std::set<std::string> flags = {"--no-average", "--valid"};
  for (int i = 1; i < argc; ++i) {
    std::string k = argv[i];
    if (flags.count(k)) {
      a[k] = "1";
    } else if (i + 1 < argc) {
      a[k] = argv[++i];
    }
  }
  if (!a.count("--data")) {
    std::fprintf(stderr, "usage: bench_ngram_baseline --data DIR [options]\n");
    return 2;
  }
  models::NgramFeatureOptions fo;
  models::NgramTrainOptions to;
  if (a.count("--word")) std::tie(fo.word_ngram_min, fo.word_ngram_max) = parse_range(a["--word"]);
  if (a.count("--char")) std::tie(fo.char_ngram_min, fo.char_ngram_max) = parse_range(a["--char"]);
  if (a.count("--hash-bits")) fo.hash_bits = std::atoi(a["--hash-bits"].c_str());
  if (a.count("--min-df")) fo.min_df = std::atoi(a["--min-df"].c_str());
  if (a.count("--char-weight")) fo.char_weight = float(std::atof(a["--char-weight"].c_str()));
  if (a.count("--solver")) to.solver = a["--solver"];
  if (a.count("--C")) to.C = std::atof(a["--C"].c_str());
  if (a.count("--tol")) to.tol = std::atof(a["--tol"].c_str());
  if (a.count("--max-iter")) to.max_iter = std::atoi(a["--max-iter"].c_str());
  if (a.count("--epochs")) to.epochs = std::atoi(a["--epochs"].c_str());
  if (a.count("--lr")) to.lr = float(std::atof(a["--lr"].c_str()));
  if (a.count("--l2")) to.l2 = float(std::atof(a["--l2"].c_str()));
  if (a.count("--seed")) to.seed = std::strtoull(a["--seed"].c_str(), nullptr, 10);
  if (a.count("--threads")) to.threads = std::atoi(a["--threads"].c_str());
  to.average = !a.count("--no-average");
  to.progress = false;
  bool tags = a["--task"] == "tags";

  std::string dir = a["--data"];
  Table train = read_csv(dir + "/train.csv"), test = read_csv(dir + "/test.csv");
  // --text-column a,b: the columns are joined with a newline (e.g. summary,text)
  std::vector<size_t> tcs;
  for (size_t b = 0; b <= a["--text-column"].size();) {
    size_t e = a["--text-column"].find(',', b);
    if (e == std::string::npos) e = a["--text-column"].size();
    tcs.push_back(train.column(a["--text-column"].substr(b, e - b)));
    b = e + 1;
  }
  size_t lc = train.column(tags ? "tags" : "section");
  auto text_of = [&](const std::vector<std::string>& r) {
    std::string t;
    for (size_t c : tcs) t += (t.empty() ? "" : "\n") + r[c];
    return t;
  };
  std::map<std::string, int> ids;
  std::vector<std::string> names;
  auto id_of = [&](const std::string& s, bool add) {
    auto it = ids.find(s);
    if (it != ids.end()) return it->second;
    if (!add) return -1;
    ids[s] = int(names.size());
    names.push_back(s);
    return int(names.size()) - 1;
  };
  auto make = [&](const Table& t, bool add) {
    models::NgramDataset d;
    for (const auto& r : t.rows) {
      if (tags) {
        auto ts = split_tags(r[lc]);
        if (ts.empty()) continue;  // untagged packages: no annotation, left out
        std::vector<int> set;
        for (const auto& s : ts) {
          int id = id_of(s, add);
          if (id >= 0) set.push_back(id);  // test tags never seen in training are dropped
        }
        d.label_sets.push_back(set);
      } else {
        d.labels.push_back(id_of(r[lc], add));
        if (d.labels.back() < 0) continue;
      }
      d.texts.push_back(text_of(r));
    }
    return d;
  };
  auto dtrain = make(train, true);
  auto dtest = make(test, false);
  models::NgramDataset dvalid;
  if (a.count("--valid")) dvalid = make(read_csv(dir + "/valid.csv"), false);

  auto t0 = std::chrono::steady_clock::now();
  double c0 = cpu_seconds();
  auto model = tags ? models::NgramModel::train_multilabel(dtrain, names, fo, to, a.count("--valid") ? &dvalid : nullptr)
                    : models::NgramModel::train(dtrain, names, fo, to, a.count("--valid") ? &dvalid : nullptr);
  double train_s = seconds_since(t0), train_cpu_s = cpu_seconds() - c0;
  t0 = std::chrono::steady_clock::now();
  auto p = model.predict_proba(dtest.texts, to.threads);
  double predict_s = seconds_since(t0);
  eval::MetricSet m;
  if (tags) {
    eval::MultilabelOptions mo;
    auto all = eval::multilabel_metrics(dtest.label_sets, p, model.thresholds(), {}, mo);
    for (const char* k : {"f1_micro", "f1_macro", "precision_at_1", "subset_accuracy", "hamming_loss"}) m.set(k, all.get(k));
    auto at05 = eval::multilabel_metrics(dtest.label_sets, p, {0.5f}, {}, mo);
    m.set("f1_micro_at_0.5", at05.get("f1_micro"));
  } else {
    eval::ClassificationOptions co;
    co.per_class = false;
    auto all = eval::classification_metrics(dtest.labels, p, {}, co);
    for (const char* k : {"accuracy", "f1_macro", "roc_auc_ovr_macro", "log_loss"}) m.set(k, all.get(k));
  }
  m.set("train_s", train_s);
  m.set("train_cpu_s", train_cpu_s);
  m.set("predict_s", predict_s);
  m.set("features", double(model.num_features()));
  m.set("train_rows", double(dtrain.texts.size()));
  m.set("test_rows", double(dtest.texts.size()));
  m.set("threads", to.threads > 0 ? to.threads : num_threads());
  if (a.count("--save")) {
    t0 = std::chrono::steady_clock::now();
    model.save(a["--save"]);
    m.set("save_s", seconds_since(t0));
  }
  std::printf("%s\n", m.to_json().c_str());
  return 0;
}
