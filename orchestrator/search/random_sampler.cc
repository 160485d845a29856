#include "orchestrator/search/random_sampler.h"

#include <string>

#include "flags/expand.h"

namespace orchard::search {

Result<nlohmann::json> RandomPoint(const flags::SearchSpace& space, int64_t seed,
                                   int64_t trial_number) {
  if (trial_number < 0) {
    return Status::InvalidArgument("trial number must be >= 0, got " + std::to_string(trial_number));
  }
  return flags::DrawRandom(space, static_cast<uint64_t>(seed), static_cast<uint64_t>(trial_number));
}

Result<nlohmann::json> RandomSampler::Suggest(int64_t trial_number,
                                              const std::vector<TrialRecord>& /*history*/) {
  return RandomPoint(space_, seed_, trial_number);
}

}  // namespace orchard::search
