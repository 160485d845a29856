#include "orchestrator/infer/worker_pool.h"

#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <memory>
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
  std::unique_ptr<exec::ChildProcess> proc;
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
  for (const auto& s : shards_) {
    total_ += s.count;
    if (done_[s.index]) done_at_start_ += s.count;
  }
}

// Workers still running (an error on the way out) are killed by ~ChildProcess.
WorkerPool::~WorkerPool() = default;

std::string WorkerPool::OutPath(int id) const {
  return (fs::path(cfg_.work) / ShardFileName(id, "out")).string();
}

std::string WorkerPool::ListPath(int id) const {
  return (fs::path(cfg_.work) / ShardFileName(id, "list")).string();
}

Status WorkerPool::Start(int slot, int attempt, std::vector<int> ids) {
  auto w = std::make_unique<Worker>();
  w->slot = slot;
  w->attempt = attempt;
  w->name = "worker-" + std::to_string(slot) + "-" + std::to_string(attempt);
  w->shards = std::move(ids);
  const std::string shards_file = (fs::path(cfg_.work) / (w->name + ".shards")).string();
  std::string text;
  for (int id : w->shards) text += ListPath(id) + "\t" + OutPath(id) + "\n";
  ORCHARD_RETURN_IF_ERROR(WriteFileAtomic(shards_file, text));

  const bool gpu = !cfg_.gpu_ids.empty();
  exec::LaunchSpec spec;
  spec.argv = {cfg_.worker_exe,
               "infer",
               "--bundle=" + cfg_.bundle,
               "--shards=" + shards_file,
               "--root=" + cfg_.root,
               std::string("--format=") + (cfg_.format == OutFormat::kCsv ? "csv" : "jsonl"),
               "--batch=" + std::to_string(cfg_.batch),
               "--threads=" + std::to_string(cfg_.threads),
               std::string("--device=") + (gpu ? "cuda" : "cpu"),
               "--parent_pid=" + std::to_string(getpid())};
  if (cfg_.features) {
    spec.argv.push_back("--features");
  } else {
    spec.argv.push_back("--top_k=" + std::to_string(cfg_.top_k));
  }
  spec.env["CUDA_VISIBLE_DEVICES"] = gpu ? cfg_.gpu_ids[slot] : "";
  spec.cwd = cfg_.cwd;
  w->stdout_path = (fs::path(cfg_.work) / (w->name + ".stdout")).string();
  w->stderr_path = (fs::path(cfg_.work) / (w->name + ".stderr")).string();
  spec.stdout_path = w->stdout_path;
  spec.stderr_path = w->stderr_path;
  auto proc = exec::ChildProcess::Start(spec);
  if (!proc.ok()) return proc.status();
  w->proc = std::move(proc).value();
  auto tail = exec::JournalTail::Open(w->stdout_path, 0);
  if (tail.ok()) w->tail = std::move(tail).value();
  for (int id : w->shards) ++attempts_[id];
  workers_.push_back(std::move(w));
  return Status::Ok();
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

void WorkerPool::OnExit(Worker& w, int exit_code, const std::string& described) {
  w.running = false;
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
  std::string why = exit_code == 0 ? "exited without finishing" : described;
  std::vector<int> retry, give_up;
  for (int id : unfinished) {
    bool can = exit_code != kWorkerUsageExit && attempts_[id] < 1 + cfg_.retries;
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
  for (int s = 0; s < slots; ++s) {
    std::vector<int> ids;
    for (size_t i = s; i < pending.size(); i += slots) ids.push_back(pending[i]);
    ORCHARD_RETURN_IF_ERROR(Start(s, 1, std::move(ids)));
  }
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
        if (w->running) w->proc->Signal(stop_count >= 2 ? SIGKILL : SIGTERM);
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
      if (auto exit = w.proc->Poll()) {
        ReadOutput(w);
        OnExit(w, exit->exit_code, exit->Describe());
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
