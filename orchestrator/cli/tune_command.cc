// orchard tune SPEC.yaml [overrides]: a tuning session (docs/tuning-spec.md).
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <memory>

#include "flags/tune_spec.h"
#include "orchestrator/ci/gates.h"
#include "orchestrator/ci/report.h"
#include "orchestrator/cli/commands.h"
#include "orchestrator/cli/table.h"
#include "orchestrator/cli/view_format.h"
#include "orchestrator/query/compiler/sql.h"
#include "orchestrator/exec/gpu_slots.h"
#include "orchestrator/remote/executors.h"
#include "orchestrator/tune/tune_runner.h"
#include "orchestrator/util/clock.h"

namespace orchard::cli {

namespace {

struct TuneCliOptions {
  std::string spec_path;
  std::optional<int64_t> max_trials;
  std::optional<int> concurrency;
  std::string gpus;
  std::optional<int> gpus_per_trial;
  std::optional<int> trials_per_gpu;
  std::optional<int64_t> seed;
  std::string method;
  std::optional<double> timeout;
  std::optional<int> retries;
  std::string name;
  bool new_session = false;
  bool echo = false;
  std::string resume_ref;
  CLI::Option* resume = nullptr;
  std::vector<std::string> expects;  // gates on the best trial
  std::string junit, summary;        // report files
  std::string executor;              // --executor: overrides the spec's
};

Status ApplyOverrides(const TuneCliOptions& o, flags::TuneSpec& spec) {
  if (o.max_trials) {
    if (*o.max_trials < 1) return Status::InvalidArgument("--max-trials must be at least 1");
    spec.max_trials = *o.max_trials;
  }
  if (o.concurrency) {
    if (*o.concurrency < 1) return Status::InvalidArgument("--concurrency must be at least 1");
    spec.resources.concurrency = *o.concurrency;
  }
  if (!o.gpus.empty()) {
    auto ids = exec::ParseGpuList(o.gpus);
    if (!ids) {
      return Status::InvalidArgument("--gpus " + o.gpus +
                                     ": expected distinct GPU ids separated by commas, e.g. 0,1");
    }
    spec.resources.gpus = *ids;
    if (spec.resources.gpus_per_trial == 0 && !o.gpus_per_trial) spec.resources.gpus_per_trial = 1;
  }
  if (o.gpus_per_trial) spec.resources.gpus_per_trial = *o.gpus_per_trial;
  if (o.trials_per_gpu) spec.resources.trials_per_gpu = *o.trials_per_gpu;
  if (o.seed) spec.seed = *o.seed;
  if (!o.method.empty()) spec.method = o.method;
  if (o.timeout) spec.resources.timeout_s = *o.timeout;
  if (o.retries) spec.resources.retries = *o.retries;
  if (!o.name.empty()) spec.name = o.name;
  if (!o.executor.empty()) {
    auto executor = remote::ParseExecutorOption(o.executor);
    if (!executor.ok()) return executor.status();
    spec.executor = std::move(executor).value();
  }
  if (spec.resources.trials_per_gpu > 1 && spec.resources.gpus_per_trial != 1) {
    return Status::InvalidArgument(
        "--trials-per-gpu " + std::to_string(spec.resources.trials_per_gpu) +
        " lets trials share a GPU, which needs exactly one GPU per trial "
        "(--gpus-per-trial 1)");
  }
  if (spec.resources.gpus_per_trial < 0 || spec.resources.trials_per_gpu < 1) {
    return Status::InvalidArgument("--gpus-per-trial must be >= 0 and --trials-per-gpu >= 1");
  }
  if (!spec.resources.gpus.empty() &&
      spec.resources.gpus_per_trial > static_cast<int>(spec.resources.gpus.size())) {
    return Status::InvalidArgument("--gpus-per-trial " +
                                   std::to_string(spec.resources.gpus_per_trial) +
                                   " is more than the " + std::to_string(spec.resources.gpus.size()) +
                                   " GPUs declared");
  }
  return Status::Ok();
}

// The best trials of the session, best first, as a table.
Status PrintTopTrials(store::SqliteRunStore& store, const flags::TuneSpec& spec,
                      const std::string& tune_id, Format format) {
  if (!spec.objective) return Status::Ok();
  const auto& obj = *spec.objective;
  std::string stat = obj.reduce == "best" ? (obj.maximize ? ".max" : ".min") : ".last";
  auto quoted = [](const std::string& name) {
    bool plain = !name.empty() && name.find_first_not_of(
        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_") == std::string::npos;
    return plain ? name : "`" + name + "`";
  };
  std::string metric_field = "metrics." + quoted(obj.metric) + stat;
  double now = NowSeconds();
  auto where = query::CompileFilter("tune = '" + tune_id + "' and status = completed", now);
  if (!where.ok()) return where.status();
  auto order = query::CompileSortKey((obj.maximize ? "-" : "") + metric_field);
  if (!order.ok()) return order.status();
  store::RunQuery q;
  q.where_sql = where->sql;
  q.params = where->params;
  q.order_sql = order->sql + ", r.seq ASC";
  q.order_params = order->params;
  q.limit = 10;
  auto runs = store.ListRuns(q);
  if (!runs.ok()) return runs.status();
  if (runs->empty()) {
    std::cout << "No trial completed.\n";
    return Status::Ok();
  }
  auto views = LoadViews(store, std::move(runs).value());
  if (!views.ok()) return views.status();
  std::string cols = "id";
  for (const auto& d : spec.space.dims) cols += ",flags." + quoted(d.name);
  cols += "," + metric_field + ",duration";
  auto columns = ParseColumns(cols);
  if (!columns.ok()) return columns.status();
  std::vector<std::string> headers = {"trial"};
  for (const auto& c : *columns) headers.push_back(c.header);
  Table table(headers);
  for (const auto& v : *views) {
    std::vector<nlohmann::json> row = {v.run.trial ? nlohmann::json(*v.run.trial) : nlohmann::json()};
    for (const auto& c : *columns) {
      row.push_back(format == Format::kTable && IsDurationField(c.field)
                        ? nlohmann::json(FieldText(v, c.field, now))
                        : FieldValue(v, c.field, now));
    }
    table.AddRow(std::move(row));
  }
  if (format == Format::kTable) std::cout << "\nTop trials by " << obj.metric << stat << ":\n";
  table.Print(std::cout, format);
  if (format == Format::kTable) {
    const auto& best = views->front().run;
    std::cout << "\nBest flags (run " << best.id << "):";
    for (auto it = best.flags.begin(); it != best.flags.end(); ++it) {
      std::cout << " --" << it.key() << "=" << Table::CellText(it.value(), true);
    }
    std::cout << "\n";
  }
  return Status::Ok();
}

// Gates on the best trial and the JUnit / Markdown reports of the session.
Status CheckAndReport(Context& ctx, const TuneCliOptions& o, store::SqliteRunStore& store,
                      const tune::TuneResult& result,
                      const std::vector<ci::Expectation>& expectations, double t0) {
  ci::Report report;
  report.suite = "orchard tune " + o.spec_path;
  const std::string& best = result.best_run_id;
  auto best_status = store::RunStatus::kCompleted;
  if (result.tune.status == "cancelled") best_status = store::RunStatus::kCancelled;
  auto gates = ci::CheckGates(store, best, best_status, expectations, NowSeconds(), std::cerr);
  if (!gates.ok()) return gates.status();
  report.gates = std::move(gates).value();
  if (ctx.exit_code == kExitOk) {
    for (const auto& g : report.gates) {
      if (!g.passed) ctx.exit_code = kExitFailed;
    }
  }
  if (o.junit.empty() && o.summary.empty()) return Status::Ok();
  store::RunQuery q;
  q.where_sql = "r.tune_id = ?";
  q.params = {store::SqlParam(result.tune.id)};
  q.order_sql = "r.seq ASC";
  auto runs = store.ListRuns(q);
  if (!runs.ok()) return runs.status();
  const double now = NowSeconds();
  // The best trial first, then the others in the order they ran.
  if (!best.empty()) {
    auto rr = ci::LoadReportRun(store, best, "best", now);
    if (!rr.ok()) return rr.status();
    report.runs.push_back(std::move(rr).value());
  }
  for (const auto& r : *runs) {
    if (r.id == best) continue;
    auto rr = ci::LoadReportRun(store, r.id, "", now);
    if (!rr.ok()) return rr.status();
    report.runs.push_back(std::move(rr).value());
  }
  report.time = now - t0;
  return ci::WriteReports(report, o.junit, o.summary);
}

Status DoTune(Context& ctx, const TuneCliOptions& o) {
  auto spec = flags::LoadTuneSpec(o.spec_path);
  if (!spec.ok()) return spec.status();
  ORCHARD_RETURN_IF_ERROR(ApplyOverrides(o, *spec));
  const double t0 = NowSeconds();
  auto expectations = ci::CompileExpectations(o.expects, t0);
  if (!expectations.ok()) return expectations.status();
  ORCHARD_RETURN_IF_ERROR(ci::CheckReportPaths(o.junit, o.summary));
  auto format = ctx.OutputFormat();
  if (!format.ok()) return format.status();
  auto home = ctx.Home();
  if (!home.ok()) return home.status();
  auto store = ctx.OpenStore(/*create=*/true);
  if (!store.ok()) return store.status();

  exec::ExecutorOptions eo;
  eo.gpus = spec->resources.gpus;
  eo.gpus_per_job = std::max(0, spec->resources.gpus_per_trial);
  eo.jobs_per_gpu = spec->resources.trials_per_gpu;
  eo.base_dir = std::filesystem::absolute(o.spec_path).parent_path().string();
  auto executor = remote::MakeExecutor(spec->executor, eo);
  if (!executor.ok()) return executor.status().WithContext(o.spec_path);

  tune::TuneOptions opt;
  opt.spec = *spec;
  opt.executor = executor->get();
  opt.cwd = ctx.cwd;
  opt.force_new = o.new_session;
  opt.echo = o.echo;
  if (o.resume && o.resume->count() > 0) {
    opt.resume_ref = o.resume_ref;
    opt.resume_required = true;
    if (opt.resume_ref.empty() && opt.force_new) {
      return Status::InvalidArgument("--resume and --new contradict each other");
    }
  }
  exec::StopSignal stop;
  tune::TuneRunner runner(*home, opt, std::cerr, isatty(STDERR_FILENO) != 0);
  auto result = runner.Run(&stop);
  if (!result.ok()) return result.status();
  std::cerr << "Tune " << result->tune.id << " " << result->tune.status << ": "
            << result->completed << " completed, " << result->pruned << " pruned, "
            << result->failed << " failed";
  if (result->cancelled) std::cerr << ", " << result->cancelled << " cancelled";
  if (result->retried) std::cerr << " (" << result->retried << " retries)";
  std::cerr << "\n";
  ORCHARD_RETURN_IF_ERROR(PrintTopTrials(**store, *spec, result->tune.id, *format));
  if (result->tune.status == "cancelled") {
    std::cerr << "Resume with: orchard tune " << o.spec_path << " --resume\n";
    ctx.exit_code = kExitCancelled;
  } else if (result->completed == 0) {
    ctx.exit_code = kExitFailed;
  }
  return CheckAndReport(ctx, o, **store, *result, *expectations, t0);
}

}  // namespace

void AddTuneCommand(CLI::App& app, Context& ctx, Action& action) {
  auto o = std::make_shared<TuneCliOptions>();
  app.description(
      "Runs a tuning session from a YAML spec (docs/tuning-spec.md): trials run as "
      "`orchard run` would run them, several at a time, each on its own GPUs. Running the "
      "same spec again resumes an unfinished session; Ctrl-C stops every trial gracefully.");
  app.add_option("spec", o->spec_path, "The tuning spec (YAML)")->required()->check(CLI::ExistingFile);
  app.add_option("--max-trials", o->max_trials, "Override max_trials");
  app.add_option("--concurrency,-j", o->concurrency, "Trials at once (override)");
  app.add_option("--gpus", o->gpus, "GPU ids to use, e.g. 0,1 (implies 1 GPU per trial)");
  app.add_option("--gpus-per-trial", o->gpus_per_trial, "GPUs per trial (0: CPU-only)");
  app.add_option("--trials-per-gpu", o->trials_per_gpu, "Trials that may share one GPU");
  app.add_option("--seed", o->seed, "Override the seed");
  app.add_option("--method", o->method, "Override the method")
      ->check(CLI::IsMember({"grid", "random", "tpe"}));
  app.add_option("--timeout", o->timeout, "Per-trial timeout in seconds");
  app.add_option("--retries", o->retries, "Extra attempts for a failed trial");
  app.add_option("--name", o->name, "A name for the session");
  app.add_option("--executor", o->executor,
                 "Where trials run: local, slurm, slurm:PARTITION or ssh:NODES_FILE "
                 "(overrides the spec's executor; docs/executors.md)");
  o->resume = app.add_option("--resume", o->resume_ref,
                             "Continue an unfinished session: this spec's, or the named one")
                  ->expected(0, 1);
  app.add_flag("--new", o->new_session, "Start a new session even if one can be resumed");
  app.add_flag("--echo", o->echo, "Copy the trainers' output to ours");
  app.add_option("--expect", o->expects,
                 "A filter the best trial must match, e.g. 'val_acc >= 0.85' (repeatable); "
                 "exit code 1 when one fails")
      ->expected(1)->allow_extra_args(false)->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  app.add_option("--junit", o->junit, "Write a JUnit XML report of the trials and gates");
  app.add_option("--summary", o->summary,
                 "Write a Markdown summary (for a pull-request comment)");
  app.callback([&ctx, &action, o] { action = [&ctx, o] { return DoTune(ctx, *o); }; });
}

}  // namespace orchard::cli
