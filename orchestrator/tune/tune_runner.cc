#include "orchestrator/tune/tune_runner.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <deque>
#include <list>
#include <thread>

#include "flags/expand.h"
#include "flags/flag_value.h"
#include "orchestrator/exec/run_launcher.h"
#include "orchestrator/store/store_writer.h"
#include "orchestrator/tune/progress.h"
#include "orchestrator/tune/trial_book.h"
#include "orchestrator/tune/tune_session.h"
#include "orchestrator/util/clock.h"

namespace orchard::tune {

namespace {

using State = search::TrialRecord::State;

// One trial in flight, owned by the scheduler; its thread writes only
// `outcome`, `run_id` and `score`, then sets `done`.
struct ActiveTrial {
  PendingTrial trial;
  exec::Placement where;
  exec::StopFlag stop;
  std::thread thread;
  std::atomic<bool> done{false};
  std::string run_id;
  Result<exec::RunOutcome> outcome = Status::Internal("not run");
  std::optional<double> score;
  double started = 0;
  double queued_s = 0;  // time spent in a scheduler's queue (the trial's thread)
};

std::string FormatValue(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

}  // namespace

TuneRunner::TuneRunner(const store::Home& home, TuneOptions options, std::ostream& out, bool tty)
    : home_(home), opt_(std::move(options)), out_(out), tty_(tty) {}

Result<TuneResult> TuneRunner::Run(exec::StopRequests* stop) {
  const flags::TuneSpec& spec = opt_.spec;
  ORCHARD_RETURN_IF_ERROR(store::EnsureHome(home_));
  auto sampler = search::MakeSampler(spec);
  if (!sampler.ok()) return sampler.status();
  auto pruner = search::MakePruner(spec.early_stopping);
  if (!pruner.ok()) return pruner.status();
  const int gpus_per_trial = std::max(0, spec.resources.gpus_per_trial);
  std::unique_ptr<exec::Executor> own_executor;
  exec::Executor* executor = opt_.executor;
  if (executor == nullptr) {
    exec::ExecutorOptions eo;
    eo.gpus = spec.resources.gpus;
    eo.gpus_per_job = gpus_per_trial;
    eo.jobs_per_gpu = spec.resources.trials_per_gpu;
    auto local = exec::MakeLocalExecutor(eo);
    if (!local.ok()) return local.status().WithContext("resources");
    own_executor = std::move(local).value();
    executor = own_executor.get();
  }
  const int concurrency =
      std::max(1, std::min(spec.resources.concurrency, executor->Capacity(gpus_per_trial)));

  auto store = store::SqliteRunStore::Open(home_.db_path);
  if (!store.ok()) return store.status();
  auto session = OpenSession(**store, home_, opt_, flags::TuneSpecToJson(spec));
  if (!session.ok()) return session.status();
  TuneResult result;
  result.tune = session->tune;
  result.resumed = session->resumed;
  store::Tune& tune = result.tune;

  TrialBook book(spec, pruner->get());
  for (auto& rec : session->finished) book.Put(rec);
  std::map<int64_t, std::string> run_of_trial = session->run_of_trial;
  std::deque<PendingTrial> queue(session->requeue.begin(), session->requeue.end());
  int64_t next_number = session->next_number;
  const std::optional<int64_t> limit = (*sampler)->TrialLimit();

  auto writer_conn = store::SqliteRunStore::Open(home_.db_path);
  if (!writer_conn.ok()) return writer_conn.status();
  store::StoreWriter writer(std::move(writer_conn).value());
  int done_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);

  Progress progress(out_, tty_, tune.id);
  std::string objective_name = spec.objective ? spec.objective->metric : "";
  progress.Event(std::string(session->resumed ? "Resuming" : "Started") + " tune " + tune.id +
                 " (" + spec.method + ", " +
                 (limit ? std::to_string(*limit) + " trials" : std::string("unbounded")) + ", " +
                 std::to_string(concurrency) + " at a time" +
                 (gpus_per_trial ? ", " + std::to_string(gpus_per_trial) + " GPU(s) each" : ", CPU") +
                 (executor->Name() == "local" ? "" : ", on " + executor->Describe()) + ")");
  if (session->resumed) {
    progress.Event("  " + std::to_string(session->finished.size()) + " trials already ended; " +
                   std::to_string(queue.size()) + " re-queued (" +
                   std::to_string(session->interrupted) + " interrupted)");
  }
  for (const auto& rec : session->finished) {
    if (rec.state == State::kCompleted) ++result.completed;
    if (rec.state == State::kPruned) ++result.pruned;
    if (rec.state == State::kFailed) ++result.failed;
  }

  std::list<ActiveTrial> active;
  std::atomic<int> queued{0};  // trials waiting in a scheduler's queue
  bool stopping = false;
  Status fatal;
  std::vector<double> durations;

