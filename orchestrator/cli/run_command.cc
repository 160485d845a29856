// orchard run [options] [--flag=value | flag=value ...] -- COMMAND [ARGS...]
#include <unistd.h>

#include <iostream>
#include <memory>

#include "flags/flag.h"
#include "flags/flag_value.h"
#include "orchestrator/ci/gates.h"
#include "orchestrator/ci/report.h"
#include "orchestrator/cli/commands.h"
#include "orchestrator/exec/run_launcher.h"
#include "orchestrator/util/clock.h"

namespace orchard::cli {

namespace {

struct RunOptions {
  std::string name;
  std::vector<std::string> tags;
  std::string note;
  std::optional<int64_t> seed;
  std::string gpus;
  double grace = 10;
  bool quiet = false;
  bool no_snapshot = false;
  std::string source;
  std::vector<std::string> flag_args;  // from --flag name=value
  std::vector<std::string> expects;    // --expect
  std::string junit, summary;          // report files
};

// "--lr=0.1", "lr=0.1" or (from --flag) "lr=0.1" -> flags[lr] = 0.1
Status AddFlagArg(const std::string& arg, nlohmann::json& flags) {
  std::string a = arg;
  if (a.rfind("--", 0) == 0) a = a.substr(2);
  size_t eq = a.find('=');
  if (eq == std::string::npos || eq == 0) {
    return Status::InvalidArgument(
        "unexpected argument '" + arg +
        "': trainer flags are --name=value or name=value, and the trainer command "
        "comes after --");
  }
  std::string name = a.substr(0, eq);
  if (!flags::IsValidFlagName(name)) {
    return Status::InvalidArgument("flag '" + name + "' in '" + arg +
                                   "': a flag name is letters, digits, '_', '.' or '-', "
                                   "starting with a letter or '_'");
  }
  if (flags.contains(name)) {
    return Status::InvalidArgument("flag --" + name + " is given twice");
  }
  flags[name] = flags::ParseScalar(a.substr(eq + 1));
  return Status::Ok();
}

Status DoRun(Context& ctx, const RunOptions& opt, const std::vector<std::string>& extras) {
  if (!ctx.has_dashdash || ctx.after_dashdash.empty()) {
    return Status::InvalidArgument(
        "no trainer command: give it after --, e.g. "
        "orchard run --lr=0.1 -- python3 train.py");
  }
  exec::RunRequest req;
  for (const auto& e : extras) ORCHARD_RETURN_IF_ERROR(AddFlagArg(e, req.flags));
  for (const auto& e : opt.flag_args) ORCHARD_RETURN_IF_ERROR(AddFlagArg(e, req.flags));
  req.command = ctx.after_dashdash;
  req.name = opt.name;
  req.tags = opt.tags;
  req.notes = opt.note;
  req.seed = opt.seed;
  if (!opt.gpus.empty()) req.cuda_visible_devices = opt.gpus == "none" ? "" : opt.gpus;
  req.cwd = ctx.cwd;
  req.source_dir = opt.source;
  req.snapshot = !opt.no_snapshot;
  req.echo = !opt.quiet;
  req.grace_seconds = opt.grace;
  // Gates and report paths are checked before the run, so a typo costs no training.
  const double t0 = NowSeconds();
  auto expectations = ci::CompileExpectations(opt.expects, t0);
  if (!expectations.ok()) return expectations.status();
  ORCHARD_RETURN_IF_ERROR(ci::CheckReportPaths(opt.junit, opt.summary));

  auto home = ctx.Home();
  if (!home.ok()) return home.status();
  auto store = ctx.OpenStore(/*create=*/true);
  if (!store.ok()) return store.status();
  auto writer_conn = store::SqliteRunStore::Open(home->db_path);
  if (!writer_conn.ok()) return writer_conn.status();
  store::StoreWriter writer(std::move(writer_conn).value());
  exec::StopSignal stop;
  exec::RunLauncher launcher(*home, **store, writer);
  launcher.on_created = [&](const std::string& id) {
    std::cerr << "orchard: run " << id << " started (" << home->RunDir(id) << ")\n";
  };
  auto outcome = launcher.Launch(req, &stop);
  if (!outcome.ok()) return outcome.status();
  std::cerr << "orchard: run " << outcome->run_id << " " << store::ToString(outcome->status);
  if (outcome->status != store::RunStatus::kCompleted) std::cerr << " (" << outcome->exit.Describe() << ")";
  std::cerr << "; " << outcome->points << " metric points recorded";
  if (outcome->malformed) std::cerr << ", " << outcome->malformed << " malformed lines kept as log";
  std::cerr << "\n";
  if (outcome->status == store::RunStatus::kFailed && !outcome->error.empty() &&
      outcome->exit.exit_code == 127) {
    std::cerr << "orchard: " << outcome->error << "\n";
  }
  std::cerr << "orchard: see it with: orchard show " << outcome->run_id << "\n";
  switch (outcome->status) {
    case store::RunStatus::kCompleted: ctx.exit_code = kExitOk; break;
    case store::RunStatus::kCancelled: ctx.exit_code = kExitCancelled; break;
    default: ctx.exit_code = kExitFailed;
  }
  ci::Report report;
  report.suite = "orchard run";
  auto gates = ci::CheckGates(**store, outcome->run_id, outcome->status, *expectations,
                              NowSeconds(), std::cerr);
  if (!gates.ok()) return gates.status();
  report.gates = std::move(gates).value();
  if (ctx.exit_code == kExitOk) {
    for (const auto& g : report.gates) {
      if (!g.passed) ctx.exit_code = kExitFailed;
    }
  }
  if (opt.junit.empty() && opt.summary.empty()) return Status::Ok();
  auto rr = ci::LoadReportRun(**store, outcome->run_id, "", NowSeconds());
  if (!rr.ok()) return rr.status();
  report.runs.push_back(std::move(rr).value());
  report.time = NowSeconds() - t0;
  return ci::WriteReports(report, opt.junit, opt.summary);
}

}  // namespace

void AddRunCommand(CLI::App& app, Context& ctx, Action& action) {
  auto opt = std::make_shared<RunOptions>();
  app.footer("Usage: orchard run [OPTIONS] [--flag=value | flag=value ...] -- COMMAND [ARGS...]");
  app.description(
      "Runs COMMAND once as a trainer: each flag is passed to it as --name=value, and "
      "ORCHARD_RUN_ID, ORCHARD_RUN_DIR and ORCHARD_SEED are set. Lines it prints as "
      "'@orchard {json}' are recorded as metrics; everything else as log text. Ctrl-C "
      "stops it gracefully (SIGTERM) and records the run as cancelled.");
  app.allow_extras();
  app.add_option("--name", opt->name, "A name for the run");
  // One value per occurrence: `--tag best lr=0.1` tags "best" and passes lr.
  app.add_option("--tag", opt->tags, "Tag the run (repeatable)")->expected(1)
      ->allow_extra_args(false)->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  app.add_option("--note", opt->note, "A note for the run");
  app.add_option("--seed", opt->seed, "Seed given as ORCHARD_SEED (default: drawn and recorded)");
  app.add_option("--gpus", opt->gpus,
                 "CUDA_VISIBLE_DEVICES for the trainer, e.g. 0,1 or none (default: inherited)");
  app.add_option("--grace", opt->grace, "Seconds between SIGTERM and SIGKILL on stop")
      ->check(CLI::NonNegativeNumber);
  app.add_flag("--quiet,-q", opt->quiet, "Do not echo the trainer's output");
  app.add_flag("--no-snapshot", opt->no_snapshot, "Do not record a snapshot of the source files");
  app.add_option("--source", opt->source,
                 "Folder whose source files are snapshotted (default: the git work tree or "
                 "the current folder)");
  app.add_option("--flag,-f", opt->flag_args,
                 "A trainer flag as name=value, for names that clash with these options")
      ->expected(1)->allow_extra_args(false)->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  app.add_option("--expect", opt->expects,
                 "A filter the finished run must match, e.g. 'val_acc >= 0.85' (repeatable); "
                 "exit code 1 when one fails")
      ->expected(1)->allow_extra_args(false)->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  app.add_option("--junit", opt->junit, "Write a JUnit XML report of the run and its gates");
  app.add_option("--summary", opt->summary,
                 "Write a Markdown summary (for a pull-request comment)");
  app.callback([&ctx, &action, &app, opt] {
    std::vector<std::string> extras = app.remaining();
    action = [&ctx, opt, extras] { return DoRun(ctx, *opt, extras); };
  });
}

}  // namespace orchard::cli
