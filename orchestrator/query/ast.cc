#include "orchestrator/query/ast.h"

namespace orchard::query {

const char* ToString(CompareOp op) {
  switch (op) {
    case CompareOp::kEq: return "=";
    case CompareOp::kNe: return "!=";
    case CompareOp::kLt: return "<";
    case CompareOp::kLe: return "<=";
    case CompareOp::kGt: return ">";
    case CompareOp::kGe: return ">=";
    case CompareOp::kGlob: return "~";
    case CompareOp::kNotGlob: return "!~";
  }
  return "?";
}

const char* ToString(Builtin b) {
  switch (b) {
    case Builtin::kNone: return "";
    case Builtin::kId: return "id";
    case Builtin::kName: return "name";
    case Builtin::kStatus: return "status";
    case Builtin::kExitCode: return "exit_code";
    case Builtin::kTag: return "tag";
    case Builtin::kTune: return "tune";
    case Builtin::kCreated: return "created";
    case Builtin::kStarted: return "started";
    case Builtin::kFinished: return "finished";
    case Builtin::kDuration: return "duration";
    case Builtin::kHost: return "host";
    case Builtin::kNotes: return "notes";
  }
  return "?";
}

const char* ToString(MetricStat s) {
  switch (s) {
    case MetricStat::kLast: return "last";
    case MetricStat::kMin: return "min";
    case MetricStat::kMax: return "max";
    case MetricStat::kCount: return "count";
  }
  return "?";
}

namespace {

std::string FieldString(const FieldRef& f) {
  switch (f.kind) {
    case FieldRef::Kind::kBuiltin: return std::string("builtin:") + ToString(f.builtin);
    case FieldRef::Kind::kFlag: return "flag:" + f.name;
    case FieldRef::Kind::kMetric: return "metric:" + f.name + ":" + ToString(f.stat);
    case FieldRef::Kind::kBare: return "bare:" + f.name;
  }
  return "?";
}

std::string LiteralString(const Literal& l) {
  switch (l.kind) {
    case Literal::Kind::kString: return "'" + l.text + "'";
    case Literal::Kind::kDate: return "date:" + l.text;
    case Literal::Kind::kDuration: return "duration:" + l.text;
    default: return l.text;
  }
}

std::string Values(const std::vector<Literal>& values) {
  std::string out;
  for (const Literal& v : values) {
    if (!out.empty()) out += ' ';
    out += LiteralString(v);
  }
  return out;
}

}  // namespace

std::string DebugString(const Expr& e) {
  switch (e.kind) {
    case Expr::Kind::kAnd:
    case Expr::Kind::kOr:
    case Expr::Kind::kNot: {
      std::string out = e.kind == Expr::Kind::kAnd ? "(and" : e.kind == Expr::Kind::kOr ? "(or" : "(not";
      for (const Expr& c : e.children) out += " " + DebugString(c);
      return out + ")";
    }
    case Expr::Kind::kCompare:
      return std::string("(") + ToString(e.op) + " " + FieldString(e.field) + " " +
             Values(e.values) + ")";
    case Expr::Kind::kIn:
      return std::string(e.negated ? "(not-in " : "(in ") + FieldString(e.field) + " [" +
             Values(e.values) + "])";
    case Expr::Kind::kRange:
      return std::string(e.negated ? "(not-range " : "(range ") + FieldString(e.field) + " " +
             (e.low_open ? "(" : "[") + Values(e.values) + (e.high_open ? ")" : "]") + ")";
  }
  return "?";
}

}  // namespace orchard::query
