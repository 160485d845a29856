#include <gtest/gtest.h>
#include <stb_image_write.h>

#include <algorithm>
#include <fstream>
#include <random>

#include "trainer/data/image_set.h"
#include "trainer/test_util.h"

namespace orchard::trainer {
namespace {
namespace fs = std::filesystem;

// Pixels that differ per position and channel, so a wrong channel order or a
// kept alpha shows.
std::vector<uint8_t> Pattern(int height, int width, int channels) {
  std::vector<uint8_t> pixels(static_cast<size_t>(height) * width * channels);
  for (size_t i = 0; i < pixels.size(); ++i) pixels[i] = static_cast<uint8_t>(i * 7 + 3);
  return pixels;
}

// The colour channels of `pixels` without the alpha one.
std::vector<uint8_t> DropAlpha(const std::vector<uint8_t>& pixels, int channels) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i < pixels.size(); ++i) {
    if (i % channels != static_cast<size_t>(channels - 1)) out.push_back(pixels[i]);
  }
  return out;
}

void WritePng(const fs::path& path, int height, int width, int channels) {
  fs::create_directories(path.parent_path());
  const std::vector<uint8_t> pixels = Pattern(height, width, channels);
  ASSERT_TRUE(stbi_write_png(path.c_str(), width, height, channels, pixels.data(), width * channels)) << path;
}

void WriteJpg(const fs::path& path, int height, int width, int channels) {
  fs::create_directories(path.parent_path());
  const std::vector<uint8_t> pixels = Pattern(height, width, channels);
  ASSERT_TRUE(stbi_write_jpg(path.c_str(), width, height, channels, pixels.data(), 90)) << path;
}

std::string ReadBytes(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

const Image& ImageFrom(const ImageSet& set, const std::string& source) {
  auto it = std::find(set.sources.begin(), set.sources.end(), source);
  EXPECT_NE(it, set.sources.end()) << source;
  return set.images.at(it - set.sources.begin());
}

bool HasSkipped(const ImageSet& set, const std::string& prefix) {
  return std::any_of(set.skipped_examples.begin(), set.skipped_examples.end(),
                     [&](const std::string& e) { return e.rfind(prefix, 0) == 0; });
}

// cat/ holds images of every kind plus files to skip or ignore; dog/ one
// RGB image; empty_class/ nothing readable; hidden entries everywhere.
class ImageFolderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const fs::path root = dir_.path();
    WritePng(root / "cat/a.png", 4, 5, 1);
    WriteJpg(root / "cat/b.jpg", 6, 8, 3);
    WritePng(root / "cat/sub/c.PNG", 3, 3, 4);
    WritePng(root / "cat/sub/deeper/e.png", 2, 2, 2);
    WriteJpg(root / "cat/with space ü.JPEG", 5, 4, 3);
    WritePng(root / "dog/x.png", 7, 2, 3);
    WritePng(root / "cat/.hidden.png", 2, 2, 1);
    WritePng(root / "cat/.cache/y.png", 2, 2, 1);
    WritePng(root / ".git/z.png", 2, 2, 1);
    dir_.Write("cat/notes.txt", "not an image");
    dir_.Write("readme.md", "top-level files are not classes");
    dir_.Write("empty_class/list.txt", "nothing");

    std::mt19937 gen(1);
    std::string noise(300, '\0');
    for (char& c : noise) c = static_cast<char>(gen());
    dir_.Write("cat/broken.png", noise);
    const std::string png = ReadBytes(root / "dog/x.png");
    dir_.Write("cat/trunc.png", png.substr(0, png.size() / 2));
    dir_.Write("cat/empty.jpg", "");
  }

  ImageSet Load() {
    Result<ImageSet> set = LoadImageFolder(dir_.path());
    EXPECT_TRUE(set.ok()) << set.status().message();
    return set.ok() ? std::move(*set) : ImageSet{};
  }

  TempFolder dir_;
};

TEST_F(ImageFolderTest, ClassesAreSortedVisibleSubfolders) {
  const ImageSet set = Load();
  EXPECT_EQ(set.class_names, (std::vector<std::string>{"cat", "dog", "empty_class"}));
  EXPECT_EQ(set.sources, (std::vector<std::string>{"cat/a.png", "cat/b.jpg", "cat/sub/c.PNG",
                                                   "cat/sub/deeper/e.png", "cat/with space ü.JPEG",
                                                   "dog/x.png"}));
  EXPECT_EQ(set.labels, (std::vector<int>{0, 0, 0, 0, 0, 1}));
}

