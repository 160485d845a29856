#include "orchestrator/store/store_writer.h"

namespace orchard::store {

StoreWriter::StoreWriter(std::unique_ptr<SqliteRunStore> store)
    : store_(std::move(store)), thread_([this] { Loop(); }) {}

StoreWriter::~StoreWriter() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void StoreWriter::Enqueue(Item item) {
  std::lock_guard<std::mutex> lock(mu_);
  queued_weight_ += item.weight();
  queue_.push_back(std::move(item));
  ++enqueued_;
  if (queued_weight_ >= kMaxBatch) wake_.notify_one();
}

void StoreWriter::AppendMetrics(const std::string& run_id, std::vector<MetricPoint> points) {
  if (points.empty()) return;
  Item item;
  item.kind = Item::Kind::kMetrics;
  item.run_id = run_id;
  item.points = std::move(points);
  Enqueue(std::move(item));
}

void StoreWriter::AppendLog(const std::string& run_id, const std::string& stream, double time,
                            std::string text) {
  if (text.empty()) return;
  Item item;
  item.kind = Item::Kind::kLog;
  item.run_id = run_id;
  item.stream = stream;
  item.time = time;
  item.text = std::move(text);
  Enqueue(std::move(item));
}

void StoreWriter::RecordOffset(const std::string& run_id, const std::string& stream,
                               int64_t offset) {
  Item item;
  item.kind = Item::Kind::kOffset;
  item.run_id = run_id;
  item.stream = stream;
  item.offset = offset;
  Enqueue(std::move(item));
}

Status StoreWriter::Flush() {
  std::unique_lock<std::mutex> lock(mu_);
  uint64_t target = enqueued_;
  flush_now_ = true;
  wake_.notify_one();
  flushed_.wait(lock, [&] { return done_ >= target || !error_.ok(); });
  return error_;
}

int64_t StoreWriter::committed_points() const {
  std::lock_guard<std::mutex> lock(mu_);
  return committed_points_;
}

Status StoreWriter::Commit(std::deque<Item>& batch) {
  auto tx = store_->Begin();
  ORCHARD_RETURN_IF_ERROR(tx->begin_status());
  for (auto& item : batch) {
    Status s;
    switch (item.kind) {
      case Item::Kind::kMetrics: s = store_->AppendMetrics(item.run_id, item.points); break;
      case Item::Kind::kLog:
        s = store_->AppendLog(item.run_id, item.stream, item.time, item.text);
        break;
      case Item::Kind::kOffset:
        s = store_->SetIngestOffset(item.run_id, item.stream, item.offset);
        break;
    }
    ORCHARD_RETURN_IF_ERROR(s);
  }
  return tx->Commit();
}

void StoreWriter::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    wake_.wait_for(lock, kFlushInterval, [&] {
      return stop_ || flush_now_ || queued_weight_ >= kMaxBatch;
    });
    flush_now_ = false;
    if (queue_.empty()) {
      flushed_.notify_all();
      if (stop_) return;
      continue;
    }
    std::deque<Item> batch;
    batch.swap(queue_);
    size_t weight = queued_weight_;
    queued_weight_ = 0;
    lock.unlock();

    // Merge consecutive log chunks of one run and stream: one row per batch
    // rather than one per read() keeps the logs table small.
    std::deque<Item> merged;
    int64_t points = 0;
    for (auto& item : batch) {
      points += static_cast<int64_t>(item.points.size());
      if (item.kind == Item::Kind::kLog && !merged.empty() &&
          merged.back().kind == Item::Kind::kLog && merged.back().run_id == item.run_id &&
          merged.back().stream == item.stream) {
        merged.back().text += item.text;
        continue;
      }
      merged.push_back(std::move(item));
    }
    Status s;
    for (int attempt = 0; attempt < 3; ++attempt) {
      s = Commit(merged);
      if (s.ok()) break;
    }

    lock.lock();
    if (s.ok()) {
      done_ += batch.size();
      committed_points_ += points;
    } else {
      // Keep the items: a later Flush() reports the error, nothing is lost
      // from memory while the process lives.
      error_ = s;
      for (auto it = merged.rbegin(); it != merged.rend(); ++it) queue_.push_front(std::move(*it));
      queued_weight_ += weight;
    }
    flushed_.notify_all();
    if (stop_ && (queue_.empty() || !error_.ok())) return;
  }
}

}  // namespace orchard::store
