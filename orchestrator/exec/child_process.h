// ChildProcess: a trainer process started with Boost.Process, in its own
// process group, with its stdout and stderr appended to journal files.
//
// The child gets its own process group so a Ctrl-C at the terminal reaches
// only the orchestrator, which then asks the whole group to stop with
// SIGTERM (the trainer protocol's "checkpoint and stop"). Signal() targets
// the group, so a trainer wrapped in a shell is stopped with its children.
// Not thread-safe; owned by the thread that runs the trainer.
#pragma once

#include <sys/types.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "flags/status.h"

namespace orchard::exec {

struct LaunchSpec {
  std::vector<std::string> argv;             // argv[0] is looked up on PATH
  std::map<std::string, std::string> env;    // added to (and overriding) ours
  std::string cwd;                           // empty: ours
  std::string stdout_path, stderr_path;      // created (truncated) for the child
};

// How a child ended: an exit code, or the signal that killed it.
struct ExitInfo {
  int exit_code = 0;   // for a signal: 128 + signal, as shells report it
  int signal = 0;      // 0 unless killed by a signal
  // Non-empty when the job's node was lost (died, unreachable) before the
  // job's end was known: why. The job may have done part of its work.
  std::string lost;
  // What the executor knows beyond the code, e.g. "slurm job 12 reached its
  // time limit (TIMEOUT)"; "" when nothing. Describe() appends it.
  std::string detail;
  std::string Describe() const;
};

// A waitpid() status as an ExitInfo.
ExitInfo FromWaitStatus(int status);

class ChildProcess {
 public:
  // Starts the child. Fails with a clear message when argv[0] cannot be
  // found or executed.
  static Result<std::unique_ptr<ChildProcess>> Start(const LaunchSpec& spec);
  ~ChildProcess();  // kills the group if the child is still running

  pid_t pid() const { return pid_; }

  // Sends sig to the child's process group.
  void Signal(int sig);
  // Non-blocking: the exit info once the child has exited.
  std::optional<ExitInfo> Poll();
  ExitInfo Wait();

 private:
  ChildProcess() = default;
  pid_t pid_ = -1;
  std::optional<ExitInfo> exit_;
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace orchard::exec
