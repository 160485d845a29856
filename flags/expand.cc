#include "flags/expand.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>

namespace orchard::flags {
namespace {

using Kind = Dimension::Kind;

// A violated REQUIRES is a programming error, not bad input.
[[noreturn]] void Fail(const std::string& what) {
  std::fprintf(stderr, "orchard::flags: %s\n", what.c_str());
  std::abort();
}

uint64_t RequireGridSize(const SearchSpace& space) {
  Result<uint64_t> size = GridSize(space);
  if (!size.ok()) Fail("not a grid: " + size.status().message());
  return *size;
}

}  // namespace

Result<uint64_t> GridSize(const SearchSpace& space) {
  uint64_t size = 1;
  for (const Dimension& d : space.dims) {
    if (d.kind != Kind::kList) {
      return Status::InvalidArgument("search." + d.name + ": a " +
                                     std::string(Dimension::KindName(d.kind)) +
                                     " distribution is not a grid axis");
    }
    uint64_t n = d.values.size();
    if (n == 0) return Status::InvalidArgument("search." + d.name + ": an empty list");
    if (size > kMaxGridSize / n) {
      return Status::InvalidArgument("search: the grid has more than 2^62 points");
    }
    size *= n;
  }
  return size;
}

nlohmann::json GridPoint(const SearchSpace& space, uint64_t index) {
  uint64_t size = RequireGridSize(space);
  if (index >= size) {
    Fail("GridPoint index " + std::to_string(index) + " >= size " + std::to_string(size));
  }
  nlohmann::json point = nlohmann::json::object();
  // Decode from the last (fastest) dimension to the first.
  for (size_t k = space.dims.size(); k-- > 0;) {
    const Dimension& d = space.dims[k];
    uint64_t n = d.values.size();
    point[d.name] = d.values[index % n];
    index /= n;
  }
  return point;
}

uint64_t GridTrialCount(const TuneSpec& spec) {
  if (spec.method != "grid") Fail("GridTrialCount of a " + spec.method + " spec");
  uint64_t size = RequireGridSize(spec.space);
  uint64_t count = size;
  if (spec.sample.has_value()) {
    long double x = static_cast<long double>(*spec.sample) * static_cast<long double>(size);
    long double r = std::round(x);
    long double c = std::fabs(x - r) <= 1e-9L * std::max<long double>(1, x) ? r : std::ceil(x);
    count = c < 1 ? 1 : std::min<uint64_t>(size, static_cast<uint64_t>(c));
  }
  if (spec.max_trials.has_value() && *spec.max_trials >= 0) {
    count = std::min<uint64_t>(count, static_cast<uint64_t>(*spec.max_trials));
  }
  return count;
}

nlohmann::json GridTrial(const TuneSpec& spec, uint64_t trial_index) {
  uint64_t count = GridTrialCount(spec);
  if (trial_index >= count) {
    Fail("GridTrial index " + std::to_string(trial_index) + " >= count " + std::to_string(count));
  }
  uint64_t index = trial_index;
  if (spec.sample.has_value()) {
    GridPermutation perm(RequireGridSize(spec.space), static_cast<uint64_t>(spec.seed));
    index = perm.At(trial_index);
  }
  return GridPoint(spec.space, index);
}

uint64_t TrialSeed(uint64_t seed, uint64_t trial_index) {
  return SplitMix64(SplitMix64(seed) ^ trial_index);
}

uint64_t Fnv1a64(std::string_view text) {
  uint64_t h = 0xCBF29CE484222325ULL;
  for (unsigned char c : text) {
    h ^= c;
    h *= 0x100000001B3ULL;
  }
  return h;
}

double UniformUnit(std::mt19937_64& rng) {
  return static_cast<double>(rng() >> 11) * 0x1.0p-53;
}

uint64_t UniformBelow(std::mt19937_64& rng, uint64_t n) {
  if (n == 0) Fail("UniformBelow(0)");
  // Accept only draws from the largest multiple of n below 2^64.
  uint64_t threshold = (0 - n) % n;  // 2^64 mod n
  for (;;) {
    uint64_t r = rng();
    if (r >= threshold) return r % n;
  }
}

nlohmann::json DrawDimension(const Dimension& d, std::mt19937_64& rng) {
  switch (d.kind) {
    case Kind::kList:
    case Kind::kChoice:
      if (d.values.empty()) Fail("search." + d.name + ": no values to draw from");
      return d.values[UniformBelow(rng, d.values.size())];
    case Kind::kUniform: {
      double v = d.low + (d.high - d.low) * UniformUnit(rng);
      return std::clamp(v, d.low, d.high);
    }
    case Kind::kLogUniform: {
      double lo = std::log(d.low), hi = std::log(d.high);
      return std::clamp(std::exp(lo + (hi - lo) * UniformUnit(rng)), d.low, d.high);
    }
    case Kind::kInt: {
      auto low = static_cast<int64_t>(d.low), high = static_cast<int64_t>(d.high);
      if (d.log) {
        double lo = std::log(d.low - 0.5), hi = std::log(d.high + 0.5);
        auto k = static_cast<int64_t>(std::llround(std::exp(lo + (hi - lo) * UniformUnit(rng))));
        return std::clamp(k, low, high);
      }
      uint64_t span = static_cast<uint64_t>(high - low) + 1;
      return low + static_cast<int64_t>(UniformBelow(rng, span));
    }
  }
  Fail("unknown dimension kind");
}

nlohmann::json DrawRandom(const SearchSpace& space, uint64_t seed, uint64_t trial_index) {
  uint64_t trial_seed = TrialSeed(seed, trial_index);
  nlohmann::json point = nlohmann::json::object();
  for (const Dimension& d : space.dims) {
    std::mt19937_64 rng(SplitMix64(trial_seed ^ Fnv1a64(d.name)));
    point[d.name] = DrawDimension(d, rng);
  }
  return point;
}

nlohmann::json TrialFlags(const TuneSpec& spec, const nlohmann::json& point) {
  nlohmann::json flags = spec.flags.is_object() ? spec.flags : nlohmann::json::object();
  for (auto it = point.begin(); it != point.end(); ++it) flags[it.key()] = it.value();
  return flags;
}

}  // namespace orchard::flags
