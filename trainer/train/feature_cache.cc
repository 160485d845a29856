#include "trainer/train/feature_cache.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>

namespace orchard::trainer {
namespace {

constexpr std::array<char, 8> kMagic = {'O', 'R', 'C', 'H', 'F', 'E', 'A', 'T'};
constexpr uint32_t kVersion = 1;
constexpr int64_t kHeaderSize = 64;
constexpr uint32_t kEndianProbe = 0x01020304;

struct Header {
  std::array<char, 8> magic;
  uint32_t version;
  uint32_t endian;
  int64_t rows;
  int64_t dim;
  std::array<char, 32> key;  // the first 32 characters of the key
};
static_assert(sizeof(Header) == kHeaderSize);

std::string Errno(const std::string& what, const std::filesystem::path& path) {
  return what + " " + path.string() + ": " + std::strerror(errno);
}

// Holds flock() on a file descriptor for a scope.
class FileLock {
 public:
  FileLock(int fd, int operation) : fd_(fd) {
    while (flock(fd_, operation) != 0 && errno == EINTR) {
    }
  }
  ~FileLock() { flock(fd_, LOCK_UN); }
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  int fd_;
};

Status PreadAll(int fd, void* buf, size_t size, int64_t offset, const std::filesystem::path& path) {
  auto* p = static_cast<char*>(buf);
  while (size > 0) {
    ssize_t n = pread(fd, p, size, offset);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::IoError(Errno("cannot read", path));
    if (n == 0) return Status::Corruption("feature cache " + path.string() + " is truncated");
    p += n;
    size -= static_cast<size_t>(n);
    offset += n;
  }
  return Status::Ok();
}

Status PwriteAll(int fd, const void* buf, size_t size, int64_t offset,
                 const std::filesystem::path& path) {
  const auto* p = static_cast<const char*>(buf);
  while (size > 0) {
    ssize_t n = pwrite(fd, p, size, offset);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Status::IoError(Errno("cannot write", path));
    p += n;
    size -= static_cast<size_t>(n);
    offset += n;
  }
  return Status::Ok();
}

}  // namespace

Result<FeatureCache> FeatureCache::Open(const std::filesystem::path& dir, const std::string& key,
                                        int64_t rows, int64_t dim) {
  if (rows <= 0 || dim <= 0) {
    return Status::InvalidArgument("feature cache: rows and dim must be positive");
  }
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::IoError("cannot create " + dir.string() + ": " + ec.message());
  std::filesystem::path path = dir / (key + ".features");
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return Status::IoError(Errno("cannot open", path));
  FeatureCache cache(path, fd, rows, dim);

  Header want{};
  want.magic = kMagic;
  want.version = kVersion;
  want.endian = kEndianProbe;
  want.rows = rows;
  want.dim = dim;
  std::memcpy(want.key.data(), key.data(), std::min(key.size(), want.key.size()));

  // The first opener writes the header; the rest check it. Exclusive so two
  // first openers do not both write.
  FileLock lock(fd, LOCK_EX);
  struct stat st {};
  if (fstat(fd, &st) != 0) return Status::IoError(Errno("cannot stat", path));
  if (st.st_size == 0) {
    ORCHARD_RETURN_IF_ERROR(PwriteAll(fd, &want, sizeof want, 0, path));
    // Extends the file (sparsely) so that every presence byte reads as 0.
    if (ftruncate(fd, cache.DataOffset() + rows * dim * int64_t{sizeof(float)}) != 0) {
      return Status::IoError(Errno("cannot size", path));
    }
    return cache;
  }
  Header have{};
  ORCHARD_RETURN_IF_ERROR(PreadAll(fd, &have, sizeof have, 0, path));
  if (std::memcmp(&have, &want, sizeof have) != 0) {
    return Status::Corruption("feature cache " + path.string() +
                              " does not match this data (another size, version or a torn "
                              "write); delete it to rebuild it");
  }
  return cache;
}

FeatureCache::FeatureCache(FeatureCache&& other) noexcept
    : path_(std::move(other.path_)), fd_(other.fd_), rows_(other.rows_), dim_(other.dim_) {
  other.fd_ = -1;
}

FeatureCache& FeatureCache::operator=(FeatureCache&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    path_ = std::move(other.path_);
    fd_ = other.fd_;
    rows_ = other.rows_;
    dim_ = other.dim_;
    other.fd_ = -1;
  }
  return *this;
}

FeatureCache::~FeatureCache() {
  if (fd_ >= 0) ::close(fd_);
}

int64_t FeatureCache::DataOffset() const {
  // Presence bytes, then the values aligned to a page.
  int64_t end = kHeaderSize + rows_;
  return (end + 4095) / 4096 * 4096;
}

Status FeatureCache::CheckRow(int64_t row) const {
  if (row < 0 || row >= rows_) {
    return Status::InvalidArgument("feature cache row " + std::to_string(row) +
                                   " is outside 0.." + std::to_string(rows_ - 1));
  }
  return Status::Ok();
}

Result<std::vector<int64_t>> FeatureCache::Missing(const std::vector<int64_t>& rows) const {
  std::vector<unsigned char> present(static_cast<size_t>(rows_));
  {
    FileLock lock(fd_, LOCK_SH);
    ORCHARD_RETURN_IF_ERROR(PreadAll(fd_, present.data(), present.size(), kHeaderSize, path_));
  }
  std::vector<int64_t> missing;
  for (int64_t row : rows) {
    ORCHARD_RETURN_IF_ERROR(CheckRow(row));
    if (present[static_cast<size_t>(row)] != 1) missing.push_back(row);
  }
  return missing;
}

Status FeatureCache::Read(const std::vector<int64_t>& rows, float* out) const {
  const size_t row_bytes = static_cast<size_t>(dim_) * sizeof(float);
  for (size_t i = 0; i < rows.size(); ++i) {
    ORCHARD_RETURN_IF_ERROR(CheckRow(rows[i]));
    ORCHARD_RETURN_IF_ERROR(PreadAll(fd_, out + i * static_cast<size_t>(dim_), row_bytes,
                                     DataOffset() + rows[i] * static_cast<int64_t>(row_bytes),
                                     path_));
  }
  return Status::Ok();
}

Status FeatureCache::Write(const std::vector<int64_t>& rows, const float* values) {
  const size_t row_bytes = static_cast<size_t>(dim_) * sizeof(float);
  for (int64_t row : rows) ORCHARD_RETURN_IF_ERROR(CheckRow(row));
  FileLock lock(fd_, LOCK_EX);
  for (size_t i = 0; i < rows.size(); ++i) {
    ORCHARD_RETURN_IF_ERROR(PwriteAll(fd_, values + i * static_cast<size_t>(dim_), row_bytes,
                                      DataOffset() + rows[i] * static_cast<int64_t>(row_bytes),
                                      path_));
  }
  // Values reach the disk before the bytes that say they are there.
  if (fdatasync(fd_) != 0) return Status::IoError(Errno("cannot sync", path_));
  const unsigned char one = 1;
  for (int64_t row : rows) {
    ORCHARD_RETURN_IF_ERROR(PwriteAll(fd_, &one, 1, kHeaderSize + row, path_));
  }
  return Status::Ok();
}

}  // namespace orchard::trainer
