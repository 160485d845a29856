// MedianPruner: the median stopping rule (Golovin et al., "Google Vizier",
// 2017), as Optuna's MedianPruner and Ray Tune's MedianStoppingRule apply it.
//
// At a step t >= grace, a trial is pruned when its best value so far (steps
// <= t, in the metric's goal) is worse than the median of the other trials'
// values at t. The others are the completed and running trials that have
// reported a step >= t; each contributes its value at the latest step <= t
// (so trials reporting at different cadences still compare), NaN skipped. With
// fewer than min_trials such trials nothing is pruned. Even counts use the
// mean of the two middle values. A trial whose values so far are all NaN is
// pruned once enough others exist.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "orchestrator/search/pruner.h"

namespace orchard::search {

class MedianPruner : public Pruner {
 public:
  // REQUIRES: grace >= 0, min_trials >= 1.
  MedianPruner(int64_t grace, int64_t min_trials, bool maximize)
      : grace_(grace), min_trials_(min_trials), maximize_(maximize) {}

  bool ShouldPrune(const TrialRecord& trial, int64_t t,
                   const std::vector<TrialRecord>& all) override;

  // The median the trial is compared with at t, or nullopt when fewer than
  // min_trials others qualify.
  std::optional<double> MedianAt(int64_t t, int64_t self, const std::vector<TrialRecord>& all) const;

 private:
  int64_t grace_;
  int64_t min_trials_;
  bool maximize_;
};

}  // namespace orchard::search
