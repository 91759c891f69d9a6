// SentencePiece .model files: a small protobuf wire-format reader for ModelProto (nlpc must not
// link libsentencepiece: its embedded protobuf-lite clashes with libtorch's libprotobuf).
//   ModelProto { repeated SentencePiece pieces = 1 {piece = 1, score = 2, type = 3};
//                TrainerSpec trainer_spec = 2 {model_type = 3, byte_fallback = 35, unk_id = 40,
//                                              bos_id = 41, eos_id = 42, pad_id = 43};
//                NormalizerSpec normalizer_spec = 3 {name = 1, precompiled_charsmap = 2,
//                                                    add_dummy_prefix = 3, remove_extra_whitespaces = 4} }
#include <cstring>
#include <filesystem>

#include "nlpc/core/error.h"
#include "nlpc/core/fs.h"
#include "nlpc/text/families.h"
#include "nlpc/text/loader_util.h"

namespace nlpc::text {
namespace {

class Wire {
 public:
  Wire(std::string_view data, const std::string& file) : d_(data), file_(file) {}
  bool done() const { return p_ >= d_.size(); }
  uint64_t varint() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (p_ >= d_.size()) fail("truncated varint");
      auto b = static_cast<uint8_t>(d_[p_++]);
      v |= static_cast<uint64_t>(b & 0x7F) << shift;
      if (!(b & 0x80)) return v;
    }
    fail("varint longer than 10 bytes");
  }
  std::string_view bytes() {
    uint64_t n = varint();
    if (n > d_.size() - p_) fail("length-delimited field runs past the end");
    auto s = d_.substr(p_, n);
    p_ += n;
    return s;
  }
  uint32_t fixed32() {
    if (d_.size() - p_ < 4) fail("truncated fixed32");
    uint32_t v;
    std::memcpy(&v, d_.data() + p_, 4);
    p_ += 4;
    return v;
  }
  void skip(int wt) {
    switch (wt) {
      case 0: varint(); break;
      case 1: if (d_.size() - p_ < 8) fail("truncated fixed64"); p_ += 8; break;
      case 2: bytes(); break;
      case 5: fixed32(); break;
      default: fail("unknown wire type " + std::to_string(wt));
    }
  }
  [[noreturn]] void fail(const std::string& what) const {
    throw InputError(file_, 0, 0, "is not a valid SentencePiece model (" + what + " at byte " +
                                      std::to_string(p_) + "); expected a ModelProto written by spm_train");
  }

 private:
  std::string_view d_;
  const std::string& file_;
  size_t p_ = 0;
};

struct ParsedModel {
  std::vector<std::string> pieces;
  std::vector<double> scores;
  std::vector<int> types;
  int model_type = 1;
  bool byte_fallback = false;
  int unk_id = 0, bos_id = 1, eos_id = 2, pad_id = -1;
  std::string charsmap;
  std::string normalizer_name;
  bool add_dummy_prefix = true, remove_extra_whitespaces = true;
};

ParsedModel parse(std::string_view data, const std::string& file) {
  ParsedModel m;
  Wire w(data, file);
  while (!w.done()) {
    uint64_t tag = w.varint();
    int field = static_cast<int>(tag >> 3), wt = static_cast<int>(tag & 7);
    if (field == 1 && wt == 2) {
      Wire p(w.bytes(), file);
      std::string piece;
      float score = 0;
      int type = 1;
      while (!p.done()) {
        uint64_t t = p.varint();
        int f = static_cast<int>(t >> 3), pw = static_cast<int>(t & 7);
        if (f == 1 && pw == 2) piece = std::string(p.bytes());
        else if (f == 2 && pw == 5) { uint32_t u = p.fixed32(); std::memcpy(&score, &u, 4); }
        else if (f == 3 && pw == 0) type = static_cast<int>(p.varint());
        else p.skip(pw);
      }
      m.pieces.push_back(piece);
      m.scores.push_back(score);
      m.types.push_back(type);
    } else if (field == 2 && wt == 2) {
      Wire t(w.bytes(), file);
      while (!t.done()) {
        uint64_t g = t.varint();
        int f = static_cast<int>(g >> 3), tw = static_cast<int>(g & 7);
        if (tw != 0) { t.skip(tw); continue; }
        auto v = static_cast<int64_t>(t.varint());
        auto i32 = static_cast<int>(static_cast<int32_t>(v));
        if (f == 3) m.model_type = i32;
        else if (f == 35) m.byte_fallback = v != 0;
        else if (f == 40) m.unk_id = i32;
        else if (f == 41) m.bos_id = i32;
        else if (f == 42) m.eos_id = i32;
        else if (f == 43) m.pad_id = i32;
      }
    } else if (field == 3 && wt == 2) {
      Wire n(w.bytes(), file);
      while (!n.done()) {
        uint64_t g = n.varint();
        int f = static_cast<int>(g >> 3), nw = static_cast<int>(g & 7);
        if (f == 1 && nw == 2) m.normalizer_name = std::string(n.bytes());
        else if (f == 2 && nw == 2) m.charsmap = std::string(n.bytes());
        else if (f == 3 && nw == 0) m.add_dummy_prefix = n.varint() != 0;
        else if (f == 4 && nw == 0) m.remove_extra_whitespaces = n.varint() != 0;
        else n.skip(nw);
      }
    } else {
      w.skip(wt);
    }
  }
  if (m.pieces.empty()) w.fail("no pieces");
  return m;
}

}  // namespace

