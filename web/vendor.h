/// The third-party files the dashboard pages load (Apache ECharts, diff2html),
/// installed from npm by scripts/install-deps.sh and served offline by the
/// binary as GET /vendor/NAME.
///
/// Only the files in a fixed table are reachable: a NAME not in it is
/// NotFound whatever it holds (`..`, slashes, other packages), so nothing
/// else of node_modules can be read. A listed file missing from the assets
/// folder is NotFound with a message that says how to install it. Pure;
/// thread-safe.
#pragma once

#include <string>
#include <vector>

#include "flags/status.h"

namespace orchard::web {

struct VendorFile {
  const char* name;     // as in /vendor/NAME
  const char* path;     // relative to the assets (node_modules) folder
  const char* package;  // the npm package that ships it (package.json pins it)
};

// Every file /vendor/ serves.
const std::vector<VendorFile>& VendorFiles();

// The path of /vendor/NAME under assets_dir (a node_modules folder).
Result<std::string> VendorFilePath(const std::string& assets_dir, const std::string& name);

}  // namespace orchard::web
