// TrialRecord: what the samplers and pruners know about one trial of a
// tuning session. The orchestrator builds these from its store; the search
// code never reads the store itself, so every decision is a pure function
// of the records (and the spec's seed).
#pragma once

#include <cstdint>
#include <map>
#include <optional>

#include <nlohmann/json.hpp>

namespace orchard::search {

struct TrialRecord {
  enum class State { kRunning, kCompleted, kPruned, kFailed };

  // The trial's 0-based number in its session; suggestions for trial n are
  // a function of (seed, n, the other records), and ties between equal
  // scores go to the lower number, so numbers must be unique.
  int64_t number = 0;

  // The suggested values, one per search dimension: {"lr": 0.01, ...}.
  // Fixed flags may be present too; samplers read only their dimensions.
  nlohmann::json params = nlohmann::json::object();

  State state = State::kRunning;

  // The objective's score, when the trial completed: the objective metric
  // reduced as the spec says (last or best). A completed trial without a
  // value (it never reported the metric) is treated like a failed one.
  // For a pruned trial it may hold the objective's score so far, but TPE
  // does not use it: a pruned trial is ranked by `intermediate` (see tpe.h).
  std::optional<double> value;

  // The early-stopping metric by step (or epoch, as the spec's
  // early_stopping.unit says): what the pruners compare, and what ranks a
  // pruned trial in TPE.
  std::map<int64_t, double> intermediate;
};

}  // namespace orchard::search
