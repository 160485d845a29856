// AshaPruner: asynchronous successive halving (Li et al., "A System for
// Massively Parallel Hyperparameter Tuning", 2018), deciding as Optuna 3.1's
// SuccessiveHalvingPruner does.
//
// Rungs sit at grace * eta^k steps (rounded down, strictly increasing); with
// max_t > 0 they are capped at max_t, the budget: a trial that reaches it
// completes, so no decision is taken at max_t or after it. A trial is judged at rung r when it reports its first step
// >= r; its value there is compared with the values every other trial had at
// its own first step >= r (any state: a trial pruned at r still counts at r;
// NaN counts as the worst). With the trial's own value included, let
// k = floor(count / eta), at least 1: the trial continues iff its value is at
// least as good as the k-th best, else it is pruned. So the first trials at a
// rung continue only while they are the best there (Optuna's rule, since a
// trial cannot be paused to wait for more). A NaN value is pruned. Crossing
// several rungs in one report judges each in turn.
#pragma once

#include <cstdint>
#include <vector>

#include "orchestrator/search/pruner.h"

namespace orchard::search {

class AshaPruner : public Pruner {
 public:
  // REQUIRES: grace >= 1, reduction > 1, max_t == 0 || max_t >= grace.
  AshaPruner(int64_t grace, double reduction, int64_t max_t, bool maximize);

  bool ShouldPrune(const TrialRecord& trial, int64_t t,
                   const std::vector<TrialRecord>& all) override;

  // The rungs up to and including `up_to`, ascending.
  std::vector<int64_t> Rungs(int64_t up_to) const;

 private:
  // Whether a value at rung r keeps the trial numbered `self` running.
  bool Promotable(double value, int64_t rung, int64_t self,
                  const std::vector<TrialRecord>& all) const;

  int64_t grace_;
  double reduction_;
  int64_t max_t_;
  bool maximize_;
};

}  // namespace orchard::search
