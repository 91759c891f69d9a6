#pragma once
// Seeded shuffling shared by the in-memory batch plans (batcher.cpp) and the streamed ones
// (stream.cpp): a 64-bit Mersenne Twister, whose output sequence the standard fixes (unlike
// std::uniform_int_distribution and std::shuffle), so that orders match across toolchains.
#include <cstdint>
#include <limits>
#include <random>
#include <utility>
#include <vector>

namespace nlpc::train {

// Unbiased integer in [0, n).
inline uint64_t uniform_below(std::mt19937_64& rng, uint64_t n) {
  const uint64_t limit = std::numeric_limits<uint64_t>::max() - std::numeric_limits<uint64_t>::max() % n;
  uint64_t x;
  do {
    x = rng();
  } while (x >= limit);
  return x % n;
}

template <typename T>
void fisher_yates(std::vector<T>& v, std::mt19937_64& rng) {
  for (size_t i = v.size(); i > 1; --i) {
    const size_t j = static_cast<size_t>(uniform_below(rng, i));
    std::swap(v[i - 1], v[j]);
  }
}

}  // namespace nlpc::train
