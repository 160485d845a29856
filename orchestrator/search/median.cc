#include "orchestrator/search/median.h"

#include <algorithm>
#include <cmath>

namespace orchard::search {

std::optional<double> MedianPruner::MedianAt(int64_t t, int64_t self,
                                             const std::vector<TrialRecord>& all) const {
  std::vector<double> values;
  for (const TrialRecord& other : all) {
    if (other.number == self) continue;
    if (other.state != TrialRecord::State::kCompleted &&
        other.state != TrialRecord::State::kRunning) {
      continue;
    }
    const auto& series = other.intermediate;
    if (series.empty() || series.rbegin()->first < t) continue;  // has not reached t
    auto it = series.upper_bound(t);
    if (it == series.begin()) continue;  // its first report is after t
    double v = std::prev(it)->second;
    if (!std::isnan(v)) values.push_back(v);
  }
  if (values.empty() || static_cast<int64_t>(values.size()) < min_trials_) return std::nullopt;
  std::sort(values.begin(), values.end());
  size_t mid = values.size() / 2;
  if (values.size() % 2 == 1) return values[mid];
  return 0.5 * (values[mid - 1] + values[mid]);
}

bool MedianPruner::ShouldPrune(const TrialRecord& trial, int64_t t,
                               const std::vector<TrialRecord>& all) {
  if (t < grace_) return false;
  bool any = false, all_nan = true;
  double best = 0;
  for (auto it = trial.intermediate.begin(); it != trial.intermediate.end() && it->first <= t;
       ++it) {
    any = true;
    if (std::isnan(it->second)) continue;
    if (all_nan || (maximize_ ? it->second > best : it->second < best)) best = it->second;
    all_nan = false;
  }
  if (!any) return false;
  std::optional<double> median = MedianAt(t, trial.number, all);
  if (!median) return false;
  if (all_nan) return true;
  return maximize_ ? best < *median : best > *median;
}

}  // namespace orchard::search
