// SshJob: one trainer running on an SSH node, seen through its local ssh
// client (exec::Job).
//
// The client's stdout and stderr are the run's local journals, so output
// streams live; its stdin is a pipe only this job holds, and the remote
// wrapper (scripts::JobScript) stops the trainer's process group when that
// pipe closes. The trainer's exit code is the client's, except 255, which
// ssh also uses for its own failures: then the node is asked for the code
// the wrapper recorded, and a node that cannot say is `lost`.
// Owned by one thread; the connection must outlive it.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <vector>

#include "orchestrator/exec/executor.h"
#include "orchestrator/remote/ssh_connection.h"

namespace orchard::remote {

class SshJob : public exec::Job {
 public:
  // A started client. `name` is the job's folder name under W/runs.
  // `fetch`: what Collect() brings back (JobSpec::fetch); empty: everything.
  SshJob(SshConnection* node, pid_t pid, int stdin_fd, std::string name, std::string run_dir,
         std::string gpus, std::vector<std::string> fetch);
  // A job that never started because its node failed: Poll() says lost.
  static std::unique_ptr<SshJob> Lost(std::string node_name, std::string why);
  ~SshJob() override;

  std::string Where() const override;
  pid_t pid() const override { return pid_; }
  std::optional<exec::ExitInfo> Poll() override;
  void Signal(int sig) override;
  std::optional<std::string> Gpus() const override { return gpus_; }
  Status Collect() override;

 private:
  SshJob() = default;
  exec::ExitInfo Classify(const exec::ExitInfo& client);

  SshConnection* node_ = nullptr;
  std::string node_name_;
  pid_t pid_ = -1;
  int stdin_fd_ = -1;
  std::string name_, run_dir_;
  std::optional<std::string> gpus_;
  std::vector<std::string> fetch_;
  std::optional<exec::ExitInfo> exit_;
  bool killed_locally_ = false;  // we SIGKILLed the client (node unreachable)
  bool unreachable_ = false;     // the node did not answer after the job ended
};

}  // namespace orchard::remote
