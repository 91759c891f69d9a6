// load_tokenizer: picks the family from the files of a folder (or a single file) and builds it.
//   tokenizer.json (any family) > vocab.txt (WordPiece) > vocab.json + merges.txt (byte-level BPE)
//   > *.model (SentencePiece)
#include <algorithm>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "nlpc/core/error.h"
#include "nlpc/core/fs.h"
#include "nlpc/text/families.h"
#include "nlpc/text/loader_util.h"

namespace nlpc::text {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

json parse_json_file(const std::string& path) {
  std::string text = read_file(path);
  try {
    return json::parse(text);
  } catch (const json::parse_error& e) {
    throw InputError(path, 0, 0, std::string("is not valid JSON (") + e.what() +
                                     "); expected a Hugging Face tokenizer file");
  }
}

[[noreturn]] void bad(const std::string& file, const std::string& what) { throw InputError(file, 0, 0, what); }

const json& need(const json& j, const char* key, const std::string& file, const std::string& where) {
  if (!j.is_object() || !j.contains(key)) bad(file, "missing \"" + std::string(key) + "\" in " + where);
  return j.at(key);
}

std::string token_content(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("content")) return v.at("content").get<std::string>();
  return {};
}

std::vector<AddedToken> parse_added(const json& arr, const std::string& file) {
  std::vector<AddedToken> out;
  if (arr.is_null()) return out;
  if (!arr.is_array()) bad(file, "\"added_tokens\" must be a list");
  for (const auto& a : arr) {
    AddedToken t;
    t.id = need(a, "id", file, "an added token").get<int32_t>();
    t.content = need(a, "content", file, "an added token").get<std::string>();
    t.special = a.value("special", false);
    t.lstrip = a.value("lstrip", false);
    t.rstrip = a.value("rstrip", false);
    t.single_word = a.value("single_word", false);
    t.normalized = a.value("normalized", !t.special);
    out.push_back(t);
  }
  return out;
}

// Vocab object {token: id} → dense id → token list.
std::vector<std::string> dense_vocab(const json& v, const std::string& file) {
  if (!v.is_object()) bad(file, "\"model.vocab\" must be an object mapping tokens to ids");
  std::vector<std::string> out(v.size());
  for (auto it = v.begin(); it != v.end(); ++it) {
    auto id = it.value().get<int64_t>();
    if (id < 0 || id > 50'000'000) bad(file, "token '" + it.key() + "' has an invalid id " + std::to_string(id));
    if (static_cast<size_t>(id) >= out.size()) out.resize(static_cast<size_t>(id) + 1);
    out[static_cast<size_t>(id)] = it.key();
  }
  return out;
}

PostTemplate parse_post(const json& pp, const Tokenizer& tok, const std::string& file) {
  PostTemplate t;
  if (pp.is_null()) return t;
  std::string type = pp.value("type", "");
  auto special = [&](const std::string& name) {
    int32_t id = -1;
    if (pp.contains("special_tokens") && pp["special_tokens"].contains(name))
      id = pp["special_tokens"][name]["ids"].at(0).get<int32_t>();
    if (id < 0) id = tok.token_to_id(name);
    if (id < 0) bad(file, "post_processor uses special token '" + name + "' which is not in the vocabulary");
    return id;
  };
  if (type == "TemplateProcessing") {
    for (const char* key : {"single", "pair"}) {
      auto& dst = std::string(key) == "single" ? t.single : t.pair;
      for (const auto& it : pp.at(key)) {
        TemplateItem item;
        if (it.contains("Sequence")) {
          item.is_sequence = true;
          item.sequence = it["Sequence"].value("id", "A") == "A" ? 0 : 1;
          item.type_id = it["Sequence"].value("type_id", 0);
        } else if (it.contains("SpecialToken")) {
          item.id = special(it["SpecialToken"].at("id").get<std::string>());
          item.type_id = it["SpecialToken"].value("type_id", 0);
        }
        dst.push_back(item);
      }
    }
  } else if (type == "BertProcessing" || type == "RobertaProcessing") {
    int32_t cls = pp.at("cls").at(1).get<int32_t>(), sep = pp.at("sep").at(1).get<int32_t>();
    bool bert = type == "BertProcessing";
    t.single = {{false, 0, cls, 0}, {true, 0, -1, 0}, {false, 0, sep, 0}};
    t.pair = {{false, 0, cls, 0}, {true, 0, -1, 0}, {false, 0, sep, 0}};
    if (!bert) t.pair.push_back({false, 0, sep, 0});
    t.pair.push_back({true, 1, -1, bert ? 1 : 0});
    t.pair.push_back({false, 0, sep, bert ? 1 : 0});
  } else if (type == "ByteLevel") {
    // offsets trimming only; no special tokens
  } else {
    bad(file, "unsupported post_processor type \"" + type +
                  "\" (supported: TemplateProcessing, BertProcessing, RobertaProcessing, ByteLevel)");
  }
  return t;
}

