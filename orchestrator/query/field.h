// Field names: which built-in, flag or metric a dotted name refers to.
//
//   flags.NAME, flag.NAME          the run's flag NAME (dots in NAME allowed)
//   metrics.NAME, metric.NAME      the metric's last value
//   metrics.NAME.last|min|max|count  a column of its summary
//   id name status exit_code tag tags tune created started finished
//   duration host notes            built-ins (case-insensitive)
//   NAME                           the flag NAME, else the metric NAME's last value
//
// Segments written in quotes (`my-flag`, "val/acc") are always names, never
// built-ins, prefixes or statistics. Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "flags/status.h"
#include "orchestrator/query/ast.h"

namespace orchard::query {

struct FieldSegment {
  std::string text;
  bool quoted = false;
  int column = 1;
};

// Resolves a dotted field name. Fails with a positioned InvalidArgument for
// "flags." with no name, unknown dotted prefixes (metrcs.acc), and dotted
// built-ins (status.x).
Result<FieldRef> ResolveField(const std::vector<FieldSegment>& segments);

// The built-in named `name` (case-insensitive), or Builtin::kNone.
Builtin LookupBuiltin(std::string_view name);

// "id, name, status, ..." for messages and documentation.
std::string BuiltinList();

}  // namespace orchard::query
