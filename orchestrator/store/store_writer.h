// StoreWriter: the one writer thread of an orchestrator process.
//
// Producers (the threads reading trainer output) enqueue metric points and
// log text without waiting on SQLite; the writer thread drains the queue into
// one short transaction per batch (every kFlushInterval or kMaxBatch items,
// whichever comes first) on its own connection. Flush() blocks until
// everything enqueued before it is committed. Thread-safe.
//
// A failed batch is retried (a busy database is waited out by SQLite's busy
// timeout); if it still fails, the error is kept and reported by Flush() and
// the items stay queued so nothing is silently dropped.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "orchestrator/store/sqlite_run_store.h"

namespace orchard::store {

class StoreWriter {
 public:
  static constexpr std::chrono::milliseconds kFlushInterval{50};
  static constexpr size_t kMaxBatch = 20000;

  // Takes ownership of a store connection used only by the writer thread.
  explicit StoreWriter(std::unique_ptr<SqliteRunStore> store);
  ~StoreWriter();  // flushes and joins
  StoreWriter(const StoreWriter&) = delete;
  StoreWriter& operator=(const StoreWriter&) = delete;

  void AppendMetrics(const std::string& run_id, std::vector<MetricPoint> points);
  void AppendLog(const std::string& run_id, const std::string& stream, double time,
                 std::string text);
  // The journal of `stream` is ingested up to `offset` once everything
  // enqueued before this call is committed (same or later transaction).
  void RecordOffset(const std::string& run_id, const std::string& stream, int64_t offset);
  // Waits until everything enqueued so far is committed.
  Status Flush();
  // Items committed so far (for progress and tests).
  int64_t committed_points() const;

 private:
  struct Item {
    enum class Kind { kMetrics, kLog, kOffset } kind = Kind::kLog;
    std::string run_id;
    std::vector<MetricPoint> points;  // kMetrics
    std::string stream;               // kLog, kOffset
    double time = 0;
    std::string text;                 // kLog
    int64_t offset = 0;               // kOffset
    size_t weight() const { return points.empty() ? 1 : points.size(); }
  };
  void Enqueue(Item item);

  void Loop();
  Status Commit(std::deque<Item>& batch);

  std::unique_ptr<SqliteRunStore> store_;
  mutable std::mutex mu_;
  std::condition_variable wake_;      // producers -> writer
  std::condition_variable flushed_;   // writer -> Flush()
  std::deque<Item> queue_;
  size_t queued_weight_ = 0;
  uint64_t enqueued_ = 0;             // items ever enqueued
  uint64_t done_ = 0;                 // items ever committed
  int64_t committed_points_ = 0;
  bool stop_ = false;
  bool flush_now_ = false;
  Status error_;
  std::thread thread_;
};

}  // namespace orchard::store
