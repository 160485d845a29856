#include "orchestrator/store/home.h"

#include <cstdlib>
#include <filesystem>
#include <system_error>

namespace fs = std::filesystem;

namespace orchard::store {

namespace {

Home At(const fs::path& root) {
  Home h;
  fs::path abs = fs::absolute(root).lexically_normal();
  std::string s = abs.string();
  if (s.size() > 1 && s.back() == '/') s.pop_back();
  h.root = s;
  h.db_path = s + "/orchard.db";
  h.runs_dir = s + "/runs";
  std::error_code ec;
  h.exists = fs::is_directory(abs, ec);
  return h;
}

}  // namespace

Result<Home> LocateHome(const std::string& explicit_home, const std::string& cwd) {
  std::string given = explicit_home;
  if (given.empty()) {
    const char* env = std::getenv("ORCHARD_HOME");
    if (env && *env) given = env;
  }
  if (!given.empty()) {
    std::error_code ec;
    if (fs::exists(given, ec) && !fs::is_directory(given, ec)) {
      return Status::InvalidArgument("the store location " + given + " is not a folder");
    }
    fs::path p = fs::path(given).is_absolute() ? fs::path(given) : fs::path(cwd) / given;
    return At(p);
  }
  fs::path dir = fs::absolute(cwd).lexically_normal();
  for (fs::path d = dir;; d = d.parent_path()) {
    std::error_code ec;
    if (fs::is_directory(d / ".orchard", ec)) return At(d / ".orchard");
    if (d == d.root_path() || d.parent_path() == d) break;
  }
  return At(dir / ".orchard");
}

Status EnsureHome(const Home& home) {
  std::error_code ec;
  for (const std::string& dir : {home.runs_dir, home.root + "/logs"}) {
    fs::create_directories(dir, ec);
    if (ec) return Status::IoError("cannot create the store folder " + dir + ": " + ec.message());
  }
  return Status::Ok();
}

}  // namespace orchard::store
