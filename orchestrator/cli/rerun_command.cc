// orchard rerun RUN [--verify] [--tolerance T] [--code DIR]: re-executes a
// recorded run from its own code snapshot, command, flags and seed, as a new
// run, and with --verify proves (or disproves) that it reproduces.
#include <stdlib.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>

#include "orchestrator/ci/gates.h"
#include "orchestrator/ci/report.h"
#include "orchestrator/ci/rerun.h"
#include "orchestrator/ci/verify.h"
#include "orchestrator/cli/commands.h"
#include "orchestrator/cli/view_format.h"
#include "orchestrator/exec/run_launcher.h"
#include "orchestrator/util/clock.h"

namespace fs = std::filesystem;

namespace orchard::cli {

namespace {

struct RerunOptions {
  std::string run;
  bool verify = false;
  std::optional<double> tolerance;
  std::vector<std::string> ignore_metrics;
  std::string code_dir;
  std::string name;
  std::vector<std::string> tags;
  std::string gpus;
  double grace = 10;
  bool quiet = false;
  bool keep_code = false;
  std::vector<std::string> expects;
  std::string junit, summary;
};

// A fresh folder for the materialised code, removed at scope exit unless kept.
struct WorkDir {
  std::string path;
  bool keep = false;
  ~WorkDir() {
    if (path.empty() || keep) return;
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

Result<std::string> MakeWorkDir() {
  const char* tmp = getenv("TMPDIR");
  std::string tmpl = std::string(tmp && *tmp ? tmp : "/tmp") + "/orchard-rerun-XXXXXX";
  if (!mkdtemp(tmpl.data())) {
    return Status::IoError("cannot create a folder for the rerun's code: " +
                           std::string(std::strerror(errno)));
  }
  return tmpl;
}

void PrintVerification(const ci::Verification& v, const std::string& original,
                       const std::string& rerun, const std::optional<double>& tolerance) {
  for (const auto& f : v.failures) std::cerr << "  DIFFERS  " << Printable(f) << "\n";
  for (const auto& i : v.information) std::cerr << "  info     " << Printable(i) << "\n";
  std::cerr << "orchard: rerun " << rerun;
  if (v.passed) {
    std::cerr << " reproduces " << original << " (" << ci::ToleranceText(tolerance) << "): "
              << v.metrics_compared << " metric(s), " << v.points_compared
              << " point(s) compared\n";
  } else {
    std::cerr << " does NOT reproduce " << original << " (" << ci::ToleranceText(tolerance)
              << "): " << v.failures.size() << " difference(s)\n";
  }
}

Status DoRerun(Context& ctx, const RerunOptions& opt) {
  if (opt.tolerance && !(*opt.tolerance >= 0)) {
    return Status::InvalidArgument("--tolerance must be a relative difference >= 0, e.g. 1e-6");
  }
  if (opt.tolerance && !opt.verify) {
    return Status::InvalidArgument("--tolerance applies to --verify; add --verify");
  }
  const double t0 = NowSeconds();
  auto expectations = ci::CompileExpectations(opt.expects, t0);
  if (!expectations.ok()) return expectations.status();
  ORCHARD_RETURN_IF_ERROR(ci::CheckReportPaths(opt.junit, opt.summary));
  // Paths the user gave are relative to where they stand, not to the trainer.
  auto absolute = [&](const std::string& p) {
    return p.empty() ? p : (fs::path(ctx.cwd) / p).lexically_normal().string();
  };
  RerunOptions o = opt;
  o.junit = absolute(opt.junit);
  o.summary = absolute(opt.summary);
  o.code_dir = absolute(opt.code_dir);
  auto home = ctx.Home();
  if (!home.ok()) return home.status();
  auto store = ctx.OpenStore(/*create=*/false);
  if (!store.ok()) return store.status();
  auto id = (*store)->ResolveRunId(opt.run);
  if (!id.ok()) return id.status();
  auto original = (*store)->GetRun(*id);
  if (!original.ok()) return original.status();
  if (!store::IsTerminal(original->status)) {
    return Status::InvalidArgument("run " + *id + " is still " +
                                   store::ToString(original->status) +
                                   "; rerun it once it has ended");
  }

  WorkDir work;
  work.keep = opt.keep_code;
  if (o.code_dir.empty()) {
    auto dir = MakeWorkDir();
    if (!dir.ok()) return dir.status();
    work.path = *dir;
  }
  auto plan = ci::PlanRerun(**store, *original, o.code_dir, work.path);
  if (!plan.ok()) return plan.status();
  for (const auto& w : plan->warnings) std::cerr << "orchard: note: " << w << "\n";
  std::vector<std::string> tampered;
  if (plan->code) {
    tampered = plan->code->tampered;
    for (const auto& t : tampered) {
      std::cerr << "orchard: WARNING: the store's code blob was altered: " << Printable(t) << "\n";
    }
    std::cerr << "orchard: code of run " << *id << ": " << plan->code->files
              << " file(s) from snapshot " << original->snapshot_id.substr(0, 12) << " in "
              << plan->source_dir << (opt.keep_code ? " (kept)" : "") << "\n";
  } else {
    std::cerr << "orchard: code from " << plan->source_dir << " (--code)\n";
  }

  exec::RunRequest req;
  req.command = plan->command;
  req.flags = original->flags;
  req.seed = original->seed;
  req.name = opt.name;
  req.tags = {"rerun", "rerun-of:" + *id};
  for (const auto& t : opt.tags) req.tags.push_back(t);
  req.notes = "re-run of " + *id + " (orchard rerun" + (o.code_dir.empty() ? "" : " --code") + ")";
  if (!opt.gpus.empty()) req.cuda_visible_devices = opt.gpus == "none" ? "" : opt.gpus;
  req.cwd = plan->cwd;
  req.source_dir = plan->source_dir;
  req.snapshot = !plan->code;  // the materialised code is recorded as what it is, below
  req.echo = !opt.quiet;
  req.grace_seconds = opt.grace;

  auto writer_conn = store::SqliteRunStore::Open(home->db_path);
  if (!writer_conn.ok()) return writer_conn.status();
  store::StoreWriter writer(std::move(writer_conn).value());
  exec::StopSignal stop;
  exec::RunLauncher launcher(*home, **store, writer);
  launcher.on_created = [&](const std::string& rid) {
    std::cerr << "orchard: run " << rid << " started: a re-run of " << *id << " with seed "
              << (original->seed ? std::to_string(*original->seed) : "(none)") << "\n";
  };
  auto outcome = launcher.Launch(req, &stop);
  if (!outcome.ok()) return outcome.status();
  const std::string& rid = outcome->run_id;
  if (plan->code) {
    if (!tampered.empty()) ORCHARD_RETURN_IF_ERROR((*store)->PutSnapshot(plan->code->written));
    ORCHARD_RETURN_IF_ERROR((*store)->SetCode(rid, original->code_commit, original->code_dirty,
                                              original->code_diff, plan->code->written.id));
  }
  std::cerr << "orchard: run " << rid << " " << store::ToString(outcome->status);
  if (outcome->status != store::RunStatus::kCompleted) {
    std::cerr << " (" << outcome->exit.Describe() << ")";
  }
  std::cerr << "; " << outcome->points << " metric points recorded\n";
  switch (outcome->status) {
    case store::RunStatus::kCompleted: ctx.exit_code = kExitOk; break;
    case store::RunStatus::kCancelled: ctx.exit_code = kExitCancelled; break;
    default: ctx.exit_code = kExitFailed;
  }

  ci::Report report;
  report.suite = "orchard rerun " + *id;
  if (opt.verify && outcome->status != store::RunStatus::kCancelled) {
    auto a = ci::LoadRunRecord(**store, *id);
    if (!a.ok()) return a.status();
    auto b = ci::LoadRunRecord(**store, rid);
    if (!b.ok()) return b.status();
    ci::VerifyOptions vo;
    vo.tolerance = opt.tolerance;
    vo.ignore_metrics = opt.ignore_metrics;
    ci::Verification v = ci::CompareRuns(*a, *b, vo);
    for (const auto& t : tampered) {
      v.failures.insert(v.failures.begin(), "code: the store's blob was altered: " + t);
    }
    v.passed = v.failures.empty();
    PrintVerification(v, *id, rid, opt.tolerance);
    if (!o.code_dir.empty() && !v.code_diff.empty()) {
      std::cerr << "orchard: code difference (recorded -> " << o.code_dir << "):\n";
      for (const auto& [path, stat] : ci::DiffStat(v.code_diff)) {
        std::cerr << "  " << Printable(path) << " | " << stat << "\n";
      }
      std::cout << v.code_diff;
    }
    if (!v.passed && ctx.exit_code == kExitOk) ctx.exit_code = kExitFailed;
    report.verifications.push_back({*id, rid, v.passed, ci::ToleranceText(opt.tolerance),
                                    v.failures, v.information});
  } else if (!tampered.empty() && ctx.exit_code == kExitOk) {
    std::cerr << "orchard: the recorded code could not be restored as it was; --verify "
                 "would fail\n";
  }
  auto gates = ci::CheckGates(**store, rid, outcome->status, *expectations, NowSeconds(),
                              std::cerr);
  if (!gates.ok()) return gates.status();
  report.gates = std::move(gates).value();
  if (ctx.exit_code == kExitOk) {
    for (const auto& g : report.gates) {
      if (!g.passed) ctx.exit_code = kExitFailed;
    }
  }
  std::cerr << "orchard: see it with: orchard show " << rid << "\n";
  if (o.junit.empty() && o.summary.empty()) return Status::Ok();
  auto rr = ci::LoadReportRun(**store, rid, "rerun", NowSeconds());
  if (!rr.ok()) return rr.status();
  report.runs.push_back(std::move(rr).value());
  report.time = NowSeconds() - t0;
  return ci::WriteReports(report, o.junit, o.summary);
}

}  // namespace

void AddRerunCommand(CLI::App& app, Context& ctx, Action& action) {
  auto opt = std::make_shared<RerunOptions>();
  app.description(
      "Re-executes a recorded run as a new run: its recorded command, flags and seed, from "
      "its own code snapshot (restored into a fresh folder, every file's sha256 checked), "
      "not from the working tree. --verify compares the new run with the recorded one: "
      "every metric point (bit for bit unless --tolerance), flags, code and environment; "
      "exit code 1 when it does not reproduce.");
  app.add_option("run", opt->run, "The run to re-execute (id, prefix or name)")->required();
  app.add_flag("--verify", opt->verify,
               "Compare with the recorded run; exit code 1 when the metrics differ");
  app.add_option("--tolerance", opt->tolerance,
                 "Relative difference allowed per metric value (default: bit-exact)");
  app.add_option("--ignore-metric", opt->ignore_metrics,
                 "A metric (glob) not to compare, e.g. images_per_s (repeatable)")
      ->expected(1)->allow_extra_args(false)->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  app.add_option("--code", opt->code_dir,
                 "Run this source tree instead of the recorded snapshot (e.g. the working tree)");
  app.add_option("--name", opt->name, "A name for the new run");
  app.add_option("--tag", opt->tags, "Also tag the new run (repeatable)")
      ->expected(1)->allow_extra_args(false)->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  app.add_option("--gpus", opt->gpus, "CUDA_VISIBLE_DEVICES for the trainer, or none");
  app.add_option("--grace", opt->grace, "Seconds between SIGTERM and SIGKILL on stop")
      ->check(CLI::NonNegativeNumber);
  app.add_flag("--quiet,-q", opt->quiet, "Do not echo the trainer's output");
  app.add_flag("--keep-code", opt->keep_code, "Keep the folder the snapshot was restored into");
  app.add_option("--expect", opt->expects, "A filter the new run must match (repeatable)")
      ->expected(1)->allow_extra_args(false)->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  app.add_option("--junit", opt->junit, "Write a JUnit XML report");
  app.add_option("--summary", opt->summary, "Write a Markdown summary");
  app.callback([&ctx, &action, opt] { action = [&ctx, opt] { return DoRerun(ctx, *opt); }; });
}

}  // namespace orchard::cli
