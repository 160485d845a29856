#include "web/change_feed.h"

namespace orchard::web {

namespace {

// At most this many metric rows are looked at per poll, so one poll stays
// short however fast trainers write; the rest are picked up next time.
constexpr int64_t kMetricRowsPerPoll = 200000;
constexpr int64_t kRunsPerPoll = 1000;

nlohmann::json OrNull(const std::string& s) { return s.empty() ? nlohmann::json() : nlohmann::json(s); }

}  // namespace

Result<std::unique_ptr<ChangeFeed>> ChangeFeed::Open(const std::string& db_path,
                                                     std::chrono::milliseconds interval,
                                                     size_t capacity) {
  auto db = store::Db::Open(db_path, store::Db::Mode::kReadOnly);
  if (!db.ok()) return db.status();
  std::unique_ptr<ChangeFeed> feed(new ChangeFeed(std::move(db).value(), interval, capacity));
  ORCHARD_RETURN_IF_ERROR(feed->Prime());
  return feed;
}

ChangeFeed::~ChangeFeed() { Stop(); }

void ChangeFeed::Start() {
  if (thread_.joinable()) return;
  thread_ = std::thread([this] {
    std::unique_lock<std::mutex> lock(mu_);
    while (!stop_) {
      lock.unlock();
      Poll();  // an error (a locked or moved store) is retried next time
      lock.lock();
      cv_.wait_for(lock, interval_, [this] { return stop_; });
    }
  });
}

void ChangeFeed::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool ChangeFeed::stopped() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stop_;
}

int64_t ChangeFeed::last_id() const {
  std::lock_guard<std::mutex> lock(mu_);
  return next_id_ - 1;
}

Status ChangeFeed::Prime() {
  std::vector<FeedEvent> ignored;
  ORCHARD_RETURN_IF_ERROR(Collect(ignored));
  primed_ = true;
  return Status::Ok();
}

void ChangeFeed::Emit(std::vector<FeedEvent>& out, const std::string& type, nlohmann::json data) {
  out.push_back({0, type, std::move(data)});
}

