#include "orchestrator/capture/line_splitter.h"

#include <algorithm>

namespace orchard::capture {

LineSplitter::LineSplitter(size_t max_line) : max_line_(std::max<size_t>(max_line, 1)) {}

void LineSplitter::Append(std::string_view part, const Sink& sink) {
  // Once more than max_line bytes of one line are known, the first max_line
  // of them go out as an overlong piece.
  while (buf_.size() + part.size() > max_line_) {
    size_t take = max_line_ - buf_.size();
    if (buf_.empty()) {
      sink(Line{part.substr(0, take), true, false});
    } else {
      buf_.append(part.substr(0, take));
      sink(Line{buf_, true, false});
      buf_.clear();
    }
    overlong_ = true;
    part.remove_prefix(take);
  }
  buf_.append(part);
}

void LineSplitter::Feed(std::string_view chunk, const Sink& sink) {
  while (!chunk.empty()) {
    size_t nl = chunk.find('\n');
    if (nl == std::string_view::npos) {
      Append(chunk, sink);
      return;
    }
    std::string_view part = chunk.substr(0, nl);
    chunk.remove_prefix(nl + 1);
    if (buf_.empty() && !overlong_ && part.size() <= max_line_) {
      sink(Line{part, false, true});  // whole line inside the chunk: no copy
      continue;
    }
    Append(part, sink);
    sink(Line{buf_, overlong_, true});
    buf_.clear();
    overlong_ = false;
  }
}

void LineSplitter::Flush(const Sink& sink) {
  if (buf_.empty() && !overlong_) return;
  sink(Line{buf_, overlong_, true});
  buf_.clear();
  overlong_ = false;
}

}  // namespace orchard::capture
