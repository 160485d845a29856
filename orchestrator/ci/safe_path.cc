#include "orchestrator/ci/safe_path.h"

namespace orchard::ci {

bool IsSafeRelativePath(std::string_view path) {
  if (path.empty() || path.size() > 4096 || path.front() == '/') return false;
  if (path.find('\0') != std::string_view::npos) return false;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view part = path.substr(start, end - start);
    if (part.empty() || part == "." || part == "..") return false;
    start = end + 1;
  }
  return true;
}

}  // namespace orchard::ci
