// orchard runs [FILTER] [--sort KEY]... [--limit N] [--columns LIST]
#include <algorithm>
#include <iostream>
#include <map>
#include <memory>

#include "orchestrator/cli/commands.h"
#include "orchestrator/cli/table.h"
#include "orchestrator/cli/view_format.h"
#include "orchestrator/query/compiler/sql.h"
#include "orchestrator/query/parser.h"
#include "orchestrator/util/clock.h"

namespace orchard::cli {

namespace {

// How many metric columns the default table shows; csv and json show all.
constexpr size_t kTableMetrics = 4;

struct RunsOptions {
  std::string filter;
  std::vector<std::string> filter_words;  // positional
  std::vector<std::string> sort;
  int64_t limit = 50;
  int64_t offset = 0;
  std::string columns;
  bool all_columns = false;
};

std::string JoinWords(const std::vector<std::string>& words) {
  std::string out;
  for (const auto& w : words) out += (out.empty() ? "" : " ") + w;
  return out;
}

query::FieldRef Builtin(query::Builtin b) {
  query::FieldRef f;
  f.kind = query::FieldRef::Kind::kBuiltin;
  f.builtin = b;
  return f;
}

query::FieldRef FlagField(const std::string& name) {
  query::FieldRef f;
  f.kind = query::FieldRef::Kind::kFlag;
  f.name = name;
  return f;
}

query::FieldRef MetricField(const std::string& name) {
  query::FieldRef f;
  f.kind = query::FieldRef::Kind::kMetric;
  f.name = name;
  return f;
}

// Every flag name and metric name among the runs, metrics by how many runs
// report them (most first), then by name.
void Names(const std::vector<RunView>& views, std::vector<std::string>& flag_names,
           std::vector<std::string>& metric_names) {
  std::map<std::string, int> flags, metrics;
  for (const auto& v : views) {
    for (const auto& [name, value] : v.run.flags.items()) ++flags[name];
    for (const auto& m : v.metrics) ++metrics[m.name];
  }
  for (const auto& [name, n] : flags) flag_names.push_back(name);
  std::vector<std::pair<std::string, int>> ms(metrics.begin(), metrics.end());
  std::stable_sort(ms.begin(), ms.end(), [](const auto& a, const auto& b) { return a.second > b.second; });
  for (const auto& [name, n] : ms) metric_names.push_back(name);
}

// The flags: in one compact column (marked by an empty flag name), or one
// column per flag.
void AddFlagColumns(const std::vector<RunView>& views, bool compact, std::vector<Column>& cols) {
  if (compact) {
    cols.push_back({FlagField(""), "flags"});
    return;
  }
  std::vector<std::string> flag_names, metric_names;
  Names(views, flag_names, metric_names);
  for (const auto& f : flag_names) cols.push_back({FlagField(f), "flags." + f});
}

// A column per metric (its last value): the preferred ones first, then by how
// many runs report them; at most `max` of them unless it is 0.
void AddMetricColumns(const std::vector<RunView>& views, Format format,
                      const std::vector<std::string>& preferred, size_t max,
                      std::vector<Column>& cols) {
  std::vector<std::string> flag_names, metric_names;
  Names(views, flag_names, metric_names);
  std::vector<std::string> shown;
  for (const auto& p : preferred) {
    if (std::find(metric_names.begin(), metric_names.end(), p) != metric_names.end()) {
      shown.push_back(p);
    }
  }
  for (const auto& m : metric_names) {
    if (std::find(shown.begin(), shown.end(), m) == shown.end()) shown.push_back(m);
  }
  if (max > 0 && shown.size() > max) shown.resize(max);
  for (const auto& m : shown) {
    cols.push_back({MetricField(m), format == Format::kTable ? m : "metrics." + m});
  }
}

// The columns shown when --columns is not given.
std::vector<Column> DefaultColumns(const std::vector<RunView>& views, Format format,
                                   const std::vector<std::string>& preferred, bool all) {
  using B = query::Builtin;
  std::vector<Column> cols = {{Builtin(B::kId), "id"},
                              {Builtin(B::kName), "name"},
                              {Builtin(B::kStatus), "status"}};
  if (all) {
    cols.push_back({Builtin(B::kExitCode), "exit_code"});
    cols.push_back({Builtin(B::kTune), "tune"});
    cols.push_back({Builtin(B::kCreated), "created"});
  }
  cols.push_back({Builtin(B::kStarted), "started"});
  if (all) cols.push_back({Builtin(B::kFinished), "finished"});
  cols.push_back({Builtin(B::kDuration), "duration"});
  if (all) cols.push_back({Builtin(B::kHost), "host"});

  AddFlagColumns(views, format == Format::kTable && !all, cols);
  AddMetricColumns(views, format, preferred, format == Format::kTable && !all ? kTableMetrics : 0,
                   cols);
  cols.push_back({Builtin(B::kTag), "tags"});
  if (all) cols.push_back({Builtin(B::kNotes), "notes"});
  return cols;
}

// Replaces the `flags` and `metrics` words of --columns by their columns.
std::vector<Column> ExpandGroups(const std::vector<Column>& columns,
                                 const std::vector<RunView>& views, Format format) {
  std::vector<Column> out;
  for (const auto& c : columns) {
    if (!IsGroup(c)) {
      out.push_back(c);
    } else if (c.field.kind == query::FieldRef::Kind::kFlag) {
      AddFlagColumns(views, format == Format::kTable, out);
    } else {
      AddMetricColumns(views, format, {}, 0, out);
    }
  }
  return out;
}

nlohmann::json Cell(const RunView& v, const Column& c, Format format, double now) {
  bool compact_flags = c.field.kind == query::FieldRef::Kind::kFlag && c.field.name.empty();
  if (compact_flags) return CompactFlags(v.run.flags);
  if (format == Format::kTable) {
    if (IsTimeField(c.field) || IsDurationField(c.field) ||
        (c.field.kind == query::FieldRef::Kind::kBuiltin &&
         c.field.builtin == query::Builtin::kNotes)) {
      return FieldText(v, c.field, now);
    }
  }
  if (format == Format::kJson && c.field.kind == query::FieldRef::Kind::kBuiltin &&
      c.field.builtin == query::Builtin::kTag) {
    return v.run.tags;  // a JSON array rather than joined text
  }
  return FieldValue(v, c.field, now);
}

Status DoRuns(Context& ctx, const RunsOptions& opt) {
  auto format = ctx.OutputFormat();
  if (!format.ok()) return format.status();
  if (opt.limit < 0) return Status::InvalidArgument("--limit must be 0 (all) or more");
  if (opt.offset < 0) return Status::InvalidArgument("--offset must be 0 or more");

  std::string filter = opt.filter;
  std::vector<std::string> all_words = opt.filter_words;
  // Words after `--` are filter text too: `orchard runs -- started > -7d`.
  all_words.insert(all_words.end(), ctx.after_dashdash.begin(), ctx.after_dashdash.end());
  std::string words = JoinWords(all_words);
  if (!filter.empty() && !words.empty()) {
    filter = "(" + filter + ") and (" + words + ")";
  } else if (filter.empty()) {
    filter = words;
  }
  double now = NowSeconds();
  auto where = query::CompileFilter(filter, now);
  if (!where.ok()) return where.status();

  store::RunQuery q;
  q.where_sql = where->sql;
  q.params = where->params;
  if (!opt.sort.empty()) {
    std::string keys;
    for (const auto& s : opt.sort) keys += (keys.empty() ? "" : ", ") + s;
    auto order = query::CompileSortKey(keys);
    if (!order.ok()) return order.status();
    q.order_sql = order->sql + ", r.seq DESC";
    q.order_params = order->params;
  }
  q.limit = opt.limit == 0 ? -1 : opt.limit;
  q.offset = opt.offset;

  std::vector<Column> columns;
  if (!opt.columns.empty()) {
    auto parsed = ParseColumns(opt.columns);
    if (!parsed.ok()) return parsed.status();
    columns = std::move(parsed).value();
  }

  auto store = ctx.OpenStore(/*create=*/false);
  if (!store.ok()) return store.status();
  auto runs = (*store)->ListRuns(q);
  if (!runs.ok()) return runs.status();
  auto total = (*store)->CountRuns(q);
  if (!total.ok()) return total.status();
  auto views = LoadViews(**store, std::move(runs).value());
  if (!views.ok()) return views.status();

  if (!columns.empty()) {
    columns = ExpandGroups(columns, *views, *format);
  } else {
    columns = DefaultColumns(*views, *format, MetricsMentioned(filter, opt.sort), opt.all_columns);
  }
  std::vector<std::string> headers;
  for (const auto& c : columns) headers.push_back(c.header);
  Table table(headers);
  for (const auto& v : *views) {
    std::vector<nlohmann::json> row;
    for (const auto& c : columns) row.push_back(Cell(v, c, *format, now));
    table.AddRow(std::move(row));
  }
  table.Print(std::cout, *format);
  if (*format == Format::kTable) {
    int64_t shown = static_cast<int64_t>(views->size());
    if (*total == 0) {
      std::cerr << (filter.empty() ? "no runs yet\n" : "no runs match the filter\n");
    } else if (shown < *total) {
      std::cerr << shown << " of " << *total << " runs";
      if (opt.limit > 0 && opt.offset + shown < *total) std::cerr << " (--limit 0 shows all)";
      std::cerr << "\n";
    }
  }
  return Status::Ok();
}

}  // namespace

void AddRunsCommand(CLI::App& app, Context& ctx, Action& action) {
  auto opt = std::make_shared<RunsOptions>();
  app.description(
      "Lists runs, newest first. FILTER (or --filter) selects runs with the filter "
      "language, e.g. 'status = completed and lr < 0.01 and metrics.val_acc.max > 0.9'. "
      "Columns and sort keys use the same field names: id name status exit_code tag tune "
      "created started finished duration host notes, flags.NAME, metrics.NAME[.last|min|max|count], "
      "or a bare NAME (the flag, else the metric).");
  app.add_option("filter", opt->filter_words, "Filter expression (may be several words)");
  app.add_option("--filter", opt->filter, "Filter expression");
  app.add_option("--sort,-s", opt->sort,
                 "Sort key, e.g. -metrics.val_acc.max or 'lr desc' (repeatable; "
                 "default: newest first)")
      ->expected(1)
      ->allow_extra_args(false)
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  app.add_option("--limit,-n", opt->limit, "How many runs to show (0: all)");
  app.add_option("--offset", opt->offset, "Skip this many runs first");
  app.add_option("--columns,-c", opt->columns,
                 "Comma-separated columns, e.g. id,status,flags.lr,metrics.val_acc.max; "
                 "the words flags and metrics stand for all of them");
  app.add_flag("--all-columns", opt->all_columns,
               "Every built-in field, every flag and every metric");
  app.callback([&ctx, &action, opt] { action = [&ctx, opt] { return DoRuns(ctx, *opt); }; });
}

}  // namespace orchard::cli
