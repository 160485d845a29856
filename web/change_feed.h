/// Live changes in the store, for the server-sent events of /api/events.
///
/// One ChangeFeed per server polls the store on its own read-only
/// connection every `interval` (cheap queries: runs past the highest seq
/// seen, the statuses of the runs that were queued or running, metric rows
/// past the highest rowid seen, the newest log chunk of active runs, the
/// tunes) and appends what changed to a bounded buffer of numbered events:
///
///   run      {id, name, status, tune, created}      a new run
///   status   {id, status, exit_code, finished}      a run changed state
///   deleted  {id}                                    a run went away
///   metrics  {run, points, last_step}               new metric points
///   logs     {run, seq}                             new log chunks
///   tune     {id, name, status, best_run}           a new or changed tune
///
/// However many pages listen, the store is polled once per interval. A
/// listener asks for the events after the last id it saw (the SSE
/// Last-Event-ID); one older than the buffer gets a reset instead.
/// Thread-safe; Poll() is also callable directly (tests).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "flags/status.h"
#include "orchestrator/store/sqlite.h"

namespace orchard::web {

struct FeedEvent {
  int64_t id = 0;
  std::string type;
  nlohmann::json data;
};

class ChangeFeed {
 public:
  // Opens the store read-only and records where it stands (no events for
  // what is already there).
  static Result<std::unique_ptr<ChangeFeed>> Open(const std::string& db_path,
                                                  std::chrono::milliseconds interval,
                                                  size_t capacity = 4096);
  ~ChangeFeed();

  // Starts / stops the polling thread. Stop() also wakes every waiter.
  void Start();
  void Stop();
  bool stopped() const;

  // One poll: appends the changes since the last one.
  Status Poll();

  // The id of the newest event (0 before any).
  int64_t last_id() const;

  // Waits up to `timeout` for events after `after` and returns them (at most
  // `max`). *reset is set when `after` is older than the oldest event kept.
  std::vector<FeedEvent> Wait(int64_t after, std::chrono::milliseconds timeout, size_t max,
                              bool* reset);

 private:
  ChangeFeed(store::Db db, std::chrono::milliseconds interval, size_t capacity)
      : db_(std::move(db)), interval_(interval), capacity_(capacity) {}
  Status Prime();
  void Emit(std::vector<FeedEvent>& out, const std::string& type, nlohmann::json data);
  Status Collect(std::vector<FeedEvent>& out);

  store::Db db_;  // used by the polling thread (or the test) only
  const std::chrono::milliseconds interval_;
  const size_t capacity_;
  int64_t last_seq_ = 0;
  int64_t last_metric_rowid_ = 0;
  std::map<std::string, std::string> active_;  // run id -> queued | running
  std::map<std::string, int64_t> log_seq_;     // active run -> newest log seq seen
  std::map<std::string, std::string> tunes_;   // tune id -> "status|best_run"
  bool primed_ = false;
  std::mutex poll_mu_;                         // one Poll at a time

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<FeedEvent> events_;
  int64_t next_id_ = 1;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace orchard::web
