// The runs endpoints: list, fields, one run, metric series, logs, artifacts.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>
#include <set>

#include "orchestrator/query/compiler/sql.h"
#include "orchestrator/query/parser.h"
#include "web/api.h"
#include "web/json_text.h"
#include "web/lttb.h"
#include "web/run_json.h"
#include "web/safe_path.h"

namespace orchard::web {

using query::FieldRef;

int HttpStatusFor(const Status& s) {
  switch (s.code()) {
    case Status::Code::kOk: return 200;
    case Status::Code::kInvalidArgument: return 400;
    case Status::Code::kNotFound: return 404;
    case Status::Code::kAlreadyExists: return 409;
    default: return 500;
  }
}

Result<int64_t> IntParam(const Params& p, const std::string& name, int64_t fallback, int64_t min,
                         int64_t max) {
  auto it = p.find(name);
  if (it == p.end() || it->second.empty()) return fallback;
  const std::string& s = it->second;
  int64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) {
    return Status::InvalidArgument("parameter " + name + "=" + s + ": expected a whole number");
  }
  if (v < min || v > max) {
    return Status::InvalidArgument("parameter " + name + "=" + s + ": expected " +
                                   std::to_string(min) + " to " + std::to_string(max));
  }
  return v;
}

std::vector<std::string> ListParam(const Params& p, const std::string& name) {
  std::vector<std::string> out;
  auto it = p.find(name);
  if (it == p.end()) return out;
  size_t start = 0;
  const std::string& s = it->second;
  while (start <= s.size()) {
    size_t comma = s.find(',', start);
    if (comma == std::string::npos) comma = s.size();
    std::string item = s.substr(start, comma - start);
    size_t b = item.find_first_not_of(' '), e = item.find_last_not_of(' ');
    if (b != std::string::npos) out.push_back(item.substr(b, e - b + 1));
    start = comma + 1;
  }
  return out;
}

