#include "orchestrator/query/compiler/condition.h"

#include <cctype>
#include <cmath>
#include <utility>
#include <vector>

#include "orchestrator/query/lexer.h"
#include "orchestrator/query/time_literal.h"
#include "orchestrator/store/types.h"

namespace orchard::query {

namespace {

// A literal read for its column: one bound value, or a period of time.
struct Typed {
  const std::string* column = nullptr;
  bool period = false;
  SqlParam param;
  TimeSpan span;
};

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string ValidStatuses() {
  std::string out;
  using store::RunStatus;
  for (RunStatus s : {RunStatus::kQueued, RunStatus::kRunning, RunStatus::kCompleted,
                      RunStatus::kFailed, RunStatus::kCancelled, RunStatus::kPruned}) {
    if (!out.empty()) out += ", ";
    out += store::ToString(s);
  }
  return out;
}

std::string Quoted(const Literal& l) { return "'" + l.text + "'"; }

Result<Typed> ReadTime(const Literal& l, const Target& t, double now) {
  Typed v;
  v.column = &t.column;
  v.period = true;
  switch (l.kind) {
    case Literal::Kind::kNumber:  // epoch seconds
      v.span = {l.number, l.number};
      return v;
    case Literal::Kind::kDuration:
      if (l.number > 0 || l.text[0] == '+') {
        return ErrorAt(l.column, "a relative time counts back from now: write '-" +
                                     (l.text[0] == '+' ? l.text.substr(1) : l.text) +
                                     "' for that long ago");
      }
      v.span = {now + l.number, now + l.number};
      return v;
    case Literal::Kind::kDate:
    case Literal::Kind::kString:
    case Literal::Kind::kWord: {
      Result<TimeSpan> span = ParseTimeText(l.text, now);
      if (!span.ok()) {
        return ErrorAt(l.column, t.written + " compares with times: " + span.status().message() +
                                     ", or a relative time like -7d, -3h, -30m");
      }
      v.span = *span;
      return v;
    }
    case Literal::Kind::kBool: break;
  }
  return ErrorAt(l.column, t.written + " compares with times, not " + Quoted(l));
}

Result<Typed> Read(const Literal& l, const Target& t, bool glob, double now) {
  Typed v;
  v.column = &t.column;
  bool number = l.kind == Literal::Kind::kNumber;
  if (glob) {
    if (t.domain == Domain::kText || t.domain == Domain::kStatus) {
      v.param = l.text;
      return v;
    }
    if (t.domain == Domain::kFlag) {
      v.column = &t.text_column;
      v.param = l.text;
      return v;
    }
    return ErrorAt(l.column, "'~' matches text, but " + t.written + " is not text");
  }
  switch (t.domain) {
    case Domain::kText:
      v.param = l.text;
      return v;
    case Domain::kStatus: {
      std::string s = Lower(l.text);
      if (!store::ParseRunStatus(s)) {
        return ErrorAt(l.column, Quoted(l) + " is not a run status; valid: " + ValidStatuses());
      }
      v.param = s;
      return v;
    }
    case Domain::kInteger:
      if (number && std::nearbyint(l.number) == l.number && std::fabs(l.number) < 9e15) {
        v.param = static_cast<int64_t>(l.number);
        return v;
      }
      return ErrorAt(l.column, t.written + " compares with whole numbers, not " + Quoted(l));
    case Domain::kTime:
      return ReadTime(l, t, now);
    case Domain::kSeconds: {
      double seconds = 0;
      if (number || l.kind == Literal::Kind::kDuration) {
        v.param = l.number;
        return v;
      }
      if (l.kind == Literal::Kind::kString && !l.text.empty() &&
          DurationLength(l.text, &seconds) == l.text.size()) {
        v.param = seconds;
        return v;
      }
      return ErrorAt(l.column, t.written + " compares with seconds or a duration like 90s, "
                                           "30m, 2h; not " + Quoted(l));
    }
    case Domain::kNumber:
      if (number) {
        v.param = l.number;
        return v;
      }
      return ErrorAt(l.column, t.written + " holds numbers; " + Quoted(l) + " is not a number");
    case Domain::kFlag:
      if (number) {
        v.param = l.number;
      } else {
        v.column = &t.text_column;
        v.param = l.text;
      }
      return v;
  }
  return Status::Internal("unknown domain");
}

SqlFragment Param(const std::string& column, const char* op, SqlParam p) {
  return {column + " " + op + " ?", {std::move(p)}};
}

SqlFragment Both(SqlFragment a, const char* op, SqlFragment b) {
  SqlFragment out{"(" + a.sql + " " + op + " " + b.sql + ")", std::move(a.params)};
  for (SqlParam& p : b.params) out.params.push_back(std::move(p));
  return out;
}

SqlFragment Negate(SqlFragment f, bool row_exists) {
  f.sql = row_exists ? "NOT COALESCE(" + f.sql + ", 0)" : "NOT (" + f.sql + ")";
  return f;
}

SqlFragment Equal(const Typed& v) {
  if (!v.period) return Param(*v.column, "=", v.param);
  if (v.span.instant()) return Param(*v.column, "=", v.span.start);
  return Both(Param(*v.column, ">=", v.span.start), "AND", Param(*v.column, "<", v.span.end));
}

// A time period compares as a whole: created > 2026-11-01 is from the next
// day on, created <= 2026-11-01 includes all of that day.
SqlFragment Order(CompareOp op, const Typed& v) {
  const std::string& c = *v.column;
  if (!v.period) {
    return Param(c, ToString(op), v.param);
  }
  const TimeSpan& s = v.span;
  bool whole = !s.instant();
  switch (op) {
    case CompareOp::kLt: return Param(c, "<", s.start);
    case CompareOp::kLe: return whole ? Param(c, "<", s.end) : Param(c, "<=", s.start);
    case CompareOp::kGt: return whole ? Param(c, ">=", s.end) : Param(c, ">", s.start);
    case CompareOp::kGe: return Param(c, ">=", s.start);
    default: return Equal(v);
  }
}

Result<SqlFragment> InList(const Expr& e, const Target& t, double now) {
  // Values go to their column (a flag's num or value) as one SQL IN list
  // each; periods of time become ranges.
  std::vector<SqlFragment> parts;
  std::vector<std::pair<const std::string*, SqlFragment>> lists;
  for (const Literal& l : e.values) {
    Result<Typed> v = Read(l, t, false, now);
    if (!v.ok()) return v.status();
    if (v->period) {
      parts.push_back(Equal(*v));
      continue;
    }
    auto it = lists.begin();
    while (it != lists.end() && it->first != v->column) ++it;
    if (it == lists.end()) {
      lists.push_back({v->column, {}});
      it = lists.end() - 1;
    }
    it->second.sql += it->second.params.empty() ? "?" : ", ?";
    it->second.params.push_back(std::move(v->param));
  }
  for (auto& [column, list] : lists) {
    list.sql = *column + " IN (" + list.sql + ")";
    parts.push_back(std::move(list));
  }
  return JoinTerms(std::move(parts), "OR");
}

}  // namespace

SqlFragment JoinTerms(std::vector<SqlFragment> parts, const char* op) {
  if (parts.empty()) return {"1", {}};
  // SQLite parses a flat "a OR b OR c" with constant parser stack but builds
  // a tree one level deeper per term, and refuses trees deeper than 1000.
  // Parenthesised groups of kTermsPerGroup keep both small: 20,000 terms are
  // three levels of parentheses and at most ~100 levels of tree.
  constexpr size_t kTermsPerGroup = 32;
  while (parts.size() > 1) {
    std::vector<SqlFragment> next;
    for (size_t i = 0; i < parts.size(); i += kTermsPerGroup) {
      SqlFragment group{"(", {}};
      for (size_t j = i; j < parts.size() && j < i + kTermsPerGroup; ++j) {
        if (j > i) group.sql += std::string(" ") + op + " ";
        group.sql += parts[j].sql;
        for (SqlParam& p : parts[j].params) group.params.push_back(std::move(p));
      }
      group.sql += ")";
      next.push_back(std::move(group));
    }
    parts = std::move(next);
  }
  return std::move(parts.front());
}

Result<SqlFragment> CompileCondition(const Expr& e, const Target& t, double now) {
  bool ordering = e.kind == Expr::Kind::kRange ||
                  (e.kind == Expr::Kind::kCompare &&
                   (e.op == CompareOp::kLt || e.op == CompareOp::kLe || e.op == CompareOp::kGt ||
                    e.op == CompareOp::kGe));
  if (ordering && t.domain == Domain::kStatus) {
    return ErrorAt(e.column, "status is not ordered; use =, !=, ~, !~, in or not in");
  }
  switch (e.kind) {
    case Expr::Kind::kCompare: {
      bool glob = e.op == CompareOp::kGlob || e.op == CompareOp::kNotGlob;
      Result<Typed> v = Read(e.values.at(0), t, glob, now);
      if (!v.ok()) return v.status();
      switch (e.op) {
        case CompareOp::kEq: return Equal(*v);
        case CompareOp::kNe: return Negate(Equal(*v), t.row_exists);
        case CompareOp::kGlob: return Param(*v->column, "GLOB", v->param);
        case CompareOp::kNotGlob:
          return Negate(Param(*v->column, "GLOB", v->param), t.row_exists);
        default: return Order(e.op, *v);
      }
    }
    case Expr::Kind::kIn: {
      Result<SqlFragment> in = InList(e, t, now);
      if (!in.ok()) return in;
      return e.negated ? Negate(std::move(in).value(), t.row_exists) : std::move(in).value();
    }
    case Expr::Kind::kRange: {
      Result<Typed> lo = Read(e.values.at(0), t, false, now);
      if (!lo.ok()) return lo.status();
      Result<Typed> hi = Read(e.values.at(1), t, false, now);
      if (!hi.ok()) return hi.status();
      if (lo->column != hi->column) {
        return ErrorAt(e.values[1].column,
                       "the bounds of a range must both be numbers or both be text");
      }
      SqlFragment range = Both(Order(e.low_open ? CompareOp::kGt : CompareOp::kGe, *lo), "AND",
                               Order(e.high_open ? CompareOp::kLt : CompareOp::kLe, *hi));
      return e.negated ? Negate(std::move(range), t.row_exists) : range;
    }
    default: break;
  }
  return Status::Internal("CompileCondition: not a predicate");
}

}  // namespace orchard::query
