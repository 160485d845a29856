#include "orchestrator/infer/progress.h"

#include <cstdio>

#include "orchestrator/util/clock.h"

namespace orchard::infer {

std::string InferProgress::Text(const InferCounts& c) {
  std::string s = "[infer] " + std::to_string(c.images_done) + "/" + std::to_string(c.images_total) +
                  " images";
  if (c.images_per_sec > 0) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f", c.images_per_sec);
    s += std::string(" · ") + buf + " img/s";
  }
  s += " · " + std::to_string(c.errors) + (c.errors == 1 ? " error" : " errors");
  s += " · shards " + std::to_string(c.shards_done) + "/" + std::to_string(c.shards_total);
  s += " · " + std::to_string(c.workers) + (c.workers == 1 ? " worker" : " workers");
  if (c.eta_s) s += " · ETA " + FormatDuration(*c.eta_s);
  return s;
}

void InferProgress::Event(const std::string& line) {
  if (tty_) {
    out_ << "\r\033[K" << line << "\n" << last_ << std::flush;
  } else {
    out_ << line << "\n" << std::flush;
  }
}

void InferProgress::Update(const InferCounts& c, double now, bool force) {
  double every = tty_ ? 0.2 : plain_every_s_;
  if (!force && now - last_at_ < every) return;
  last_at_ = now;
  if (tty_) {
    last_ = Text(c);
    out_ << "\r\033[K" << last_ << std::flush;
  } else {
    out_ << Text(c) << "\n" << std::flush;
  }
}

void InferProgress::Finish() {
  if (tty_ && !last_.empty()) out_ << "\r\033[K" << last_ << "\n" << std::flush;
  last_.clear();
}

}  // namespace orchard::infer
