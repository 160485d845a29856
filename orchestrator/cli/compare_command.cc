// orchard compare RUN RUN [RUN...]
#include <iostream>
#include <map>
#include <memory>
#include <set>

#include "orchestrator/cli/commands.h"
#include "orchestrator/cli/table.h"
#include "orchestrator/cli/view_format.h"
#include "orchestrator/util/clock.h"

namespace orchard::cli {

namespace {

struct CompareOptions {
  std::vector<std::string> runs;
  bool only_differing = false;
};

// One line of the comparison: a field and its value in each run.
struct Row {
  std::string field;
  std::vector<nlohmann::json> values;
  bool marked = false;       // flags and metrics whose values differ
  std::string best;          // metric rows: the id of the best run
};

Row MakeRow(std::string field, std::vector<nlohmann::json> values) {
  Row r;
  r.field = std::move(field);
  r.values = std::move(values);
  return r;
}

bool AllEqual(const std::vector<nlohmann::json>& values) {
  for (const auto& v : values) {
    if (v != values.front()) return false;
  }
  return true;
}

// The index of the best non-null value, or -1 (also when all are equal).
int BestIndex(const std::vector<nlohmann::json>& values, bool lower_better) {
  int best = -1;
  for (size_t i = 0; i < values.size(); ++i) {
    if (!values[i].is_number()) continue;
    double v = values[i].get<double>();
    if (best < 0 || (lower_better ? v < values[best].get<double>() : v > values[best].get<double>())) {
      best = static_cast<int>(i);
    }
  }
  if (best >= 0 && AllEqual(values)) return -1;
  return best;
}

std::vector<Row> BuildRows(const std::vector<RunView>& views, bool only_differing, double now,
                           bool table) {
  std::vector<Row> rows;
  auto per_run = [&](auto fn) {
    std::vector<nlohmann::json> values;
    for (const auto& v : views) values.push_back(fn(v));
    return values;
  };
  rows.push_back(MakeRow("name", per_run([](const RunView& v) {
                    return v.run.name.empty() ? nlohmann::json(nullptr) : nlohmann::json(v.run.name);
                  })));
  rows.push_back(MakeRow("status", per_run([](const RunView& v) {
                    return nlohmann::json(store::ToString(v.run.status));
                  })));
  rows.push_back(MakeRow("duration", per_run([&](const RunView& v) {
                    auto d = RunDuration(v.run, now);
                    if (!d) return nlohmann::json(nullptr);
                    return table ? nlohmann::json(FormatDuration(*d)) : nlohmann::json(*d);
                  })));

  std::set<std::string> flag_names, metric_names;
  for (const auto& v : views) {
    for (const auto& [k, val] : v.run.flags.items()) flag_names.insert(k);
    for (const auto& m : v.metrics) metric_names.insert(m.name);
  }
  for (const auto& name : flag_names) {
    Row r = MakeRow("flags." + name, per_run([&](const RunView& v) {
            auto it = v.run.flags.find(name);
            return it == v.run.flags.end() ? nlohmann::json(nullptr) : *it;
          }));
    r.marked = !AllEqual(r.values);
    if (r.marked || !only_differing) rows.push_back(std::move(r));
  }
  for (const auto& name : metric_names) {
    bool lower = LowerIsBetter(name);
    auto stat_row = [&](const char* stat, auto get) {
      Row r = MakeRow("metrics." + name + "." + stat, per_run([&](const RunView& v) {
              const store::MetricSummary* m = v.Metric(name);
              return m ? nlohmann::json(get(*m)) : nlohmann::json(nullptr);
            }));
      r.marked = !AllEqual(r.values);
      int best = BestIndex(r.values, lower);
      if (best >= 0) r.best = views[best].run.id;
      rows.push_back(std::move(r));
    };
    stat_row("last", [](const store::MetricSummary& m) { return m.last; });
    if (lower) {
      stat_row("min", [](const store::MetricSummary& m) { return m.min; });
    } else {
      stat_row("max", [](const store::MetricSummary& m) { return m.max; });
    }
  }
  return rows;
}

Status DoCompare(Context& ctx, const CompareOptions& opt) {
  auto format = ctx.OutputFormat();
  if (!format.ok()) return format.status();
  auto store = ctx.OpenStore(/*create=*/false);
  if (!store.ok()) return store.status();
  auto ids = ResolveRuns(**store, opt.runs);
  if (!ids.ok()) return ids.status();
  if (ids->size() < 2) {
    return Status::InvalidArgument("compare needs two or more different runs");
  }
  std::vector<store::Run> runs;
  for (const auto& id : *ids) {
    auto run = (*store)->GetRun(id);
    if (!run.ok()) return run.status();
    runs.push_back(std::move(run).value());
  }
  auto views = LoadViews(**store, std::move(runs));
  if (!views.ok()) return views.status();
  bool table = *format == Format::kTable;
  std::vector<Row> rows = BuildRows(*views, opt.only_differing, NowSeconds(), table);

  std::vector<std::string> headers;
  if (table) headers.push_back("");
  headers.push_back("field");
  for (const auto& id : *ids) headers.push_back(id);
  if (!table) headers.push_back("differs");
  headers.push_back("best");
  Table t(headers);
  for (auto& r : rows) {
    std::vector<nlohmann::json> cells;
    if (table) cells.push_back(r.marked ? "≠" : "");
    cells.push_back(r.field);
    for (auto& v : r.values) cells.push_back(std::move(v));
    if (!table) cells.push_back(r.marked);
    cells.push_back(r.best.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.best));
    t.AddRow(std::move(cells));
  }
  t.Print(std::cout, *format);
  if (table) {
    std::cerr << "≠: the values differ; best: highest value, or lowest for metrics whose name "
                 "contains 'loss' or 'err'";
    std::cerr << "\n";
  }
  return Status::Ok();
}

}  // namespace

void AddCompareCommand(CLI::App& app, Context& ctx, Action& action) {
  auto opt = std::make_shared<CompareOptions>();
  app.description(
      "Compares runs side by side: name, status and duration, the flags whose values differ "
      "(marked ≠), then each metric's last and best value with the run that is best. Best "
      "is the maximum, or the minimum for metrics whose name contains 'loss' or 'err'.");
  app.add_option("runs", opt->runs, "Two or more runs (id, unique prefix or name)")
      ->required()
      ->expected(2, 1000);
  app.add_flag("--differing,-d", opt->only_differing,
               "Only the flags whose values differ between the runs");
  app.callback([&ctx, &action, opt] { action = [&ctx, opt] { return DoCompare(ctx, *opt); }; });
}

}  // namespace orchard::cli
