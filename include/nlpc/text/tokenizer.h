#pragma once
// One tokenizer interface for the three Hugging Face families nlpc reads:
//   WordPiece (BERT, DistilBERT)       vocab.txt or tokenizer.json (model.type "WordPiece")
//   byte-level BPE (GPT-2, Whisper)    vocab.json + merges.txt or tokenizer.json (model.type "BPE")
//   SentencePiece Unigram / BPE (T5)   tokenizer.json (model.type "Unigram") or a SentencePiece .model
// Ids match Hugging Face `tokenizers` (the "fast" tokenizers) for tokenizer.json folders and
// SentencePiece itself for .model files. Torch-free.
//
// Encode pipeline (shared by all families, in Tokenizer::encode):
//   added/special tokens are split out of the raw text → the family's normalizer + pre-tokenizer +
//   model produce the pieces → truncation → the post-processor template ([CLS] A [SEP] B [SEP],
//   A </s>, <|startoftranscript|> ... ) → padding.
// Offsets are byte offsets [start, end) into the original UTF-8 input of the sequence the token came
// from (0,0 for tokens added by the template or padding); char_offsets() converts them to code
// point offsets, as Hugging Face's Python API reports them.
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

namespace nlpc::text {

enum class Truncation { kLongestFirst, kOnlyFirst, kOnlySecond };
Truncation parse_truncation(const std::string& s);  // "longest_first" | "only_first" | "only_second"

struct EncodeOptions {
  bool add_special_tokens = true;
  int64_t max_length = 0;  // 0 = no truncation
  Truncation truncation = Truncation::kLongestFirst;
  int64_t pad_to = 0;  // pad to this length (0 = no padding); max_length when pad_to_max_length
  bool pad_to_max_length = false;
  bool with_tokens = true;  // fill Encoding::tokens (the id-only paths turn it off)
};

struct Encoding {
  std::vector<int32_t> ids;
  std::vector<std::string> tokens;
  std::vector<int32_t> type_ids;
  std::vector<int32_t> attention_mask;
  std::vector<uint8_t> special_tokens_mask;
  std::vector<std::pair<uint32_t, uint32_t>> offsets;  // byte offsets into the sequence's input
  std::vector<int8_t> sequence_ids;                    // 0 = first, 1 = second, -1 = template/pad
  size_t size() const { return ids.size(); }
};

// One piece produced by a model before post-processing.
struct Piece {
  int32_t id;
  uint32_t start, end;  // byte offsets into the sequence's input
};

// A token (special or not) that is matched in the raw text before normalization.
struct AddedToken {
  std::string content;
  int32_t id = -1;
  bool special = true;
  bool lstrip = false;
  bool rstrip = false;
  bool single_word = false;
  bool normalized = false;
};

// Post-processor template: each item is a special token id or a sequence (A = 0, B = 1).
struct TemplateItem {
  bool is_sequence = false;
  int sequence = 0;    // when is_sequence
  int32_t id = -1;     // when special
  int32_t type_id = 0;
};
struct PostTemplate {
  std::vector<TemplateItem> single;
  std::vector<TemplateItem> pair;
  size_t added(bool is_pair) const;  // number of special tokens the template adds
};

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  // "wordpiece", "byte_bpe", "unigram", "sentencepiece_bpe"
  virtual std::string family() const = 0;

  Encoding encode(std::string_view text, const EncodeOptions& opt = {}) const;
  Encoding encode_pair(std::string_view a, std::string_view b, const EncodeOptions& opt = {}) const;
  // Pieces of `text` before the template (added tokens included).
  std::vector<Piece> tokenize(std::string_view text) const;
  std::string decode(const std::vector<int32_t>& ids, bool skip_special_tokens = false) const;

  int32_t token_to_id(std::string_view token) const;  // -1 when absent
  const std::string& id_to_token(int32_t id) const;   // throws UsageError when out of range
  size_t vocab_size() const { return id_to_token_.size(); }

  // Named special tokens ("unk", "pad", "cls", "sep", "mask", "bos", "eos"), -1 when absent.
  int32_t special_id(const std::string& role) const;
  const std::vector<AddedToken>& added_tokens() const { return added_; }
  const PostTemplate& post_template() const { return template_; }
  bool is_special(int32_t id) const;

  // Setup (used by the loaders).
  void set_vocab(std::vector<std::string> id_to_token);
  void add_tokens(const std::vector<AddedToken>& tokens);
  void set_template(PostTemplate t) { template_ = std::move(t); }
  void set_special(const std::string& role, int32_t id) { specials_[role] = id; }
  int32_t type_id_pad() const { return 0; }

 protected:
  // Family hook: pieces of a span of raw text without added tokens. `base` is the span's byte
  // offset in the sequence's input, to be added to the piece offsets.
  virtual void encode_span(std::string_view span, uint32_t base, std::vector<Piece>& out) const = 0;
  // Family hook: the family's decoder over token ids (added tokens included, already filtered).
  virtual std::string decode_ids(const std::vector<int32_t>& ids) const = 0;
  bool is_added(int32_t id) const { return added_by_id_.count(id) != 0; }

  std::vector<std::string> id_to_token_;
  std::unordered_map<std::string, int32_t> token_to_id_;

 private:
  Encoding build(std::vector<Piece> a, std::vector<Piece>* b, const EncodeOptions& o) const;

  std::vector<AddedToken> added_;
  std::unordered_map<int32_t, size_t> added_by_id_;
  std::unordered_map<std::string, int32_t> specials_;
  PostTemplate template_;
  size_t max_added_len_ = 0;
  uint64_t added_first_bytes_[4] = {0, 0, 0, 0};  // bitset over the first byte of added tokens
};

// Converts byte offsets in `text` to code point offsets (what Hugging Face's Python API reports).
std::vector<std::pair<uint32_t, uint32_t>> char_offsets(
    std::string_view text, const std::vector<std::pair<uint32_t, uint32_t>>& byte_offsets);

// Loads a tokenizer from a folder (tokenizer.json, vocab.txt, vocab.json + merges.txt, *.model) or
// from a single file. Throws InputError naming the missing or malformed file.
std::unique_ptr<Tokenizer> load_tokenizer(const std::string& path);

}  // namespace nlpc::text
