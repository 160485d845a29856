#include "orchestrator/query/compiler/sql.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "orchestrator/query/compiler/condition.h"
#include "orchestrator/query/lexer.h"
#include "orchestrator/query/parser.h"

namespace orchard::query {

namespace {

struct BuiltinColumn {
  Builtin builtin;
  const char* sql;
  Domain domain;
};

constexpr BuiltinColumn kColumns[] = {
    {Builtin::kId, "r.id", Domain::kText},
    {Builtin::kName, "r.name", Domain::kText},
    {Builtin::kStatus, "r.status", Domain::kStatus},
    {Builtin::kExitCode, "r.exit_code", Domain::kInteger},
    {Builtin::kTune, "r.tune_id", Domain::kText},
    {Builtin::kCreated, "r.created_at", Domain::kTime},
    {Builtin::kStarted, "r.started_at", Domain::kTime},
    {Builtin::kFinished, "r.finished_at", Domain::kTime},
    {Builtin::kDuration, "(r.finished_at - r.started_at)", Domain::kSeconds},
    {Builtin::kHost, "r.host", Domain::kText},
    {Builtin::kNotes, "r.notes", Domain::kText},
};

const BuiltinColumn* FindColumn(Builtin b) {
  for (const BuiltinColumn& c : kColumns) {
    if (c.builtin == b) return &c;
  }
  return nullptr;  // kTag: not a column
}

const char* MetricColumn(MetricStat s) {
  switch (s) {
    case MetricStat::kLast: return "qm.last";
    case MetricStat::kMin: return "qm.min";
    case MetricStat::kMax: return "qm.max";
    case MetricStat::kCount: return "qm.count";
  }
  return "qm.last";
}

Target FlagTarget(const FieldRef& f) {
  return {Domain::kFlag, "qf.num", "qf.value", true, f.written};
}

Target MetricTarget(const FieldRef& f) {
  return {Domain::kNumber, MetricColumn(f.stat), "", true, f.written};
}

// `r.id IN (SELECT run_id FROM table WHERE name = ? AND condition)`: the
// subquery does not depend on r, so SQLite runs it once, through the
// (name, ...) index, instead of once per run.
SqlFragment InRunsWhere(const char* table, const char* alias, const std::string& name,
                        SqlFragment cond) {
  SqlFragment out;
  out.sql = std::string("r.id IN (SELECT ") + alias + ".run_id FROM " + table + " " + alias +
            " WHERE " + alias + ".name = ? AND " + cond.sql + ")";
  out.params.push_back(name);
  for (SqlParam& p : cond.params) out.params.push_back(std::move(p));
  return out;
}

SqlFragment FlagRows(const std::string& name, SqlFragment cond) {
  return InRunsWhere("run_flags", "qf", name, std::move(cond));
}

SqlFragment MetricRows(const std::string& name, SqlFragment cond) {
  return InRunsWhere("metric_summary", "qm", name, std::move(cond));
}

Result<SqlFragment> Tag(const Expr& e) {
  // Membership in the tags table: `tag = x` is "has tag x", `tag != x` is
  // "does not have tag x" (true for untagged runs too).
  bool positive = true;
  SqlFragment cond;
  auto list = [&]() {
    cond.sql = "qt.tag IN (";
    for (size_t i = 0; i < e.values.size(); ++i) {
      cond.sql += i ? ", ?" : "?";
      cond.params.push_back(e.values[i].text);
    }
    cond.sql += ")";
  };
  if (e.kind == Expr::Kind::kIn) {
    list();
    positive = !e.negated;
  } else if (e.kind == Expr::Kind::kCompare &&
             (e.op == CompareOp::kEq || e.op == CompareOp::kNe || e.op == CompareOp::kGlob ||
              e.op == CompareOp::kNotGlob)) {
    bool glob = e.op == CompareOp::kGlob || e.op == CompareOp::kNotGlob;
    cond.sql = glob ? "qt.tag GLOB ?" : "qt.tag = ?";
    cond.params.push_back(e.values[0].text);
    positive = e.op == CompareOp::kEq || e.op == CompareOp::kGlob;
  } else {
    return ErrorAt(e.column, e.field.written + " supports =, !=, ~, !~, in and not in");
  }
  cond.sql = std::string("r.id ") + (positive ? "IN" : "NOT IN") +
             " (SELECT qt.run_id FROM tags qt WHERE " + cond.sql + ")";
  return cond;
}

bool AllNumbers(const Expr& e) {
  for (const Literal& l : e.values) {
    if (l.kind != Literal::Kind::kNumber) return false;
  }
  return e.op != CompareOp::kGlob && e.op != CompareOp::kNotGlob;
}

Result<SqlFragment> Predicate(const Expr& e, double now) {
  const FieldRef& f = e.field;
  switch (f.kind) {
    case FieldRef::Kind::kBuiltin: {
      if (f.builtin == Builtin::kTag) return Tag(e);
      const BuiltinColumn* c = FindColumn(f.builtin);
      return CompileCondition(e, {c->domain, c->sql, "", false, f.written}, now);
    }
    case FieldRef::Kind::kFlag: {
      Result<SqlFragment> cond = CompileCondition(e, FlagTarget(f), now);
      if (!cond.ok()) return cond;
      return FlagRows(f.name, std::move(cond).value());
    }
    case FieldRef::Kind::kMetric: {
      Result<SqlFragment> cond = CompileCondition(e, MetricTarget(f), now);
      if (!cond.ok()) return cond;
      return MetricRows(f.name, std::move(cond).value());
    }
    case FieldRef::Kind::kBare: {
      // The run's flag when it has one; otherwise its metric (numbers only).
      Result<SqlFragment> flag_cond = CompileCondition(e, FlagTarget(f), now);
      if (!flag_cond.ok()) return flag_cond;
      SqlFragment flag = FlagRows(f.name, std::move(flag_cond).value());
      if (!AllNumbers(e)) return flag;
      Result<SqlFragment> metric_cond = CompileCondition(e, MetricTarget(f), now);
      if (!metric_cond.ok()) return metric_cond;
      SqlFragment no_flag{"r.id NOT IN (SELECT qf.run_id FROM run_flags qf WHERE qf.name = ?)",
                          {f.name}};
      SqlFragment metric = MetricRows(f.name, std::move(metric_cond).value());
      return JoinTerms({std::move(flag), JoinTerms({std::move(no_flag), std::move(metric)}, "AND")},
                       "OR");
    }
  }
  return Status::Internal("unknown field kind");
}

// The deepest parenthesis nesting in compiled SQL (which holds no quoted text).
int ParenDepth(const std::string& sql) {
  int depth = 0, deepest = 0;
  for (char c : sql) {
    if (c == '(') deepest = std::max(deepest, ++depth);
    if (c == ')') --depth;
  }
  return deepest;
}

// Compiles a parse tree, keeping the SQL shallow enough for SQLite's parser,
// whose stack (100 entries in 3.40) overflows at about 25 nested parentheses.
// A subtree nested deeper than kHoistDepth becomes a common table expression
// of the run ids it matches, and its place in the tree becomes "r.id IN qN";
// the whole filter is then r.id IN (WITH q1 AS (...), ... SELECT id FROM qN).
// Everyday filters are never that deep and compile to a plain expression.
class FilterCompiler {
 public:
  explicit FilterCompiler(double now) : now_(now) {}

