// Pruner: decides whether a running trial should stop early (the
// orchestrator then sends it SIGTERM and records it as pruned).
//
// Asked each time a trial reports the early-stopping metric; the decision is
// a pure function of the records passed in (no clock, no state kept between
// calls), so replaying the same records gives the same decisions. Values are
// TrialRecord::intermediate: the early-stopping metric by step or epoch
// (early_stopping.unit). Not thread-safe: one caller at a time.
//
//   asha    asynchronous successive halving (asha.h)
//   median  the median stopping rule (median.h)
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "flags/status.h"
#include "flags/tune_spec.h"
#include "orchestrator/search/trial.h"

namespace orchard::search {

class Pruner {
 public:
  virtual ~Pruner() = default;

  // True when `trial` should be stopped now. `t` is the step (or epoch) it
  // has just reported; trial.intermediate holds its values up to t. `all` is
  // every trial of the session in any order, and may include `trial` itself
  // (matched by number, and then ignored in favour of `trial`).
  virtual bool ShouldPrune(const TrialRecord& trial, int64_t t,
                           const std::vector<TrialRecord>& all) = 0;
};

// The pruner early_stopping.method names: nullptr when it is "" (no early
// stopping). Fails with InvalidArgument for an unknown method or a setting
// out of range (asha: grace >= 1, reduction > 1, max_t 0 or >= grace;
// median: grace >= 0, min_trials >= 1).
Result<std::unique_ptr<Pruner>> MakePruner(const flags::EarlyStopping& early_stopping);

}  // namespace orchard::search
