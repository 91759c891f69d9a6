// Loaders for the "slow tokenizer" files (vocab.txt, vocab.json + merges.txt) and the factory.
#include <algorithm>
#include <filesystem>
#include <sstream>

#include "nlpc/core/error.h"
#include "nlpc/core/fs.h"
#include "nlpc/core/log.h"
#include "nlpc/text/families.h"
#include "nlpc/text/loader_util.h"

namespace nlpc::text {

namespace fs = std::filesystem;
using nlohmann::json;

std::string base64_decode(const std::string& s, const std::string& what) {
  static const std::string kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve(s.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '=' || c == '\n' || c == '\r') continue;
    auto p = kAlphabet.find(c);
    if (p == std::string::npos) throw InputError(what, 0, 0, std::string("invalid base64 character '") + c + "' at offset " + std::to_string(i));
    acc = (acc << 6) | static_cast<uint32_t>(p);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  return out;
}

namespace {

std::string str_value(const json& j, const char* key, const std::string& dflt) {
  if (!j.is_object() || !j.contains(key) || j[key].is_null()) return dflt;
  const json& v = j[key];
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("content")) return v["content"].get<std::string>();
  return dflt;
}

std::vector<AddedToken> added_from_config(const json& cfg, const json& added_json, const Tokenizer& tok,
                                          const std::vector<std::string>& specials) {
  std::vector<AddedToken> out;
  if (cfg.is_object() && cfg.contains("added_tokens_decoder")) {
    for (auto it = cfg["added_tokens_decoder"].begin(); it != cfg["added_tokens_decoder"].end(); ++it) {
      AddedToken t;
      t.id = std::stoi(it.key());
      t.content = it.value().value("content", "");
      t.special = it.value().value("special", true);
      t.lstrip = it.value().value("lstrip", false);
      t.rstrip = it.value().value("rstrip", false);
      out.push_back(t);
    }
  }
  if (added_json.is_object()) {
    for (auto it = added_json.begin(); it != added_json.end(); ++it) {
      AddedToken t;
      t.content = it.key();
      t.id = it.value().get<int32_t>();
      t.special = std::find(specials.begin(), specials.end(), t.content) != specials.end();
      out.push_back(t);
    }
  }
  for (const auto& s : specials) {
    int32_t id = tok.token_to_id(s);
    if (id < 0) continue;
    bool seen = std::any_of(out.begin(), out.end(), [&](const AddedToken& t) { return t.id == id; });
    if (!seen) {
      AddedToken t;
      t.content = s;
      t.id = id;
      out.push_back(t);
    }
  }
  return out;
}

std::vector<std::string> special_names(const json& cfg, std::initializer_list<std::pair<const char*, const char*>> roles) {
  std::vector<std::string> out;
  for (const auto& [key, dflt] : roles) {
    std::string v = str_value(cfg, key, dflt);
    if (!v.empty()) out.push_back(v);
  }
  if (cfg.is_object() && cfg.contains("additional_special_tokens") && cfg["additional_special_tokens"].is_array())
    for (const auto& a : cfg["additional_special_tokens"]) {
      std::string v = a.is_string() ? a.get<std::string>() : str_value(json{{"x", a}}, "x", "");
      if (!v.empty()) out.push_back(v);
    }
  return out;
}

// do_lower_case of tokenizer_config.json; without one, a folder named "...-cased" (and not
// "uncased") is cased, as the hub names of bert-base-cased and the Portuguese BERTs imply.
bool lowercase_of(const json& cfg, const std::string& folder) {
  if (cfg.is_object() && cfg.contains("do_lower_case") && cfg["do_lower_case"].is_boolean()) {
    return cfg["do_lower_case"].get<bool>();
  }
  std::string name = fs::path(folder).lexically_normal().filename().string();
  if (name.empty()) name = fs::path(folder).lexically_normal().parent_path().filename().string();
  for (auto& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  if (name.find("cased") != std::string::npos && name.find("uncased") == std::string::npos) {
    spdlog::info("{}: no do_lower_case in tokenizer_config.json; the folder name says cased, so text is not lowercased",
                 folder);
    return false;
  }
  return true;
}

TemplateItem sp(int32_t id, int32_t type = 0) { return {false, 0, id, type}; }
TemplateItem seq(int s, int32_t type) { return {true, s, -1, type}; }

}  // namespace

std::unique_ptr<Tokenizer> load_vocab_txt(const std::string& file, const std::string& folder) {
  std::string text = read_file(file);
  std::vector<std::string> vocab;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.pop_back();
    vocab.push_back(line);
  }
  if (vocab.empty()) throw InputError(file, 0, 0, "is empty; expected one WordPiece token per line");
  json cfg = read_tokenizer_config(folder);
  BertNormalizerConfig nc;
  nc.lowercase = lowercase_of(cfg, folder);
  nc.handle_chinese_chars = cfg.is_object() ? cfg.value("tokenize_chinese_chars", true) : true;
  if (cfg.is_object() && cfg.contains("strip_accents") && !cfg["strip_accents"].is_null())
    nc.strip_accents = cfg["strip_accents"].get<bool>() ? 1 : 0;
  std::string unk = str_value(cfg, "unk_token", "[UNK]");
  std::unique_ptr<WordPieceTokenizer> tok;
  try {
    tok = std::make_unique<WordPieceTokenizer>(std::move(vocab), unk, nc);
  } catch (const RuntimeError& e) {
    throw InputError(file, 0, 0, e.what());
  }
  auto specials = special_names(cfg, {{"unk_token", "[UNK]"}, {"sep_token", "[SEP]"}, {"pad_token", "[PAD]"},
                                      {"cls_token", "[CLS]"}, {"mask_token", "[MASK]"}});
  tok->add_tokens(added_from_config(cfg, read_json_if_exists((fs::path(folder) / "added_tokens.json").string()),
                                    *tok, specials));
  int32_t cls = tok->token_to_id(str_value(cfg, "cls_token", "[CLS]"));
  int32_t sepid = tok->token_to_id(str_value(cfg, "sep_token", "[SEP]"));
  if (cls < 0 || sepid < 0) throw InputError(file, 0, 0, "the vocabulary lacks the [CLS] or [SEP] token");
  PostTemplate t;
  t.single = {sp(cls), seq(0, 0), sp(sepid)};
  t.pair = {sp(cls), seq(0, 0), sp(sepid), seq(1, 1), sp(sepid, 1)};
  tok->set_template(t);
  tok->set_special("unk", tok->token_to_id(unk));
  for (auto [role, dflt] : {std::pair{"pad", "[PAD]"}, {"cls", "[CLS]"}, {"sep", "[SEP]"}, {"mask", "[MASK]"}})
    tok->set_special(role, tok->token_to_id(str_value(cfg, (std::string(role) + "_token").c_str(), dflt)));
  return tok;
}

