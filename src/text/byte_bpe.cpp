// Byte-level BPE (GPT-2, RoBERTa, Whisper): GPT-2 pre-tokenizer (hand-written equivalent of its
// regex), byte↔unicode table, merges applied by rank with a per-thread word cache.
#include <atomic>
#include <climits>

#include "nlpc/core/error.h"
#include "nlpc/text/families.h"
#include "nlpc/text/unicode.h"

namespace nlpc::text {
namespace {

std::atomic<uint64_t> g_owner_counter{1};

// Per-thread cache of pre-token → ids: words maps to an offset in ids, where ids[off] is the count.
struct WordCache {
  uint64_t owner = 0;
  StrIdMap words;
  std::vector<int32_t> ids;
};
thread_local WordCache t_cache;
constexpr size_t kCacheMax = 200000;

// Decoding table: unicode code point of the byte-level alphabet → byte (or -1).
const std::unordered_map<char32_t, uint8_t>& unicode_to_byte() {
  static const auto* table = [] {
    auto* m = new std::unordered_map<char32_t, uint8_t>();
    const auto& fwd = ByteBpeTokenizer::byte_to_unicode();
    for (int b = 0; b < 256; ++b) {
      size_t i = 0;
      (*m)[unicode::next_cp(fwd[static_cast<size_t>(b)], i)] = static_cast<uint8_t>(b);
    }
    return m;
  }();
  return *table;
}

// HF ByteLevel decoder per token: mapped bytes when every character is in the alphabet, else the
// token's own UTF-8 bytes.
std::string token_bytes(const std::string& tok) {
  const auto& table = unicode_to_byte();
  std::string out;
  out.reserve(tok.size());
  for (size_t i = 0; i < tok.size();) {
    auto it = table.find(unicode::next_cp(tok, i));
    if (it == table.end()) return tok;
    out.push_back(static_cast<char>(it->second));
  }
  return out;
}

enum Kind : uint8_t { kSpace, kLetter, kNumber, kOther };

Kind kind_of(char32_t c) {
  if (c < 0x80) {
    if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') return kLetter;
    if (c >= '0' && c <= '9') return kNumber;
    if (c == ' ' || (c >= 0x9 && c <= 0xD)) return kSpace;
    return kOther;
  }
  if (unicode::is_whitespace(c)) return kSpace;
  if (unicode::is_letter(c)) return kLetter;
  if (unicode::is_number(c)) return kNumber;
  return kOther;
}

}  // namespace

const std::array<std::string, 256>& ByteBpeTokenizer::byte_to_unicode() {
  static const std::array<std::string, 256> table = [] {
    std::array<std::string, 256> t;
    int n = 0;
    for (int b = 0; b < 256; ++b) {
      bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      char32_t cp = printable ? static_cast<char32_t>(b) : static_cast<char32_t>(256 + n++);
      unicode::append_utf8(t[static_cast<size_t>(b)], cp);
    }
    return t;
  }();
  return table;
}

ByteBpeTokenizer::ByteBpeTokenizer(std::vector<std::string> vocab,
                                   const std::vector<std::pair<std::string, std::string>>& merges,
                                   bool add_prefix_space)
    : add_prefix_space_(add_prefix_space), cache_owner_(g_owner_counter.fetch_add(1)) {
  set_vocab(std::move(vocab));
  const auto& b2u = byte_to_unicode();
  for (int b = 0; b < 256; ++b) {
    int32_t id = token_to_id(b2u[static_cast<size_t>(b)]);
    if (id < 0)
      throw RuntimeError("byte-level BPE vocabulary lacks the token for byte " + std::to_string(b) +
                         " ('" + b2u[static_cast<size_t>(b)] + "')");
    byte_id_[static_cast<size_t>(b)] = id;
  }
  merges_.reserve(merges.size() * 2);
  for (size_t r = 0; r < merges.size(); ++r) {
    const auto& [a, b] = merges[r];
    int32_t ia = token_to_id(a), ib = token_to_id(b), im = token_to_id(a + b);
    if (ia < 0 || ib < 0 || im < 0)
      throw RuntimeError("merge " + std::to_string(r + 1) + " ('" + a + " " + b +
                         "') uses a token that is not in the vocabulary");
    uint64_t key = (static_cast<uint64_t>(static_cast<uint32_t>(ia)) << 32) | static_cast<uint32_t>(ib);
    merges_.emplace(key, std::make_pair(static_cast<int32_t>(r), im));
  }
  bytes_of_.resize(id_to_token_.size());
  byte_len_.resize(id_to_token_.size());
  for (size_t i = 0; i < id_to_token_.size(); ++i) {
    bytes_of_[i] = token_bytes(id_to_token_[i]);
    byte_len_[i] = static_cast<uint32_t>(bytes_of_[i].size());
  }
}

ByteBpeTokenizer::~ByteBpeTokenizer() = default;

void ByteBpeTokenizer::pre_tokenize(std::string_view text, std::vector<std::pair<uint32_t, uint32_t>>& out) {
  // Pattern: 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
  // Decode once into code points with their kinds.
  thread_local std::vector<uint32_t> pos;
  thread_local std::vector<char32_t> cps;
  thread_local std::vector<Kind> kinds;
  pos.clear();
  cps.clear();
  kinds.clear();
  for (size_t i = 0; i < text.size();) {
    pos.push_back(static_cast<uint32_t>(i));
    auto b = static_cast<unsigned char>(text[i]);
    char32_t c = b < 0x80 ? (++i, b) : unicode::next_cp(text, i);
    cps.push_back(c);
    kinds.push_back(kind_of(c));
  }
  pos.push_back(static_cast<uint32_t>(text.size()));
  const size_t n = cps.size();
  size_t i = 0;
  while (i < n) {
    size_t j = i;
    char32_t c = cps[i];
    if (c == '\'' && i + 1 < n) {
      char32_t d = cps[i + 1];
      if (d == 's' || d == 't' || d == 'm' || d == 'd') j = i + 2;
      else if (i + 2 < n && ((d == 'r' && cps[i + 2] == 'e') || (d == 'v' && cps[i + 2] == 'e') ||
                             (d == 'l' && cps[i + 2] == 'l')))
        j = i + 3;
    }
    if (j == i) {
      size_t k = i;
      if (c == ' ' && i + 1 < n && kinds[i + 1] != kSpace) k = i + 1;
      Kind kk = kinds[k];
      if (kk != kSpace) {
        j = k + 1;
        while (j < n && kinds[j] == kk) ++j;
      } else {
        // whitespace run: \s+(?!\S) leaves the last space for the next token when one follows
        size_t e = i;
        while (e < n && kinds[e] == kSpace) ++e;
        j = (e == n || e - i == 1) ? e : e - 1;
      }
    }
    out.emplace_back(pos[i], pos[j]);
    i = j;
  }
}

void ByteBpeTokenizer::bpe(std::string_view word, std::vector<int32_t>& out) const {
  WordCache& cache = t_cache;
  if (cache.owner != cache_owner_ || cache.words.size() >= kCacheMax) {
    cache.words.clear();
    cache.ids.clear();
    cache.owner = cache_owner_;
  }
  const uint64_t h = hash_bytes(word);
  int32_t off = cache.words.find_h(word, h);
  if (off >= 0) {
    const int32_t* p = cache.ids.data() + off;
    out.insert(out.end(), p + 1, p + 1 + p[0]);
    return;
  }
  std::vector<int32_t> sym;
  sym.reserve(word.size());
  for (char ch : word) sym.push_back(byte_id_[static_cast<unsigned char>(ch)]);
  while (sym.size() > 1) {
    int32_t best_rank = INT32_MAX, best_id = -1;
    size_t best_pos = 0;
    for (size_t k = 0; k + 1 < sym.size(); ++k) {
      uint64_t key = (static_cast<uint64_t>(static_cast<uint32_t>(sym[k])) << 32) | static_cast<uint32_t>(sym[k + 1]);
      auto it = merges_.find(key);
      if (it != merges_.end() && it->second.first < best_rank) {
        best_rank = it->second.first;
        best_id = it->second.second;
        best_pos = k;
      }
    }
    if (best_id < 0) break;
    sym[best_pos] = best_id;
    sym.erase(sym.begin() + static_cast<std::ptrdiff_t>(best_pos) + 1);
  }
  out.insert(out.end(), sym.begin(), sym.end());
  if (word.size() <= 256) {  // long runs are rare; keep the cache small
    cache.words.insert(word, static_cast<int32_t>(cache.ids.size()));
    cache.ids.push_back(static_cast<int32_t>(sym.size()));
    cache.ids.insert(cache.ids.end(), sym.begin(), sym.end());
  }
}

void ByteBpeTokenizer::encode_span(std::string_view span, uint32_t base, std::vector<Piece>& out) const {
  std::string prefixed;
  if (add_prefix_space_ && !span.empty() && span[0] != ' ') {
    prefixed = " " + std::string(span);
    span = prefixed;
  }
  const uint32_t shift = prefixed.empty() ? 0 : 1;
  thread_local std::vector<std::pair<uint32_t, uint32_t>> words;
  thread_local std::vector<int32_t> ids;
  words.clear();
  pre_tokenize(span, words);
  for (auto [s, e] : words) {
    ids.clear();
    bpe(span.substr(s, e - s), ids);
    uint32_t at = s;
    for (int32_t id : ids) {
      uint32_t len = byte_len_[static_cast<size_t>(id)];
      uint32_t ps = at, pe = at + len;
      ps = ps >= shift ? ps - shift : 0;
      pe = pe >= shift ? pe - shift : 0;
      out.push_back({id, base + ps, base + pe});
      at += len;
    }
  }
}

std::string ByteBpeTokenizer::decode_ids(const std::vector<int32_t>& ids) const {
  std::string bytes;
  for (int32_t id : ids) {
    auto u = static_cast<size_t>(id);
    if (u < bytes_of_.size() && !is_added(id)) bytes += bytes_of_[u];
    else bytes += token_bytes(id_to_token_[u]);
  }
  return unicode::utf8_lossy(bytes);
}

}  // namespace nlpc::text
