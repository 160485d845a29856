// The joint Parzen estimator against Optuna 3.1's _ParzenEstimator with
// multivariate=True: the expected numbers below were printed by Optuna
// itself (prior_weight 1, default_weights, no endpoints) for the same
// observations, with its settings (SIGMA0_MAGNITUDE 0.2, magic clip) and with
// Orchard's (SIGMA0_MAGNITUDE patched to 0.07, and to the earlier 0.1,
// consider_magic_clip False).
#include "orchestrator/search/multivariate_parzen.h"

#include <cmath>
#include <limits>
#include <vector>

#include <gtest/gtest.h>

namespace orchard::search {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// x uniform [0, 10]; y loguniform [1e-3, 1] (log space); n int [0, 5]
// (bins, bounds widened by 0.5); c categorical over 3 choices.
std::vector<JointDim> MixedDims() {
  JointDim x{.low = 0, .high = 10};
  JointDim y{.low = std::log(1e-3), .high = std::log(1.0)};
  JointDim n{.low = -0.5, .high = 5.5, .discrete = true};
  JointDim c{.categorical = true, .n_choices = 3};
  return {x, y, n, c};
}

std::vector<std::vector<double>> MixedObservations() {
  return {{1.0, 2.5, 7.0, 9.5},
          {std::log(0.01), std::log(0.5), std::log(0.002), std::log(0.1)},
          {0, 3, 5, 2},
          {0, 2, 2, 1}};
}

// Three points, row by row, in model space.
std::vector<double> MixedPoints() {
  return {1.2, std::log(0.01),   0, 0,  //
          5.0, std::log(0.3),    4, 1,  //
          9.9, std::log(0.0015), 5, 2};
}

JointParzenOptions OptunaSettings() {
  JointParzenOptions o;
  o.sigma0_magnitude = 0.2;
  o.parzen.consider_magic_clip = true;
  return o;
}

void ExpectLogPdf(const MultivariateParzen& pe, const std::vector<double>& points,
                  const std::vector<double>& expected) {
  std::vector<double> out(expected.size());
  pe.LogPdf(points, expected.size(), out);
  for (size_t i = 0; i < expected.size(); ++i) EXPECT_NEAR(out[i], expected[i], 1e-9) << i;
}

TEST(MultivariateParzenTest, MatchesOptunaMultivariate) {
  std::vector<JointDim> dims = MixedDims();
  MultivariateParzen pe(dims, MixedObservations(), OptunaSettings());
  ASSERT_EQ(pe.components(), 5u);
  for (size_t k = 0; k < 5; ++k) EXPECT_DOUBLE_EQ(pe.weight(k), 0.2);
  // 0.2 * 4^(-1/8) * range, the x range clipped from below to 10 / 6.
  EXPECT_NEAR(pe.sigma(0), 1.6817928305074292, 1e-12);
  EXPECT_NEAR(pe.sigma(1), 1.1617413303092003, 1e-12);
  EXPECT_NEAR(pe.sigma(2), 1.0090756983044575, 1e-12);
  EXPECT_NEAR(pe.sigma(0, 4), 10.0, 1e-12);  // the prior's
  EXPECT_NEAR(pe.mu(0, 4), 5.0, 1e-12);
  ExpectLogPdf(pe, MixedPoints(), {-3.539659043322495, -4.421871318789993, -4.313190955668782});
}

TEST(MultivariateParzenTest, MatchesOptunaWithOrchardsBandwidth) {
  std::vector<JointDim> dims = MixedDims();
  MultivariateParzen pe(dims, MixedObservations());  // the defaults: 0.07, no clip
  // 0.07 * 4^(-1/8) * range, not clipped.
  EXPECT_NEAR(pe.sigma(0), 0.5886274906776002, 1e-12);
  EXPECT_NEAR(pe.sigma(1), 0.40660946560822014, 1e-12);
  EXPECT_NEAR(pe.sigma(2), 0.3531764944065601, 1e-12);
  EXPECT_NEAR(pe.sigma(0, 4), 10.0, 1e-12);  // the prior's stays the range
  ExpectLogPdf(pe, MixedPoints(), {-3.4376516488518334, -4.462251867243164, -4.682051781522403});
}

TEST(MultivariateParzenTest, MatchesOptunaWithOrchardsEarlierBandwidth) {
  std::vector<JointDim> dims = MixedDims();
  JointParzenOptions o;
  o.sigma0_magnitude = 0.1;  // Orchard's default before the 0.07
  MultivariateParzen pe(dims, MixedObservations(), o);
  EXPECT_NEAR(pe.sigma(0), 0.8408964152537146, 1e-12);
  EXPECT_NEAR(pe.sigma(1), 0.5808706651546002, 1e-12);
  EXPECT_NEAR(pe.sigma(2), 0.5045378491522288, 1e-12);
  ExpectLogPdf(pe, MixedPoints(), {-3.4479879691048247, -4.46174398550686, -4.676621908387545});
}

TEST(MultivariateParzenTest, NoObservationsIsThePrior) {
  std::vector<JointDim> dims = MixedDims();
  MultivariateParzen pe(dims, std::vector<std::vector<double>>(4), OptunaSettings());
  ASSERT_EQ(pe.components(), 1u);
  ExpectLogPdf(pe, MixedPoints(), {-2.941288927816767, -2.8528155107295285, -3.072624169725032});
  // With no columns at all, too.
  MultivariateParzen none(dims, {}, OptunaSettings());
  ExpectLogPdf(none, MixedPoints(), {-2.941288927816767, -2.8528155107295285, -3.072624169725032});
}

TEST(MultivariateParzenTest, MissingValuesTakeThePriorsKernel) {
  // One observation, missing in both dimensions: both components are the
  // prior's kernels, so the density is the prior's.
  std::vector<JointDim> dims = {MixedDims()[0], MixedDims()[3]};
  MultivariateParzen missing(dims, {{kNaN}, {kNaN}});
  MultivariateParzen prior(dims, {{}, {}});
  MultivariateParzen outside(dims, {{11.0}, {3}});  // out of range counts as missing
  std::vector<double> points = {0.5, 0, 5.0, 2, 9.0, 1};
  std::vector<double> a(3), b(3), c(3);
  missing.LogPdf(points, 3, a);
  prior.LogPdf(points, 3, b);
  outside.LogPdf(points, 3, c);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_NEAR(a[i], b[i], 1e-12) << i;
    EXPECT_NEAR(c[i], b[i], 1e-12) << i;
  }
  EXPECT_TRUE(std::isnan(missing.mu(1, 0)));
  EXPECT_DOUBLE_EQ(missing.mu(0, 0), 5.0);
}

