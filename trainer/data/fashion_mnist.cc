// LoadFashionMnist: the gzipped IDX files of Fashion-MNIST.
//
// IDX is a big-endian header (a magic number whose low byte is the number of
// dimensions, then one uint32 per dimension) followed by the records as
// unsigned bytes. zlib's gz* functions read it; gzopen also reads a file that
// is not compressed, as is.
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iterator>
#include <memory>
#include <utility>

#include "trainer/data/fingerprint.h"
#include "trainer/data/image_set.h"

namespace orchard::trainer {
namespace fs = std::filesystem;

namespace {

constexpr uint32_t kImagesMagic = 0x00000803;  // unsigned bytes, 3 dimensions
constexpr uint32_t kLabelsMagic = 0x00000801;  // unsigned bytes, 1 dimension
constexpr uint32_t kMaxSide = 4096;
// Large reads keep the 47 MB training images well under a second.
constexpr uint64_t kReadChunk = 16u << 20;

constexpr const char* kClassNames[] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                       "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
constexpr int kNumClasses = std::size(kClassNames);

std::string Hex32(uint32_t v) {
  char buf[11];
  std::snprintf(buf, sizeof buf, "0x%08x", v);
  return buf;
}

// One IDX file open for reading, positioned after its header.
class IdxReader {
 public:
  // Opens `path` and reads its header, which must start with `magic`.
  static Result<IdxReader> Open(const fs::path& path, uint32_t magic) {
    std::error_code ec;
    if (!fs::is_regular_file(path, ec)) return Status::NotFound(path.string() + ": no such file");
    gzFile gz = gzopen(path.c_str(), "rb");
    if (gz == nullptr) return Status::IoError(path.string() + ": cannot open: " + std::strerror(errno));
    IdxReader reader(path.string(), gz);
    gzbuffer(gz, 1u << 20);
    std::vector<uint8_t> header;
    const uint32_t num_dims = magic & 0xff;
    ORCHARD_RETURN_IF_ERROR(reader.Read(4 * (1 + num_dims), "header", &header));
    auto be32 = [&](size_t i) {
      return uint32_t{header[4 * i]} << 24 | uint32_t{header[4 * i + 1]} << 16 |
             uint32_t{header[4 * i + 2]} << 8 | uint32_t{header[4 * i + 3]};
    };
    if (be32(0) != magic) {
      return reader.Corrupt("bad magic number " + Hex32(be32(0)) + ", expected " + Hex32(magic));
    }
    for (uint32_t i = 1; i <= num_dims; ++i) reader.dims_.push_back(be32(i));
    return reader;
  }

  const std::vector<uint32_t>& dims() const { return dims_; }

  // Reads exactly `bytes` bytes of `what`; Corruption naming both sizes when
  // the file ends first.
  Status Read(uint64_t bytes, const std::string& what, std::vector<uint8_t>* out) {
    // Growing with the data read (not reserving `bytes` up front) keeps a
    // corrupt header that claims billions of records from allocating them.
    out->clear();
    while (out->size() < bytes) {
      const size_t old_size = out->size();
      const size_t want = std::min<uint64_t>(kReadChunk, bytes - old_size);
      out->resize(old_size + want);
      const int n = gzread(gz_.get(), out->data() + old_size, static_cast<unsigned>(want));
      if (n < 0) {
        int errnum = 0;
        return Corrupt(std::string("cannot read ") + what + ": " + gzerror(gz_.get(), &errnum));
      }
      out->resize(old_size + n);
      if (static_cast<size_t>(n) < want) break;  // end of file
    }
    if (out->size() < bytes) {
      return Corrupt("truncated " + what + ": " + std::to_string(bytes) + " bytes expected, " +
                     std::to_string(out->size()) + " present");
    }
    return Status::Ok();
  }

  Status Corrupt(const std::string& what) const { return Status::Corruption(path_ + ": " + what); }

 private:
  IdxReader(std::string path, gzFile gz) : path_(std::move(path)), gz_(gz, &gzclose) {}

  std::string path_;
  std::unique_ptr<gzFile_s, int (*)(gzFile)> gz_;
  std::vector<uint32_t> dims_;
};

}  // namespace

Result<ImageSet> LoadFashionMnist(const fs::path& dir, Part part, int64_t limit) {
  if (limit < 0) return Status::InvalidArgument("limit must be >= 0, got " + std::to_string(limit));
  const std::string prefix = part == Part::kTrain ? "train" : "t10k";
  const std::string images_name = prefix + "-images-idx3-ubyte.gz";

  Result<IdxReader> images = IdxReader::Open(dir / images_name, kImagesMagic);
  if (!images.ok()) return images.status();
  Result<IdxReader> labels = IdxReader::Open(dir / (prefix + "-labels-idx1-ubyte.gz"), kLabelsMagic);
  if (!labels.ok()) return labels.status();

  const uint32_t num_images = images->dims()[0];
  const uint32_t rows = images->dims()[1];
  const uint32_t cols = images->dims()[2];
  if (labels->dims()[0] != num_images) {
    return labels->Corrupt(std::to_string(labels->dims()[0]) + " labels for " +
                           std::to_string(num_images) + " images in " + images_name);
  }
  if (rows < 1 || rows > kMaxSide || cols < 1 || cols > kMaxSide) {
    return images->Corrupt("implausible image size " + std::to_string(rows) + "x" +
                           std::to_string(cols));
  }
  const uint64_t count = limit > 0 ? std::min<uint64_t>(num_images, limit) : num_images;
  const uint64_t image_bytes = uint64_t{rows} * cols;

  std::vector<uint8_t> label_bytes;
  ORCHARD_RETURN_IF_ERROR(labels->Read(count, "labels", &label_bytes));
  std::vector<uint8_t> pixels;
  ORCHARD_RETURN_IF_ERROR(images->Read(count * image_bytes, "image data", &pixels));

  ImageSet set;
  set.class_names.assign(std::begin(kClassNames), std::end(kClassNames));
  set.images.reserve(count);
  set.labels.reserve(count);
  set.sources.reserve(count);
  for (uint64_t i = 0; i < count; ++i) {
    if (label_bytes[i] >= kNumClasses) {
      return labels->Corrupt("label " + std::to_string(label_bytes[i]) + " of record " +
                             std::to_string(i) + " is not in [0, " + std::to_string(kNumClasses) + ")");
    }
    Image image;
    image.height = static_cast<int>(rows);
    image.width = static_cast<int>(cols);
    image.channels = 1;
    const uint8_t* begin = pixels.data() + i * image_bytes;
    image.pixels.assign(begin, begin + image_bytes);
    set.images.push_back(std::move(image));
    set.labels.push_back(label_bytes[i]);
    set.sources.push_back(images_name + "#" + std::to_string(i));
  }
  set.fingerprint = Fingerprint(set);
  return set;
}

}  // namespace orchard::trainer
