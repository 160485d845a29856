// The Slurm executor (docs/executors.md, "Slurm"): each job is a Slurm job
// that Slurm places, with the GPUs Slurm assigns.
//
// Start runs `srun` as a local child process whose stdout and stderr are the
// job's journals: srun streams the task's output back as it is printed and
// ends with its exit code, so nothing polls for a trial's end. A wrapper
// prints one line on stderr when the task starts (job id, node,
// CUDA_VISIBLE_DEVICES as the task saw it: Job::Gpus()); until then the job
// is Queued(). StartMany submits like jobs as one `sbatch --array` whose
// tasks append to the jobs' journals themselves (a shared filesystem).
// Job states (for arrays, and for how a job ended when srun's code is not
// enough: NODE_FAIL, PREEMPTED, BOOT_FAIL -> ExitInfo::lost; TIMEOUT,
// OUT_OF_MEMORY, an outside scancel -> ExitInfo::detail) come from one
// rate-limited squeue shared by every job of the executor.
//
// Assumes the submit host and the nodes share a filesystem: the job's folder,
// the run folder, the journals of array tasks and the trainer executable are
// reached by the same paths. Thread-safe as Executor requires.
#pragma once

#include <memory>

#include <nlohmann/json.hpp>

#include "flags/status.h"
#include "orchestrator/exec/executor.h"
#include "orchestrator/remote/slurm_config.h"
#include "orchestrator/remote/slurm_queue.h"

namespace orchard::remote {

// `config`: the object under `slurm:` (null: defaults). Checks the settings
// and that Slurm answers (`sinfo` for the partition) so that a wrong
// partition or an unreachable controller fails before any run is recorded.
Result<std::unique_ptr<exec::Executor>> MakeSlurmExecutor(const nlohmann::json& config,
                                                          const exec::ExecutorOptions& options);

// For tests: no check against a live cluster; commands through `cli`.
std::unique_ptr<exec::Executor> NewSlurmExecutor(SlurmConfig config, SlurmCli cli,
                                                 std::string description);

}  // namespace orchard::remote
