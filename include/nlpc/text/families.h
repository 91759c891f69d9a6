#pragma once
// The tokenizer families behind nlpc::text::Tokenizer. Loaders (load_tokenizer) build these from
// Hugging Face / SentencePiece files; tests and benchmarks may build them directly.
#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "nlpc/text/str_map.h"
#include "nlpc/text/tokenizer.h"

namespace nlpc::text {

// ---- WordPiece (BERT) ---------------------------------------------------------------------------
struct BertNormalizerConfig {
  bool clean_text = true;
  bool handle_chinese_chars = true;
  int strip_accents = -1;  // -1 = same as lowercase, 0 = no, 1 = yes
  bool lowercase = true;
};

class WordPieceTokenizer : public Tokenizer {
 public:
  WordPieceTokenizer(std::vector<std::string> vocab, std::string unk_token, BertNormalizerConfig norm,
                     std::string prefix = "##", size_t max_input_chars_per_word = 100);
  std::string family() const override { return "wordpiece"; }
  // The BertNormalizer alone (for tests): normalized text.
  std::string normalize(std::string_view text) const;
  void set_decoder_cleanup(bool cleanup) { cleanup_ = cleanup; }

 protected:
  void encode_span(std::string_view span, uint32_t base, std::vector<Piece>& out) const override;
  std::string decode_ids(const std::vector<int32_t>& ids) const override;

 private:
  void word_pieces(std::string_view word, uint32_t s, uint32_t e, std::vector<Piece>& out) const;

  BertNormalizerConfig norm_;
  std::string prefix_;
  size_t max_chars_;
  int32_t unk_id_;
  bool cleanup_ = true;
  StrIdMap first_;         // word-initial pieces
  StrIdMap continuation_;  // pieces after the ## prefix
  size_t max_piece_len_ = 0;
};

// ---- byte-level BPE (GPT-2, RoBERTa, Whisper) ---------------------------------------------------
class ByteBpeTokenizer : public Tokenizer {
 public:
  // merges: pairs of token strings in rank order.
  ByteBpeTokenizer(std::vector<std::string> vocab,
                   const std::vector<std::pair<std::string, std::string>>& merges,
                   bool add_prefix_space = false);
  ~ByteBpeTokenizer() override;
  std::string family() const override { return "byte_bpe"; }
  // GPT-2 pre-tokenizer: [start, end) byte ranges of the pre-tokens of text.
  static void pre_tokenize(std::string_view text, std::vector<std::pair<uint32_t, uint32_t>>& out);
  static const std::array<std::string, 256>& byte_to_unicode();

 protected:
  void encode_span(std::string_view span, uint32_t base, std::vector<Piece>& out) const override;
  std::string decode_ids(const std::vector<int32_t>& ids) const override;

 private:
  void bpe(std::string_view word, std::vector<int32_t>& out) const;

  bool add_prefix_space_;
  std::array<int32_t, 256> byte_id_{};
  std::unordered_map<uint64_t, std::pair<int32_t, int32_t>> merges_;  // (a,b) → (rank, merged id)
  std::unordered_map<int32_t, std::string> id_bytes_;                 // decoded bytes per model id
  std::vector<std::string> bytes_of_;                                 // id → raw bytes
  std::vector<uint32_t> byte_len_;                                    // id → number of raw bytes
  uint64_t cache_owner_;
};

// ---- SentencePiece-style models (Unigram and BPE by scores) ------------------------------------
// The Precompiled normalizer of SentencePiece (a double-array trie over UTF-8 + replacement strings).
class PrecompiledCharsmap {
 public:
  PrecompiledCharsmap() = default;
  explicit PrecompiledCharsmap(std::string blob);  // throws RuntimeError when malformed
  bool empty() const { return trie_.empty(); }
  // Hugging Face mode: per grapheme cluster (< 6 bytes), else per character.
  // SentencePiece mode: longest match at each position.
  // Output offsets: for each output byte, the [start, end) byte range in the input it came from.
  void normalize(std::string_view in, bool hf_graphemes, std::string& out,
                 std::vector<std::pair<uint32_t, uint32_t>>& map) const;

