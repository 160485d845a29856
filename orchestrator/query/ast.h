// The parse tree of a filter: what the parser produces and the compilers read.
//
// An Expr is a boolean tree (and / or / not) whose leaves are predicates: a
// field compared with literal values. Fields are resolved when parsed (see
// field.h), so a tree only ever names known built-ins, flags, metrics, or
// bare names. Literals keep the text the user wrote, so a text field can
// compare `id = 1e5` with the string "1e5" rather than with 100000.
// Values own everything they hold; copying is cheap enough for filters.
#pragma once

#include <string>
#include <vector>

namespace orchard::query {

// The built-in fields of a run. kNone marks a field that is not built in.
enum class Builtin {
  kNone, kId, kName, kStatus, kExitCode, kTag, kTune, kCreated, kStarted, kFinished,
  kDuration, kHost, kNotes,
};

// Which column of metric_summary a metric field reads.
enum class MetricStat { kLast, kMin, kMax, kCount };

struct FieldRef {
  enum class Kind {
    kBuiltin,  // builtin says which
    kFlag,     // flags.NAME: the run_flags row
    kMetric,   // metrics.NAME[.stat]: the metric_summary row
    kBare,     // NAME: the flag of that name if the run has one, else the metric's last
  };
  Kind kind = Kind::kBare;
  Builtin builtin = Builtin::kNone;
  MetricStat stat = MetricStat::kLast;
  std::string name;     // flag or metric name; empty for built-ins
  std::string written;  // the field as written, for messages
  int column = 1;
};

struct Literal {
  enum class Kind {
    kNumber,    // number holds the value
    kString,    // quoted
    kWord,      // bare word: adam, failed, 3fa9c2
    kBool,      // true / false; text is "true" or "false"
    kDate,      // 2026-11-01[T12:30[:05]]; parsed when compiled
    kDuration,  // 90s, -7d; number holds signed seconds
  };
  Kind kind = Kind::kWord;
  std::string text;  // unescaped for strings, as written otherwise
  double number = 0;
  int column = 1;
};

enum class CompareOp { kEq, kNe, kLt, kLe, kGt, kGe, kGlob, kNotGlob };

struct Expr {
  enum class Kind {
    kAnd,      // children: two or more; none means true (the empty filter)
    kOr,       // children: two or more
    kNot,      // children: exactly one
    kCompare,  // field op values[0]
    kIn,       // field [not] in (values...)
    kRange,    // field [not] in [values[0], values[1]] / between; bounds inclusive unless open
  };
  Kind kind = Kind::kCompare;
  std::vector<Expr> children;
  FieldRef field;
  CompareOp op = CompareOp::kEq;
  std::vector<Literal> values;
  bool negated = false;  // kIn, kRange: "not in", "not between"
  bool low_open = false, high_open = false;  // kRange
  int column = 1;        // where the expression starts
};

const char* ToString(CompareOp op);
const char* ToString(Builtin b);
const char* ToString(MetricStat s);

// A compact, stable rendering for tests and debugging, e.g.
// (or (= flag:lr 0.1) (not (in builtin:status [failed cancelled]))).
std::string DebugString(const Expr& e);

}  // namespace orchard::query
