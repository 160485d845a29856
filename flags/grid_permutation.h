// GridPermutation: a pseudorandom permutation of [0, n), computed one index
// at a time in O(1) memory, so a sampled grid of 10^12 points draws without
// replacement and without materialising anything.
//
// How: a balanced Feistel network (6 rounds, round function SplitMix64 of
// the right half and a per-round key derived from the seed) permutes the
// smallest power-of-four domain 2^(2h) >= n; "cycle-walking" re-applies it
// until the value falls inside [0, n). Each application is a bijection of
// the domain, so the walk restricted to [0, n) is a bijection too, and since
// the domain is < 4n the expected walk is under 4 steps.
//
// Deterministic across platforms and compilers: only fixed-width integer
// arithmetic. A value type; At() is const and thread-safe.
#pragma once

#include <array>
#include <cstdint>

namespace orchard::flags {

// The SplitMix64 generator's output for state `x` (Steele, Lea and Flood,
// 2014): a bijective, well-mixing 64-bit hash. Used to derive every seed in
// flags/ (trial seeds, Feistel keys) so they are documented and portable.
constexpr uint64_t SplitMix64(uint64_t x) {
  uint64_t z = x + 0x9E3779B97F4A7C15ULL;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

class GridPermutation {
 public:
  static constexpr int kRounds = 6;

  // Any n (0 gives an empty permutation); any seed.
  GridPermutation(uint64_t n, uint64_t seed);

  uint64_t size() const { return n_; }
  // The i-th element of the permutation. REQUIRES: i < size().
  uint64_t At(uint64_t i) const;

 private:
  uint64_t Encrypt(uint64_t x) const;  // one pass of the Feistel network

  uint64_t n_;
  int half_bits_ = 1;       // h: each half holds h bits
  uint64_t half_mask_ = 1;  // 2^h - 1
  std::array<uint64_t, kRounds> keys_{};
};

}  // namespace orchard::flags