std::unique_ptr<Tokenizer> load_vocab_merges(const std::string& vocab_file, const std::string& merges_file,
                                             const std::string& folder) {
  json vj = read_json_if_exists(vocab_file);
  if (!vj.is_object() || vj.empty())
    throw InputError(vocab_file, 0, 0, "expected a JSON object mapping byte-level BPE tokens to ids");
  std::vector<std::string> vocab(vj.size());
  for (auto it = vj.begin(); it != vj.end(); ++it) {
    if (!it.value().is_number_integer()) throw InputError(vocab_file, 0, 0, "token '" + it.key() + "' has a non-integer id");
    auto id = it.value().get<int64_t>();
    if (id < 0 || id > 50'000'000) throw InputError(vocab_file, 0, 0, "token '" + it.key() + "' has an invalid id");
    if (static_cast<size_t>(id) >= vocab.size()) vocab.resize(static_cast<size_t>(id) + 1);
    vocab[static_cast<size_t>(id)] = it.key();
  }
  std::string mtext = read_file(merges_file);
  std::vector<std::pair<std::string, std::string>> merges;
  std::istringstream in(mtext);
  std::string line;
  int64_t lineno = 0;
  while (std::getline(in, line)) {
    ++lineno;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || (lineno == 1 && line.rfind("#version", 0) == 0)) continue;
    auto p = line.find(' ');
    if (p == std::string::npos || line.find(' ', p + 1) != std::string::npos)
      throw InputError(merges_file, lineno, 0, "expected two tokens separated by one space, got \"" + line + "\"");
    merges.emplace_back(line.substr(0, p), line.substr(p + 1));
  }
  json cfg = read_tokenizer_config(folder);
  std::unique_ptr<ByteBpeTokenizer> tok;
  try {
    tok = std::make_unique<ByteBpeTokenizer>(std::move(vocab), merges,
                                             cfg.is_object() ? cfg.value("add_prefix_space", false) : false);
  } catch (const RuntimeError& e) {
    throw InputError(merges_file, 0, 0, e.what());
  }
  auto specials = special_names(cfg, {{"unk_token", ""}, {"bos_token", ""}, {"eos_token", ""}, {"pad_token", ""}});
  tok->add_tokens(added_from_config(cfg, read_json_if_exists((fs::path(folder) / "added_tokens.json").string()),
                                    *tok, specials));
  add_missing_specials(*tok, specials);
  std::string cls = cfg.is_object() ? cfg.value("tokenizer_class", "") : "";
  PostTemplate t;
  if (cls.rfind("Whisper", 0) == 0) {
    int32_t sot = tok->token_to_id("<|startoftranscript|>"), nots = tok->token_to_id("<|notimestamps|>");
    int32_t eot = tok->token_to_id("<|endoftext|>");
    for (int32_t id : {sot, nots}) if (id >= 0) { t.single.push_back(sp(id)); t.pair.push_back(sp(id)); }
    t.single.push_back(seq(0, 0));
    t.pair.push_back(seq(0, 0));
    t.pair.push_back(seq(1, 1));
    if (eot >= 0) { t.single.push_back(sp(eot)); t.pair.push_back(sp(eot, 1)); }
  } else if (cls.rfind("Roberta", 0) == 0) {
    int32_t bos = tok->token_to_id(str_value(cfg, "bos_token", "<s>")), eos = tok->token_to_id(str_value(cfg, "eos_token", "</s>"));
    t.single = {sp(bos), seq(0, 0), sp(eos)};
    t.pair = {sp(bos), seq(0, 0), sp(eos), sp(eos), seq(1, 0), sp(eos)};
  }
  tok->set_template(t);
  return tok;
}

