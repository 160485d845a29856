#include "flags/expand.h"

#include <cmath>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace orchard::flags {
namespace {

using Kind = Dimension::Kind;

Dimension List(std::string name, std::vector<nlohmann::json> values) {
  Dimension d;
  d.name = std::move(name);
  d.kind = Kind::kList;
  d.values = std::move(values);
  return d;
}

Dimension Range(std::string name, Kind kind, double low, double high, bool log = false) {
  Dimension d;
  d.name = std::move(name);
  d.kind = kind;
  d.low = low;
  d.high = high;
  d.log = log;
  return d;
}

Dimension Choice(std::string name, std::vector<nlohmann::json> values) {
  Dimension d = List(std::move(name), std::move(values));
  d.kind = Kind::kChoice;
  return d;
}

// Nine dimensions of the digits 0..9: a grid of 10^9 points whose index is
// its own decimal decoding.
SearchSpace BillionGrid() {
  SearchSpace s;
  std::vector<nlohmann::json> digits;
  for (int i = 0; i < 10; ++i) digits.push_back(i);
  for (int k = 0; k < 9; ++k) s.dims.push_back(List("d" + std::to_string(k), digits));
  return s;
}

TuneSpec GridSpec(SearchSpace space) {
  TuneSpec spec;
  spec.space = std::move(space);
  spec.method = "grid";
  return spec;
}

// ---- Grid size and decoding -------------------------------------------------

TEST(GridSizeTest, ProductOfLengths) {
  EXPECT_EQ(*GridSize(SearchSpace{}), 1u);  // no search: the fixed flags once
  SearchSpace s;
  s.dims = {List("a", {1, 2, 3}), List("b", {"x", "y"})};
  EXPECT_EQ(*GridSize(s), 6u);
  EXPECT_EQ(*GridSize(BillionGrid()), 1000000000u);
}

TEST(GridSizeTest, OverflowPast2To62) {
  SearchSpace s;
  for (int k = 0; k < 62; ++k) s.dims.push_back(List("d" + std::to_string(k), {0, 1}));
  ASSERT_TRUE(GridSize(s).ok());
  EXPECT_EQ(*GridSize(s), uint64_t{1} << 62);
  s.dims.push_back(List("last", {0, 1}));
  Result<uint64_t> over = GridSize(s);
  ASSERT_FALSE(over.ok());
  EXPECT_EQ(over.status().message(), "search: the grid has more than 2^62 points");
  // Far past 2^64 must not wrap around to a small number either.
  for (int k = 0; k < 100; ++k) s.dims.push_back(List("x" + std::to_string(k), {0, 1, 2}));
  EXPECT_FALSE(GridSize(s).ok());
}

TEST(GridSizeTest, DistributionIsNotAGrid) {
  SearchSpace s;
  s.dims = {List("a", {1}), Range("lr", Kind::kLogUniform, 1e-3, 1)};
  Result<uint64_t> r = GridSize(s);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "search.lr: a loguniform distribution is not a grid axis");
}

TEST(GridPointTest, FirstDimensionVariesSlowest) {
  SearchSpace s;
  s.dims = {List("a", {1, 2}), List("b", {"x", "y", "z"})};
  std::vector<nlohmann::json> expected = {
      {{"a", 1}, {"b", "x"}}, {{"a", 1}, {"b", "y"}}, {{"a", 1}, {"b", "z"}},
      {{"a", 2}, {"b", "x"}}, {{"a", 2}, {"b", "y"}}, {{"a", 2}, {"b", "z"}}};
  for (uint64_t i = 0; i < 6; ++i) EXPECT_EQ(GridPoint(s, i), expected[i]) << i;
}

TEST(GridPointTest, EmptySpaceIsOnePoint) {
  EXPECT_EQ(GridPoint(SearchSpace{}, 0), nlohmann::json::object());
}

TEST(GridPointTest, BillionPointGridDecodesWithoutMaterialising) {
  SearchSpace s = BillionGrid();
  nlohmann::json p = GridPoint(s, 123456789);
  for (int k = 0; k < 9; ++k) EXPECT_EQ(p["d" + std::to_string(k)], k + 1);
  nlohmann::json last = GridPoint(s, 999999999);
  for (int k = 0; k < 9; ++k) EXPECT_EQ(last["d" + std::to_string(k)], 9);
}

