// Line diffs in unified format (Myers' O(ND) algorithm, linear space).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace orchard {

/// Limits that keep a diff's time and memory bounded. Past any of them a
/// file's diff is replaced by "Files a/x and b/x differ (too large to diff)".
struct DiffOptions {
  // Lines of unchanged context around each change. Default: 3.
  int context = 3;
  // Largest side, in bytes, that is diffed line by line. Default: 8 MiB.
  size_t max_bytes = 8 << 20;
  // Largest side, in lines. Default: 200,000.
  size_t max_lines = 200000;
  // Work budget of the search (roughly lines compared). Default: 2e8.
  uint64_t max_cost = 200000000;
};

/// Result of a single-file comparison.
enum class DiffOutcome { kEqual, kDiffered, kTooLarge };

// Appends to `out` the unified diff hunks ("@@ -l,s +l,s @@" and the lines,
// with "\ No newline at end of file" markers) turning `old_text` into
// `new_text`, preceded by "--- <old_label>" and "+++ <new_label>" when
// they differ. Appends nothing for equal texts and for kTooLarge (the caller
// words that case). Line endings are part of a line: "x" and "x\n" differ.
DiffOutcome UnifiedDiff(std::string_view old_text, std::string_view new_text,
                        std::string_view old_label, std::string_view new_label,
                        const DiffOptions& options, std::string* out);

// Convenience form: the diff text, "" when equal, a one-line note when too
// large.
std::string UnifiedDiff(std::string_view old_text, std::string_view new_text,
                        std::string_view old_label, std::string_view new_label,
                        const DiffOptions& options = {});

// True when `content` looks binary: a NUL byte in its first 8 KiB.
bool LooksBinary(std::string_view content);

// A multi-file diff between two file maps (path -> content), in the git
// flavour of unified diff that diff viewers (diff2html) read: for each path
// that was added, removed or changed, in path order, a "diff --git a/p b/p"
// line, "new file" / "deleted file" notes, then hunks with /dev/null for the
// missing side, or "Binary files a/p and b/p differ", or
// "Files a/p and b/p differ (too large to diff)". "" when the maps are equal.
std::string DiffFileMaps(const std::map<std::string, std::string>& old_files,
                         const std::map<std::string, std::string>& new_files,
                         const DiffOptions& options = {});

}  // namespace orchard
