// TpeSampler: the Tree-structured Parzen Estimator (Bergstra et al. 2011),
// matching Optuna 3.1's default TPESampler: independent sampling per
// dimension, n_startup_trials 10, gamma(n) = min(ceil(0.1 n), 25),
// prior_weight 1, magic clip, no endpoints, 24 EI candidates,
// default_weights (see parzen.h).
//
// For trial n: the scored trials of the history are ranked best first and
// split into the gamma(count) best ("below", l) and the rest ("above", g).
// For each dimension, Parzen estimators are fitted to the two groups' values,
// 24 candidates are drawn from l, and the one maximising
// log l(x) - log g(x) is suggested (the first on ties).
//
// Dimensions: uniform (linear), loguniform (in log space), int (bins of 1
// with bounds widened by 0.5; log ints on the continuous log relaxation of
// [low - 0.5, high + 0.5], then rounded, as Optuna does), choice and list
// (categorical over the listed values).
//
// Which trials count, as in Optuna 3.1 (constant_liar off):
//   - completed with a value: ranked by the value in the objective's goal;
//   - pruned: ranked below every completed trial; among themselves, those
//     pruned later (higher last step) first, then by the early-stopping
//     metric at that step (in early_stopping's goal; NaN last); a pruned
//     trial with no intermediate value comes last. TrialRecord::value is not
//     used for them: only `intermediate` is comparable across pruned trials;
//   - running, failed, and completed without a value: ignored.
// Ties go to the lower trial number. Fewer than 10 counted trials: a random
// draw (flags::DrawRandom). A trial whose value for a dimension is missing or
// outside the space (a changed spec) still counts, but not for that dimension.
//
// Like Optuna 3.1, the continuous densities leave out each component's
// 1/sigma (optuna/optuna#5109, changed in Optuna 3.5): ParzenOptions::
// normalize_density says why that stays the default. Given the same
// history, the suggestions follow 3.1's distribution; only the random stream
// differs.
//
// Deterministic: the random stream for (trial n, dimension d) is
// Rng::For(seed, n, d + 1), so the same records give the same suggestion in
// any order. Cost per suggestion O(n log n + 24 n) per dimension.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "flags/search_space.h"
#include "orchestrator/search/parzen.h"
#include "orchestrator/search/sampler.h"

namespace orchard::search {

struct TpeOptions {
  bool maximize = true;                 // the objective's goal
  bool pruned_maximize = true;          // the early-stopping metric's goal
  int n_startup_trials = 10;
  int n_ei_candidates = 24;
  ParzenOptions parzen;
};

// gamma(n) = min(ceil(0.1 n), 25): how many of n scored trials are "good".
int64_t TpeGamma(int64_t n);

class TpeSampler : public Sampler {
 public:
  TpeSampler(flags::SearchSpace space, int64_t seed, std::optional<int64_t> max_trials,
             TpeOptions options);

  Result<nlohmann::json> Suggest(int64_t trial_number,
                                 const std::vector<TrialRecord>& history) override;
  std::optional<int64_t> TrialLimit() const override { return max_trials_; }

 private:
  // One dimension's suggestion from the split, in the dimension's JSON type.
  nlohmann::json SuggestDimension(size_t d, int64_t trial_number,
                                  const std::vector<const TrialRecord*>& below,
                                  const std::vector<const TrialRecord*>& above);

  flags::SearchSpace space_;
  int64_t seed_;
  std::optional<int64_t> max_trials_;
  TpeOptions options_;
  // Reused between calls to avoid allocation; no state crosses suggestions.
  std::vector<double> below_values_, above_values_, candidates_, log_l_, log_g_;
  std::vector<int> below_choices_, above_choices_;
};

}  // namespace orchard::search
