// SlurmConfig: the settings of `executor: {slurm: {...}}` (docs/executors.md,
// "Slurm"), checked once when the executor is made, and the srun / sbatch
// options they turn into. Pure; thread-safe.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "flags/status.h"

namespace orchard::remote {

struct SlurmConfig {
  std::string partition;           // --partition; "": the cluster's default
  std::string account, qos;        // --account, --qos
  std::string time;                // --time, a Slurm duration ("90", "1:30:00", "2-00")
  std::string constraint;          // --constraint (node features)
  std::string mem;                 // --mem per node ("16G")
  std::string gpu_type;            // --gres=gpu:TYPE:K ("a100"); "": any
  int cpus_per_task = 0;           // 0: two per GPU, one for a CPU-only job
  int max_jobs = 0;                // jobs of ours at once (running or queued); 0: no cap
  std::vector<std::string> extra;  // further srun / sbatch options, passed as given
  double poll_s = 5;               // squeue runs at most this often for the whole executor
  std::string bin;                 // the folder of srun, sbatch, squeue, scancel; "": PATH
};

// Checks `config` (an object, or null for the defaults). Errors name the
// key, what was wrong and what is accepted: "executor.slurm.time: ...".
Result<SlurmConfig> ParseSlurmConfig(const nlohmann::json& config);

// The options srun and sbatch share for one task with `gpus` GPUs (0: none):
// nodes, tasks, CPUs, GRES, partition, account, qos, time, constraint, mem,
// then `extra`.
std::vector<std::string> ResourceOptions(const SlurmConfig& config, int gpus);

}  // namespace orchard::remote
