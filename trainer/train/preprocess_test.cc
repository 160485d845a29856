#include "trainer/train/preprocess.h"

#include <gtest/gtest.h>

namespace orchard::trainer {
namespace {

Image Grey(int h, int w, uint8_t value) {
  Image im;
  im.height = h;
  im.width = w;
  im.channels = 1;
  im.pixels.assign(static_cast<size_t>(h * w), value);
  return im;
}

Image Rgb(int h, int w) {
  Image im;
  im.height = h;
  im.width = w;
  im.channels = 3;
  for (int i = 0; i < h * w; ++i) {
    im.pixels.push_back(static_cast<uint8_t>(i % 256));
    im.pixels.push_back(0);
    im.pixels.push_back(255);
  }
  return im;
}

PreprocessOptions Plain(int64_t size) {
  PreprocessOptions o;
  o.image_size = size;
  o.normalization = {{0, 0, 0}, {1, 1, 1}};
  return o;
}

TEST(PreprocessTest, GreyBecomesThreeEqualChannelsScaledToOne) {
  ImageSet set;
  set.images = {Grey(28, 28, 255), Grey(28, 28, 51)};
  torch::Tensor batch = MakeBatch(set, {1, 0}, Plain(32));
  ASSERT_EQ(batch.sizes(), (std::vector<int64_t>{2, 3, 32, 32}));
  EXPECT_NEAR(batch[0].mean().item<double>(), 0.2, 1e-6);
  EXPECT_NEAR(batch[1].min().item<double>(), 1.0, 1e-6);
  EXPECT_TRUE(torch::equal(batch[0][0], batch[0][2]));
}

TEST(PreprocessTest, NormalisesPerChannelAndResizesMixedSizes) {
  ImageSet set;
  set.images = {Rgb(40, 60), Rgb(20, 20), Grey(50, 30, 0)};
  PreprocessOptions o = Plain(24);
  o.normalization = {{0.5, 0.5, 0.5}, {0.5, 0.25, 0.5}};
  torch::Tensor batch = MakeBatch(set, {0, 1, 2}, o);
  ASSERT_EQ(batch.sizes(), (std::vector<int64_t>{3, 3, 24, 24}));
  // Green is 0 everywhere in the RGB images: (0 - 0.5) / 0.25 = -2.
  EXPECT_NEAR(batch[0][1].max().item<double>(), -2.0, 1e-6);
  // Blue is 255: (1 - 0.5) / 0.5 = 1.
  EXPECT_NEAR(batch[1][2].min().item<double>(), 1.0, 1e-6);
  EXPECT_NEAR(batch[2].max().item<double>(), -1.0, 1e-6);
}

TEST(PreprocessTest, AugmentationIsSeededAndOffWithoutASeed) {
  ImageSet set;
  for (int i = 0; i < 8; ++i) set.images.push_back(Rgb(32, 32));
  std::vector<int64_t> all = {0, 1, 2, 3, 4, 5, 6, 7};
  PreprocessOptions o = Plain(32);
  o.crop_padding = 4;
  o.flip = true;
  torch::Tensor plain = MakeBatch(set, all, o);
  EXPECT_TRUE(torch::equal(plain, MakeBatch(set, all, Plain(32))));
  torch::Tensor a = MakeBatch(set, all, o, 11);
  EXPECT_TRUE(torch::equal(a, MakeBatch(set, all, o, 11)));
  EXPECT_FALSE(torch::equal(a, MakeBatch(set, all, o, 12)));
  EXPECT_FALSE(torch::equal(a, plain));
  EXPECT_EQ(a.sizes(), plain.sizes());
}

// Batch inference preprocesses one image at a time; a batch must hold
// exactly those values, or a bundle would not give on a file what its run
// computed on the same image.
TEST(PreprocessTest, ImageTensorIsWhatMakeBatchComputesBitForBit) {
  ImageSet set;
  for (int i = 0; i < 5; ++i) {
    Image grey = Grey(28, 28, 0);
    for (size_t p = 0; p < grey.pixels.size(); ++p) {
      grey.pixels[p] = static_cast<uint8_t>(p * 7 + static_cast<size_t>(i) * 31);
    }
    set.images.push_back(grey);
  }
  const std::vector<int64_t> all = {4, 0, 3, 1, 2};
  for (int64_t size : {28, 64, 96, 20}) {  // as is, enlarged, shrunk (antialiased)
    torch::Tensor batch = MakeBatch(set, all, Plain(size));
    for (size_t n = 0; n < all.size(); ++n) {
      torch::Tensor one = ImageTensor(set.images[static_cast<size_t>(all[n])], size, size);
      EXPECT_EQ(one.sizes(), (std::vector<int64_t>{3, size, size}));
      EXPECT_TRUE(torch::equal(batch[static_cast<int64_t>(n)], one)) << "size " << size << ", image " << n;
    }
  }
  // Mixed sizes and channels (resized one by one).
  ImageSet mixed;
  mixed.images = {Rgb(120, 90), Grey(28, 28, 77), Rgb(40, 50)};
  torch::Tensor batch = MakeBatch(mixed, {0, 1, 2}, Plain(64));
  for (int64_t n = 0; n < 3; ++n) {
    EXPECT_TRUE(torch::equal(batch[n], ImageTensor(mixed.images[static_cast<size_t>(n)], 64, 64)));
  }
}

TEST(PreprocessTest, MixSeedSeparatesItsArguments) {
  EXPECT_EQ(MixSeed(1, 2, 3), MixSeed(1, 2, 3));
  EXPECT_NE(MixSeed(1, 2, 3), MixSeed(1, 3, 2));
  EXPECT_NE(MixSeed(0, 0, 0), MixSeed(0, 0, 1));
}

}  // namespace
}  // namespace orchard::trainer
