#include "orchestrator/exec/journal_tail.h"

#include <fcntl.h>
#include <string.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>

namespace orchard::exec {

Result<std::unique_ptr<JournalTail>> JournalTail::Open(const std::string& path, int64_t offset) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::IoError("cannot read " + path + ": " + strerror(errno));
  if (offset > 0 && lseek(fd, offset, SEEK_SET) != offset) {
    close(fd);
    return Status::IoError("cannot seek in " + path + ": " + strerror(errno));
  }
  return std::unique_ptr<JournalTail>(new JournalTail(fd));
}

JournalTail::~JournalTail() { close(fd_); }

int64_t JournalTail::ReadNew(const std::function<void(std::string_view)>& sink) {
  int64_t total = 0;
  for (;;) {
    ssize_t got = read(fd_, buf_.data(), buf_.size());
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return total;
    sink(std::string_view(buf_.data(), static_cast<size_t>(got)));
    total += got;
  }
}

FileWatch::FileWatch(const std::vector<std::string>& paths) {
  fd_ = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd_ < 0) return;
  for (const auto& p : paths) {
    if (inotify_add_watch(fd_, p.c_str(), IN_MODIFY) < 0) {
      close(fd_);
      fd_ = -1;
      return;
    }
  }
}

FileWatch::~FileWatch() {
  if (fd_ >= 0) close(fd_);
}

void FileWatch::Drain() {
  if (fd_ < 0) return;
  alignas(struct inotify_event) char buf[4096];
  while (read(fd_, buf, sizeof buf) > 0) {
  }
}

}  // namespace orchard::exec
