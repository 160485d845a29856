// orchard archive RUN... | --tune ID --output FILE: one self-contained file
// of runs, metrics, logs, code and artifacts (docs/ci.md).
#include <iostream>
#include <memory>

#include "orchestrator/ci/archive.h"
#include "orchestrator/cli/commands.h"
#include "orchestrator/cli/view_format.h"
#include "orchestrator/util/clock.h"

namespace orchard::cli {

namespace {

struct ArchiveOptions {
  std::vector<std::string> runs;
  std::vector<std::string> tunes;
  std::string output;
};

Status DoArchive(Context& ctx, const ArchiveOptions& opt) {
  if (opt.runs.empty() && opt.tunes.empty()) {
    return Status::InvalidArgument("nothing to archive: name runs, or --tune ID");
  }
  auto home = ctx.Home();
  if (!home.ok()) return home.status();
  auto store = ctx.OpenStore(/*create=*/false);
  if (!store.ok()) return store.status();
  ci::ArchiveRequest req;
  req.output = opt.output;
  auto ids = ResolveRuns(**store, opt.runs);
  if (!ids.ok()) return ids.status();
  req.run_ids = *ids;
  for (const auto& t : opt.tunes) {
    auto tid = (*store)->ResolveTuneId(t);
    if (!tid.ok()) return tid.status();
    req.tune_ids.push_back(*tid);
  }
  double t0 = NowSeconds();
  auto stats = ci::WriteArchive(*home, **store, req);
  if (!stats.ok()) return stats.status();
  for (const auto& w : stats->warnings) std::cerr << "orchard: warning: " << Printable(w) << "\n";
  std::cerr << "orchard: archived " << stats->runs << " run(s), " << stats->tunes
            << " tune(s), " << stats->metric_points << " metric points, " << stats->snapshots
            << " code snapshot(s), " << stats->artifacts << " artifact(s) ("
            << HumanSize(stats->artifact_bytes) << ") into " << opt.output << " ("
            << HumanSize(stats->file_bytes) << ", " << FormatDuration(NowSeconds() - t0)
            << ")\n";
  std::cout << opt.output << "\n";
  return Status::Ok();
}

}  // namespace

void AddArchiveCommand(CLI::App& app, Context& ctx, Action& action) {
  auto opt = std::make_shared<ArchiveOptions>();
  app.description(
      "Writes runs into one self-contained file (a SQLite database): their records, metric "
      "series, logs, tags and notes, code snapshots, tuning sessions and artifact files. "
      "`orchard import FILE` loads it into another store.");
  app.add_option("runs", opt->runs, "Runs to archive (ids, prefixes or names)");
  app.add_option("--tune", opt->tunes, "Archive every run of this tuning session (repeatable)")
      ->expected(1)->allow_extra_args(false)->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  app.add_option("--output,-o", opt->output, "The archive file to write")->required();
  app.callback([&ctx, &action, opt] { action = [&ctx, opt] { return DoArchive(ctx, *opt); }; });
}

}  // namespace orchard::cli
