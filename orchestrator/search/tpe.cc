#include "orchestrator/search/tpe.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <span>
#include <string>
#include <utility>

#include "orchestrator/search/multivariate_parzen.h"
#include "orchestrator/search/random_sampler.h"

namespace orchard::search {
namespace {

using Kind = flags::Dimension::Kind;

bool IsCategorical(const flags::Dimension& dim) {
  return dim.kind == Kind::kChoice || dim.kind == Kind::kList;
}

// A trial's place in the ranking: lexicographic (primary, loss), lower is
// better, as Optuna's (-step, loss) pairs with -inf for completed trials.
struct Scored {
  double primary;
  double loss;
  const TrialRecord* trial;
};

// How a numeric dimension is modelled: the model-space bounds, and the maps
// between a model-space draw and the value a trainer receives.
struct NumericModel {
  double low, high;  // model space
  bool discrete;     // bins of width 1 (linear ints)
};

NumericModel ModelOf(const flags::Dimension& dim) {
  switch (dim.kind) {
    case Kind::kLogUniform: return {std::log(dim.low), std::log(dim.high), false};
    case Kind::kInt:
      if (dim.log) {
        return {std::log(std::max(dim.low - 0.5, 0.5 * dim.low)), std::log(dim.high + 0.5), false};
      }
      return {dim.low - 0.5, dim.high + 0.5, true};
    default: return {dim.low, dim.high, false};
  }
}

// The trainer-facing value of a model-space draw, and its model-space form
// again (rounded for ints) so that l and g are compared where it lands.
std::pair<double, double> Realise(const flags::Dimension& dim, double s) {
  switch (dim.kind) {
    case Kind::kLogUniform: {
      double v = std::clamp(std::exp(s), dim.low, dim.high);
      return {v, std::log(v)};
    }
    case Kind::kInt: {
      if (dim.log) {
        double v = std::clamp(std::nearbyint(std::exp(s)), dim.low, dim.high);
        return {v, std::log(v)};
      }
      double v = std::clamp(std::nearbyint(s - dim.low) + dim.low, dim.low, dim.high);
      return {v, v};
    }
    default: {
      double v = std::clamp(s, dim.low, dim.high);
      return {v, v};
    }
  }
}

// A recorded value of a numeric dimension in model space, or nullopt when
// it is missing or outside the space.
std::optional<double> Observe(const flags::Dimension& dim, const nlohmann::json& params) {
  auto it = params.find(dim.name);
  if (it == params.end() || !it->is_number()) return std::nullopt;
  double v = it->get<double>();
  if (!(v >= dim.low && v <= dim.high)) return std::nullopt;  // NaN too
  if (dim.kind == Kind::kLogUniform || (dim.kind == Kind::kInt && dim.log)) return std::log(v);
  return v;
}

std::optional<int> ObserveChoice(const flags::Dimension& dim, const nlohmann::json& params) {
  auto it = params.find(dim.name);
  if (it == params.end()) return std::nullopt;
  for (size_t k = 0; k < dim.values.size(); ++k) {
    if (dim.values[k] == *it) return static_cast<int>(k);
  }
  return std::nullopt;
}

}  // namespace

int64_t TpeGamma(int64_t n) {
  return std::min<int64_t>((n + 9) / 10, 25);  // min(ceil(0.1 n), 25)
}

TpeSampler::TpeSampler(flags::SearchSpace space, int64_t seed, std::optional<int64_t> max_trials,
                       TpeOptions options)
    : space_(std::move(space)), seed_(seed), max_trials_(max_trials), options_(options) {}

Result<nlohmann::json> TpeSampler::Suggest(int64_t trial_number,
                                           const std::vector<TrialRecord>& history) {
  if (trial_number < 0) {
    return Status::InvalidArgument("trial number must be >= 0, got " + std::to_string(trial_number));
  }
  constexpr double kInf = std::numeric_limits<double>::infinity();
  std::vector<Scored> scored;
  scored.reserve(history.size());
  for (const TrialRecord& t : history) {
    if (t.state == TrialRecord::State::kCompleted) {
      if (!t.value || std::isnan(*t.value)) continue;
      scored.push_back({-kInf, options_.maximize ? -*t.value : *t.value, &t});
    } else if (t.state == TrialRecord::State::kPruned) {
      if (t.intermediate.empty()) {
        scored.push_back({1.0, 0.0, &t});
        continue;
      }
      auto [step, v] = *t.intermediate.rbegin();
      double loss = std::isnan(v) ? kInf : (options_.pruned_maximize ? -v : v);
      scored.push_back({-static_cast<double>(step), loss, &t});
    }
  }
  const int64_t n = static_cast<int64_t>(scored.size());
  if (n < options_.n_startup_trials) return RandomPoint(space_, seed_, trial_number);

  // The gamma best (a total order: ties go to the lower number) form the
  // good group; both groups keep chronological order. O(n), no full sort.
  auto better = [](const Scored& a, const Scored& b) {
    if (a.primary != b.primary) return a.primary < b.primary;
    if (a.loss != b.loss) return a.loss < b.loss;
    return a.trial->number < b.trial->number;
  };
  auto by_number = [](const Scored& a, const Scored& b) { return a.trial->number < b.trial->number; };
  if (!std::is_sorted(scored.begin(), scored.end(), by_number)) {
    std::sort(scored.begin(), scored.end(), by_number);
  }
  const size_t n_below = static_cast<size_t>(TpeGamma(n));
  std::vector<Scored> ranked = scored;
  std::nth_element(ranked.begin(), ranked.begin() + (n_below - 1), ranked.end(), better);
  const Scored last_good = ranked[n_below - 1];
  std::vector<const TrialRecord*> below, above;
  below.reserve(n_below);
  above.reserve(scored.size() - n_below);
  for (const Scored& s : scored) {
    (better(last_good, s) ? above : below).push_back(s.trial);
  }

  if (options_.multivariate) return SuggestJoint(trial_number, below, above);
  nlohmann::json out = nlohmann::json::object();
  for (size_t d = 0; d < space_.dims.size(); ++d) {
    out[space_.dims[d].name] = SuggestDimension(d, trial_number, below, above);
  }
  return out;
}

nlohmann::json TpeSampler::SuggestDimension(size_t d, int64_t trial_number,
                                            const std::vector<const TrialRecord*>& below,
                                            const std::vector<const TrialRecord*>& above) {
  const flags::Dimension& dim = space_.dims[d];
  Rng rng = Rng::For(seed_, trial_number, d + 1);
  const int n_candidates = std::max(1, options_.n_ei_candidates);

  if (IsCategorical(dim)) {
    if (dim.values.size() <= 1) return dim.values.empty() ? nlohmann::json() : dim.values[0];
    below_choices_.clear();
    above_choices_.clear();
    for (const TrialRecord* t : below) {
      if (auto k = ObserveChoice(dim, t->params)) below_choices_.push_back(*k);
    }
    for (const TrialRecord* t : above) {
      if (auto k = ObserveChoice(dim, t->params)) above_choices_.push_back(*k);
    }
    const int n_choices = static_cast<int>(dim.values.size());
    CategoricalParzen l(below_choices_, n_choices, options_.parzen);
    CategoricalParzen g(above_choices_, n_choices, options_.parzen);
    int best = -1;
    double best_score = -std::numeric_limits<double>::infinity();
    for (int c = 0; c < n_candidates; ++c) {
      int k = l.Sample(rng);
      double score = l.LogPmf(k) - g.LogPmf(k);
      if (best < 0 || score > best_score) best = k, best_score = score;
    }
    return dim.values[best];
  }

  const NumericModel model = ModelOf(dim);
  if (!(model.low < model.high)) {  // a one-value range
    return dim.kind == Kind::kInt ? nlohmann::json(static_cast<int64_t>(dim.low))
                                  : nlohmann::json(dim.low);
  }
  below_values_.clear();
  above_values_.clear();
  for (const TrialRecord* t : below) {
    if (auto x = Observe(dim, t->params)) below_values_.push_back(*x);
  }
  for (const TrialRecord* t : above) {
    if (auto x = Observe(dim, t->params)) above_values_.push_back(*x);
  }
  NumericParzen l(below_values_, model.low, model.high, model.discrete, options_.parzen);
  NumericParzen g(above_values_, model.low, model.high, model.discrete, options_.parzen);

  std::vector<double> values(n_candidates);
  candidates_.resize(n_candidates);
  for (int c = 0; c < n_candidates; ++c) {
    auto [v, x] = Realise(dim, l.Sample(rng));
    values[c] = v;
    candidates_[c] = x;
  }
  // Candidates repeat often (ints above all): score each distinct one once.
  std::vector<double> unique = candidates_;
  std::sort(unique.begin(), unique.end());
  unique.erase(std::unique(unique.begin(), unique.end()), unique.end());
  log_l_.resize(unique.size());
  log_g_.resize(unique.size());
  l.LogPdf(unique, log_l_);
  g.LogPdf(unique, log_g_);
  int best = 0;
  double best_score = -std::numeric_limits<double>::infinity();
  for (int c = 0; c < n_candidates; ++c) {
    size_t u = static_cast<size_t>(std::lower_bound(unique.begin(), unique.end(), candidates_[c]) -
                                   unique.begin());
    double score = log_l_[u] - log_g_[u];
    if (c == 0 || score > best_score) best = c, best_score = score;
  }
  if (dim.kind == Kind::kInt) return static_cast<int64_t>(values[best]);
  return values[best];
}

nlohmann::json TpeSampler::SuggestJoint(int64_t trial_number,
                                        const std::vector<const TrialRecord*>& below,
                                        const std::vector<const TrialRecord*>& above) {
  nlohmann::json out = nlohmann::json::object();
  // Dimensions with one possible value are set, not modelled.
  std::vector<size_t> modelled;
  std::vector<JointDim> dims;
  for (size_t d = 0; d < space_.dims.size(); ++d) {
    const flags::Dimension& dim = space_.dims[d];
    if (IsCategorical(dim)) {
      if (dim.values.size() <= 1) {
        out[dim.name] = dim.values.empty() ? nlohmann::json() : dim.values[0];
        continue;
      }
      JointDim j;
      j.categorical = true;
      j.n_choices = static_cast<int>(dim.values.size());
      dims.push_back(j);
    } else {
      const NumericModel model = ModelOf(dim);
      if (!(model.low < model.high)) {
        out[dim.name] = dim.kind == Kind::kInt ? nlohmann::json(static_cast<int64_t>(dim.low))
                                               : nlohmann::json(dim.low);
        continue;
      }
      JointDim j;
      j.low = model.low;
      j.high = model.high;
      j.discrete = model.discrete;
      dims.push_back(j);
    }
    modelled.push_back(d);
  }
  if (modelled.empty()) return out;

  constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
  auto columns_of = [&](const std::vector<const TrialRecord*>& group) {
    std::vector<std::vector<double>> columns(modelled.size(),
                                             std::vector<double>(group.size(), kNaN));
    for (size_t j = 0; j < modelled.size(); ++j) {
      const flags::Dimension& dim = space_.dims[modelled[j]];
      for (size_t i = 0; i < group.size(); ++i) {
        if (dims[j].categorical) {
          if (auto k = ObserveChoice(dim, group[i]->params)) columns[j][i] = *k;
        } else if (auto x = Observe(dim, group[i]->params)) {
          columns[j][i] = *x;
        }
      }
    }
    return columns;
  };
  MultivariateParzen l(dims, columns_of(below), options_.joint);
  MultivariateParzen g(dims, columns_of(above), options_.joint);

  // Candidates drawn jointly from l, realised (ints rounded) and scored
  // where they land, in model space; the trainer-facing values kept aside.
  Rng rng = Rng::For(seed_, trial_number, 0);
  const size_t n_candidates = static_cast<size_t>(std::max(1, options_.n_joint_candidates));
  const size_t width = dims.size();
  candidates_.resize(n_candidates * width);
  std::vector<double> values(n_candidates * width);
  for (size_t c = 0; c < n_candidates; ++c) {
    std::span<double> point(candidates_.data() + c * width, width);
    l.Sample(rng, point);
    for (size_t j = 0; j < width; ++j) {
      if (dims[j].categorical) {
        values[c * width + j] = point[j];
        continue;
      }
      auto [v, x] = Realise(space_.dims[modelled[j]], point[j]);
      values[c * width + j] = v;
      point[j] = x;
    }
  }
  log_l_.resize(n_candidates);
  log_g_.resize(n_candidates);
  l.LogPdf(candidates_, n_candidates, log_l_);
  g.LogPdf(candidates_, n_candidates, log_g_);
  size_t best = 0;
  double best_score = -std::numeric_limits<double>::infinity();
  for (size_t c = 0; c < n_candidates; ++c) {
    double score = log_l_[c] - log_g_[c];
    if (c == 0 || score > best_score) best = c, best_score = score;
  }
  for (size_t j = 0; j < width; ++j) {
    const flags::Dimension& dim = space_.dims[modelled[j]];
    const double v = values[best * width + j];
    if (dims[j].categorical) {
      out[dim.name] = dim.values[static_cast<size_t>(v)];
    } else if (dim.kind == Kind::kInt) {
      out[dim.name] = static_cast<int64_t>(v);
    } else {
      out[dim.name] = v;
    }
  }
  return out;
}

}  // namespace orchard::search
