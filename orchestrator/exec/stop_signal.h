// StopSignal: turns SIGINT and SIGTERM into a pollable file descriptor.
//
// While an instance lives, the first SIGINT/SIGTERM asks for a graceful stop
// and the second for an immediate one; the handler only writes a byte to a
// pipe (async-signal-safe). One instance per process; the previous handlers
// are restored on destruction.
#pragma once

namespace orchard::exec {

class StopSignal {
 public:
  StopSignal();
  ~StopSignal();
  StopSignal(const StopSignal&) = delete;
  StopSignal& operator=(const StopSignal&) = delete;

  // Readable when a signal arrived; Drain() consumes and counts them.
  int fd() const;
  // Signals received so far (after draining the pipe).
  int Drain();
  int count() const { return count_; }
  // The last signal number received (SIGINT or SIGTERM), 0 if none.
  int last_signal() const;

 private:
  int count_ = 0;
};

}  // namespace orchard::exec
