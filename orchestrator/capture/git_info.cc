#include "orchestrator/capture/git_info.h"

#include <utility>
#include <vector>

namespace orchard::capture {
namespace {

Result<CommandResult> Git(const CommandRunner& run, const std::string& cwd,
                          std::vector<std::string> args, size_t max_output = 64 * 1024) {
  CommandSpec spec;
  spec.argv = {"git", "--no-optional-locks", "-c", "core.quotepath=off"};
  for (std::string& a : args) spec.argv.push_back(std::move(a));
  spec.cwd = cwd;
  spec.max_output = max_output;
  spec.timeout_s = 20;
  return run(spec);
}

std::string TrimNewline(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

}  // namespace

std::optional<std::string> GitTopLevel(const std::string& dir, const CommandRunner& run) {
  Result<CommandResult> r = Git(run, dir, {"rev-parse", "--show-toplevel"});
  if (!r.ok() || r->exit_code != 0 || r->truncated) return std::nullopt;
  std::string top = TrimNewline(r->out);
  if (top.empty()) return std::nullopt;
  return top;
}

std::optional<GitInfo> CaptureGitInfo(const std::string& dir, const CommandRunner& run) {
  std::optional<std::string> top = GitTopLevel(dir, run);
  if (!top) return std::nullopt;
  GitInfo info;
  info.root = *top;
  Result<CommandResult> head = Git(run, info.root, {"rev-parse", "--verify", "-q", "HEAD"});
  if (head.ok() && head->exit_code == 0) info.commit = TrimNewline(head->out);

  // Any output at all means dirty, so a few bytes suffice; truncation kills
  // git early in a huge tree.
  Result<CommandResult> status = Git(run, info.root, {"status", "--porcelain"}, 4096);
  info.dirty = status.ok() && !status->out.empty();

  if (!info.commit.empty()) {
    Result<CommandResult> diff =
        Git(run, info.root, {"diff", "HEAD", "--no-color", "--no-ext-diff", "--no-textconv"},
            kMaxGitDiffBytes);
    if (diff.ok() && (diff->exit_code == 0 || diff->truncated)) {
      info.diff = std::move(diff->out);
      info.diff_truncated = diff->truncated;
    }
  }
  return info;
}

}  // namespace orchard::capture
