#include "orchestrator/tune/progress.h"

#include "orchestrator/util/clock.h"

namespace orchard::tune {

std::string Progress::StatusText(const std::string& tune_id, const ProgressCounts& c) {
  std::string s = "[tune " + tune_id + "] " + std::to_string(c.done);
  if (c.total > 0) s += "/" + std::to_string(c.total);
  s += " done · " + std::to_string(c.running - c.queued) + " running · ";
  if (c.queued > 0) s += std::to_string(c.queued) + " queued · ";
  s += std::to_string(c.pruned) +
       " pruned · " + std::to_string(c.failed) + " failed";
  if (!c.best.empty()) s += " · best " + c.best;
  if (c.eta_s) s += " · ETA " + FormatDuration(*c.eta_s);
  return s;
}

void Progress::Event(const std::string& line) {
  if (tty_) {
    out_ << "\r\033[K" << line << "\n" << last_ << std::flush;
  } else {
    out_ << line << "\n" << std::flush;
  }
}

void Progress::Update(const ProgressCounts& counts) {
  if (!tty_) return;
  last_ = StatusText(tune_id_, counts);
  out_ << "\r\033[K" << last_ << std::flush;
}

void Progress::Finish() {
  if (tty_ && !last_.empty()) out_ << "\n";
  last_.clear();
}

}  // namespace orchard::tune