namespace {

std::string Param(const Params& p, const std::string& name) {
  auto it = p.find(name);
  return it == p.end() ? "" : it->second;
}

struct Col {
  FieldRef field;
  std::string key;
  bool group = false;  // "flags" or "metrics": every one on the page
};

FieldRef Builtin(query::Builtin b) {
  FieldRef f;
  f.kind = FieldRef::Kind::kBuiltin;
  f.builtin = b;
  return f;
}

FieldRef Named(FieldRef::Kind kind, const std::string& name) {
  FieldRef f;
  f.kind = kind;
  f.name = name;
  return f;
}

Result<std::vector<Col>> ParseColumnList(const std::string& text) {
  std::vector<Col> cols;
  // Split at commas outside quotes, as the CLI's --columns does.
  std::vector<std::string> parts(1);
  char quote = 0;
  for (char c : text) {
    if (quote) {
      if (c == quote) quote = 0;
    } else if (c == '`' || c == '"' || c == '\'') {
      quote = c;
    } else if (c == ',') {
      parts.emplace_back();
      continue;
    }
    parts.back() += c;
  }
  for (std::string part : parts) {
    size_t b = part.find_first_not_of(" \t"), e = part.find_last_not_of(" \t");
    if (b == std::string::npos) continue;
    part = part.substr(b, e - b + 1);
    if (part == "flags" || part == "metrics") {
      Col c;
      c.field.kind = part == "flags" ? FieldRef::Kind::kFlag : FieldRef::Kind::kMetric;
      c.key = part;
      c.group = true;
      cols.push_back(c);
      continue;
    }
    auto keys = query::ParseSortKeys(part);
    if (!keys.ok()) {
      return Status::InvalidArgument("parameter columns: '" + part +
                                     "' is not a field: " + keys.status().message());
    }
    if (keys->size() != 1 || keys->front().descending || part[0] == '+') {
      return Status::InvalidArgument("parameter columns: '" + part + "' is not a field name");
    }
    cols.push_back({keys->front().field, FieldKey(keys->front().field), false});
  }
  if (cols.empty()) return Status::InvalidArgument("parameter columns: no columns given");
  return cols;
}

// Replaces the groups by a column per flag (by name) and per metric (by how
// many runs on the page report it, then name).
std::vector<Col> Expand(const std::vector<Col>& cols, const std::vector<RunWithMetrics>& rows) {
  std::set<std::string> flags;
  std::map<std::string, int> metric_count;
  for (const auto& r : rows) {
    for (const auto& [k, v] : r.run.flags.items()) flags.insert(k);
    for (const auto& m : r.metrics) ++metric_count[m.name];
  }
  std::vector<std::pair<std::string, int>> metrics(metric_count.begin(), metric_count.end());
  std::stable_sort(metrics.begin(), metrics.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  std::vector<Col> out;
  std::set<std::string> seen;
  auto add = [&](Col c) {
    if (seen.insert(c.key).second) out.push_back(std::move(c));
  };
  for (const auto& c : cols) {
    if (!c.group) {
      add(c);
    } else if (c.field.kind == FieldRef::Kind::kFlag) {
      for (const auto& f : flags) add({Named(FieldRef::Kind::kFlag, f), "flags." + f, false});
    } else {
      for (const auto& [m, n] : metrics) {
        add({Named(FieldRef::Kind::kMetric, m), "metrics." + m, false});
      }
    }
  }
  return out;
}

const char* KindName(const FieldRef& f) {
  switch (f.kind) {
    case FieldRef::Kind::kBuiltin: return "builtin";
    case FieldRef::Kind::kFlag: return "flag";
    case FieldRef::Kind::kMetric: return "metric";
    case FieldRef::Kind::kBare: return "bare";
  }
  return "bare";
}

Result<store::Run> LoadRun(store::RunReader& reader, const std::string& ref) {
  auto id = reader.ResolveRunId(ref);
  if (!id.ok()) return id.status();
  return reader.GetRun(*id);
}

}  // namespace

Result<nlohmann::json> ListRunsJson(store::RunReader& reader, const Params& p, double now) {
  const std::string filter = Param(p, "filter"), sort = Param(p, "sort");
  auto limit = IntParam(p, "limit", 50, 1, 1000);
  if (!limit.ok()) return limit.status();
  auto offset = IntParam(p, "offset", 0, 0, INT64_MAX);
  if (!offset.ok()) return offset.status();
  auto where = query::CompileFilter(filter, now);
  if (!where.ok()) return where.status().WithContext("parameter filter");
  store::RunQuery q;
  q.where_sql = where->sql;
  q.params = where->params;
  if (!sort.empty()) {
    auto order = query::CompileSortKey(sort);
    if (!order.ok()) return order.status().WithContext("parameter sort");
    q.order_sql = order->sql + ", r.seq DESC";
    q.order_params = order->params;
  }
  q.limit = *limit;
  q.offset = *offset;
  std::vector<Col> cols;
  const std::string columns = Param(p, "columns");
  if (columns.empty()) {
    using B = query::Builtin;
    for (B b : {B::kId, B::kName, B::kStatus, B::kTune, B::kCreated, B::kStarted, B::kFinished,
                B::kDuration, B::kTag}) {
      FieldRef f = Builtin(b);
      cols.push_back({f, FieldKey(f), false});
    }
    Col flags, metrics;
    flags.field.kind = FieldRef::Kind::kFlag;
    flags.key = "flags";
    flags.group = true;
    metrics.field.kind = FieldRef::Kind::kMetric;
    metrics.key = "metrics";
    metrics.group = true;
    cols.push_back(flags);
    cols.push_back(metrics);
  } else {
    auto parsed = ParseColumnList(columns);
    if (!parsed.ok()) return parsed.status();
    cols = std::move(parsed).value();
  }

  auto runs = reader.ListRuns(q);
  if (!runs.ok()) return runs.status();
  auto total = reader.CountRuns(q);
  if (!total.ok()) return total.status();
  std::vector<RunWithMetrics> rows;
  rows.reserve(runs->size());
  for (auto& r : *runs) {
    auto m = reader.GetMetricSummaries(r.id);
    if (!m.ok()) return m.status();
    rows.push_back({std::move(r), std::move(m).value()});
  }
  cols = Expand(cols, rows);

  nlohmann::json col_json = nlohmann::json::array();
  for (const auto& c : cols) {
    nlohmann::json j = {{"key", c.key}, {"kind", KindName(c.field)}};
    if (!c.field.name.empty()) j["name"] = c.field.name;
    col_json.push_back(j);
  }
  nlohmann::json out_rows = nlohmann::json::array();
  for (const auto& r : rows) {
    nlohmann::json row = {{"id", r.run.id}};
    for (const auto& c : cols) row[c.key] = FieldValue(r, c.field, now);
    out_rows.push_back(std::move(row));
  }
  return nlohmann::json{{"total", *total}, {"offset", *offset}, {"limit", *limit},
                        {"filter", filter}, {"sort", sort},     {"columns", col_json},
                        {"runs", out_rows}};
}

Result<nlohmann::json> FieldsJson(store::Db& db) {
  nlohmann::json out = {{"builtins", {"id", "name", "status", "exit_code", "tags", "tune",
                                      "created", "started", "finished", "duration", "host",
                                      "notes"}}};
  for (auto [key, sql] : {std::pair{"flags", "SELECT DISTINCT name FROM run_flags ORDER BY name"},
                          {"metrics", "SELECT DISTINCT name FROM metric_summary ORDER BY name"}}) {
    auto st = db.Prepare(sql);
    if (!st.ok()) return st.status();
    nlohmann::json names = nlohmann::json::array();
    while (st->Step()) names.push_back(st->Text(0));
    if (!st->status().ok()) return st->status();
    out[key] = names;
  }
  return out;
}

Result<nlohmann::json> RunDetailJson(store::RunReader& reader, const std::string& ref, double now) {
  auto run = LoadRun(reader, ref);
  if (!run.ok()) return run.status();
  auto metrics = reader.GetMetricSummaries(run->id);
  if (!metrics.ok()) return metrics.status();
  return RunJson(*run, *metrics, now);
}

namespace {

using Series = std::vector<store::MetricPoint>;

// The ids the references name, in order and without repeats. Full ids are
// checked with one query; anything else resolves one by one.
Result<std::vector<std::string>> ResolveMany(store::RunReader& reader, store::Db* db,
                                             const std::vector<std::string>& refs) {
  std::set<std::string> known;
  if (db) {
    std::string sql = "SELECT id FROM runs WHERE id IN (";
    for (size_t i = 0; i < refs.size(); ++i) sql += i ? ",?" : "?";
    sql += ")";
    auto st = db->Prepare(sql);
    if (!st.ok()) return st.status();
    for (size_t i = 0; i < refs.size(); ++i) st->Bind(static_cast<int>(i + 1), refs[i]);
    while (st->Step()) known.insert(st->Text(0));
    ORCHARD_RETURN_IF_ERROR(st->status());
  }
  std::vector<std::string> ids;
  std::set<std::string> seen;
  for (const auto& ref : refs) {
    std::string id = ref;
    if (!known.count(ref)) {
      auto resolved = reader.ResolveRunId(ref);
      if (!resolved.ok()) return resolved.status().WithContext("parameter runs");
      id = *resolved;
    }
    if (seen.insert(id).second) ids.push_back(id);
  }
  return ids;
}

// The points of metric `name` for each of `ids`, by step.
Result<std::map<std::string, Series>> ReadSeries(store::RunReader& reader, store::Db* db,
                                                 const std::vector<std::string>& ids,
                                                 const std::string& name) {
  std::map<std::string, Series> out;
  if (!db) {
    for (const auto& id : ids) {
      auto pts = reader.GetMetricSeries(id, name);
      if (!pts.ok()) return pts.status();
      out[id] = std::move(pts).value();
    }
    return out;
  }
  std::string sql = "SELECT run_id, step, epoch, value, time FROM metrics WHERE name = ? AND run_id IN (";
  for (size_t i = 0; i < ids.size(); ++i) sql += i ? ",?" : "?";
  sql += ") ORDER BY run_id, step, rowid";
  auto st = db->Prepare(sql);
  if (!st.ok()) return st.status();
  st->Bind(1, name);
  for (size_t i = 0; i < ids.size(); ++i) st->Bind(static_cast<int>(i + 2), ids[i]);
  Series* cur = nullptr;
  std::string cur_id;
  while (st->Step()) {
    std::string id = st->Text(0);
    if (!cur || id != cur_id) {
      cur_id = id;
      cur = &out[id];
    }
    store::MetricPoint p;
    p.name = name;
    p.step = st->Int(1);
    p.epoch = st->OptInt(2);
    p.value = st->IsNull(3) ? std::nan("") : st->Double(3);
    p.time = st->Double(4);
    cur->push_back(std::move(p));
  }
  ORCHARD_RETURN_IF_ERROR(st->status());
  return out;
}

}  // namespace

namespace {

struct OneSeries {
  std::string run, name;
  size_t count = 0;
  std::vector<const store::MetricPoint*> kept;
};

struct SeriesSet {
  std::string x;
  int64_t max_points = 0;
  std::map<std::string, std::map<std::string, Series>> by_name;  // owns the points
  std::vector<OneSeries> series;
};

Result<SeriesSet> CollectSeries(store::RunReader& reader, const Params& p, store::Db* db) {
  std::vector<std::string> refs = ListParam(p, "runs");
  if (refs.empty()) return Status::InvalidArgument("parameter runs: name at least one run");
  if (refs.size() > 1000) {
    return Status::InvalidArgument("parameter runs: at most 1000 runs per request");
  }
  std::vector<std::string> names = ListParam(p, "names");
  auto max_points = IntParam(p, "max_points", kDefaultMaxPoints, 3, kMaxMaxPoints);
  if (!max_points.ok()) return max_points.status();
  SeriesSet out;
  out.max_points = *max_points;
  out.x = Param(p, "x");
  if (out.x.empty()) out.x = "step";
  if (out.x != "step" && out.x != "time") {
    return Status::InvalidArgument("parameter x=" + out.x + ": expected step or time");
  }
  auto ids = ResolveMany(reader, db, refs);
  if (!ids.ok()) return ids.status();

  // Which metrics of which run: the names asked, or each run's own.
  std::vector<std::vector<std::string>> wanted(ids->size(), names);
  std::set<std::string> all_names(names.begin(), names.end());
  if (names.empty()) {
    for (size_t i = 0; i < ids->size(); ++i) {
      auto sums = reader.GetMetricSummaries((*ids)[i]);
      if (!sums.ok()) return sums.status();
      for (const auto& s : *sums) {
        wanted[i].push_back(s.name);
        all_names.insert(s.name);
      }
    }
  }
  for (const auto& name : all_names) {
    auto got = ReadSeries(reader, db, *ids, name);
    if (!got.ok()) return got.status();
    out.by_name[name] = std::move(got).value();
  }
  const bool by_step = out.x == "step";
  std::vector<XY> xy;
  for (size_t i = 0; i < ids->size(); ++i) {
    const std::string& id = (*ids)[i];
    for (const auto& name : wanted[i]) {
      const Series& pts = out.by_name[name][id];
      xy.clear();
      for (const auto& pt : pts) xy.push_back({by_step ? static_cast<double>(pt.step) : pt.time, pt.value});
      OneSeries one{id, name, pts.size(), {}};
      for (size_t k : LttbIndices(xy, static_cast<size_t>(out.max_points))) one.kept.push_back(&pts[k]);
      out.series.push_back(std::move(one));
    }
  }
  return out;
}

void AppendNumber(std::string& out, double v) {
  if (!std::isfinite(v)) {
    out += "null";
    return;
  }
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, r.ptr);
}

}  // namespace