  auto trial_request = [&](const PendingTrial& p, const exec::Placement& where) {
    exec::RunRequest req;
    req.command = spec.command;
    req.flags = flags::TrialFlags(spec, p.params);
    req.tune_id = tune.id;
    req.trial = p.number;
    req.attempt = p.attempt;
    req.seed = static_cast<int64_t>(
        flags::TrialSeed(static_cast<uint64_t>(spec.seed), p.number) & 0x7fffffff);
    std::string cvd;
    for (const auto& g : where.gpus) cvd += (cvd.empty() ? "" : ",") + g;
    req.cuda_visible_devices = cvd;  // "" in CPU mode: trials see no GPU
    req.executor = executor;
    req.placement = where;
    req.cwd = opt_.cwd;
    req.echo = opt_.echo;
    req.timeout_s = spec.resources.timeout_s;
    return req;
  };

  // The trial's run is recorded (queued) here, before its thread starts, so
  // a crash at any later moment leaves a record that resuming re-queues.
  exec::RunLauncher recorder(home_, **store, writer);
  auto start_trial = [&](PendingTrial p, exec::Placement where) -> Status {
    exec::RunRequest req = trial_request(p, where);
    auto prepared = recorder.Prepare(req);
    if (!prepared.ok()) return prepared.status();
    book.Put({p.number, p.params, State::kRunning, std::nullopt, {}});
    ActiveTrial& a = active.emplace_back();
    a.trial = std::move(p);
    a.where = std::move(where);
    a.started = NowSeconds();
    a.run_id = prepared->id;
    a.thread = std::thread([&, ap = &a, req = std::move(req), run = std::move(prepared).value()] {
      auto conn = store::SqliteRunStore::Open(home_.db_path);
      if (!conn.ok()) {
        ap->outcome = conn.status();
      } else {
        exec::RunLauncher launcher(home_, **conn, writer);
        launcher.on_metrics = [&, ap](const std::vector<store::MetricPoint>& pts) {
          if (auto why = book.OnMetrics(ap->trial.number, pts)) {
            ap->stop.Request(store::RunStatus::kPruned, *why);
          }
        };
        double queued_at = 0;
        launcher.on_queued = [&, ap](bool q) {
          queued += q ? 1 : -1;
          if (q) queued_at = NowSeconds();
          else ap->queued_s += NowSeconds() - queued_at;
        };
        ap->outcome = launcher.Start(run, req, &ap->stop);
        if (!ap->outcome.ok()) {
          (*conn)->FinishRun(run.id, store::RunStatus::kFailed, std::nullopt, NowSeconds(),
                             ap->outcome.status().message());
        } else if (spec.objective) {
          auto sums = (*conn)->GetMetricSummaries(ap->outcome->run_id);
          if (sums.ok()) ap->score = ObjectiveScore(*sums, *spec.objective);
        }
      }
      ap->done = true;
      uint64_t one = 1;
      [[maybe_unused]] ssize_t n = write(done_fd, &one, sizeof one);
    });
    return Status::Ok();
  };

  auto counts = [&] {
    ProgressCounts c;
    c.done = result.completed + result.pruned + result.failed;
    c.running = static_cast<int>(active.size());
    c.queued = queued.load();
    c.pruned = result.pruned;
    c.failed = result.failed;
    c.total = limit ? static_cast<int>(*limit) : 0;
    if (auto best = book.Best()) {
      c.best = objective_name + "=" + FormatValue(*best->value) + " (trial " +
               std::to_string(best->number) + ")";
    }
    if (!durations.empty() && limit) {
      double mean = 0;
      for (double d : durations) mean += d;
      mean /= static_cast<double>(durations.size());
      double left = static_cast<double>(*limit - c.done);
      c.eta_s = mean * left / concurrency;
    }
    return c;
  };

