// `orchard export`: picks a run, copies the bundle its trainer wrote
// (RUN_DIR/model/) into a folder of its own, and completes the card from the
// store (docs/inference.md, "The bundle").
//
// SelectExportRun() decides which run; ExportBundle() checks the run's
// bundle against its recorded hashes, assembles the new folder beside the
// destination and renames it into place, so a reader never sees half a
// bundle. Errors: NotFound for a run, tune or metric that does not exist and
// for a run without a model; InvalidArgument for contradictory options, a
// refused destination or a bundle whose files do not match their hashes;
// IoError when files cannot be read or written.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "flags/status.h"
#include "orchestrator/store/run_store.h"

namespace orchard::infer {

// Which run to export: exactly one of run, tune, or metric (with an optional
// where filter). tune + metric: the best run of that tune by the metric.
struct ExportSelection {
  std::string run;     // a RUN reference
  std::string tune;    // a tune id, prefix or name
  std::string where;   // a filter (docs/filters.md); needs metric
  std::string metric;  // best value of this metric among completed runs
  std::string goal;    // "max" | "min" | "" (max, min for names with loss/err)
};

struct SelectedRun {
  store::Run run;
  std::string why;  // "named", "best run of tune t3 (val_acc, max)", ...
};

Result<SelectedRun> SelectExportRun(store::RunReader& reader, const ExportSelection& sel,
                                    double now_seconds);

struct ExportOptions {
  std::string output;  // destination folder; "" = bundle-<run id> in cwd
  std::string cwd;     // for a relative output
  bool force = false;  // replace a non-empty destination
};

struct ExportResult {
  std::string dir;  // absolute path of the written bundle
  nlohmann::json card;
};

// The folder inside a run's folder where the trainer leaves its bundle.
std::string RunBundleDir(const store::Run& run);

// The completed card: the trainer's card with source, flags, metrics, code,
// versions and environment from the store. `flags` are the trainer's
// resolved flags with the recorded ones over them (the recorded ones alone
// are source.recorded_flags); `metrics` the store's summaries (the trainer's
// own are source.metrics_at_export). `files` is left to the caller.
nlohmann::json CompleteCard(const nlohmann::json& trainer_card, const store::Run& run,
                            const std::vector<store::MetricSummary>& metrics,
                            const std::string& store_path, double now_seconds);

Result<ExportResult> ExportBundle(store::RunReader& reader, const store::Run& run,
                                  const ExportOptions& opt, double now_seconds);

}  // namespace orchard::infer
