#pragma once
// Internal pieces of load_tokenizer shared by the loaders (src/text/loader_*.cpp).
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "nlpc/text/tokenizer.h"

namespace nlpc::text {

std::unique_ptr<Tokenizer> load_tokenizer_json(const std::string& file);
std::unique_ptr<Tokenizer> load_vocab_txt(const std::string& file, const std::string& folder);
std::unique_ptr<Tokenizer> load_vocab_merges(const std::string& vocab, const std::string& merges,
                                             const std::string& folder);
std::unique_ptr<Tokenizer> load_spm_model(const std::string& file, const std::string& folder);
// Sets unk/pad/cls/sep/mask/bos/eos from special_tokens_map.json and tokenizer_config.json.
void apply_special_roles(Tokenizer& tok, const std::string& folder);
nlohmann::json read_json_if_exists(const std::string& path);
// tokenizer_config.json with the entries of special_tokens_map.json laid over it (transformers'
// from_pretrained gives the map precedence); null when neither file exists.
nlohmann::json read_tokenizer_config(const std::string& folder);
// Special tokens named by the configuration but absent from the vocabulary are appended as added
// special tokens with ids vocab_size, vocab_size + 1, ... in the order given, as transformers' slow
// tokenizers do (e.g. whisper-tiny.en's <|startoftranscript|> = 50257 from special_tokens_map.json).
void add_missing_specials(Tokenizer& tok, const std::vector<std::string>& specials);
// Standard base64 (padding and line breaks ignored); InputError naming `what` on another character.
std::string base64_decode(const std::string& s, const std::string& what = "base64 data");

}  // namespace nlpc::text