TEST(MultivariateParzenTest, DrawsKeepTheObservationsCombinations) {
  // Two observations, (x = 1, c = 0) and (x = 9, c = 2): a draw near x = 1
  // nearly always comes with c = 0, and near 9 with c = 2. Independent
  // estimators would pair them at random.
  std::vector<JointDim> dims = {MixedDims()[0], MixedDims()[3]};
  JointParzenOptions o;
  o.parzen.prior_weight = 0.1;
  MultivariateParzen pe(dims, {{1.0, 9.0}, {0, 2}}, o);
  Rng rng(42);
  int low_c0 = 0, low = 0, high_c2 = 0, high = 0;
  std::vector<double> point(2);
  for (int i = 0; i < 4000; ++i) {
    pe.Sample(rng, point);
    ASSERT_GE(point[0], 0);
    ASSERT_LE(point[0], 10);
    ASSERT_TRUE(point[1] == 0 || point[1] == 1 || point[1] == 2) << point[1];
    if (point[0] < 3) ++low, low_c0 += point[1] == 0;
    if (point[0] > 7) ++high, high_c2 += point[1] == 2;
  }
  EXPECT_GT(low, 1500);
  EXPECT_GT(high, 1500);
  EXPECT_GT(low_c0, 0.85 * low);
  EXPECT_GT(high_c2, 0.85 * high);
  // The same stream draws the same points.
  Rng a(7), b(7);
  std::vector<double> pa(2), pb(2);
  for (int i = 0; i < 20; ++i) {
    pe.Sample(a, pa);
    pe.Sample(b, pb);
    EXPECT_EQ(pa, pb);
  }
}

TEST(MultivariateParzenTest, DensityIntegratesToOne) {
  // Over x in [0, 10] (midpoint rule) times the bins of n and the choices.
  std::vector<JointDim> all = MixedDims();
  std::vector<JointDim> dims = {all[0], all[2], all[3]};
  std::vector<std::vector<double>> obs = {{1.0, 2.5, 7.0, 9.5}, {0, 3, 5, 2}, {0, 2, 2, 1}};
  JointParzenOptions o;
  o.parzen.normalize_density = true;  // Optuna 3.1's omits 1/sigma: not a density
  MultivariateParzen pe(dims, obs, o);
  const int steps = 4000;
  std::vector<double> points;
  for (int i = 0; i < steps; ++i) {
    for (int n = 0; n <= 5; ++n) {
      for (int c = 0; c < 3; ++c) {
        points.insert(points.end(), {(i + 0.5) * 10.0 / steps, static_cast<double>(n),
                                     static_cast<double>(c)});
      }
    }
  }
  const size_t count = points.size() / 3;
  std::vector<double> out(count);
  pe.LogPdf(points, count, out);
  double total = 0;
  for (double v : out) total += std::exp(v) * 10.0 / steps;
  EXPECT_NEAR(total, 1.0, 1e-6);
}

}  // namespace
}  // namespace orchard::search
