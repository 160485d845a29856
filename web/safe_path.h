/// Resolving a path that came in a request against a folder it must stay in
/// (a run folder for artifacts, the static folder for pages).
///
/// ResolveInside() refuses, before touching the file system, a path that is
/// empty, absolute, holds a NUL byte or has a `..` segment (InvalidArgument);
/// then it resolves every symbolic link and refuses a result outside the
/// folder (NotFound, so a link out of the folder looks like no file), a
/// missing file (NotFound) and anything but a regular file (NotFound).
/// Thread-safe.
#pragma once

#include <string>

#include "flags/status.h"

namespace orchard::web {

// The canonical path of root/relative, a regular file inside root.
Result<std::string> ResolveInside(const std::string& root, const std::string& relative);

// A Content-Type for a file name by its extension ("application/octet-stream"
// when unknown).
std::string MimeTypeFor(const std::string& path);

}  // namespace orchard::web