// Flattens a normalizer/pre_tokenizer that may be a Sequence into a list of typed steps.
std::vector<json> steps(const json& j, const char* list_key) {
  std::vector<json> out;
  if (j.is_null()) return out;
  if (j.value("type", "") == "Sequence") {
    for (const auto& s : j.at(list_key)) {
      auto sub = steps(s, list_key);
      out.insert(out.end(), sub.begin(), sub.end());
    }
  } else {
    out.push_back(j);
  }
  return out;
}

std::unique_ptr<Tokenizer> wordpiece_from_json(const json& j, const std::string& file) {
  const json& m = j.at("model");
  BertNormalizerConfig nc;
  nc.clean_text = false;
  nc.handle_chinese_chars = false;
  nc.lowercase = false;
  nc.strip_accents = 0;
  for (const auto& n : steps(j.value("normalizer", json()), "normalizers")) {
    std::string type = n.value("type", "");
    if (type == "BertNormalizer") {
      nc.clean_text = n.value("clean_text", true);
      nc.handle_chinese_chars = n.value("handle_chinese_chars", true);
      nc.lowercase = n.value("lowercase", true);
      nc.strip_accents = n.contains("strip_accents") && !n["strip_accents"].is_null()
                             ? (n["strip_accents"].get<bool>() ? 1 : 0) : -1;
    } else if (type == "Lowercase") {
      nc.lowercase = true;
    } else if (type == "StripAccents") {
      nc.strip_accents = 1;
    } else {
      bad(file, "unsupported normalizer \"" + type + "\" for WordPiece (supported: BertNormalizer, Lowercase, StripAccents)");
    }
  }
  for (const auto& p : steps(j.value("pre_tokenizer", json()), "pretokenizers")) {
    std::string type = p.value("type", "");
    if (type != "BertPreTokenizer" && type != "Whitespace" && type != "WhitespaceSplit")
      bad(file, "unsupported pre_tokenizer \"" + type + "\" for WordPiece (supported: BertPreTokenizer)");
  }
  auto vocab = dense_vocab(need(m, "vocab", file, "model"), file);
  auto tok = std::make_unique<WordPieceTokenizer>(
      std::move(vocab), m.value("unk_token", "[UNK]"), nc, m.value("continuing_subword_prefix", "##"),
      m.value("max_input_chars_per_word", 100));
  if (j.contains("decoder") && j["decoder"].is_object())
    tok->set_decoder_cleanup(j["decoder"].value("cleanup", true));
  return tok;
}

