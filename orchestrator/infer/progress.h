// What `orchard infer` shows while it runs: on a terminal one status line
// redrawn in place (images done/total, images/s, errors, shards done, ETA)
// with events printed above it; otherwise the same text as a plain line
// every few seconds, so logs stay short. Not thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <ostream>
#include <string>

namespace orchard::infer {

struct InferCounts {
  int64_t images_done = 0, images_total = 0;
  double images_per_sec = 0;  // this session's rate; 0 until known
  int64_t errors = 0;         // unreadable inputs reported so far
  int shards_done = 0, shards_total = 0;
  int workers = 0;            // running
  std::optional<double> eta_s;
};

class InferProgress {
 public:
  // plain_every_s: seconds between plain lines when not on a terminal.
  InferProgress(std::ostream& out, bool tty, double plain_every_s)
      : out_(out), tty_(tty), plain_every_s_(plain_every_s) {}
  void Event(const std::string& line);
  // Redraws the line (at most 5 times a second) or prints it when due.
  void Update(const InferCounts& c, double now, bool force = false);
  void Finish();
  static std::string Text(const InferCounts& c);

 private:
  std::ostream& out_;
  bool tty_;
  double plain_every_s_;
  double last_at_ = -1e18;
  std::string last_;
};

}  // namespace orchard::infer
