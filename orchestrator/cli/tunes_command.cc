// orchard tunes: the tuning sessions in the store, newest first.
#include <iostream>
#include <set>

#include "orchestrator/cli/commands.h"
#include "orchestrator/cli/table.h"
#include "orchestrator/util/clock.h"

namespace orchard::cli {

namespace {

Status DoTunes(Context& ctx, int64_t limit) {
  auto format = ctx.OutputFormat();
  if (!format.ok()) return format.status();
  auto store = ctx.OpenStore(/*create=*/false);
  if (!store.ok()) return store.status();
  auto tunes = (*store)->ListTunes(limit <= 0 ? -1 : limit);
  if (!tunes.ok()) return tunes.status();
  Table table({"id", "name", "status", "method", "trials", "objective", "best", "best_run",
               "created"});
  for (const auto& t : *tunes) {
    store::RunQuery q;
    q.where_sql = "r.tune_id = ?";
    q.params = {store::SqlParam(t.id)};
    auto runs = (*store)->ListRuns(q);
    if (!runs.ok()) return runs.status();
    std::set<int64_t> trials;
    for (const auto& r : *runs) {
      if (r.trial) trials.insert(*r.trial);
    }
    nlohmann::json best = nullptr;
    std::string objective;
    if (t.objective.is_object()) {
      std::string metric = t.objective.value("metric", "");
      bool maximize = t.objective.value("goal", "max") == "max";
      objective = metric + " (" + (maximize ? "max" : "min") + ")";
      if (!t.best_run_id.empty()) {
        auto sums = (*store)->GetMetricSummaries(t.best_run_id);
        if (sums.ok()) {
          for (const auto& s : *sums) {
            if (s.name == metric) best = s.last;
          }
        }
      }
    }
    bool table_form = *format == Format::kTable;
    table.AddRow({t.id, t.name.empty() ? nlohmann::json() : nlohmann::json(t.name), t.status,
                  t.method, static_cast<int64_t>(trials.size()), objective, best,
                  t.best_run_id.empty() ? nlohmann::json() : nlohmann::json(t.best_run_id),
                  table_form ? nlohmann::json(FormatTime(t.created_at))
                             : nlohmann::json(t.created_at)});
  }
  table.Print(std::cout, *format);
  return Status::Ok();
}

}  // namespace

void AddTunesCommand(CLI::App& app, Context& ctx, Action& action) {
  auto limit = std::make_shared<int64_t>(50);
  app.description("Lists tuning sessions, newest first. `orchard runs 'tune = ID'` lists a "
                  "session's trials.");
  app.add_option("--limit", *limit, "How many (0 = all)");
  app.callback([&ctx, &action, limit] { action = [&ctx, limit] { return DoTunes(ctx, *limit); }; });
}

}  // namespace orchard::cli
