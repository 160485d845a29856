// orchard import FILE...: loads archives written by `orchard archive` into
// this store (--home), idempotently.
#include <iostream>
#include <memory>

#include "orchestrator/ci/archive.h"
#include "orchestrator/cli/commands.h"
#include "orchestrator/cli/view_format.h"

namespace orchard::cli {

namespace {

struct ImportOptions {
  std::vector<std::string> files;
};

Status DoImport(Context& ctx, const ImportOptions& opt) {
  // A damaged or foreign file is refused before a store is even created.
  for (const auto& file : opt.files) {
    auto version = ci::CheckArchiveFile(file);
    if (!version.ok()) return version.status();
  }
  auto home = ctx.Home();
  if (!home.ok()) return home.status();
  auto store = ctx.OpenStore(/*create=*/true);
  if (!store.ok()) return store.status();
  for (const auto& file : opt.files) {
    auto stats = ci::ImportArchive(*home, **store, file);
    if (!stats.ok()) return stats.status();
    for (const auto& n : stats->notes) std::cerr << "orchard: note: " << Printable(n) << "\n";
    std::cerr << "orchard: imported " << file << " into " << home->root << ": "
              << stats->runs_added << " run(s) added, " << stats->runs_present
              << " already present; " << stats->tunes_added << " tune(s) added, "
              << stats->tunes_present << " already present; " << stats->snapshots_added
              << " code snapshot(s) added; " << stats->artifacts_written
              << " artifact file(s) written, " << stats->artifacts_present
              << " already present\n";
    for (const auto& id : stats->imported_run_ids) std::cout << id << "\n";
  }
  return Status::Ok();
}

}  // namespace

void AddImportCommand(CLI::App& app, Context& ctx, Action& action) {
  auto opt = std::make_shared<ImportOptions>();
  app.description(
      "Loads archives written by `orchard archive` into this store. Ids are kept; a run "
      "already here with the same content is left as it is, so importing twice adds nothing; "
      "a run with the same id but other content is refused. A damaged archive changes "
      "nothing.");
  app.add_option("files", opt->files, "Archive files")->required();
  app.callback([&ctx, &action, opt] { action = [&ctx, opt] { return DoImport(ctx, *opt); }; });
}

}  // namespace orchard::cli
