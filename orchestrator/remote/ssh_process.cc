#include "orchestrator/remote/ssh_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "orchestrator/util/clock.h"

extern char** environ;

namespace orchard::remote {
namespace {

void CloseFd(int& fd) {
  if (fd >= 0) close(fd);
  fd = -1;
}

// Reads what is available on fd into `to`; false at EOF or on error.
bool ReadSome(int fd, std::string* to) {
  char buf[65536];
  ssize_t n = read(fd, buf, sizeof buf);
  if (n > 0) {
    to->append(buf, static_cast<size_t>(n));
    return true;
  }
  return n < 0 && (errno == EINTR || errno == EAGAIN);
}

// Drives one running process: writes `input`, reads stdout (unless
// out_fd < 0) and stderr until both reach EOF, then reaps it.
CommandResult Drive(Spawned sp, int out_fd, int err_fd, const std::string& input, double timeout_s) {
  CommandResult r;
  double deadline = NowSeconds() + timeout_s;
  size_t written = 0;
  if (sp.stdin_fd >= 0) {
    fcntl(sp.stdin_fd, F_SETFL, O_NONBLOCK);
    if (input.empty()) CloseFd(sp.stdin_fd);
  }
  for (;;) {
    pollfd fds[3];
    int n = 0, in_i = -1, out_i = -1, err_i = -1;
    if (sp.stdin_fd >= 0) { in_i = n; fds[n++] = {sp.stdin_fd, POLLOUT, 0}; }
    if (out_fd >= 0) { out_i = n; fds[n++] = {out_fd, POLLIN, 0}; }
    if (err_fd >= 0) { err_i = n; fds[n++] = {err_fd, POLLIN, 0}; }
    if (n == 0) break;
    double left = deadline - NowSeconds();
    if (left <= 0) {
      r.timed_out = true;
      break;
    }
    int rc = poll(fds, n, static_cast<int>(left * 1000) + 1);
    if (rc < 0 && errno != EINTR) break;
    if (rc <= 0) continue;
    if (in_i >= 0 && fds[in_i].revents) {
      ssize_t w = write(sp.stdin_fd, input.data() + written, input.size() - written);
      if (w > 0) written += static_cast<size_t>(w);
      if ((w < 0 && errno != EAGAIN && errno != EINTR) || written == input.size()) CloseFd(sp.stdin_fd);
    }
    if (out_i >= 0 && fds[out_i].revents && !ReadSome(out_fd, &r.out)) CloseFd(out_fd);
    if (err_i >= 0 && fds[err_i].revents && !ReadSome(err_fd, &r.err)) CloseFd(err_fd);
  }
  CloseFd(sp.stdin_fd);
  CloseFd(out_fd);
  CloseFd(err_fd);
  r.exit = WaitExit(sp.pid, r.timed_out ? 0 : std::max(0.0, deadline - NowSeconds()) + 1);
  return r;
}

}  // namespace

Result<Spawned> SpawnProcess(const std::vector<std::string>& argv, int in_fd, int out_fd,
                             int err_fd) {
  if (argv.empty()) return Status::InvalidArgument("no command to run");
  Spawned sp;
  int pipe_fds[2] = {-1, -1};
  if (in_fd == -1) {
    if (pipe2(pipe_fds, O_CLOEXEC) != 0) return Status::IoError(std::string("pipe: ") + strerror(errno));
    in_fd = pipe_fds[0];
    sp.stdin_fd = pipe_fds[1];
  }
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  auto bind = [&](int fd, int target, int flags) {
    if (fd >= 0) {
      posix_spawn_file_actions_adddup2(&fa, fd, target);
    } else {
      posix_spawn_file_actions_addopen(&fa, target, "/dev/null", flags, 0);
    }
  };
  bind(in_fd >= 0 ? in_fd : -1, 0, O_RDONLY);
  bind(out_fd, 1, O_WRONLY);
  bind(err_fd, 2, O_WRONLY);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  for (int s : {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGCHLD}) sigaddset(&defaults, s);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK |
                                      POSIX_SPAWN_SETSIGDEF);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  int rc = posix_spawnp(&sp.pid, args[0], &fa, &attr, args.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (pipe_fds[0] >= 0) close(pipe_fds[0]);
  if (rc != 0) {
    if (sp.stdin_fd >= 0) close(sp.stdin_fd);
    return Status::IoError("cannot start " + argv[0] + ": " + strerror(rc));
  }
  return sp;
}

std::optional<exec::ExitInfo> PollExit(pid_t pid) {
  int status = 0;
  pid_t r = waitpid(pid, &status, WNOHANG);
  if (r == pid) return exec::FromWaitStatus(status);
  if (r < 0 && errno == ECHILD) {  // reaped elsewhere: unknown
    exec::ExitInfo unknown;
    unknown.exit_code = 255;
    return unknown;
  }
  return std::nullopt;
}

exec::ExitInfo WaitExit(pid_t pid, double timeout_s) {
  double deadline = NowSeconds() + timeout_s;
  for (;;) {
    if (auto e = PollExit(pid)) return *e;
    if (NowSeconds() >= deadline) break;
    usleep(5000);
  }
  kill(-pid, SIGKILL);
  kill(pid, SIGKILL);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return exec::FromWaitStatus(status);
}

std::string CommandResult::Why() const {
  if (timed_out) return "no answer (timed out)";
  size_t end = err.find_last_not_of(" \r\n\t");
  if (end != std::string::npos) {
    size_t start = err.rfind('\n', end);
    return err.substr(start == std::string::npos ? 0 : start + 1, end + 1 - (start == std::string::npos ? 0 : start + 1));
  }
  return exit.Describe();
}

Result<CommandResult> RunCommand(const std::vector<std::string>& argv, const std::string& input,
                                 double timeout_s, int out_fd) {
  int out_pipe[2] = {-1, -1}, err_pipe[2] = {-1, -1};
  if (pipe2(err_pipe, O_CLOEXEC) != 0 || (out_fd < 0 && pipe2(out_pipe, O_CLOEXEC) != 0)) {
    for (int fd : {out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1]}) if (fd >= 0) close(fd);
    return Status::IoError(std::string("pipe: ") + strerror(errno));
  }
  auto sp = SpawnProcess(argv, -1, out_fd >= 0 ? out_fd : out_pipe[1], err_pipe[1]);
  if (out_pipe[1] >= 0) close(out_pipe[1]);
  close(err_pipe[1]);
  if (!sp.ok()) {
    if (out_pipe[0] >= 0) close(out_pipe[0]);
    close(err_pipe[0]);
    return sp.status();
  }
  return Drive(*sp, out_pipe[0], err_pipe[0], input, timeout_s);
}

