// Executor: where trainer processes run — this machine, SSH nodes, or a Slurm
// cluster — behind one narrow interface used by `orchard run`, `orchard tune`
// and `orchard infer` (docs/executors.md).
//
// The caller reserves room for a job (Acquire: a node and GPUs, or a place
// in Slurm's queue), starts it (Start), follows it (Job::Poll, non-blocking),
// stops it (Job::Signal) and gives the room back (Release). Whatever the
// executor, the job's stdout and stderr arrive in two local journal files as
// they are printed (an ssh or srun client writes them), so the run launcher
// streams metrics the same way for all three.
//
// A job whose node died or became unreachable ends with ExitInfo::lost set:
// the caller records what it got and re-queues the work elsewhere.
//
// Thread-safety: an Executor is shared by the scheduler thread (Acquire,
// Release, Capacity) and trial threads (Start); implementations lock. A Job
// is owned by one thread.
#pragma once

#include <sys/types.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "flags/status.h"
#include "orchestrator/exec/child_process.h"

namespace orchard::exec {

// Room reserved for one job. `node` is empty on this machine and for Slurm
// (which chooses); `gpus` are the ids the job will see in
// CUDA_VISIBLE_DEVICES when the executor assigns them (local, ssh), empty
// when there are none or the cluster assigns them at start (Slurm).
struct Placement {
  std::string node;
  std::vector<std::string> gpus;
  int gpu_count = 0;  // what was asked for
  std::string Describe() const;  // "node1 GPU 2,3", "GPU 0", "CPU"
};

struct JobSpec {
  std::string name;                          // a label: the run id, "infer-w3"
  std::vector<std::string> argv;             // argv[0] is looked up on the node's PATH
  std::map<std::string, std::string> env;    // protocol variables etc. (docs/protocol.md)
  std::string cwd;                           // local working folder of the job
  std::string stdout_path, stderr_path;      // local journals, created (truncated)
  // Local run folder (ORCHARD_RUN_DIR). A remote executor gives the job a
  // folder of its own on the node and Collect() copies its files back here.
  std::string run_dir;
  // The run's code snapshot in the store ("" none). A remote executor ships
  // it (only the files the node lacks) and runs the job in it; locally the
  // job runs in `cwd`.
  std::string snapshot_id;
  std::string store_path;                    // the SQLite store holding the snapshot
  // When set: the CUDA_VISIBLE_DEVICES the job must see ("" = no GPU).
  // Executors that let the cluster assign GPUs ignore it and request
  // Placement::gpu_count instead.
  std::optional<std::string> cuda_visible_devices;
  double grace_s = 10;                       // SIGTERM -> SIGKILL, for Cancel paths
  // For executors whose nodes do not see this machine's files (ssh; the
  // others ignore both). `ship`: {local file or folder, path relative to the
  // job's folder on the node} placed there before the job starts (only what
  // the node lacks travels); the job then runs in that folder, so relative
  // paths in argv resolve there. `fetch`: files the job writes there
  // (relative paths); when set, Collect() brings back only those (the ones
  // that exist) into run_dir, not the whole folder.
  std::vector<std::pair<std::string, std::string>> ship;
  std::vector<std::string> fetch;
};

class Job {
 public:
  virtual ~Job() = default;  // a job still running is killed (no orphan left)

  // For logs: "pid 4242", "node1 pid 977", "slurm job 118".
  virtual std::string Where() const = 0;
  // The local process standing for the job (itself, or its ssh / srun
  // client); -1 when none.
  virtual pid_t pid() const = 0;
  // Non-blocking. Once the job has ended, its output is in the journals.
  virtual std::optional<ExitInfo> Poll() = 0;
  // A descriptor that becomes readable when the job ends (a pidfd), so the
  // caller wakes at once instead of at its next poll; -1 when there is none.
  // Readable only once Poll() returns the exit (else the caller would spin).
  virtual int exit_fd() const { return -1; }
  // Sends `sig` to the trainer and its children, wherever they run.
  virtual void Signal(int sig) = 0;
  // True while the job waits in a scheduler's queue (not yet started).
  virtual bool Queued() const { return false; }
  // The GPUs the trainer was given, once known ("" = none); nullopt when
  // unknown.
  virtual std::optional<std::string> Gpus() const { return std::nullopt; }
  // After the job ended: bring its run folder's files into JobSpec::run_dir
  // (remote executors) and clean up on the node. Called once.
  virtual Status Collect() { return Status::Ok(); }
};

class Executor {
 public:
  virtual ~Executor() = default;

  virtual std::string Name() const = 0;  // "local", "ssh", "slurm"
  // How many jobs of `gpus` GPUs each can run at once (at least 1), counting
  // nodes that are up.
  virtual int Capacity(int gpus) const = 0;
  // Reserves room for one job of `gpus` GPUs; nullopt when none is free now.
  virtual std::optional<Placement> Acquire(int gpus) = 0;
  virtual void Release(const Placement& where) = 0;
  // Starts a job in room from Acquire. An error means it did not start
  // (the reason names the node and what failed); the caller still Releases.
  virtual Result<std::unique_ptr<Job>> Start(const JobSpec& spec, const Placement& where) = 0;
  // Several like jobs at once (a Slurm job array); by default one by one.
  virtual Result<std::vector<std::unique_ptr<Job>>> StartMany(
      const std::vector<JobSpec>& specs, const std::vector<Placement>& where);
  // The job at `where` was lost (its node died): place nothing there until
  // the node answers again. No-op for executors without nodes.
  virtual void NodeLost(const Placement& where, const std::string& why);
  // Whether a job sees this machine's files at the same paths (this machine;
  // a cluster's shared filesystem). When not (SSH nodes), what it reads
  // travels in JobSpec::ship and what it writes comes back by JobSpec::fetch.
  virtual bool SharesFiles() const { return true; }
  // Whether jobs beyond Capacity() may be started at once and wait in the
  // executor's queue (Slurm) instead of waiting for a Release.
  virtual bool Queues() const { return false; }
  // One line for the start of a tune: "local, GPUs 0,1", "ssh: 2 nodes up".
  virtual std::string Describe() const = 0;
};

// Settings an executor may take from the command line and the tuning spec's
// `resources`, beside its own `executor:` block.
struct ExecutorOptions {
  std::vector<std::string> gpus;  // declared GPU ids (local); empty: detect
  int gpus_per_job = 0;           // 0: CPU-only jobs
  int jobs_per_gpu = 1;
  std::string base_dir;           // relative paths in the config resolve here
};

// Jobs on this machine: child processes in their own process groups, GPUs
// handed out by GpuSlots (declared, or detected with nvidia-smi when
// gpus_per_job > 0; an error when none is found).
Result<std::unique_ptr<Executor>> MakeLocalExecutor(const ExecutorOptions& options);

}  // namespace orchard::exec
