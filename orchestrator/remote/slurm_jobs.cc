#include "orchestrator/remote/slurm_jobs.h"

#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "orchestrator/util/clock.h"

namespace orchard::remote {

namespace {

using Kind = SlurmLine::Kind;

// How long an ended job may take to show its final state in squeue before
// the stderr lines decide alone.
constexpr double kFinalStateWait = 30;
// How long after Slurm reports an array task ended its exit line may still
// be on its way through a shared filesystem.
constexpr double kMarkerLag = 3;
// How long a job still running when its handle is dropped may take to go.
constexpr double kCancelWait = 20;

// The hints worth keeping: a node failure outranks the rest.
void KeepHint(Kind& hint, Kind k) {
  if (k == Kind::kNodeFailure || k == Kind::kPreempted || k == Kind::kTimeLimit ||
      k == Kind::kOutOfMemory || k == Kind::kCancelled) {
    if (hint != Kind::kNodeFailure && hint != Kind::kPreempted) hint = k;
  }
}

std::string SignalName(int sig) {
  const char* name = sigabbrev_np(sig);
  return name ? name : std::to_string(sig);
}

}  // namespace

bool SlurmContext::Scancel(const std::vector<std::string>& args, const std::string& journal) const {
  std::vector<std::string> argv = {scancel};
  argv.insert(argv.end(), args.begin(), args.end());
  auto r = cli(argv, 15);
  if (r.ok() && r->exit_code == 0) return true;
  // ESLURM_ALREADY_DONE (2021, so exit 229): it ended as we asked; nothing is left to stop.
  if (r.ok() && (r->exit_code == 2021 % 256 ||
                 r->out.find("already completing or completed") != std::string::npos)) {
    return true;
  }
  std::string cmd;
  for (const auto& a : argv) cmd += (cmd.empty() ? "" : " ") + a;
  AppendNote(journal, cmd + " failed: " +
                          (r.ok() ? OneLine(r->out) + " (exit " + std::to_string(r->exit_code) + ")"
                                  : r.status().message()));
  return false;
}

void AppendNote(const std::string& journal, const std::string& text) {
  int fd = open(journal.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return;
  std::string line = "orchard: " + text + "\n";
  ssize_t n = write(fd, line.data(), line.size());
  (void)n;  // best effort: the note also travels in ExitInfo
  close(fd);
}

StderrWatcher::~StderrWatcher() {
  if (fd_ >= 0) close(fd_);
}

bool StderrWatcher::Open() {
  if (fd_ < 0) fd_ = open(path_.c_str(), O_RDONLY | O_CLOEXEC);
  return fd_ >= 0;
}

void StderrWatcher::Read(const std::function<void(const SlurmLine&)>& on_line, size_t max) {
  if (!Open()) return;
  char buf[16384];
  size_t total = 0;
  while (total < max) {
    ssize_t n = pread(fd_, buf, sizeof buf, offset_);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    offset_ += n;
    total += static_cast<size_t>(n);
    std::string_view chunk(buf, static_cast<size_t>(n));
    for (;;) {
      size_t nl = chunk.find('\n');
      if (nl == chunk.npos) {
        // Lines that matter are short; an overlong one is skipped whole.
        if (!skipping_) partial_.append(chunk);
        if (partial_.size() > 4096) {
          partial_.clear();
          skipping_ = true;
        }
        break;
      }
      if (!skipping_) {
        partial_.append(chunk.substr(0, nl));
        on_line(ParseSlurmLine(partial_));
      }
      partial_.clear();
      skipping_ = false;
      chunk.remove_prefix(nl + 1);
    }
  }
}

void StderrWatcher::SkipToTail(size_t keep) {
  if (!Open()) return;
  struct stat st {};
  if (fstat(fd_, &st) != 0) return;
  int64_t from = static_cast<int64_t>(st.st_size) - static_cast<int64_t>(keep);
  if (from > offset_) {
    offset_ = from;
    partial_.clear();
    skipping_ = true;  // mid-line: up to the next line break
  }
}

// ---- SrunJob ---------------------------------------------------------------

SrunJob::SrunJob(std::shared_ptr<const SlurmContext> ctx, std::unique_ptr<exec::ChildProcess> srun,
                 const exec::JobSpec& spec)
    : ctx_(std::move(ctx)),
      srun_(std::move(srun)),
      stderr_path_(spec.stderr_path),
      watcher_(spec.stderr_path) {}

SrunJob::~SrunJob() {
  if (!srun_->Poll()) {
    Signal(SIGKILL);
    for (double end = NowSeconds() + kCancelWait; !srun_->Poll() && NowSeconds() < end;) {
      usleep(50000);
    }
    // srun ignored it all: its own destructor kills it. The job was
    // cancelled above, so nothing is left on the cluster.
  }
  if (watching_) ctx_->queue->Unwatch(job_);
}

void SrunJob::WaitForJobId(double timeout_s) {
  for (double end = NowSeconds() + timeout_s; job_.empty() && NowSeconds() < end;) {
    watcher_.Read([this](const SlurmLine& l) { OnLine(l); });
    if (!job_.empty() || srun_->Poll()) break;
    usleep(10000);
  }
}

std::string SrunJob::Where() const {
  if (job_.empty()) return "srun pid " + std::to_string(srun_->pid()) + " (no Slurm job yet)";
  return "slurm job " + job_ + (node_.empty() ? "" : " on " + node_);
}

std::optional<std::string> SrunJob::Gpus() const {
  if (!started_) return std::nullopt;
  return gpus_;
}

void SrunJob::OnLine(const SlurmLine& l) {
  switch (l.kind) {
    case Kind::kQueued:
    case Kind::kAllocated:
      if (job_.empty()) job_ = l.job;
      break;
    case Kind::kStarted:
      if (started_) break;  // only our wrapper's first line counts
      started_ = true;
      // "118" (a job of its own), or the step's job when srun ran inside one.
      if (job_.empty()) job_ = l.job;
      node_ = l.node;
      gpus_ = l.gpus;
      break;
    default:
      KeepHint(hint_, l.kind);
  }
}

std::optional<exec::ExitInfo> SrunJob::Poll() {
  if (final_) return final_;
  if (!started_) watcher_.Read([this](const SlurmLine& l) { OnLine(l); });
  if (!srun_exit_) {
    if (pending_term_ && !job_.empty()) {
      pending_term_ = false;
      Signal(SIGTERM);
    }
    srun_exit_ = srun_->Poll();
    if (!srun_exit_) return std::nullopt;
    ended_at_ = NowSeconds();
    // The rest of stderr: how srun saw the end (only its last part matters).
    watcher_.SkipToTail(64 * 1024);
    watcher_.Read([this](const SlurmLine& l) { OnLine(l); });
    if (!started_) {  // srun's own complaint says why the job never ran
      int fd = open(stderr_path_.c_str(), O_RDONLY | O_CLOEXEC);
      if (fd >= 0) {
        char buf[8192];
        struct stat st {};
        fstat(fd, &st);
        off_t from = st.st_size > static_cast<off_t>(sizeof buf) ? st.st_size - sizeof buf : 0;
        ssize_t n = pread(fd, buf, sizeof buf, from);
        close(fd);
        std::string_view text(buf, n > 0 ? static_cast<size_t>(n) : 0);
        size_t at = text.rfind("srun: error: ");
        if (at != text.npos) {
          std::string_view line = text.substr(at, text.find('\n', at) - at);
          if (line.find(": task ") == line.npos) srun_error_ = line;
        }
      }
    }
  }
  exec::ExitInfo e = *srun_exit_;
  const bool clean = e.exit_code == 0 && e.signal == 0 && hint_ == Kind::kOther;
  // Orchard stopped it, it ended well, or Slurm never gave it a job id: the
  // code says it all.
  if (signalled_ || clean || job_.empty()) {
    if (!started_ && !srun_error_.empty() && !signalled_) e.detail = srun_error_;
    return Finish(e);
  }
  // Otherwise ask Slurm how the job ended (NODE_FAIL looks like success to srun).
  if (!watching_) {
    ctx_->queue->Watch(job_);
    watching_ = true;
  }
  std::optional<SlurmJobState> st = ctx_->queue->State(job_, ended_at_, /*urgent=*/true);
  const bool waited_enough = NowSeconds() >= ended_at_ + kFinalStateWait;
  if (st && st->state.empty() && !accounting_tried_) {
    accounting_tried_ = true;  // the controller forgot it: accounting may know
    st = ctx_->queue->Accounting(job_);
    if (!st) st = SlurmJobState{job_, "", "", std::nullopt};
  }
  const bool final = st && IsFinalState(st->state);
  if (!final && !waited_enough && !(st && st->state.empty())) return std::nullopt;
  exec::ExitInfo out = final ? ExitFromState(*st, e.exit_code)
                             : (hint_ != Kind::kOther ? ExitFromHint(hint_, job_, e.exit_code) : e);
  out.signal = e.signal;
  return Finish(out);
}

std::optional<exec::ExitInfo> SrunJob::Finish(exec::ExitInfo e) {
  if (watching_) {
    ctx_->queue->Unwatch(job_);
    watching_ = false;
  }
  if (!e.lost.empty()) AppendNote(stderr_path_, "lost: " + e.lost);
  else if (!e.detail.empty()) AppendNote(stderr_path_, e.detail);
  final_ = e;
  return final_;
}

void SrunJob::Signal(int sig) {
  if (final_ || srun_exit_ || srun_->Poll()) return;
  signalled_ = true;
  if (sig == SIGKILL) {
    // The task now; else (queued, or scancel failed) srun itself, which on
    // SIGTERM cancels its job or allocation request.
    if (!(started_ && ctx_->Scancel({"--signal=KILL", job_}, stderr_path_))) {
      if (!job_.empty()) ctx_->Scancel({job_}, stderr_path_);
      srun_->Signal(SIGTERM);
    }
    return;
  }
  if (job_.empty()) {
    // srun has not named its job yet (a few milliseconds): later, in Poll.
    if (sig == SIGTERM) pending_term_ = true;
    return;
  }
  if (!started_ && (sig == SIGTERM || sig == SIGINT)) {
    ctx_->Scancel({job_}, stderr_path_);  // still queued: nothing to checkpoint
    return;
  }
  // srun would turn SIGTERM into a kill; scancel delivers the signal itself,
  // so the trainer can checkpoint.
  ctx_->Scancel({"--signal=" + SignalName(sig), job_}, stderr_path_);
}

// ---- ArrayTaskJob ----------------------------------------------------------

ArrayTaskJob::ArrayTaskJob(std::shared_ptr<const SlurmContext> ctx, std::string array_id, int index,
                           const exec::JobSpec& spec, double submitted_at)
    : ctx_(std::move(ctx)),
      array_id_(std::move(array_id)),
      id_(array_id_ + "_" + std::to_string(index)),
      stderr_path_(spec.stderr_path),
      watcher_(spec.stderr_path),
      submitted_at_(submitted_at) {
  ctx_->queue->Watch(array_id_);
}

ArrayTaskJob::~ArrayTaskJob() {
  if (!final_) {
    ctx_->Scancel({id_}, stderr_path_);  // nothing of ours is left running
    ctx_->queue->Unwatch(array_id_);
  }
}

std::optional<std::string> ArrayTaskJob::Gpus() const {
  if (!started_) return std::nullopt;
  return gpus_;
}

void ArrayTaskJob::ReadStderr() {
  watcher_.Read([this](const SlurmLine& l) {
    if (l.kind == Kind::kStarted && !started_) {
      started_ = true;
      node_ = l.node;
      gpus_ = l.gpus;
      own_id_ = l.jobid;
    } else if (l.kind == Kind::kExit && started_) {
      exit_code_ = l.code;
    } else {
      KeepHint(hint_, l.kind);
    }
  });
}

std::optional<exec::ExitInfo> ArrayTaskJob::Poll() {
  if (final_) return final_;
  ReadStderr();
  if (exit_code_) {
    exec::ExitInfo e;
    e.exit_code = *exit_code_;
    return Finish(e);
  }
  // Not ended by its own account: ask the shared squeue (rate-limited).
  std::optional<SlurmJobState> st = ctx_->queue->State(id_, submitted_at_, /*urgent=*/false);
  if (!st) return std::nullopt;
  const double now = NowSeconds();
  if (st->state.empty()) {
    if (!accounting_tried_) {
      accounting_tried_ = true;
      if (auto acct = ctx_->queue->Accounting(id_)) st = acct;
    }
    if (st->state.empty()) {
      if (gone_since_ == 0) gone_since_ = now;
      if (now - gone_since_ < kMarkerLag) return std::nullopt;
      exec::ExitInfo e;
      e.exit_code = 1;
      e.lost = "slurm job " + id_ + " is no longer known to Slurm and did not report its end";
      return Finish(e);
    }
  }
  if (!IsFinalState(st->state)) return std::nullopt;
  // Slurm says it ended; its exit line may lag on a shared filesystem.
  if (final_seen_at_ == 0) final_seen_at_ = now;
  if (started_ && (st->state == "COMPLETED" || st->state == "FAILED") &&
      now - final_seen_at_ < kMarkerLag) {
    return std::nullopt;
  }
  exec::ExitInfo e;
  if (signalled_) {
    e.exit_code = st->exit_code.value_or(143);
    if (e.exit_code == 0) e.exit_code = 143;  // cancelled before it started
  } else {
    e = ExitFromState(*st, std::nullopt);
  }
  return Finish(e);
}

std::optional<exec::ExitInfo> ArrayTaskJob::Finish(exec::ExitInfo e) {
  ctx_->queue->Unwatch(array_id_);
  if (!e.lost.empty()) AppendNote(stderr_path_, "lost: " + e.lost);
  else if (!e.detail.empty()) AppendNote(stderr_path_, e.detail);
  final_ = e;
  return final_;
}

void ArrayTaskJob::Signal(int sig) {
  if (final_) return;
  ReadStderr();
  if (exit_code_) return;  // it has just ended: nothing to signal
  signalled_ = true;
  // A running task by its own job id: the array's record may be busy
  // starting its next task ("Job can not be altered now").
  const std::string& target = started_ && !own_id_.empty() ? own_id_ : id_;
  if (sig == SIGKILL || !started_) {
    ctx_->Scancel({target}, stderr_path_);  // queued: cancel; else TERM, KILL after KillWait
    return;
  }
  // --full: the batch step is the task itself (its shell and the command).
  ctx_->Scancel({"--signal=" + SignalName(sig), "--full", target}, stderr_path_);
}

}  // namespace orchard::remote
