// TuneRunner: one tuning session (`orchard tune`) from spec to best trial.
//
// Asks the sampler for trials, runs up to `concurrency` of them at once
// through RunLauncher (each on its own thread, its own store connection and
// its own room from the executor: GPUs, a node, a place in Slurm), prunes them through the TrialBook's pruner by
// SIGTERM, retries failed ones, and records the session as a Tune.
//
// Crash safety: the session holds an exclusive lock file while it runs
// (released by the kernel even after kill -9). Running the same spec again,
// or --resume, continues an unfinished session: trials that ended are never
// run again; trials whose orchestrator died are recorded as interrupted and
// re-queued with the same flags as a new attempt. Ctrl-C stops every trial
// gracefully and leaves the session resumable.
#pragma once

#include <ostream>
#include <string>

#include "flags/tune_spec.h"
#include "orchestrator/exec/executor.h"
#include "orchestrator/exec/stop_signal.h"
#include "orchestrator/search/trial.h"
#include "orchestrator/store/home.h"
#include "orchestrator/store/types.h"

namespace orchard::tune {

struct TuneOptions {
  flags::TuneSpec spec;
  std::string cwd;            // where trainers run and code is snapshotted
  bool force_new = false;     // never resume: start a new session
  std::string resume_ref;     // resume this tune (id prefix or name)
  bool resume_required = false;  // --resume: fail when there is nothing to resume
  bool echo = false;          // copy trainers' output to ours
  // Where trials run (not owned). Null: this machine, with the GPUs of
  // spec.resources (declared or detected).
  exec::Executor* executor = nullptr;
};

struct TuneResult {
  store::Tune tune;
  bool resumed = false;
  int completed = 0, pruned = 0, failed = 0, cancelled = 0, retried = 0;
  int lost = 0;  // attempts re-queued because their node was lost
  std::string best_run_id;
  std::optional<search::TrialRecord> best;
};

class TuneRunner {
 public:
  // Progress goes to `out`: a live status line when tty, plain lines otherwise.
  TuneRunner(const store::Home& home, TuneOptions options, std::ostream& out, bool tty);
  Result<TuneResult> Run(exec::StopRequests* stop);

 private:
  const store::Home& home_;
  TuneOptions opt_;
  std::ostream& out_;
  bool tty_;
};

}  // namespace orchard::tune
