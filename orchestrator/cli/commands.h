// The subcommand table of `orchard`: name, one-line summary, and the
// function that declares its options and sets the action to run.
//
// Each *_command.cc is a thin declaration that calls library code; only
// RunCli() turns a Status into an exit code (see docs/cli.md):
//   0 success · 1 the run or check failed · 2 usage error (bad option,
//   flag, filter) · 3 not found (run, store) · 4 store or I/O error ·
//   130 cancelled (Ctrl-C / SIGTERM).
#pragma once

#include <functional>
#include <vector>

#include <CLI/CLI.hpp>

#include "flags/status.h"
#include "orchestrator/cli/context.h"

namespace orchard::cli {

using Action = std::function<Status()>;
using AddCommandFn = void (*)(CLI::App& app, Context& ctx, Action& action);

struct CommandDef {
  const char* name;
  const char* summary;
  AddCommandFn add;
};

const std::vector<CommandDef>& Commands();

// The whole command line; returns the process exit code.
int RunCli(int argc, char** argv);

// Exit codes.
inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitUsage = 2;
inline constexpr int kExitNotFound = 3;
inline constexpr int kExitStore = 4;
inline constexpr int kExitCancelled = 130;

int ExitCodeFor(const Status& s);

// One declaration per subcommand file.
void AddRunCommand(CLI::App&, Context&, Action&);
void AddRunsCommand(CLI::App&, Context&, Action&);
void AddShowCommand(CLI::App&, Context&, Action&);
void AddCompareCommand(CLI::App&, Context&, Action&);
void AddDiffCommand(CLI::App&, Context&, Action&);
void AddTagCommand(CLI::App&, Context&, Action&);
void AddNoteCommand(CLI::App&, Context&, Action&);
void AddDeleteCommand(CLI::App&, Context&, Action&);
void AddTuneCommand(CLI::App&, Context&, Action&);
void AddTunesCommand(CLI::App&, Context&, Action&);
void AddExportCommand(CLI::App&, Context&, Action&);
void AddInferCommand(CLI::App&, Context&, Action&);
void AddRerunCommand(CLI::App&, Context&, Action&);
void AddArchiveCommand(CLI::App&, Context&, Action&);
void AddImportCommand(CLI::App&, Context&, Action&);
void AddUiCommand(CLI::App&, Context&, Action&);

}  // namespace orchard::cli
