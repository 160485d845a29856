// Metric gates: `--expect 'val_acc >= 0.85'` on `orchard run` and `tune`.
//
// An expectation is a filter (docs/filters.md) that the finished run must
// match. CompileExpectations() parses and compiles every expectation before
// anything runs, so a typo is a usage error and no training time is spent;
// EvaluateGates() then asks the store whether the run matches each one
// (`id = ? AND (expr)`, the same SQL `orchard runs` uses, so a gate and a
// listing can never disagree) and, for the message, reads the values of the
// fields the expression names. Pure except EvaluateGates, which reads the
// store; thread-compatible.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "flags/status.h"
#include "orchestrator/query/ast.h"
#include "orchestrator/query/compiler/sql.h"
#include "orchestrator/store/run_store.h"

namespace orchard::ci {

struct Expectation {
  std::string text;          // as the user wrote it
  query::Expr expr;          // parsed
  query::SqlFragment where;  // compiled
};

// InvalidArgument "--expect 'TEXT': filter: at column N: ..." for the first
// expectation that does not parse or compile. Relative times count from `now`.
Result<std::vector<Expectation>> CompileExpectations(const std::vector<std::string>& texts,
                                                     double now);

struct GateResult {
  std::string expression;
  std::string run_id;
  bool passed = false;
  // The values of the fields the expression names on this run, e.g.
  // "val_acc = 0.812, status = completed" ("val_acc = (none)" when absent).
  std::string actual;
  std::string message;  // "" when passed; otherwise why, for people
};

// Evaluates each expectation against run `run_id` (which must exist). An
// empty run_id (a tune without a best run) fails every gate with a message.
Result<std::vector<GateResult>> EvaluateGates(store::RunReader& store, const std::string& run_id,
                                              const std::vector<Expectation>& expectations,
                                              double now);

// What `orchard run`, `tune` and `rerun` do after the run: evaluate the gates
// when the run completed (a run that ended otherwise fails every gate with
// "not checked: the run failed", and keeps its own exit code), and print one
// line per gate to `log`: "orchard: gate passed: EXPR (val_acc = 0.87)" or
// "orchard: gate FAILED: EXPR (run ID: val_acc = 0.812)".
Result<std::vector<GateResult>> CheckGates(store::RunReader& store, const std::string& run_id,
                                           store::RunStatus status,
                                           const std::vector<Expectation>& expectations,
                                           double now, std::ostream& log);

// The fields an expression names, in order of first mention, without repeats.
std::vector<query::FieldRef> FieldsNamed(const query::Expr& expr);

// "name = value" for each field, from a run and its metric summaries.
std::string DescribeFields(const std::vector<query::FieldRef>& fields, const store::Run& run,
                           const std::vector<store::MetricSummary>& metrics, double now);

}  // namespace orchard::ci
