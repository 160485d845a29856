#include "orchestrator/ci/report.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "flags/flag_value.h"
#include "orchestrator/util/utf8.h"

namespace orchard::ci {

namespace {

// Rows in the Markdown runs table (a tune may have hundreds of trials).
constexpr size_t kMaxMarkdownRuns = 50;
// Metric columns in the Markdown runs table.
constexpr size_t kMaxMarkdownMetrics = 6;

constexpr const char* kReplacement = "\xEF\xBF\xBD";

std::string Seconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3f", s < 0 ? 0.0 : s);
  return buf;
}

// Six significant digits: a table for people (gates show exact values).
std::string Compact(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

std::string Timestamp() {
  std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return buf;
}

std::string RunLabel(const store::Run& r) {
  return r.name.empty() ? "run " + r.id : "run " + r.id + " (" + r.name + ")";
}

bool RunFailed(const store::Run& r) {
  return r.status == store::RunStatus::kFailed || r.status == store::RunStatus::kQueued ||
         r.status == store::RunStatus::kRunning;
}

bool RunSkipped(const store::Run& r) {
  return r.status == store::RunStatus::kPruned || r.status == store::RunStatus::kCancelled;
}

std::string MetricsLine(const std::vector<store::MetricSummary>& metrics) {
  std::string out;
  for (const auto& m : metrics) {
    out += (out.empty() ? "" : " ") + m.name + "=" + flags::FormatDouble(m.last);
  }
  return out;
}

std::string Join(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

}  // namespace

Result<ReportRun> LoadReportRun(store::RunReader& store, const std::string& run_id,
                                const std::string& role, double now) {
  ReportRun r;
  auto run = store.GetRun(run_id);
  if (!run.ok()) return run.status();
  r.run = std::move(run).value();
  auto metrics = store.GetMetricSummaries(run_id);
  if (!metrics.ok()) return metrics.status();
  r.metrics = std::move(metrics).value();
  if (r.run.started_at) r.duration = (r.run.finished_at ? *r.run.finished_at : now) - *r.run.started_at;
  r.role = role;
  return r;
}

bool ReportFailed(const Report& report) {
  if (!report.failure.empty()) return true;
  for (const auto& r : report.runs) {
    if (RunFailed(r.run)) return true;
  }
  for (const auto& g : report.gates) {
    if (!g.passed) return true;
  }
  for (const auto& v : report.verifications) {
    if (!v.passed) return true;
  }
  return false;
}

std::string XmlEscape(const std::string& text) {
  std::string clean = SanitizeUtf8(text);
  std::string out;
  out.reserve(clean.size());
  for (size_t i = 0; i < clean.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(clean[i]);
    switch (c) {
      case '&': out += "&amp;"; continue;
      case '<': out += "&lt;"; continue;
      case '>': out += "&gt;"; continue;
      case '"': out += "&quot;"; continue;
      case '\'': out += "&apos;"; continue;
      default: break;
    }
    if (c < 0x20 && c != '\t' && c != '\n' && c != '\r') {
      out += kReplacement;
    } else if (c == 0xEF && i + 2 < clean.size() &&
               static_cast<unsigned char>(clean[i + 1]) == 0xBF &&
               (static_cast<unsigned char>(clean[i + 2]) == 0xBE ||
                static_cast<unsigned char>(clean[i + 2]) == 0xBF)) {
      out += kReplacement;  // U+FFFE and U+FFFF are not XML characters
      i += 2;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

std::string MarkdownCell(const std::string& text) {
  std::string clean = SanitizeUtf8(text);
  std::string out;
  for (char ch : clean) {
    unsigned char c = static_cast<unsigned char>(ch);
    switch (c) {
      case '|': out += "\\|"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '&': out += "&amp;"; break;
      case '`': out += "\\`"; break;
      case '*': out += "\\*"; break;
      case '_': out += "\\_"; break;
      case '[': out += "\\["; break;
      case ']': out += "\\]"; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "<br>"; break;
      case '\r': break;
      default: out += c < 0x20 ? ' ' : ch;
    }
  }
  return out;
}

std::string JUnitXml(const Report& report) {
  int tests = 0, failures = 0, skipped = 0;
  std::ostringstream cases;
  auto testcase = [&](const std::string& classname, const std::string& name, double time) {
    ++tests;
    cases << "    <testcase classname=\"" << XmlEscape(classname) << "\" name=\""
          << XmlEscape(name) << "\" time=\"" << Seconds(time) << "\"";
  };
  if (!report.failure.empty()) {
    testcase("orchard", report.suite, report.time);
    ++failures;
    cases << ">\n      <failure type=\"command\" message=\"" << XmlEscape(report.failure)
          << "\">" << XmlEscape(report.failure) << "</failure>\n    </testcase>\n";
  }
  for (const auto& r : report.runs) {
    std::string label = RunLabel(r.run);
    if (!r.role.empty()) label += " [" + r.role + "]";
    testcase("orchard.run", label, r.duration);
    cases << ">\n";
    std::string status = store::ToString(r.run.status);
    if (RunFailed(r.run)) {
      ++failures;
      std::string msg = "run " + status;
      if (r.run.exit_code) msg += " with exit code " + std::to_string(*r.run.exit_code);
      cases << "      <failure type=\"run-" << status << "\" message=\"" << XmlEscape(msg)
            << "\">" << XmlEscape(r.run.error.empty() ? msg : r.run.error) << "</failure>\n";
    } else if (RunSkipped(r.run)) {
      ++skipped;
      cases << "      <skipped message=\"run " << status << "\"/>\n";
    }
    std::string out = "status: " + status + "\nflags: " + flags::FormatFlagsCompact(r.run.flags) +
                      "\nseed: " + (r.run.seed ? std::to_string(*r.run.seed) : "") +
                      "\nmetrics: " + MetricsLine(r.metrics) + "\n";
    cases << "      <system-out>" << XmlEscape(out) << "</system-out>\n    </testcase>\n";
  }
  for (const auto& g : report.gates) {
    testcase("orchard.gate", "expect " + g.expression, 0);
    if (g.passed) {
      cases << ">\n      <system-out>" << XmlEscape(g.actual) << "</system-out>\n    </testcase>\n";
      continue;
    }
    ++failures;
    std::string msg = g.actual.empty() ? g.message : g.actual;
    cases << ">\n      <failure type=\"gate\" message=\"" << XmlEscape(msg) << "\">"
          << XmlEscape(g.message) << "</failure>\n    </testcase>\n";
  }
  for (const auto& v : report.verifications) {
    testcase("orchard.verify", "rerun " + v.rerun_id + " reproduces " + v.original_id, 0);
    cases << ">\n";
    if (!v.passed) {
      ++failures;
      std::string msg = std::to_string(v.failures.size()) + " difference(s) (" + v.tolerance + ")";
      cases << "      <failure type=\"verification\" message=\"" << XmlEscape(msg) << "\">"
            << XmlEscape(Join(v.failures)) << "</failure>\n";
    }
    if (!v.information.empty()) {
      cases << "      <system-out>" << XmlEscape(Join(v.information)) << "</system-out>\n";
    }
    cases << "    </testcase>\n";
  }
  std::ostringstream xml;
  xml << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  xml << "<testsuites name=\"orchard\" tests=\"" << tests << "\" failures=\"" << failures
      << "\" errors=\"0\" skipped=\"" << skipped << "\" time=\"" << Seconds(report.time)
      << "\">\n";
  xml << "  <testsuite name=\"" << XmlEscape(report.suite) << "\" tests=\"" << tests
      << "\" failures=\"" << failures << "\" errors=\"0\" skipped=\"" << skipped
      << "\" time=\"" << Seconds(report.time) << "\" timestamp=\"" << Timestamp() << "\">\n";
  xml << cases.str();
  xml << "  </testsuite>\n</testsuites>\n";
  return xml.str();
}

std::string MarkdownSummary(const Report& report) {
  std::ostringstream md;
  bool failed = ReportFailed(report);
  md << "### " << (failed ? "❌ " : "✅ ") << MarkdownCell(report.suite) << ": "
     << (failed ? "failed" : "passed") << "\n\n";
  if (!report.failure.empty()) md << "**Error:** " << MarkdownCell(report.failure) << "\n\n";

  if (!report.runs.empty()) {
    // Metrics named by gates first, then those most runs report.
    std::vector<std::string> names;
    for (const auto& g : report.gates) {
      for (const auto& r : report.runs) {
        for (const auto& m : r.metrics) {
          if (g.actual.find(m.name + " = ") != std::string::npos &&
              std::find(names.begin(), names.end(), m.name) == names.end()) {
            names.push_back(m.name);
          }
        }
      }
    }
    std::map<std::string, int> counts;
    for (const auto& r : report.runs) {
      for (const auto& m : r.metrics) ++counts[m.name];
    }
    std::vector<std::pair<std::string, int>> by_count(counts.begin(), counts.end());
    std::stable_sort(by_count.begin(), by_count.end(),
                     [](const auto& a, const auto& b) { return a.second > b.second; });
    for (const auto& [name, n] : by_count) {
      if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
    }
    if (names.size() > kMaxMarkdownMetrics) names.resize(kMaxMarkdownMetrics);

    md << "| Run | Name | Status | Duration | Flags |";
    for (const auto& n : names) md << " " << MarkdownCell(n) << " |";
    md << "\n|---|---|---|---|---|";
    for (size_t i = 0; i < names.size(); ++i) md << "---|";
    md << "\n";
    size_t shown = 0;
    for (const auto& r : report.runs) {
      if (shown++ == kMaxMarkdownRuns) break;
      std::string status = store::ToString(r.run.status);
      if (r.run.exit_code && *r.run.exit_code != 0) {
        status += " (exit " + std::to_string(*r.run.exit_code) + ")";
      }
      md << "| `" << MarkdownCell(r.run.id) << "`" << (r.role.empty() ? "" : " " + r.role)
         << " | " << MarkdownCell(r.run.name) << " | " << (RunFailed(r.run) ? "❌ " : "")
         << MarkdownCell(status) << " | " << Seconds(r.duration) << "s | "
         << MarkdownCell(flags::FormatFlagsCompact(r.run.flags)) << " |";
      for (const auto& n : names) {
        std::string cell;
        for (const auto& m : r.metrics) {
          if (m.name == n) cell = Compact(m.last);
        }
        md << " " << cell << " |";
      }
      md << "\n";
    }
    if (report.runs.size() > kMaxMarkdownRuns) {
      md << "\n" << report.runs.size() - kMaxMarkdownRuns << " more runs not shown.\n";
    }
    md << "\n";
  }

  if (!report.gates.empty()) {
    md << "**Gates**\n\n| | Expectation | Run | Actual |\n|---|---|---|---|\n";
    for (const auto& g : report.gates) {
      md << "| " << (g.passed ? "✅" : "❌") << " | " << MarkdownCell(g.expression) << " | "
         << (g.run_id.empty() ? "(none)" : "`" + MarkdownCell(g.run_id) + "`") << " | "
         << MarkdownCell(g.passed || g.actual.empty() ? (g.actual.empty() ? g.message : g.actual)
                                                      : g.actual)
         << " |\n";
    }
    md << "\n";
  }

  for (const auto& v : report.verifications) {
    md << "**Verification** of rerun `" << MarkdownCell(v.rerun_id) << "` against `"
       << MarkdownCell(v.original_id) << "` (" << MarkdownCell(v.tolerance) << "): "
       << (v.passed ? "✅ reproduced" : "❌ " + std::to_string(v.failures.size()) +
                                            " difference(s)")
       << "\n\n";
    if (!v.failures.empty()) {
      md << "| Difference |\n|---|\n";
      for (const auto& f : v.failures) md << "| " << MarkdownCell(f) << " |\n";
      md << "\n";
    }
    if (!v.information.empty()) {
      md << "<details><summary>Also different (information)</summary>\n\n"
         << "| Difference |\n|---|\n";
      for (const auto& f : v.information) md << "| " << MarkdownCell(f) << " |\n";
      md << "\n</details>\n\n";
    }
  }
  return md.str();
}

namespace {

Status WriteAtomically(const std::string& path, const std::string& text) {
  namespace fs = std::filesystem;
  std::string tmp = path + ".tmp." + std::to_string(getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return Status::IoError("cannot write " + path);
    out << text;
    out.flush();
    if (!out) {
      std::error_code ec;
      fs::remove(tmp, ec);
      return Status::IoError("cannot write " + path);
    }
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) {
    fs::remove(tmp, ec);
    return Status::IoError("cannot write " + path + ": " + ec.message());
  }
  return Status::Ok();
}

}  // namespace

Status CheckReportPaths(const std::string& junit_path, const std::string& summary_path) {
  namespace fs = std::filesystem;
  for (auto [option, path] : {std::pair{"--junit", &junit_path}, {"--summary", &summary_path}}) {
    if (path->empty()) continue;
    fs::path p(*path);
    std::error_code ec;
    if (fs::is_directory(p, ec)) {
      return Status::InvalidArgument(std::string(option) + " " + *path + ": is a folder, not a file");
    }
    fs::path parent = p.parent_path().empty() ? fs::path(".") : p.parent_path();
    if (!fs::is_directory(parent, ec)) {
      return Status::InvalidArgument(std::string(option) + " " + *path + ": no folder " +
                                     parent.string());
    }
  }
  return Status::Ok();
}

Status WriteReports(const Report& report, const std::string& junit_path,
                    const std::string& summary_path) {
  if (!junit_path.empty()) ORCHARD_RETURN_IF_ERROR(WriteAtomically(junit_path, JUnitXml(report)));
  if (!summary_path.empty()) {
    ORCHARD_RETURN_IF_ERROR(WriteAtomically(summary_path, MarkdownSummary(report)));
  }
  return Status::Ok();
}

}  // namespace orchard::ci
