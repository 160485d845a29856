// A file of backbone features, one row per image of a dataset, filled in as
// runs need them and shared by every later run with the same backbone, data
// and preprocessing (DESIGN.md, "Feature caching"). The key (a sha256 over
// those three) names the file; rows are computed once and never change, so
// runs that compute the same row concurrently write identical bytes.
//
// Layout: a 64-byte header (magic, version, rows, dim, key), one presence
// byte per row, then rows * dim float32 values (little-endian, as the machine
// writes them; the header records that). A row's presence byte is written
// only after its values are on disk, under an exclusive lock, so a reader
// never sees a row marked present that is not.
#pragma once
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>
#include "flags/status.h"

namespace orchard::trainer {

class FeatureCache {
 public:
  // Opens (or creates) the cache file for `key` under `dir`, for a dataset of
  // `rows` images and features of `dim` floats. A file whose header does not
  // match (another size, a torn header) is an error naming it, never silently
  // reused.
  static Result<FeatureCache> Open(const std::filesystem::path& dir, const std::string& key,
                                   int64_t rows, int64_t dim);
  FeatureCache(FeatureCache&& other) noexcept;
  FeatureCache& operator=(FeatureCache&& other) noexcept;
  FeatureCache(const FeatureCache&) = delete;
  FeatureCache& operator=(const FeatureCache&) = delete;
  ~FeatureCache();

  // Which of `rows` are not yet in the file, in the order given.
  Result<std::vector<int64_t>> Missing(const std::vector<int64_t>& rows) const;
  // Copies `rows` (all present) into `out`, row-major: rows.size() * dim floats.
  Status Read(const std::vector<int64_t>& rows, float* out) const;
  // Stores `rows` from `values` (rows.size() * dim floats) and marks them present.
  Status Write(const std::vector<int64_t>& rows, const float* values);

  const std::filesystem::path& path() const { return path_; }
  int64_t dim() const { return dim_; }

 private:
  FeatureCache(std::filesystem::path path, int fd, int64_t rows, int64_t dim)
      : path_(std::move(path)), fd_(fd), rows_(rows), dim_(dim) {}
  int64_t DataOffset() const;
  Status CheckRow(int64_t row) const;

  std::filesystem::path path_;
  int fd_ = -1;
  int64_t rows_ = 0;
  int64_t dim_ = 0;
};

}  // namespace orchard::trainer
