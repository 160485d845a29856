#include "trainer/train/preprocess.h"

namespace orchard::trainer {
namespace {

uint64_t SplitMix64(uint64_t* state) {
  uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// One image as [3, h, w] float in [0, 1].
torch::Tensor ToFloatRgb(const Image& image) {
  torch::Tensor t = torch::from_blob(const_cast<uint8_t*>(image.pixels.data()),
                                     {image.height, image.width, image.channels}, torch::kUInt8)
                        .permute({2, 0, 1})
                        .to(torch::kFloat32)
                        .div_(255.0f);
  return image.channels == 1 ? t.expand({3, image.height, image.width}) : t;
}

// [N, 3, h, w] -> [N, 3, height, width]. The same arithmetic per image
// whether N is 1 or many (ImageTensor relies on it; preprocess_test checks).
torch::Tensor Resize(const torch::Tensor& batch, int64_t height, int64_t width) {
  if (batch.size(2) == height && batch.size(3) == width) return batch;
  const bool shrinking = batch.size(2) > height || batch.size(3) > width;
  namespace F = torch::nn::functional;
  return F::interpolate(batch, F::InterpolateFuncOptions()
                                   .size(std::vector<int64_t>{height, width})
                                   .mode(torch::kBilinear)
                                   .align_corners(false)
                                   .antialias(shrinking));
}

}  // namespace

torch::Tensor ImageTensor(const Image& image, int64_t height, int64_t width) {
  return Resize(ToFloatRgb(image).unsqueeze(0), height, width).squeeze(0).contiguous();
}

uint64_t MixSeed(uint64_t a, uint64_t b, uint64_t c) {
  uint64_t state = a;
  uint64_t h = SplitMix64(&state);
  state = h ^ b;
  h = SplitMix64(&state);
  state = h ^ c;
  return SplitMix64(&state);
}

torch::Tensor MakeBatch(const ImageSet& set, const std::vector<int64_t>& indices,
                        const PreprocessOptions& options, std::optional<uint64_t> augment_seed) {
  const int64_t size = options.image_size;
  // Images of one size (Fashion-MNIST, most folders after export) resize as
  // one batch; others one by one.
  bool same_size = true;
  for (int64_t i : indices) {
    const Image& a = set.images[static_cast<size_t>(i)];
    const Image& b = set.images[static_cast<size_t>(indices.front())];
    same_size = same_size && a.height == b.height && a.width == b.width;
  }
  std::vector<torch::Tensor> images;
  images.reserve(indices.size());
  torch::Tensor batch;
  if (same_size) {
    for (int64_t i : indices) images.push_back(ToFloatRgb(set.images[static_cast<size_t>(i)]));
    batch = Resize(torch::stack(images), size, size);
  } else {
    for (int64_t i : indices) {
      images.push_back(ImageTensor(set.images[static_cast<size_t>(i)], size, size));
    }
    batch = torch::stack(images);
  }
  if (augment_seed && options.augments()) {
    uint64_t state = *augment_seed;
    const int64_t pad = options.crop_padding;
    torch::Tensor padded = pad > 0 ? torch::constant_pad_nd(batch, {pad, pad, pad, pad}, 0.0)
                                   : batch;
    std::vector<torch::Tensor> out;
    out.reserve(indices.size());
    for (int64_t n = 0; n < batch.size(0); ++n) {
      torch::Tensor image = padded[n];
      if (pad > 0) {
        const int64_t span = 2 * pad + 1;
        const int64_t top = static_cast<int64_t>(SplitMix64(&state) % span);
        const int64_t left = static_cast<int64_t>(SplitMix64(&state) % span);
        image = image.slice(1, top, top + size).slice(2, left, left + size);
      }
      if (options.flip && (SplitMix64(&state) & 1) != 0) image = image.flip({2});
      out.push_back(image);
    }
    batch = torch::stack(out);
  }
  const Normalization& norm = options.normalization;
  torch::Tensor mean = torch::tensor(std::vector<float>(norm.mean.begin(), norm.mean.end()))
                           .view({1, 3, 1, 1});
  torch::Tensor std_dev = torch::tensor(std::vector<float>(norm.std.begin(), norm.std.end()))
                              .view({1, 3, 1, 1});
  return batch.sub(mean).div_(std_dev).contiguous();
}

}  // namespace orchard::trainer
