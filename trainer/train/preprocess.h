// Turns decoded images into network input: RGB float in [0, 1], resized to a
// square, normalised, and for training optionally augmented (random crop
// after zero padding, random horizontal flip). Deterministic: augmentation
// draws come from a seed, not from global state.
#pragma once
#include <cstdint>
#include <vector>
#include <torch/torch.h>
#include "trainer/data/image_set.h"
#include "trainer/train/network.h"

namespace orchard::trainer {

struct PreprocessOptions {
  int64_t image_size = 96;
  Normalization normalization;
  int64_t crop_padding = 0;  // 0 = no random crop
  bool flip = false;
  bool augments() const { return crop_padding > 0 || flip; }
};

// One decoded image as a [3, height, width] float tensor in [0, 1], not
// normalised: 8-bit values / 255, grey repeated over three channels,
// bilinear resizing (antialiased when shrinking). What MakeBatch computes for
// each image, bit for bit, before augmentation and normalisation; batch
// inference uses it so that a bundle gives on a file what its run computed.
// Thread-safe (uses the calling thread's intra-op settings).
torch::Tensor ImageTensor(const Image& image, int64_t height, int64_t width);

// Images `indices` of `set` as a [N, 3, S, S] float tensor. Grey images are
// repeated over three channels; resizing is bilinear (antialiased when
// shrinking). With `augment_seed` set, each image is augmented with draws
// from that seed.
torch::Tensor MakeBatch(const ImageSet& set, const std::vector<int64_t>& indices,
                        const PreprocessOptions& options,
                        std::optional<uint64_t> augment_seed = std::nullopt);

// A 64-bit mix of the arguments (splitmix64 steps), for per-epoch and
// per-batch seeds that do not depend on what ran before.
uint64_t MixSeed(uint64_t a, uint64_t b, uint64_t c = 0);

}  // namespace orchard::trainer
