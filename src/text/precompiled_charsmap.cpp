// SentencePiece's precompiled normalization map: [u32 LE trie byte size][darts-clone double-array
// trie of u32 units][NUL-separated replacement strings]. Each trie value is an offset into the
// replacement strings.
#include <cstring>

#include "nlpc/core/error.h"
#include "nlpc/text/families.h"
#include "nlpc/text/unicode.h"

namespace nlpc::text {
namespace {

inline bool has_leaf(uint32_t u) { return ((u >> 8) & 1) != 0; }
inline uint32_t value_of(uint32_t u) { return u & ((1u << 31) - 1); }
inline uint32_t label_of(uint32_t u) { return u & ((1u << 31) | 0xFF); }
inline uint32_t offset_of(uint32_t u) { return (u >> 10) << ((u & (1u << 9)) >> 6); }

}  // namespace

PrecompiledCharsmap::PrecompiledCharsmap(std::string blob) {
  if (blob.size() < 4) throw RuntimeError("precompiled charsmap is shorter than its 4-byte header");
  uint32_t trie_bytes = 0;
  for (int k = 3; k >= 0; --k) trie_bytes = (trie_bytes << 8) | static_cast<unsigned char>(blob[static_cast<size_t>(k)]);
  if (trie_bytes % 4 != 0 || 4 + static_cast<size_t>(trie_bytes) > blob.size() || trie_bytes == 0)
    throw RuntimeError("precompiled charsmap is corrupt: its trie size (" + std::to_string(trie_bytes) +
                       " bytes) does not fit in the " + std::to_string(blob.size()) + "-byte map");
  trie_.resize(trie_bytes / 4);
  for (size_t i = 0; i < trie_.size(); ++i) {
    const auto* p = reinterpret_cast<const unsigned char*>(blob.data() + 4 + 4 * i);
    trie_[i] = static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8) |
               (static_cast<uint32_t>(p[2]) << 16) | (static_cast<uint32_t>(p[3]) << 24);
  }
  normalized_ = blob.substr(4 + trie_bytes);
  for (int c = 0; c < 128; ++c) {  // ASCII replacements, looked up once (-1 = unchanged)
    char ch = static_cast<char>(c);
    ascii_[static_cast<size_t>(c)] = c == 0 ? -1 : match(std::string_view(&ch, 1), false).second;
  }
}

std::pair<size_t, int32_t> PrecompiledCharsmap::match(std::string_view s, bool longest) const {
  std::pair<size_t, int32_t> best{0, -1};
  if (trie_.empty()) return best;
  size_t node = offset_of(trie_[0]);
  for (size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c == 0) break;
    node ^= c;
    if (node >= trie_.size()) break;
    uint32_t unit = trie_[node];
    if (label_of(unit) != c) break;
    node ^= offset_of(unit);
    if (node >= trie_.size()) break;
    if (has_leaf(unit)) {
      best = {i + 1, static_cast<int32_t>(value_of(trie_[node]))};
      if (!longest) return best;
    }
  }
  return best;
}

void PrecompiledCharsmap::normalize(std::string_view in, bool hf_graphemes, std::string& out,
                                    std::vector<std::pair<uint32_t, uint32_t>>& map) const {
  auto replacement = [&](int32_t v) -> std::string_view {
    auto off = static_cast<size_t>(v);
    if (off >= normalized_.size()) return {};
    const char* p = normalized_.data() + off;
    return std::string_view(p, strnlen(p, normalized_.size() - off));
  };
  auto put = [&](std::string_view s, uint32_t a, uint32_t b) {
    out.append(s.data(), s.size());
    map.resize(out.size(), {a, b});
  };
  // Copies one character (invalid bytes become U+FFFD, as they cannot exist in a Rust string).
  auto copy_char = [&](size_t& i) {
    size_t s = i;
    char32_t c = unicode::next_cp(in, i);
    if (c == 0xFFFD && !(i - s == 3 && in.compare(s, 3, "\xEF\xBF\xBD") == 0)) {
      put("\xEF\xBF\xBD", static_cast<uint32_t>(s), static_cast<uint32_t>(i));
    } else {
      put(in.substr(s, i - s), static_cast<uint32_t>(s), static_cast<uint32_t>(i));
    }
  };
  const auto& ascii = ascii_;
  size_t i = 0;
  while (i < in.size()) {
    auto b = static_cast<unsigned char>(in[i]);
    // An ASCII character followed by ASCII (not CR LF) is a grapheme of its own; the longest
    // match of a single ASCII byte is that byte's own entry unless a longer key starts with it.
    if (b < 0x80 && b != '\r' && (i + 1 == in.size() || static_cast<unsigned char>(in[i + 1]) < 0x80) &&
        (hf_graphemes || i + 1 == in.size())) {
      if (ascii[b] >= 0) put(replacement(ascii[b]), static_cast<uint32_t>(i), static_cast<uint32_t>(i + 1));
      else put(in.substr(i, 1), static_cast<uint32_t>(i), static_cast<uint32_t>(i + 1));
      ++i;
      continue;
    }
    if (!hf_graphemes) {
      auto [len, v] = match(in.substr(i), true);
      if (v >= 0) {
        put(replacement(v), static_cast<uint32_t>(i), static_cast<uint32_t>(i + len));
        i += len;
      } else {
        copy_char(i);
      }
      continue;
    }
    size_t g = unicode::grapheme_len(in, i);
    if (g < 6) {
      auto [len, v] = match(in.substr(i, g), false);
      if (v >= 0) {
        put(replacement(v), static_cast<uint32_t>(i), static_cast<uint32_t>(i + g));
        i += g;
        continue;
      }
    }
    size_t end = i + g;
    while (i < end) {
      size_t j = i;
      unicode::next_cp(in, j);
      auto [len, v] = match(in.substr(i, j - i), false);
      if (v >= 0) {
        put(replacement(v), static_cast<uint32_t>(i), static_cast<uint32_t>(j));
        i = j;
      } else {
        copy_char(i);
      }
    }
  }
}

}  // namespace nlpc::text
