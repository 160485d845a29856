// Stop requests a running trainer watches for: the process's own Ctrl-C /
// SIGTERM (StopSignal) or a stop asked by the tuner for one trial (StopFlag:
// pruning, a timeout, or a cancelled tuning).
//
// Both are pollable file descriptors. The first request asks for a graceful
// stop (SIGTERM to the trainer); a second one for an immediate one (SIGKILL).
#pragma once

#include <atomic>
#include <mutex>
#include <string>

#include "orchestrator/store/types.h"

namespace orchard::exec {

class StopRequests {
 public:
  virtual ~StopRequests() = default;
  // Readable when a request arrived; Drain() consumes and counts them.
  virtual int fd() const = 0;
  // Requests received so far.
  virtual int Drain() = 0;
  // How a run stopped this way is recorded, and why.
  virtual store::RunStatus final_status() const { return store::RunStatus::kCancelled; }
  virtual std::string reason() const { return "cancelled"; }
};

// SIGINT and SIGTERM of this process. One instance per process; the previous
// handlers are restored on destruction. The handler only writes a byte to a
// pipe (async-signal-safe).
class StopSignal : public StopRequests {
 public:
  StopSignal();
  ~StopSignal() override;
  StopSignal(const StopSignal&) = delete;
  StopSignal& operator=(const StopSignal&) = delete;

  int fd() const override;
  int Drain() override;

 private:
  int count_ = 0;
};

// A stop asked from inside the process, e.g. by the tuner pruning a trial.
// Thread-safe: Request() may be called from any thread.
class StopFlag : public StopRequests {
 public:
  StopFlag();
  ~StopFlag() override;
  StopFlag(const StopFlag&) = delete;
  StopFlag& operator=(const StopFlag&) = delete;

  // The first request's status and reason are kept.
  void Request(store::RunStatus status, std::string reason);
  bool requested() const { return requested_.load(); }

  int fd() const override { return fd_; }
  int Drain() override;
  store::RunStatus final_status() const override;
  std::string reason() const override;

 private:
  int fd_ = -1;  // eventfd
  int count_ = 0;
  std::atomic<bool> requested_{false};
  mutable std::mutex mu_;
  store::RunStatus status_ = store::RunStatus::kCancelled;
  std::string reason_ = "cancelled";
};

}  // namespace orchard::exec
