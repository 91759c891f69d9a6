#pragma once
// Small open-addressing hash tables keyed by byte strings, for the tokenizers' hot lookups
// (std::unordered_map<std::string_view, ...> spends most of its time in bucket chains).
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

namespace nlpc::text {

inline uint64_t hash_bytes(std::string_view s) {
  const uint64_t m = 0x9E3779B97F4A7C15ull;
  uint64_t h = 0x243F6A8885A308D3ull ^ (s.size() * m);
  size_t i = 0;
  for (; i + 8 <= s.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, s.data() + i, 8);
    h = (h ^ w) * m;
    h ^= h >> 29;
  }
  if (i < s.size()) {
    uint64_t w = 0;
    std::memcpy(&w, s.data() + i, s.size() - i);
    h = (h ^ w) * m;
    h ^= h >> 29;
  }
  h *= 0xBF58476D1CE4E5B9ull;
  return h ^ (h >> 31);
}

// string → int32 (insert keeps the first value for a key).
class StrIdMap {
 public:
  void insert(std::string_view key, int32_t value) {
    if ((size_ + 1) * 2 > slots_.size()) grow();
    place(key, value, hash_bytes(key), true);
  }
  int32_t find(std::string_view key) const { return find_h(key, hash_bytes(key)); }
  int32_t find_h(std::string_view key, uint64_t h) const {
    if (slots_.empty()) return -1;
    for (size_t i = h & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.len == kEmpty) return -1;
      if (s.hash == h && s.len == key.size() && std::memcmp(arena_.data() + s.off, key.data(), key.size()) == 0)
        return s.value;
    }
  }
  size_t size() const { return size_; }
  void clear() {
    slots_.clear();
    arena_.clear();
    size_ = 0;
    mask_ = 0;
  }

 private:
  static constexpr uint32_t kEmpty = 0xFFFFFFFFu;
  struct Slot {
    uint64_t hash = 0;
    uint32_t off = 0;
    uint32_t len = kEmpty;
    int32_t value = -1;
  };
  void place(std::string_view key, int32_t value, uint64_t h, bool copy) {
    for (size_t i = h & mask_;; i = (i + 1) & mask_) {
      Slot& s = slots_[i];
      if (s.len == kEmpty) {
        s.hash = h;
        if (copy) {
          s.off = static_cast<uint32_t>(arena_.size());
          arena_.append(key.data(), key.size());
        }
        s.len = static_cast<uint32_t>(key.size());
        s.value = value;
        ++size_;
        return;
      }
      if (s.hash == h && s.len == key.size() && std::memcmp(arena_.data() + s.off, key.data(), key.size()) == 0)
        return;
    }
  }
  void grow() {
    std::vector<Slot> old;
    old.swap(slots_);
    size_t cap = old.empty() ? 64 : old.size() * 2;
    slots_.assign(cap, Slot{});
    mask_ = cap - 1;
    size_ = 0;
    for (const Slot& s : old) {
      if (s.len == kEmpty) continue;
      for (size_t i = s.hash & mask_;; i = (i + 1) & mask_) {
        if (slots_[i].len == kEmpty) {
          slots_[i] = s;
          ++size_;
          break;
        }
      }
    }
  }
  std::vector<Slot> slots_;
  std::string arena_;
  size_t mask_ = 0;
  size_t size_ = 0;
};

}  // namespace nlpc::text