 private:
  // Longest (or shortest when !longest) prefix match of s in the trie: (length, value) or (0, -1).
  std::pair<size_t, int32_t> match(std::string_view s, bool longest) const;
  std::vector<uint32_t> trie_;
  std::string normalized_;
  std::array<int32_t, 128> ascii_{};
};

struct SpmConfig {
  enum class Model { kUnigram, kBpe } model = Model::kUnigram;
  enum class Normalizer { kNone, kPrecompiled, kNfkc } normalizer = Normalizer::kNone;
  bool hf_mode = true;  // tokenizer.json semantics (HF) vs .model semantics (SentencePiece)
  bool add_dummy_prefix = true;
  bool remove_extra_whitespaces = true;
  bool split_on_whitespace = true;  // WhitespaceSplit pre-tokenizer (HF)
  bool fuse_unk = true;
  bool byte_fallback = false;
  int32_t unk_id = 0;
  std::string replacement = "\xE2\x96\x81";  // ▁
};

class SpmTokenizer : public Tokenizer {
 public:
  SpmTokenizer(std::vector<std::string> pieces, std::vector<double> scores, SpmConfig cfg,
               PrecompiledCharsmap charsmap, std::vector<bool> unused = {});
  std::string family() const override {
    return cfg_.model == SpmConfig::Model::kUnigram ? "unigram" : "sentencepiece_bpe";
  }
  std::string normalize(std::string_view text) const;

 protected:
  void encode_span(std::string_view span, uint32_t base, std::vector<Piece>& out) const override;
  std::string decode_ids(const std::vector<int32_t>& ids) const override;

 private:
  struct Word {
    std::string text;
    std::vector<std::pair<uint32_t, uint32_t>> map;  // per byte: input range
  };
  void split_words(std::string_view span, std::vector<Word>& words) const;
  // carry: path score before the word (SentencePiece runs one lattice per sentence, so float
  // rounding, and thus ties, depend on it); updated to the score after the word.
  void viterbi(const Word& w, uint32_t base, double& carry, std::vector<Piece>& out) const;
  void bpe(const Word& w, uint32_t base, std::vector<Piece>& out) const;
  void emit(const Word& w, uint32_t base, size_t s, size_t e, int32_t id, std::vector<Piece>& out) const;

  SpmConfig cfg_;
  PrecompiledCharsmap charsmap_;
  std::vector<double> scores_;
  std::vector<bool> usable_;  // normal/user pieces that the model may produce
  double min_score_ = 0;
  // Trie over piece bytes: node → children (sorted by byte), value id or -1.
  struct Node {
    int32_t id = -1;
    int32_t dense = -1;  // index into dense_ when the node has many children
    std::vector<std::pair<uint8_t, uint32_t>> next;
  };
  // Flattened trie (built from trie_ in breadth-first order) used by the Viterbi search.
  struct FlatNode {
    int32_t id;
    int32_t dense;
    uint32_t begin;
    uint32_t count;
    double score;
  };
  uint32_t child(uint32_t node, uint8_t c) const {
    const FlatNode& n = flat_[node];
    if (n.dense >= 0) return dense_[static_cast<size_t>(n.dense)][c];
    const uint8_t* lab = labels_.data() + n.begin;
    for (uint32_t k = 0; k < n.count; ++k)
      if (lab[k] == c) return children_[n.begin + k];
    return 0;
  }
  void flatten();
  std::vector<Node> trie_;
  std::vector<FlatNode> flat_;
  std::vector<uint8_t> labels_;
  std::vector<uint32_t> children_;
  std::vector<std::array<uint32_t, 256>> dense_;
  std::unordered_map<std::string_view, int32_t> piece_id_;
  std::vector<std::string> piece_store_;
  std::array<int32_t, 256> byte_piece_{};  // <0xNN> pieces for byte fallback
  uint64_t cache_owner_;                   // identifies this tokenizer in the per-thread word cache
};

}  // namespace nlpc::text
