// SshConnection: how Orchard talks to one SSH node — the `ssh` command
// lines (port, user, identity, ssh_config and options from the inventory)
// and one shared connection (ControlMaster) that later commands reuse, so
// a trial costs a few milliseconds of ssh, not a handshake.
//
// The master is our own child (`ssh -M ... 'exec cat'`), stopped by PID. Its
// stdin is a pipe only we hold: when the orchestrator dies, its remote `cat`
// ends and the master exits once the jobs it carries have ended (no local
// ssh process outlives its jobs). Commands fall back to a direct connection
// when the master is gone. ServerAlive options make a dead node show within
// seconds. Thread-safe.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <mutex>
#include <string>
#include <vector>

#include "flags/status.h"
#include "orchestrator/remote/ssh_inventory.h"
#include "orchestrator/remote/ssh_process.h"

namespace orchard::remote {

class SshConnection {
 public:
  // `control_dir` is a private local folder for the master's socket and log.
  SshConnection(SshNodeConfig config, std::string control_dir);
  ~SshConnection();  // ends the master

  const SshNodeConfig& config() const { return config_; }
  const std::string& name() const { return config_.name; }
  // "node1 (root@10.0.0.11 port 2201)".
  std::string Describe() const;
  // The absolute work folder on the node, once connected.
  std::string work() const;

  // (Re)opens the shared connection and prepares the work folder: the
  // node's probe. The error says what failed, on which node.
  Status Connect(double timeout_s);
  // The shared connection is up and the work folder known.
  bool Ready();
  // Ends the shared connection (a lost node's master may hang on).
  void Disconnect();

  // The ssh argv running `command` (a shell command line) on the node,
  // through the shared connection when it is up.
  std::vector<std::string> Argv(const std::string& command);
  // A short command on the node; ssh's exit 255 or a timeout is a failure of
  // the connection (CommandResult::exit), not an error Status.
  Result<CommandResult> Run(const std::string& command, const std::string& input,
                            double timeout_s, int out_fd = -1);

  // Sessions carried by the master are limited by the node's sshd
  // (MaxSessions, 10 by default); beyond kMaxShared a command connects on
  // its own. Jobs hold a session while they run.
  void AddSession(int delta) { sessions_ += delta; }

  double connect_timeout_s() const { return connect_timeout_s_; }

  // Run folders already copied back: removed on the node by the next
  // command that goes there anyway (a round trip saved per job), or when
  // the connection closes.
  void DeferRemoval(const std::string& name);
  std::vector<std::string> TakeRemovals();
  void PutBackRemovals(const std::vector<std::string>& names);
  // Jobs lost with the node (it stopped answering): what they left running
  // is killed when the node answers again (a partition that heals).
  void AddLostJob(const std::string& name);
  std::vector<std::string> TakeLostJobs();

 private:
  std::vector<std::string> BaseArgv() const;
  std::string MasterTag(int generation) const;
  int generation() const;
  void StopMasterLocked();
  bool MasterUpLocked();

  static constexpr int kMaxShared = 8;
  SshNodeConfig config_;
  std::string control_path_, master_log_;
  double connect_timeout_s_ = 5;
  mutable std::mutex mu_;
  pid_t master_ = -1;
  int master_stdin_ = -1;
  int generation_ = 0;  // masters started
  std::string work_;
  std::vector<std::string> removals_, lost_jobs_;
  std::atomic<int> sessions_{0};
};

}  // namespace orchard::remote
