// RandomSampler: independent draws from the search space, one per trial
// number: flags::DrawRandom(space, seed, trial_number), so trial n's values
// depend only on (seed, n) and not on the history or on which trials ran.
#pragma once

#include <cstdint>
#include <optional>

#include "flags/search_space.h"
#include "orchestrator/search/sampler.h"

namespace orchard::search {

// The random draw for trial `trial_number`; TPE's start-up trials use it too.
Result<nlohmann::json> RandomPoint(const flags::SearchSpace& space, int64_t seed,
                                   int64_t trial_number);

class RandomSampler : public Sampler {
 public:
  RandomSampler(flags::SearchSpace space, int64_t seed, std::optional<int64_t> max_trials)
      : space_(std::move(space)), seed_(seed), max_trials_(max_trials) {}

  Result<nlohmann::json> Suggest(int64_t trial_number,
                                 const std::vector<TrialRecord>& history) override;
  std::optional<int64_t> TrialLimit() const override { return max_trials_; }

 private:
  flags::SearchSpace space_;
  int64_t seed_;
  std::optional<int64_t> max_trials_;
};

}  // namespace orchard::search
