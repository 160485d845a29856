// The Parzen estimators against Optuna 3.1's _ParzenEstimator: the expected
// numbers below were printed by Optuna itself (univariate, prior_weight 1,
// magic clip, no endpoints, default_weights) for the same observations.
// NormalizedDensityMatchesOptuna35 checks the option that adds 1/sigma, the
// fix of optuna/optuna#5109 (Optuna 3.5), against 3.1 with that fix applied.
#include "orchestrator/search/parzen.h"

#include <cmath>
#include <vector>

#include <gtest/gtest.h>

#include "orchestrator/search/normal.h"

namespace orchard::search {
namespace {

void ExpectLogPdf(const NumericParzen& pe, const std::vector<double>& xs,
                  const std::vector<double>& expected) {
  std::vector<double> out(xs.size());
  pe.LogPdf(xs, out);
  for (size_t i = 0; i < xs.size(); ++i) {
    EXPECT_NEAR(out[i], expected[i], 1e-9) << "at x = " << xs[i];
  }
}

TEST(DefaultWeightsTest, FlatUpTo25ThenRampForOldest) {
  EXPECT_EQ(DefaultWeights(0).size(), 0u);
  EXPECT_EQ(DefaultWeights(24), std::vector<double>(24, 1.0));
  std::vector<double> w = DefaultWeights(30);  // linspace(1/30, 1, 5) + 25 ones
  ASSERT_EQ(w.size(), 30u);
  EXPECT_DOUBLE_EQ(w[0], 1.0 / 30);
  EXPECT_DOUBLE_EQ(w[2], 1.0 / 30 + (1 - 1.0 / 30) * 0.5);
  EXPECT_DOUBLE_EQ(w[4], 1.0);
  EXPECT_DOUBLE_EQ(w[29], 1.0);
}

TEST(NumericParzenTest, ContinuousMatchesOptuna) {
  std::vector<double> obs{0.2, 0.9, 0.5, 0.55};
  NumericParzen pe(obs, 0, 1, false);
  ASSERT_EQ(pe.components(), 5u);
  std::vector<double> sigmas{0.3, 0.35, 0.3, 0.35, 1.0};
  for (size_t i = 0; i < 5; ++i) {
    EXPECT_NEAR(pe.sigma(i), sigmas[i], 1e-12) << i;
    EXPECT_NEAR(pe.weight(i), 0.2, 1e-12);
  }
  EXPECT_DOUBLE_EQ(pe.mu(4), 0.5);  // the prior, at the middle
  ExpectLogPdf(pe, {0.0, 0.3, 0.52, 1.0},
               {-1.1265434717566964, -0.7340543717874023, -0.6457099191511962,
                -0.9768781821075246});
}

TEST(NumericParzenTest, DiscreteIntMatchesOptuna) {
  // IntDistribution(0, 8): bins of 1 on [-0.5, 8.5].
  std::vector<double> obs{1, 3, 3, 7};
  NumericParzen pe(obs, -0.5, 8.5, true);
  std::vector<double> sigmas{2.0, 2.0, 1.5, 3.0, 9.0};
  for (size_t i = 0; i < 5; ++i) EXPECT_NEAR(pe.sigma(i), sigmas[i], 1e-12) << i;
  ExpectLogPdf(pe, {0, 3, 5, 8},
               {-2.4065699277626784, -1.8060249291803459, -2.217559760939118,
                -2.816142032128525});
}

TEST(NumericParzenTest, LogFloatAndLogIntMatchOptuna) {
  NumericParzen lf(std::vector<double>{std::log(1e-3), std::log(1e-2), std::log(3e-2)},
                   std::log(1e-4), std::log(1e-1), false);
  EXPECT_NEAR(lf.sigma(0), 1.3815510557964275, 1e-12);
  EXPECT_NEAR(lf.sigma(3), 6.907755278982137, 1e-12);
  ExpectLogPdf(lf, {std::log(1e-4), std::log(5e-3), std::log(1e-1)},
               {-1.36097136370761, -0.779434831161027, -1.0764637162814148});

  // IntDistribution(1, 128, log=True): continuous on [log 0.5, log 128.5].
  NumericParzen li(std::vector<double>{std::log(2), std::log(16), std::log(100)}, std::log(0.5),
                   std::log(128.5), false);
  EXPECT_NEAR(li.sigma(0), 1.3882436813277192, 1e-12);
  EXPECT_NEAR(li.sigma(1), 1.8325814637483098, 1e-12);
  ExpectLogPdf(li, {std::log(1), std::log(16), std::log(128)},
               {-0.9340020610309563, -0.644464717809137, -0.7501138889111355});
}

TEST(NumericParzenTest, ManyObservationsRampWeightsAndMagicClip) {
  std::vector<double> obs;
  for (int i = 0; i < 30; ++i) obs.push_back(std::pow(i / 29.0, 2));
  NumericParzen pe(obs, 0, 1, false);
  EXPECT_NEAR(pe.weight(0), 0.0011661807580174927, 1e-15);
  EXPECT_NEAR(pe.weight(29), 0.034985422740524776, 1e-15);
  EXPECT_NEAR(pe.sigma(0), 0.03125, 1e-15);  // clipped up to range / 32
  EXPECT_NEAR(pe.sigma(13), 0.03210463733650412, 1e-12);
  EXPECT_NEAR(pe.sigma(29), 0.06777645659928666, 1e-12);
  ExpectLogPdf(pe, {0.1, 0.7}, {-2.4391852970522327, -2.6387040039056084});
}

TEST(NumericParzenTest, NormalizedDensityMatchesOptuna35) {
  ParzenOptions normalized;
  normalized.normalize_density = true;
  std::vector<double> obs{0.2, 0.9, 0.5, 0.55};
  ExpectLogPdf(NumericParzen(obs, 0, 1, false, normalized), {0.0, 0.3, 0.52, 1.0},
               {-0.4524979174795932, 0.0713686485629037, 0.16714512671814719,
                -0.29288299204839296});
  ExpectLogPdf(NumericParzen(std::vector<double>{}, -2, 2, false, normalized), {0.0, 1.5},
               {-1.345316560628941, -1.415629060628941});
  // Discrete masses are the same either way.
  std::vector<double> ints{1, 3, 3, 7};
  ExpectLogPdf(NumericParzen(ints, -0.5, 8.5, true, normalized), {0, 8},
               {-2.4065699277626784, -2.816142032128525});
}

TEST(NumericParzenTest, NoObservationsIsThePriorAlone) {
  NumericParzen pe(std::vector<double>{}, -2, 2, false);
  ASSERT_EQ(pe.components(), 1u);
  EXPECT_DOUBLE_EQ(pe.sigma(0), 4.0);
  ExpectLogPdf(pe, {0.0, 1.5}, {0.04097780049094957, -0.029334699509050433});
}

TEST(NumericParzenTest, SamplesStayInBoundsAndFollowTheMixture) {
  std::vector<double> obs{0.1, 0.12, 0.11};
  NumericParzen pe(obs, 0, 10, false);
  Rng rng = Rng::For(1, 2, 3);
  int near = 0;
  for (int i = 0; i < 2000; ++i) {
    double x = pe.Sample(rng);
    ASSERT_GE(x, 0);
    ASSERT_LE(x, 10);
    near += x < 2.5;
  }
  // 3 of 4 components sit at 0.1 with bandwidth 2 (the magic clip: 10 / 5):
  // about 65% of draws land below 2.5 (the prior alone would give 25%).
  EXPECT_GT(near, 1100);
  EXPECT_LT(near, 1500);
}

TEST(CategoricalParzenTest, MatchesOptuna) {
  std::vector<int> obs{0, 2, 2};
  CategoricalParzen pe(obs, 3);
  EXPECT_NEAR(pe.LogPmf(0), -1.0986122886681096, 1e-12);
  EXPECT_NEAR(pe.LogPmf(1), -1.6582280766035324, 1e-12);
  EXPECT_NEAR(pe.LogPmf(2), -0.7419373447293772, 1e-12);
  EXPECT_NEAR(pe.Probability(0) + pe.Probability(1) + pe.Probability(2), 1.0, 1e-12);
}

TEST(NormalTest, QuantileInvertsCdfAndMassStaysFiniteInTails) {
  for (double p : {1e-300, 1e-12, 0.001, 0.02425, 0.3, 0.5, 0.9, 0.999999}) {
    EXPECT_NEAR(NormalCdf(NormalQuantile(p)) / p, 1.0, 1e-12) << p;
  }
  EXPECT_NEAR(NormalQuantile(0.975), 1.959963984540054, 1e-13);
  EXPECT_NEAR(LogNormalMass(-1, 1), std::log(0.6826894921370859), 1e-13);
  double tail = LogNormalMass(30, 31);  // Phi(31) - Phi(30) is ~1e-198
  EXPECT_TRUE(std::isfinite(tail));
  EXPECT_NEAR(tail, -454.32124395634315, 1e-9);
  EXPECT_NEAR(LogNormalMass(-31, -30), tail, 1e-9);
  for (double u : {0.0, 0.25, 0.999999999}) {
    double x = TruncatedNormalDraw(2, 3, u);
    EXPECT_GE(x, 2);
    EXPECT_LE(x, 3);
  }
  EXPECT_NEAR(TruncatedNormalDraw(-1, 1, 0.5), 0.0, 1e-12);
}

}  // namespace
}  // namespace orchard::search