Result<nlohmann::json> MetricSeriesJson(store::RunReader& reader, const Params& p, store::Db* db) {
  auto set = CollectSeries(reader, p, db);
  if (!set.ok()) return set.status();
  nlohmann::json series = nlohmann::json::array();
  for (const auto& one : set->series) {
    nlohmann::json points = nlohmann::json::array();
    for (const store::MetricPoint* pt : one.kept) {
      nlohmann::json x = set->x == "step" ? nlohmann::json(pt->step) : nlohmann::json(pt->time);
      points.push_back({x, pt->value});
    }
    series.push_back({{"run", one.run},
                      {"name", one.name},
                      {"count", one.count},
                      {"downsampled", one.kept.size() < one.count},
                      {"points", std::move(points)}});
  }
  return nlohmann::json{{"x", set->x}, {"max_points", set->max_points}, {"series", std::move(series)}};
}

Result<std::string> MetricSeriesText(store::RunReader& reader, const Params& p, store::Db* db) {
  auto set = CollectSeries(reader, p, db);
  if (!set.ok()) return set.status();
  const bool by_step = set->x == "step";
  std::string out = "{\"max_points\":" + std::to_string(set->max_points) + ",\"series\":[";
  bool first = true;
  for (const auto& one : set->series) {
    out += first ? "{" : ",{";
    first = false;
    out += "\"count\":" + std::to_string(one.count) + ",\"downsampled\":" +
           (one.kept.size() < one.count ? "true" : "false") +
           ",\"name\":" + DumpJson(one.name) + ",\"points\":[";
    for (size_t k = 0; k < one.kept.size(); ++k) {
      const store::MetricPoint* pt = one.kept[k];
      out += k ? ",[" : "[";
      if (by_step) {
        out += std::to_string(pt->step);
      } else {
        AppendNumber(out, pt->time);
      }
      out += ',';
      AppendNumber(out, pt->value);
      out += ']';
    }
    out += "],\"run\":" + DumpJson(one.run) + "}";
  }
  out += "],\"x\":" + DumpJson(set->x) + "}";
  return out;
}