TEST_F(ImageFolderTest, ChannelsAreGreyOrRgb) {
  const ImageSet set = Load();
  const Image& grey = ImageFrom(set, "cat/a.png");
  EXPECT_EQ(grey.height, 4);
  EXPECT_EQ(grey.width, 5);
  EXPECT_EQ(grey.channels, 1);
  EXPECT_EQ(grey.pixels, Pattern(4, 5, 1));

  const Image& rgba = ImageFrom(set, "cat/sub/c.PNG");
  EXPECT_EQ(rgba.channels, 3);
  EXPECT_EQ(rgba.pixels, DropAlpha(Pattern(3, 3, 4), 4));

  const Image& grey_alpha = ImageFrom(set, "cat/sub/deeper/e.png");
  EXPECT_EQ(grey_alpha.channels, 1);
  EXPECT_EQ(grey_alpha.pixels, DropAlpha(Pattern(2, 2, 2), 2));

  const Image& rgb = ImageFrom(set, "dog/x.png");
  EXPECT_EQ(rgb.pixels, Pattern(7, 2, 3));

  // JPEG is lossy: only the shape is exact.
  const Image& jpg = ImageFrom(set, "cat/b.jpg");
  EXPECT_EQ(jpg.height, 6);
  EXPECT_EQ(jpg.width, 8);
  EXPECT_EQ(jpg.channels, 3);
  EXPECT_EQ(jpg.pixels.size(), 6u * 8 * 3);
  const Image& odd_name = ImageFrom(set, "cat/with space ü.JPEG");
  EXPECT_EQ(odd_name.height, 5);
  EXPECT_EQ(odd_name.width, 4);
}

TEST_F(ImageFolderTest, UndecodableFilesAreSkippedAndDescribed) {
  const ImageSet set = Load();
  EXPECT_EQ(set.skipped, 3);
  ASSERT_EQ(set.skipped_examples.size(), 3u);
  EXPECT_TRUE(HasSkipped(set, "cat/broken.png: ")) << set.skipped_examples[0];
  EXPECT_TRUE(HasSkipped(set, "cat/trunc.png: "));
  EXPECT_TRUE(HasSkipped(set, "cat/empty.jpg: empty file"));
  for (const std::string& example : set.skipped_examples) {
    EXPECT_GT(example.size(), example.find(": ") + 2) << "no reason in " << example;
  }
}

TEST_F(ImageFolderTest, SkippedExamplesAreCapped) {
  for (int i = 0; i < 15; ++i) dir_.Write("dog/bad" + std::to_string(i) + ".png", "junk");
  const ImageSet set = Load();
  EXPECT_EQ(set.skipped, 18);
  EXPECT_EQ(set.skipped_examples.size(), 10u);
}

TEST_F(ImageFolderTest, FingerprintFollowsContent) {
  const std::string first = Load().fingerprint;
  EXPECT_EQ(first.size(), 64u);
  EXPECT_EQ(Load().fingerprint, first);

  // The same content elsewhere has the same fingerprint.
  TempFolder copy;
  fs::copy(dir_.path(), copy.path(), fs::copy_options::recursive | fs::copy_options::overwrite_existing);
  Result<ImageSet> copied = LoadImageFolder(copy.path());
  ASSERT_TRUE(copied.ok());
  EXPECT_EQ(copied->fingerprint, first);

  // One pixel changed.
  std::vector<uint8_t> pixels = Pattern(4, 5, 1);
  pixels[7] ^= 1;
  ASSERT_TRUE(stbi_write_png((dir_.path() / "cat/a.png").c_str(), 5, 4, 1, pixels.data(), 5));
  const std::string changed_pixel = Load().fingerprint;
  EXPECT_NE(changed_pixel, first);

  // One class renamed.
  fs::rename(dir_.path() / "dog", dir_.path() / "doggo");
  EXPECT_NE(Load().fingerprint, changed_pixel);
}

TEST_F(ImageFolderTest, SymlinkedFilesAreReadAndFolderLoopsAreNot) {
  fs::create_directory_symlink("..", dir_.path() / "cat/sub/up");
  fs::create_symlink("../dog/x.png", dir_.path() / "cat/linked.png");
  const ImageSet set = Load();
  EXPECT_EQ(set.images.size(), 7u);
  EXPECT_EQ(ImageFrom(set, "cat/linked.png").pixels, Pattern(7, 2, 3));
}

TEST(ImageFolderErrorsTest, MissingFolderIsNotFound) {
  TempFolder dir;
  Result<ImageSet> set = LoadImageFolder(dir.path() / "nope");
  ASSERT_FALSE(set.ok());
  EXPECT_EQ(set.status().code(), Status::Code::kNotFound);
  EXPECT_NE(set.status().message().find("nope"), std::string::npos);
}

TEST(ImageFolderErrorsTest, FolderWithoutClassesIsAnError) {
  TempFolder dir;
  WritePng(dir.path() / "loose.png", 2, 2, 1);
  Result<ImageSet> set = LoadImageFolder(dir.path());
  ASSERT_FALSE(set.ok());
  EXPECT_NE(set.status().message().find("no class subfolders"), std::string::npos);
}

