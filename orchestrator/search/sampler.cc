#include "orchestrator/search/sampler.h"

#include <string>

#include "flags/expand.h"
#include "orchestrator/search/grid_sampler.h"
#include "orchestrator/search/random_sampler.h"
#include "orchestrator/search/tpe.h"

namespace orchard::search {

Result<std::unique_ptr<Sampler>> MakeSampler(const flags::TuneSpec& spec) {
  const std::string where = spec.source.empty() ? "tune spec" : spec.source;
  auto bad = [&](const std::string& what) {
    return Status::InvalidArgument(where + ": " + what);
  };
  if (spec.method == "grid") {
    if (!spec.space.IsGrid()) {
      return bad("method grid needs every search dimension to be a list of values");
    }
    Result<uint64_t> size = flags::GridSize(spec.space);
    if (!size.ok()) return size.status().WithContext(where);
    return std::unique_ptr<Sampler>(std::make_unique<GridSampler>(spec));
  }
  if (spec.method == "random") {
    return std::unique_ptr<Sampler>(
        std::make_unique<RandomSampler>(spec.space, spec.seed, spec.max_trials));
  }
  if (spec.method == "tpe") {
    if (!spec.objective) return bad("method tpe needs an objective: {metric: NAME, goal: max|min}");
    TpeOptions options;
    options.maximize = spec.objective->maximize;
    options.pruned_maximize = spec.early_stopping.method.empty() ? spec.objective->maximize
                                                                  : spec.early_stopping.maximize;
    return std::unique_ptr<Sampler>(
        std::make_unique<TpeSampler>(spec.space, spec.seed, spec.max_trials, options));
  }
  return bad("unknown method '" + spec.method + "' (expected grid, random or tpe)");
}

}  // namespace orchard::search
