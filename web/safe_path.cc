#include "web/safe_path.h"

#include <filesystem>
#include <map>

namespace orchard::web {

namespace fs = std::filesystem;

namespace {

bool Within(const fs::path& inner, const fs::path& outer) {
  auto i = inner.begin();
  for (auto o = outer.begin(); o != outer.end(); ++o, ++i) {
    if (o->empty()) continue;  // a trailing separator
    if (i == inner.end() || *i != *o) return false;
  }
  return true;
}

}  // namespace

Result<std::string> ResolveInside(const std::string& root, const std::string& relative) {
  if (relative.empty()) return Status::InvalidArgument("an empty path");
  if (relative.find('\0') != std::string::npos) {
    return Status::InvalidArgument("the path holds a NUL byte");
  }
  if (relative.front() == '/' || relative.front() == '\\') {
    return Status::InvalidArgument("'" + relative + "' is an absolute path; paths are relative "
                                   "to the folder");
  }
  size_t start = 0;
  while (start <= relative.size()) {
    size_t slash = relative.find_first_of("/\\", start);
    if (slash == std::string::npos) slash = relative.size();
    if (relative.compare(start, slash - start, "..") == 0 && slash - start == 2) {
      return Status::InvalidArgument("'" + relative + "' has a '..' segment");
    }
    start = slash + 1;
  }
  std::error_code ec;
  fs::path base = fs::canonical(root, ec);
  if (ec) return Status::NotFound("the folder " + root + " does not exist");
  fs::path full = fs::canonical(base / relative, ec);
  if (ec) return Status::NotFound("no file '" + relative + "'");
  if (!Within(full, base)) {
    return Status::NotFound("no file '" + relative + "' inside the folder (it leads outside)");
  }
  if (!fs::is_regular_file(full, ec)) {
    return Status::NotFound("'" + relative + "' is not a file");
  }
  return full.string();
}

std::string MimeTypeFor(const std::string& path) {
  static const std::map<std::string, std::string> kTypes = {
      {".html", "text/html; charset=utf-8"}, {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"}, {".css", "text/css; charset=utf-8"},
      {".json", "application/json"}, {".txt", "text/plain; charset=utf-8"},
      {".log", "text/plain; charset=utf-8"}, {".csv", "text/csv; charset=utf-8"},
      {".png", "image/png"}, {".jpg", "image/jpeg"}, {".jpeg", "image/jpeg"},
      {".gif", "image/gif"}, {".svg", "image/svg+xml"}, {".ico", "image/x-icon"},
      {".map", "application/json"}, {".woff2", "font/woff2"}};
  std::string ext = fs::path(path).extension().string();
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto it = kTypes.find(ext);
  return it == kTypes.end() ? "application/octet-stream" : it->second;
}

}  // namespace orchard::web
