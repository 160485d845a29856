#include "orchestrator/cli/commands.h"

#include <unistd.h>

#include <filesystem>
#include <iostream>

#include "flags/suggest.h"

namespace orchard::cli {

const std::vector<CommandDef>& Commands() {
  static const std::vector<CommandDef> kCommands = {
      {"run", "Run a trainer once and record everything it reports", AddRunCommand},
      {"tune", "Tune a trainer's flags: grid, random or TPE, with early stopping", AddTuneCommand},
      {"runs", "List runs, filtered and sorted", AddRunsCommand},
      {"tunes", "List tuning sessions", AddTunesCommand},
      {"show", "Show one run: flags, metrics, code, environment, artifacts", AddShowCommand},
      {"compare", "Compare runs side by side: flags and metrics", AddCompareCommand},
      {"diff", "Source and flag differences between two runs", AddDiffCommand},
      {"tag", "Add or remove tags on runs", AddTagCommand},
      {"note", "Set or show a run's notes", AddNoteCommand},
      {"delete", "Delete runs and their artifacts", AddDeleteCommand},
      {"export", "Copy a run's model into a checked, self-describing bundle", AddExportCommand},
      {"infer", "Run a bundle over many images: sharded, parallel, resumable", AddInferCommand},
      {"rerun", "Re-execute a recorded run from its code snapshot; --verify it reproduces",
       AddRerunCommand},
      {"archive", "Write runs (or a tune) into one portable file", AddArchiveCommand},
      {"import", "Load archives written by `orchard archive` into this store", AddImportCommand},
      {"ui", "Serve the dashboard's JSON API (and pages) over the store", AddUiCommand},
  };
  return kCommands;
}

int ExitCodeFor(const Status& s) {
  switch (s.code()) {
    case Status::Code::kOk: return kExitOk;
    case Status::Code::kInvalidArgument: return kExitUsage;
    case Status::Code::kNotFound: return kExitNotFound;
    case Status::Code::kIoError:
    case Status::Code::kCorruption: return kExitStore;
    case Status::Code::kCancelled: return kExitCancelled;
    default: return kExitFailed;
  }
}

namespace {

// The first word that is not a global option, or nullptr.
const char* FirstCommandWord(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--home" || a == "--format") {
      ++i;
      continue;
    }
    if (a.rfind("-", 0) == 0) continue;
    return argv[i];
  }
  return nullptr;
}

}  // namespace

int RunCli(int argc, char** argv) {
  Context ctx;
  std::error_code ec;
  ctx.cwd = std::filesystem::current_path(ec).string();

  if (const char* word = FirstCommandWord(argc, argv)) {
    std::vector<std::string> names;
    for (const auto& c : Commands()) names.push_back(c.name);
    if (std::find(names.begin(), names.end(), word) == names.end()) {
      std::cerr << "orchard: unknown command '" << word << "'";
      std::string guess = flags::SuggestClosest(word, names);
      if (!guess.empty()) std::cerr << "; did you mean '" << guess << "'?";
      std::cerr << "\nRun 'orchard --help' for the list of commands.\n";
      return kExitUsage;
    }
  }

  // Everything after the first `--` is a trainer command, never options.
  std::vector<char*> args(argv, argv + argc);
  for (size_t i = 1; i < args.size(); ++i) {
    if (std::string(args[i]) == "--") {
      ctx.has_dashdash = true;
      ctx.after_dashdash.assign(args.begin() + static_cast<long>(i) + 1, args.end());
      args.resize(i);
      break;
    }
  }
  // Global options are accepted anywhere before `--` (CLI11 only takes them
  // before the subcommand); they are lifted out here. `orchard infer` has a
  // --format of its own (jsonl|csv), which stays with it.
  const char* command_word = FirstCommandWord(argc, argv);
  const bool own_format = command_word != nullptr && std::string(command_word) == "infer";
  for (size_t i = 1; i < args.size();) {
    std::string a = args[i];
    std::string* target = nullptr;
    std::string value;
    size_t take = 0;
    for (auto [name, field] : {std::pair{"--home", &ctx.home_flag}, {"--format", &ctx.format}}) {
      std::string n = name;
      if (own_format && n == "--format") continue;
      if (a == n && i + 1 < args.size()) {
        target = field, value = args[i + 1], take = 2;
      } else if (a.rfind(n + "=", 0) == 0) {
        target = field, value = a.substr(n.size() + 1), take = 1;
      }
    }
    if (!target) {
      ++i;
      continue;
    }
    *target = value;
    args.erase(args.begin() + static_cast<long>(i), args.begin() + static_cast<long>(i + take));
  }
  argc = static_cast<int>(args.size());
  argv = args.data();

  CLI::App app{"Orchard: experiment tracking and hyperparameter tuning for fine-tuning."};
  app.name("orchard");
  app.set_version_flag("--version", std::string("orchard ") + ORCHARD_VERSION);
  app.option_defaults()->always_capture_default();
  std::string home_seen = ctx.home_flag, format_seen = ctx.format;
  app.add_option("--home", ctx.home_flag,
                 "The store folder (default: $ORCHARD_HOME, else the nearest .orchard/ "
                 "upward from here, else ./.orchard)");
  app.add_option("--format", ctx.format, "Output of listings: table, csv or json")
      ->check(CLI::IsMember({"table", "csv", "json"}));
  app.require_subcommand(1);
  app.footer("Exit codes: 0 ok, 1 failed, 2 usage error, 3 not found, 4 store error, "
             "130 cancelled. Docs: docs/cli.md");

  Action action;
  for (const auto& c : Commands()) {
    CLI::App* sub = app.add_subcommand(c.name, c.summary);
    c.add(*sub, ctx, action);
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int rc = app.exit(e);
    return rc == 0 ? kExitOk : kExitUsage;
  }
  ctx.home_flag = home_seen;
  ctx.format = format_seen;
  if (ctx.format != "table" && ctx.format != "csv" && ctx.format != "json") {
    std::cerr << "orchard: --format " << ctx.format << ": expected table, csv or json\n";
    return kExitUsage;
  }
  if (!action) return kExitOk;
  Status s = action();
  if (!s.ok()) {
    std::cerr << "orchard: " << s.message() << "\n";
    return ExitCodeFor(s);
  }
  return ctx.exit_code;
}

}  // namespace orchard::cli
