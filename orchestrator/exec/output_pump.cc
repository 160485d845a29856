#include "orchestrator/exec/output_pump.h"

#include "orchestrator/capture/metric_line.h"
#include "orchestrator/util/utf8.h"

namespace orchard::exec {

OutputPump::OutputPump(std::string run_id, std::string stream, store::StoreWriter& writer,
                       RunCounters& counters, const Observer* observer,
                       int64_t start_offset)
    : run_id_(std::move(run_id)), stream_(std::move(stream)), writer_(writer),
      counters_(counters), observer_(observer), consumed_(start_offset) {}

void OutputPump::Feed(std::string_view chunk, double now) {
  tail_.append(chunk);
  if (tail_.size() > 2 * kTailBytes) tail_.erase(0, tail_.size() - kTailBytes);
  splitter_.Feed(chunk, [&](const capture::LineSplitter::Line& l) { OnLine(l, now); });
  FlushLog(now);
  consumed_ += static_cast<int64_t>(chunk.size());
  writer_.RecordOffset(run_id_, stream_, consumed_ - static_cast<int64_t>(splitter_.pending()));
}

void OutputPump::Finish(double now) {
  splitter_.Flush([&](const capture::LineSplitter::Line& l) { OnLine(l, now); });
  FlushLog(now);
  writer_.RecordOffset(run_id_, stream_, consumed_);
}

std::string OutputPump::Tail() const {
  std::string_view t = tail_;
  if (t.size() > kTailBytes) t.remove_prefix(t.size() - kTailBytes);
  return SanitizeUtf8(t);
}

void OutputPump::OnLine(const capture::LineSplitter::Line& line, double now) {
  if (line.ends_line) ++lines_;
  if (!line.overlong) {
    capture::ParseResult r = capture::ParseLine(line.text);
    if (r.kind == capture::LineKind::kMetric) {
      ++counters_.records;
      const auto& rec = r.record;
      int64_t step = rec.step ? *rec.step : counters_.next_step;
      counters_.next_step = step + 1;
      for (const auto& [name, value] : rec.values) {
        store::MetricPoint p;
        p.name = name;
        p.step = step;
        p.epoch = rec.epoch;
        p.value = value;
        p.time = now;
        points_.push_back(std::move(p));
      }
      return;
    }
    if (r.kind == capture::LineKind::kMalformed) {
      if (counters_.malformed++ == 0) {
        counters_.first_malformed =
            stream_ + " line " + std::to_string(lines_) + ": " + r.error;
      }
    }
  }
  log_.append(line.text);
  if (line.ends_line) log_.push_back('\n');
}

void OutputPump::FlushLog(double now) {
  if (!points_.empty()) {
    counters_.points += static_cast<int64_t>(points_.size());
    if (observer_) (*observer_)(points_);
    writer_.AppendMetrics(run_id_, std::move(points_));
    points_.clear();
  }
  if (!log_.empty()) {
    writer_.AppendLog(run_id_, stream_, now, SanitizeUtf8(log_));
    log_.clear();
  }
}

}  // namespace orchard::exec
