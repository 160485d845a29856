#include "orchestrator/remote/ssh_job.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <cstdlib>

#include "orchestrator/remote/ssh_process.h"
#include "orchestrator/remote/ssh_scripts.h"

namespace orchard::remote {
namespace {

// Artifacts can be large (checkpoints); the copy is bounded all the same.
constexpr double kCollectTimeoutS = 3600;

std::string SignalName(int sig) {
  const char* name = sigabbrev_np(sig);
  return name ? name : std::to_string(sig);
}

}  // namespace

SshJob::SshJob(SshConnection* node, pid_t pid, int stdin_fd, std::string name,
               std::string run_dir, std::string gpus, std::vector<std::string> fetch)
    : node_(node), node_name_(node->name()), pid_(pid), stdin_fd_(stdin_fd),
      name_(std::move(name)), run_dir_(std::move(run_dir)), gpus_(std::move(gpus)),
      fetch_(std::move(fetch)) {
  node_->AddSession(1);
}

std::unique_ptr<SshJob> SshJob::Lost(std::string node_name, std::string why) {
  std::unique_ptr<SshJob> job(new SshJob());
  job->node_name_ = std::move(node_name);
  job->unreachable_ = true;
  exec::ExitInfo info;
  info.exit_code = 255;
  info.lost = std::move(why);
  job->exit_ = info;
  return job;
}

SshJob::~SshJob() {
  if (pid_ > 0 && !exit_) {
    // Still running: the closed pipe makes the wrapper stop the group; the
    // explicit kill does it now when the node answers.
    if (stdin_fd_ >= 0) close(stdin_fd_);
    stdin_fd_ = -1;
    Signal(SIGKILL);
    WaitExit(pid_, 3);
    node_->AddSession(-1);
  }
  if (stdin_fd_ >= 0) close(stdin_fd_);
}

std::string SshJob::Where() const {
  return node_name_ + (pid_ > 0 ? " (ssh pid " + std::to_string(pid_) + ")" : "");
}

exec::ExitInfo SshJob::Classify(const exec::ExitInfo& client) {
  exec::ExitInfo info = client;
  if (client.signal == 0 && client.exit_code != 255) {
    // The wrapper exits with the trainer's status as a shell reports it.
    if (client.exit_code > 128 && client.exit_code < 128 + 65) {
      info.signal = client.exit_code - 128;
    }
    return info;
  }
  if (killed_locally_) return info;
  // 255: the trainer's own code, or ssh lost the connection. Ask the node.
  auto status = node_->Run(scripts::Command(scripts::kStatus, {node_->work(), name_}), "",
                           node_->connect_timeout_s() + 5);
  if (status.ok() && status->ok()) {
    std::string text = status->out.substr(0, status->out.find('\n'));
    char* end = nullptr;
    long code = strtol(text.c_str(), &end, 10);
    if (!text.empty() && *end == '\0') {
      info.exit_code = static_cast<int>(code);
      info.signal = code > 128 && code < 128 + 65 ? static_cast<int>(code) - 128 : 0;
      return info;
    }
    info.lost = "the ssh connection to " + node_->Describe() +
                " closed before the job ended; the job was stopped";
    return info;
  }
  unreachable_ = true;
  node_->AddLostJob(name_);
  std::string why = status.ok() ? status->Why() : status.status().message();
  info.lost = node_->Describe() + " stopped answering (" + why + ")";
  return info;
}

std::optional<exec::ExitInfo> SshJob::Poll() {
  if (exit_) return exit_;
  auto client = PollExit(pid_);
  if (!client) return std::nullopt;
  if (stdin_fd_ >= 0) close(stdin_fd_);
  stdin_fd_ = -1;
  node_->AddSession(-1);
  exit_ = Classify(*client);
  return exit_;
}

void SshJob::Signal(int sig) {
  if (pid_ <= 0 || exit_) return;
  auto r = node_->Run(scripts::Command(scripts::kSignal, {node_->work(), name_, SignalName(sig)}),
                      "", node_->connect_timeout_s() + 8);
  if (r.ok() && r->ok()) return;
  // The node does not answer. EOF on the channel asks the wrapper to stop
  // the group if the node ever hears it; SIGKILL also ends our client so
  // the run can end.
  if (stdin_fd_ >= 0) close(stdin_fd_);
  stdin_fd_ = -1;
  if (sig == SIGKILL) {
    killed_locally_ = true;
    kill(-pid_, SIGKILL);
  }
}

Status SshJob::Collect() {
  if (node_ == nullptr) return Status::Ok();  // never started
  if (unreachable_) {
    return Status::IoError(node_->Describe() + " is unreachable; what the job wrote stays in " +
                           node_->work() + "/runs/" + name_ + " on the node");
  }
  const std::string work = node_->work();
  std::string fetch;
  for (const auto& f : fetch_) fetch += (fetch.empty() ? "" : "\n") + f;
  std::vector<std::string> args = {work, name_, fetch};
  std::vector<std::string> old = node_->TakeRemovals();
  args.insert(args.end(), old.begin(), old.end());
  auto pipe = RunPipeline(node_->Argv(scripts::Command(scripts::kPackRun, args)),
                          {"tar", "-xf", "-", "-C", run_dir_, "--no-same-owner"}, kCollectTimeoutS);
  if (!pipe.ok() || pipe->first.exit.exit_code == 255) node_->PutBackRemovals(old);
  if (!pipe.ok()) return pipe.status();
  const auto& [remote, local] = *pipe;
  if (!remote.ok()) return Status::IoError("from " + node_->Describe() + ": " + remote.Why());
  if (!local.ok()) return Status::IoError("tar into " + run_dir_ + ": " + local.Why());
  // Only once the files are here can the node's copy go.
  node_->DeferRemoval(name_);
  return Status::Ok();
}

}  // namespace orchard::remote
