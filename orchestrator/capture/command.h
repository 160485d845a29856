// Running a short helper command (git, nvidia-smi) with bounded output/time.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include "flags/status.h"

namespace orchard::capture {

/// What to run: argv[0] is looked up on PATH and run directly (no shell), with
/// stdin and stderr on /dev/null.
struct CommandSpec {
  std::vector<std::string> argv;
  std::string cwd;                // "" = the caller's working directory
  size_t max_output = 1 << 20;    // stdout bytes kept; the child is killed past it
  double timeout_s = 10;          // the child is killed after this long
};

/// How it ended. `exit_code` is -1 when the child died by a signal (including
/// our kill after a timeout or truncation).
struct CommandResult {
  int exit_code = -1;
  std::string out;
  bool truncated = false;
  bool timed_out = false;
};

/// The seam for tests: code that runs commands takes a CommandRunner, and
/// tests pass a fake. Implementations must be thread-safe.
using CommandRunner = std::function<Result<CommandResult>(const CommandSpec&)>;

// The real runner (posix_spawnp). NotFound when argv[0] is not on PATH;
// IoError when the process cannot be started. A non-zero exit is not an
// error here: it is in `exit_code`. Thread-safe.
Result<CommandResult> RunCommand(const CommandSpec& spec);

}  // namespace orchard::capture
