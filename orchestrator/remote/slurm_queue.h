// SlurmCli runs Slurm's commands; SlurmQueue is the one place that asks
// Slurm about job states, so that however many jobs poll, squeue runs at
// most once per poll interval for the whole executor (no polling storms).
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "flags/status.h"
#include "orchestrator/remote/slurm_parse.h"

namespace orchard::remote {

struct SlurmCliResult {
  int exit_code = -1;  // -1: killed (timeout) or by a signal
  std::string out;     // stdout and stderr together
};

// Runs one Slurm command (argv[0] a path or a name on PATH) to its end,
// bounded by timeout_s. The seam for tests; implementations are thread-safe.
using SlurmCli =
    std::function<Result<SlurmCliResult>(const std::vector<std::string>& argv, double timeout_s)>;

// The real one: the command with stdin from /dev/null and stderr merged into
// stdout (Slurm's messages say what went wrong).
Result<SlurmCliResult> RunSlurmCommand(const std::vector<std::string>& argv, double timeout_s);

// "sbatch: error: ..." -> the message, trimmed and on one line, for errors.
std::string OneLine(const std::string& text, size_t max = 400);

// A shared, rate-limited view of the states of the jobs being watched.
// Thread-safe: trial threads poll it at once; one of them runs squeue while
// the others read the last answer.
class SlurmQueue {
 public:
  // `squeue`, `sacct`: the commands (paths or names). `poll_s`: the least
  // time between two squeue runs; 1 s when someone waits for a final state.
  SlurmQueue(SlurmCli cli, std::string squeue, std::string sacct, double poll_s,
             std::function<double()> clock);

  // Jobs (an array counts once, by its id) whose states squeue should report.
  void Watch(const std::string& job_id);
  void Unwatch(const std::string& job_id);

  // The state of `id` ("118" or "118_3") from a squeue run that started at or
  // after `since`, running squeue for every watched job when one is due;
  // nullopt when there is no such answer yet. An empty state: squeue ran
  // after `since` and no longer lists the job (Slurm forgot it).
  // `urgent`: a job has ended and waits for its final state.
  std::optional<SlurmJobState> State(const std::string& id, double since, bool urgent);

  // One sacct query for a job Slurm's controller no longer lists (with
  // accounting off this fails: nullopt).
  std::optional<SlurmJobState> Accounting(const std::string& id);

  int squeue_runs() const;

 private:
  void Refresh();

  const SlurmCli cli_;
  const std::string squeue_, sacct_;
  const double poll_s_;
  const std::function<double()> clock_;
  mutable std::mutex mu_;
  std::map<std::string, int> watched_;  // job id -> watchers
  std::map<std::string, SlurmJobState> states_;
  double answered_at_ = -1;  // when the last squeue that answered started
  double tried_at_ = -1e9;   // when the last squeue started
  bool running_ = false;
  int runs_ = 0;
};

}  // namespace orchard::remote
