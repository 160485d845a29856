#include "orchestrator/search/parzen.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <utility>

#include "orchestrator/search/normal.h"

namespace orchard::search {
namespace {

constexpr double kLogSqrt2Pi = 0.91893853320467274178;

// The index i with cumulative[i - 1] <= u * total < cumulative[i].
size_t PickComponent(const std::vector<double>& cumulative, double u) {
  double target = u * cumulative.back();
  auto it = std::upper_bound(cumulative.begin(), cumulative.end(), target);
  size_t i = static_cast<size_t>(it - cumulative.begin());
  return std::min(i, cumulative.size() - 1);
}

}  // namespace

std::vector<double> DefaultWeights(size_t n) {
  std::vector<double> w(n, 1.0);
  if (n < 25) return w;
  // numpy.linspace(1 / n, 1, n - 25), then 25 ones.
  size_t ramp = n - 25;
  double start = 1.0 / static_cast<double>(n);
  for (size_t i = 0; i < ramp; ++i) {
    w[i] = ramp == 1 ? start
                     : start + (1.0 - start) * static_cast<double>(i) / static_cast<double>(ramp - 1);
  }
  return w;
}

NumericParzen::NumericParzen(std::span<const double> observations, double low, double high,
                             bool discrete, const ParzenOptions& options)
    : low_(low), high_(high), discrete_(discrete) {
  const size_t n = observations.size();
  const size_t m = n + 1;  // the prior is always a component
  mu_.assign(observations.begin(), observations.end());
  mu_.push_back(0.5 * (low + high));

  weight_ = DefaultWeights(n);
  weight_.push_back(options.prior_weight);
  double total = std::accumulate(weight_.begin(), weight_.end(), 0.0);
  for (double& w : weight_) w /= total;

  // Bandwidths from the gaps between sorted centres (the prior included).
  // Ties are ordered by index, as a stable sort would.
  std::vector<std::pair<double, size_t>> by_mu(m);
  for (size_t i = 0; i < m; ++i) by_mu[i] = {mu_[i], i};
  std::sort(by_mu.begin(), by_mu.end());
  std::vector<double> sorted(m + 2);
  sorted[0] = low;
  for (size_t i = 0; i < m; ++i) sorted[i + 1] = by_mu[i].first;
  sorted[m + 1] = high;
  sigma_.assign(m, 0.0);
  std::vector<double> sorted_sigma(m);
  for (size_t i = 0; i < m; ++i) {
    sorted_sigma[i] = std::max(sorted[i + 1] - sorted[i], sorted[i + 2] - sorted[i + 1]);
  }
  if (!options.consider_endpoints && m + 2 >= 4) {
    sorted_sigma[0] = sorted[2] - sorted[1];
    sorted_sigma[m - 1] = sorted[m] - sorted[m - 1];
  }
  for (size_t i = 0; i < m; ++i) sigma_[by_mu[i].second] = sorted_sigma[i];

  const double range = high - low;
  const double min_sigma = options.consider_magic_clip
                               ? range / std::min(100.0, 1.0 + static_cast<double>(m))
                               : 1e-12;
  for (double& s : sigma_) s = std::clamp(s, min_sigma, range);
  sigma_[n] = range;  // the prior's

  cumulative_.resize(m);
  std::partial_sum(weight_.begin(), weight_.end(), cumulative_.begin());
  inv_sigma_.resize(m);
  log_coef_.resize(m);
  for (size_t i = 0; i < m; ++i) {
    inv_sigma_[i] = 1.0 / sigma_[i];
    const double za = (low - mu_[i]) * inv_sigma_[i], zb = (high - mu_[i]) * inv_sigma_[i];
    // Both bounds beyond 9 sigma: the mass is 1 - 2e-19 at most, log 0.
    const double log_z = za <= -9 && zb >= 9 ? 0.0 : LogNormalMass(za, zb);
    log_coef_[i] = std::log(weight_[i]) - log_z;
    if (!discrete_) {
      log_coef_[i] -= kLogSqrt2Pi + (options.normalize_density ? std::log(sigma_[i]) : 0.0);
    }
  }
}

double NumericParzen::Sample(Rng& rng) const {
  size_t i = PickComponent(cumulative_, rng.Uniform());
  double a = (low_ - mu_[i]) * inv_sigma_[i];
  double b = (high_ - mu_[i]) * inv_sigma_[i];
  double x = mu_[i] + sigma_[i] * TruncatedNormalDraw(a, b, rng.Uniform());
  return std::clamp(x, low_, high_);
}

void NumericParzen::LogPdf(std::span<const double> xs, std::span<double> out) const {
  // Terms more than kNegligible below the largest add under e^-40 (4e-18)
  // each to the sum: they are skipped, which saves most exp and erfc calls
  // once components are many and narrow. The result moves by < 1e-14.
  constexpr double kNegligible = 40;
  const size_t m = mu_.size();
  scratch_.resize(m);
  double* terms = scratch_.data();
  for (size_t j = 0; j < xs.size(); ++j) {
    const double x = xs[j];
    double best = -std::numeric_limits<double>::infinity();
    if (discrete_) {
      // The bin's mass lies between width * pdf at its far and near edges:
      // bounds that decide, without erfc, which components can matter.
      const double lo = std::max(x - 0.5, low_), hi = std::min(x + 0.5, high_);
      const double log_width = std::log(hi - lo);
      double floor = -std::numeric_limits<double>::infinity();  // max lower bound
      for (size_t i = 0; i < m; ++i) {
        double zl = (lo - mu_[i]) * inv_sigma_[i], zh = (hi - mu_[i]) * inv_sigma_[i];
        double near = zl > 0 ? zl : (zh < 0 ? -zh : 0);
        double far = std::max(std::abs(zl), std::abs(zh));
        double base = log_coef_[i] + log_width + std::log(inv_sigma_[i]) - kLogSqrt2Pi;
        terms[i] = base - 0.5 * near * near;  // upper bound for now
        floor = std::max(floor, base - 0.5 * far * far);
      }
      for (size_t i = 0; i < m; ++i) {
        if (terms[i] < floor - kNegligible) {
          terms[i] = -std::numeric_limits<double>::infinity();
          continue;
        }
        terms[i] = log_coef_[i] + LogNormalMass((lo - mu_[i]) * inv_sigma_[i],
                                                (hi - mu_[i]) * inv_sigma_[i]);
        best = std::max(best, terms[i]);
      }
    } else {
      for (size_t i = 0; i < m; ++i) {
        double z = (x - mu_[i]) * inv_sigma_[i];
        double t = log_coef_[i] - 0.5 * z * z;
        terms[i] = t;
        best = std::max(best, t);
      }
    }
    if (!std::isfinite(best)) {
      out[j] = best;
      continue;
    }
    const double cutoff = best - kNegligible;
    double sum = 0;
    for (size_t i = 0; i < m; ++i) {
      if (terms[i] > cutoff) sum += std::exp(terms[i] - best);
    }
    out[j] = best + std::log(sum);
  }
}

CategoricalParzen::CategoricalParzen(std::span<const int> observations, int n_choices,
                                     const ParzenOptions& options) {
  const size_t n = observations.size();
  const double k = static_cast<double>(n_choices);
  std::vector<double> w = DefaultWeights(n);
  w.push_back(options.prior_weight);
  double total = std::accumulate(w.begin(), w.end(), 0.0);
  // Each observation's row: prior_weight / (n + 1) everywhere, +1 at its
  // choice, normalised to sum 1. The mixture's probabilities in O(n + K).
  const double smooth = options.prior_weight / static_cast<double>(n + 1);
  const double row_sum = 1.0 + k * smooth;
  p_.assign(n_choices, 0.0);
  double spread = 0;  // weight spread evenly over every choice
  for (size_t i = 0; i < n; ++i) {
    double wi = w[i] / total;
    p_[observations[i]] += wi / row_sum;
    spread += wi * smooth / row_sum;
  }
  spread += (w[n] / total) / k;  // the prior row is uniform
  for (double& p : p_) p += spread;
  log_p_.resize(n_choices);
  for (int c = 0; c < n_choices; ++c) log_p_[c] = std::log(p_[c]);
  cumulative_.resize(n_choices);
  std::partial_sum(p_.begin(), p_.end(), cumulative_.begin());
}

int CategoricalParzen::Sample(Rng& rng) const {
  return static_cast<int>(PickComponent(cumulative_, rng.Uniform()));
}

}  // namespace orchard::search
