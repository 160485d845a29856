// The one-dimensional Parzen estimators of TPE, as Optuna 3.1's
// _ParzenEstimator builds them for independent sampling (univariate,
// consider_prior, consider_magic_clip, no endpoints).
//
// NumericParzen is a mixture of Gaussians truncated to [low, high], one per
// observation plus a wide prior, in the model's space (log space for log
// dimensions). Each observation's bandwidth is the larger gap to its sorted
// neighbours (the outermost use their inner gap), clipped to
// [(high - low) / min(100, components), high - low]; the prior sits at the
// middle with bandwidth high - low. With `discrete`, the density of x is the
// mass of the 1-wide bin around it (integers; low/high are then the
// integer bounds widened by 0.5, as Optuna does).
//
// CategoricalParzen is a mixture of smoothed one-hot rows: observation k
// puts weight 1 on its choice and prior_weight / (n + 1) on every choice;
// the prior row is uniform.
//
// The continuous log density follows Optuna 3.1 exactly, including its
// omission of the components' 1/sigma (see ParzenOptions::normalize_density).
//
// Component weights are Optuna's default_weights over the observations in
// chronological order (1 each for up to 25; beyond that the oldest ramp up
// linearly from 1/n) plus prior_weight, normalised. Immutable once built;
// thread-compatible.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include "orchestrator/search/rng.h"

namespace orchard::search {

struct ParzenOptions {
  double prior_weight = 1.0;
  bool consider_magic_clip = true;
  bool consider_endpoints = false;
  // Whether a continuous component's density carries its 1/sigma. Optuna
  // 3.1 omits it (optuna/optuna#5109; Optuna 3.5 added it), which weights
  // each component by its bandwidth: wide components count for more. Off by
  // default, like 3.1: the sampler then draws exactly 3.1's distribution, and
  // on tests/bench/search_quality's functions (100 seeds) it found better
  // values than the normalised form (Mann-Whitney p < 0.05 on two of three).
  bool normalize_density = false;
};

// Optuna's default_weights(n): n weights, oldest first.
std::vector<double> DefaultWeights(size_t n);

class NumericParzen {
 public:
  // `observations` in chronological order, each within [low, high], low < high.
  NumericParzen(std::span<const double> observations, double low, double high, bool discrete,
                const ParzenOptions& options = {});

  // A draw in [low, high] (continuous even when discrete: round it).
  double Sample(Rng& rng) const;

  // log density (or, when discrete, log bin mass) at each x; `out` has
  // xs.size() elements. Cost O(xs.size() * components).
  void LogPdf(std::span<const double> xs, std::span<double> out) const;

  size_t components() const { return mu_.size(); }
  double mu(size_t i) const { return mu_[i]; }
  double sigma(size_t i) const { return sigma_[i]; }
  double weight(size_t i) const { return weight_[i]; }

 private:
  double low_, high_;
  bool discrete_;
  std::vector<double> mu_, sigma_, weight_;
  std::vector<double> cumulative_;  // running sum of weight_, for sampling
  std::vector<double> inv_sigma_;
  std::vector<double> log_coef_;  // log weight - log Z (- log sigma sqrt(2 pi) if continuous)
  mutable std::vector<double> scratch_;
};

class CategoricalParzen {
 public:
  // `observations` are choice indices in [0, n_choices), chronological.
  CategoricalParzen(std::span<const int> observations, int n_choices,
                    const ParzenOptions& options = {});

  int Sample(Rng& rng) const;
  double LogPmf(int choice) const { return log_p_[choice]; }
  double Probability(int choice) const { return p_[choice]; }

 private:
  std::vector<double> p_, log_p_, cumulative_;
};

}  // namespace orchard::search