Result<nlohmann::json> LogsJson(store::RunReader& reader, const std::string& ref, const Params& p) {
  auto id = reader.ResolveRunId(ref);
  if (!id.ok()) return id.status();
  auto after = IntParam(p, "after", 0, 0, INT64_MAX);
  if (!after.ok()) return after.status();
  auto limit = IntParam(p, "limit", 1000, 1, 100000);
  if (!limit.ok()) return limit.status();
  auto logs = reader.GetLogs(*id, *after);
  if (!logs.ok()) return logs.status();
  nlohmann::json chunks = nlohmann::json::array();
  int64_t next = *after;
  size_t n = 0;
  for (const auto& c : *logs) {
    if (n++ == static_cast<size_t>(*limit)) break;
    chunks.push_back({{"seq", c.seq}, {"stream", c.stream}, {"time", c.time}, {"text", c.text}});
    next = c.seq;
  }
  return nlohmann::json{{"run", *id},
                        {"chunks", std::move(chunks)},
                        {"next_after", next},
                        {"more", logs->size() > static_cast<size_t>(*limit)}};
}

Result<nlohmann::json> ArtifactsJson(store::RunReader& reader, const std::string& ref) {
  auto id = reader.ResolveRunId(ref);
  if (!id.ok()) return id.status();
  auto list = reader.GetArtifacts(*id);
  if (!list.ok()) return list.status();
  nlohmann::json out = nlohmann::json::array();
  for (const auto& a : *list) {
    out.push_back({{"path", a.path}, {"size", a.size}, {"sha256", a.sha256}, {"mtime", a.mtime}});
  }
  return nlohmann::json{{"run", *id}, {"artifacts", std::move(out)}};
}

Result<std::string> ArtifactFile(store::RunReader& reader, const std::string& ref,
                                 const std::string& path) {
  auto run = LoadRun(reader, ref);
  if (!run.ok()) return run.status();
  if (run->run_dir.empty()) return Status::NotFound("run " + run->id + " has no run folder");
  auto file = ResolveInside(run->run_dir, path);
  if (!file.ok()) return file.status().WithContext("artifact of run " + run->id);
  return file;
}

}  // namespace orchard::web
