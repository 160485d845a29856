// SplitDataset: per-class validation and training lists, reproducible from a
// seed on every machine. std::shuffle and std::uniform_int_distribution are
// implementation-defined, so the shuffle and its draws are written out here.
#include <algorithm>
#include <cmath>
#include <utility>

#include "trainer/data/image_set.h"

namespace orchard::trainer {

namespace {

// SplitMix64 (Steele, Lea, Flood 2014): tiny, and good enough to shuffle.
class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}

  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }

  // Uniform in [0, bound), bound > 0. Rejecting the low 2^64 mod bound values
  // removes the modulo bias.
  uint64_t Below(uint64_t bound) {
    const uint64_t threshold = (0 - bound) % bound;
    for (;;) {
      const uint64_t r = Next();
      if (r >= threshold) return r % bound;
    }
  }

 private:
  uint64_t state_;
};

// Each class gets its own stream, so one class's shuffle does not depend on
// how many images the others have.
SplitMix64 ClassStream(uint64_t seed, int label) {
  SplitMix64 mixer(seed);
  return SplitMix64(mixer.Next() ^ SplitMix64(static_cast<uint64_t>(label)).Next());
}

// Fisher-Yates.
void Shuffle(std::vector<int64_t>& items, SplitMix64& rng) {
  for (size_t i = items.size(); i > 1; --i) {
    std::swap(items[i - 1], items[rng.Below(i)]);
  }
}

Status Validate(const std::vector<int>& labels, int num_classes, const SplitOptions& options) {
  if (num_classes <= 0) {
    return Status::InvalidArgument("num_classes must be > 0, got " + std::to_string(num_classes));
  }
  if (options.val_per_class < 0) {
    return Status::InvalidArgument("val_per_class must be >= 0, got " +
                                   std::to_string(options.val_per_class));
  }
  if (options.labels_per_class < 0) {
    return Status::InvalidArgument("labels_per_class must be >= 0, got " +
                                   std::to_string(options.labels_per_class));
  }
  // Written so that NaN fails too.
  if (!(options.val_fraction >= 0.0 && options.val_fraction < 1.0)) {
    return Status::InvalidArgument("val_fraction must be in [0, 1), got " +
                                   std::to_string(options.val_fraction));
  }
  for (size_t i = 0; i < labels.size(); ++i) {
    if (labels[i] < 0 || labels[i] >= num_classes) {
      return Status::InvalidArgument("label " + std::to_string(labels[i]) + " of image " + std::to_string(i) +
                                     " is not in [0, " + std::to_string(num_classes) + ")");
    }
  }
  return Status::Ok();
}

}  // namespace

Result<Split> SplitDataset(const std::vector<int>& labels, int num_classes, const SplitOptions& options) {
  ORCHARD_RETURN_IF_ERROR(Validate(labels, num_classes, options));
  std::vector<std::vector<int64_t>> by_class(num_classes);
  for (size_t i = 0; i < labels.size(); ++i) by_class[labels[i]].push_back(static_cast<int64_t>(i));

  Split split;
  for (int label = 0; label < num_classes; ++label) {
    std::vector<int64_t>& members = by_class[label];
    SplitMix64 rng = ClassStream(options.seed, label);
    Shuffle(members, rng);
    const int64_t n = static_cast<int64_t>(members.size());
    int64_t num_val = options.val_per_class > 0 ? options.val_per_class
                                                : std::llround(options.val_fraction * static_cast<double>(n));
    // Every class with an image keeps one for training: a class the head
    // never sees cannot be learnt, while validation can do without it.
    num_val = std::min(num_val, std::max<int64_t>(n - 1, 0));
    // Validation comes first in the shuffle, so the label budget below never
    // changes which images it gets.
    const int64_t rest = n - num_val;
    const int64_t num_train = options.labels_per_class > 0 ? std::min(options.labels_per_class, rest) : rest;
    split.val.insert(split.val.end(), members.begin(), members.begin() + num_val);
    split.train.insert(split.train.end(), members.begin() + num_val, members.begin() + num_val + num_train);
  }
  std::sort(split.train.begin(), split.train.end());
  std::sort(split.val.begin(), split.val.end());
  return split;
}

}  // namespace orchard::trainer
