// Local processes for the SSH executor: the `ssh` clients (jobs, the
// connection master, short commands) and `tar`.
//
// exec::ChildProcess does not fit them: a job's ssh client needs a stdin
// pipe whose write end only we hold (when the orchestrator dies, the remote
// wrapper reads EOF and stops the trainer, and the client keeps relaying its
// last output), and a connection master must outlive the thread that started
// it (ChildProcess asks for SIGTERM when the launching thread ends).
// Every process gets its own process group, so a Ctrl-C at the terminal
// reaches only the orchestrator. Every fd made here is close-on-exec, so no
// other child inherits a pipe end. Thread-safe (no shared state).
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "flags/status.h"
#include "orchestrator/exec/child_process.h"

namespace orchard::remote {

struct Spawned {
  pid_t pid = -1;
  int stdin_fd = -1;  // our end of its stdin pipe, when asked for (close it: EOF)
};

// Starts argv (argv[0] on PATH) with stdin from `in_fd` (-1: a new pipe,
// returned; -2: /dev/null) and stdout/stderr onto the given fds (-1:
// /dev/null). The fds given are not closed.
Result<Spawned> SpawnProcess(const std::vector<std::string>& argv, int in_fd, int out_fd,
                             int err_fd);

// Non-blocking reap: the exit once it has ended. Signals read as 128 + N.
std::optional<exec::ExitInfo> PollExit(pid_t pid);
// Waits up to timeout_s, then SIGKILLs the group and reaps it.
exec::ExitInfo WaitExit(pid_t pid, double timeout_s);

struct CommandResult {
  exec::ExitInfo exit;
  bool timed_out = false;
  std::string out, err;  // captured stdout (unless sent to a file) and stderr
  bool ok() const { return !timed_out && exit.exit_code == 0 && exit.signal == 0; }
  // The last non-empty line of stderr, or a description of the exit.
  std::string Why() const;
};

// Runs argv to its end, feeding `input` to its stdin and capturing its
// output; killed (with its group) after timeout_s. With out_fd >= 0, stdout
// goes there instead of `out`.
Result<CommandResult> RunCommand(const std::vector<std::string>& argv, const std::string& input,
                                 double timeout_s, int out_fd = -1);

// `producer | consumer`, both captured for stderr, bounded by timeout_s.
// Returns both results (the producer's first).
Result<std::pair<CommandResult, CommandResult>> RunPipeline(
    const std::vector<std::string>& producer, const std::vector<std::string>& consumer,
    double timeout_s);

// 'text' for a POSIX shell: single quotes, ' written as '\''.
std::string ShQuote(const std::string& text);

}  // namespace orchard::remote
