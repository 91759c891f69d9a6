#pragma once
// Word and character error rates for speech recognition (torch-free).
//
// Alignment: Levenshtein with unit costs (substitution, deletion, insertion = 1, match = 0); among
// alignments of minimal total cost the backtrace prefers a match/substitution, then a deletion,
// then an insertion. Counts are per utterance and summed over a corpus:
//   WER = (S + D + I) / N, N = reference words (hits + S + D); corpus level, not a mean of
//   per-utterance rates. N = 0 gives WER 0 when there are no errors, else +inf... see corpus_rate().
//   CER = the same over Unicode code points of the (normalised) text, spaces included (jiwer's CER).
// Words are maximal runs of non-whitespace (Unicode White_Space).
//
// Normaliser (NormalizeOptions, all on by default for `nlpc eval --task asr`):
//   lowercase   Unicode simple lower-casing of every code point;
//   punctuation every Unicode punctuation code point (P*: . , ! ? ' " - ( ) ...) becomes a space,
//               so "don't" -> "don t" and "well-known" -> "well known" (symbols such as $ % + stay);
//   spaces      runs of whitespace collapse to one space, leading/trailing whitespace is removed.
// It is deliberately simple and language-neutral (no number or spelling normalisation, unlike
// Whisper's EnglishTextNormalizer); apply it to references and hypotheses alike.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace nlpc::eval {

struct EditCounts {
  int64_t hits = 0;
  int64_t substitutions = 0;
  int64_t deletions = 0;
  int64_t insertions = 0;
  int64_t ref_length() const { return hits + substitutions + deletions; }
  int64_t hyp_length() const { return hits + substitutions + insertions; }
  int64_t errors() const { return substitutions + deletions + insertions; }
  EditCounts& operator+=(const EditCounts& o);
};

// Edit costs of the alignment. The default (unit costs) gives the minimal number of errors, the
// usual WER definition (jiwer, Kaldi's compute-wer). kScliteCosts are NIST sclite's default weights
// (substitution 4, insertion and deletion 3): sclite then prefers a substitution over an
// insertion/deletion pair even when that costs one more error, and on some pairs it reports more
// errors or another S/D/I split than unit costs do (tests/unit/test_wer.cpp shows which).
struct AlignCosts {
  int64_t substitution = 1;
  int64_t deletion = 1;
  int64_t insertion = 1;
};
inline constexpr AlignCosts kScliteCosts{4, 3, 3};

// One aligned position: op is 'C' (correct), 'S', 'D' (ref only) or 'I' (hyp only).
struct AlignedPair {
  char op = 'C';
  int64_t ref = -1;  // index into the reference tokens (-1 for 'I')
  int64_t hyp = -1;  // index into the hypothesis tokens (-1 for 'D')
};

// Minimal-cost alignment of two token sequences (see the header comment for ties).
std::vector<AlignedPair> align_tokens(const std::vector<std::string>& ref, const std::vector<std::string>& hyp,
                                      const AlignCosts& costs = {});
EditCounts count_edits(const std::vector<std::string>& ref, const std::vector<std::string>& hyp,
                       const AlignCosts& costs = {});

struct NormalizeOptions {
  bool lowercase = true;
  bool strip_punctuation = true;
  bool collapse_spaces = true;
};
// Identity when every option is false. Invalid UTF-8 bytes are kept as U+FFFD.
std::string normalize_transcript(std::string_view text, const NormalizeOptions& opts);

std::vector<std::string> split_words(std::string_view text);       // on Unicode whitespace
std::vector<std::string> split_code_points(std::string_view text);  // one string per code point

// Edits of one utterance pair (texts already normalised by the caller, or not).
EditCounts word_edits(std::string_view ref, std::string_view hyp, const AlignCosts& costs = {});
EditCounts char_edits(std::string_view ref, std::string_view hyp, const AlignCosts& costs = {});

// errors / reference length; 0 when both are 0; +inf when only the reference is empty.
double error_rate(const EditCounts& c);

// Corpus scores: per-utterance counts kept so that bootstrap resampling is cheap.
struct AsrScores {
  std::vector<EditCounts> words, chars;  // one per utterance
  EditCounts word_total, char_total;
  double wer() const { return error_rate(word_total); }
  double cer() const { return error_rate(char_total); }
};

// Normalises (when `normalize`) both sides and counts word and character edits per utterance.
// refs and hyps must have the same size (else UsageError).
AsrScores score_transcripts(const std::vector<std::string>& refs, const std::vector<std::string>& hyps,
                            const NormalizeOptions* normalize);

}  // namespace nlpc::eval
