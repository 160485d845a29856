#include "orchestrator/exec/run_launcher.h"

#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <random>

#include "flags/flag_value.h"
#include "orchestrator/capture/code_snapshot.h"
#include "orchestrator/capture/git_info.h"
#include "orchestrator/capture/environment.h"
#include "orchestrator/exec/journal_tail.h"
#include "orchestrator/exec/output_pump.h"
#include "orchestrator/util/clock.h"
#include "orchestrator/util/sha256.h"

namespace fs = std::filesystem;

namespace orchard::exec {

namespace {

// Artifact indexing is bounded so a run that writes a million files cannot
// stall the orchestrator.
constexpr size_t kMaxArtifacts = 20000;

int64_t DrawSeed() {
  std::random_device rd;
  return static_cast<int64_t>(rd() & 0x7fffffff);
}

void WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // our own stdout is gone: keep recording anyway
    data.remove_prefix(static_cast<size_t>(n));
  }
}

}  // namespace

std::vector<std::string> TrainerArgv(const std::vector<std::string>& command,
                                     const nlohmann::json& flags) {
  std::vector<std::string> argv = command;
  for (auto it = flags.begin(); it != flags.end(); ++it) {
    argv.push_back("--" + it.key() + "=" + flags::FormatScalar(it.value()));
  }
  return argv;
}

RunLauncher::RunLauncher(const store::Home& home, store::SqliteRunStore& store,
                         store::StoreWriter& writer)
    : home_(home), store_(store), writer_(writer) {}

Result<std::string> RunLauncher::RecordCode(const std::string& run_id,
                                            const RunRequest& request) {
  std::string dir = request.source_dir.empty() ? request.cwd : request.source_dir;
  std::optional<capture::GitInfo> git = capture::CaptureGitInfo(dir);
  std::string snapshot_id;
  if (request.snapshot) {
    auto snap = capture::CaptureCodeSnapshot(dir);
    if (!snap.ok()) {
      writer_.AppendLog(run_id, "orchard", NowSeconds(),
                        "orchard: code snapshot skipped: " + snap.status().message() + "\n");
    } else {
      ORCHARD_RETURN_IF_ERROR(store_.PutSnapshot(*snap));
      snapshot_id = snap->id;
    }
  }
  Status set = git ? store_.SetCode(run_id, git->commit, git->dirty, git->diff, snapshot_id)
                   : store_.SetCode(run_id, "", std::nullopt, "", snapshot_id);
  if (!set.ok()) return set;
  return snapshot_id;
}

void RunLauncher::IndexArtifacts(const std::string& run_id, const std::string& run_dir) {
  std::vector<store::Artifact> found;
  std::error_code ec;
  auto it = fs::recursive_directory_iterator(run_dir, fs::directory_options::none, ec);
  for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    // Symlinks are not followed: a run cannot make us hash files outside it.
    if (!it->is_regular_file(ec) || it->is_symlink(ec)) continue;
    if (found.size() >= kMaxArtifacts) {
      writer_.AppendLog(run_id, "orchard", NowSeconds(),
                        "orchard: more than " + std::to_string(kMaxArtifacts) +
                            " files in the run folder; the rest are not indexed\n");
      break;
    }
    auto hash = Sha256File(it->path().string());
    if (!hash.ok()) continue;
    store::Artifact a;
    a.path = fs::relative(it->path(), run_dir, ec).generic_string();
    a.size = static_cast<int64_t>(it->file_size(ec));
    a.sha256 = *hash;
    struct stat st {};
    if (lstat(it->path().c_str(), &st) == 0) {
      a.mtime = static_cast<double>(st.st_mtim.tv_sec) + st.st_mtim.tv_nsec * 1e-9;
    }
    found.push_back(std::move(a));
  }
  Status s = store_.PutArtifacts(run_id, found);
  if (!s.ok()) {
    writer_.AppendLog(run_id, "orchard", NowSeconds(),
                      "orchard: artifacts not indexed: " + s.message() + "\n");
  }
}

