// Progress: what a tuning session shows while it runs.
//
// On a terminal, one status line redrawn in place (done/running/pruned/
// failed, best so far, ETA) with trial events printed above it; otherwise
// plain lines, one per event, so logs stay readable. Not thread-safe: the
// scheduler thread owns it.
#pragma once

#include <optional>
#include <ostream>
#include <string>

namespace orchard::tune {

struct ProgressCounts {
  int done = 0, running = 0, pruned = 0, failed = 0;
  int queued = 0;           // of the running, waiting in a scheduler's queue
  int total = 0;            // trials the session will run (0: unknown)
  std::string best;         // "val_acc=0.8312 (trial 3)" or ""
  std::optional<double> eta_s;
};

class Progress {
 public:
  Progress(std::ostream& out, bool tty, std::string tune_id)
      : out_(out), tty_(tty), tune_id_(std::move(tune_id)) {}
  // A trial event ("trial 3 ... completed: val_acc=0.83").
  void Event(const std::string& line);
  // Redraws the status line (terminal only; otherwise a no-op).
  void Update(const ProgressCounts& counts);
  // Ends the status line before the final report.
  void Finish();
  static std::string StatusText(const std::string& tune_id, const ProgressCounts& c);

 private:
  std::ostream& out_;
  bool tty_;
  std::string tune_id_;
  std::string last_;
};

}  // namespace orchard::tune
