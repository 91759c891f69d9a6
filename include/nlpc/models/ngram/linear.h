#pragma once
// Fast n-gram baseline: hashed word and character n-grams, TF-IDF weighted and L2-normalised per
// feature group, with a linear model trained by multi-threaded (Hogwild) averaged SGD. Plain C++
// (no libtorch). Single-label: multinomial softmax. Multi-label: one-vs-all logistic regression
// with per-label thresholds (tuned on the validation set when one is given, else 0.5).
//
// Features (see NgramFeatureOptions): text is lower-cased (ASCII), split into tokens (runs of ASCII
// letters/digits/'_' and any non-ASCII byte). Word n-grams of word_ngram_min..max tokens; character
// n-grams of char_ngram_min..max bytes inside each token padded with one space on each side
// (scikit-learn's "char_wb"). Every n-gram is hashed (64-bit FNV-1a, group-salted) into 2^hash_bits
// buckets; buckets seen in fewer than min_df training texts are dropped, the others get compact
// feature ids (the "vocabulary", stored as the sorted bucket list). Values: (1 + ln tf) (sublinear)
// or tf, times idf = ln((1 + N) / (1 + df)) + 1 (scikit-learn's smooth idf), L2-normalised within
// the word group and within the char group, each group then scaled by its weight.
//
// Out of core: the training texts may be streamed (NgramDataset::scan), read twice (counting, then
// vectorizing); the TF-IDF rows go to a compact row store (about 4 bytes per non-zero: LEB128 id
// deltas and binary16 values) in a scratch file that is unlinked at once, and the solvers read it
// back a batch of randomly picked small blocks at a time. Memory: the model, one batch and 4 bytes
// per row (labels), whatever the number of rows.
//
// Determinism: with threads == 1 training is a pure function of (data, options, seed). With more
// threads, samples are processed Hogwild-style (lock-free shared weights), so results vary slightly
// from run to run (typically well under 0.5 accuracy points); prediction is always deterministic.
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "nlpc/eval/matrix.h"
#include "nlpc/eval/metric_set.h"
#include "nlpc/eval/multilabel.h"

namespace nlpc::models {

struct NgramFeatureOptions {
  bool lowercase = true;
  int word_ngram_min = 1;  // 0 = no word features
  int word_ngram_max = 2;
  // Character n-grams are off by default: on debian-packages-en (summary,text) 2..5 adds ~0.5
  // accuracy points for ~4x the training time (docs/benchmarks.md).
  int char_ngram_min = 0;  // 0 = no character features; e.g. 2
  int char_ngram_max = 5;
  int hash_bits = 22;      // 2^hash_bits buckets, 10..28
  int min_df = 2;          // keep buckets seen in at least min_df training texts
  bool sublinear_tf = true;
  bool use_idf = true;
  float word_weight = 1.0f;  // scale of the word group after L2 normalisation
  float char_weight = 1.0f;
};

struct NgramTrainOptions {
  // "svm": one-vs-rest squared-hinge linear SVMs by dual coordinate descent (scikit-learn's
  // LinearSVC solver; groups of 16 classes in parallel, deterministic for any thread count and any
  // world size under a launcher), probabilities from
  // softmax / sigmoid of the scores times a scale fitted on the validation set (training set when
  // none is given). "sgd": softmax (single-label) / logistic (multi-label) regression by averaged
  // Hogwild SGD, using epochs, lr, l2 and average.
  std::string solver = "svm";
  double C = 0.5;          // svm: inverse regularisation strength
  double tol = 0.1;        // svm: stopping tolerance on the projected gradient
  int max_iter = 200;      // svm: passes per class
  int epochs = 5;
  float lr = 0.5f;         // initial learning rate, decayed linearly to 0 over all epochs
  float l2 = 0.0f;         // L2 penalty, applied (lazily) to the rows of the features present
  bool average = true;     // averaged SGD: the model keeps the mean of all iterates
  uint64_t seed = 0;
  int threads = 0;         // <= 0: nlpc::num_threads()
  bool progress = true;    // show a progress bar
  // Where the training matrix (about 4 bytes per non-zero) and the SVM's dual variables (4 bytes
  // per row and class) go while training: files in this folder, unlinked as soon as they are
  // opened (a killed run leaves nothing behind), read back one block at a time, so that they live
  // in the page cache instead of the process. "" keeps them in memory.
  std::string scratch_dir;
  // Encoded bytes of the training matrix read and decoded together (a batch of small blocks picked
  // at random); memory while training is the model plus about 3x this.
  int64_t batch_bytes = int64_t(16) << 20;
  // Called after every epoch with validation metrics (when a validation set is given).
  std::function<void(int epoch, const eval::MetricSet& valid)> on_epoch;
};

enum class NgramProblem { kSingleLabel, kMultiLabel };

// One pass over the texts of a data set, in the order of its labels: calls row(text) for each
// (row may move from the string). Training calls it twice (counting, then vectorizing), so it must
// give the same texts each time; they are never all in memory at once.
using NgramTextScan = std::function<void(const std::function<void(std::string& text)>& row)>;

// Labelled texts. Single-label: `labels` (class ids). Multi-label: `label_sets`. The training set
// may give `scan` instead of `texts` (streamed from a file); the validation set is kept in memory.
struct NgramDataset {
  std::vector<std::string> texts;
  std::vector<int> labels;
  eval::LabelSets label_sets;
  NgramTextScan scan;
};

class NgramModel {
 public:
  // Single-label training. labels[i] in [0, label_names.size()). `valid` may be null.
  static NgramModel train(const NgramDataset& train, const std::vector<std::string>& label_names,
                          const NgramFeatureOptions& features, const NgramTrainOptions& options,
                          const NgramDataset* valid = nullptr);
  // Multi-label training (one-vs-all logistic). Thresholds are tuned on `valid` when given.
  static NgramModel train_multilabel(const NgramDataset& train,
                                     const std::vector<std::string>& label_names,
                                     const NgramFeatureOptions& features,
                                     const NgramTrainOptions& options,
                                     const NgramDataset* valid = nullptr);

