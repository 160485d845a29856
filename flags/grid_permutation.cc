#include "flags/grid_permutation.h"

#include <cstdio>
#include <cstdlib>

namespace orchard::flags {

GridPermutation::GridPermutation(uint64_t n, uint64_t seed) : n_(n) {
  // The smallest h >= 1 with 2^(2h) >= n; h = 32 covers every uint64.
  while (half_bits_ < 32 && (uint64_t{1} << (2 * half_bits_)) < n) ++half_bits_;
  half_mask_ = (uint64_t{1} << half_bits_) - 1;
  uint64_t k = SplitMix64(seed);
  for (int r = 0; r < kRounds; ++r) {
    k = SplitMix64(k + static_cast<uint64_t>(r));
    keys_[r] = k;
  }
}

uint64_t GridPermutation::Encrypt(uint64_t x) const {
  uint64_t left = x >> half_bits_;
  uint64_t right = x & half_mask_;
  for (int r = 0; r < kRounds; ++r) {
    uint64_t next = left ^ (SplitMix64(right ^ keys_[r]) & half_mask_);
    left = right;
    right = next;
  }
  return (left << half_bits_) | right;
}

uint64_t GridPermutation::At(uint64_t i) const {
  if (i >= n_) {
    std::fprintf(stderr, "GridPermutation::At(%llu) with size %llu\n",
                 static_cast<unsigned long long>(i), static_cast<unsigned long long>(n_));
    std::abort();
  }
  uint64_t x = i;
  do {
    x = Encrypt(x);
  } while (x >= n_);
  return x;
}

}  // namespace orchard::flags
