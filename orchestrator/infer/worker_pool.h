// WorkerPool: runs the unfinished shards of a planned `orchard infer` job on
// `orchard-train infer` workers (docs/inference.md, "The worker") and
// follows them until every shard is done, has failed for good, or the user
// stopped the job.
//
// Each worker slot (a GPU, or a share of the CPU cores) gets a round-robin
// share of the shards in one --shards file, so it loads the model once. A
// worker runs in its own process group with its stdout and stderr in the work
// folder; its `@orchard` progress lines and the shards' .out files feed the
// progress line. When a worker exits, each of its shards is checked (one
// record per input); a short .out is removed, and the unfinished shards go to
// a new worker on the same slot until they have had 1 + retries attempts (not
// after exit code 2, a refused flag or bundle). A stop request sends SIGTERM
// to every worker (a second one SIGKILL) and waits for them. Workers run
// through an executor (docs/executors.md): room for each is acquired when it
// starts and released when it exits; a worker lost with its node has its
// unfinished shards started again elsewhere without spending a retry.
// Not thread-safe; the driver's thread owns it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "flags/status.h"
#include "orchestrator/exec/executor.h"
#include "orchestrator/exec/stop_signal.h"
#include "orchestrator/infer/job.h"
#include "orchestrator/infer/progress.h"
#include "orchestrator/infer/records.h"

namespace orchard::infer {

struct PoolConfig {
  std::string worker_exe;             // absolute
  std::string work;                   // the work folder, absolute
  std::string bundle;                 // the bundle folder, absolute
  std::string root;                   // the workers' --root
  std::string cwd;                    // the workers' working folder
  OutFormat format = OutFormat::kJsonl;
  int top_k = 5;
  bool features = false;
  int batch = 32;
  int threads = 1;                    // per worker
  std::vector<std::string> gpu_ids;   // local GPUs, one per worker; empty: CPU workers
  int slots = 1;                      // workers at once
  // Where workers run (not owned). Null: this machine, over gpu_ids.
  exec::Executor* executor = nullptr;
  // With an executor that assigns GPUs itself (Slurm; gpu_ids empty): the
  // GPUs each worker asks for (0: CPU workers).
  int gpus_per_worker = 0;
  int retries = 1;
  double poll_s = 0.2;
};

struct PoolOutcome {
  bool stopped = false;
  std::vector<int> failed_shards;     // failed after their attempts
  std::vector<std::string> failures;  // one paragraph per worker that gave up
  int retried = 0;                    // workers started again
};

class WorkerPool {
 public:
  // done[i]: whether shard i is done; updated as workers finish shards.
  WorkerPool(PoolConfig config, const std::vector<ShardRange>& shards, std::vector<bool>& done,
             InferProgress& progress, exec::StopRequests* stop);
  ~WorkerPool();

  // Runs the pending shards; returns when no worker is left. An error is
  // returned only when a first worker cannot be started.
  Result<PoolOutcome> Run(const std::vector<int>& pending);

 private:
  struct Worker;
  struct Launch {
    int slot = 0, attempt = 1;
    std::vector<int> ids;
  };
  Status Start(int slot, int attempt, std::vector<int> ids);
  // Starts workers together: the executor may submit them as one (a Slurm
  // job array). All start, or none does.
  Status StartAll(std::vector<Launch> launches);
  // For nodes without our files (ssh): what the worker needs shipped and
  // what comes back.
  void ShipInputs(const Worker& w, const std::string& shards_file, exec::JobSpec& spec) const;
  void ReadOutput(Worker& w);
  void OnExit(Worker& w, const exec::ExitInfo& exit);
  InferCounts Counts(double now) const;
  std::string OutPath(int id) const;
  std::string ListPath(int id) const;

  PoolConfig cfg_;
  std::unique_ptr<exec::Executor> own_executor_;
  exec::Executor* executor_ = nullptr;
  const std::vector<ShardRange>& shards_;
  std::vector<bool>& done_;
  InferProgress& progress_;
  exec::StopRequests* stop_;
  std::vector<int> attempts_;
  std::vector<bool> seen_;  // .out appeared (verified when its worker exits)
  std::vector<std::unique_ptr<Worker>> workers_;
  int64_t total_ = 0, done_at_start_ = 0;
  double t_start_ = 0;
  bool stopping_ = false;
  PoolOutcome outcome_;
};

// "shard-0001, shard-0003".
std::string ShardNames(const std::vector<int>& ids);

}  // namespace orchard::infer
