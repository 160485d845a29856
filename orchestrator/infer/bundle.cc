#include "orchestrator/infer/bundle.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "orchestrator/util/sha256.h"

namespace orchard::infer {

namespace fs = std::filesystem;

namespace {

// A file name the card may list: relative, '/'-separated, no `.`/`..`
// segments, so that it cannot name anything outside the folder.
bool SafeName(const std::string& name) {
  if (name.empty() || name.front() == '/' || name.back() == '/') return false;
  if (name.find('\\') != std::string::npos || name.find('\0') != std::string::npos) return false;
  std::stringstream ss(name);
  std::string part;
  while (std::getline(ss, part, '/')) {
    if (part.empty() || part == "." || part == "..") return false;
  }
  return true;
}

Result<std::string> ReadWhole(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return Status::IoError("cannot read " + path);
  std::ostringstream ss;
  ss << f.rdbuf();
  if (f.bad()) return Status::IoError("cannot read " + path);
  return ss.str();
}

}  // namespace

Result<nlohmann::json> ParseJsonText(const std::string& text, const std::string& name) {
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    size_t byte = e.byte == 0 ? 0 : std::min<size_t>(e.byte - 1, text.size());
    size_t line = 1 + static_cast<size_t>(std::count(text.begin(), text.begin() + byte, '\n'));
    std::string what = e.what();
    // nlohmann's message starts "[json.exception.parse_error.101] parse error at line L...";
    // keep the part after the bracket.
    auto close = what.find("] ");
    if (close != std::string::npos) what = what.substr(close + 2);
    return Status::InvalidArgument(name + ":" + std::to_string(line) + ": " + what);
  }
}

Result<BundleFile> HashFile(const std::string& path) {
  auto sha = Sha256File(path);
  if (!sha.ok()) return sha.status();
  std::error_code ec;
  auto size = fs::file_size(path, ec);
  if (ec) return Status::IoError("cannot read " + path + ": " + ec.message());
  return BundleFile{*sha, static_cast<int64_t>(size)};
}

Result<Bundle> ReadBundle(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    if (fs::exists(dir, ec)) return Status::InvalidArgument(dir + " is not a bundle folder (it is a file)");
    return Status::NotFound("no bundle at " + dir + " (no such folder)");
  }
  const std::string card_path = (fs::path(dir) / kBundleCard).string();
  if (!fs::exists(card_path, ec)) {
    return Status::NotFound("no bundle at " + dir + ": " + card_path + " is missing");
  }
  auto text = ReadWhole(card_path);
  if (!text.ok()) return text.status();
  auto card = ParseJsonText(*text, card_path);
  if (!card.ok()) return card.status();
  if (!card->is_object()) return Status::InvalidArgument(card_path + ": expected a JSON object");
  if (card->value("format", "") != kBundleFormat) {
    return Status::InvalidArgument(card_path + ": \"format\" is not \"" + kBundleFormat +
                                   "\"; not an Orchard bundle");
  }
  Bundle b;
  b.dir = dir;
  b.card_sha256 = Sha256Hex(*text);
  auto files = card->find("files");
  if (files == card->end() || !files->is_object() || files->empty()) {
    return Status::InvalidArgument(card_path + ": \"files\" must list the bundle's files "
                                   "as {name: {sha256, bytes}}");
  }
  for (const auto& [name, f] : files->items()) {
    if (!SafeName(name) || name == kBundleCard) {
      return Status::InvalidArgument(card_path + ": files: '" + name +
                                     "' is not a file name inside the bundle");
    }
    if (!f.is_object() || !f.contains("sha256") || !f["sha256"].is_string() ||
        !f.contains("bytes") || !f["bytes"].is_number_integer()) {
      return Status::InvalidArgument(card_path + ": files." + name +
                                     ": expected {\"sha256\": HEX, \"bytes\": N}");
    }
    b.files[name] = BundleFile{f["sha256"].get<std::string>(), f["bytes"].get<int64_t>()};
  }
  b.card = std::move(card).value();
  return b;
}

Result<std::vector<std::string>> BundleFolderFiles(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  fs::recursive_directory_iterator it(dir, fs::directory_options::none, ec), end;
  if (ec) return Status::IoError("cannot list " + dir + ": " + ec.message());
  for (; it != end; it.increment(ec)) {
    if (ec) return Status::IoError("cannot list " + dir + ": " + ec.message());
    if (it->is_directory(ec)) continue;
    std::string rel = fs::relative(it->path(), dir, ec).generic_string();
    if (rel == kBundleCard) continue;
    out.push_back(rel);
  }
  if (ec) return Status::IoError("cannot list " + dir + ": " + ec.message());
  std::sort(out.begin(), out.end());
  return out;
}

Status VerifyBundle(const Bundle& bundle) {
  auto present = BundleFolderFiles(bundle.dir);
  if (!present.ok()) return present.status();
  for (const auto& name : *present) {
    if (!bundle.files.count(name)) {
      return Status::InvalidArgument("bundle " + bundle.dir + ": " + name +
                                     " is not listed in bundle.json's files (an unrecorded "
                                     "file; remove it or re-export the bundle)");
    }
  }
  for (const auto& [name, want] : bundle.files) {
    std::string path = (fs::path(bundle.dir) / name).string();
    std::error_code ec;
    if (!fs::is_regular_file(path, ec)) {
      return Status::InvalidArgument("bundle " + bundle.dir + ": " + name +
                                     " is listed in bundle.json but missing");
    }
    auto got = HashFile(path);
    if (!got.ok()) return got.status();
    if (got->bytes != want.bytes) {
      return Status::InvalidArgument("bundle " + bundle.dir + ": " + name + " has " +
                                     std::to_string(got->bytes) + " bytes, bundle.json says " +
                                     std::to_string(want.bytes) + " (a corrupt or tampered file)");
    }
    if (got->sha256 != want.sha256) {
      return Status::InvalidArgument("bundle " + bundle.dir + ": " + name +
                                     ": sha256 mismatch: expected " + want.sha256 + ", found " +
                                     got->sha256 + " (a corrupt or tampered file)");
    }
  }
  return Status::Ok();
}

Result<Bundle> LoadVerifiedBundle(const std::string& dir) {
  auto b = ReadBundle(dir);
  if (!b.ok()) return b.status();
  ORCHARD_RETURN_IF_ERROR(VerifyBundle(*b));
  return b;
}

}  // namespace orchard::infer
