#include "orchestrator/exec/stop_signal.h"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>

namespace orchard::exec {

namespace {
int g_pipe[2] = {-1, -1};
struct sigaction g_old_int, g_old_term;

void OnSignal(int sig) {
  char c = static_cast<char>(sig);
  int saved = errno;
  [[maybe_unused]] ssize_t n = write(g_pipe[1], &c, 1);
  errno = saved;
}
}  // namespace

StopSignal::StopSignal() {
  if (pipe2(g_pipe, O_CLOEXEC | O_NONBLOCK) != 0) g_pipe[0] = g_pipe[1] = -1;
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGINT, &sa, &g_old_int);
  sigaction(SIGTERM, &sa, &g_old_term);
}

StopSignal::~StopSignal() {
  sigaction(SIGINT, &g_old_int, nullptr);
  sigaction(SIGTERM, &g_old_term, nullptr);
  close(g_pipe[0]);
  close(g_pipe[1]);
  g_pipe[0] = g_pipe[1] = -1;
}

int StopSignal::fd() const { return g_pipe[0]; }

int StopSignal::Drain() {
  char buf[64];
  ssize_t n;
  while ((n = read(g_pipe[0], buf, sizeof buf)) > 0) count_ += static_cast<int>(n);
  return count_;
}


StopFlag::StopFlag() : fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

StopFlag::~StopFlag() {
  if (fd_ >= 0) close(fd_);
}

void StopFlag::Request(store::RunStatus status, std::string reason) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!requested_.exchange(true)) {
      status_ = status;
      reason_ = std::move(reason);
    }
  }
  uint64_t one = 1;
  [[maybe_unused]] ssize_t n = write(fd_, &one, sizeof one);
}

int StopFlag::Drain() {
  uint64_t v = 0;
  if (read(fd_, &v, sizeof v) == sizeof v) count_ += static_cast<int>(v);
  return count_;
}

store::RunStatus StopFlag::final_status() const {
  std::lock_guard<std::mutex> lock(mu_);
  return status_;
}

std::string StopFlag::reason() const {
  std::lock_guard<std::mutex> lock(mu_);
  return reason_;
}

}  // namespace orchard::exec
