#include "web/run_json.h"

#include <algorithm>
#include <cctype>

namespace orchard::web {

using query::Builtin;
using query::FieldRef;
using query::MetricStat;

namespace {

nlohmann::json Opt(const std::optional<double>& v) { return v ? nlohmann::json(*v) : nullptr; }
nlohmann::json Opt(const std::optional<int64_t>& v) { return v ? nlohmann::json(*v) : nullptr; }
nlohmann::json TextOrNull(const std::string& s) { return s.empty() ? nlohmann::json() : nlohmann::json(s); }

nlohmann::json MetricValue(const RunWithMetrics& v, const std::string& name, MetricStat stat) {
  for (const auto& m : v.metrics) {
    if (m.name != name) continue;
    switch (stat) {
      case MetricStat::kLast: return m.last;
      case MetricStat::kMin: return m.min;
      case MetricStat::kMax: return m.max;
      case MetricStat::kCount: return m.count;
    }
  }
  return nullptr;
}

}  // namespace

std::optional<double> Duration(const store::Run& run, double now) {
  if (!run.started_at) return std::nullopt;
  double end = run.finished_at ? *run.finished_at
                               : (run.status == store::RunStatus::kRunning ? now : *run.started_at);
  return std::max(0.0, end - *run.started_at);
}

nlohmann::json FieldValue(const RunWithMetrics& v, const FieldRef& field, double now) {
  const store::Run& r = v.run;
  switch (field.kind) {
    case FieldRef::Kind::kFlag: {
      auto it = r.flags.find(field.name);
      return it == r.flags.end() ? nlohmann::json() : *it;
    }
    case FieldRef::Kind::kMetric: return MetricValue(v, field.name, field.stat);
    case FieldRef::Kind::kBare: {
      auto it = r.flags.find(field.name);
      if (it != r.flags.end()) return *it;
      return MetricValue(v, field.name, MetricStat::kLast);
    }
    case FieldRef::Kind::kBuiltin: break;
  }
  switch (field.builtin) {
    case Builtin::kId: return r.id;
    case Builtin::kName: return TextOrNull(r.name);
    case Builtin::kStatus: return store::ToString(r.status);
    case Builtin::kExitCode: return r.exit_code ? nlohmann::json(*r.exit_code) : nullptr;
    case Builtin::kTag: return r.tags;
    case Builtin::kTune: return TextOrNull(r.tune_id);
    case Builtin::kCreated: return r.created_at;
    case Builtin::kStarted: return Opt(r.started_at);
    case Builtin::kFinished: return Opt(r.finished_at);
    case Builtin::kDuration: return Opt(Duration(r, now));
    case Builtin::kHost: return TextOrNull(r.host);
    case Builtin::kNotes: return TextOrNull(r.notes);
    case Builtin::kNone: break;
  }
  return nullptr;
}

std::string FieldKey(const FieldRef& field) {
  switch (field.kind) {
    case FieldRef::Kind::kBuiltin:
      // The column holds every tag, so it is named in the plural.
      return field.builtin == Builtin::kTag ? "tags" : query::ToString(field.builtin);
    case FieldRef::Kind::kFlag: return "flags." + field.name;
    case FieldRef::Kind::kMetric:
      return "metrics." + field.name +
             (field.stat == MetricStat::kLast ? "" : std::string(".") + query::ToString(field.stat));
    case FieldRef::Kind::kBare: return field.name;
  }
  return field.written;
}

nlohmann::json SummaryJson(const store::MetricSummary& m) {
  return {{"name", m.name}, {"last", m.last},           {"min", m.min},
          {"max", m.max},   {"last_step", m.last_step}, {"count", m.count}};
}

nlohmann::json RunBrief(const store::Run& r, double now) {
  return {{"id", r.id},
          {"name", TextOrNull(r.name)},
          {"status", store::ToString(r.status)},
          {"tune", TextOrNull(r.tune_id)},
          {"trial", Opt(r.trial)},
          {"created", r.created_at},
          {"started", Opt(r.started_at)},
          {"finished", Opt(r.finished_at)},
          {"duration", Opt(Duration(r, now))},
          {"tags", r.tags}};
}

nlohmann::json RunJson(const store::Run& r, const std::vector<store::MetricSummary>& metrics,
                       double now) {
  nlohmann::json j = RunBrief(r, now);
  j["seq"] = r.seq;
  j["attempt"] = r.attempt;
  j["exit_code"] = r.exit_code ? nlohmann::json(*r.exit_code) : nullptr;
  j["error"] = TextOrNull(r.error);
  j["command"] = r.command;
  j["flags"] = r.flags;
  j["run_dir"] = TextOrNull(r.run_dir);
  j["cwd"] = TextOrNull(r.cwd);
  j["seed"] = Opt(r.seed);
  j["host"] = TextOrNull(r.host);
  j["pid"] = Opt(r.pid);
  j["env"] = r.env;
  j["code"] = {{"commit", TextOrNull(r.code_commit)},
               {"dirty", r.code_dirty ? nlohmann::json(*r.code_dirty) : nullptr},
               {"diff", TextOrNull(r.code_diff)},
               {"snapshot", TextOrNull(r.snapshot_id)}};
  j["notes"] = r.notes;
  nlohmann::json ms = nlohmann::json::array();
  for (const auto& m : metrics) ms.push_back(SummaryJson(m));
  j["metrics"] = ms;
  return j;
}

bool LowerIsBetter(const std::string& metric) {
  std::string lower = metric;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower.find("loss") != std::string::npos || lower.find("err") != std::string::npos;
}

}  // namespace orchard::web
