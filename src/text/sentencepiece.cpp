// SentencePiece-style tokenizers: Unigram (Viterbi over pieces and scores) and BPE by scores, with
// the Precompiled/NFKC normalizers and Metaspace (▁) pre-tokenization. Two modes: Hugging Face
// tokenizer.json semantics (WhitespaceSplit + Metaspace per word, grapheme-wise charsmap) and
// SentencePiece .model semantics (whole-text normalizer with whitespace cleanup).
#include <atomic>
#include <cmath>
#include <limits>

#include "nlpc/core/error.h"
#include "nlpc/text/families.h"
#include "nlpc/text/unicode.h"

namespace nlpc::text {
namespace {
constexpr double kUnkPenalty = 10.0;
std::atomic<uint64_t> g_spm_owner{1};
}

SpmTokenizer::SpmTokenizer(std::vector<std::string> pieces, std::vector<double> scores, SpmConfig cfg,
                           PrecompiledCharsmap charsmap, std::vector<bool> usable)
    : cfg_(std::move(cfg)),
      charsmap_(std::move(charsmap)),
      scores_(std::move(scores)),
      usable_(std::move(usable)),
      cache_owner_(g_spm_owner.fetch_add(1)) {
  if (scores_.size() != pieces.size()) throw RuntimeError("SentencePiece pieces and scores differ in count");
  if (usable_.empty()) usable_.assign(pieces.size(), true);
  piece_store_ = pieces;
  set_vocab(std::move(pieces));
  min_score_ = std::numeric_limits<double>::infinity();
  for (double s : scores_) min_score_ = std::min(min_score_, s);
  if (scores_.empty()) min_score_ = 0;
  trie_.emplace_back();
  byte_piece_.fill(-1);
  for (size_t i = 0; i < piece_store_.size(); ++i) {
    const std::string& p = piece_store_[i];
    piece_id_.emplace(p, static_cast<int32_t>(i));
    if (p.size() == 6 && p.compare(0, 3, "<0x") == 0 && p[5] == '>') {
      int b = std::stoi(p.substr(3, 2), nullptr, 16);
      byte_piece_[static_cast<size_t>(b)] = static_cast<int32_t>(i);
    }
    if (!usable_[i] || p.empty()) continue;
    uint32_t node = 0;
    for (char ch : p) {
      auto c = static_cast<uint8_t>(ch);
      uint32_t next = 0;
      for (auto& [lab, child] : trie_[node].next)
        if (lab == c) next = child;
      if (next == 0) {
        next = static_cast<uint32_t>(trie_.size());
        trie_[node].next.emplace_back(c, next);
        trie_.emplace_back();
      }
      node = next;
    }
    if (trie_[node].id < 0) trie_[node].id = static_cast<int32_t>(i);
  }
  flatten();
  if (cfg_.unk_id < 0 || static_cast<size_t>(cfg_.unk_id) >= id_to_token_.size())
    throw RuntimeError("SentencePiece model has no valid unknown piece id (" + std::to_string(cfg_.unk_id) + ")");
  set_special("unk", cfg_.unk_id);
}

// Renumbers the trie breadth-first into flat arrays; nodes with many children (root, ▁) get a
// direct 256-entry table.
void SpmTokenizer::flatten() {
  std::vector<uint32_t> order{0}, new_id(trie_.size(), 0);
  for (size_t k = 0; k < order.size(); ++k)
    for (const auto& [lab, ch] : trie_[order[k]].next) {
      new_id[ch] = static_cast<uint32_t>(order.size());
      order.push_back(ch);
    }
  flat_.assign(order.size(), FlatNode{});
  for (size_t k = 0; k < order.size(); ++k) {
    const Node& n = trie_[order[k]];
    FlatNode& f = flat_[k];
    f.id = n.id;
    f.score = n.id >= 0 ? scores_[static_cast<size_t>(n.id)] : 0.0;
    f.begin = static_cast<uint32_t>(labels_.size());
    f.count = static_cast<uint32_t>(n.next.size());
    f.dense = -1;
    for (const auto& [lab, ch] : n.next) {
      labels_.push_back(lab);
      children_.push_back(new_id[ch]);
    }
    if (n.next.size() >= 12) {
      f.dense = static_cast<int32_t>(dense_.size());
      dense_.emplace_back();
      dense_.back().fill(0);
      for (const auto& [lab, ch] : n.next) dense_.back()[lab] = new_id[ch];
    }
  }
  trie_.clear();
  trie_.shrink_to_fit();
}

std::string SpmTokenizer::normalize(std::string_view text) const {
  std::vector<Word> words;
  split_words(text, words);
  std::string out;
  for (const auto& w : words) out += w.text;
  return out;
}

// Normalizes a span and cuts it into words that each start with ▁ (when a prefix is added).
void SpmTokenizer::split_words(std::string_view span, std::vector<Word>& words) const {
  std::string norm;
  std::vector<std::pair<uint32_t, uint32_t>> map;
  if (cfg_.normalizer == SpmConfig::Normalizer::kPrecompiled && !charsmap_.empty()) {
    charsmap_.normalize(span, cfg_.hf_mode, norm, map);
  } else if (cfg_.normalizer == SpmConfig::Normalizer::kNfkc) {
    // NFKC per character keeps an alignment (composition across characters is not tracked).
    for (size_t i = 0; i < span.size();) {
      size_t s = i;
      unicode::next_cp(span, i);
      std::string n = unicode::nfkc(span.substr(s, i - s));
      norm += n;
      map.resize(norm.size(), {static_cast<uint32_t>(s), static_cast<uint32_t>(i)});
    }
    std::string whole = unicode::nfkc(span);
    if (whole != norm) {  // composition happened: fall back to whole-span alignment
      norm = whole;
      map.assign(norm.size(), {0, static_cast<uint32_t>(span.size())});
    }
  } else {
    norm.assign(span.data(), span.size());
    map.resize(norm.size());
    for (size_t i = 0; i < span.size();) {
      size_t s = i;
      unicode::next_cp(span, i);
      for (size_t k = s; k < i; ++k) map[k] = {static_cast<uint32_t>(s), static_cast<uint32_t>(i)};
    }
  }
  const std::string& rep = cfg_.replacement;
  // S: the text with ▁ for spaces (and the prefix ▁), then cut before every ▁.
  std::string S;
  std::vector<std::pair<uint32_t, uint32_t>> smap;
  auto put = [&](std::string_view piece, std::pair<uint32_t, uint32_t> m) {
    S.append(piece.data(), piece.size());
    smap.resize(S.size(), m);
  };
  auto put_norm = [&](size_t i, size_t j) {
    S.append(norm, i, j - i);
    for (size_t k = i; k < j; ++k) smap.push_back(map[k]);
  };
  auto cut = [&]() {
    size_t start = 0;
    for (size_t i = 0; i <= S.size(); ++i) {
      bool at_rep = i < S.size() && i > start && S.compare(i, rep.size(), rep) == 0;
      if (i == S.size() || at_rep) {
        if (i > start) {
          Word w;
          w.text = S.substr(start, i - start);
          w.map.assign(smap.begin() + static_cast<std::ptrdiff_t>(start), smap.begin() + static_cast<std::ptrdiff_t>(i));
          words.push_back(std::move(w));
        }
        start = i;
      }
    }
    S.clear();
    smap.clear();
  };
  auto starts_with_rep = [&](size_t i) { return norm.compare(i, rep.size(), rep) == 0; };
  if (cfg_.hf_mode) {
    if (cfg_.split_on_whitespace) {
      for (size_t i = 0; i < norm.size();) {
        size_t j = i;
        char32_t c = unicode::next_cp(norm, j);
        if (unicode::is_whitespace(c)) {
          i = j;
          continue;
        }
        size_t e = i;  // end of the non-whitespace run
        while (e < norm.size()) {
          size_t f = e;
          if (unicode::is_whitespace(unicode::next_cp(norm, f))) break;
          e = f;
        }
        if (cfg_.add_dummy_prefix && !starts_with_rep(i)) put(rep, map[i]);
        put_norm(i, e);
        cut();
        i = e;
      }
    } else {
      if (cfg_.add_dummy_prefix && !norm.empty() && norm[0] != ' ' && !starts_with_rep(0)) put(rep, map[0]);
      for (size_t i = 0; i < norm.size(); ++i) {
        if (norm[i] == ' ') put(rep, map[i]);
        else put_norm(i, i + 1);
      }
      cut();
    }
    return;
  }
  // SentencePiece: whitespace cleanup on the normalized text, dummy prefix, spaces → ▁.
  size_t b = 0, e = norm.size();
  if (cfg_.remove_extra_whitespaces) {
    while (b < e && norm[b] == ' ') ++b;
    while (e > b && norm[e - 1] == ' ') --e;
  }
  if (b == e) return;
  if (cfg_.add_dummy_prefix) put(rep, map[b]);
  for (size_t i = b; i < e; ++i) {
    if (norm[i] == ' ') {
      if (cfg_.remove_extra_whitespaces && i > b && norm[i - 1] == ' ') continue;
      put(rep, map[i]);
    } else {
      put_norm(i, i + 1);
    }
  }
  cut();
}

void SpmTokenizer::emit(const Word& w, uint32_t base, size_t s, size_t e, int32_t id, std::vector<Piece>& out) const {
  uint32_t a = w.map[s].first, b = w.map[e - 1].second;
  if (b < a) b = a;
  if (id == cfg_.unk_id && cfg_.byte_fallback) {
    bool all = true;
    for (size_t k = s; k < e; ++k) all = all && byte_piece_[static_cast<uint8_t>(w.text[k])] >= 0;
    if (all) {
      for (size_t k = s; k < e; ++k) out.push_back({byte_piece_[static_cast<uint8_t>(w.text[k])], base + a, base + b});
      return;
    }
  }
  if (id == cfg_.unk_id && cfg_.fuse_unk && !out.empty() && out.back().id == cfg_.unk_id &&
      out.back().end <= base + a + 0 && out.back().end >= base + a) {
    out.back().end = base + b;
    return;
  }
  out.push_back({id, base + a, base + b});
}

void SpmTokenizer::viterbi(const Word& w, uint32_t base, double& carry, std::vector<Piece>& out) const {
  const std::string& t = w.text;
  const size_t n = t.size();
  // Per-thread cache of word → segmentation (Hugging Face mode: words are segmented independently).
  struct Cache {
    uint64_t owner = 0;
    StrIdMap words;
    std::vector<uint32_t> data;  // at an offset: count, then (start, end, id) triples
  };
  thread_local Cache cache;
  if (cfg_.hf_mode) {
    if (cache.owner != cache_owner_ || cache.words.size() > 200000) {
      cache.words.clear();
      cache.data.clear();
      cache.owner = cache_owner_;
    }
    int32_t off = cache.words.find(t);
    if (off >= 0) {
      const uint32_t* p = cache.data.data() + off;
      for (uint32_t k = 0; k < p[0]; ++k)
        emit(w, base, p[1 + 3 * k], p[2 + 3 * k], static_cast<int32_t>(p[3 + 3 * k]), out);
      return;
    }
  }
  const bool f32 = !cfg_.hf_mode;
  const double unk_score = f32 ? static_cast<double>(static_cast<float>(min_score_) - static_cast<float>(kUnkPenalty))
                               : min_score_ - kUnkPenalty;
  thread_local std::vector<double> best;
  thread_local std::vector<int32_t> best_id;
  thread_local std::vector<uint32_t> best_from;
  best.assign(n + 1, -std::numeric_limits<double>::infinity());
  best_id.assign(n + 1, -1);
  best_from.assign(n + 1, 0);
  best[0] = cfg_.hf_mode ? 0.0 : carry;
  for (size_t pos = 0; pos < n;) {
    size_t next = pos;
    unicode::next_cp(t, next);
    const size_t mblen = next - pos;
    if (best[pos] > -std::numeric_limits<double>::infinity()) {
      bool single = false;
      uint32_t node = 0;
      for (size_t k = pos; k < n; ++k) {
        auto c = static_cast<uint8_t>(t[k]);
        uint32_t next_node = child(node, c);
        if (next_node == 0) break;
        node = next_node;
        const FlatNode& fn = flat_[node];
        int32_t id = fn.id;
        if (id < 0) continue;
        size_t end = k + 1;
        // Hugging Face's lattice adds and compares in f64. SentencePiece (EncodeOptimized) stores
        // path scores as float but adds and compares in double: the piece score goes through a
        // double-typed expression, so a candidate is compared exactly against the float-rounded
        // stored score. Near-ties therefore break as in spm_encode (e.g. "1000" -> ▁1 00 0).
        double cand = best[pos] + (f32 ? static_cast<double>(static_cast<float>(fn.score)) : fn.score);
        if (cand > best[end]) {
          best[end] = f32 ? static_cast<double>(static_cast<float>(cand)) : cand;
          best_id[end] = id;
          best_from[end] = static_cast<uint32_t>(pos);
        }
        if (end - pos == mblen) single = true;
      }
      if (!single) {
        double cand = f32 ? static_cast<double>(static_cast<float>(best[pos]) + static_cast<float>(unk_score))
                          : best[pos] + unk_score;
        if (cand > best[next]) {
          best[next] = cand;
          best_id[next] = cfg_.unk_id;
          best_from[next] = static_cast<uint32_t>(pos);
        }
      }
    }
    pos = next;
  }
  carry = best[n];
  std::vector<std::pair<uint32_t, int32_t>> path;  // (start, id), reversed
  for (size_t e = n; e > 0;) {
    size_t s = best_from[e];
    path.emplace_back(static_cast<uint32_t>(s), best_id[e]);
    e = s;
  }
  size_t e = n;
  thread_local std::vector<uint32_t> segs;  // (start, end, id) triples, last piece first
  segs.clear();
  for (auto& [s, id] : path) {
    segs.insert(segs.end(), {s, static_cast<uint32_t>(e), static_cast<uint32_t>(id)});
    e = s;
  }
  const bool cacheable = cfg_.hf_mode && n <= 256;
  if (cacheable) {
    cache.words.insert(t, static_cast<int32_t>(cache.data.size()));
    cache.data.push_back(static_cast<uint32_t>(segs.size() / 3));
  }
  for (size_t k = segs.size() / 3; k-- > 0;) {
    if (cacheable) cache.data.insert(cache.data.end(), {segs[3 * k], segs[3 * k + 1], segs[3 * k + 2]});
    emit(w, base, segs[3 * k], segs[3 * k + 1], static_cast<int32_t>(segs[3 * k + 2]), out);
  }
}

// SentencePiece BPE: start from characters, repeatedly merge the adjacent pair whose concatenation
// is a piece with the highest score (leftmost on ties).
void SpmTokenizer::bpe(const Word& w, uint32_t base, std::vector<Piece>& out) const {
  const std::string& t = w.text;
  std::vector<std::pair<size_t, size_t>> sym;  // [start, end)
  for (size_t i = 0; i < t.size();) {
    size_t s = i;
    unicode::next_cp(t, i);
    sym.emplace_back(s, i);
  }
  auto lookup = [&](size_t s, size_t e) -> int32_t {
    auto it = piece_id_.find(std::string_view(t).substr(s, e - s));
    if (it == piece_id_.end() || !usable_[static_cast<size_t>(it->second)]) return -1;
    return it->second;
  };
  while (sym.size() > 1) {
    double best = -std::numeric_limits<double>::infinity();
    size_t at = SIZE_MAX;
    for (size_t k = 0; k + 1 < sym.size(); ++k) {
      int32_t id = lookup(sym[k].first, sym[k + 1].second);
      if (id >= 0 && scores_[static_cast<size_t>(id)] > best) {
        best = scores_[static_cast<size_t>(id)];
        at = k;
      }
    }
    if (at == SIZE_MAX) break;
    sym[at].second = sym[at + 1].second;
    sym.erase(sym.begin() + static_cast<std::ptrdiff_t>(at) + 1);
  }
  for (auto [s, e] : sym) {
    int32_t id = lookup(s, e);
    emit(w, base, s, e, id < 0 ? cfg_.unk_id : id, out);
  }
}

void SpmTokenizer::encode_span(std::string_view span, uint32_t base, std::vector<Piece>& out) const {
  std::vector<Word> words;
  split_words(span, words);
  double carry = 0;
  for (const auto& w : words) {
    if (cfg_.model == SpmConfig::Model::kUnigram) viterbi(w, base, carry, out);
    else bpe(w, base, out);
  }
}

std::string SpmTokenizer::decode_ids(const std::vector<int32_t>& ids) const {
  std::string out;
  std::string bytes;  // pending byte-fallback bytes
  auto flush_bytes = [&]() {
    if (!bytes.empty()) out += unicode::utf8_lossy(bytes);
    bytes.clear();
  };
  bool first = true;
  for (int32_t id : ids) {
    const std::string& p = id_to_token_[static_cast<size_t>(id)];
    auto u = static_cast<size_t>(id);
    if (u < byte_piece_.size() * 0 + id_to_token_.size() && p.size() == 6 && p.compare(0, 3, "<0x") == 0 &&
        byte_piece_[static_cast<size_t>(std::stoi(p.substr(3, 2), nullptr, 16))] == id) {
      bytes.push_back(static_cast<char>(std::stoi(p.substr(3, 2), nullptr, 16)));
      continue;
    }
    flush_bytes();
    std::string piece = p;
    if (!cfg_.hf_mode) {
      if (u < usable_.size() && !usable_[u]) {
        piece = id == cfg_.unk_id ? " \xE2\x81\x87 " : "";  // SentencePiece renders unk as " ⁇ "
      }
    }
    std::string tok;
    for (size_t k = 0; k < piece.size();) {
      if (piece.compare(k, cfg_.replacement.size(), cfg_.replacement) == 0) {
        if (!(first && cfg_.add_dummy_prefix && cfg_.hf_mode)) tok += ' ';
        k += cfg_.replacement.size();
      } else {
        tok += piece[k++];
      }
    }
    if (first && !cfg_.hf_mode && cfg_.add_dummy_prefix && !tok.empty() && tok[0] == ' ') tok.erase(0, 1);
    if (!piece.empty()) first = false;
    out += tok;
  }
  flush_bytes();
  return out;
}

}  // namespace nlpc::text
