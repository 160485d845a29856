// GpuSlots: hands out GPUs to trials so that two trials never share one
// unless trials_per_gpu allows it.
//
// Each GPU id has trials_per_gpu slots. A trial asking for k GPUs gets k
// distinct ids, each with a free slot, preferring the least loaded. With no
// GPUs (CPU-only tuning) a request for 0 always succeeds. Thread-safe.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace orchard::exec {

class GpuSlots {
 public:
  GpuSlots(std::vector<std::string> gpu_ids, int trials_per_gpu);

  // k distinct GPU ids, or nullopt when fewer than k have a free slot.
  std::optional<std::vector<std::string>> TryAcquire(int k);
  void Release(const std::vector<std::string>& ids);

  // How many trials needing k GPUs each can run at once.
  int Capacity(int k) const;
  const std::vector<std::string>& ids() const { return ids_; }
  // Current trials per GPU id (for tests and progress).
  std::map<std::string, int> Load() const;

 private:
  std::vector<std::string> ids_;
  int per_gpu_;
  mutable std::mutex mu_;
  std::map<std::string, int> in_use_;
};

// "0,1,3" -> {"0","1","3"}; spaces ignored; empty items are errors (nullopt).
std::optional<std::vector<std::string>> ParseGpuList(const std::string& text);

}  // namespace orchard::exec