TEST(GridPointDeathTest, IndexPastTheEndAborts) {
  SearchSpace s;
  s.dims = {List("a", {1, 2})};
  EXPECT_DEATH(GridPoint(s, 2), "GridPoint index 2 >= size 2");
}

// ---- Grid trials (whole and sampled) ---------------------------------------

TEST(GridTrialTest, WholeGridInOrder) {
  SearchSpace s;
  s.dims = {List("a", {1, 2}), List("b", {3, 4, 5})};
  TuneSpec spec = GridSpec(s);
  ASSERT_EQ(GridTrialCount(spec), 6u);
  for (uint64_t i = 0; i < 6; ++i) EXPECT_EQ(GridTrial(spec, i), GridPoint(s, i));
}

TEST(GridTrialTest, MaxTrialsCaps) {
  SearchSpace s;
  s.dims = {List("a", {1, 2, 3, 4})};
  TuneSpec spec = GridSpec(s);
  spec.max_trials = 3;
  EXPECT_EQ(GridTrialCount(spec), 3u);
  spec.max_trials = 10;
  EXPECT_EQ(GridTrialCount(spec), 4u);
  spec.sample = 0.75;
  spec.max_trials = 2;
  EXPECT_EQ(GridTrialCount(spec), 2u);
}

TEST(GridTrialTest, SampleCountIsCeilingOfFraction) {
  auto count = [](int size, double sample) {
    std::vector<nlohmann::json> values;
    for (int i = 0; i < size; ++i) values.push_back(i);
    SearchSpace s;
    s.dims = {List("a", std::move(values))};
    TuneSpec spec = GridSpec(s);
    spec.sample = sample;
    return GridTrialCount(spec);
  };
  EXPECT_EQ(count(10, 0.3), 3u);
  EXPECT_EQ(count(10, 0.31), 4u);
  EXPECT_EQ(count(100, 0.07), 7u);  // 0.07 * 100 is 7.000000000000001 in doubles
  EXPECT_EQ(count(50, 0.14), 7u);   // likewise
  EXPECT_EQ(count(100, 0.071), 8u);
  EXPECT_EQ(count(10, 1e-9), 1u);   // never zero trials
  EXPECT_EQ(count(10, 1.0), 10u);
}

TEST(GridTrialTest, SampledGridHasNoDuplicatesAndExpectedCount) {
  SearchSpace s;
  std::vector<nlohmann::json> v;
  for (int i = 0; i < 37; ++i) v.push_back(i);
  s.dims = {List("a", v), List("b", {"x", "y", "z"}), List("c", {true, false})};  // 222 points
  TuneSpec spec = GridSpec(s);
  spec.sample = 0.3;
  spec.seed = 7;
  uint64_t n = GridTrialCount(spec);
  EXPECT_EQ(n, 67u);  // ceil(0.3 * 222) = ceil(66.6)
  std::set<std::string> seen;
  for (uint64_t i = 0; i < n; ++i) seen.insert(GridTrial(spec, i).dump());
  EXPECT_EQ(seen.size(), n);
}

TEST(GridTrialTest, SampleOfOneIsTheWholeGridShuffled) {
  SearchSpace s;
  s.dims = {List("a", {1, 2, 3}), List("b", {4, 5, 6, 7})};
  TuneSpec spec = GridSpec(s);
  spec.sample = 1.0;
  std::set<std::string> sampled, whole;
  bool in_order = true;
  for (uint64_t i = 0; i < 12; ++i) {
    sampled.insert(GridTrial(spec, i).dump());
    whole.insert(GridPoint(s, i).dump());
    in_order = in_order && GridTrial(spec, i) == GridPoint(s, i);
  }
  EXPECT_EQ(sampled, whole);
  EXPECT_FALSE(in_order);
}

TEST(GridTrialTest, SameSeedSameTrialsDifferentSeedDifferent) {
  TuneSpec a = GridSpec(BillionGrid());
  a.sample = 1e-6;  // 1,000 of 10^9 points
  a.seed = 7;
  TuneSpec b = a;
  TuneSpec c = a;
  c.seed = 8;
  ASSERT_EQ(GridTrialCount(a), 1000u);
  std::set<std::string> seen;
  int same_as_c = 0;
  for (uint64_t i = 0; i < 1000; ++i) {
    nlohmann::json t = GridTrial(a, i);
    EXPECT_EQ(t, GridTrial(b, i));
    same_as_c += t == GridTrial(c, i);
    seen.insert(t.dump());
  }
  EXPECT_EQ(seen.size(), 1000u);
  EXPECT_EQ(same_as_c, 0);
}

