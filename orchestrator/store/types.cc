#include "orchestrator/store/types.h"

namespace orchard::store {

const char* ToString(RunStatus s) {
  switch (s) {
    case RunStatus::kQueued: return "queued";
    case RunStatus::kRunning: return "running";
    case RunStatus::kCompleted: return "completed";
    case RunStatus::kFailed: return "failed";
    case RunStatus::kCancelled: return "cancelled";
    case RunStatus::kPruned: return "pruned";
  }
  return "unknown";
}

std::optional<RunStatus> ParseRunStatus(const std::string& s) {
  for (RunStatus v : {RunStatus::kQueued, RunStatus::kRunning, RunStatus::kCompleted,
                      RunStatus::kFailed, RunStatus::kCancelled, RunStatus::kPruned}) {
    if (s == ToString(v)) return v;
  }
  return std::nullopt;
}

}  // namespace orchard::store
