// Opening a tuning session: a new one, or an unfinished one to resume.
//
// A session is locked by an exclusive flock on <home>/tunes/<id>.lock while
// an orchestrator drives it; the kernel drops the lock when that process
// dies, however it dies, so a free lock on a "running" session means its
// orchestrator is gone and the session can be resumed.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "orchestrator/search/trial.h"
#include "orchestrator/store/home.h"
#include "orchestrator/store/sqlite_run_store.h"
#include "orchestrator/tune/tune_runner.h"

namespace orchard::tune {

class TuneLock {
 public:
  // Fails with AlreadyExists when another process holds it.
  static Result<std::unique_ptr<TuneLock>> Acquire(const std::string& path);
  ~TuneLock();

 private:
  explicit TuneLock(int fd) : fd_(fd) {}
  int fd_;
};

// A trial to run: a new one or one re-queued with its recorded flags.
struct PendingTrial {
  int64_t number = 0;
  int64_t attempt = 1;
  nlohmann::json params;  // the search dimensions' values
};

struct Session {
  store::Tune tune;
  bool resumed = false;
  std::unique_ptr<TuneLock> lock;
  std::vector<search::TrialRecord> finished;  // trials that ended for good
  std::map<int64_t, std::string> run_of_trial;  // latest run per trial
  std::vector<PendingTrial> requeue;           // interrupted or retryable
  int64_t next_number = 0;
  int interrupted = 0;                         // stale runs found and closed
};

// Opens the session the options ask for. `spec_json` is the canonical spec.
Result<Session> OpenSession(store::SqliteRunStore& store, const store::Home& home,
                            const TuneOptions& options, const nlohmann::json& spec_json);

// The values of `spec`'s search dimensions among a run's flags.
nlohmann::json SearchParams(const flags::TuneSpec& spec, const nlohmann::json& flags);

}  // namespace orchard::tune
