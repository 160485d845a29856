#include "orchestrator/search/sampler.h"

#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "flags/expand.h"
#include "orchestrator/search/test_spaces.h"

namespace orchard::search {
namespace {

using namespace fixtures;  // NOLINT: the fixture builders
using nlohmann::json;

flags::TuneSpec GridSpec() {
  flags::TuneSpec spec;
  spec.source = "tune.yaml";
  spec.method = "grid";
  spec.space.dims = {List("a", {1, 2}), List("b", {"x", "y", "z"})};
  return spec;
}

std::unique_ptr<Sampler> Make(const flags::TuneSpec& spec) {
  Result<std::unique_ptr<Sampler>> s = MakeSampler(spec);
  EXPECT_TRUE(s.ok()) << s.status().message();
  return s.ok() ? std::move(*s) : nullptr;
}

TEST(GridSamplerTest, WalksTheGridFirstDimensionSlowest) {
  std::unique_ptr<Sampler> grid = Make(GridSpec());
  ASSERT_EQ(grid->TrialLimit(), 6);
  std::vector<json> expected = {{{"a", 1}, {"b", "x"}}, {{"a", 1}, {"b", "y"}},
                                {{"a", 1}, {"b", "z"}}, {{"a", 2}, {"b", "x"}},
                                {{"a", 2}, {"b", "y"}}, {{"a", 2}, {"b", "z"}}};
  std::vector<TrialRecord> history;
  for (int n = 0; n < 6; ++n) {
    Result<json> p = grid->Suggest(n, history);
    ASSERT_TRUE(p.ok());
    EXPECT_EQ(*p, expected[n]) << n;
    history.push_back(Completed(n, *p, n));  // the history changes nothing
  }
  Result<json> past = grid->Suggest(6, history);
  ASSERT_FALSE(past.ok());
  EXPECT_NE(past.status().message().find("outside the grid's 6 trials"), std::string::npos);
  EXPECT_FALSE(grid->Suggest(-1, {}).ok());
}

TEST(GridSamplerTest, SampledGridIsASeededSubsetOfDistinctPoints) {
  flags::TuneSpec spec = GridSpec();
  spec.space.dims.push_back(List("c", {0.1, 0.01, 0.001, 0.0001}));  // 24 points
  spec.sample = 0.5;
  spec.seed = 3;
  std::unique_ptr<Sampler> grid = Make(spec);
  ASSERT_EQ(grid->TrialLimit(), 12);
  std::set<std::string> seen;
  for (int n = 0; n < 12; ++n) {
    json p = *grid->Suggest(n, {});
    EXPECT_EQ(p, flags::GridTrial(spec, n));
    seen.insert(p.dump());
  }
  EXPECT_EQ(seen.size(), 12u);
  spec.max_trials = 5;  // caps the sample
  EXPECT_EQ(Make(spec)->TrialLimit(), 5);
  spec.max_trials.reset();
  flags::TuneSpec reseeded = spec;  // another seed, another subset or order
  reseeded.seed = 4;
  std::unique_ptr<Sampler> other = Make(reseeded);
  bool differs = false;
  for (int n = 0; n < 12; ++n) differs |= *other->Suggest(n, {}) != *grid->Suggest(n, {});
  EXPECT_TRUE(differs);
}

TEST(RandomSamplerTest, DeterministicPerSeedAndTrialNumber) {
  flags::TuneSpec spec;
  spec.method = "random";
  spec.seed = 42;
  spec.max_trials = 50;
  spec.space.dims = {Uniform("x", -1, 1), LogUniform("lr", 1e-4, 1e-1), Int("n", 2, 9),
                     Int("w", 4, 256, true), Choice("opt", {"sgd", "adam"}), List("b", {16, 32})};
  std::unique_ptr<Sampler> a = Make(spec);
  std::unique_ptr<Sampler> b = Make(spec);
  EXPECT_EQ(a->TrialLimit(), 50);
  std::vector<TrialRecord> history;
  std::set<std::string> distinct;
  for (int n = 0; n < 200; ++n) {
    json p = *a->Suggest(n, history);
    EXPECT_EQ(p, flags::DrawRandom(spec.space, 42, n));
    distinct.insert(p.dump());
    ASSERT_TRUE(p["x"].is_number_float());
    EXPECT_GE(p["x"].get<double>(), -1);
    EXPECT_LT(p["x"].get<double>(), 1);
    EXPECT_GE(p["lr"].get<double>(), 1e-4);
    EXPECT_LE(p["lr"].get<double>(), 1e-1);
    ASSERT_TRUE(p["n"].is_number_integer());
    EXPECT_GE(p["n"].get<int>(), 2);
    EXPECT_LE(p["n"].get<int>(), 9);
    EXPECT_GE(p["w"].get<int>(), 4);
    EXPECT_LE(p["w"].get<int>(), 256);
    EXPECT_TRUE(p["opt"] == "sgd" || p["opt"] == "adam");
    EXPECT_TRUE(p["b"] == 16 || p["b"] == 32);
    history.push_back(Completed(n, p, 0));
  }
  EXPECT_EQ(distinct.size(), 200u);
  // Out of order, with another history: the same answers.
  EXPECT_EQ(*b->Suggest(17, {}), *a->Suggest(17, history));
  spec.seed = 43;
  EXPECT_NE(*Make(spec)->Suggest(17, {}), *a->Suggest(17, {}));
  EXPECT_FALSE(a->Suggest(-2, {}).ok());
}

TEST(MakeSamplerTest, PicksTheMethodAndExplainsBadSpecs) {
  flags::TuneSpec spec = GridSpec();
  spec.space.dims.push_back(Uniform("x", 0, 1));
  Result<std::unique_ptr<Sampler>> s = MakeSampler(spec);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("tune.yaml: method grid needs every search dimension"),
            std::string::npos)
      << s.status().message();

  spec.method = "tpe";
  s = MakeSampler(spec);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("needs an objective"), std::string::npos);

  spec.objective = flags::Objective{"val_acc", true, "last"};
  spec.max_trials = 20;
  s = MakeSampler(spec);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ((*s)->TrialLimit(), 20);

  spec.method = "bayes";
  s = MakeSampler(spec);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("unknown method 'bayes'"), std::string::npos);
}

TEST(MakeSamplerTest, GridFromAParsedSpec) {
  Result<flags::TuneSpec> spec = flags::ParseTuneSpec(
      "command: [train]\n"
      "search:\n"
      "  lr: [0.1, 0.01]\n"
      "  batch: [32, 64]\n"
      "method: grid\n",
      "tune.yaml");
  ASSERT_TRUE(spec.ok()) << spec.status().message();
  std::unique_ptr<Sampler> grid = Make(*spec);
  ASSERT_EQ(grid->TrialLimit(), 4);
  EXPECT_EQ(*grid->Suggest(0, {}), json({{"lr", 0.1}, {"batch", 32}}));
  EXPECT_EQ(*grid->Suggest(1, {}), json({{"lr", 0.1}, {"batch", 64}}));
  EXPECT_EQ(*grid->Suggest(3, {}), json({{"lr", 0.01}, {"batch", 64}}));
}

}  // namespace
}  // namespace orchard::search
