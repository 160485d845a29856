// Sampler: proposes the flag values of the next trial of a tuning session.
//
// A sampler is built from the session's TuneSpec and asked once per trial
// number. Its answer is a function of the spec (seed included), the trial
// number and the records passed in, nothing else (no clock, no I/O), so a
// resumed session asks again and gets the same suggestions. The scheduler
// owns the records; a sampler keeps no references to them. Implementations
// are not thread-safe: one thread asks at a time.
//
//   grid    every combination of the list dimensions, in flags::GridTrial's
//           order (a sampled, permuted subset when the spec has `sample`);
//           ignores the history.
//   random  flags::DrawRandom(space, seed, trial_number); ignores the history.
//   tpe     Tree-structured Parzen Estimator (tpe.h); random for its first
//           10 scored trials.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include <nlohmann/json.hpp>

#include "flags/status.h"
#include "flags/tune_spec.h"
#include "orchestrator/search/trial.h"

namespace orchard::search {

class Sampler {
 public:
  virtual ~Sampler() = default;

  // The values of the search dimensions for trial `trial_number` (0-based):
  // a JSON object {dimension name: value}. Fixed flags are not included.
  // `history` holds the session's other trials in any order (running,
  // completed, pruned, failed); it may be empty. Fails with
  // InvalidArgument when trial_number is out of range (negative, or beyond
  // a grid).
  virtual Result<nlohmann::json> Suggest(int64_t trial_number,
                                         const std::vector<TrialRecord>& history) = 0;

  // How many trials the session runs: a grid's size (or its sample, capped
  // by max_trials), else max_trials; nullopt when unbounded.
  virtual std::optional<int64_t> TrialLimit() const = 0;
};

// The sampler the spec's `method` names. Fails with InvalidArgument, naming
// the spec's file, when the method is unknown, when a grid's space is not all
// lists, or when tpe has no objective.
Result<std::unique_ptr<Sampler>> MakeSampler(const flags::TuneSpec& spec);

}  // namespace orchard::search
