#include "orchestrator/tune/tune_session.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "orchestrator/capture/environment.h"
#include "orchestrator/exec/run_launcher.h"
#include "orchestrator/tune/trial_book.h"
#include "orchestrator/util/clock.h"
#include "orchestrator/util/sha256.h"

namespace orchard::tune {

namespace {

using State = search::TrialRecord::State;

// A trainer left behind by a dead orchestrator is killed, but only when
// /proc proves the pid is still that run's process (pids are reused).
void KillIfStillOurs(const store::Run& run) {
  if (!run.pid || *run.pid <= 1) return;
  std::ifstream env("/proc/" + std::to_string(*run.pid) + "/environ", std::ios::binary);
  if (!env) return;
  std::stringstream ss;
  ss << env.rdbuf();
  std::string needle = std::string("ORCHARD_RUN_ID=") + run.id + '\0';
  if ((std::string(1, '\0') + ss.str()).find(std::string(1, '\0') + needle) == std::string::npos) {
    return;
  }
  pid_t pid = static_cast<pid_t>(*run.pid);
  if (kill(-pid, SIGKILL) != 0) kill(pid, SIGKILL);
  // SIGKILL is asynchronous: wait (bounded) until its journal stops growing.
  for (int i = 0; i < 100; ++i) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string stat;
    std::getline(in, stat);
    size_t paren = stat.rfind(')');  // the command name may hold spaces
    if (paren == std::string::npos || paren + 2 >= stat.size() || stat[paren + 2] == 'Z') return;
    usleep(20000);
  }
}

std::map<int64_t, double> Intermediate(store::SqliteRunStore& store, const std::string& run_id,
                                       const flags::TuneSpec& spec) {
  std::map<int64_t, double> out;
  if (spec.early_stopping.method.empty()) return out;
  auto series = store.GetMetricSeries(run_id, spec.early_stopping.metric);
  if (!series.ok()) return out;
  for (const auto& p : *series) {
    if (spec.early_stopping.unit == "step") {
      out[p.step] = p.value;
    } else if (p.epoch) {
      out[*p.epoch] = p.value;
    }
  }
  return out;
}

Result<std::string> FindResumable(store::SqliteRunStore& store, const TuneOptions& opt,
                                  const std::string& spec_hash) {
  if (!opt.resume_ref.empty()) return store.ResolveTuneId(opt.resume_ref);
  if (opt.force_new) return std::string();
  auto tunes = store.ListTunes(1000);
  if (!tunes.ok()) return tunes.status();
  for (const auto& t : *tunes) {
    if (t.spec_hash == spec_hash && t.status != "completed") return t.id;
  }
  if (opt.resume_required) {
    return Status::NotFound(
        "no unfinished session of this spec to resume; run without --resume to start one");
  }
  return std::string();
}

}  // namespace

Result<std::unique_ptr<TuneLock>> TuneLock::Acquire(const std::string& path) {
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return Status::IoError("cannot open the lock file " + path);
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    close(fd);
    return Status::AlreadyExists("locked");
  }
  return std::unique_ptr<TuneLock>(new TuneLock(fd));
}

TuneLock::~TuneLock() {
  flock(fd_, LOCK_UN);
  close(fd_);
}

nlohmann::json SearchParams(const flags::TuneSpec& spec, const nlohmann::json& flags) {
  nlohmann::json out = nlohmann::json::object();
  for (const auto& d : spec.space.dims) {
    if (flags.contains(d.name)) out[d.name] = flags[d.name];
  }
  return out;
}

