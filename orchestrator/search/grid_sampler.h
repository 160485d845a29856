// GridSampler: the grid of a spec whose dimensions are all lists, in
// flags::GridTrial's order: every combination, or with `sample` a fixed,
// seeded subset (flags::GridPermutation). Trial n is the same combination
// whatever the history; TrialLimit is flags::GridTrialCount, capped by
// max_trials.
#pragma once

#include <cstdint>
#include <optional>

#include "flags/tune_spec.h"
#include "orchestrator/search/sampler.h"

namespace orchard::search {

class GridSampler : public Sampler {
 public:
  // REQUIRES: spec.method == "grid" and a valid grid (MakeSampler checks).
  explicit GridSampler(flags::TuneSpec spec);

  Result<nlohmann::json> Suggest(int64_t trial_number,
                                 const std::vector<TrialRecord>& history) override;
  std::optional<int64_t> TrialLimit() const override { return limit_; }

 private:
  flags::TuneSpec spec_;
  int64_t limit_;
};

}  // namespace orchard::search
