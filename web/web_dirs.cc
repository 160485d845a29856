#include "web/web_dirs.h"

#include <filesystem>

namespace orchard::web {

namespace fs = std::filesystem;

WebDirs DefaultWebDirs(const std::string& exe, const std::string& built_in_static,
                       const std::string& built_in_assets) {
  WebDirs d{built_in_static, built_in_assets};
  if (exe.empty()) return d;
  std::error_code ec;
  const fs::path share = fs::path(exe).parent_path().parent_path() / "share/orchard/web";
  if (fs::is_regular_file(share / "static/index.html", ec))
    d.static_dir = (share / "static").string();
  if (fs::is_directory(share / "node_modules", ec))
    d.assets_dir = (share / "node_modules").string();
  return d;
}

std::string CurrentExecutable() {
  std::error_code ec;
  fs::path p = fs::read_symlink("/proc/self/exe", ec);
  return ec ? "" : p.string();
}

}  // namespace orchard::web