Result<Session> OpenSession(store::SqliteRunStore& store, const store::Home& home,
                            const TuneOptions& opt, const nlohmann::json& spec_json) {
  const flags::TuneSpec& spec = opt.spec;
  // Where and how wide trials run does not change which trials run, so a
  // session resumes on other GPUs or with another concurrency.
  nlohmann::json identity = spec_json;
  identity.erase("resources");
  identity.erase("executor");
  std::string spec_hash = Sha256Hex(identity.dump());
  std::string locks = home.root + "/tunes";
  std::error_code ec;
  std::filesystem::create_directories(locks, ec);
  if (ec) return Status::IoError("cannot create " + locks + ": " + ec.message());

  Session session;
  auto found = FindResumable(store, opt, spec_hash);
  if (!found.ok()) return found.status();
  if (found->empty()) {
    session.tune.name = spec.name;
    session.tune.spec = spec_json;
    session.tune.spec_hash = spec_hash;
    session.tune.method = spec.method;
    if (spec.objective) {
      session.tune.objective = {{"metric", spec.objective->metric},
                                {"goal", spec.objective->maximize ? "max" : "min"}};
    }
    session.tune.seed = spec.seed;
    session.tune.created_at = NowSeconds();
    session.tune.host = capture::HostName();
    session.tune.pid = getpid();
    session.tune.cwd = opt.cwd;
    ORCHARD_RETURN_IF_ERROR(store.CreateTune(session.tune));
    auto lock = TuneLock::Acquire(locks + "/" + session.tune.id + ".lock");
    if (!lock.ok()) return lock.status();
    session.lock = std::move(lock).value();
    return session;
  }

  auto tune = store.GetTune(*found);
  if (!tune.ok()) return tune.status();
  session.tune = std::move(tune).value();
  if (session.tune.spec_hash != spec_hash) {
    return Status::InvalidArgument("tune " + session.tune.id +
                                   " was run with a different spec; resume it with its own "
                                   "spec, or start a new session with --new");
  }
  auto lock = TuneLock::Acquire(locks + "/" + session.tune.id + ".lock");
  if (!lock.ok()) {
    if (lock.status().code() != Status::Code::kAlreadyExists) return lock.status();
    return Status::AlreadyExists(
        "tune " + session.tune.id + " is being run by another orchard (pid " +
        std::to_string(session.tune.pid.value_or(0)) + " on " + session.tune.host +
        "); wait for it, or start a separate session with --new");
  }
  session.lock = std::move(lock).value();
  session.resumed = true;
  session.tune.status = "running";
  session.tune.finished_at.reset();
  session.tune.host = capture::HostName();
  session.tune.pid = getpid();
  ORCHARD_RETURN_IF_ERROR(store.UpdateTune(session.tune));

  // The latest attempt of each trial decides what happens to it.
  store::RunQuery q;
  q.where_sql = "r.tune_id = ?";
  q.params = {store::SqlParam(session.tune.id)};
  q.order_sql = "r.seq ASC";
  auto runs = store.ListRuns(q);
  if (!runs.ok()) return runs.status();
  std::map<int64_t, store::Run> latest;
  for (auto& r : *runs) {
    if (!r.trial) continue;
    session.next_number = std::max(session.next_number, *r.trial + 1);
    auto it = latest.find(*r.trial);
    if (it == latest.end() || r.attempt >= it->second.attempt) latest[*r.trial] = r;
  }
  for (auto& [number, run] : latest) {
    session.run_of_trial[number] = run.id;
    PendingTrial again{number, run.attempt + 1, SearchParams(spec, run.flags)};
    search::TrialRecord rec;
    rec.number = number;
    rec.params = again.params;
    switch (run.status) {
      case store::RunStatus::kQueued:
      case store::RunStatus::kRunning:
        // Its orchestrator died (we hold the lock): stop what is left of it,
        // keep everything its trainer printed, close it and run it again.
        KillIfStillOurs(run);
        if (auto recovered = exec::RecoverOutput(home, store, run.id); !recovered.ok()) {
          return recovered.status().WithContext("recovering the output of run " + run.id);
        }
        ORCHARD_RETURN_IF_ERROR(store.FinishRun(
            run.id, store::RunStatus::kCancelled, std::nullopt, NowSeconds(),
            "interrupted: the orchestrator stopped; trial re-queued by tune " +
                session.tune.id));
        ++session.interrupted;
        session.requeue.push_back(again);
        continue;
      case store::RunStatus::kCancelled:
        session.requeue.push_back(again);
        continue;
      case store::RunStatus::kFailed:
        if (run.attempt <= spec.resources.retries) {
          session.requeue.push_back(again);
          continue;
        }
        rec.state = State::kFailed;
        break;
      case store::RunStatus::kPruned:
        rec.state = State::kPruned;
        rec.intermediate = Intermediate(store, run.id, spec);
        break;
      case store::RunStatus::kCompleted: {
        rec.state = State::kCompleted;
        rec.intermediate = Intermediate(store, run.id, spec);
        auto sums = store.GetMetricSummaries(run.id);
        if (sums.ok() && spec.objective) rec.value = ObjectiveScore(*sums, *spec.objective);
        break;
      }
    }
    session.finished.push_back(std::move(rec));
  }
  return session;
}

}  // namespace orchard::tune