Result<store::Run> RunLauncher::Prepare(const RunRequest& request) {
  ORCHARD_RETURN_IF_ERROR(store::EnsureHome(home_));
  store::Run run;
  run.name = request.name;
  run.tune_id = request.tune_id;
  run.status = store::RunStatus::kQueued;
  run.command = request.command;
  run.flags = request.flags;
  run.cwd = request.cwd;
  run.seed = request.seed ? *request.seed : DrawSeed();
  run.created_at = NowSeconds();
  // Where the trainer runs: a remote node's name (SSH), else this machine.
  run.host = request.placement.node.empty() ? capture::HostName() : request.placement.node;
  run.tags = request.tags;
  run.notes = request.notes;
  run.trial = request.trial;
  run.attempt = request.attempt;
  ORCHARD_RETURN_IF_ERROR(store_.CreateRun(run));
  run.run_dir = home_.RunDir(run.id);
  std::error_code ec;
  fs::create_directories(run.run_dir, ec);
  if (ec) {
    std::string why = "cannot create the run folder " + run.run_dir + ": " + ec.message();
    store_.FinishRun(run.id, store::RunStatus::kFailed, std::nullopt, NowSeconds(), why);
    return Status::IoError(why);
  }
  ORCHARD_RETURN_IF_ERROR(store_.SetRunContext(run.id, run.run_dir, run.env));
  return run;
}

Result<RunOutcome> RunLauncher::Launch(const RunRequest& request, StopRequests* stop) {
  auto run = Prepare(request);
  if (!run.ok()) return run.status();
  return Start(*run, request, stop);
}

