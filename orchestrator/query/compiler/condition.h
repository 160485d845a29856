// The comparison half of a predicate: `op values` compiled against one column.
//
// CompileCondition() turns the operator and literals of a kCompare, kIn or
// kRange Expr into SQL over a column expression (r.status, qf.num, qm.max),
// checking that each literal suits the column (a date for created, a whole
// number for exit_code, a valid status...). It knows nothing about where the
// column lives; sql.cc wraps the result in the flag / metric subquery.
// Internal to the compiler. Pure; thread-safe.
#pragma once

#include <string>
#include <vector>

#include "flags/status.h"
#include "orchestrator/query/ast.h"
#include "orchestrator/query/compiler/sql.h"

namespace orchard::query {

// What a column holds, which decides how literals are read.
enum class Domain {
  kText,     // text; any literal compares by the text written (id = 1e5 is "1e5")
  kStatus,   // text, and the literal must be a run status
  kInteger,  // whole numbers (exit_code)
  kTime,     // epoch seconds; dates, relative times, or numbers
  kSeconds,  // a duration in seconds; numbers or durations (90s, 2h)
  kNumber,   // metric values: numbers only
  kFlag,     // num_column when the literal is a number, text_column otherwise
};

struct Target {
  Domain domain = Domain::kText;
  std::string column;       // for kFlag: the numeric column
  std::string text_column;  // kFlag only
  // True inside a flag/metric subquery, where the row exists: a negation
  // (!=, not in, !~, not between) is then true when the positive test is not,
  // even if the column is NULL. Outside, a NULL column never matches.
  bool row_exists = false;
  std::string written;  // the field as the user wrote it, for messages
};

Result<SqlFragment> CompileCondition(const Expr& e, const Target& target, double now_seconds);

// Joins parts with AND / OR in parenthesised groups, so that neither SQLite's
// parser stack nor its expression depth limit grows with the number of
// terms. No parts gives "1"; one part comes back as it is.
SqlFragment JoinTerms(std::vector<SqlFragment> parts, const char* op);

}  // namespace orchard::query