  Result<SqlFragment> Run(const Expr& root) {
    Result<SqlFragment> top = Compile(root);
    if (!top.ok() || ctes_.empty()) return top;
    Hoist(&top.value());
    SqlFragment out{"r.id IN (WITH ", {}};
    for (size_t i = 0; i < ctes_.size(); ++i) {
      if (i > 0) out.sql += ", ";
      out.sql += Name(i) + "(id) AS (SELECT r.id FROM runs r WHERE " + ctes_[i].sql + ")";
      for (SqlParam& p : ctes_[i].params) out.params.push_back(std::move(p));
    }
    out.sql += " SELECT id FROM " + Name(ctes_.size() - 1) + ")";
    return out;
  }

 private:
  static constexpr int kHoistDepth = 12;

  static std::string Name(size_t i) { return "q" + std::to_string(i + 1); }

  void Hoist(SqlFragment* f) {
    ctes_.push_back(std::move(*f));
    *f = SqlFragment{"(r.id IN " + Name(ctes_.size() - 1) + ")", {}};
  }

  Result<SqlFragment> Compile(const Expr& e) {
    Result<SqlFragment> out = CompileNode(e);
    if (out.ok() && ParenDepth(out->sql) > kHoistDepth) Hoist(&out.value());
    return out;
  }

