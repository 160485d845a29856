// RunLauncher: one training run from start to recorded end (`orchard run`).
//
// Creates the run record and its folder, records code and environment,
// starts the trainer under the trainer protocol (docs/protocol.md): flags as
// --name=value, ORCHARD_RUN_ID / ORCHARD_RUN_DIR / ORCHARD_SEED in the
// environment), streams both output pipes into the store as they arrive,
// stops the trainer gracefully on a stop request (SIGTERM to its process
// group, SIGKILL after a grace period), and records the outcome: completed,
// failed (exit code and stderr tail) or cancelled, then indexes artifacts.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "orchestrator/exec/child_process.h"
#include "orchestrator/exec/executor.h"
#include "orchestrator/exec/stop_signal.h"
#include "orchestrator/store/home.h"
#include "orchestrator/store/sqlite_run_store.h"
#include "orchestrator/store/store_writer.h"

namespace orchard::exec {

struct RunRequest {
  std::vector<std::string> command;                  // the trainer's argv
  nlohmann::json flags = nlohmann::json::object();   // passed as --name=value
  std::string name;
  std::vector<std::string> tags;
  std::string notes;
  std::string tune_id;
  std::optional<int64_t> seed;                       // drawn when absent
  std::optional<std::string> cuda_visible_devices;   // unset: inherited
  // Where the trainer runs: room the caller reserved with executor->Acquire.
  // Null: a child process on this machine.
  Executor* executor = nullptr;
  Placement placement;
  std::string cwd;                                   // where the trainer runs
  std::string source_dir;                            // snapshot root hint ("" = cwd)
  bool snapshot = true;
  bool echo = true;                                  // copy trainer output to ours
  double grace_seconds = 10;                         // SIGTERM -> SIGKILL
  double timeout_s = 0;                              // 0: none; else failed when exceeded
  std::optional<int64_t> trial;                      // tuning trial number
  int64_t attempt = 1;
};

struct RunOutcome {
  std::string run_id;
  store::RunStatus status = store::RunStatus::kFailed;
  ExitInfo exit;
  int64_t points = 0;
  int64_t malformed = 0;
  std::string error;
};

class RunLauncher {
 public:
  // `store` is this thread's connection; `writer` batches output records.
  RunLauncher(const store::Home& home, store::SqliteRunStore& store, store::StoreWriter& writer);

  // Called with the run id as soon as the record exists (for messages).
  std::function<void(const std::string& run_id)> on_created;
  // Called on the launching thread with each batch of metric points as it
  // arrives (the tuner's early stopping watches these).
  std::function<void(const std::vector<store::MetricPoint>&)> on_metrics;
  // Called when the job enters (true) or leaves (false) a scheduler's queue.
  std::function<void(bool queued)> on_queued;

  // Runs the request to its end. `stop` may be null (nothing can stop it
  // early but its own end or the timeout).
  // Returns an error only when the run could not be recorded at all; a
  // trainer that fails or cannot start is a recorded failed run.
  Result<RunOutcome> Launch(const RunRequest& request, StopRequests* stop);

  // Launch in two steps, for a caller that must have the run on record
  // before it starts (the tuner: a crash between the two leaves a queued
  // run that resuming re-queues). Prepare creates the record (status
  // queued) and its folder; Start runs it as Launch does.
  Result<store::Run> Prepare(const RunRequest& request);
  Result<RunOutcome> Start(const store::Run& run, const RunRequest& request,
                           StopRequests* stop);

 private:
  // Records git state and the code snapshot; returns the snapshot id ("" none).
  Result<std::string> RecordCode(const std::string& run_id, const RunRequest& request);
  void IndexArtifacts(const std::string& run_id, const std::string& run_dir);

  const store::Home& home_;
  store::SqliteRunStore& store_;
  store::StoreWriter& writer_;
};

// The argv a trainer receives: command followed by --name=value per flag.
std::vector<std::string> TrainerArgv(const std::vector<std::string>& command,
                                     const nlohmann::json& flags);

}  // namespace orchard::exec

namespace orchard::exec {

// Ingests what a run's trainer wrote to its journals beyond the offsets the
// store has committed: after the orchestrator died, nothing the trainer
// printed (before or after) is lost. Returns the number of metric points
// recovered. The trainer must have stopped (its files no longer grow).
Result<int64_t> RecoverOutput(const store::Home& home, store::SqliteRunStore& store,
                              const std::string& run_id);

}  // namespace orchard::exec
