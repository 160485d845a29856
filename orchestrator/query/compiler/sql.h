// Filters and sort keys compiled to parameterised SQLite SQL.
//
// This is the query library's public face: the CLI (`orchard runs --filter`)
// and the web dashboard compile user text here and splice the result into a
// statement over the runs table aliased `r`:
//
//   Result<SqlFragment> where = CompileFilter(text, NowSeconds());
//   Result<SqlFragment> order = CompileSortKey("-metrics.val_acc.max");
//   sql = "SELECT r.id FROM runs r WHERE " + where->sql +
//         " ORDER BY " + order->sql + ", r.seq";
//   BindParams(stmt, where->params);                            // ?1..?n
//   BindParams(stmt, order->params, 1 + where->params.size());  // then the rest
//
// User text never reaches the SQL: every literal and every flag or metric name
// is a bound parameter ('?', in the order they appear in `sql`). The SQL uses
// only the aliases r (the outer runs row) and qf/qm/qt inside its own
// subqueries. Failure: InvalidArgument "filter: at column N: ..." or
// "sort key: at column N: ...". Pure functions; thread-safe.
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "flags/status.h"
#include "orchestrator/query/ast.h"

namespace orchard::query {

using SqlParam = std::variant<int64_t, double, std::string>;

// A piece of SQL and the values of its '?' placeholders, in order.
struct SqlFragment {
  std::string sql;
  std::vector<SqlParam> params;
};

// The most placeholders one filter may produce: below SQLite's default limit
// of 32766 with room for the caller's own.
inline constexpr size_t kMaxFilterParams = 20000;

// Compiles a filter into a boolean SQL expression over `r`; an empty filter
// gives "1". Relative times ("-7d") count back from `now_seconds`.
Result<SqlFragment> CompileFilter(std::string_view text, double now_seconds);

// The same for a filter that is already parsed (ParseFilter in parser.h).
Result<SqlFragment> CompileExpr(const Expr& expr, double now_seconds);

// Compiles sort keys ("metrics.val_acc.max", "-created", "lr desc", or several
// separated by commas) into ORDER BY terms, each with NULLS LAST so that runs
// lacking the field sort after the others in both directions. Add a tie-break
// such as r.seq yourself.
Result<SqlFragment> CompileSortKey(std::string_view keys);

// Binds params to ?first_index, ?first_index+1, ... (text is copied).
// Fails with Internal and SQLite's message when a bind fails.
Status BindParams(sqlite3_stmt* stmt, const std::vector<SqlParam>& params, int first_index = 1);

}  // namespace orchard::query
