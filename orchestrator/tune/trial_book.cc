#include "orchestrator/tune/trial_book.h"

#include <cmath>

namespace orchard::tune {

TrialBook::TrialBook(const flags::TuneSpec& spec, search::Pruner* pruner)
    : spec_(spec), pruner_(pruner) {
  if (pruner_) {
    watched_ = spec.early_stopping.metric;
    maximize_ = spec.early_stopping.maximize;
  }
}

void TrialBook::Put(search::TrialRecord record) {
  std::lock_guard<std::mutex> lock(mu_);
  records_[record.number] = std::move(record);
}

std::optional<int64_t> TrialBook::KeyOf(const store::MetricPoint& p) const {
  if (spec_.early_stopping.unit == "step") return p.step;
  if (p.epoch) return *p.epoch;
  return std::nullopt;
}

std::optional<std::string> TrialBook::OnMetrics(int64_t number,
                                                const std::vector<store::MetricPoint>& points) {
  if (!pruner_) return std::nullopt;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = records_.find(number);
  if (it == records_.end()) return std::nullopt;
  search::TrialRecord& rec = it->second;
  std::optional<int64_t> latest;
  for (const auto& p : points) {
    if (p.name != watched_ || !std::isfinite(p.value)) continue;
    auto key = KeyOf(p);
    if (!key) continue;
    rec.intermediate[*key] = p.value;
    latest = *key;
  }
  if (!latest) return std::nullopt;
  std::vector<search::TrialRecord> all;
  all.reserve(records_.size());
  for (const auto& [n, r] : records_) all.push_back(r);
  if (!pruner_->ShouldPrune(rec, *latest, all)) return std::nullopt;
  char value[32];
  std::snprintf(value, sizeof value, "%.6g", rec.intermediate[*latest]);
  return "pruned by " + spec_.early_stopping.method + " at " + spec_.early_stopping.unit + " " +
         std::to_string(*latest) + " (" + watched_ + " = " + value + ")";
}

void TrialBook::Finish(int64_t number, search::TrialRecord::State state,
                       std::optional<double> value) {
  std::lock_guard<std::mutex> lock(mu_);
  auto& rec = records_[number];
  rec.number = number;
  rec.state = state;
  rec.value = value;
}

Result<nlohmann::json> TrialBook::Suggest(search::Sampler& sampler, int64_t number) {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<search::TrialRecord> all;
  for (const auto& [n, r] : records_) all.push_back(r);
  return sampler.Suggest(number, all);
}

std::vector<search::TrialRecord> TrialBook::Records() const {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<search::TrialRecord> all;
  for (const auto& [n, r] : records_) all.push_back(r);
  return all;
}

std::optional<search::TrialRecord> TrialBook::Best() const {
  std::lock_guard<std::mutex> lock(mu_);
  bool maximize = !spec_.objective || spec_.objective->maximize;
  std::optional<search::TrialRecord> best;
  for (const auto& [n, r] : records_) {
    if (r.state != search::TrialRecord::State::kCompleted || !r.value) continue;
    if (!best || (maximize ? *r.value > *best->value : *r.value < *best->value)) best = r;
  }
  return best;
}

std::optional<double> ObjectiveScore(const std::vector<store::MetricSummary>& summaries,
                                     const flags::Objective& objective) {
  for (const auto& s : summaries) {
    if (s.name != objective.metric) continue;
    if (objective.reduce == "best") return objective.maximize ? s.max : s.min;
    return s.last;
  }
  return std::nullopt;
}

}  // namespace orchard::tune
