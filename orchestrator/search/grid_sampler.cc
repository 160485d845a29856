#include "orchestrator/search/grid_sampler.h"

#include <string>
#include <utility>

#include "flags/expand.h"

namespace orchard::search {

GridSampler::GridSampler(flags::TuneSpec spec)
    : spec_(std::move(spec)), limit_(static_cast<int64_t>(flags::GridTrialCount(spec_))) {}

Result<nlohmann::json> GridSampler::Suggest(int64_t trial_number,
                                            const std::vector<TrialRecord>& /*history*/) {
  if (trial_number < 0 || trial_number >= limit_) {
    return Status::InvalidArgument("trial " + std::to_string(trial_number) +
                                   " is outside the grid's " + std::to_string(limit_) + " trials");
  }
  return flags::GridTrial(spec_, static_cast<uint64_t>(trial_number));
}

}  // namespace orchard::search
