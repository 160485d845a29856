#include "orchestrator/ci/gates.h"

#include <ctime>

#include "flags/flag_value.h"
#include "orchestrator/query/parser.h"

namespace orchard::ci {

namespace {

void Collect(const query::Expr& e, std::vector<query::FieldRef>& out) {
  using K = query::Expr::Kind;
  if (e.kind == K::kAnd || e.kind == K::kOr || e.kind == K::kNot) {
    for (const auto& c : e.children) Collect(c, out);
    return;
  }
  for (const auto& f : out) {
    if (f.kind == e.field.kind && f.builtin == e.field.builtin && f.stat == e.field.stat &&
        f.name == e.field.name) {
      return;
    }
  }
  out.push_back(e.field);
}

std::string LocalTime(double t) {
  std::time_t s = static_cast<std::time_t>(t);
  std::tm tm{};
  localtime_r(&s, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

const store::MetricSummary* FindMetric(const std::vector<store::MetricSummary>& metrics,
                                       const std::string& name) {
  for (const auto& m : metrics) {
    if (m.name == name) return &m;
  }
  return nullptr;
}

std::string MetricText(const store::MetricSummary* m, query::MetricStat stat) {
  if (!m) return "(none)";
  switch (stat) {
    case query::MetricStat::kLast: return flags::FormatDouble(m->last);
    case query::MetricStat::kMin: return flags::FormatDouble(m->min);
    case query::MetricStat::kMax: return flags::FormatDouble(m->max);
    case query::MetricStat::kCount: return std::to_string(m->count);
  }
  return "(none)";
}

std::string Quoted(const std::string& s) { return "'" + s + "'"; }

std::string ValueText(const query::FieldRef& f, const store::Run& run,
                      const std::vector<store::MetricSummary>& metrics, double now) {
  using K = query::FieldRef::Kind;
  using B = query::Builtin;
  switch (f.kind) {
    case K::kFlag:
      return run.flags.contains(f.name) ? flags::FormatScalar(run.flags[f.name]) : "(none)";
    case K::kMetric: return MetricText(FindMetric(metrics, f.name), f.stat);
    case K::kBare:
      if (run.flags.contains(f.name)) return flags::FormatScalar(run.flags[f.name]);
      return MetricText(FindMetric(metrics, f.name), query::MetricStat::kLast);
    case K::kBuiltin: break;
  }
  switch (f.builtin) {
    case B::kId: return run.id;
    case B::kName: return Quoted(run.name);
    case B::kStatus: return store::ToString(run.status);
    case B::kExitCode: return run.exit_code ? std::to_string(*run.exit_code) : "(none)";
    case B::kTag: {
      std::string t;
      for (const auto& tag : run.tags) t += (t.empty() ? "" : ",") + tag;
      return "[" + t + "]";
    }
    case B::kTune: return run.tune_id.empty() ? "(none)" : run.tune_id;
    case B::kCreated: return LocalTime(run.created_at);
    case B::kStarted: return run.started_at ? LocalTime(*run.started_at) : "(none)";
    case B::kFinished: return run.finished_at ? LocalTime(*run.finished_at) : "(none)";
    case B::kDuration: {
      if (!run.started_at) return "(none)";
      double end = run.finished_at ? *run.finished_at : now;
      return flags::FormatDouble(end - *run.started_at) + "s";
    }
    case B::kHost: return Quoted(run.host);
    case B::kNotes: return Quoted(run.notes);
    case B::kNone: break;
  }
  return "(none)";
}

}  // namespace

std::vector<query::FieldRef> FieldsNamed(const query::Expr& expr) {
  std::vector<query::FieldRef> out;
  Collect(expr, out);
  return out;
}

std::string DescribeFields(const std::vector<query::FieldRef>& fields, const store::Run& run,
                           const std::vector<store::MetricSummary>& metrics, double now) {
  std::string out;
  for (const auto& f : fields) {
    out += (out.empty() ? "" : ", ") + f.written + " = " + ValueText(f, run, metrics, now);
  }
  return out;
}

Result<std::vector<Expectation>> CompileExpectations(const std::vector<std::string>& texts,
                                                     double now) {
  std::vector<Expectation> out;
  for (const auto& text : texts) {
    auto context = "--expect '" + text + "'";
    bool blank = text.find_first_not_of(" \t\r\n") == std::string::npos;
    if (blank) return Status::InvalidArgument(context + ": an expectation cannot be empty");
    auto expr = query::ParseFilter(text);
    if (!expr.ok()) return expr.status().WithContext(context + ": filter");
    auto where = query::CompileExpr(*expr, now);
    if (!where.ok()) return where.status().WithContext(context);
    out.push_back({text, std::move(expr).value(), std::move(where).value()});
  }
  return out;
}

Result<std::vector<GateResult>> EvaluateGates(store::RunReader& store, const std::string& run_id,
                                              const std::vector<Expectation>& expectations,
                                              double now) {
  std::vector<GateResult> out;
  if (run_id.empty()) {
    for (const auto& e : expectations) {
      out.push_back({e.text, "", false, "", "no run to check: no trial completed"});
    }
    return out;
  }
  auto run = store.GetRun(run_id);
  if (!run.ok()) return run.status();
  auto metrics = store.GetMetricSummaries(run_id);
  if (!metrics.ok()) return metrics.status();
  for (const auto& e : expectations) {
    store::RunQuery q;
    q.where_sql = "r.id = ? AND (" + e.where.sql + ")";
    q.params.emplace_back(run_id);
    for (const auto& p : e.where.params) q.params.push_back(p);
    auto n = store.CountRuns(q);
    if (!n.ok()) return n.status().WithContext("--expect '" + e.text + "'");
    GateResult g;
    g.expression = e.text;
    g.run_id = run_id;
    g.passed = *n == 1;
    g.actual = DescribeFields(FieldsNamed(e.expr), *run, *metrics, now);
    if (!g.passed) {
      g.message = "expectation failed: " + e.text + " (run " + run_id +
                  (g.actual.empty() ? "" : ": " + g.actual) + ")";
    }
    out.push_back(std::move(g));
  }
  return out;
}

Result<std::vector<GateResult>> CheckGates(store::RunReader& store, const std::string& run_id,
                                           store::RunStatus status,
                                           const std::vector<Expectation>& expectations,
                                           double now, std::ostream& log) {
  std::vector<GateResult> out;
  if (expectations.empty()) return out;
  if (status != store::RunStatus::kCompleted || run_id.empty()) {
    std::string why = run_id.empty() ? "not checked: no run to check"
                                     : std::string("not checked: the run ") +
                                           store::ToString(status);
    for (const auto& e : expectations) {
      out.push_back({e.text, run_id, false, "", why});
      log << "orchard: gate not checked: " << e.text << " (" << why.substr(13) << ")\n";
    }
    return out;
  }
  auto gates = EvaluateGates(store, run_id, expectations, now);
  if (!gates.ok()) return gates.status();
  for (const auto& g : *gates) {
    if (g.passed) {
      log << "orchard: gate passed: " << g.expression << " (" << g.actual << ")\n";
    } else {
      log << "orchard: gate FAILED: " << g.expression << " (run " << run_id
          << (g.actual.empty() ? "" : ": " + g.actual) << ")\n";
    }
  }
  return gates;
}

}  // namespace orchard::ci
