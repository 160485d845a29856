// JournalTail: reads what a trainer appended to one of its output journals
// since the last read.
//
// The trainer's stdout and stderr are files (Home::JournalPath), written by
// the trainer itself: if the orchestrator dies, nothing the trainer prints
// afterwards is lost, and a later session ingests the rest from the offset
// the store has committed. Not thread-safe; one reader per file.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "flags/status.h"

namespace orchard::exec {

class JournalTail {
 public:
  // Opens `path` for reading from `offset`.
  static Result<std::unique_ptr<JournalTail>> Open(const std::string& path, int64_t offset);
  ~JournalTail();

  // Calls sink with each chunk appended since the last call (up to what is
  // in the file now); returns the number of bytes read.
  int64_t ReadNew(const std::function<void(std::string_view)>& sink);

 private:
  explicit JournalTail(int fd) : fd_(fd), buf_(1 << 16) {}
  int fd_;
  std::vector<char> buf_;
};

// Wakes a poll() when any of some files is written (inotify); a poll with a
// short timeout works too when inotify is not available (fd() < 0).
class FileWatch {
 public:
  explicit FileWatch(const std::vector<std::string>& paths);
  ~FileWatch();
  int fd() const { return fd_; }
  void Drain();

 private:
  int fd_ = -1;
};

}  // namespace orchard::exec