namespace {

// T5Tokenizer's extra_ids: tokenizer_config.json's value, else 100 (transformers' default) for a T5
// folder — a T5 v1.0 upload ships spiece.model alone — and 0 for any other SentencePiece model.
int t5_extra_ids(const nlohmann::json& cfg, const std::string& folder) {
  if (cfg.is_object() && cfg.contains("extra_ids") && cfg["extra_ids"].is_number_integer()) {
    return cfg["extra_ids"].get<int>();
  }
  if (cfg.is_object() && cfg.contains("tokenizer_class") && cfg["tokenizer_class"].is_string()) {
    return cfg["tokenizer_class"].get<std::string>().rfind("T5", 0) == 0 ? 100 : 0;
  }
  const nlohmann::json model = read_json_if_exists((std::filesystem::path(folder) / "config.json").string());
  if (!model.is_object()) return 0;
  const std::string type = model.value("model_type", std::string());
  bool t5 = type == "t5" || type == "mt5";
  if (type.empty() && model.contains("architectures") && model["architectures"].is_array()) {
    for (const auto& a : model["architectures"]) t5 = t5 || (a.is_string() && a.get<std::string>().find("T5") != std::string::npos);
  }
  return t5 ? 100 : 0;
}

}  // namespace

std::unique_ptr<Tokenizer> load_spm_model(const std::string& file, const std::string& folder) {
  std::string data = read_file(file);
  ParsedModel m = parse(data, file);
  SpmConfig cfg;
  cfg.hf_mode = false;
  if (m.model_type == 1) cfg.model = SpmConfig::Model::kUnigram;
  else if (m.model_type == 2) cfg.model = SpmConfig::Model::kBpe;
  else
    throw InputError(file, 0, 0, "SentencePiece model type " + std::to_string(m.model_type) +
                                     " (WORD or CHAR) is not supported; use a unigram or BPE model");
  cfg.add_dummy_prefix = m.add_dummy_prefix;
  cfg.remove_extra_whitespaces = m.remove_extra_whitespaces;
  cfg.byte_fallback = m.byte_fallback;
  cfg.fuse_unk = true;  // SentencePiece also merges runs of unknown pieces
  cfg.unk_id = m.unk_id;
  PrecompiledCharsmap charsmap;
  if (!m.charsmap.empty()) {
    cfg.normalizer = SpmConfig::Normalizer::kPrecompiled;
    try {
      charsmap = PrecompiledCharsmap(m.charsmap);
    } catch (const RuntimeError& e) {
      throw InputError(file, 0, 0, e.what());
    }
  } else if (m.normalizer_name.rfind("nmt_nfkc", 0) == 0 || m.normalizer_name == "nfkc") {
    throw InputError(file, 0, 0, "normalizer '" + m.normalizer_name +
                                     "' has no precompiled charsmap in the model; not supported");
  }
  std::vector<bool> usable(m.pieces.size());
  for (size_t i = 0; i < m.pieces.size(); ++i) usable[i] = m.types[i] == 1 || m.types[i] == 4;
  std::vector<std::string> pieces = m.pieces;
  auto tok = std::make_unique<SpmTokenizer>(std::move(pieces), std::move(m.scores), cfg, std::move(charsmap), usable);
  std::vector<AddedToken> added;
  for (size_t i = 0; i < m.pieces.size(); ++i) {
    if (m.types[i] == 3 || m.types[i] == 2) {  // control and unknown pieces are special
      AddedToken t;
      t.content = m.pieces[i];
      t.id = static_cast<int32_t>(i);
      added.push_back(t);
    }
  }
  // T5 sentinels: transformers adds <extra_id_N> after the pieces, <extra_id_0> last.
  nlohmann::json cfgj = read_json_if_exists((std::filesystem::path(folder) / "tokenizer_config.json").string());
  const int extra = t5_extra_ids(cfgj, folder);
  for (int k = 0; k < extra; ++k) {
    AddedToken t;
    t.content = "<extra_id_" + std::to_string(k) + ">";
    t.id = static_cast<int32_t>(m.pieces.size()) + extra - 1 - k;
    added.push_back(t);
  }
  tok->add_tokens(added);
  // T5 convention: </s> after each sequence.
  PostTemplate t;
  t.single = {{true, 0, -1, 0}};
  t.pair = {{true, 0, -1, 0}};
  if (m.eos_id >= 0 && static_cast<size_t>(m.eos_id) < m.pieces.size()) {
    t.single.push_back({false, 0, m.eos_id, 0});
    t.pair.push_back({false, 0, m.eos_id, 0});
  }
  t.pair.push_back({true, 1, -1, 0});
  if (m.eos_id >= 0 && static_cast<size_t>(m.eos_id) < m.pieces.size()) t.pair.push_back({false, 0, m.eos_id, 0});
  tok->set_template(t);
  if (m.eos_id >= 0) tok->set_special("eos", m.eos_id);
  if (m.bos_id >= 0) tok->set_special("bos", m.bos_id);
  if (m.pad_id >= 0) tok->set_special("pad", m.pad_id);
  return tok;
}

}  // namespace nlpc::text
