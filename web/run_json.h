/// Runs as JSON for the API: the full record of one run, and the value of a
/// named field (a column of the runs table) in the filter language's names.
///
/// FieldValue() gives the same values as `orchard runs --format json`
/// (orchestrator/cli/view_format.h, which the web library does not link):
/// typed scalars, null where the run lacks the field, times in seconds since
/// the epoch, tags as an array. Pure; thread-safe.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "orchestrator/query/ast.h"
#include "orchestrator/store/types.h"

namespace orchard::web {

// A run with its metric summaries.
struct RunWithMetrics {
  store::Run run;
  std::vector<store::MetricSummary> metrics;
};

// Seconds from start to finish (to `now` while running); nullopt if it never started.
std::optional<double> Duration(const store::Run& run, double now);

nlohmann::json FieldValue(const RunWithMetrics& run, const query::FieldRef& field, double now);

// The column key of a field: "status", "flags.lr", "metrics.val_acc",
// "metrics.val_acc.max", or the bare name as written.
std::string FieldKey(const query::FieldRef& field);

// One run in full: identity, status and timings, command, flags, env, code,
// tags, notes and metric summaries.
nlohmann::json RunJson(const store::Run& run, const std::vector<store::MetricSummary>& metrics,
                       double now);

// The short form used in lists of runs (compare, tunes): id, name, status,
// tune, trial, times.
nlohmann::json RunBrief(const store::Run& run, double now);

nlohmann::json SummaryJson(const store::MetricSummary& m);

// Whether smaller is better for a metric (its name has "loss" or "err").
bool LowerIsBetter(const std::string& metric);

}  // namespace orchard::web
