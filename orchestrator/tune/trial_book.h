// TrialBook: a tuning session's trials as the sampler and the pruner see
// them, shared between the scheduler and the threads running trials.
//
// Trial threads feed it the points their trainer reports; the early-stopping
// metric's values become TrialRecord::intermediate (keyed by epoch or step,
// as the spec says), and the pruner is asked after each new value. The
// pruner and sampler are not thread-safe: every call to them happens under
// this book's lock. Thread-safe.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "flags/tune_spec.h"
#include "orchestrator/search/pruner.h"
#include "orchestrator/search/sampler.h"
#include "orchestrator/store/types.h"

namespace orchard::tune {

class TrialBook {
 public:
  // pruner may be null (no early stopping).
  TrialBook(const flags::TuneSpec& spec, search::Pruner* pruner);

  // Adds or replaces the record with this number.
  void Put(search::TrialRecord record);
  // A running trial reported points; returns why it should be pruned, or
  // nullopt to let it go on.
  std::optional<std::string> OnMetrics(int64_t number,
                                       const std::vector<store::MetricPoint>& points);
  void Finish(int64_t number, search::TrialRecord::State state, std::optional<double> value);
  // Asks the sampler for trial `number`, with every record as history.
  Result<nlohmann::json> Suggest(search::Sampler& sampler, int64_t number);

  std::vector<search::TrialRecord> Records() const;
  // The completed trial with the best value (ties: the lower number).
  std::optional<search::TrialRecord> Best() const;

  // The intermediate-value key of a point: its epoch or step per the spec.
  std::optional<int64_t> KeyOf(const store::MetricPoint& p) const;
  const std::string& watched_metric() const { return watched_; }

 private:
  const flags::TuneSpec& spec_;
  search::Pruner* pruner_;
  std::string watched_;  // the early-stopping metric ("" without pruner)
  bool maximize_ = true;
  mutable std::mutex mu_;
  std::map<int64_t, search::TrialRecord> records_;
};

// A trial's objective score from its metric summaries: the objective
// metric's last value, or its best (max or min by goal) when reduce is
// "best"; nullopt when the trial never reported it.
std::optional<double> ObjectiveScore(const std::vector<store::MetricSummary>& summaries,
                                     const flags::Objective& objective);

}  // namespace orchard::tune