TEST(ImageFolderErrorsTest, FolderWithoutReadableImagesIsAnError) {
  TempFolder dir;
  dir.Write("a/bad.png", "junk");
  dir.Write("b/notes.txt", "text");
  Result<ImageSet> set = LoadImageFolder(dir.path());
  ASSERT_FALSE(set.ok());
  EXPECT_NE(set.status().message().find("no readable image (1 skipped, e.g. a/bad.png: "), std::string::npos)
      << set.status().message();
}

TEST(LoadDatasetTest, TrainAndTestSubfoldersAreTheParts) {
  TempFolder dir;
  WritePng(dir.path() / "train/shoe/1.png", 2, 2, 1);
  WritePng(dir.path() / "train/shoe/2.png", 2, 2, 1);
  WritePng(dir.path() / "test/shoe/3.png", 2, 2, 1);
  Result<ImageSet> train = LoadDataset(dir.path().string(), Part::kTrain);
  Result<ImageSet> test = LoadDataset(dir.path().string(), Part::kTest);
  ASSERT_TRUE(train.ok() && test.ok());
  EXPECT_EQ(train->sources, (std::vector<std::string>{"shoe/1.png", "shoe/2.png"}));
  EXPECT_EQ(test->sources, (std::vector<std::string>{"shoe/3.png"}));
}

TEST(LoadDatasetTest, FolderWithoutPartsHasNoTestPart) {
  TempFolder dir;
  WritePng(dir.path() / "shoe/1.png", 2, 2, 1);
  EXPECT_TRUE(LoadDataset(dir.path().string(), Part::kTrain).ok());
  Result<ImageSet> test = LoadDataset(dir.path().string(), Part::kTest);
  ASSERT_FALSE(test.ok());
  EXPECT_NE(test.status().message().find("no test part"), std::string::npos);
}

TEST(LoadDatasetTest, LimitTakesClassesInTurn) {
  TempFolder dir;
  for (int i = 0; i < 3; ++i) {
    WritePng(dir.path() / ("a/" + std::to_string(i) + ".png"), 2, 2, 1);
    WritePng(dir.path() / ("b/" + std::to_string(i) + ".png"), 2, 2, 1);
  }
  Result<ImageSet> set = LoadDataset(dir.path().string(), Part::kTrain, 3);
  ASSERT_TRUE(set.ok());
  EXPECT_EQ(set->sources, (std::vector<std::string>{"a/0.png", "a/1.png", "b/0.png"}));
  EXPECT_EQ(set->labels, (std::vector<int>{0, 0, 1}));
  Result<ImageSet> all = LoadDataset(dir.path().string(), Part::kTrain);
  ASSERT_TRUE(all.ok());
  EXPECT_NE(set->fingerprint, all->fingerprint);
}

TEST(ReadImageFileTest, DecodesOneFileOrSaysWhyNot) {
  TempFolder folder;
  const fs::path dir = folder.path();
  WritePng(dir / "rgba.png", 3, 4, 4);
  Result<Image> png = ReadImageFile(dir / "rgba.png");
  ASSERT_TRUE(png.ok()) << png.status().message();
  EXPECT_EQ(png->channels, 3);  // alpha dropped
  EXPECT_EQ(png->height, 3);
  EXPECT_EQ(png->width, 4);
  EXPECT_EQ(png->pixels, DropAlpha(Pattern(3, 4, 4), 4));
  ASSERT_TRUE(stbi_write_bmp((dir / "grey.bmp").c_str(), 5, 2, 1, Pattern(2, 5, 1).data()));
  Result<Image> bmp = ReadImageFile(dir / "grey.bmp");
  ASSERT_TRUE(bmp.ok()) << bmp.status().message();
  EXPECT_EQ(bmp->width, 5);

  Result<Image> missing = ReadImageFile(dir / "nope.png");
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().message().rfind("cannot open: ", 0), 0u) << missing.status().message();
  Result<Image> folder_itself = ReadImageFile(dir);
  ASSERT_FALSE(folder_itself.ok());
  EXPECT_EQ(folder_itself.status().message().rfind("cannot open: ", 0), 0u);
  WriteFile(dir / "text.png", "hello, world");
  Result<Image> text = ReadImageFile(dir / "text.png");
  ASSERT_FALSE(text.ok());
  EXPECT_EQ(text.status().message().rfind("not an image", 0), 0u) << text.status().message();
  WriteFile(dir / "empty.jpg", "");
  EXPECT_EQ(ReadImageFile(dir / "empty.jpg").status().message().rfind("not an image", 0), 0u);
  const std::string whole = ReadBytes(dir / "rgba.png");
  WriteFile(dir / "cut.png", whole.substr(0, whole.size() / 2));
  Result<Image> cut = ReadImageFile(dir / "cut.png");
  ASSERT_FALSE(cut.ok());
  EXPECT_EQ(cut.status().message().rfind("truncated or corrupt: ", 0), 0u) << cut.status().message();
}

}  // namespace
}  // namespace orchard::trainer
