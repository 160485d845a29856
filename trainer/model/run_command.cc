#include "trainer/model/run_command.h"

#include <fcntl.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

extern char** environ;

namespace orchard::trainer {

namespace fs = std::filesystem;

fs::path FindOnPath(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/local/bin:/usr/bin:/bin";
  size_t start = 0;
  while (start <= dirs.size()) {
    size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    fs::path candidate = fs::path(start == end ? "." : dirs.substr(start, end - start)) / program;
    if (access(candidate.c_str(), X_OK) == 0 && !fs::is_directory(candidate)) {
      return fs::absolute(candidate);
    }
    start = end + 1;
  }
  return {};
}

Result<std::string> RunCommand(const std::vector<std::string>& argv) {
  if (argv.empty()) return Status::InvalidArgument("no command to run");
  fs::path exe = argv[0];
  if (argv[0].find('/') == std::string::npos) {
    exe = FindOnPath(argv[0]);
    if (exe.empty()) return Status::NotFound(argv[0] + " not found on PATH");
  } else if (access(exe.c_str(), X_OK) != 0) {
    return Status::NotFound("cannot execute " + argv[0] + ": " + strerror(errno));
  }
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return Status::Internal(std::string("pipe: ") + strerror(errno));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  // dup2 clears close-on-exec on the copies: the child writes both streams to the pipe.
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
  posix_spawn_file_actions_adddup2(&actions, fds[1], STDERR_FILENO);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  const int err = posix_spawn(&pid, exe.c_str(), &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);
  if (err != 0) {
    close(fds[0]);
    return Status::Internal("cannot start " + exe.string() + ": " + strerror(err));
  }
  std::string output;
  char buf[4096];
  for (;;) {
    const ssize_t n = read(fds[0], buf, sizeof(buf));
    if (n > 0) {
      output.append(buf, n);
    } else if (n == 0 || errno != EINTR) {
      break;
    }
  }
  close(fds[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return output;
  const std::string how = WIFSIGNALED(status)
                              ? "was killed by signal " + std::to_string(WTERMSIG(status))
                              : "exited with code " + std::to_string(WEXITSTATUS(status));
  constexpr size_t kTail = 4000;
  if (output.size() > kTail) output = "..." + output.substr(output.size() - kTail);
  return Status::Internal(exe.filename().string() + " " + how + ":\n" + output);
}

}  // namespace orchard::trainer
