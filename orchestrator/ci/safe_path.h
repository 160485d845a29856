// Relative paths that cannot leave the folder they are joined to.
//
// Archives and code snapshots carry file paths written elsewhere; a path such
// as "../../.bashrc" or "/etc/passwd" must never be written to. Pure.
#pragma once

#include <string_view>

namespace orchard::ci {

// True for a non-empty '/'-separated relative path whose components are
// neither empty, "." nor "..", with no NUL byte and at most 4096 bytes.
bool IsSafeRelativePath(std::string_view path);

}  // namespace orchard::ci
