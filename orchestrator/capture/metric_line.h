// Parser of the trainer protocol's metric lines (docs/protocol.md).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace orchard::capture {

// The marker that opens a record line, including its one trailing space.
inline constexpr std::string_view kMetricMarker = "@orchard ";
// Record lines longer than this are malformed without being parsed.
inline constexpr size_t kMaxRecordLineBytes = 64 * 1024;
// Deepest nesting of objects/arrays accepted (the record object is depth 1).
inline constexpr int kMaxRecordDepth = 32;
// Metric names longer than this are skipped.
inline constexpr size_t kMaxMetricNameBytes = 200;

/// One record a trainer printed: `@orchard {"step": 3, "loss": 0.5}`.
/// `values` holds each finite numeric, non-reserved key in the order the keys
/// first appeared (a duplicated key keeps its last value, as JSON.parse does).
/// `extra` is null unless the record carries reserved keys for other record
/// kinds (artifact, summary, env, tag); then it is an object of those keys
/// with their values as given.
struct MetricRecord {
  std::optional<int64_t> step;
  std::optional<int64_t> epoch;
  std::vector<std::pair<std::string, double>> values;
  nlohmann::json extra;
};

enum class LineKind {
  kLog,        // not a record: ordinary log text
  kMetric,     // a well-formed record (it may hold no values)
  kMalformed,  // starts with the marker but is not a valid record; keep as log
};

/// What ParseLine found. `record` is meaningful for kMetric only; `error`
/// (the reason, with a byte offset where one applies) for kMalformed only.
/// `warnings` name keys of a kMetric record that were skipped (a non-finite
/// or out-of-range number, a name that is empty, too long or has control
/// characters, a reserved key whose value holds such a number); at most
/// kMaxWarnings are kept.
struct ParseResult {
  static constexpr size_t kMaxWarnings = 8;
  LineKind kind = LineKind::kLog;
  MetricRecord record;
  std::string error;
  std::vector<std::string> warnings;
};

// Classifies and parses one line (without its '\n'; a trailing '\r' and other
// trailing whitespace are allowed). Pure, thread-safe, never throws, and runs
// in time linear in the line with bounded stack use whatever the input.
//
// Rules beyond the JSON grammar (RFC 8259), decided here:
//  - `step` and `epoch` must be non-negative integers; an integral number
//    written as a float (3.0, 3e2) is accepted, 3.5 / -1 / "3" / null are not.
//  - The bare tokens NaN, Infinity and -Infinity (what Python's json.dumps
//    writes for non-finite floats) are accepted as top-level values only; a
//    metric with such a value is skipped with a warning, not the whole line.
//  - A number too large for a double (1e400) is skipped like NaN; one too
//    small (1e-400) reads as 0.
//  - Strings must be valid UTF-8 without raw control characters (so a raw NUL
//    byte makes the line malformed).
ParseResult ParseLine(std::string_view line);

}  // namespace orchard::capture
