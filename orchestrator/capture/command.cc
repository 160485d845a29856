#include "orchestrator/capture/command.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <algorithm>

extern char** environ;

namespace orchard::capture {
namespace {

// Closes a file descriptor at scope exit.
class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  ~Fd() { Reset(); }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  void Reset() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_;
};

}  // namespace

Result<CommandResult> RunCommand(const CommandSpec& spec) {
  if (spec.argv.empty() || spec.argv[0].empty()) return Status::InvalidArgument("empty command");
  if (!spec.cwd.empty() && ::access(spec.cwd.c_str(), X_OK) != 0) {
    return Status::IoError("cannot enter " + spec.cwd + ": " + std::strerror(errno));
  }
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    return Status::IoError(std::string("pipe: ") + std::strerror(errno));
  }
  Fd read_end(fds[0]), write_end(fds[1]);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&actions, write_end.get(), 1);
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
  if (!spec.cwd.empty()) posix_spawn_file_actions_addchdir_np(&actions, spec.cwd.c_str());

  std::vector<char*> argv;
  for (const std::string& a : spec.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid = -1;
  int err = ::posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (err == ENOENT && spec.argv[0].find('/') == std::string::npos) {
    return Status::NotFound(spec.argv[0] + " not found on PATH");
  }
  if (err != 0) {
    return Status::IoError("cannot run " + spec.argv[0] + ": " + std::strerror(err));
  }
  write_end.Reset();

  CommandResult result;
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                            std::chrono::duration<double>(spec.timeout_s));
  char buf[16 * 1024];
  bool kill_child = false;
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      result.timed_out = true;
      kill_child = true;
      break;
    }
    pollfd p{read_end.get(), POLLIN, 0};
    int ready = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left.count(), 1000)));
    if (ready < 0 && errno != EINTR) {
      kill_child = true;
      break;
    }
    if (ready <= 0) continue;
    ssize_t n = ::read(read_end.get(), buf, sizeof buf);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) break;  // EOF (or a read error: treat as the end)
    size_t room = spec.max_output - result.out.size();
    if (static_cast<size_t>(n) > room) {
      result.out.append(buf, room);
      result.truncated = true;
      kill_child = true;
      break;
    }
    result.out.append(buf, n);
  }
  read_end.Reset();
  int status = 0;
  bool have_status = false;
  // A child may close stdout and linger: it still gets only the time left.
  while (!kill_child) {
    pid_t done = ::waitpid(pid, &status, WNOHANG);
    if (done == pid) {
      have_status = true;
      break;
    }
    if (done < 0 && errno != EINTR) break;  // e.g. SIGCHLD ignored: no status
    if (std::chrono::steady_clock::now() >= deadline) {
      result.timed_out = true;
      kill_child = true;
      break;
    }
    ::usleep(2000);
  }
  if (kill_child) {
    ::kill(pid, SIGKILL);
    pid_t done;
    while ((done = ::waitpid(pid, &status, 0)) < 0 && errno == EINTR) {
    }
    have_status = done == pid;
  }
  result.exit_code = have_status && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

}  // namespace orchard::capture
