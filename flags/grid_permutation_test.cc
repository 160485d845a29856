#include "flags/grid_permutation.h"

#include <algorithm>
#include <set>
#include <vector>

#include <gtest/gtest.h>

namespace orchard::flags {
namespace {

// True when At() maps [0, n) onto [0, n).
bool IsBijection(uint64_t n, uint64_t seed) {
  GridPermutation p(n, seed);
  std::vector<bool> hit(n, false);
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t v = p.At(i);
    if (v >= n || hit[v]) return false;
    hit[v] = true;
  }
  return true;
}

TEST(GridPermutationTest, BijectionForEverySizeUpTo5000) {
  for (uint64_t n = 1; n <= 5000; ++n) {
    ASSERT_TRUE(IsBijection(n, n * 31 + 7)) << "n=" << n;
  }
}

TEST(GridPermutationTest, BijectionForSeveralSeeds) {
  for (uint64_t seed : {0ULL, 1ULL, 2ULL, 42ULL, 0xFFFFFFFFFFFFFFFFULL, 0x123456789ABCDEFULL}) {
    for (uint64_t n : {2ULL, 3ULL, 4ULL, 5ULL, 16ULL, 17ULL, 255ULL, 256ULL, 257ULL, 1000ULL,
                       4095ULL, 4096ULL, 65537ULL, 1000003ULL}) {
      ASSERT_TRUE(IsBijection(n, seed)) << "n=" << n << " seed=" << seed;
    }
  }
}

TEST(GridPermutationTest, Deterministic) {
  GridPermutation a(1000, 7), b(1000, 7);
  for (uint64_t i = 0; i < 1000; ++i) EXPECT_EQ(a.At(i), b.At(i));
}

TEST(GridPermutationTest, SeedsGiveDifferentOrders) {
  GridPermutation a(1000, 7), b(1000, 8);
  int same = 0;
  for (uint64_t i = 0; i < 1000; ++i) same += a.At(i) == b.At(i);
  EXPECT_LT(same, 20);  // about 1 expected by chance
}

TEST(GridPermutationTest, NotTheIdentity) {
  GridPermutation p(1000, 0);
  int fixed = 0;
  for (uint64_t i = 0; i < 1000; ++i) fixed += p.At(i) == i;
  EXPECT_LT(fixed, 20);
}

TEST(GridPermutationTest, PrefixesAreSpreadOut) {
  // The first tenth of a permutation of 10,000 should cover each tenth of
  // the range roughly evenly (a sampled grid is not clustered).
  GridPermutation p(10000, 3);
  std::vector<int> bucket(10, 0);
  for (uint64_t i = 0; i < 1000; ++i) ++bucket[p.At(i) / 1000];
  for (int b : bucket) {
    EXPECT_GT(b, 60);
    EXPECT_LT(b, 140);
  }
}

TEST(GridPermutationTest, HugeDomainsWithoutMemory) {
  for (uint64_t n : {1000000000000ULL, (1ULL << 62), 0xFFFFFFFFFFFFFFFFULL, (1ULL << 62) + 1}) {
    GridPermutation p(n, 11);
    std::set<uint64_t> seen;
    for (uint64_t i = 0; i < 10000; ++i) {
      uint64_t v = p.At(i);
      ASSERT_LT(v, n);
      seen.insert(v);
    }
    EXPECT_EQ(seen.size(), 10000u) << "n=" << n;
    EXPECT_EQ(p.At(n - 1), GridPermutation(n, 11).At(n - 1));
  }
}

TEST(GridPermutationTest, SizeOneAndZero) {
  EXPECT_EQ(GridPermutation(1, 5).At(0), 0u);
  EXPECT_EQ(GridPermutation(0, 5).size(), 0u);
}

TEST(GridPermutationDeathTest, OutOfRangeAborts) {
  EXPECT_DEATH(GridPermutation(3, 0).At(3), "GridPermutation::At");
}

TEST(SplitMix64Test, KnownValues) {
  // The reference generator seeded with 0 yields these first outputs.
  EXPECT_EQ(SplitMix64(0), 0xE220A8397B1DCDAFULL);
  EXPECT_EQ(SplitMix64(0x9E3779B97F4A7C15ULL), 0x6E789E6AA1B965F4ULL);
}

}  // namespace
}  // namespace orchard::flags