Result<RunOutcome> RunLauncher::Start(const store::Run& prepared, const RunRequest& request,
                                      StopRequests* stop) {
  store::Run run = prepared;
  const std::string& run_dir = run.run_dir;
  RunOutcome outcome;
  outcome.run_id = run.id;
  if (on_created) on_created(run.id);
  // The environment the trainer really gets: its own GPUs, not ours.
  run.env = capture::CaptureEnvironment();
  if (request.cuda_visible_devices) run.env["cuda_visible_devices"] = *request.cuda_visible_devices;
  if (request.executor != nullptr && request.executor->Name() != "local") {
    // The rest describes the machine that launched it.
    run.env["executor"] = request.executor->Name();
    if (!request.placement.node.empty()) run.env["node"] = request.placement.node;
  }
  Status env_s = store_.SetRunContext(run.id, run_dir, run.env);
  if (!env_s.ok()) {
    writer_.AppendLog(run.id, "orchard", NowSeconds(),
                      "orchard: environment not recorded: " + env_s.message() + "\n");
  }

  auto code = RecordCode(run.id, request);
  if (!code.ok()) {
    writer_.AppendLog(run.id, "orchard", NowSeconds(),
                      "orchard: code not recorded: " + code.status().message() + "\n");
  }

  JobSpec spec;
  spec.name = run.id;
  spec.argv = TrainerArgv(request.command, request.flags);
  spec.cwd = request.cwd;
  spec.stdout_path = home_.JournalPath(run.id, "stdout");
  spec.stderr_path = home_.JournalPath(run.id, "stderr");
  spec.run_dir = run_dir;
  spec.snapshot_id = code.ok() ? *code : "";
  spec.store_path = home_.db_path;
  spec.grace_s = request.grace_seconds;
  spec.env["ORCHARD_RUN_ID"] = run.id;
  spec.env["ORCHARD_RUN_DIR"] = run_dir;
  spec.env["ORCHARD_SEED"] = std::to_string(*run.seed);
  spec.env["ORCHARD_HOME"] = home_.root;
  spec.env["PYTHONUNBUFFERED"] = "1";  // Python trainers stream instead of buffering
  spec.cuda_visible_devices = request.cuda_visible_devices;

  std::unique_ptr<Executor> own;
  Executor* executor = request.executor;
  if (executor == nullptr) {
    auto local = MakeLocalExecutor({});
    if (!local.ok()) return local.status();
    own = std::move(local).value();
    executor = own.get();
  }
  auto started = executor->Start(spec, request.placement);
  if (!started.ok()) {
    outcome.error = started.status().message();
    outcome.exit.exit_code = 127;
    writer_.AppendLog(run.id, "orchard", NowSeconds(), "orchard: " + outcome.error + "\n");
    writer_.Flush();
    ORCHARD_RETURN_IF_ERROR(store_.FinishRun(run.id, store::RunStatus::kFailed, 127,
                                             NowSeconds(), outcome.error));
    outcome.status = store::RunStatus::kFailed;
    return outcome;
  }
  std::unique_ptr<Job> child = std::move(started).value();
  if (executor->Name() != "local") {
    writer_.AppendLog(run.id, "orchard", NowSeconds(),
                      "orchard: started on " + executor->Name() + ": " + child->Where() + " (" +
                          request.placement.Describe() + ")\n");
  }
  // A job waiting in a scheduler's queue has not started: its start time is
  // when it leaves the queue.
  bool queued = child->Queued();
  if (queued && on_queued) on_queued(true);
  if (!queued) ORCHARD_RETURN_IF_ERROR(store_.MarkStarted(run.id, child->pid(), NowSeconds()));

  RunCounters counters;
  const auto* observer = on_metrics ? &on_metrics : nullptr;
  OutputPump out(run.id, "stdout", writer_, counters, observer);
  OutputPump err(run.id, "stderr", writer_, counters, observer);
  auto out_tail = JournalTail::Open(spec.stdout_path, 0);
  if (!out_tail.ok()) return out_tail.status();
  auto err_tail = JournalTail::Open(spec.stderr_path, 0);
  if (!err_tail.ok()) return err_tail.status();
  FileWatch watch({spec.stdout_path, spec.stderr_path});
  auto drain = [&](double now) {
    (*out_tail)->ReadNew([&](std::string_view chunk) {
      if (request.echo) WriteAll(STDOUT_FILENO, chunk);
      out.Feed(chunk, now);
    });
    (*err_tail)->ReadNew([&](std::string_view chunk) {
      if (request.echo) WriteAll(STDERR_FILENO, chunk);
      err.Feed(chunk, now);
    });
  };

  // The timeout counts from the start, not from the submission to a queue.
  double deadline = request.timeout_s > 0 && !queued ? NowSeconds() + request.timeout_s : 0;
  bool timed_out = false;
  bool stop_requested = false;
  double kill_deadline = 0;
  std::optional<ExitInfo> exit;
  for (;;) {
    pollfd fds[3];
    int n = 0, stop_i = -1;
    if (watch.fd() >= 0) fds[n++] = {watch.fd(), POLLIN, 0};
    if (stop && stop->fd() >= 0) { stop_i = n; fds[n++] = {stop->fd(), POLLIN, 0}; }
    if (child->exit_fd() >= 0) fds[n++] = {child->exit_fd(), POLLIN, 0};  // wakes at its end
    // inotify wakes us on output; the timeout reaps the child and covers a
    // file system without inotify.
    int timeout_ms = watch.fd() >= 0 && !stop_requested ? 100 : 20;
    int rc = poll(fds, n, timeout_ms);
    if (rc < 0 && errno != EINTR) break;
    watch.Drain();
    double now = NowSeconds();
    // Reap first, then read: once it has exited, its files hold all it wrote.
    exit = child->Poll();
    drain(now);
    if (queued && (exit || !child->Queued())) {
      queued = false;
      if (on_queued) on_queued(false);
      if (request.timeout_s > 0) deadline = now + request.timeout_s;
      Status marked = store_.MarkStarted(run.id, child->pid(), now);
      if (!marked.ok()) {
        writer_.AppendLog(run.id, "orchard", now, "orchard: start not recorded: " +
                                                      marked.message() + "\n");
      }
    }
    if (exit) break;
    if (rc > 0 && stop_i >= 0 && (fds[stop_i].revents & POLLIN)) {
      int count = stop->Drain();
      if (!stop_requested) {
        stop_requested = true;
        kill_deadline = now + request.grace_seconds;
        writer_.AppendLog(run.id, "orchard", now,
                          "orchard: stop requested; sent SIGTERM to the trainer\n");
        child->Signal(SIGTERM);
      }
      if (count >= 2) child->Signal(SIGKILL);
    }
    if (deadline > 0 && !stop_requested && now >= deadline) {
      timed_out = stop_requested = true;
      kill_deadline = now + request.grace_seconds;
      writer_.AppendLog(run.id, "orchard", now,
                        "orchard: timed out; sent SIGTERM to the trainer\n");
      child->Signal(SIGTERM);
    }
    if (stop_requested && now >= kill_deadline) {
      writer_.AppendLog(run.id, "orchard", now,
                        "orchard: the trainer did not stop within the grace period; "
                        "sent SIGKILL\n");
      child->Signal(SIGKILL);
      kill_deadline = now + 3600;  // once
    }
  }
  if (!exit) {  // poll() failed: stop the job and wait for it (bounded)
    child->Signal(SIGKILL);
    for (int i = 0; i < 600 && !(exit = child->Poll()); ++i) usleep(50000);
    if (!exit) {
      exit = ExitInfo{};
      exit->exit_code = 137;
      exit->signal = SIGKILL;
      exit->detail = "the job did not end after SIGKILL";
    }
  }
  drain(NowSeconds());
  out.Finish(NowSeconds());
  err.Finish(NowSeconds());
  if (auto gpus = child->Gpus(); gpus && gpus != request.cuda_visible_devices) {
    run.env["cuda_visible_devices"] = *gpus;  // what the cluster assigned
    Status s = store_.SetRunContext(run.id, run_dir, run.env);
    if (!s.ok()) {
      writer_.AppendLog(run.id, "orchard", NowSeconds(),
                        "orchard: assigned GPUs not recorded: " + s.message() + "\n");
    }
  }
  Status collected = child->Collect();
  if (!collected.ok()) {
    writer_.AppendLog(run.id, "orchard", NowSeconds(),
                      "orchard: run folder not copied back from " + child->Where() + ": " +
                          collected.message() + "\n");
  }
  outcome.exit = *exit;
  outcome.points = counters.points;
  outcome.malformed = counters.malformed;
  double finished = NowSeconds();
  if (counters.malformed > 0) {
    writer_.AppendLog(run.id, "orchard", finished,
                      "orchard: " + std::to_string(counters.malformed) +
                          " malformed metric line(s) kept as log text; first: " +
                          counters.first_malformed + "\n");
  }
  if (!exit->lost.empty()) {
    outcome.status = store::RunStatus::kFailed;
    outcome.error = "lost: " + exit->lost;
  } else if (timed_out) {
    outcome.status = store::RunStatus::kFailed;
    outcome.error = "timed out after " + FormatDuration(request.timeout_s) + " (" +
                    exit->Describe() + ")";
  } else if (stop_requested) {
    outcome.status = stop ? stop->final_status() : store::RunStatus::kCancelled;
    outcome.error = (stop ? stop->reason() : std::string("cancelled")) + " (" +
                    exit->Describe() + ")";
  } else if (exit->exit_code == 0 && exit->signal == 0) {
    outcome.status = store::RunStatus::kCompleted;
  } else {
    outcome.status = store::RunStatus::kFailed;
    std::string tail = err.Tail();
    outcome.error = "trainer failed: " + exit->Describe();
    if (!tail.empty()) outcome.error += "\n--- stderr tail ---\n" + tail;
  }
  IndexArtifacts(run.id, run_dir);
  Status flushed = writer_.Flush();
  Status finished_s = store_.FinishRun(run.id, outcome.status, exit->exit_code, finished,
                                       outcome.error);
  ORCHARD_RETURN_IF_ERROR(flushed);
  ORCHARD_RETURN_IF_ERROR(finished_s);
  return outcome;
}

}  // namespace orchard::exec

