#include "orchestrator/exec/child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/process.hpp>
#include <boost/process/extend.hpp>
#include <boost/process/posix.hpp>
#include <cerrno>
#include <filesystem>

namespace bp = boost::process;

namespace orchard::exec {

struct ChildProcess::Impl {
  bp::child child;
};

std::string ExitInfo::Describe() const {
  if (!lost.empty()) return "node lost: " + lost;
  std::string more = detail.empty() ? "" : "; " + detail;
  if (signal) {
    const char* name = sigabbrev_np(signal);
    return "killed by signal " + std::to_string(signal) +
           (name ? std::string(" (SIG") + name + ")" : "") + more;
  }
  return "exit code " + std::to_string(exit_code) + more;
}

namespace {

// Puts the child in its own process group before exec, and asks the kernel
// to send it SIGTERM if the launching thread dies: an orchestrator killed
// with kill -9 leaves no trainer running unwatched (it checkpoints and stops).
struct NewProcessGroup : bp::extend::handler {
  pid_t parent = getpid();
  template <typename Executor>
  void on_exec_setup(Executor&) const {
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) _exit(125);  // the parent died before prctl
  }
};


}  // namespace

ExitInfo FromWaitStatus(int status) {
  ExitInfo info;
  if (WIFSIGNALED(status)) {
    info.signal = WTERMSIG(status);
    info.exit_code = 128 + info.signal;
  } else if (WIFEXITED(status)) {
    info.exit_code = WEXITSTATUS(status);
  }
  return info;
}

Result<std::unique_ptr<ChildProcess>> ChildProcess::Start(const LaunchSpec& spec) {
  if (spec.argv.empty()) return Status::InvalidArgument("no command to run");
  std::string exe = spec.argv[0];
  if (exe.find('/') == std::string::npos) {
    auto found = bp::search_path(exe);
    if (found.empty()) {
      return Status::NotFound("command not found: " + exe + " (not on PATH)");
    }
    exe = found.string();
  } else if (exe.front() != '/' && !spec.cwd.empty()) {
    // A relative path ("./train.sh") names a file in the child's folder, as
    // a shell started there would find it, not one in ours.
    exe = (std::filesystem::path(spec.cwd) / exe).string();
  }
  if (access(exe.c_str(), X_OK) != 0) {
    return Status::InvalidArgument("cannot execute " + exe + ": " + strerror(errno));
  }
  int out = open(spec.stdout_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
  if (out < 0) return Status::IoError("cannot create " + spec.stdout_path + ": " + strerror(errno));
  int err = open(spec.stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
  if (err < 0) {
    close(out);
    return Status::IoError("cannot create " + spec.stderr_path + ": " + strerror(errno));
  }
  bp::environment env = boost::this_process::environment();
  for (const auto& [k, v] : spec.env) env[k] = v;
  std::vector<std::string> args(spec.argv.begin() + 1, spec.argv.end());

  std::unique_ptr<ChildProcess> child(new ChildProcess());
  child->impl_ = std::make_unique<Impl>();
  std::error_code ec;
  try {
    // Boost.Process dup2s these onto 1 and 2 in the child; the originals
    // close on exec (O_CLOEXEC).
    child->impl_->child = bp::child(
        bp::exe = exe, bp::args = args, env, bp::start_dir = spec.cwd.empty() ? "." : spec.cwd,
        bp::std_in < bp::null, bp::posix::fd.bind(1, out), bp::posix::fd.bind(2, err),
        NewProcessGroup(), ec);
  } catch (const std::exception& e) {
    close(out);
    close(err);
    return Status::IoError("cannot start " + exe + ": " + e.what());
  }
  close(out);
  close(err);
  if (ec) return Status::IoError("cannot start " + exe + ": " + ec.message());
  child->pid_ = child->impl_->child.id();
  // The group exists once the child ran setpgid; set it from here too so a
  // signal sent at once cannot miss (both calls are harmless).
  setpgid(child->pid_, child->pid_);
  return child;
}

ChildProcess::~ChildProcess() {
  if (!exit_ && pid_ > 0) {
    Signal(SIGKILL);
    Wait();
  }
  if (impl_) impl_->child.detach();  // reaped by us, not by Boost
}

void ChildProcess::Signal(int sig) {
  if (pid_ <= 0 || exit_) return;
  if (kill(-pid_, sig) != 0) kill(pid_, sig);
}

std::optional<ExitInfo> ChildProcess::Poll() {
  if (exit_) return exit_;
  int status = 0;
  pid_t r = waitpid(pid_, &status, WNOHANG);
  if (r == pid_) exit_ = FromWaitStatus(status);
  return exit_;
}

ExitInfo ChildProcess::Wait() {
  while (!exit_) {
    int status = 0;
    pid_t r = waitpid(pid_, &status, 0);
    if (r == pid_) {
      exit_ = FromWaitStatus(status);
    } else if (r < 0 && errno != EINTR) {
      exit_ = ExitInfo{};
      exit_->exit_code = 1;
    }
  }
  return *exit_;
}

}  // namespace orchard::exec
