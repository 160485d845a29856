#include "orchestrator/exec/gpu_slots.h"

#include <algorithm>

namespace orchard::exec {

GpuSlots::GpuSlots(std::vector<std::string> gpu_ids, int trials_per_gpu)
    : ids_(std::move(gpu_ids)), per_gpu_(std::max(1, trials_per_gpu)) {
  for (const auto& id : ids_) in_use_[id] = 0;
}

std::optional<std::vector<std::string>> GpuSlots::TryAcquire(int k) {
  if (k <= 0) return std::vector<std::string>{};
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::string> free;
  for (const auto& id : ids_) {
    if (in_use_[id] < per_gpu_) free.push_back(id);
  }
  if (static_cast<int>(free.size()) < k) return std::nullopt;
  // Least loaded first; ties keep the declared order (stable).
  std::stable_sort(free.begin(), free.end(),
                   [&](const std::string& a, const std::string& b) { return in_use_[a] < in_use_[b]; });
  free.resize(static_cast<size_t>(k));
  for (const auto& id : free) ++in_use_[id];
  // Hand them out in declared order: CUDA_VISIBLE_DEVICES reads naturally.
  std::sort(free.begin(), free.end(), [&](const std::string& a, const std::string& b) {
    return std::find(ids_.begin(), ids_.end(), a) < std::find(ids_.begin(), ids_.end(), b);
  });
  return free;
}

void GpuSlots::Release(const std::vector<std::string>& ids) {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& id : ids) {
    auto it = in_use_.find(id);
    if (it != in_use_.end() && it->second > 0) --it->second;
  }
}

int GpuSlots::Capacity(int k) const {
  if (k <= 0) return 1 << 30;
  return static_cast<int>(ids_.size()) * per_gpu_ / k;
}

std::map<std::string, int> GpuSlots::Load() const {
  std::lock_guard<std::mutex> lock(mu_);
  return in_use_;
}

std::optional<std::vector<std::string>> ParseGpuList(const std::string& text) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : text + ",") {
    if (c == ' ') continue;
    if (c == ',') {
      if (cur.empty()) return std::nullopt;
      if (std::find(out.begin(), out.end(), cur) != out.end()) return std::nullopt;
      out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  return out;
}

}  // namespace orchard::exec
