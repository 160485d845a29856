// CI reports of runs, gates and verifications: JUnit XML for CI systems
// (GitHub Actions, GitLab, Jenkins read it) and a Markdown summary for a
// pull-request comment.
//
// A Report is plain data that `orchard run`, `tune` and `rerun` fill in; the
// renderers are pure functions. JUnit: one <testsuite> per command, a
// <testcase> per run (a failed run is a <failure>, a pruned or cancelled one
// <skipped>), per gate (a failure carries the expression and the actual
// values) and per verification (a failure lists every difference). Every
// text is XML-escaped, and characters XML 1.0 cannot carry are replaced, so a
// run named `<script>` or holding control bytes still gives well-formed XML.
// Markdown escapes `|`, `<`, `>` and backquotes and folds newlines, so a
// hostile name cannot break the tables or inject HTML. Thread-safe (pure).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "flags/status.h"
#include "orchestrator/ci/gates.h"
#include "orchestrator/store/run_store.h"
#include "orchestrator/store/types.h"

namespace orchard::ci {

struct ReportRun {
  store::Run run;
  std::vector<store::MetricSummary> metrics;
  double duration = 0;  // seconds (0 when it never started)
  std::string role;     // "", "best", "original", "rerun"
};

struct ReportVerification {
  std::string original_id;
  std::string rerun_id;
  bool passed = false;
  std::string tolerance;                  // "exact" or "relative 1e-06"
  std::vector<std::string> failures;      // differences that fail it
  std::vector<std::string> information;   // differences reported as information
};

struct Report {
  std::string suite;  // "orchard run", "orchard tune <spec>", "orchard rerun <id>"
  double time = 0;    // seconds the command took
  std::vector<ReportRun> runs;
  std::vector<GateResult> gates;
  std::vector<ReportVerification> verifications;
  std::string failure;  // a failure of the command itself (e.g. a rerun that could not start)
};

// A run as a report shows it: the run, its metric summaries, its duration.
Result<ReportRun> LoadReportRun(store::RunReader& store, const std::string& run_id,
                                const std::string& role, double now);

// Whether anything in the report failed (runs, gates, verifications, command).
bool ReportFailed(const Report& report);

std::string JUnitXml(const Report& report);
std::string MarkdownSummary(const Report& report);

// Text safe inside an XML attribute or element: & < > " ' escaped, and
// characters not allowed in XML 1.0 (most C0 controls, invalid UTF-8)
// replaced by U+FFFD.
std::string XmlEscape(const std::string& text);
// Text safe inside a Markdown table cell.
std::string MarkdownCell(const std::string& text);

// Checks, before any work, that each report path (empty: not wanted) names
// a file in an existing folder: InvalidArgument otherwise.
Status CheckReportPaths(const std::string& junit_path, const std::string& summary_path);

// Writes the JUnit file and/or the Markdown file (an empty path: not wanted)
// atomically (a temporary file renamed into place). IoError names the path.
Status WriteReports(const Report& report, const std::string& junit_path,
                    const std::string& summary_path);

}  // namespace orchard::ci
