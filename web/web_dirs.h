/// Where `orchard ui` finds the dashboard's pages and the npm libraries they
/// load, when the command line does not say.
///
/// An installed build keeps both beside the executable, under
/// PREFIX/share/orchard/web/ (static/ and node_modules/, see
/// web/CMakeLists.txt); a build tree uses the source tree's web/static/ and
/// node_modules/ (compiled in). The first candidate folder that exists wins;
/// when none does, the compiled-in one is returned and the server explains
/// what is missing. Pure, apart from checking that folders exist.
#pragma once

#include <string>

namespace orchard::web {

struct WebDirs {
  std::string static_dir;  // index.html and the app's own files
  std::string assets_dir;  // a node_modules folder holding the vendor files (vendor.h)
};

// exe: the running executable's path ("" when unknown).
WebDirs DefaultWebDirs(const std::string& exe, const std::string& built_in_static,
                       const std::string& built_in_assets);

// The running executable (/proc/self/exe), "" when it cannot be read.
std::string CurrentExecutable();

}  // namespace orchard::web
