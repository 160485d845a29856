#include "orchestrator/infer/worker_pool.h"

#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>

#include "orchestrator/capture/line_splitter.h"
#include "orchestrator/capture/metric_line.h"
#include "orchestrator/exec/child_process.h"
#include "orchestrator/exec/journal_tail.h"
#include "orchestrator/util/clock.h"

namespace orchard::infer {

namespace fs = std::filesystem;

namespace {

// The exit code of a worker refusing its flags or bundle: retrying is futile.
constexpr int kWorkerUsageExit = 2;

// The last lines of a worker's stderr, indented, for a failure report.
std::string TailOf(const std::string& path, size_t max_lines = 10) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return "";
  f.seekg(0, std::ios::end);
  std::streamoff size = f.tellg();
  std::streamoff from = std::max<std::streamoff>(0, size - 4096);
  f.seekg(from);
  std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  std::vector<std::string> lines;
  std::stringstream ss(text);
  std::string line;
  while (std::getline(ss, line)) {
    if (!line.empty()) lines.push_back(line);
  }
  if (from > 0 && !lines.empty()) lines.erase(lines.begin());  // a partial first line
  size_t start = lines.size() > max_lines ? lines.size() - max_lines : 0;
  std::string out;
  for (size_t i = start; i < lines.size(); ++i) out += "\n    " + lines[i];
  return out;
}

}  // namespace

std::string ShardNames(const std::vector<int>& ids) {
  std::string out;
  for (int id : ids) {
    std::string name = ShardFileName(id, "out");
    out += (out.empty() ? "" : ", ") + name.substr(0, name.rfind('.'));
  }
  return out;
}

struct WorkerPool::Worker {
  int slot = 0, attempt = 1;
  std::string name;  // worker-SLOT-ATTEMPT
  std::vector<int> shards;
  size_t next_check = 0;  // shards before it have their .out (done in order)
  std::unique_ptr<exec::Job> job;
  exec::Placement where;
  std::string stdout_path, stderr_path;
  std::unique_ptr<exec::JournalTail> tail;
  capture::LineSplitter splitter;
  int64_t images = 0, errors = 0;  // as the worker last reported
  bool running = true;
};

WorkerPool::WorkerPool(PoolConfig config, const std::vector<ShardRange>& shards,
                       std::vector<bool>& done, InferProgress& progress,
                       exec::StopRequests* stop)
    : cfg_(std::move(config)),
      shards_(shards),
      done_(done),
      progress_(progress),
      stop_(stop),
      attempts_(shards.size(), 0),
      seen_(shards.size(), false) {
  executor_ = cfg_.executor;
  if (executor_ == nullptr) {
    exec::ExecutorOptions eo;
    eo.gpus = cfg_.gpu_ids;
    eo.gpus_per_job = cfg_.gpu_ids.empty() ? 0 : 1;
    auto local = exec::MakeLocalExecutor(eo);  // cannot fail: GPUs are given
    if (local.ok()) own_executor_ = std::move(local).value();
    executor_ = own_executor_.get();
  }
  for (const auto& s : shards_) {
    total_ += s.count;
    if (done_[s.index]) done_at_start_ += s.count;
  }
}

// Workers still running (an error on the way out) are killed by ~Job.
WorkerPool::~WorkerPool() {
  for (auto& w : workers_) {
    w->job.reset();
    if (w->running) executor_->Release(w->where);
  }
}

std::string WorkerPool::OutPath(int id) const {
  return (fs::path(cfg_.work) / ShardFileName(id, "out")).string();
}

std::string WorkerPool::ListPath(int id) const {
  return (fs::path(cfg_.work) / ShardFileName(id, "list")).string();
}

Status WorkerPool::Start(int slot, int attempt, std::vector<int> ids) {
  return StartAll({Launch{slot, attempt, std::move(ids)}});
}

