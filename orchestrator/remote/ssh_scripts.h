// The small POSIX sh scripts the SSH executor runs on a node, and the
// command lines that carry them.
//
// Each script travels inline as `exec sh -c 'SCRIPT' orchard ARGS...` (the
// node needs only sh, tar, setsid and coreutils; nothing is installed), so
// its inputs are positional arguments, never text pasted into the script.
// A node's work folder W holds:
//   W/blobs/SHA256      file contents, content-addressed (shipped once)
//   W/code/SNAPSHOT/    a code snapshot materialised from blobs (the job's cwd)
//   W/runs/NAME/        the job's ORCHARD_RUN_DIR (and its cwd when it ships
//                       files of its own); NAME.pgid and NAME.status
//                       beside it hold the trainer's process group and exit code
//   W/home/             ORCHARD_HOME for the job;  W/tmp/  transfers in flight
#pragma once

#include <map>
#include <string>
#include <vector>

namespace orchard::remote::scripts {

// `exec sh -c 'script' orchard 'arg1' ...` for the node's login shell.
std::string Command(const std::string& script, const std::vector<std::string>& args);

// ARGS: WORK STALE... Kills processes whose command line ends with a STALE
// tag (an earlier master's session, left by a partition), resolves ~ and
// relative paths in WORK against the remote home, creates the folders
// above, checks the tools, and prints "ok ABSOLUTE_WORK HOSTNAME".
extern const char* const kSetup;
// ARGS: W DEST; stdin: one sha256 per line. Prints READY when W/DEST
// exists, else each hash missing from W/blobs and then END.
extern const char* const kShipCheck;
// ARGS: W DEST link|copy; stdin: a tar of blobs/SHA files and, in the last
// batch, `manifest` (lines "MODE SHA PATH"). Stores the blobs; with a
// manifest, builds W/DEST from them (hard links or copies) atomically.
extern const char* const kShipReceive;
// ARGS: W NAME CWD GRACE_S SOURCE EXTRA_PATH ARGV...; `exports` (from
// Exports) run first. Starts ARGV in its own session, records its pgid,
// stops its group when stdin reaches EOF (the ssh channel closed: the
// orchestrator or the connection died), and exits with its exit code,
// also written to NAME.status.
std::string JobScript(const std::map<std::string, std::string>& env);
// ARGS: W NAME SIGNAL (TERM, KILL, ...). Signals the job's process group.
extern const char* const kSignal;
// ARGS: W NAME. Prints the job's recorded exit code, or "none".
extern const char* const kStatus;
// ARGS: W NAME FETCH OLD... Removes the run folders OLD (copied back
// before), then writes a tar of NAME's run folder to stdout: everything, or
// when FETCH (lines of relative paths) is not empty, those that exist.
extern const char* const kPackRun;
// ARGS: W NAME... Removes the run folders and their status files.
extern const char* const kRemoveRuns;
// ARGS: W NAME... Kills what is left of jobs whose channel was lost
// (no status recorded), e.g. on a node that comes back after a partition.
extern const char* const kReap;

}  // namespace orchard::remote::scripts