  Result<SqlFragment> CompileNode(const Expr& e) {
    switch (e.kind) {
      case Expr::Kind::kAnd:
      case Expr::Kind::kOr: {
        std::vector<SqlFragment> parts;
        parts.reserve(e.children.size());
        for (const Expr& c : e.children) {
          Result<SqlFragment> part = Compile(c);
          if (!part.ok()) return part;
          parts.push_back(std::move(part).value());
        }
        return JoinTerms(std::move(parts), e.kind == Expr::Kind::kAnd ? "AND" : "OR");
      }
      case Expr::Kind::kNot: {
        // A run lacking the field fails the inner test (NULL), so `not` of
        // it is true: "(x) IS NOT 1" is NOT COALESCE(x, 0) for the 0/1/NULL
        // that every compiled test yields, and shallower. Double negations
        // cancel: "not not x" holds exactly when x does.
        const Expr* inner_expr = &e.children.at(0);
        bool negate = true;
        while (inner_expr->kind == Expr::Kind::kNot) {
          inner_expr = &inner_expr->children.at(0);
          negate = !negate;
        }
        Result<SqlFragment> inner = Compile(*inner_expr);
        if (!inner.ok() || !negate) return inner;
        inner->sql = "(" + inner->sql + " IS NOT 1)";
        return inner;
      }
      default: {
        Result<SqlFragment> p = Predicate(e, now_);
        if (p.ok()) p->sql = "(" + p->sql + ")";
        return p;
      }
    }
  }

  double now_;
  std::vector<SqlFragment> ctes_;
};

// A value to sort by: a column, or the flag / metric looked up for the run.
Result<SqlFragment> SortValue(const FieldRef& f) {
  const std::string flag =
      "(SELECT COALESCE(qf.num, qf.value) FROM run_flags qf WHERE qf.run_id = r.id AND "
      "qf.name = ?)";
  auto metric = [](MetricStat s) {
    return std::string("(SELECT ") + MetricColumn(s) +
           " FROM metric_summary qm WHERE qm.run_id = r.id AND qm.name = ?)";
  };
  switch (f.kind) {
    case FieldRef::Kind::kBuiltin: {
      const BuiltinColumn* c = FindColumn(f.builtin);
      if (!c) return ErrorAt(f.column, "cannot sort by " + f.written + "; a run has many");
      return SqlFragment{c->sql, {}};
    }
    case FieldRef::Kind::kFlag: return SqlFragment{flag, {f.name}};
    case FieldRef::Kind::kMetric: return SqlFragment{metric(f.stat), {f.name}};
    case FieldRef::Kind::kBare:
      return SqlFragment{"COALESCE(" + flag + ", " + metric(MetricStat::kLast) + ")",
                         {f.name, f.name}};
  }
  return Status::Internal("unknown field kind");
}

}  // namespace

Result<SqlFragment> CompileExpr(const Expr& expr, double now_seconds) {
  Result<SqlFragment> out = FilterCompiler(now_seconds).Run(expr);
  if (!out.ok()) return out.status().WithContext("filter");
  if (out->params.size() > kMaxFilterParams) {
    return Status::InvalidArgument("filter: too many values and names (" +
                                   std::to_string(out->params.size()) + "); the limit is " +
                                   std::to_string(kMaxFilterParams));
  }
  return out;
}

Result<SqlFragment> CompileFilter(std::string_view text, double now_seconds) {
  Result<Expr> expr = ParseFilter(text);
  if (!expr.ok()) return expr.status().WithContext("filter");
  return CompileExpr(*expr, now_seconds);
}

Result<SqlFragment> CompileSortKey(std::string_view keys) {
  Result<std::vector<SortKey>> parsed = ParseSortKeys(keys);
  if (!parsed.ok()) return parsed.status().WithContext("sort key");
  SqlFragment out;
  for (const SortKey& key : *parsed) {
    Result<SqlFragment> value = SortValue(key.field);
    if (!value.ok()) return value.status().WithContext("sort key");
    if (!out.sql.empty()) out.sql += ", ";
    out.sql += value->sql + (key.descending ? " DESC" : " ASC") + " NULLS LAST";
    for (SqlParam& p : value->params) out.params.push_back(std::move(p));
  }
  return out;
}

}  // namespace orchard::query
