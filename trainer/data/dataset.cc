// LoadDataset: a dataset named on the command line.
#include <algorithm>
#include <utility>

#include "trainer/data/fingerprint.h"
#include "trainer/data/image_set.h"

namespace orchard::trainer {
namespace fs = std::filesystem;

namespace {

constexpr char kFashionMnist[] = "fashion-mnist";
constexpr char kDefaultFashionMnistDir[] = "/usr/share/datasets/fashion-mnist";

// Keeps `limit` images taken from the classes in turn (each class's first,
// then each class's second, ...), in their original order: a folder is sorted
// by class, so its first `limit` images would often be one class only.
ImageSet KeepBalanced(ImageSet set, int64_t limit) {
  std::vector<std::vector<size_t>> by_class(set.class_names.size());
  for (size_t i = 0; i < set.labels.size(); ++i) by_class[set.labels[i]].push_back(i);
  std::vector<size_t> kept;
  for (size_t round = 0; static_cast<int64_t>(kept.size()) < limit; ++round) {
    const size_t before = kept.size();
    for (const std::vector<size_t>& members : by_class) {
      if (round < members.size() && static_cast<int64_t>(kept.size()) < limit) kept.push_back(members[round]);
    }
    if (kept.size() == before) break;  // every class used up
  }
  std::sort(kept.begin(), kept.end());

  ImageSet out;
  out.class_names = std::move(set.class_names);
  out.skipped = set.skipped;
  out.skipped_examples = std::move(set.skipped_examples);
  for (size_t i : kept) {
    out.images.push_back(std::move(set.images[i]));
    out.labels.push_back(set.labels[i]);
    out.sources.push_back(std::move(set.sources[i]));
  }
  out.fingerprint = Fingerprint(out);
  return out;
}

}  // namespace

Result<ImageSet> LoadDataset(const std::string& spec, Part part, int64_t limit) {
  if (limit < 0) return Status::InvalidArgument("limit must be >= 0, got " + std::to_string(limit));
  if (spec.empty()) return Status::InvalidArgument("empty dataset name");
  if (spec == kFashionMnist) return LoadFashionMnist(kDefaultFashionMnistDir, part, limit);
  const std::string fashion_prefix = std::string(kFashionMnist) + ":";
  if (spec.rfind(fashion_prefix, 0) == 0) {
    const std::string dir = spec.substr(fashion_prefix.size());
    if (dir.empty()) return Status::InvalidArgument("'" + spec + "' names no folder after ':'");
    return LoadFashionMnist(dir, part, limit);
  }

  const fs::path root(spec);
  std::error_code ec;
  const bool has_parts = fs::is_directory(root / "train", ec) && fs::is_directory(root / "test", ec);
  if (part == Part::kTest && !has_parts) {
    return Status::InvalidArgument(spec + ": no test part (expected train/ and test/ subfolders)");
  }
  Result<ImageSet> set = LoadImageFolder(has_parts ? root / (part == Part::kTrain ? "train" : "test") : root);
  if (!set.ok() || limit == 0 || static_cast<int64_t>(set->images.size()) <= limit) return set;
  return KeepBalanced(std::move(*set), limit);
}

}  // namespace orchard::trainer
