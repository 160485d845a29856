// Verification of a re-run against the run it re-executes.
//
// CompareRuns() is pure: given both runs with their metric series and code
// snapshots, it lists every difference, split into failures (the rerun does
// not reproduce the recorded result) and information (what else differed).
//
// Failures: a metric series that differs (a point's value beyond the
// tolerance, its step or epoch, the number of points, a metric only one run
// reported), different flags or seed, a different outcome (status, exit
// code). Metric values are compared bit for bit by default (the same code,
// flags and seed on a CPU give identical floats); with a tolerance T, a and b
// agree when |a - b| <= T * max(|a|, |b|). NaN equals NaN.
// Information: the command, the code (files added, removed or changed, with
// line counts), the environment (host, OS, CPUs, GPUs, versions: every key of
// the recorded JSON) and the metrics left out by `ignore_metrics`.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "orchestrator/store/types.h"

namespace orchard::ci {

struct RunRecord {
  store::Run run;
  std::vector<store::MetricPoint> series;  // every metric, ordered by name, step
  std::optional<store::Snapshot> snapshot; // with contents, for line counts
};

struct VerifyOptions {
  std::optional<double> tolerance;          // relative; none: bit-exact
  std::vector<std::string> ignore_metrics;  // glob patterns (fnmatch) of metric names
  // At most this many differing points are listed per metric; the rest are
  // counted in one line with the largest difference. Default: 20.
  size_t max_points_listed = 20;
};

struct Verification {
  bool passed = true;  // no failures
  std::vector<std::string> failures;
  std::vector<std::string> information;
  std::string code_diff;  // unified diff of the snapshots ("" when equal or unknown)
  int64_t points_compared = 0;
  int metrics_compared = 0;
};

Verification CompareRuns(const RunRecord& original, const RunRecord& rerun,
                         const VerifyOptions& options);

// "exact" or "relative 1e-06".
std::string ToleranceText(const std::optional<double>& tolerance);

// Whether the two values agree under the tolerance (none: bit-exact; NaN == NaN).
bool ValuesAgree(double a, double b, const std::optional<double>& tolerance);

// "+12 -3" per file of a git-style unified diff (DiffFileMaps): path -> text.
std::vector<std::pair<std::string, std::string>> DiffStat(const std::string& diff);

}  // namespace orchard::ci