Result<std::pair<CommandResult, CommandResult>> RunPipeline(
    const std::vector<std::string>& producer, const std::vector<std::string>& consumer,
    double timeout_s) {
  int link[2], perr[2], cerr[2];
  if (pipe2(link, O_CLOEXEC) != 0) return Status::IoError(std::string("pipe: ") + strerror(errno));
  if (pipe2(perr, O_CLOEXEC) != 0 || pipe2(cerr, O_CLOEXEC) != 0) {
    close(link[0]);
    close(link[1]);
    return Status::IoError(std::string("pipe: ") + strerror(errno));
  }
  auto p = SpawnProcess(producer, -2, link[1], perr[1]);
  close(link[1]);
  close(perr[1]);
  if (!p.ok()) {
    close(link[0]);
    close(perr[0]);
    close(cerr[0]);
    close(cerr[1]);
    return p.status();
  }
  auto c = SpawnProcess(consumer, link[0], -1, cerr[1]);
  close(link[0]);
  close(cerr[1]);
  if (!c.ok()) {
    close(cerr[0]);
    Drive(*p, -1, perr[0], "", 0);
    return c.status();
  }
  // The consumer ends when the producer's output does; meanwhile the
  // producer's stderr (ssh's few lines) waits in its pipe. Each is bounded.
  double t0 = NowSeconds();
  CommandResult cr = Drive(*c, -1, cerr[0], "", timeout_s);
  CommandResult pr = Drive(*p, -1, perr[0], "", std::max(1.0, timeout_s - (NowSeconds() - t0)));
  return std::make_pair(std::move(pr), std::move(cr));
}

std::string ShQuote(const std::string& text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

}  // namespace orchard::remote
