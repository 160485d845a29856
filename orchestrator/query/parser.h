// The filter grammar: text to a parse tree (ast.h).
//
//   filter    := [or_expr] END
//   or_expr   := and_expr ('or' and_expr)*
//   and_expr  := unary ('and' unary)*
//   unary     := 'not' unary | '(' or_expr ')' | predicate
//   predicate := field op value
//              | field ['not'] 'in' '(' value (',' value)* ')'
//              | field ['not'] 'in' ('[' | '(') value ',' value (']' | ')')
//              | field ['not'] 'between' value 'and' value
//   op        := = | == | != | <> | < | <= | > | >= | ~ | !~
//   field     := name ('.' name)*      (see field.h)
//   value     := number | string | word | true | false | date | duration
//
// Keywords are case-insensitive. '(' a, b ')' is a list; a range needs a
// square bracket on at least one side: [a, b], [a, b), (a, b].
// Nesting (parentheses and 'not') is bounded by kMaxNesting so hostile input
// cannot exhaust the stack. Failure: InvalidArgument "at column N: ...".
// Pure functions; thread-safe.
#pragma once

#include <string_view>
#include <vector>

#include "flags/status.h"
#include "orchestrator/query/ast.h"

namespace orchard::query {

inline constexpr int kMaxNesting = 100;

// Parses a filter. Empty (or all-space) text gives an kAnd with no children.
Result<Expr> ParseFilter(std::string_view text);

// One term of an ORDER BY: "metrics.val_acc.max", "-created", "lr desc".
struct SortKey {
  FieldRef field;
  bool descending = false;
};

// Parses one or more comma-separated sort keys, each
// ['-'|'+'] field ['asc'|'desc'].
Result<std::vector<SortKey>> ParseSortKeys(std::string_view text);

}  // namespace orchard::query
