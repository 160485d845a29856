// OutputPump: turns one stream of a trainer's output into store records.
//
// Bytes arrive in arbitrary chunks (as read from a pipe). Complete lines are
// classified by the metric-line parser: records become metric points, every
// other line (malformed records included) is log text. Each chunk's log text
// is handed to the StoreWriter as one piece, sanitised to valid UTF-8.
// Steps: a record without "step" gets the step after the last one this run
// reported (0 for the first). Shared by the stdout and stderr pumps of a run
// through RunCounters. Not thread-safe: one thread feeds a run's pumps.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "orchestrator/capture/line_splitter.h"
#include "orchestrator/store/store_writer.h"

namespace orchard::exec {

struct RunCounters {
  int64_t next_step = 0;
  int64_t records = 0;
  int64_t points = 0;
  int64_t malformed = 0;
  std::string first_malformed;  // "stdout line 12: truncated JSON"
};

class OutputPump {
 public:
  // Bytes of the stream's tail kept for failure reports.
  static constexpr size_t kTailBytes = 4096;

  using Observer = std::function<void(const std::vector<store::MetricPoint>&)>;

  // observer (may be null) sees each batch of points before it is stored.
  // start_offset: where in the stream's journal the first fed byte lies;
  // after each chunk the pump records (through the writer) the offset up to
  // which whole lines have been handed over.
  OutputPump(std::string run_id, std::string stream, store::StoreWriter& writer,
             RunCounters& counters, const Observer* observer = nullptr,
             int64_t start_offset = 0);

  void Feed(std::string_view chunk, double now);
  // End of stream: the unterminated last line, then pending log text.
  void Finish(double now);
  // The last kTailBytes of everything the stream printed (sanitised).
  std::string Tail() const;
  int64_t lines() const { return lines_; }
  int64_t consumed() const { return consumed_; }

 private:
  void OnLine(const capture::LineSplitter::Line& line, double now);
  void FlushLog(double now);

  std::string run_id_;
  std::string stream_;
  store::StoreWriter& writer_;
  RunCounters& counters_;
  const Observer* observer_;
  capture::LineSplitter splitter_;
  std::string log_;   // log text of the current chunk
  std::string tail_;  // ring-ish: trimmed to kTailBytes
  std::vector<store::MetricPoint> points_;
  int64_t lines_ = 0;
  int64_t consumed_ = 0;  // journal offset after the last byte fed
};

}  // namespace orchard::exec