// ---- Random draws -----------------------------------------------------------

SearchSpace MixedSpace() {
  SearchSpace s;
  s.dims = {Range("lr", Kind::kLogUniform, 1e-4, 1e-1),
            Range("momentum", Kind::kUniform, 0.5, 0.99),
            Range("unfreeze", Kind::kInt, 0, 4),
            Range("width", Kind::kInt, 1, 1024, /*log=*/true),
            Choice("optimizer", {"sgd", "adam"}),
            List("batch", {32, 64, 128})};
  return s;
}

TEST(DrawRandomTest, WithinBoundsAndTyped) {
  SearchSpace s = MixedSpace();
  for (uint64_t i = 0; i < 2000; ++i) {
    nlohmann::json p = DrawRandom(s, 7, i);
    ASSERT_EQ(p.size(), 6u);
    ASSERT_TRUE(p["lr"].is_number_float());
    EXPECT_GE(p["lr"].get<double>(), 1e-4);
    EXPECT_LE(p["lr"].get<double>(), 1e-1);
    EXPECT_GE(p["momentum"].get<double>(), 0.5);
    EXPECT_LT(p["momentum"].get<double>(), 0.99);
    ASSERT_TRUE(p["unfreeze"].is_number_integer());
    EXPECT_GE(p["unfreeze"].get<int64_t>(), 0);
    EXPECT_LE(p["unfreeze"].get<int64_t>(), 4);
    ASSERT_TRUE(p["width"].is_number_integer());
    EXPECT_GE(p["width"].get<int64_t>(), 1);
    EXPECT_LE(p["width"].get<int64_t>(), 1024);
    EXPECT_TRUE(p["optimizer"] == "sgd" || p["optimizer"] == "adam");
    EXPECT_TRUE(p["batch"] == 32 || p["batch"] == 64 || p["batch"] == 128);
  }
}

TEST(DrawRandomTest, SameSeedAndIndexSamePointIndependentOfOtherTrials) {
  SearchSpace s = MixedSpace();
  nlohmann::json alone = DrawRandom(s, 42, 17);
  for (uint64_t i = 0; i < 17; ++i) DrawRandom(s, 42, i);
  EXPECT_EQ(DrawRandom(s, 42, 17), alone);
  EXPECT_NE(DrawRandom(s, 43, 17), alone);
  EXPECT_NE(DrawRandom(s, 42, 18), alone);
}

TEST(DrawRandomTest, DifferentSeedsGiveDifferentSequences) {
  SearchSpace s = MixedSpace();
  int same = 0;
  for (uint64_t i = 0; i < 100; ++i) same += DrawRandom(s, 1, i)["lr"] == DrawRandom(s, 2, i)["lr"];
  EXPECT_EQ(same, 0);
}

TEST(DrawRandomTest, AddingADimensionKeepsTheOthers) {
  SearchSpace s = MixedSpace();
  SearchSpace more = s;
  more.dims.insert(more.dims.begin(), Range("dropout", Kind::kUniform, 0, 0.5));
  for (uint64_t i = 0; i < 50; ++i) {
    nlohmann::json a = DrawRandom(s, 9, i);
    nlohmann::json b = DrawRandom(more, 9, i);
    b.erase("dropout");
    EXPECT_EQ(a, b);
  }
}

TEST(DrawRandomTest, PinnedValues) {
  // Guards the documented generator: a change here changes every recorded
  // random session. Integers and choices are exact on every platform.
  SearchSpace s = MixedSpace();
  nlohmann::json p = DrawRandom(s, 7, 0);
  EXPECT_EQ(p["unfreeze"], 3);
  EXPECT_EQ(p["width"], 32);
  EXPECT_EQ(p["optimizer"], "adam");
  EXPECT_EQ(p["batch"], 32);
  EXPECT_NEAR(p["momentum"].get<double>(), 0.66836832985296746, 1e-12);
  EXPECT_NEAR(std::log(p["lr"].get<double>()), std::log(0.00037704322511554478), 1e-12);
}