Status WorkerPool::StartAll(std::vector<Launch> launches) {
  std::vector<std::unique_ptr<Worker>> fresh;
  std::vector<exec::JobSpec> specs;
  std::vector<exec::Placement> places;
  auto release = [&] {
    for (const auto& p : places) executor_->Release(p);
  };
  const bool gpu = !cfg_.gpu_ids.empty() || cfg_.gpus_per_worker > 0;
  const int gpus = cfg_.gpu_ids.empty() ? cfg_.gpus_per_worker : 1;
  // The worker exits with the driver; on a cluster node the driver is no
  // process of its own (the wrapper or a shell is the parent), so there the
  // executor's cancellation stands for it.
  const bool watch_parent = executor_->Name() == "local";
  // SSH nodes see none of our files: the bundle, the shard lists and their
  // images travel with the worker (JobSpec::ship), which names them relative
  // to its folder there, and its .out files come back (JobSpec::fetch).
  const bool ship = !executor_->SharesFiles();
  for (auto& l : launches) {
    auto w = std::make_unique<Worker>();
    w->slot = l.slot;
    w->attempt = l.attempt;
    w->name = "worker-" + std::to_string(l.slot) + "-" + std::to_string(l.attempt);
    w->shards = std::move(l.ids);
    const std::string shards_file = (fs::path(cfg_.work) / (w->name + ".shards")).string();
    std::string text;
    for (int id : w->shards) {
      text += ship ? ShardFileName(id, "list") + "\t" + ShardFileName(id, "out") + "\n"
                   : ListPath(id) + "\t" + OutPath(id) + "\n";
    }
    Status written = WriteFileAtomic(shards_file, text);
    if (!written.ok()) {
      release();
      return written;
    }
    std::optional<exec::Placement> where = executor_->Acquire(gpu ? gpus : 0);
    if (!where) {
      release();
      return Status::IoError("no room to start " + w->name + " on " + executor_->Describe());
    }
    w->where = *where;
    places.push_back(*where);
    exec::JobSpec spec;
    spec.name = w->name;
    spec.argv = {cfg_.worker_exe,
                 "infer",
                 "--bundle=" + (ship ? std::string("bundle") : cfg_.bundle),
                 "--shards=" + (ship ? w->name + ".shards" : shards_file),
                 "--root=" + (ship ? std::string("root") : cfg_.root),
                 std::string("--format=") + (cfg_.format == OutFormat::kCsv ? "csv" : "jsonl"),
                 "--batch=" + std::to_string(cfg_.batch),
                 "--threads=" + std::to_string(cfg_.threads),
                 std::string("--device=") + (gpu ? "cuda" : "cpu")};
    if (watch_parent) spec.argv.push_back("--parent_pid=" + std::to_string(getpid()));
    if (cfg_.features) {
      spec.argv.push_back("--features");
    } else {
      spec.argv.push_back("--top_k=" + std::to_string(cfg_.top_k));
    }
    std::string cvd;
    for (const auto& g : w->where.gpus) cvd += (cvd.empty() ? "" : ",") + g;
    spec.cuda_visible_devices = cvd;
    spec.cwd = cfg_.cwd;
    spec.run_dir = cfg_.work;
    w->stdout_path = (fs::path(cfg_.work) / (w->name + ".stdout")).string();
    w->stderr_path = (fs::path(cfg_.work) / (w->name + ".stderr")).string();
    spec.stdout_path = w->stdout_path;
    spec.stderr_path = w->stderr_path;
    if (ship) ShipInputs(*w, shards_file, spec);
    specs.push_back(std::move(spec));
    fresh.push_back(std::move(w));
  }
  auto jobs = executor_->StartMany(specs, places);  // one by one unless the executor can batch
  if (!jobs.ok()) {
    release();
    return jobs.status();
  }
  for (size_t i = 0; i < fresh.size(); ++i) {
    Worker& w = *fresh[i];
    w.job = std::move((*jobs)[i]);
    auto tail = exec::JournalTail::Open(w.stdout_path, 0);
    if (tail.ok()) w.tail = std::move(tail).value();
    for (int id : w.shards) ++attempts_[id];
    workers_.push_back(std::move(fresh[i]));
  }
  return Status::Ok();
}

void WorkerPool::ShipInputs(const Worker& w, const std::string& shards_file,
                            exec::JobSpec& spec) const {
  spec.ship = {{cfg_.bundle, "bundle"}, {shards_file, w.name + ".shards"}};
  std::set<std::string> images;  // a list may name one image twice
  std::error_code ec;
  for (int id : w.shards) {
    spec.ship.emplace_back(ListPath(id), ShardFileName(id, "list"));
    spec.fetch.push_back(ShardFileName(id, "out"));
    std::ifstream list(ListPath(id));
    for (std::string line; std::getline(list, line);) {
      // A missing image is not shipped: the worker records it as missing.
      fs::path local = fs::path(cfg_.root) / line;
      if (!line.empty() && images.insert(line).second && fs::is_regular_file(local, ec)) {
        spec.ship.emplace_back(local.string(), "root/" + line);
      }
    }
  }
}

void WorkerPool::ReadOutput(Worker& w) {
  if (!w.tail) return;
  w.tail->ReadNew([&](std::string_view chunk) {
    w.splitter.Feed(chunk, [&](const capture::LineSplitter::Line& line) {
      if (line.overlong) return;
      capture::ParseResult r = capture::ParseLine(line.text);
      if (r.kind != capture::LineKind::kMetric) return;
      for (const auto& [k, v] : r.record.values) {
        if (k == "images") w.images = static_cast<int64_t>(v);
        if (k == "errors") w.errors = static_cast<int64_t>(v);
      }
    });
  });
}

