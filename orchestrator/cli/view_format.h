// Shared rendering for the commands that show runs (runs, show, compare,
// diff, tag, note, delete): the value of a named field of a run, compact
// flag text, durations, and resolving the run references users type.
//
// Field names are the filter language's (orchestrator/query/field.h), so
// `orchard runs --columns flags.lr,metrics.val_acc.max` names columns the same
// way `--filter` and `--sort` name fields. Pure functions except ResolveRuns,
// which reads the store; thread-compatible.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "flags/status.h"
#include "orchestrator/query/ast.h"
#include "orchestrator/store/run_store.h"

namespace orchard::cli {

// A run with the metric summaries shown beside it.
struct RunView {
  store::Run run;
  std::vector<store::MetricSummary> metrics;

  const store::MetricSummary* Metric(const std::string& name) const;
};

// Loads the metric summaries of each run.
Result<std::vector<RunView>> LoadViews(store::RunReader& reader, std::vector<store::Run> runs);

// Resolves each reference (full id, unique prefix, or name) to a run id, in
// order and without repeats. The first that fails is the error: NotFound for
// none, InvalidArgument for an ambiguous prefix.
Result<std::vector<std::string>> ResolveRuns(store::RunReader& reader,
                                             const std::vector<std::string>& refs);

// A column: the field it reads and the header it shows under.
struct Column {
  query::FieldRef field;
  std::string header;
};

// Parses a comma-separated column list in filter-language names
// ("id,status,flags.lr,metrics.val_acc.max"). InvalidArgument names the
// column that is not a field. The words `flags` and `metrics` stand for every
// flag and every metric: they give a flag or metric column with an empty
// name (IsGroup), which the caller expands.
Result<std::vector<Column>> ParseColumns(const std::string& text);

// Whether a column stands for every flag or every metric.
inline bool IsGroup(const Column& c) {
  return c.field.kind != query::FieldRef::Kind::kBuiltin && c.field.name.empty();
}

// The value of a field of a run as a typed JSON scalar (null when the run
// lacks it). Times are seconds since the epoch; duration is seconds (up to
// `now` for a run still going); tags are their names joined with ','.
nlohmann::json FieldValue(const RunView& view, const query::FieldRef& field, double now);

// The same value as text for a table: times as local "YYYY-MM-DD HH:MM:SS",
// durations as "3m07s", numbers to 6 significant digits.
std::string FieldText(const RunView& view, const query::FieldRef& field, double now);

// Whether a field is a time or a duration (rendered specially in tables).
bool IsTimeField(const query::FieldRef& field);
bool IsDurationField(const query::FieldRef& field);

// Seconds from start to finish, or to `now` while running; nullopt if it
// never started.
std::optional<double> RunDuration(const store::Run& run, double now);

// "lr=0.1 batch=32", flags in name order.
std::string CompactFlags(const nlohmann::json& flags);

// The metric names that a filter or sort text mentions (metrics.NAME and
// bare NAME), in order of first mention. Unparsable text gives none.
std::vector<std::string> MetricsMentioned(const std::string& filter,
                                          const std::vector<std::string>& sort_keys);

// Whether smaller values of the metric are better: its name contains "loss"
// or "err" (case-insensitive), as in train_loss, val_error, wer... Otherwise
// larger is better (accuracy, f1, auc).
bool LowerIsBetter(const std::string& metric);

// Replaces control characters other than '\n' and '\t' with '?', so stored
// text (names, notes, errors) cannot rewrite the user's terminal.
std::string Printable(const std::string& s);

// "1.2 KiB", "3.4 MiB": sizes for people.
std::string HumanSize(int64_t bytes);

}  // namespace orchard::cli