std::unique_ptr<Tokenizer> bpe_from_json(const json& j, const std::string& file) {
  const json& m = j.at("model");
  bool byte_level = false, prefix = false;
  for (const auto& p : steps(j.value("pre_tokenizer", json()), "pretokenizers")) {
    if (p.value("type", "") == "ByteLevel") {
      byte_level = true;
      prefix = p.value("add_prefix_space", false);
    } else {
      bad(file, "unsupported pre_tokenizer \"" + p.value("type", "") + "\" for BPE (only byte-level BPE is supported)");
    }
  }
  if (!byte_level) bad(file, "BPE model without a ByteLevel pre_tokenizer is not supported (only byte-level BPE)");
  if (!j.value("normalizer", json()).is_null())
    bad(file, "unsupported normalizer for byte-level BPE: \"" + j["normalizer"].value("type", "") + "\"");
  auto vocab = dense_vocab(need(m, "vocab", file, "model"), file);
  std::vector<std::pair<std::string, std::string>> merges;
  for (const auto& mg : need(m, "merges", file, "model")) {
    if (mg.is_array() && mg.size() == 2) {
      merges.emplace_back(mg[0].get<std::string>(), mg[1].get<std::string>());
    } else if (mg.is_string()) {
      auto s = mg.get<std::string>();
      auto sp = s.find(' ');
      if (sp == std::string::npos) bad(file, "merge \"" + s + "\" is not two tokens separated by a space");
      merges.emplace_back(s.substr(0, sp), s.substr(sp + 1));
    } else {
      bad(file, "\"model.merges\" entries must be \"a b\" strings or [a, b] pairs");
    }
  }
  try {
    return std::make_unique<ByteBpeTokenizer>(std::move(vocab), merges, prefix);
  } catch (const RuntimeError& e) {
    bad(file, e.what());
  }
}

std::unique_ptr<Tokenizer> unigram_from_json(const json& j, const std::string& file) {
  const json& m = j.at("model");
  SpmConfig cfg;
  cfg.hf_mode = true;
  cfg.unk_id = m.value("unk_id", json(0)).is_null() ? -1 : m.value("unk_id", 0);
  cfg.byte_fallback = m.value("byte_fallback", false);
  cfg.fuse_unk = true;
  PrecompiledCharsmap charsmap;
  for (const auto& n : steps(j.value("normalizer", json()), "normalizers")) {
    std::string type = n.value("type", "");
    if (type == "Precompiled") {
      cfg.normalizer = SpmConfig::Normalizer::kPrecompiled;
      try {
        charsmap = PrecompiledCharsmap(base64_decode(n.at("precompiled_charsmap").get<std::string>(), "precompiled_charsmap"));
      } catch (const RuntimeError& e) {
        bad(file, e.what());
      }
    } else if (type == "NFKC") {
      cfg.normalizer = SpmConfig::Normalizer::kNfkc;
    } else {
      bad(file, "unsupported normalizer \"" + type + "\" for Unigram (supported: Precompiled, NFKC)");
    }
  }
  cfg.split_on_whitespace = false;
  cfg.add_dummy_prefix = false;
  for (const auto& p : steps(j.value("pre_tokenizer", json()), "pretokenizers")) {
    std::string type = p.value("type", "");
    if (type == "WhitespaceSplit") {
      cfg.split_on_whitespace = true;
    } else if (type == "Metaspace") {
      cfg.replacement = p.value("replacement", "\xE2\x96\x81");
      cfg.add_dummy_prefix = p.contains("prepend_scheme") ? p["prepend_scheme"].get<std::string>() != "never"
                                                          : p.value("add_prefix_space", true);
      if (p.contains("prepend_scheme") && p["prepend_scheme"].get<std::string>() == "first")
        bad(file, "Metaspace prepend_scheme \"first\" is not supported");
    } else {
      bad(file, "unsupported pre_tokenizer \"" + type + "\" for Unigram (supported: WhitespaceSplit, Metaspace)");
    }
  }
  std::vector<std::string> pieces;
  std::vector<double> scores;
  for (const auto& v : need(m, "vocab", file, "model")) {
    if (!v.is_array() || v.size() != 2) bad(file, "Unigram \"model.vocab\" entries must be [piece, score]");
    pieces.push_back(v[0].get<std::string>());
    scores.push_back(v[1].get<double>());
  }
  try {
    return std::make_unique<SpmTokenizer>(std::move(pieces), std::move(scores), cfg, std::move(charsmap));
  } catch (const RuntimeError& e) {
    bad(file, e.what());
  }
}

}  // namespace

