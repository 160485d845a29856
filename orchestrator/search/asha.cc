#include "orchestrator/search/asha.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace orchard::search {
namespace {

// The value at the first step >= r among steps <= up_to, or nullopt.
std::optional<double> ValueAtRung(const std::map<int64_t, double>& series, int64_t r,
                                  int64_t up_to) {
  auto it = series.lower_bound(r);
  if (it == series.end() || it->first > up_to) return std::nullopt;
  return it->second;
}

}  // namespace

AshaPruner::AshaPruner(int64_t grace, double reduction, int64_t max_t, bool maximize)
    : grace_(grace), reduction_(reduction), max_t_(max_t), maximize_(maximize) {}

std::vector<int64_t> AshaPruner::Rungs(int64_t up_to) const {
  std::vector<int64_t> rungs;
  if (max_t_ > 0) up_to = std::min(up_to, max_t_);
  double scale = 1;
  int64_t r = grace_;
  while (r <= up_to) {
    rungs.push_back(r);
    scale *= reduction_;
    double next = std::floor(static_cast<double>(grace_) * scale + 1e-9);
    if (next >= static_cast<double>(std::numeric_limits<int64_t>::max() / 2)) break;
    int64_t n = std::max(r + 1, static_cast<int64_t>(next));
    if (max_t_ > 0 && r < max_t_ && n > max_t_) n = max_t_;  // the cap is the last rung
    if (n <= r) break;
    r = n;
  }
  return rungs;
}

bool AshaPruner::Promotable(double value, int64_t rung, int64_t self,
                            const std::vector<TrialRecord>& all) const {
  // Losses: lower is better; NaN is the worst.
  auto loss = [&](double v) {
    if (std::isnan(v)) return std::numeric_limits<double>::infinity();
    return maximize_ ? -v : v;
  };
  std::vector<double> competing{loss(value)};
  for (const TrialRecord& other : all) {
    if (other.number == self) continue;
    if (auto v = ValueAtRung(other.intermediate, rung, std::numeric_limits<int64_t>::max())) {
      competing.push_back(loss(*v));
    }
  }
  size_t keep = static_cast<size_t>(std::floor(static_cast<double>(competing.size()) / reduction_));
  keep = std::max<size_t>(keep, 1);
  std::nth_element(competing.begin(), competing.begin() + (keep - 1), competing.end());
  return loss(value) <= competing[keep - 1];
}

bool AshaPruner::ShouldPrune(const TrialRecord& trial, int64_t t,
                             const std::vector<TrialRecord>& all) {
  auto at = trial.intermediate.find(t);
  if (at == trial.intermediate.end()) return false;  // nothing reported at t
  const double value = at->second;
  // The step reported before t: rungs in (previous, t] are crossed now.
  int64_t previous = std::numeric_limits<int64_t>::min();
  if (at != trial.intermediate.begin()) previous = std::prev(at)->first;
  for (int64_t rung : Rungs(t)) {
    if (rung <= previous) continue;
    // A trial that reached max_t has spent its budget: stopping it there
    // saves nothing, so it completes (as in Ray Tune's ASHA).
    if (max_t_ > 0 && rung >= max_t_) break;
    if (std::isnan(value)) return true;
    if (!Promotable(value, rung, trial.number, all)) return true;
  }
  return false;
}

}  // namespace orchard::search
