// What Orchard reads from Slurm and writes for it, as pure functions: the
// lines srun and Orchard's job wrapper print on a job's stderr, squeue and
// sacct output, how a job's final state becomes an ExitInfo, and the shell
// text of the job wrapper and of a job array's batch script. Thread-safe.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "orchestrator/exec/child_process.h"
#include "orchestrator/exec/executor.h"

namespace orchard::remote {

// One stderr line of a Slurm job, as far as Orchard cares.
struct SlurmLine {
  enum class Kind {
    kOther,
    kQueued,      // srun: job N queued and waiting for resources
    kAllocated,   // srun: job N has been allocated resources
    kStarted,     // our wrapper: the task started (job, node, gpus)
    kExit,        // our array wrapper: the task's command ended (code)
    kNodeFailure, // srun or slurmstepd: the node failed
    kTimeLimit,   // slurmstepd: cancelled at the time limit
    kPreempted,   // slurmstepd: cancelled by preemption
    kCancelled,   // slurmstepd: cancelled (scancel)
    kOutOfMemory, // slurmstepd: an oom-kill or the memory limit
  };
  Kind kind = Kind::kOther;
  std::string job;   // "118", "118_3" (arrays)
  std::string jobid; // an array task's own job id ("121"), from our wrapper
  std::string node;
  std::string gpus;  // CUDA_VISIBLE_DEVICES as the task saw it ("" none)
  int code = 0;      // kExit
};
SlurmLine ParseSlurmLine(std::string_view line);

// What squeue or sacct says of one job or array task.
struct SlurmJobState {
  std::string id;      // "118" or "118_3"
  std::string state;   // COMPLETED, RUNNING, NODE_FAIL, ... ("CANCELLED by 0" -> CANCELLED)
  std::string reason;  // squeue's reason ("Resources", "NodeDown"), "" from sacct
  std::optional<int> exit_code;  // 128 + signal when killed by one; nullopt unknown
};

// The columns of squeue's output that Orchard asks for, and their reader
// (`squeue -h -r --states=all -O <kSqueueFormat>`): one job per line,
// "ID|STATE|REASON|WAITSTATUS|". Lines of another shape are skipped.
extern const char* const kSqueueFormat;
std::vector<SlurmJobState> ParseSqueue(std::string_view out);
// `sacct -n -P -X -o JobID,State,ExitCode` ("118_3|CANCELLED by 0|0:15").
std::vector<SlurmJobState> ParseSacct(std::string_view out);
// `sbatch --parsable` prints "ID" or "ID;CLUSTER"; nullopt when not that.
std::optional<std::string> ParseSbatchId(std::string_view out);

// `sinfo -h -o '%P|%a|%D|%G'` -> "slurm partition gpu, 12 nodes, gres gpu:8" for
// `partition`, or for sinfo's default (marked '*') when it is ""; nullopt
// when there is no such partition.
extern const char* const kSinfoFormat;
std::optional<std::string> DescribePartition(std::string_view sinfo, const std::string& partition);

// Whether a job in `state` has ended (COMPLETED, FAILED, CANCELLED, TIMEOUT,
// NODE_FAIL, PREEMPTED, BOOT_FAIL, OUT_OF_MEMORY, DEADLINE, ...).
bool IsFinalState(const std::string& state);

// How a job that ended in `s` is reported. `code` is what srun or the
// wrapper returned (nullopt: unknown, then s.exit_code). NODE_FAIL,
// PREEMPTED and BOOT_FAIL set `lost` (the work is re-queued); TIMEOUT,
// OUT_OF_MEMORY, DEADLINE and a CANCELLED not asked for by Orchard set
// `detail` with the reason.
exec::ExitInfo ExitFromState(const SlurmJobState& s, std::optional<int> code);
// The same from the stderr lines alone, when Slurm no longer knows the job.
exec::ExitInfo ExitFromHint(SlurmLine::Kind hint, const std::string& job, int code);


// The `sh -c` text srun runs before the trainer: prints the kStarted line on
// stderr, then execs "$@" (signals reach the trainer itself).
extern const char* const kSrunWrapper;

// The batch script of a job array: task i runs specs[i] — its folder,
// environment, argv, stdout and stderr (appended) — prints kStarted, runs
// the command, waits for it through signals (Slurm signals every process of
// the task) and prints kExit with its code. `cpu_only`: no GPUs requested, so
// CUDA_VISIBLE_DEVICES is set empty (nothing leaks from the submit host).
std::string ArrayScript(const std::vector<exec::JobSpec>& specs, bool cpu_only);

}  // namespace orchard::remote