namespace orchard::exec {

Result<int64_t> RecoverOutput(const store::Home& home, store::SqliteRunStore& store,
                              const std::string& run_id) {
  RunCounters counters;
  auto sums = store.GetMetricSummaries(run_id);
  if (!sums.ok()) return sums.status();
  for (const auto& s : *sums) counters.next_step = std::max(counters.next_step, s.last_step + 1);
  auto conn = store::SqliteRunStore::Open(home.db_path);
  if (!conn.ok()) return conn.status();
  store::StoreWriter writer(std::move(conn).value());
  double now = NowSeconds();
  for (const char* stream : {"stdout", "stderr"}) {
    std::string path = home.JournalPath(run_id, stream);
    std::error_code ec;
    if (!fs::exists(path, ec)) continue;
    auto offset = store.GetIngestOffset(run_id, stream);
    if (!offset.ok()) return offset.status();
    auto tail = JournalTail::Open(path, *offset);
    if (!tail.ok()) return tail.status();
    OutputPump pump(run_id, stream, writer, counters, nullptr, *offset);
    (*tail)->ReadNew([&](std::string_view chunk) { pump.Feed(chunk, now); });
    pump.Finish(now);
  }
  if (counters.points > 0) {
    writer.AppendLog(run_id, "orchard", now,
                     "orchard: recovered " + std::to_string(counters.points) +
                         " metric point(s) from the output journal after the orchestrator "
                         "stopped\n");
  }
  ORCHARD_RETURN_IF_ERROR(writer.Flush());
  return counters.points;
}

}  // namespace orchard::exec
