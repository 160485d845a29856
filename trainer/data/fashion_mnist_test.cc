#include <gtest/gtest.h>
#include <zlib.h>

#include <chrono>
#include <iostream>

#include "trainer/data/image_set.h"
#include "trainer/test_util.h"

namespace orchard::trainer {
namespace {
namespace fs = std::filesystem;

const fs::path kDebianDir = "/usr/share/datasets/fashion-mnist";
constexpr uint32_t kImagesMagic = 0x00000803;
constexpr uint32_t kLabelsMagic = 0x00000801;

std::string BigEndian(const std::vector<uint32_t>& words) {
  std::string out;
  for (uint32_t w : words) {
    for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>(w >> shift));
  }
  return out;
}

void WriteGz(const fs::path& path, const std::string& content) {
  gzFile gz = gzopen(path.c_str(), "wb");
  ASSERT_NE(gz, nullptr) << path;
  ASSERT_EQ(gzwrite(gz, content.data(), static_cast<unsigned>(content.size())),
            static_cast<int>(content.size()));
  ASSERT_EQ(gzclose(gz), Z_OK);
}

// Three 2x3 images whose pixels count up from 10 * record, labels 1, 0, 9.
class SmallIdxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    WriteImages(kImagesMagic, 3, 2, 3, 3);
    WriteLabels(3, {1, 0, 9});
  }

  void WriteImages(uint32_t magic, uint32_t count, uint32_t rows, uint32_t cols, uint32_t records_present) {
    std::string data = BigEndian({magic, count, rows, cols});
    for (uint32_t i = 0; i < records_present * rows * cols; ++i) {
      data.push_back(static_cast<char>(10 * (i / (rows * cols)) + i % (rows * cols)));
    }
    WriteGz(dir_.path() / "train-images-idx3-ubyte.gz", data);
  }

  void WriteLabels(uint32_t count, const std::string& labels) {
    WriteGz(dir_.path() / "train-labels-idx1-ubyte.gz", BigEndian({kLabelsMagic, count}) + labels);
  }

  std::string Error(int64_t limit = 0) {
    Result<ImageSet> set = LoadFashionMnist(dir_.path(), Part::kTrain, limit);
    EXPECT_FALSE(set.ok());
    return set.ok() ? "" : set.status().message();
  }

  TempFolder dir_;
};

TEST(FashionMnistTest, DebianTrainingSetLoads) {
  const auto start = std::chrono::steady_clock::now();
  Result<ImageSet> set = LoadFashionMnist(kDebianDir, Part::kTrain);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  ASSERT_TRUE(set.ok()) << set.status().message();
  std::cout << "loaded 60000 training images in " << seconds << " s\n";

  ASSERT_EQ(set->images.size(), 60000u);
  ASSERT_EQ(set->labels.size(), 60000u);
  ASSERT_EQ(set->sources.size(), 60000u);
  ASSERT_EQ(set->class_names.size(), 10u);
  EXPECT_EQ(set->class_names[0], "T-shirt/top");
  EXPECT_EQ(set->class_names[9], "Ankle boot");
  EXPECT_EQ(set->labels[0], 9);
  EXPECT_EQ(set->sources[123], "train-images-idx3-ubyte.gz#123");
  std::vector<int> per_class(10);
  for (int label : set->labels) {
    ASSERT_GE(label, 0);
    ASSERT_LT(label, 10);
    ++per_class[label];
  }
  for (int count : per_class) EXPECT_EQ(count, 6000);  // Fashion-MNIST is balanced
  for (const Image& image : set->images) {
    ASSERT_EQ(image.height, 28);
    ASSERT_EQ(image.width, 28);
    ASSERT_EQ(image.channels, 1);
    ASSERT_EQ(image.pixels.size(), 784u);
  }
  EXPECT_EQ(set->skipped, 0);
  EXPECT_EQ(set->fingerprint.size(), 64u);
  EXPECT_LT(seconds, 5.0);
}

TEST(FashionMnistTest, DebianTestSetLoads) {
  Result<ImageSet> set = LoadFashionMnist(kDebianDir, Part::kTest);
  ASSERT_TRUE(set.ok()) << set.status().message();
  ASSERT_EQ(set->images.size(), 10000u);
  std::vector<int> per_class(10);
  for (int label : set->labels) ++per_class.at(label);
  for (int count : per_class) EXPECT_EQ(count, 1000);
  EXPECT_EQ(set->sources[7], "t10k-images-idx3-ubyte.gz#7");
}

TEST(FashionMnistTest, DatasetNamesReachTheDebianFiles) {
  Result<ImageSet> by_name = LoadDataset("fashion-mnist", Part::kTest, 50);
  ASSERT_TRUE(by_name.ok()) << by_name.status().message();
  EXPECT_EQ(by_name->images.size(), 50u);
  Result<ImageSet> by_dir = LoadDataset("fashion-mnist:" + kDebianDir.string(), Part::kTest, 50);
  ASSERT_TRUE(by_dir.ok()) << by_dir.status().message();
  EXPECT_EQ(by_dir->fingerprint, by_name->fingerprint);
}

