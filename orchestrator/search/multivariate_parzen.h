// MultivariateParzen: the joint Parzen estimator of multivariate TPE
// (Falkner et al. 2018, BOHB; Optuna 3.1's _ParzenEstimator with
// multivariate=True), over every dimension of a search space at once.
//
// One component per observation plus a prior, with the weights of the
// independent estimators (parzen.h: DefaultWeights over the observations in
// chronological order, prior_weight for the prior, normalised). Component k
// is a product kernel over the dimensions, all centred on observation k:
//   - numeric dimension d (model space, as in parzen.h): a Gaussian
//     truncated to [low_d, high_d] around observation k's value, with one
//     bandwidth for every observation,
//       sigma_d = sigma0_magnitude * max(n, 1)^(-1 / (D + 4)) * (high_d - low_d)
//     (Scott's rule as BOHB and Optuna use it; D counts every modelled
//     dimension, categorical ones included), at most high_d - low_d and,
//     with consider_magic_clip, at least (high_d - low_d) / min(100, n + 2)
//     (Optuna's clip). `discrete`
//     dimensions (linear ints) use the mass of the 1-wide bin around x;
//   - categorical dimension: observation k's smoothed one-hot row (weight 1
//     on its choice, prior_weight / (n + 1) on every choice, normalised).
// The prior component is the middle of each numeric range with bandwidth
// high - low, and the uniform row for each categorical dimension. An
// observation missing in some dimension (a changed spec) takes the prior's
// kernel in that dimension only.
//
// So a draw picks one component and draws every dimension from it: values
// that were good together are proposed together, which the independent
// estimators (one mixture per dimension) cannot do. The log density of a
// point is logsumexp_k(log w_k + sum_d log kernel_kd(x_d)).
//
// The continuous kernels omit 1/sigma like Optuna 3.1's (ParzenOptions::
// normalize_density), which here only changes the prior's weight against the
// observations' (they share one bandwidth). Immutable once built;
// thread-compatible.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include "orchestrator/search/parzen.h"
#include "orchestrator/search/rng.h"

namespace orchard::search {

// One modelled dimension.
struct JointDim {
  bool categorical = false;
  int n_choices = 0;                // categorical: >= 1
  double low = 0, high = 1;         // numeric: model-space bounds, low < high
  bool discrete = false;            // numeric: bins of width 1 (low/high widened by 0.5)
};

// Optuna 3.1's multivariate TPE uses sigma0_magnitude 0.2 with the magic
// clip; Orchard's default is a narrower bandwidth (0.07) without the clip
// (see TpeOptions::joint for why).
struct JointParzenOptions {
  // prior_weight, consider_magic_clip and normalize_density apply as in
  // parzen.h; consider_endpoints does not (the bandwidths are not gaps).
  ParzenOptions parzen{.consider_magic_clip = false};
  // The bandwidth's scale in units of each range (Optuna's SIGMA0_MAGNITUDE).
  double sigma0_magnitude = 0.07;
};

class MultivariateParzen {
 public:
  // columns[d][i]: observation i's value in dimension d (model space for a
  // numeric dimension, the choice index for a categorical one), observations
  // in chronological order; NaN where the observation has no usable value.
  // Every column holds the same number of observations (possibly none).
  MultivariateParzen(std::span<const JointDim> dims,
                     const std::vector<std::vector<double>>& columns,
                     const JointParzenOptions& options = {});

  // A draw into `out` (dims().size() values): numeric in [low, high], still
  // continuous when discrete (round it); categorical as a choice index.
  void Sample(Rng& rng, std::span<double> out) const;

  // The log density of each of `n_points` points stored row by row in
  // `points` (n_points * dims().size() values, numeric in model space,
  // categorical as indices) into out[0, n_points). Cost
  // O(n_points * components * dims).
  void LogPdf(std::span<const double> points, size_t n_points, std::span<double> out) const;

  size_t components() const { return weight_.size(); }
  double weight(size_t k) const { return weight_[k]; }
  // Dimension d's bandwidth for the observations' components (numeric dims).
  double sigma(size_t d) const { return sigma_[d]; }
  // Component k's centre in dimension d (categorical: NaN for the uniform
  // row) and its bandwidth (numeric dims).
  double mu(size_t d, size_t k) const { return mu_[d][k]; }
  double sigma(size_t d, size_t k) const { return 1.0 / inv_sigma_[d][k]; }
  const std::vector<JointDim>& dims() const { return dims_; }

 private:
  std::vector<JointDim> dims_;
  size_t n_;                                 // observations; component n_ is the prior
  std::vector<double> weight_, log_weight_, cumulative_;
  // Per dimension and component: the kernel's centre (numeric: the prior's
  // middle where unobserved; categorical: the choice, NaN for the uniform
  // row), 1 / bandwidth, and the log of its normaliser (1 / mass in
  // [low, high], times 1 / sqrt(2 pi) (/ sigma) for continuous kernels).
  std::vector<std::vector<double>> mu_, inv_sigma_, log_coef_;
  std::vector<double> sigma_;  // [d], the observations' bandwidth (numeric dims)
  // Categorical rows: log of the row's probability off and on the
  // observation's choice, and the uniform row's log 1/K.
  std::vector<double> log_off_, log_on_, log_uniform_;
  double smooth_ = 0;  // prior_weight / (n + 1)
  mutable std::vector<double> acc_, column_, unique_;
};

}  // namespace orchard::search
