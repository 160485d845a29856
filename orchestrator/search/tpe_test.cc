#include "orchestrator/search/tpe.h"

#include <algorithm>
#include <cmath>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "orchestrator/search/random_sampler.h"
#include "orchestrator/search/test_spaces.h"

namespace orchard::search {
namespace {

using namespace fixtures;  // NOLINT: the fixture builders
using nlohmann::json;

flags::SearchSpace MixedSpace() {
  flags::SearchSpace s;
  s.dims = {Uniform("x", -2, 3),          LogUniform("lr", 1e-5, 1e-1), Int("layers", 1, 6),
            Int("width", 8, 512, true),   Choice("opt", {"sgd", "adam", "rmsprop"}),
            List("batch", {32, 64, 128})};
  return s;
}

TpeSampler MakeTpe(bool multivariate, flags::SearchSpace space, int64_t seed,
                   bool maximize = false) {
  TpeOptions options;
  options.multivariate = multivariate;
  options.maximize = maximize;
  options.pruned_maximize = maximize;
  return TpeSampler(std::move(space), seed, std::nullopt, options);
}

// A cheap score of the mixed space; lower is better.
double MixedScore(const json& p) {
  double x = p["x"].get<double>();
  double lr = p["lr"].get<double>();
  double s = (x - 1.3) * (x - 1.3) + std::pow(std::log10(lr) + 3, 2) / 4 +
             std::pow((p["layers"].get<int64_t>() - 4) / 2.0, 2) +
             std::pow(std::log2(p["width"].get<double>()) - 7, 2) / 8;
  if (p["opt"] != "adam") s += 0.5;
  if (p["batch"] != 64) s += 0.25;
  return s;
}

// Runs `trials` sequential trials and returns every record.
std::vector<TrialRecord> RunSession(Sampler& sampler, int trials, double (*score)(const json&)) {
  std::vector<TrialRecord> history;
  for (int n = 0; n < trials; ++n) {
    Result<json> p = sampler.Suggest(n, history);
    EXPECT_TRUE(p.ok()) << p.status().message();
    history.push_back(Completed(n, *p, score(*p)));
  }
  return history;
}

// Every behaviour below holds for both models: multivariate (true, the
// default) and independent (false, Optuna 3.1's default sampler).
class TpeTest : public ::testing::TestWithParam<bool> {};

INSTANTIATE_TEST_SUITE_P(Models, TpeTest, ::testing::Values(true, false),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return std::string(info.param ? "Multivariate" : "Independent");
                         });

TEST(TpeGammaTest, GammaIsTenPercentCappedAt25) {
  EXPECT_EQ(TpeGamma(1), 1);
  EXPECT_EQ(TpeGamma(10), 1);
  EXPECT_EQ(TpeGamma(11), 2);
  EXPECT_EQ(TpeGamma(100), 10);
  EXPECT_EQ(TpeGamma(241), 25);
  EXPECT_EQ(TpeGamma(10000), 25);
}

TEST_P(TpeTest, StartupTrialsAreTheRandomDraws) {
  TpeSampler tpe = MakeTpe(GetParam(), MixedSpace(), 7);
  std::vector<TrialRecord> history;
  for (int n = 0; n < 10; ++n) {  // with no history, and with up to 9 scored trials
    Result<json> p = tpe.Suggest(n, history);
    ASSERT_TRUE(p.ok());
    EXPECT_EQ(*p, *RandomPoint(MixedSpace(), 7, n)) << n;
    history.push_back(Completed(n, *p, MixedScore(*p)));
  }
  // Running and failed trials do not count towards the 10.
  TrialRecord running;
  running.number = 10;
  running.params = history[0].params;
  history.push_back(running);
  history[3].state = TrialRecord::State::kFailed;
  EXPECT_EQ(*tpe.Suggest(11, history), *RandomPoint(MixedSpace(), 7, 11));
}

TEST_P(TpeTest, SameRecordsGiveTheSameSuggestionInAnyOrder) {
  TpeSampler a = MakeTpe(GetParam(), MixedSpace(), 11);
  std::vector<TrialRecord> history = RunSession(a, 30, MixedScore);
  json first = *a.Suggest(30, history);

  TpeSampler b = MakeTpe(GetParam(), MixedSpace(), 11);
  std::vector<TrialRecord> shuffled = history;
  std::mt19937 shuffle_rng(3);
  std::shuffle(shuffled.begin(), shuffled.end(), shuffle_rng);
  EXPECT_EQ(*b.Suggest(30, shuffled), first);
  EXPECT_EQ(*a.Suggest(30, history), first);  // asking again changes nothing

  // Another seed, or another trial number, draws differently.
  TpeSampler c = MakeTpe(GetParam(), MixedSpace(), 12);
  EXPECT_NE(*c.Suggest(30, history), first);
  EXPECT_NE(*a.Suggest(31, history), first);

  // A whole session replays identically.
  TpeSampler d = MakeTpe(GetParam(), MixedSpace(), 11);
  std::vector<TrialRecord> replay = RunSession(d, 30, MixedScore);
  for (size_t i = 0; i < replay.size(); ++i) EXPECT_EQ(replay[i].params, history[i].params) << i;
}

TEST_P(TpeTest, SuggestionsRespectEachDimensionsBoundsAndType) {
  TpeSampler tpe = MakeTpe(GetParam(), MixedSpace(), 5);
  std::vector<TrialRecord> history = RunSession(tpe, 80, MixedScore);
  std::set<std::string> opts;
  for (const TrialRecord& t : history) {
    const json& p = t.params;
    ASSERT_TRUE(p["x"].is_number_float());
    EXPECT_GE(p["x"].get<double>(), -2);
    EXPECT_LE(p["x"].get<double>(), 3);
    ASSERT_TRUE(p["lr"].is_number_float());
    EXPECT_GT(p["lr"].get<double>(), 0);
    EXPECT_GE(p["lr"].get<double>(), 1e-5);
    EXPECT_LE(p["lr"].get<double>(), 1e-1);
    ASSERT_TRUE(p["layers"].is_number_integer()) << p;
    EXPECT_GE(p["layers"].get<int64_t>(), 1);
    EXPECT_LE(p["layers"].get<int64_t>(), 6);
    ASSERT_TRUE(p["width"].is_number_integer()) << p;
    EXPECT_GE(p["width"].get<int64_t>(), 8);
    EXPECT_LE(p["width"].get<int64_t>(), 512);
    ASSERT_TRUE(p["opt"].is_string());
    opts.insert(p["opt"].get<std::string>());
    ASSERT_TRUE(p["batch"].is_number_integer());
    EXPECT_TRUE(p["batch"] == 32 || p["batch"] == 64 || p["batch"] == 128) << p;
  }
  for (const std::string& o : opts) EXPECT_TRUE(o == "sgd" || o == "adam" || o == "rmsprop") << o;
  // TPE kept exploring, but found the best optimiser most often after start-up.
  int adam = 0;
  for (size_t i = 10; i < history.size(); ++i) adam += history[i].params["opt"] == "adam";
  EXPECT_GT(adam, 35);
}

TEST_P(TpeTest, NarrowAndDegenerateDimensions) {
  flags::SearchSpace s;
  s.dims = {Int("one", 3, 3), Choice("only", {"x"}), LogUniform("tiny", 1e-12, 1e-11),
            Int("two", 0, 1)};
  TpeSampler tpe = MakeTpe(GetParam(), s, 1);
  std::vector<TrialRecord> history =
      RunSession(tpe, 25, [](const json& p) { return p["tiny"].get<double>() * 1e12 + p["two"].get<double>(); });
  for (const TrialRecord& t : history) {
    EXPECT_EQ(t.params["one"], 3);
    EXPECT_EQ(t.params["only"], "x");
    EXPECT_GE(t.params["tiny"].get<double>(), 1e-12);
    EXPECT_LE(t.params["tiny"].get<double>(), 1e-11);
    EXPECT_TRUE(t.params["two"] == 0 || t.params["two"] == 1);
  }
}

TEST_P(TpeTest, GoalDecidesWhichTrialsAreGood) {
  flags::SearchSpace s;
  s.dims = {Choice("c", {"a", "b"})};
  std::vector<TrialRecord> history;
  for (int n = 0; n < 10; ++n) {  // "a" scores 1, "b" scores 0
    history.push_back(Completed(n, {{"c", n % 2 ? "b" : "a"}}, n % 2 ? 0.0 : 1.0));
  }
  TpeSampler max = MakeTpe(GetParam(), s, 3, /*maximize=*/true);
  TpeSampler min = MakeTpe(GetParam(), s, 3, /*maximize=*/false);
  for (int n = 10; n < 20; ++n) {
    EXPECT_EQ(*max.Suggest(n, history), json({{"c", "a"}})) << n;
    EXPECT_EQ(*min.Suggest(n, history), json({{"c", "b"}})) << n;
  }
}

TEST_P(TpeTest, PrunedTrialsRankBelowCompletedOnes) {
  // Completed trials all chose "a" (scores 0..9, maximised); ten pruned ones
  // chose "b" with far better intermediate values. n = 20, gamma = 2: the
  // good group is the two best completed trials, so "a" is suggested.
  flags::SearchSpace s;
  s.dims = {Choice("c", {"a", "b"})};
  std::vector<TrialRecord> history;
  for (int n = 0; n < 10; ++n) history.push_back(Completed(n, {{"c", "a"}}, n));
  for (int n = 10; n < 20; ++n) history.push_back(Pruned(n, {{"c", "b"}}, {{1, 1000.0}}));
  TpeSampler tpe = MakeTpe(GetParam(), s, 9, /*maximize=*/true);
  for (int n = 20; n < 30; ++n) EXPECT_EQ(*tpe.Suggest(n, history), json({{"c", "a"}})) << n;
}

TEST_P(TpeTest, PrunedTrialsThatRanLongerRankFirst) {
  // Only pruned trials: nine stopped at step 1 with the best values chose
  // "b"; one that reached step 5 with a poor value chose "a". Optuna ranks by
  // (-last step, value): the step-5 trial is the good one.
  flags::SearchSpace s;
  s.dims = {Choice("c", {"a", "b"})};
  std::vector<TrialRecord> history;
  for (int n = 0; n < 9; ++n) history.push_back(Pruned(n, {{"c", "b"}}, {{1, 0.9}}));
  history.push_back(Pruned(9, {{"c", "a"}}, {{1, 0.1}, {5, 0.2}}));
  TpeSampler tpe = MakeTpe(GetParam(), s, 4, /*maximize=*/true);
  for (int n = 10; n < 20; ++n) EXPECT_EQ(*tpe.Suggest(n, history), json({{"c", "a"}})) << n;
}

TEST_P(TpeTest, ConcentratesNearTheBestValues) {
  // Minimise |x - 2| on [0, 10]: after 10 random trials, later suggestions
  // cluster around 2.
  flags::SearchSpace s;
  s.dims = {Uniform("x", 0, 10)};
  TpeSampler tpe = MakeTpe(GetParam(), s, 21);
  std::vector<TrialRecord> history =
      RunSession(tpe, 60, [](const json& p) { return std::abs(p["x"].get<double>() - 2); });
  int near = 0;
  for (size_t i = 30; i < history.size(); ++i) near += std::abs(history[i].params["x"].get<double>() - 2) < 1;
  EXPECT_GE(near, 15);  // random puts 6 of 30 within 1 of 2 on average (sd 2.2)
}

TEST_P(TpeTest, IgnoresValuesOutsideTheSpaceAndMissingParams) {
  flags::SearchSpace s;
  s.dims = {Uniform("x", 0, 1), Choice("c", {"a", "b"})};
  std::vector<TrialRecord> history;
  for (int n = 0; n < 12; ++n) {
    json p = {{"x", n / 12.0}, {"c", "a"}};
    if (n == 3) p = {{"x", 7.5}, {"c", "z"}};  // from an older spec
    if (n == 4) p = json::object();
    if (n == 5) p = {{"x", "text"}, {"c", 1}};
    history.push_back(Completed(n, p, n));
  }
  TpeSampler tpe = MakeTpe(GetParam(), s, 2);
  Result<json> p = tpe.Suggest(12, history);
  ASSERT_TRUE(p.ok());
  EXPECT_GE((*p)["x"].get<double>(), 0);
  EXPECT_LE((*p)["x"].get<double>(), 1);
  EXPECT_TRUE((*p)["c"] == "a" || (*p)["c"] == "b");
  EXPECT_FALSE(tpe.Suggest(-1, history).ok());
}

// The median best over 20 seeds after 40 trials: TPE beats random search on
// the mixed function. Fixed seeds, so the outcome is fixed too.
TEST_P(TpeTest, BeatsRandomSearchOnAMixedFunction) {
  std::vector<double> tpe_best, random_best;
  for (int seed = 0; seed < 20; ++seed) {
    TpeSampler tpe = MakeTpe(GetParam(), MixedSpace(), seed);
    RandomSampler random(MixedSpace(), seed, std::nullopt);
    auto best = [](const std::vector<TrialRecord>& h) {
      double b = INFINITY;
      for (const TrialRecord& t : h) b = std::min(b, *t.value);
      return b;
    };
    tpe_best.push_back(best(RunSession(tpe, 40, MixedScore)));
    random_best.push_back(best(RunSession(random, 40, MixedScore)));
  }
  std::sort(tpe_best.begin(), tpe_best.end());
  std::sort(random_best.begin(), random_best.end());
  double tpe_median = (tpe_best[9] + tpe_best[10]) / 2;
  double random_median = (random_best[9] + random_best[10]) / 2;
  EXPECT_LT(tpe_median, random_median);
  EXPECT_LT(tpe_median, 0.8 * random_median) << "TPE " << tpe_median << " random " << random_median;
}

TEST(TpeDefaultsTest, MultivariateIsTheDefault) {
  TpeOptions options;
  EXPECT_TRUE(options.multivariate);
  EXPECT_EQ(options.n_ei_candidates, 24);  // the independent model's, as Optuna's
  EXPECT_EQ(options.n_joint_candidates, 48);
  EXPECT_EQ(options.joint.sigma0_magnitude, 0.07);
  EXPECT_FALSE(options.joint.parzen.consider_magic_clip);
  EXPECT_TRUE(options.parzen.consider_magic_clip);  // the independent model's, as Optuna's
}

TEST(TpeModelsTest, EachModelScoresItsOwnCandidateCount) {
  // The joint model scores n_joint_candidates, the independent one
  // n_ei_candidates: each count changes its own model's suggestions only.
  TpeSampler reference = MakeTpe(true, MixedSpace(), 5);
  std::vector<TrialRecord> history = RunSession(reference, 30, MixedScore);
  auto suggest = [&](bool multivariate, int joint, int ei) {
    TpeOptions options;
    options.multivariate = multivariate;
    options.maximize = options.pruned_maximize = false;
    options.n_joint_candidates = joint;
    options.n_ei_candidates = ei;
    TpeSampler s(MixedSpace(), 5, std::nullopt, options);
    std::vector<json> out;
    for (int64_t n = 20; n < 30; ++n) {
      std::vector<TrialRecord> h(history.begin(), history.begin() + n);
      out.push_back(*s.Suggest(n, h));
    }
    return out;
  };
  EXPECT_EQ(suggest(true, 48, 24), suggest(true, 48, 1));
  EXPECT_NE(suggest(true, 48, 24), suggest(true, 1, 24));
  EXPECT_EQ(suggest(false, 48, 24), suggest(false, 1, 24));
  EXPECT_NE(suggest(false, 48, 24), suggest(false, 48, 1));
}

TEST(TpeModelsTest, TheTwoModelsDrawDifferently) {
  TpeSampler joint = MakeTpe(true, MixedSpace(), 11);
  std::vector<TrialRecord> history = RunSession(joint, 30, MixedScore);
  TpeSampler independent = MakeTpe(false, MixedSpace(), 11);
  EXPECT_NE(*joint.Suggest(30, history), *independent.Suggest(30, history));
  // The start-up draws are the same random points.
  std::vector<TrialRecord> start(history.begin(), history.begin() + 9);
  EXPECT_EQ(*joint.Suggest(9, start), *independent.Suggest(9, start));
}

}  // namespace
}  // namespace orchard::search