Status ChangeFeed::Collect(std::vector<FeedEvent>& out) {
  // One read transaction, so the queries agree with each other.
  ORCHARD_RETURN_IF_ERROR(db_.Exec("BEGIN"));
  struct End {
    store::Db& db;
    ~End() { db.Exec("COMMIT"); }
  } end{db_};

  // New runs.
  {
    auto st = db_.Prepare(
        "SELECT id, seq, name, status, tune_id, created_at FROM runs WHERE seq > ? "
        "ORDER BY seq LIMIT ?");
    if (!st.ok()) return st.status();
    st->Bind(1, last_seq_).Bind(2, kRunsPerPoll);
    while (st->Step()) {
      std::string id = st->Text(0), status = st->Text(3);
      last_seq_ = st->Int(1);
      Emit(out, "run", {{"id", id}, {"name", OrNull(st->Text(2))}, {"status", status},
                        {"tune", OrNull(st->Text(4))}, {"created", st->Double(5)}});
      if (status == "queued" || status == "running") active_[id] = status;
    }
    ORCHARD_RETURN_IF_ERROR(st->status());
  }
  // Runs that were active: did they change?
  {
    auto now_active = db_.Prepare(
        "SELECT id, status FROM runs WHERE status IN ('queued', 'running') AND seq <= ?");
    if (!now_active.ok()) return now_active.status();
    now_active->Bind(1, last_seq_);
    std::map<std::string, std::string> fresh;
    while (now_active->Step()) fresh[now_active->Text(0)] = now_active->Text(1);
    ORCHARD_RETURN_IF_ERROR(now_active->status());
    auto one = db_.Prepare("SELECT status, exit_code, finished_at FROM runs WHERE id = ?");
    if (!one.ok()) return one.status();
    for (const auto& [id, old] : active_) {
      auto it = fresh.find(id);
      if (it != fresh.end() && it->second == old) continue;
      one->Reset();
      one->Bind(1, id);
      if (one->Step()) {
        Emit(out, "status", {{"id", id}, {"status", one->Text(0)},
                             {"exit_code", one->IsNull(1) ? nlohmann::json() : nlohmann::json(one->Int(1))},
                             {"finished", one->IsNull(2) ? nlohmann::json() : nlohmann::json(one->Double(2))}});
      } else {
        ORCHARD_RETURN_IF_ERROR(one->status());
        Emit(out, "deleted", {{"id", id}});
      }
    }
    for (const auto& [id, status] : fresh) {
      if (!active_.count(id)) {  // re-queued
        Emit(out, "status", {{"id", id}, {"status", status}, {"exit_code", nullptr},
                             {"finished", nullptr}});
      }
    }
    // Logs of the runs active before or now (a finished run's last lines too).
    std::set<std::string> watch;
    for (const auto& [id, s] : active_) watch.insert(id);
    for (const auto& [id, s] : fresh) watch.insert(id);
    auto logs = db_.Prepare("SELECT max(seq) FROM logs WHERE run_id = ?");
    if (!logs.ok()) return logs.status();
    std::map<std::string, int64_t> seqs;
    for (const auto& id : watch) {
      logs->Reset();
      logs->Bind(1, id);
      if (logs->Step() && !logs->IsNull(0)) {
        int64_t seq = logs->Int(0);
        auto it = log_seq_.find(id);
        if (it != log_seq_.end() && seq > it->second) {
          Emit(out, "logs", {{"run", id}, {"seq", seq}});
        } else if (it == log_seq_.end() && primed_) {  // its first chunks
          Emit(out, "logs", {{"run", id}, {"seq", seq}});
        }
        if (fresh.count(id)) seqs[id] = seq;
      }
    }
    active_ = std::move(fresh);
    log_seq_ = std::move(seqs);
  }
  // New metric points, per run.
  {
    auto st = db_.Prepare(
        "SELECT run_id, count(*), max(rowid), max(step) FROM metrics "
        "WHERE rowid > ?1 AND rowid <= ?1 + ?2 GROUP BY run_id ORDER BY max(rowid)");
    if (!st.ok()) return st.status();
    st->Bind(1, last_metric_rowid_).Bind(2, kMetricRowsPerPoll);
    int64_t top = last_metric_rowid_;
    while (st->Step()) {
      top = std::max(top, st->Int(2));
      Emit(out, "metrics", {{"run", st->Text(0)}, {"points", st->Int(1)}, {"last_step", st->Int(3)}});
    }
    ORCHARD_RETURN_IF_ERROR(st->status());
    if (top == last_metric_rowid_) {
      // Nothing in the window: jump over a gap (deleted rows) if there is one.
      auto max = db_.Prepare("SELECT max(rowid) FROM metrics");
      if (!max.ok()) return max.status();
      if (max->Step() && !max->IsNull(0) && max->Int(0) > last_metric_rowid_ + kMetricRowsPerPoll) {
        top = last_metric_rowid_ + kMetricRowsPerPoll;
      }
    }
    last_metric_rowid_ = top;
  }
  // Tunes.
  {
    auto st = db_.Prepare("SELECT id, name, status, best_run_id FROM tunes");
    if (!st.ok()) return st.status();
    while (st->Step()) {
      std::string id = st->Text(0), key = st->Text(2) + "|" + st->Text(3);
      auto it = tunes_.find(id);
      if (it != tunes_.end() && it->second == key) continue;
      tunes_[id] = key;
      Emit(out, "tune", {{"id", id}, {"name", OrNull(st->Text(1))}, {"status", st->Text(2)},
                         {"best_run", OrNull(st->Text(3))}});
    }
    ORCHARD_RETURN_IF_ERROR(st->status());
  }
  return Status::Ok();
}

Status ChangeFeed::Poll() {
  std::lock_guard<std::mutex> poll_lock(poll_mu_);
  std::vector<FeedEvent> out;
  Status s = Collect(out);
  if (out.empty()) return s;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& e : out) {
      e.id = next_id_++;
      events_.push_back(std::move(e));
    }
    while (events_.size() > capacity_) events_.pop_front();
  }
  cv_.notify_all();
  return s;
}

std::vector<FeedEvent> ChangeFeed::Wait(int64_t after, std::chrono::milliseconds timeout,
                                        size_t max, bool* reset) {
  std::unique_lock<std::mutex> lock(mu_);
  *reset = false;
  cv_.wait_for(lock, timeout, [&] { return stop_ || next_id_ - 1 > after; });
  std::vector<FeedEvent> out;
  if (!events_.empty() && after < events_.front().id - 1) {
    *reset = true;
    return out;
  }
  for (const auto& e : events_) {
    if (e.id <= after) continue;
    out.push_back(e);
    if (out.size() >= max) break;
  }
  return out;
}

}  // namespace orchard::web
