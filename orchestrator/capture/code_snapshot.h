// A content-addressed snapshot of a trainer project's source files.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "flags/status.h"
#include "orchestrator/capture/command.h"
#include "orchestrator/store/types.h"

namespace orchard::capture {

/// Limits and switches for CaptureCodeSnapshot. Every limit bounds time or
/// memory, so that pointing it at a huge directory (even "/") returns quickly.
struct SnapshotOptions {
  // Larger files are skipped. Default: 1 MiB.
  size_t max_file_bytes = 1 << 20;
  // Files that would take the total past this are skipped. Default: 32 MiB.
  size_t max_total_bytes = 32 << 20;
  // At most this many files are kept. Default: 2,000.
  size_t max_files = 2000;
  // The walk stops after examining this many directory entries. Default: 20,000.
  size_t max_walk_entries = 20000;
  // Directories deeper than this are not entered. Default: 32.
  int max_depth = 32;
  // At most this many entries are listed in `skipped`; a last entry counts
  // the rest. Default: 200.
  size_t max_skipped_listed = 200;
  // Use `git ls-files` inside a work tree (so .gitignore applies). Default: true.
  bool use_git = true;
  // Runs git; tests substitute a fake.
  CommandRunner run = RunCommand;
};

// Name of the ignore file read at the snapshot root.
inline constexpr char kOrchardIgnoreFile[] = ".orchardignore";

// Snapshots the project containing `dir`. The root is the git top-level when
// `dir` is inside a work tree (and git runs), else `dir` itself. Files come
// from `git ls-files --cached --others --exclude-standard`, or from a bounded
// walk that never leaves the root and skips .git, .orchard, node_modules,
// __pycache__, build*, venv, .venv and other hidden directories, and symlinks
// that point out of the root. `.orchardignore` at the root applies in both
// modes. Binary files (a NUL in the first 8 KiB) and files over the caps are
// listed in `skipped` with a reason. Files are sorted by path; each carries
// its content, sha256 and mode (0644, or 0755 when executable). The id is
// SnapshotId(files). NotFound/InvalidArgument when `dir` is not a directory.
Result<store::Snapshot> CaptureCodeSnapshot(const std::string& dir,
                                            const SnapshotOptions& options = {});

// sha256 of the canonical manifest: for each file in path order,
// "path\0sha256\0mode\n" with the mode in octal ("644"). Equal trees give
// equal ids whatever their location or capture time.
std::string SnapshotId(const std::vector<store::SnapshotFile>& files);

}  // namespace orchard::capture
