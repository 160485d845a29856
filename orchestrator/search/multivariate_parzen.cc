#include "orchestrator/search/multivariate_parzen.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

#include "orchestrator/search/normal.h"

namespace orchard::search {
namespace {

constexpr double kLogSqrt2Pi = 0.91893853320467274178;
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

}  // namespace

MultivariateParzen::MultivariateParzen(std::span<const JointDim> dims,
                                       const std::vector<std::vector<double>>& columns,
                                       const JointParzenOptions& options)
    : dims_(dims.begin(), dims.end()), n_(columns.empty() ? 0 : columns[0].size()) {
  const size_t n_dims = dims_.size();
  const size_t m = n_ + 1;
  const ParzenOptions& po = options.parzen;

  weight_ = DefaultWeights(n_);
  weight_.push_back(po.prior_weight);
  const double total = std::accumulate(weight_.begin(), weight_.end(), 0.0);
  for (double& w : weight_) w /= total;
  log_weight_.resize(m);
  for (size_t k = 0; k < m; ++k) log_weight_[k] = std::log(weight_[k]);
  cumulative_.resize(m);
  std::partial_sum(weight_.begin(), weight_.end(), cumulative_.begin());

  // Scott's rule as Optuna applies it, in units of each dimension's range.
  const double sigma0 = options.sigma0_magnitude *
                        std::pow(static_cast<double>(std::max<size_t>(n_, 1)),
                                 -1.0 / (static_cast<double>(n_dims) + 4.0));
  smooth_ = po.prior_weight / static_cast<double>(n_ + 1);

  mu_.assign(n_dims, std::vector<double>(m, kNaN));
  inv_sigma_.assign(n_dims, std::vector<double>(m, 0.0));
  log_coef_.assign(n_dims, std::vector<double>(m, 0.0));
  sigma_.assign(n_dims, 0.0);
  log_on_.assign(n_dims, 0.0);
  log_off_.assign(n_dims, 0.0);
  log_uniform_.assign(n_dims, 0.0);
  for (size_t d = 0; d < n_dims; ++d) {
    const JointDim& dim = dims_[d];
    const std::vector<double>& col = columns[d];
    if (dim.categorical) {
      const double k = static_cast<double>(dim.n_choices);
      const double row_sum = 1.0 + k * smooth_;
      log_on_[d] = std::log((1.0 + smooth_) / row_sum);
      log_off_[d] = std::log(smooth_ / row_sum);
      log_uniform_[d] = -std::log(k);
      for (size_t i = 0; i < n_; ++i) {
        const double c = col[i];
        if (c >= 0 && c < k) mu_[d][i] = std::floor(c);  // else NaN: the uniform row
      }
      continue;
    }
    const double range = dim.high - dim.low;
    const double min_sigma = po.consider_magic_clip
                                 ? range / std::min(100.0, 1.0 + static_cast<double>(m))
                                 : 1e-12;
    const double sigma = std::clamp(sigma0 * range, min_sigma, range);
    sigma_[d] = sigma;
    const double mid = 0.5 * (dim.low + dim.high);
    for (size_t i = 0; i < m; ++i) {
      const double x = i < n_ ? col[i] : kNaN;
      const bool observed = x >= dim.low && x <= dim.high;  // false for NaN
      const double mu = observed ? x : mid;
      const double s = observed ? sigma : range;
      mu_[d][i] = mu;
      inv_sigma_[d][i] = 1.0 / s;
      const double za = (dim.low - mu) / s, zb = (dim.high - mu) / s;
      const double log_z = za <= -9 && zb >= 9 ? 0.0 : LogNormalMass(za, zb);
      double coef = -log_z;
      if (!dim.discrete) coef -= kLogSqrt2Pi + (po.normalize_density ? std::log(s) : 0.0);
      log_coef_[d][i] = coef;
    }
  }
}

void MultivariateParzen::Sample(Rng& rng, std::span<double> out) const {
  const double target = rng.Uniform() * cumulative_.back();
  size_t k = static_cast<size_t>(std::upper_bound(cumulative_.begin(), cumulative_.end(), target) -
                                 cumulative_.begin());
  k = std::min(k, cumulative_.size() - 1);
  for (size_t d = 0; d < dims_.size(); ++d) {
    const JointDim& dim = dims_[d];
    const double u = rng.Uniform();
    if (dim.categorical) {
      const double mu = mu_[d][k];
      const int n_choices = dim.n_choices;
      if (std::isnan(mu)) {
        out[d] = std::min(std::floor(u * n_choices), static_cast<double>(n_choices - 1));
        continue;
      }
      const int obs = static_cast<int>(mu);
      const double row_target = u * (1.0 + n_choices * smooth_);
      double acc = 0;
      int pick = n_choices - 1;
      for (int c = 0; c < n_choices; ++c) {
        acc += smooth_ + (c == obs ? 1.0 : 0.0);
        if (row_target < acc) {
          pick = c;
          break;
        }
      }
      out[d] = pick;
      continue;
    }
    const double mu = mu_[d][k], inv = inv_sigma_[d][k];
    const double a = (dim.low - mu) * inv, b = (dim.high - mu) * inv;
    out[d] = std::clamp(mu + TruncatedNormalDraw(a, b, u) / inv, dim.low, dim.high);
  }
}

void MultivariateParzen::LogPdf(std::span<const double> points, size_t n_points,
                                std::span<double> out) const {
  const size_t n_dims = dims_.size();
  const size_t m = weight_.size();
  acc_.resize(n_points * m);
  for (size_t p = 0; p < n_points; ++p) {
    std::copy(log_weight_.begin(), log_weight_.end(), acc_.begin() + p * m);
  }
  for (size_t d = 0; d < n_dims; ++d) {
    const JointDim& dim = dims_[d];
    const double* mu = mu_[d].data();
    if (dim.categorical) {
      const double on = log_on_[d], off = log_off_[d], uni = log_uniform_[d];
      for (size_t p = 0; p < n_points; ++p) {
        const double x = points[p * n_dims + d];
        double* row = acc_.data() + p * m;
        for (size_t k = 0; k < m; ++k) {
          row[k] += std::isnan(mu[k]) ? uni : (mu[k] == x ? on : off);
        }
      }
      continue;
    }
    const double* inv = inv_sigma_[d].data();
    const double* coef = log_coef_[d].data();
    if (!dim.discrete) {
      for (size_t p = 0; p < n_points; ++p) {
        const double x = points[p * n_dims + d];
        double* row = acc_.data() + p * m;
        for (size_t k = 0; k < m; ++k) {
          const double z = (x - mu[k]) * inv[k];
          row[k] += coef[k] - 0.5 * z * z;
        }
      }
      continue;
    }
    // Bins: the points share few distinct values (integers); the log masses
    // of each distinct value's bin are computed once.
    unique_.resize(n_points);
    for (size_t p = 0; p < n_points; ++p) unique_[p] = points[p * n_dims + d];
    std::sort(unique_.begin(), unique_.end());
    unique_.erase(std::unique(unique_.begin(), unique_.end()), unique_.end());
    column_.resize(unique_.size() * m);
    for (size_t u = 0; u < unique_.size(); ++u) {
      const double lo = std::max(unique_[u] - 0.5, dim.low);
      const double hi = std::min(unique_[u] + 0.5, dim.high);
      double* col = column_.data() + u * m;
      for (size_t k = 0; k < m; ++k) {
        col[k] = coef[k] + LogNormalMass((lo - mu[k]) * inv[k], (hi - mu[k]) * inv[k]);
      }
    }
    for (size_t p = 0; p < n_points; ++p) {
      const double x = points[p * n_dims + d];
      const size_t u = static_cast<size_t>(std::lower_bound(unique_.begin(), unique_.end(), x) -
                                           unique_.begin());
      const double* col = column_.data() + u * m;
      double* row = acc_.data() + p * m;
      for (size_t k = 0; k < m; ++k) row[k] += col[k];
    }
  }
  for (size_t p = 0; p < n_points; ++p) {
    const double* row = acc_.data() + p * m;
    const double best = *std::max_element(row, row + m);
    if (!std::isfinite(best)) {
      out[p] = best;
      continue;
    }
    // Terms 40 below the largest add under e^-40 each: skipped.
    const double cutoff = best - 40.0;
    double sum = 0;
    for (size_t k = 0; k < m; ++k) {
      if (row[k] > cutoff) sum += std::exp(row[k] - best);
    }
    out[p] = best + std::log(sum);
  }
}

}  // namespace orchard::search
