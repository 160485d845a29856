#include "orchestrator/cli/view_format.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <set>

#include "flags/flag_value.h"
#include "orchestrator/cli/table.h"
#include "orchestrator/query/parser.h"
#include "orchestrator/util/clock.h"

namespace orchard::cli {

using query::Builtin;
using query::FieldRef;
using query::MetricStat;

const store::MetricSummary* RunView::Metric(const std::string& name) const {
  for (const auto& m : metrics) {
    if (m.name == name) return &m;
  }
  return nullptr;
}

Result<std::vector<RunView>> LoadViews(store::RunReader& reader, std::vector<store::Run> runs) {
  std::vector<RunView> views;
  views.reserve(runs.size());
  for (auto& r : runs) {
    auto m = reader.GetMetricSummaries(r.id);
    if (!m.ok()) return m.status();
    views.push_back({std::move(r), std::move(m).value()});
  }
  return views;
}

Result<std::vector<std::string>> ResolveRuns(store::RunReader& reader,
                                             const std::vector<std::string>& refs) {
  std::vector<std::string> ids;
  for (const auto& ref : refs) {
    auto id = reader.ResolveRunId(ref);
    if (!id.ok()) return id.status();
    if (std::find(ids.begin(), ids.end(), *id) == ids.end()) ids.push_back(*id);
  }
  return ids;
}

namespace {

// Splits at commas outside quotes (`...`, "...", '...').
std::vector<std::string> SplitTopLevel(const std::string& text) {
  std::vector<std::string> parts;
  std::string cur;
  char quote = 0;
  for (char c : text) {
    if (quote) {
      if (c == quote) quote = 0;
    } else if (c == '`' || c == '"' || c == '\'') {
      quote = c;
    } else if (c == ',') {
      parts.push_back(cur);
      cur.clear();
      continue;
    }
    cur += c;
  }
  parts.push_back(cur);
  return parts;
}

std::string Trim(const std::string& s) {
  size_t b = s.find_first_not_of(" \t");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t");
  return s.substr(b, e - b + 1);
}

nlohmann::json OptNumber(const std::optional<double>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

nlohmann::json MetricValue(const RunView& view, const std::string& name, MetricStat stat) {
  const store::MetricSummary* m = view.Metric(name);
  if (!m) return nullptr;
  switch (stat) {
    case MetricStat::kLast: return m->last;
    case MetricStat::kMin: return m->min;
    case MetricStat::kMax: return m->max;
    case MetricStat::kCount: return m->count;
  }
  return nullptr;
}

nlohmann::json TextOrNull(const std::string& s) {
  return s.empty() ? nlohmann::json(nullptr) : nlohmann::json(s);
}

}  // namespace

Result<std::vector<Column>> ParseColumns(const std::string& text) {
  std::vector<Column> columns;
  for (const std::string& raw : SplitTopLevel(text)) {
    std::string part = Trim(raw);
    if (part.empty()) continue;
    if (part == "flags" || part == "metrics") {  // every flag / metric: the caller expands it
      Column group;
      group.field.kind = part == "flags" ? FieldRef::Kind::kFlag : FieldRef::Kind::kMetric;
      group.field.written = part;
      group.header = part;
      columns.push_back(group);
      continue;
    }
    auto keys = query::ParseSortKeys(part);
    if (!keys.ok()) {
      return Status::InvalidArgument("--columns: '" + part + "' is not a field: " +
                                     keys.status().message());
    }
    if (keys->size() != 1 || keys->front().descending || part[0] == '+') {
      return Status::InvalidArgument("--columns: '" + part + "' is not a field name");
    }
    columns.push_back({keys->front().field, part});
  }
  if (columns.empty()) return Status::InvalidArgument("--columns: no columns given");
  return columns;
}

std::optional<double> RunDuration(const store::Run& run, double now) {
  if (!run.started_at) return std::nullopt;
  double end = run.finished_at ? *run.finished_at
                               : (run.status == store::RunStatus::kRunning ? now : *run.started_at);
  return std::max(0.0, end - *run.started_at);
}

nlohmann::json FieldValue(const RunView& view, const FieldRef& field, double now) {
  const store::Run& r = view.run;
  switch (field.kind) {
    case FieldRef::Kind::kFlag: {
      auto it = r.flags.find(field.name);
      return it == r.flags.end() ? nlohmann::json(nullptr) : *it;
    }
    case FieldRef::Kind::kMetric: return MetricValue(view, field.name, field.stat);
    case FieldRef::Kind::kBare: {
      auto it = r.flags.find(field.name);
      if (it != r.flags.end()) return *it;
      return MetricValue(view, field.name, MetricStat::kLast);
    }
    case FieldRef::Kind::kBuiltin: break;
  }
  switch (field.builtin) {
    case Builtin::kId: return r.id;
    case Builtin::kName: return TextOrNull(r.name);
    case Builtin::kStatus: return store::ToString(r.status);
    case Builtin::kExitCode:
      return r.exit_code ? nlohmann::json(*r.exit_code) : nlohmann::json(nullptr);
    case Builtin::kTag: {
      std::string joined;
      for (const auto& t : r.tags) joined += (joined.empty() ? "" : ",") + t;
      return TextOrNull(joined);
    }
    case Builtin::kTune: return TextOrNull(r.tune_id);
    case Builtin::kCreated: return r.created_at;
    case Builtin::kStarted: return OptNumber(r.started_at);
    case Builtin::kFinished: return OptNumber(r.finished_at);
    case Builtin::kDuration: return OptNumber(RunDuration(r, now));
    case Builtin::kHost: return TextOrNull(r.host);
    case Builtin::kNotes: return TextOrNull(r.notes);
    case Builtin::kNone: break;
  }
  return nullptr;
}

bool IsTimeField(const FieldRef& f) {
  return f.kind == FieldRef::Kind::kBuiltin &&
         (f.builtin == Builtin::kCreated || f.builtin == Builtin::kStarted ||
          f.builtin == Builtin::kFinished);
}

bool IsDurationField(const FieldRef& f) {
  return f.kind == FieldRef::Kind::kBuiltin && f.builtin == Builtin::kDuration;
}

std::string FieldText(const RunView& view, const FieldRef& field, double now) {
  nlohmann::json v = FieldValue(view, field, now);
  if (v.is_null()) return "";
  if (IsTimeField(field)) return FormatTime(v.get<double>());
  if (IsDurationField(field)) return FormatDuration(v.get<double>());
  if (field.kind == FieldRef::Kind::kBuiltin && field.builtin == Builtin::kNotes) {
    // One line in a table: the first line of the notes.
    std::string s = v.get<std::string>();
    size_t nl = s.find('\n');
    return nl == std::string::npos ? s : s.substr(0, nl) + " ...";
  }
  return Table::CellText(v, /*exact=*/false);
}

std::string CompactFlags(const nlohmann::json& flags) {
  return flags::FormatFlagsCompact(flags, 6);
}

namespace {

void CollectMetrics(const query::Expr& e, std::vector<std::string>& out) {
  if (e.kind == query::Expr::Kind::kAnd || e.kind == query::Expr::Kind::kOr ||
      e.kind == query::Expr::Kind::kNot) {
    for (const auto& c : e.children) CollectMetrics(c, out);
    return;
  }
  if (e.field.kind == FieldRef::Kind::kMetric || e.field.kind == FieldRef::Kind::kBare) {
    out.push_back(e.field.name);
  }
}

}  // namespace

std::vector<std::string> MetricsMentioned(const std::string& filter,
                                          const std::vector<std::string>& sort_keys) {
  std::vector<std::string> names;
  if (!filter.empty()) {
    auto expr = query::ParseFilter(filter);
    if (expr.ok()) CollectMetrics(*expr, names);
  }
  for (const auto& key : sort_keys) {
    auto keys = query::ParseSortKeys(key);
    if (!keys.ok()) continue;
    for (const auto& k : *keys) {
      if (k.field.kind == FieldRef::Kind::kMetric || k.field.kind == FieldRef::Kind::kBare) {
        names.push_back(k.field.name);
      }
    }
  }
  std::vector<std::string> unique;
  for (auto& n : names) {
    if (std::find(unique.begin(), unique.end(), n) == unique.end()) unique.push_back(n);
  }
  return unique;
}

bool LowerIsBetter(const std::string& metric) {
  std::string lower = metric;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower.find("loss") != std::string::npos || lower.find("err") != std::string::npos;
}

std::string Printable(const std::string& s) {
  std::string out = s;
  for (char& c : out) {
    auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && c != '\n' && c != '\t') || u == 0x7f) c = '?';
  }
  return out;
}

std::string HumanSize(int64_t bytes) {
  if (bytes < 1024) return std::to_string(bytes) + " B";
  const char* units[] = {"KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  int u = -1;
  while (v >= 1024 && u < 3) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f %s", v, units[u]);
  return buf;
}

}  // namespace orchard::cli