std::unique_ptr<Tokenizer> load_tokenizer_json(const std::string& file) {
  json j = parse_json_file(file);
  if (!j.is_object() || !j.contains("model") || !j["model"].is_object())
    bad(file, "expected a Hugging Face tokenizer.json with a \"model\" object");
  std::string type = j["model"].value("type", "");
  if (type.empty()) {  // old files: guess from the fields
    const json& m = j["model"];
    if (m.contains("merges")) type = "BPE";
    else if (m.contains("continuing_subword_prefix") || m.contains("max_input_chars_per_word")) type = "WordPiece";
    else if (m.contains("unk_id")) type = "Unigram";
  }
  std::unique_ptr<Tokenizer> tok;
  try {
    if (type == "WordPiece") tok = wordpiece_from_json(j, file);
    else if (type == "BPE") tok = bpe_from_json(j, file);
    else if (type == "Unigram") tok = unigram_from_json(j, file);
    else bad(file, "unsupported model type \"" + type + "\" (supported: WordPiece, BPE, Unigram)");
    tok->add_tokens(parse_added(j.value("added_tokens", json()), file));
    tok->set_template(parse_post(j.value("post_processor", json()), *tok, file));
  } catch (const json::exception& e) {
    bad(file, std::string("unexpected structure: ") + e.what());
  }
  if (j.contains("padding") && j["padding"].is_object() && j["padding"].contains("pad_id"))
    tok->set_special("pad", j["padding"]["pad_id"].get<int32_t>());
  return tok;
}

void apply_special_roles(Tokenizer& tok, const std::string& folder) {
  // transformers' from_pretrained lets special_tokens_map.json override tokenizer_config.json.
  for (const char* name : {"tokenizer_config.json", "special_tokens_map.json"}) {
    std::string path = (fs::path(folder) / name).string();
    if (!file_exists(path)) continue;
    json j = parse_json_file(path);
    for (const char* role : {"unk", "pad", "cls", "sep", "mask", "bos", "eos"}) {
      std::string key = std::string(role) + "_token";
      if (!j.contains(key)) continue;
      std::string content = token_content(j[key]);
      int32_t id = content.empty() ? -1 : tok.token_to_id(content);
      if (id >= 0) tok.set_special(role, id);
    }
  }
}

json read_json_if_exists(const std::string& path) {
  if (!file_exists(path)) return json();
  return parse_json_file(path);
}

json read_tokenizer_config(const std::string& folder) {
  json cfg = read_json_if_exists((fs::path(folder) / "tokenizer_config.json").string());
  const std::string map_path = (fs::path(folder) / "special_tokens_map.json").string();
  json map = read_json_if_exists(map_path);
  if (map.is_null()) return cfg;
  if (!map.is_object()) throw InputError(map_path, 0, 0, "expected a JSON object of special tokens");
  if (!cfg.is_object()) cfg = json::object();
  for (auto it = map.begin(); it != map.end(); ++it) {
    if (!it.value().is_null()) cfg[it.key()] = it.value();
  }
  return cfg;
}

void add_missing_specials(Tokenizer& tok, const std::vector<std::string>& specials) {
  std::vector<AddedToken> extra;
  auto next = static_cast<int32_t>(tok.vocab_size());
  for (const auto& s : specials) {
    if (tok.token_to_id(s) >= 0) continue;
    if (std::any_of(extra.begin(), extra.end(), [&](const AddedToken& t) { return t.content == s; })) continue;
    AddedToken t;
    t.content = s;
    t.id = next++;
    t.special = true;
    extra.push_back(t);
  }
  if (!extra.empty()) tok.add_tokens(extra);
}

}  // namespace nlpc::text