  auto finish_trial = [&](ActiveTrial& a) {
    a.thread.join();
    executor->Release(a.where);
    durations.push_back(NowSeconds() - a.started);
    const int64_t n = a.trial.number;
    std::string label = "trial " + std::to_string(n) +
                        (a.trial.attempt > 1 ? " (attempt " + std::to_string(a.trial.attempt) + ")" : "") +
                        " [" + flags::FormatFlagsCompact(a.trial.params, 6) + "]" +
                        (a.queued_s >= 1 ? " (queued " + FormatDuration(a.queued_s) + ")" : "");
    if (!a.outcome.ok()) {
      book.Finish(n, State::kFailed, std::nullopt);
      ++result.failed;
      progress.Event(label + " could not run: " + a.outcome.status().message());
      if (a.outcome.status().code() == Status::Code::kIoError) fatal = a.outcome.status();
      return;
    }
    const exec::RunOutcome& o = *a.outcome;
    run_of_trial[n] = o.run_id;
    std::string id = "run " + o.run_id;
    switch (o.status) {
      case store::RunStatus::kCompleted:
        book.Finish(n, State::kCompleted, a.score);
        ++result.completed;
        progress.Event(label + " " + id + " completed" +
                       (a.score ? ": " + objective_name + "=" + FormatValue(*a.score)
                                : (spec.objective ? ": no " + objective_name + " reported" : "")));
        break;
      case store::RunStatus::kPruned:
        book.Finish(n, State::kPruned, std::nullopt);
        ++result.pruned;
        progress.Event(label + " " + id + " " + o.error);
        break;
      case store::RunStatus::kFailed:
        if (!o.exit.lost.empty() && !stopping) {
          // Its node died: not the trial's fault. Another node runs it again
          // (a new attempt; what the lost one recorded stays on record).
          executor->NodeLost(a.where, o.exit.lost);
          ++result.lost;
          progress.Event(label + " " + id + " lost on " + a.where.Describe() + " (" +
                         o.exit.lost + "); re-queued");
          queue.push_front({n, a.trial.attempt + 1, a.trial.params});
          break;
        }
        [[fallthrough]];
      default:
        if (a.trial.attempt <= spec.resources.retries && !stopping) {
          ++result.retried;
          progress.Event(label + " " + id + " failed (" + o.exit.Describe() + "); retrying");
          queue.push_front({n, a.trial.attempt + 1, a.trial.params});
        } else {
          book.Finish(n, State::kFailed, std::nullopt);
          ++result.failed;
          std::string why = o.error.substr(0, o.error.find('\n'));
          progress.Event(label + " " + id + " failed: " + why);
        }
        break;
      case store::RunStatus::kCancelled:
        book.Finish(n, State::kFailed, std::nullopt);
        ++result.cancelled;
        progress.Event(label + " " + id + " cancelled");
        break;
    }
    if (auto best = book.Best()) {
      std::string best_run = run_of_trial[best->number];
      if (best_run != tune.best_run_id) {
        tune.best_run_id = best_run;
        Status s = (*store)->UpdateTune(tune);
        if (!s.ok()) progress.Event("warning: " + s.message());
      }
    }
  };

  for (;;) {
    bool starved = false;  // a trial waits but the executor has no room
    while (!stopping && fatal.ok() && static_cast<int>(active.size()) < concurrency) {
      PendingTrial p;
      if (!queue.empty()) {
        p = queue.front();
        queue.pop_front();
      } else if (!limit || next_number < *limit) {
        auto params = book.Suggest(**sampler, next_number);
        if (!params.ok()) {
          fatal = params.status();
          break;
        }
        p = {next_number++, 1, std::move(params).value()};
      } else {
        break;
      }
      // None free: local capacity caps concurrency, but a remote node may be
      // down; wait for a running trial to end.
      std::optional<exec::Placement> where = executor->Acquire(gpus_per_trial);
      if (!where) {
        queue.push_front(p);
        starved = true;
        break;
      }
      exec::Placement placed = *where;
      Status started = start_trial(p, std::move(*where));
      if (!started.ok()) {
        executor->Release(placed);
        fatal = started;
        break;
      }
    }
    if (active.empty()) {
      if (starved && fatal.ok() && !stopping) {
        fatal = Status::IoError("no room left to run trial " +
                                std::to_string(queue.front().number) + " on " +
                                executor->Describe() + " (every node is down?)");
      }
      break;
    }
    progress.Update(counts());
    pollfd fds[2] = {{done_fd, POLLIN, 0}, {stop ? stop->fd() : -1, POLLIN, 0}};
    poll(fds, 2, 1000);
    if (stop && (fds[1].revents & POLLIN)) {
      int n = stop->Drain();
      if (!stopping) {
        stopping = true;
        progress.Event("Stopping: asking " + std::to_string(active.size()) +
                       " running trial(s) to stop (Ctrl-C again to kill them)");
      }
      for (auto& a : active) {
        a.stop.Request(store::RunStatus::kCancelled, "cancelled");
        if (n >= 2) a.stop.Request(store::RunStatus::kCancelled, "cancelled");
      }
    }
    uint64_t drained;
    [[maybe_unused]] ssize_t r = read(done_fd, &drained, sizeof drained);
    for (auto it = active.begin(); it != active.end();) {
      if (it->done) {
        finish_trial(*it);
        it = active.erase(it);
      } else {
        ++it;
      }
    }
    if (!fatal.ok() && !stopping) {
      stopping = true;
      for (auto& a : active) a.stop.Request(store::RunStatus::kCancelled, "cancelled");
    }
  }
  close(done_fd);
  progress.Finish();
  Status flushed = writer.Flush();

  tune.status = !fatal.ok() ? "failed" : stopping ? "cancelled" : "completed";
  tune.finished_at = NowSeconds();
  result.best = book.Best();
  if (result.best) result.best_run_id = run_of_trial[result.best->number];
  tune.best_run_id = result.best_run_id;
  ORCHARD_RETURN_IF_ERROR((*store)->UpdateTune(tune));
  ORCHARD_RETURN_IF_ERROR(flushed);
  if (!fatal.ok()) return fatal;
  return result;
}

}  // namespace orchard::tune
