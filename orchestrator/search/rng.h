// Rng: a small, portable, seedable random stream for the samplers.
//
// The standard library's distributions differ between implementations, so
// a suggestion drawn with them could change with the compiler. Rng is
// SplitMix64 (Steele, Lea & Flood 2014) with our own conversions, so the
// same (seed, trial, dimension) gives the same numbers everywhere. Not for
// cryptography. A value type; not thread-safe (each caller owns one).
#pragma once

#include <cstdint>

namespace orchard::search {

class Rng {
 public:
  explicit Rng(uint64_t state) : state_(state) {}

  // A stream for one decision: independent streams for every
  // (seed, trial number, stream index), e.g. one per dimension of a trial.
  static Rng For(int64_t seed, int64_t trial_number, uint64_t stream) {
    uint64_t s = Mix(static_cast<uint64_t>(seed) ^ 0x6f72636861726400ULL);  // "orchard"
    s = Mix(s ^ static_cast<uint64_t>(trial_number));
    s = Mix(s ^ (stream * 0x9e3779b97f4a7c15ULL + 0x7f4a7c159e3779b9ULL));
    return Rng(s);
  }

  uint64_t Next() {
    state_ += 0x9e3779b97f4a7c15ULL;
    return Mix(state_);
  }

  // Uniform in [0, 1), 53 random bits.
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }

 private:
  static uint64_t Mix(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

  uint64_t state_;
};

}  // namespace orchard::search