TEST(DrawRandomTest, IntIncludesBothEndsUniformly) {
  Dimension d = Range("n", Kind::kInt, -2, 2);
  std::vector<int> count(5, 0);
  for (uint64_t i = 0; i < 5000; ++i) {
    std::mt19937_64 rng(TrialSeed(3, i));
    ++count[DrawDimension(d, rng).get<int64_t>() + 2];
  }
  for (int c : count) {
    EXPECT_GT(c, 850);  // 1000 expected; 5 sigma is about 140
    EXPECT_LT(c, 1150);
  }
}

TEST(DrawRandomTest, SingleValueIntRange) {
  Dimension d = Range("n", Kind::kInt, 5, 5);
  std::mt19937_64 rng(1);
  EXPECT_EQ(DrawDimension(d, rng), 5);
}

TEST(DrawRandomTest, LogUniformIsUniformInLogSpace) {
  // [1e-4, 1e-1] spans three decades: each should get about a third.
  Dimension d = Range("lr", Kind::kLogUniform, 1e-4, 1e-1);
  std::vector<int> decade(3, 0);
  const int n = 9000;
  for (uint64_t i = 0; i < n; ++i) {
    std::mt19937_64 rng(TrialSeed(11, i));
    double v = DrawDimension(d, rng).get<double>();
    int k = static_cast<int>(std::floor(std::log10(v) + 4));
    ++decade[std::min(k, 2)];
  }
  for (int c : decade) {
    EXPECT_GT(c, 2700);  // 3000 expected
    EXPECT_LT(c, 3300);
  }
}

TEST(DrawRandomTest, LogIntFavoursSmallValues) {
  Dimension d = Range("w", Kind::kInt, 1, 1000, /*log=*/true);
  int below_32 = 0, ones = 0, thousands = 0;
  const int n = 10000;
  for (uint64_t i = 0; i < n; ++i) {
    std::mt19937_64 rng(TrialSeed(5, i));
    int64_t v = DrawDimension(d, rng).get<int64_t>();
    below_32 += v < 32;
    ones += v == 1;
    thousands += v == 1000;
  }
  // P(v < 32) = log(31.5/0.5) / log(1000.5/0.5) ~ 0.545; P(1) ~ 0.145.
  EXPECT_NEAR(below_32 / double(n), 0.545, 0.03);
  EXPECT_NEAR(ones / double(n), 0.145, 0.02);
  EXPECT_GT(thousands, 0);  // the top end is reachable
}

TEST(DrawRandomTest, UniformMeanAndSpread) {
  Dimension d = Range("m", Kind::kUniform, 0.5, 1.5);
  double sum = 0;
  int low_half = 0;
  const int n = 10000;
  for (uint64_t i = 0; i < n; ++i) {
    std::mt19937_64 rng(TrialSeed(1, i));
    double v = DrawDimension(d, rng).get<double>();
    sum += v;
    low_half += v < 1.0;
  }
  EXPECT_NEAR(sum / n, 1.0, 0.01);
  EXPECT_NEAR(low_half / double(n), 0.5, 0.02);
}

TEST(DrawRandomTest, ChoiceCoversEveryValue) {
  Dimension d = Choice("o", {"a", "b", "c"});
  std::set<std::string> seen;
  for (uint64_t i = 0; i < 100; ++i) {
    std::mt19937_64 rng(TrialSeed(0, i));
    seen.insert(DrawDimension(d, rng).get<std::string>());
  }
  EXPECT_EQ(seen.size(), 3u);
}

TEST(UniformBelowTest, RangeAndEdges) {
  std::mt19937_64 rng(123);
  EXPECT_EQ(UniformBelow(rng, 1), 0u);
  for (int i = 0; i < 1000; ++i) EXPECT_LT(UniformBelow(rng, 7), 7u);
  uint64_t big = (uint64_t{1} << 63) + 1;  // rejects about half of all draws
  for (int i = 0; i < 100; ++i) EXPECT_LT(UniformBelow(rng, big), big);
  for (int i = 0; i < 1000; ++i) {
    double u = UniformUnit(rng);
    EXPECT_GE(u, 0.0);
    EXPECT_LT(u, 1.0);
  }
}

TEST(TrialFlagsTest, FixedFlagsPlusPoint) {
  TuneSpec spec;
  spec.flags = {{"epochs", 6}, {"backbone", "mobilenet_v2"}};
  EXPECT_EQ(TrialFlags(spec, {{"lr", 0.01}}),
            nlohmann::json({{"epochs", 6}, {"backbone", "mobilenet_v2"}, {"lr", 0.01}}));
}

}  // namespace
}  // namespace orchard::flags
