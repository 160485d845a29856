#include "web/lttb.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

namespace orchard::web {
namespace {

std::vector<XY> Wave(size_t n) {
  std::vector<XY> pts;
  for (size_t i = 0; i < n; ++i) {
    pts.push_back({static_cast<double>(i), std::sin(static_cast<double>(i) / 50.0)});
  }
  return pts;
}

TEST(LttbTest, ShortSeriesComeBackWhole) {
  auto pts = Wave(100);
  auto idx = LttbIndices(pts, 2000);
  ASSERT_EQ(idx.size(), 100u);
  for (size_t i = 0; i < idx.size(); ++i) EXPECT_EQ(idx[i], i);
}

TEST(LttbTest, KeepsEndpointsAndAtMostMaxPoints) {
  for (size_t n : {2001u, 10000u, 123457u}) {
    for (size_t max : {3u, 10u, 500u, 2000u}) {
      auto pts = Wave(n);
      auto idx = LttbIndices(pts, max);
      ASSERT_EQ(idx.size(), max) << n << " " << max;
      EXPECT_EQ(idx.front(), 0u);
      EXPECT_EQ(idx.back(), n - 1);
      EXPECT_TRUE(std::is_sorted(idx.begin(), idx.end()));
      EXPECT_EQ(std::adjacent_find(idx.begin(), idx.end()), idx.end()) << "no repeats";
    }
  }
}

TEST(LttbTest, KeepsASpikeAndADip) {
  std::vector<XY> pts;
  for (int i = 0; i < 10000; ++i) pts.push_back({static_cast<double>(i), 1.0 + 0.001 * (i % 7)});
  pts[3333].y = 100.0;   // a spike
  pts[7777].y = -50.0;   // a dip
  auto kept = Lttb(pts, 200);
  ASSERT_LE(kept.size(), 200u);
  double hi = -1e9, lo = 1e9;
  for (const auto& p : kept) {
    hi = std::max(hi, p.y);
    lo = std::min(lo, p.y);
  }
  EXPECT_EQ(hi, 100.0);
  EXPECT_EQ(lo, -50.0);
}

TEST(LttbTest, BelowThreeMeansThree) {
  auto idx = LttbIndices(Wave(50), 1);
  ASSERT_EQ(idx.size(), 3u);
  EXPECT_EQ(idx.front(), 0u);
  EXPECT_EQ(idx.back(), 49u);
}

TEST(LttbTest, EmptyAndSingle) {
  EXPECT_TRUE(LttbIndices({}, 10).empty());
  EXPECT_EQ(LttbIndices({{1, 2}}, 10).size(), 1u);
}

}  // namespace
}  // namespace orchard::web
