#include "orchestrator/search/pruner.h"

#include <string>

#include "orchestrator/search/asha.h"
#include "orchestrator/search/median.h"

namespace orchard::search {

Result<std::unique_ptr<Pruner>> MakePruner(const flags::EarlyStopping& es) {
  auto bad = [](const std::string& what) {
    return Status::InvalidArgument("early_stopping: " + what);
  };
  if (es.method.empty()) return std::unique_ptr<Pruner>();
  if (es.method == "asha") {
    if (es.grace < 1) return bad("asha needs grace >= 1, got " + std::to_string(es.grace));
    if (!(es.reduction > 1)) {
      return bad("asha needs reduction > 1, got " + std::to_string(es.reduction));
    }
    if (es.max_t != 0 && es.max_t < es.grace) {
      return bad("asha needs max_t >= grace (" + std::to_string(es.grace) + ") or 0, got " +
                 std::to_string(es.max_t));
    }
    return std::unique_ptr<Pruner>(
        std::make_unique<AshaPruner>(es.grace, es.reduction, es.max_t, es.maximize));
  }
  if (es.method == "median") {
    if (es.grace < 0) return bad("median needs grace >= 0, got " + std::to_string(es.grace));
    if (es.min_trials < 1) {
      return bad("median needs min_trials >= 1, got " + std::to_string(es.min_trials));
    }
    return std::unique_ptr<Pruner>(
        std::make_unique<MedianPruner>(es.grace, es.min_trials, es.maximize));
  }
  return bad("unknown method '" + es.method + "' (expected asha or median)");
}

}  // namespace orchard::search