std::unique_ptr<Tokenizer> load_tokenizer(const std::string& path) {
  std::error_code ec;
  const std::string expected =
      "expected a tokenizer folder (tokenizer.json, vocab.txt, vocab.json + merges.txt, or a SentencePiece "
      ".model) or one of those files";
  if (!fs::exists(path, ec)) throw InputError(path, 0, 0, "no such file or folder; " + expected);
  std::unique_ptr<Tokenizer> tok;
  std::string folder;
  auto in = [&](const char* name) { return (fs::path(folder) / name).string(); };
  if (fs::is_directory(path, ec)) {
    folder = path;
    if (file_exists(in("tokenizer.json"))) {
      tok = load_tokenizer_json(in("tokenizer.json"));
    } else if (file_exists(in("vocab.txt"))) {
      tok = load_vocab_txt(in("vocab.txt"), folder);
    } else if (file_exists(in("vocab.json"))) {
      if (!file_exists(in("merges.txt")))
        throw InputError(in("merges.txt"), 0, 0, "missing: byte-level BPE needs merges.txt next to vocab.json");
      tok = load_vocab_merges(in("vocab.json"), in("merges.txt"), folder);
    } else {
      std::string model;
      for (const auto& e : fs::directory_iterator(path, ec))
        if (e.path().extension() == ".model" && (model.empty() || e.path().filename() == "spiece.model"))
          model = e.path().string();
      if (model.empty()) throw InputError(path, 0, 0, "holds no tokenizer files; " + expected);
      tok = load_spm_model(model, folder);
    }
  } else {
    fs::path p(path);
    folder = p.has_parent_path() ? p.parent_path().string() : ".";
    std::string name = p.filename().string();
    if (p.extension() == ".model") {
      tok = load_spm_model(path, folder);
    } else if (name == "vocab.json" || name == "merges.txt") {
      std::string v = in("vocab.json"), m = in("merges.txt");
      if (!file_exists(v)) throw InputError(v, 0, 0, "missing: byte-level BPE needs vocab.json next to merges.txt");
      if (!file_exists(m)) throw InputError(m, 0, 0, "missing: byte-level BPE needs merges.txt next to vocab.json");
      tok = load_vocab_merges(v, m, folder);
    } else if (p.extension() == ".txt") {
      tok = load_vocab_txt(path, folder);
    } else if (p.extension() == ".json") {
      tok = load_tokenizer_json(path);
    } else {
      throw InputError(path, 0, 0, "unknown tokenizer file type; " + expected);
    }
  }
  apply_special_roles(*tok, folder);
  return tok;
}

}  // namespace nlpc::text