  // Probabilities [n x k]: softmax rows (single-label) or independent sigmoids (multi-label).
  // Batched over `threads` threads (<= 0: nlpc::num_threads()); deterministic.
  eval::Matrix predict_proba(const std::vector<std::string>& texts, int threads = 0) const;
  // Argmax class ids (single-label) .
  std::vector<int> predict(const std::vector<std::string>& texts, int threads = 0) const;
  // Label sets at the model's thresholds (multi-label).
  eval::LabelSets predict_sets(const std::vector<std::string>& texts, int threads = 0) const;

  // Folder with config.json (model_type "nlpc-ngram", problem_type, id2label, label2id, features)
  // and model.safetensors (weight [F, k], bias [k], idf [F], buckets [F], thresholds [k]).
  // score_scale is kept in config.json.
  void save(const std::string& dir) const;
  // Throws InputError naming the file on a missing/invalid config or tensor.
  static NgramModel load(const std::string& dir);

  NgramProblem problem() const { return problem_; }
  const std::vector<std::string>& labels() const { return labels_; }
  const NgramFeatureOptions& features() const { return features_; }
  const std::vector<float>& thresholds() const { return thresholds_; }
  void set_thresholds(std::vector<float> t);
  float score_scale() const { return score_scale_; }
  int64_t num_features() const { return int64_t(idf_.size()); }
  int num_classes() const { return int(labels_.size()); }

  // Sparse TF-IDF vector of one text (feature ids ascending). For tests and inspection.
  struct SparseRow {
    std::vector<int32_t> ids;
    std::vector<float> values;
  };
  SparseRow vectorize(const std::string& text) const;

 private:
  friend class NgramTrainer;
  void build_remap();

  NgramProblem problem_ = NgramProblem::kSingleLabel;
  NgramFeatureOptions features_;
  std::vector<std::string> labels_;
  std::vector<uint32_t> buckets_;  // sorted kept buckets; feature id = position
  std::vector<float> idf_;         // [F]
  std::vector<float> weight_;      // [F x k], row-major (one row per feature)
  std::vector<float> bias_;        // [k]
  std::vector<float> thresholds_;  // [k], multi-label only
  float score_scale_ = 1.0f;       // probabilities = softmax/sigmoid(score_scale * scores)
  std::vector<int32_t> remap_;     // bucket -> feature id or -1 (2^hash_bits entries)
};

}  // namespace nlpc::models
