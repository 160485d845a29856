// orchard infer BUNDLE --input DIR|LIST --output FILE [options]: batch
// inference over many images with `orchard-train infer` workers.
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <memory>

#include "orchestrator/cli/commands.h"
#include "orchestrator/exec/stop_signal.h"
#include "orchestrator/infer/driver.h"
#include "orchestrator/remote/executors.h"
#include "orchestrator/util/clock.h"

namespace orchard::cli {

namespace {

Status DoInfer(Context& ctx, infer::InferOptions o, const std::string& executor) {
  o.cwd = ctx.cwd;
  if (!executor.empty()) {  // --executor slurm[:PARTITION] | ssh:NODES (docs/executors.md)
    auto config = remote::ParseExecutorOption(executor);
    if (!config.ok()) return config.status();
    o.executor = std::move(config).value();
  }
  exec::StopSignal stop;
  infer::InferDriver driver(o, std::cerr, isatty(STDERR_FILENO) != 0, &stop);
  auto r = driver.Run();
  if (!r.ok()) return r.status();
  char rate[32] = "";
  if (r->processed > 0 && r->seconds > 0) {
    std::snprintf(rate, sizeof rate, "%.1f", r->processed / r->seconds);
  }
  std::cout << "Wrote " << r->images << " records to " << r->output << " (" << r->errors
            << (r->errors == 1 ? " error" : " errors") << ")";
  if (r->processed > 0) {
    std::cout << ": " << r->processed << " images in " << FormatDuration(r->seconds) << ", "
              << rate << " images/s on " << r->workers << (r->workers == 1 ? " worker" : " workers")
              << " (" << r->device << ")";
  }
  if (r->shards_resumed > 0) {
    std::cout << "; already done before: " << r->shards_resumed << " of " << r->shards
              << (r->shards == 1 ? " shard" : " shards");
  }
  if (r->retried > 0) std::cout << "; " << r->retried << " worker(s) retried";
  std::cout << "\n";
  if (r->work_kept) std::cout << "The work folder is kept: " << r->work << "\n";
  return Status::Ok();
}

}  // namespace

void AddInferCommand(CLI::App& app, Context& ctx, Action& action) {
  auto o = std::make_shared<infer::InferOptions>();
  app.description(
      "Runs a bundle (from `orchard export`) over a folder or a list of images with "
      "`orchard-train infer` workers: one per GPU, or --workers N on the CPU. The job is "
      "sharded and resumable: after a crash or Ctrl-C the same command does only the missing "
      "shards, and FILE holds each input exactly once, in input order (docs/inference.md).");
  app.add_option("bundle", o->bundle, "The bundle folder")->required();
  app.add_option("--input,-i", o->input, "A folder of images (walked recursively) or a list file")
      ->required();
  app.add_option("--output,-o", o->output, "The file of records to write")->required();
  app.add_option("--format", o->format, "jsonl or csv (default: csv for a .csv FILE, else jsonl)")
      ->check(CLI::IsMember({"jsonl", "csv"}));
  app.add_option("--top-k", o->top_k, "Labels per record (at most the number of classes)");
  app.add_flag("--features", o->features, "Write the embedding instead of labels");
  app.add_option("--batch", o->batch, "Images per forward pass");
  app.add_option("--threads", o->threads, "Model threads per worker (0: cores / workers)");
  app.add_option("--shards", o->shards, "Shards to cut the inputs into (default: one per worker)");
  CLI::Option* workers = app.add_option(
      "--workers,-j", o->workers,
      "CPU workers (with GPUs: one per GPU); with --executor slurm: tasks at once");
  app.add_option("--gpus", o->gpus, "GPU ids, e.g. 0,1 (default: every GPU nvidia-smi lists)");
  app.add_flag("--cpu", o->cpu, "Use no GPU");
  app.add_option("--work", o->work, "The work folder (default: FILE.parts)");
  app.add_flag("--restart", o->restart, "Discard the work folder's job and start over");
  app.add_option("--retries", o->retries, "Extra attempts for the shards of a failed worker");
  app.add_option("--worker", o->worker,
                 "The orchard-train executable (default: beside orchard; with ssh: the node's)");
  app.add_flag("--keep-work", o->keep_work, "Keep the work folder after a verified merge");
  auto executor = std::make_shared<std::string>();
  app.add_option("--executor", *executor,
                 "Where workers run: local (default), slurm or slurm:PARTITION (one job array, "
                 "a task per shard), or ssh:NODES_FILE (inputs shipped to the nodes); "
                 "docs/executors.md");
  app.callback([&ctx, &action, o, executor, workers] {
    o->workers_given = workers->count() > 0;
    action = [&ctx, o, executor] { return DoInfer(ctx, *o, *executor); };
  });
}

}  // namespace orchard::cli