TEST_F(SmallIdxTest, ReadsRecordsInOrder) {
  Result<ImageSet> set = LoadFashionMnist(dir_.path(), Part::kTrain);
  ASSERT_TRUE(set.ok()) << set.status().message();
  ASSERT_EQ(set->images.size(), 3u);
  EXPECT_EQ(set->labels, (std::vector<int>{1, 0, 9}));
  EXPECT_EQ(set->images[2].height, 2);
  EXPECT_EQ(set->images[2].width, 3);
  EXPECT_EQ(set->images[2].pixels, (std::vector<uint8_t>{20, 21, 22, 23, 24, 25}));
  EXPECT_EQ(set->sources[2], "train-images-idx3-ubyte.gz#2");
}

TEST_F(SmallIdxTest, LimitReadsTheFirstRecords) {
  Result<ImageSet> full = LoadFashionMnist(dir_.path(), Part::kTrain);
  Result<ImageSet> two = LoadFashionMnist(dir_.path(), Part::kTrain, 2);
  Result<ImageSet> more = LoadFashionMnist(dir_.path(), Part::kTrain, 100);
  ASSERT_TRUE(full.ok() && two.ok() && more.ok());
  EXPECT_EQ(two->labels, (std::vector<int>{1, 0}));
  EXPECT_EQ(two->images[1].pixels, full->images[1].pixels);
  EXPECT_NE(two->fingerprint, full->fingerprint);
  EXPECT_EQ(more->fingerprint, full->fingerprint);
  EXPECT_NE(Error(-1).find("limit"), std::string::npos);
}

TEST_F(SmallIdxTest, WrongMagicNamesTheFile) {
  WriteImages(0x00000802, 3, 2, 3, 3);
  const std::string error = Error();
  EXPECT_NE(error.find("train-images-idx3-ubyte.gz: bad magic number 0x00000802, expected 0x00000803"),
            std::string::npos)
      << error;
}

TEST_F(SmallIdxTest, LabelFileWithImageMagicIsRejected) {
  WriteGz(dir_.path() / "train-labels-idx1-ubyte.gz", BigEndian({kImagesMagic, 3, 1, 1}) + "abc");
  const std::string error = Error();
  EXPECT_NE(error.find("train-labels-idx1-ubyte.gz: bad magic number 0x00000803"), std::string::npos)
      << error;
}

TEST_F(SmallIdxTest, TruncatedImageDataIsAnError) {
  WriteImages(kImagesMagic, 3, 2, 3, 2);
  const std::string error = Error();
  EXPECT_NE(error.find("truncated image data: 18 bytes expected, 12 present"), std::string::npos) << error;
  // Reading only the records that are there is fine.
  EXPECT_TRUE(LoadFashionMnist(dir_.path(), Part::kTrain, 2).ok());
}

TEST_F(SmallIdxTest, CutGzipStreamIsAnError) {
  const fs::path images = dir_.path() / "train-images-idx3-ubyte.gz";
  std::string data = BigEndian({kImagesMagic, 3, 2, 3});
  for (int i = 0; i < 18; ++i) data.push_back(static_cast<char>(i * 37));
  WriteGz(images, data);
  fs::resize_file(images, fs::file_size(images) / 2);
  const std::string error = Error();
  EXPECT_NE(error.find("train-images-idx3-ubyte.gz"), std::string::npos) << error;
}

TEST_F(SmallIdxTest, CountMismatchIsAnError) {
  WriteLabels(2, {1, 0});
  const std::string error = Error();
  EXPECT_NE(error.find("2 labels for 3 images"), std::string::npos) << error;
}

TEST_F(SmallIdxTest, LabelOutOfRangeIsAnError) {
  WriteLabels(3, {1, 10, 9});
  const std::string error = Error();
  EXPECT_NE(error.find("label 10 of record 1"), std::string::npos) << error;
}

TEST_F(SmallIdxTest, ImplausibleSizeIsAnError) {
  WriteImages(kImagesMagic, 3, 0, 3, 0);
  EXPECT_NE(Error().find("implausible image size 0x3"), std::string::npos);
  WriteImages(kImagesMagic, 3, 5000, 3, 0);
  EXPECT_NE(Error().find("implausible image size 5000x3"), std::string::npos);
}

TEST_F(SmallIdxTest, MissingFileNamesThePath) {
  const fs::path labels = dir_.path() / "train-labels-idx1-ubyte.gz";
  fs::remove(labels);
  Result<ImageSet> set = LoadFashionMnist(dir_.path(), Part::kTrain);
  ASSERT_FALSE(set.ok());
  EXPECT_EQ(set.status().code(), Status::Code::kNotFound);
  EXPECT_NE(set.status().message().find(labels.string()), std::string::npos) << set.status().message();

  // The test part of the same folder is missing altogether.
  Result<ImageSet> test = LoadDataset("fashion-mnist:" + dir_.path().string(), Part::kTest);
  ASSERT_FALSE(test.ok());
  EXPECT_NE(test.status().message().find((dir_.path() / "t10k-images-idx3-ubyte.gz").string()),
            std::string::npos)
      << test.status().message();
}

}  // namespace
}  // namespace orchard::trainer
