#include "web/vendor.h"

#include <filesystem>

namespace orchard::web {

const std::vector<VendorFile>& VendorFiles() {
  // The pages load these by their /vendor/ names (web/static/index.html).
  static const std::vector<VendorFile> files = {
      {"echarts.min.js", "echarts/dist/echarts.min.js", "echarts"},
      {"diff2html.min.js", "diff2html/bundles/js/diff2html.min.js", "diff2html"},
      {"diff2html.min.css", "diff2html/bundles/css/diff2html.min.css", "diff2html"},
  };
  return files;
}

Result<std::string> VendorFilePath(const std::string& assets_dir, const std::string& name) {
  for (const VendorFile& f : VendorFiles()) {
    if (name != f.name) continue;
    std::filesystem::path path = std::filesystem::path(assets_dir) / f.path;
    std::error_code ec;
    if (assets_dir.empty() || !std::filesystem::is_regular_file(path, ec)) {
      return Status::NotFound(
          "the dashboard's library file " + std::string(f.name) + " (npm package " + f.package +
          ") is not installed" + (assets_dir.empty() ? "" : " in " + assets_dir) +
          ": run scripts/install-deps.sh (it runs npm ci), or point `orchard ui --assets` at a "
          "node_modules folder that has it");
    }
    return path.string();
  }
  return Status::NotFound("no vendor file '" + name +
                          "'; the dashboard serves only its own "
                          "libraries under /vendor/");
}

}  // namespace orchard::web
