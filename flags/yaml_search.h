// Reading the `search:` section of a tuning spec into a SearchSpace.
//
//   search:
//     lr: {loguniform: [1.0e-4, 1.0e-1]}      # float, uniform in log space
//     momentum: {uniform: [0.5, 0.99]}        # float
//     batch: [32, 64, 128]                    # a list: a grid axis
//     optimizer: {choice: [sgd, adam]}        # categorical, drawn at random
//     unfreeze: {int: [0, 4]}                 # inclusive; log: true for log-int
//
// Used by ParseTuneSpec; separate so the dimension rules sit in one place.
#pragma once

#include "flags/search_space.h"
#include "flags/status.h"
#include "flags/yaml_field.h"

namespace orchard::flags {

// Integer bounds must be exactly representable as doubles (Dimension keeps
// low/high as double).
inline constexpr double kMaxIntBound = 9007199254740992.0;  // 2^53

// Reads one entry of `search:` (its key is the flag name). Errors name the
// entry's path and line, e.g. "search.lr: loguniform needs 0 < low < high,
// got [0, 0.1]".
Result<Dimension> ParseDimension(const YamlField& entry);

// Reads the whole `search:` map, keeping the written order. An empty value
// gives an empty space.
Result<SearchSpace> ParseSearchSpace(const YamlField& search);

}  // namespace orchard::flags
