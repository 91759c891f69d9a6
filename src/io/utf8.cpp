#include "nlpc/io/utf8.h"

#include <cstring>

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "validate_utf8 assumes little-endian words");

namespace nlpc::io {
namespace {

constexpr uint64_t kHighBits = 0x8080808080808080ULL;

// Length of the valid sequence starting at p (lead byte >= 0x80), or 0 when it is invalid or
// truncated. Ranges from RFC 3629 section 4 (Unicode Table 3-7).
size_t valid_sequence_length(const unsigned char* p, size_t avail) {
  const unsigned char c = p[0];
  auto cont = [&](size_t i, unsigned char lo, unsigned char hi) {
    return i < avail && p[i] >= lo && p[i] <= hi;
  };
  if (c >= 0xC2 && c <= 0xDF) return cont(1, 0x80, 0xBF) ? 2 : 0;
  if (c == 0xE0) return cont(1, 0xA0, 0xBF) && cont(2, 0x80, 0xBF) ? 3 : 0;
  if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) {
    return cont(1, 0x80, 0xBF) && cont(2, 0x80, 0xBF) ? 3 : 0;
  }
  if (c == 0xED) return cont(1, 0x80, 0x9F) && cont(2, 0x80, 0xBF) ? 3 : 0;  // no surrogates
  if (c == 0xF0) return cont(1, 0x90, 0xBF) && cont(2, 0x80, 0xBF) && cont(3, 0x80, 0xBF) ? 4 : 0;
  if (c >= 0xF1 && c <= 0xF3) {
    return cont(1, 0x80, 0xBF) && cont(2, 0x80, 0xBF) && cont(3, 0x80, 0xBF) ? 4 : 0;
  }
  if (c == 0xF4) return cont(1, 0x80, 0x8F) && cont(2, 0x80, 0xBF) && cont(3, 0x80, 0xBF) ? 4 : 0;
  return 0;
}

}  // namespace

size_t validate_utf8(const char* data, size_t n) {
  const auto* p = reinterpret_cast<const unsigned char*>(data);
  size_t i = 0;
  while (i < n) {
    if (i + 8 <= n) {
      // ASCII fast path: 8 bytes per step; otherwise jump straight to the first non-ASCII byte.
      uint64_t w;
      std::memcpy(&w, p + i, 8);
      const uint64_t high = w & kHighBits;
      if (high == 0) {
        i += 8;
        continue;
      }
      i += static_cast<size_t>(__builtin_ctzll(high)) >> 3;  // little-endian: lowest set byte first
    } else if (p[i] < 0x80) {
      ++i;
      continue;
    }
    // The common 2- and 3-byte forms inline, everything else through the full range check.
    const unsigned char c = p[i];
    if (c >= 0xC2 && c <= 0xDF && i + 1 < n && (p[i + 1] & 0xC0) == 0x80) {
      i += 2;
      continue;
    }
    if ((c & 0xF0) == 0xE0 && i + 2 < n && (p[i + 1] & 0xC0) == 0x80 && (p[i + 2] & 0xC0) == 0x80) {
      const unsigned cp = ((c & 0x0Fu) << 12) | ((p[i + 1] & 0x3Fu) << 6) | (p[i + 2] & 0x3Fu);
      if (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF)) return i;  // overlong or surrogate
      i += 3;
      continue;
    }
    const size_t len = valid_sequence_length(p + i, n - i);
    if (len == 0) return i;
    i += len;
  }
  return n;
}

int64_t utf8_column(const char* line, size_t byte_offset) {
  int64_t col = 1;
  for (size_t i = 0; i < byte_offset; ++i) {
    if ((static_cast<unsigned char>(line[i]) & 0xC0) != 0x80) ++col;
  }
  return col;
}

size_t utf8_length(std::string_view s) {
  size_t count = 0;
  for (char c : s) {
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) ++count;
  }
  return count;
}

std::string describe_invalid_utf8(const char* data, size_t n, size_t offset) {
  static const char* kHex = "0123456789abcdef";
  auto hex = [&](size_t i) {
    const auto b = static_cast<unsigned char>(data[i]);
    return std::string("0x") + kHex[b >> 4] + kHex[b & 15];
  };
  if (offset >= n) return "invalid UTF-8";
  const auto lead = static_cast<unsigned char>(data[offset]);
  size_t expected = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC2 ? 2 : 1;
  if (lead > 0xF4) expected = 1;
  size_t have = 1;
  while (have < expected && offset + have < n &&
         (static_cast<unsigned char>(data[offset + have]) & 0xC0) == 0x80) {
    ++have;
  }
  std::string bytes = hex(offset);
  for (size_t i = 1; i < have; ++i) bytes += " " + hex(offset + i);
  if (expected > 1 && have < expected && offset + have >= n) return "truncated UTF-8 sequence " + bytes;
  return std::string(have > 1 ? "invalid UTF-8 sequence " : "invalid UTF-8 byte ") + bytes;
}

}  // namespace nlpc::io
