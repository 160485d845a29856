// Expansion of a search space into trials: grids (whole or sampled) and
// random draws. Pure and deterministic: the same spec, seed and index give
// the same point on every platform, and trial i never depends on trial j,
// so a resumed or distributed session recomputes exactly what it needs.
// Nothing is materialised: a grid of 10^9 points costs O(dimensions).
//
// Grid order is mixed-radix with the FIRST dimension varying SLOWEST, like
// nested loops in the order the spec lists them (and like tfruns):
//   search: {a: [1, 2], b: [x, y, z]}
//   index 0 {a:1,b:x}  1 {a:1,b:y}  2 {a:1,b:z}  3 {a:2,b:x} ...
//
// Random draws (DrawRandom) use documented generators only:
//   trial_seed = SplitMix64(SplitMix64(seed) ^ trial_index)
//   dim_seed   = SplitMix64(trial_seed ^ Fnv1a64(dimension name))
//   rng        = std::mt19937_64(dim_seed)      (its output is standardised)
// and this file's own conversions (UniformUnit, UniformBelow) rather than
// std::uniform_*_distribution, whose output differs between standard
// libraries. A dimension's draw depends on its name, not its position, so
// adding a dimension leaves the others' values unchanged.
//
// Distributions:
//   uniform     low + (high - low) * u, u in [0, 1)
//   loguniform  exp(log low + (log high - log low) * u), clamped to [low, high]
//   int         low + UniformBelow(high - low + 1): every integer of the
//               inclusive range equally likely (rejection sampling, no bias)
//   int, log    round(exp(uniform(log(low - 0.5), log(high + 0.5)))), clamped
//               (as Optuna's IntDistribution(log=True)): P(k) ~ log((k+.5)/(k-.5))
//   choice/list one of the values, equally likely
//
// Thread-safe (no state).
#pragma once

#include <cstdint>
#include <random>
#include <string_view>

#include <nlohmann/json.hpp>

#include "flags/grid_permutation.h"
#include "flags/search_space.h"
#include "flags/status.h"
#include "flags/tune_spec.h"

namespace orchard::flags {

// The largest grid Orchard enumerates (2^62): beyond it, a trial index no
// longer fits comfortably in the store's signed 64-bit integers.
inline constexpr uint64_t kMaxGridSize = uint64_t{1} << 62;

// The number of points of a grid: the product of the lists' lengths (1 for
// an empty space). InvalidArgument when a dimension is a distribution, or
// when the product exceeds kMaxGridSize ("search: the grid has more than
// 2^62 points"). Never overflows.
Result<uint64_t> GridSize(const SearchSpace& space);

// The grid point at `index`, {name: value, ...} (first dimension slowest).
// REQUIRES: space.IsGrid() and index < GridSize(space).
nlohmann::json GridPoint(const SearchSpace& space, uint64_t index);

// The number of trials a grid spec runs: the whole grid, or, with `sample`,
// ceil(sample * size) (at least 1; a product within 1e-9 of an integer counts
// as that integer, so 0.3 * 10 is 3), then capped by max_trials.
// REQUIRES: spec.method == "grid" and a valid grid (as ParseTuneSpec checks).
uint64_t GridTrialCount(const TuneSpec& spec);

// The search point of trial `trial_index` of a grid spec: without `sample`
// the grid in order, with it GridPoint(GridPermutation(size, seed).At(i)):
// distinct trials are distinct points, in a seed-dependent order.
// REQUIRES: trial_index < GridTrialCount(spec).
nlohmann::json GridTrial(const TuneSpec& spec, uint64_t trial_index);

// The seed of one trial, from the session seed (see above).
uint64_t TrialSeed(uint64_t seed, uint64_t trial_index);
// 64-bit FNV-1a of `text` (used to key a dimension's stream by its name).
uint64_t Fnv1a64(std::string_view text);
// A double in [0, 1) from the top 53 bits of one draw.
double UniformUnit(std::mt19937_64& rng);
// An integer in [0, n), exactly uniform (rejection). REQUIRES: n >= 1.
uint64_t UniformBelow(std::mt19937_64& rng, uint64_t n);

// One value of `dim` drawn from `rng`: a float (uniform, loguniform), an
// integer (int) or one of the values (choice, list).
nlohmann::json DrawDimension(const Dimension& dim, std::mt19937_64& rng);

// A random point of the whole space for trial `trial_index` of a session
// seeded with `seed`: {name: value, ...}. Lists are drawn like choices.
nlohmann::json DrawRandom(const SearchSpace& space, uint64_t seed, uint64_t trial_index);

// The flags a trial runs with: the spec's fixed flags plus `point`.
nlohmann::json TrialFlags(const TuneSpec& spec, const nlohmann::json& point);

}  // namespace orchard::flags
