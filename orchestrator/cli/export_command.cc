// orchard export [RUN] [--tune TUNE | --metric NAME [--where FILTER] [--goal max|min]]
//                [--output DIR] [--force]
#include <iostream>
#include <memory>

#include "orchestrator/cli/commands.h"
#include "orchestrator/infer/bundle_export.h"
#include "orchestrator/util/clock.h"

namespace orchard::cli {

namespace {

struct ExportCliOptions {
  infer::ExportSelection sel;
  std::string output;
  bool force = false;
};

std::string Short(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

std::string Size(int64_t bytes) {
  char buf[32];
  if (bytes < 1024) {
    std::snprintf(buf, sizeof buf, "%lld bytes", static_cast<long long>(bytes));
  } else if (bytes < 1024 * 1024) {
    std::snprintf(buf, sizeof buf, "%.1f KiB", bytes / 1024.0);
  } else {
    std::snprintf(buf, sizeof buf, "%.1f MiB", bytes / (1024.0 * 1024.0));
  }
  return buf;
}

Status DoExport(Context& ctx, const ExportCliOptions& o) {
  auto store = ctx.OpenStore(/*create=*/false);
  if (!store.ok()) return store.status();
  const double now = NowSeconds();
  auto chosen = infer::SelectExportRun(**store, o.sel, now);
  if (!chosen.ok()) return chosen.status();
  const store::Run& run = chosen->run;
  if (run.status != store::RunStatus::kCompleted && store::IsTerminal(run.status)) {
    std::cerr << "orchard: note: run " << run.id << " is " << store::ToString(run.status)
              << "; exporting the model it left\n";
  }
  infer::ExportOptions opt;
  opt.output = o.output;
  opt.cwd = ctx.cwd;
  opt.force = o.force;
  auto result = infer::ExportBundle(**store, run, opt, now);
  if (!result.ok()) return result.status();

  // One line: where it went and what it is.
  const nlohmann::json& card = result->card;
  std::string what;
  if (card.contains("classes") && card["classes"].is_array()) {
    what += std::to_string(card["classes"].size()) + " classes";
  }
  const nlohmann::json in = card.value("input", nlohmann::json::object());
  if (in.is_object() && in.contains("height") && in.contains("width")) {
    what += (what.empty() ? "" : ", ") + in["height"].dump() + "x" + in["width"].dump() + " input";
  }
  const nlohmann::json src = card["source"];
  if (src.contains("weights")) what += (what.empty() ? "" : ", ") + src["weights"].get<std::string>() +
                                       " weights";
  if (src.contains("epoch")) what += " (epoch " + src["epoch"].dump() + ")";
  std::string metric = o.sel.metric, goal = o.sel.goal;
  if (metric.empty() && !run.tune_id.empty()) {
    auto tune = (*store)->GetTune(run.tune_id);
    if (tune.ok() && tune->objective.is_object()) {
      metric = tune->objective.value("metric", "");
      goal = tune->objective.value("goal", "max");
    }
  }
  if (goal.empty()) goal = metric.find("loss") != std::string::npos ||
                                   metric.find("err") != std::string::npos ? "min" : "max";
  if (!metric.empty() && card["metrics"].contains(metric)) {
    const auto& m = card["metrics"][metric];
    what += (what.empty() ? "" : ", ") + metric + " last " + Short(m["last"].get<double>()) +
            ", " + goal + " " + Short(m[goal].get<double>());
  }
  int64_t bytes = 0;
  for (const auto& [name, f] : card["files"].items()) bytes += f.value("bytes", int64_t{0});
  std::cout << "Exported run " << run.id << (run.name.empty() ? "" : " (" + run.name + ")")
            << (chosen->why == "named" ? "" : ", the " + chosen->why + ",") << " to " << result->dir
            << "\n";
  std::cout << "  " << what << (what.empty() ? "" : "; ") << card["files"].size()
            << (card["files"].size() == 1 ? " file, " : " files, ") << Size(bytes)
            << ", hashes checked\n";
  return Status::Ok();
}

}  // namespace

void AddExportCommand(CLI::App& app, Context& ctx, Action& action) {
  auto o = std::make_shared<ExportCliOptions>();
  app.description(
      "Copies a run's model bundle (the folder its trainer wrote, RUN_DIR/model) into a folder "
      "of its own, checks its hashes, and completes its card from the store: source run, "
      "flags, metrics, code, versions, environment (docs/inference.md). Choose the run by "
      "reference, as a tune's best, or as the best by a metric.");
  app.add_option("run", o->sel.run, "The run (id, unique prefix, or name)");
  app.add_option("--tune", o->sel.tune, "Export this tune's best run");
  app.add_option("--where", o->sel.where, "Among the completed runs this filter selects...");
  app.add_option("--metric", o->sel.metric, "...the best by this metric (its best value)");
  app.add_option("--goal", o->sel.goal,
                 "max or min (default: max; min for names with loss or err)")
      ->check(CLI::IsMember({"max", "min"}));
  app.add_option("--output,-o", o->output, "The bundle folder (default: ./bundle-RUNID)");
  app.add_flag("--force", o->force, "Replace a non-empty --output folder");
  app.callback([&ctx, &action, o] { action = [&ctx, o] { return DoExport(ctx, *o); }; });
}

}  // namespace orchard::cli
