// LoadImageFolder: one subfolder per class, PNG and JPEG files decoded with
// stb_image (linked from Debian's libstb, which holds the implementation);
// ReadImageFile: one file, for batch inference.
#include <stb_image.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <memory>
#include <utility>

#include "trainer/data/fingerprint.h"
#include "trainer/data/image_set.h"

namespace orchard::trainer {
namespace fs = std::filesystem;

namespace {

constexpr size_t kMaxSkippedExamples = 10;

bool IsHidden(const fs::path& path) {
  const std::string name = path.filename().string();
  return !name.empty() && name[0] == '.';
}

bool HasImageExtension(const fs::path& path) {
  std::string ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg";
}

// The visible subfolders of `dir` (symlinks to folders included), sorted by name.
Result<std::vector<std::string>> ListClassFolders(const fs::path& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code type_ec;
    if (!IsHidden(it->path()) && it->is_directory(type_ec)) names.push_back(it->path().filename().string());
  }
  if (ec) return Status::IoError(dir.string() + ": cannot list: " + ec.message());
  std::sort(names.begin(), names.end());
  return names;
}

// The image files anywhere below `class_dir`, relative to `root`, sorted.
// Symlinks to files are followed; symlinks to folders are not, so a link
// back up the tree cannot make the walk endless.
Result<std::vector<fs::path>> ListImageFiles(const fs::path& root, const fs::path& class_dir) {
  std::vector<fs::path> files;
  std::error_code ec;
  fs::recursive_directory_iterator it(class_dir, fs::directory_options::skip_permission_denied, ec);
  for (const fs::recursive_directory_iterator end; !ec && it != end; it.increment(ec)) {
    if (IsHidden(it->path())) {
      it.disable_recursion_pending();
      continue;
    }
    std::error_code type_ec;
    if (it->is_regular_file(type_ec) && HasImageExtension(it->path())) {
      files.push_back(it->path().lexically_relative(root));
    }
  }
  if (ec) return Status::IoError(class_dir.string() + ": cannot list: " + ec.message());
  std::sort(files.begin(), files.end());
  return files;
}

Status ReadFile(const fs::path& path, std::string* out) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) return Status::IoError("cannot open: Is a directory");
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return Status::IoError(std::string("cannot open: ") + std::strerror(errno));
  const std::streamoff size = in.tellg();
  if (size < 0) return Status::IoError("cannot size");
  out->resize(static_cast<size_t>(size));
  in.seekg(0);
  if (!in.read(out->data(), size)) return Status::IoError("read error");
  return Status::Ok();
}

// Decodes a PNG or JPEG to 1 (grey) or 3 (RGB) channels, dropping alpha.
// The error message is stb's reason ("bad PNG header", "unknown image type").
Result<Image> Decode(const std::string& bytes) {
  if (bytes.empty()) return Status::Corruption("empty file");
  if (bytes.size() > static_cast<size_t>(std::numeric_limits<int>::max())) {
    return Status::Corruption("file too large to decode");
  }
  int width = 0, height = 0, file_channels = 0;
  std::unique_ptr<stbi_uc, void (*)(void*)> decoded(
      stbi_load_from_memory(reinterpret_cast<const stbi_uc*>(bytes.data()), static_cast<int>(bytes.size()),
                            &width, &height, &file_channels, 0),
      &stbi_image_free);
  if (!decoded) {
    const char* reason = stbi_failure_reason();
    return Status::Corruption(reason != nullptr ? reason : "cannot decode");
  }
  Image image;
  image.height = height;
  image.width = width;
  image.channels = file_channels >= 3 ? 3 : 1;
  const size_t num_pixels = static_cast<size_t>(width) * height;
  image.pixels.resize(num_pixels * image.channels);
  if (file_channels == image.channels) {
    std::memcpy(image.pixels.data(), decoded.get(), image.pixels.size());
    return image;
  }
  // Grey+alpha or RGBA: copy the colour channels, leave the alpha behind.
  const stbi_uc* in = decoded.get();
  uint8_t* out = image.pixels.data();
  for (size_t i = 0; i < num_pixels; ++i, in += file_channels, out += image.channels) {
    std::memcpy(out, in, image.channels);
  }
  return image;
}

}  // namespace

Result<Image> ReadImageFile(const fs::path& path) {
  std::string bytes;
  ORCHARD_RETURN_IF_ERROR(ReadFile(path, &bytes));
  Result<Image> image = Decode(bytes);
  if (image.ok()) return image;
  const std::string& reason = image.status().message();
  // stb names what it could not recognise "unknown image type"; everything
  // else is a file of a known type that ends early or does not add up.
  if (reason == "empty file" || reason == "unknown image type") {
    return Status::Corruption("not an image (" + reason + ")");
  }
  return Status::Corruption("truncated or corrupt: " + reason);
}

Result<ImageSet> LoadImageFolder(const fs::path& dir) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) return Status::NotFound(dir.string() + ": no such folder");
  if (!fs::is_directory(dir, ec)) return Status::InvalidArgument(dir.string() + ": not a folder");
  Result<std::vector<std::string>> classes = ListClassFolders(dir);
  if (!classes.ok()) return classes.status();
  if (classes->empty()) {
    return Status::InvalidArgument(dir.string() + ": no class subfolders (expected one folder per class)");
  }

  ImageSet set;
  set.class_names = *classes;
  for (size_t label = 0; label < set.class_names.size(); ++label) {
    Result<std::vector<fs::path>> files = ListImageFiles(dir, dir / set.class_names[label]);
    if (!files.ok()) return files.status();
    for (const fs::path& rel : *files) {
      std::string bytes;
      Status read = ReadFile(dir / rel, &bytes);
      Result<Image> image = read.ok() ? Decode(bytes) : Result<Image>(read);
      if (!image.ok()) {
        ++set.skipped;
        if (set.skipped_examples.size() < kMaxSkippedExamples) {
          set.skipped_examples.push_back(rel.generic_string() + ": " + image.status().message());
        }
        continue;
      }
      set.images.push_back(std::move(*image));
      set.labels.push_back(static_cast<int>(label));
      set.sources.push_back(rel.generic_string());
    }
  }
  if (set.images.empty()) {
    std::string message = dir.string() + ": no readable image";
    if (set.skipped > 0) {
      message += " (" + std::to_string(set.skipped) + " skipped, e.g. " + set.skipped_examples[0] + ")";
    }
    return Status::InvalidArgument(message);
  }
  set.fingerprint = Fingerprint(set);
  return set;
}

}  // namespace orchard::trainer
