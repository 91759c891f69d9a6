#pragma once
// ROUGE-1, ROUGE-2, ROUGE-L and ROUGE-Lsum with the semantics of Google's rouge_score package
// (rouge_scorer.py, tokenize.py), which HF `evaluate`'s "rouge" metric wraps:
//  - tokens: lowercase, every run of non-alphanumeric characters is a separator, optional Porter
//    stemming (NLTK's PorterStemmer in its default NLTK_EXTENSIONS mode) of tokens longer than 3;
//  - ROUGE-N: clipped n-gram overlap; precision over the prediction's n-grams, recall over the
//    target's; F = 2PR / (P + R), 0 when both are 0;
//  - ROUGE-L: longest common subsequence over the whole token lists;
//  - ROUGE-Lsum: summaries split into sentences at '\n' (empty lines dropped), union-LCS of each
//    target sentence against all prediction sentences, hits clipped by token counts.
//
// One deliberate difference from rouge_score: its tokenizer keeps only [a-z0-9], which deletes
// accented letters ("não" -> "n", "o"), making it useless for Portuguese. Here letters and digits
// are Unicode-aware (UTF-8 input): Latin-1 and Latin Extended letters, Greek, Cyrillic and other
// scripts' letters count as alphanumeric and are lowercased (Latin, Greek, Cyrillic case pairs),
// combining marks stay inside their word. On ASCII text both tokenizers agree exactly.
// `ascii_only = true` reproduces rouge_score's [^a-z0-9]+ behaviour byte for byte.
//
// Torch-free (src/eval).
#include <string>
#include <vector>

namespace nlpc::eval {

struct RougeScore {
  double precision = 0.0;
  double recall = 0.0;
  double fmeasure = 0.0;
};

struct RougeScores {
  RougeScore rouge1, rouge2, rougeL, rougeLsum;
};

struct RougeOptions {
  bool use_stemmer = false;  // Porter stemmer (English only)
  bool ascii_only = false;   // rouge_score's exact [a-z0-9] tokenizer
};

// NLTK's PorterStemmer().stem(word) (NLTK_EXTENSIONS mode) for a lowercase ASCII word; other
// words are returned unchanged.
std::string porter_stem(const std::string& word);

// rouge_score's tokenize() with the Unicode-aware character classes described above.
std::vector<std::string> rouge_tokenize(const std::string& text, const RougeOptions& options = {});

// Scores of one prediction against one target (rouge_score's RougeScorer.score(target, prediction)).
RougeScores rouge_score(const std::string& target, const std::string& prediction,
                        const RougeOptions& options = {});

// Lower-level pieces, on tokens (exposed for tests and for callers that tokenize once).
RougeScore rouge_n(const std::vector<std::string>& target, const std::vector<std::string>& prediction, int n);
RougeScore rouge_l(const std::vector<std::string>& target, const std::vector<std::string>& prediction);
RougeScore rouge_lsum(const std::vector<std::vector<std::string>>& target_sentences,
                      const std::vector<std::vector<std::string>>& prediction_sentences);
// Indices into `ref` of one LCS of ref and can, as rouge_score's _backtrack_norec picks it.
std::vector<size_t> lcs_indices(const std::vector<std::string>& ref, const std::vector<std::string>& can);

// Corpus score: the plain mean of per-pair F-measures, each in [0, 1] (HF evaluate's "rouge" with
// use_aggregator=False, averaged; its default BootstrapAggregator reports the median of bootstrap
// means, which approximates this mean). Confidence intervals are the caller's (eval's bootstrap).
// ROUGE-Lsum splits on '\n' only (rouge_score's default): put one sentence per line.
// Sizes must match (UsageError otherwise).
struct RougeCorpus {
  double rouge1 = 0, rouge2 = 0, rougeL = 0, rougeLsum = 0;
  std::vector<RougeScores> per_example;
};
RougeCorpus rouge_corpus(const std::vector<std::string>& targets, const std::vector<std::string>& predictions,
                         const RougeOptions& options = {});

}  // namespace nlpc::eval
