// The git state of a trainer's source tree.
#pragma once

#include <optional>
#include <string>

#include "orchestrator/capture/command.h"

namespace orchard::capture {

/// Where the code of a run came from. `dirty` is true when `git status`
/// shows anything (staged, unstaged or untracked files that are not
/// ignored); `diff` is `git diff HEAD` (tracked files only; untracked files
/// are in the code snapshot), cut at kMaxGitDiffBytes with
/// `diff_truncated` set. `commit` is "" in a repository without commits.
struct GitInfo {
  std::string root;
  std::string commit;
  bool dirty = false;
  std::string diff;
  bool diff_truncated = false;
};

inline constexpr size_t kMaxGitDiffBytes = 1 << 20;

// The git top-level directory containing `dir`, or nullopt when `dir` is not
// inside a work tree or git cannot be run.
std::optional<std::string> GitTopLevel(const std::string& dir,
                                       const CommandRunner& run = RunCommand);

// GitInfo for the work tree containing `dir`; nullopt when there is none or
// git is missing. Runs a few bounded git commands; never blocks on a lock
// (--no-optional-locks) and never launches a pager or external diff.
std::optional<GitInfo> CaptureGitInfo(const std::string& dir,
                                      const CommandRunner& run = RunCommand);

}  // namespace orchard::capture
