// Labelled images in memory, and where they come from: Fashion-MNIST's
// gzipped IDX files (Debian's dataset-fashion-mnist) or an image folder with
// one subfolder per class (PNG and JPEG, decoded with stb). No torch here.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>
#include "flags/status.h"

namespace orchard::trainer {

// One decoded image, 8 bits per channel, rows top to bottom, channels
// interleaved (HWC). channels is 1 (grey) or 3 (RGB); an alpha channel is
// dropped and a grey+alpha image becomes grey.
struct Image {
  int height = 0;
  int width = 0;
  int channels = 0;
  std::vector<uint8_t> pixels;  // height * width * channels
};

struct ImageSet {
  std::vector<Image> images;
  std::vector<int> labels;                // parallel to images, in [0, class_names.size())
  std::vector<std::string> class_names;   // index = label
  // Where each image came from, parallel to images: a path relative to the
  // folder, or "train-images-idx3-ubyte.gz#123" for IDX records (numbered
  // from 0).
  std::vector<std::string> sources;
  // Files that could not be decoded (corrupt, truncated, not an image):
  // skipped, counted, and the first few described ("cat/3.png: bad PNG header").
  int64_t skipped = 0;
  std::vector<std::string> skipped_examples;  // at most 10
  // Stable content identity of the set, for cache keys: sha256 hex over the
  // class names, labels and pixels (same files, same fingerprint; any change
  // to one pixel, label or class name changes it).
  std::string fingerprint;
};

// Which part of a dataset that ships its own train/test division.
enum class Part { kTrain, kTest };

// Reads Fashion-MNIST from `dir` (default /usr/share/datasets/fashion-mnist):
// train-images-idx3-ubyte.gz + train-labels-idx1-ubyte.gz (kTrain) or the
// t10k-* pair (kTest). Classes are Fashion-MNIST's ten names ("T-shirt/top",
// "Trouser", ...). Images are 28x28x1. Errors (missing file, bad magic
// number, truncated data, image and label counts that differ) name the file
// and what is wrong. `limit` > 0 reads only the first `limit` records.
Result<ImageSet> LoadFashionMnist(const std::filesystem::path& dir, Part part, int64_t limit = 0);

// Reads an image folder: every immediate subfolder is a class (sorted by
// name, which gives the label order); every regular file below it (recursive,
// sorted by path) with extension .png, .jpg or .jpeg (any case) is decoded.
// Hidden files and folders (starting with '.') are ignored. Undecodable files
// are skipped and counted, never fatal. Errors: the folder does not exist, has
// no class subfolders, or no readable image at all.
Result<ImageSet> LoadImageFolder(const std::filesystem::path& dir);

// Reads and decodes one image file (PNG, JPEG or BMP, recognised by content,
// not by extension) as LoadImageFolder decodes each of its files. Errors say
// why in a few words, for a batch-inference record: "cannot open: No such
// file or directory" (IoError), "not an image (unknown image type)",
// "truncated or corrupt: bad huffman code" (Corruption, with stb's reason).
// Thread-safe (stb keeps its failure reason per thread).
Result<Image> ReadImageFile(const std::filesystem::path& path);

// A dataset named on the command line:
//   "fashion-mnist"          Fashion-MNIST from the default Debian folder
//   "fashion-mnist:DIR"      Fashion-MNIST IDX files from DIR
//   anything else            an image folder path
// For an image folder, Part::kTest reads DIR/test if the folder has train/
// and test/ subfolders (and Part::kTrain then reads DIR/train); otherwise
// kTest is an error saying the folder has no test part. For an image folder,
// `limit` > 0 keeps `limit` images taken from the classes in turn (each
// class's first, then each class's second, ...), so that every class stays in.
Result<ImageSet> LoadDataset(const std::string& spec, Part part, int64_t limit = 0);

// How a labelled set is divided (DESIGN: split by seed, label budget).
struct SplitOptions {
  // Validation images per class; when 0, val_fraction of each class instead.
  int64_t val_per_class = 100;
  double val_fraction = 0.1;
  // Training images per class taken from what is left (the label budget);
  // 0 = all of it.
  int64_t labels_per_class = 0;
  uint64_t seed = 0;
};

// Index lists into an ImageSet. Deterministic for (labels, options): the
// same seed gives the same lists on every machine (own PRNG, not std::
// distributions). Validation and training are disjoint; each class keeps at
// least one training image when it has any; both lists are sorted
// ascending. The validation set does not depend on labels_per_class, so runs
// with different label budgets are compared on the same validation images.
struct Split {
  std::vector<int64_t> train;
  std::vector<int64_t> val;
};
Result<Split> SplitDataset(const std::vector<int>& labels, int num_classes,
                           const SplitOptions& options);

}  // namespace orchard::trainer