void WorkerPool::OnExit(Worker& w, const exec::ExitInfo& exit) {
  w.running = false;
  Status collected = w.job->Collect();
  if (!collected.ok()) progress_.Event(w.name + ": " + collected.message());
  executor_->Release(w.where);
  const int exit_code = exit.exit_code;
  const bool lost = !exit.lost.empty();
  if (lost) executor_->NodeLost(w.where, exit.lost);
  std::error_code ec;
  std::vector<int> unfinished;
  for (int id : w.shards) {
    if (done_[id]) continue;
    if (ShardDone(OutPath(id), shards_[id].count, cfg_.format)) {
      done_[id] = true;
    } else {  // a short or missing .out: redo it from scratch
      fs::remove(OutPath(id), ec);
      fs::remove(OutPath(id) + ".tmp", ec);
      seen_[id] = false;
      unfinished.push_back(id);
    }
  }
  if (stopping_ || unfinished.empty()) return;
  std::string why = exit_code == 0 && !lost ? "exited without finishing" : exit.Describe();
  std::vector<int> retry, give_up;
  for (int id : unfinished) {
    // A lost node is not the shard's fault: it gets another attempt.
    if (lost) --attempts_[id];
    bool can = lost || (exit_code != kWorkerUsageExit && attempts_[id] < 1 + cfg_.retries);
    (can ? retry : give_up).push_back(id);
  }
  progress_.Event(w.name + " " + why + "; unfinished: " + ShardNames(unfinished) +
                  (retry.empty() ? "" : "; retrying " + ShardNames(retry)));
  if (!retry.empty()) {
    Status st = Start(w.slot, w.attempt + 1, retry);
    if (st.ok()) {
      ++outcome_.retried;
    } else {
      give_up.insert(give_up.end(), retry.begin(), retry.end());
      why += "; the retry could not start: " + st.message();
    }
  }
  if (!give_up.empty()) {
    std::string tail = TailOf(w.stderr_path);
    outcome_.failed_shards.insert(outcome_.failed_shards.end(), give_up.begin(), give_up.end());
    outcome_.failures.push_back(ShardNames(give_up) + " failed in " + w.name + " (" + why +
                                ", stderr in " + w.stderr_path + ")" +
                                (tail.empty() ? "" : ":" + tail));
  }
}

InferCounts WorkerPool::Counts(double now) const {
  InferCounts c;
  c.images_total = total_;
  c.shards_total = static_cast<int>(shards_.size());
  for (size_t id = 0; id < shards_.size(); ++id) {
    if (done_[id] || seen_[id]) {
      c.images_done += shards_[id].count;
      ++c.shards_done;
    }
  }
  for (const auto& w : workers_) {
    c.errors += w->errors;
    if (!w->running) continue;
    ++c.workers;
    // What the worker reports, less its shards already counted above.
    int64_t finished = 0;
    for (int id : w->shards) {
      if (done_[id] || seen_[id]) finished += shards_[id].count;
    }
    c.images_done += std::max<int64_t>(0, w->images - finished);
  }
  c.images_done = std::min(c.images_done, total_);
  const double elapsed = now - t_start_;
  const int64_t processed = c.images_done - done_at_start_;
  if (elapsed >= 1 && processed > 0) {
    c.images_per_sec = processed / elapsed;
    if (c.images_done < total_) c.eta_s = (total_ - c.images_done) / c.images_per_sec;
  }
  return c;
}

Result<PoolOutcome> WorkerPool::Run(const std::vector<int>& pending) {
  const int slots = std::max(1, std::min<int>(cfg_.slots, static_cast<int>(pending.size())));
  std::vector<Launch> first;
  for (int s = 0; s < slots; ++s) {
    std::vector<int> ids;
    for (size_t i = s; i < pending.size(); i += slots) ids.push_back(pending[i]);
    first.push_back({s, 1, std::move(ids)});
  }
  ORCHARD_RETURN_IF_ERROR(StartAll(std::move(first)));
  t_start_ = NowSeconds();
  int stop_count = 0;
  std::error_code ec;
  for (;;) {
    struct pollfd pfd{stop_ ? stop_->fd() : -1, POLLIN, 0};
    int r = poll(&pfd, 1, static_cast<int>(cfg_.poll_s * 1000));
    if (r > 0 && stop_ && (pfd.revents & POLLIN)) {
      stop_count += stop_->Drain();
      if (!stopping_) {
        stopping_ = true;
        progress_.Event("Stopping the workers (Ctrl-C again to kill them)...");
      }
      for (auto& w : workers_) {
        if (w->running) w->job->Signal(stop_count >= 2 ? SIGKILL : SIGTERM);
      }
    }
    for (size_t i = 0; i < workers_.size(); ++i) {  // OnExit may append a retry
      Worker& w = *workers_[i];
      if (!w.running) continue;
      ReadOutput(w);
      // A worker does its shards in order: look only at the next one's .out.
      while (w.next_check < w.shards.size()) {
        int id = w.shards[w.next_check];
        if (!done_[id] && !seen_[id] && !fs::exists(OutPath(id), ec)) break;
        seen_[id] = true;
        ++w.next_check;
      }
      if (auto exit = w.job->Poll()) {
        ReadOutput(w);
        OnExit(w, *exit);
      }
    }
    bool any_running = std::any_of(workers_.begin(), workers_.end(),
                                   [](const auto& w) { return w->running; });
    const double now = NowSeconds();
    progress_.Update(Counts(now), now, !any_running);
    if (!any_running) break;
  }
  progress_.Finish();
  outcome_.stopped = stopping_;
  return outcome_;
}

}  // namespace orchard::infer
