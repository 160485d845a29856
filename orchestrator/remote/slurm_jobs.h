// The two kinds of Slurm job handle behind the Slurm executor
// (slurm_executor.h): SrunJob, a job run by a local `srun` client, and
// ArrayTaskJob, one task of an `sbatch --array`. Each is owned by one thread;
// what they share (settings, commands, the squeue cache) is thread-safe.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "orchestrator/exec/child_process.h"
#include "orchestrator/exec/executor.h"
#include "orchestrator/remote/slurm_config.h"
#include "orchestrator/remote/slurm_parse.h"
#include "orchestrator/remote/slurm_queue.h"

namespace orchard::remote {

// What the executor and its jobs share.
struct SlurmContext {
  SlurmConfig config;
  SlurmCli cli;
  std::string srun = "srun", sbatch = "sbatch", scancel = "scancel";
  std::shared_ptr<SlurmQueue> queue;
  // scancel ARGS...; false (with a note in `journal`) when it failed.
  bool Scancel(const std::vector<std::string>& args, const std::string& journal) const;
};

// Appends "orchard: TEXT\n" to a journal file (the job's stderr), so that
// what the executor did or learned shows in the run's output.
void AppendNote(const std::string& journal, const std::string& text);

// Reads the Slurm lines (slurm_parse.h) a job's stderr journal gains.
class StderrWatcher {
 public:
  explicit StderrWatcher(std::string path) : path_(std::move(path)) {}
  ~StderrWatcher();
  // Parses each complete line appended since the last call (at most `max`
  // bytes a call, so a chatty trainer cannot make Poll slow).
  void Read(const std::function<void(const SlurmLine&)>& on_line, size_t max = 1 << 20);
  // Skips ahead to the last `keep` bytes (the rest holds nothing needed).
  void SkipToTail(size_t keep);

 private:
  bool Open();
  std::string path_;
  int fd_ = -1;
  int64_t offset_ = 0;
  std::string partial_;
  bool skipping_ = false;  // inside an overlong line
};

class SrunJob : public exec::Job {
 public:
  SrunJob(std::shared_ptr<const SlurmContext> ctx, std::unique_ptr<exec::ChildProcess> srun,
          const exec::JobSpec& spec);
  ~SrunJob() override;  // a job still running is cancelled and srun reaped (bounded)

  // Waits (up to timeout_s) until srun names its job or ends: Where() and
  // Signal() then know the job.
  void WaitForJobId(double timeout_s);

  std::string Where() const override;
  pid_t pid() const override { return srun_->pid(); }
  std::optional<exec::ExitInfo> Poll() override;
  void Signal(int sig) override;
  bool Queued() const override { return !started_ && !final_; }
  std::optional<std::string> Gpus() const override;

 private:
  void OnLine(const SlurmLine& line);
  std::optional<exec::ExitInfo> Finish(exec::ExitInfo e);

  std::shared_ptr<const SlurmContext> ctx_;
  std::unique_ptr<exec::ChildProcess> srun_;
  std::string stderr_path_;
  StderrWatcher watcher_;
  std::string job_, node_, gpus_;
  std::string srun_error_;  // srun's last "error:" line, when the job never started
  bool started_ = false, signalled_ = false, pending_term_ = false, watching_ = false;
  bool accounting_tried_ = false;
  SlurmLine::Kind hint_ = SlurmLine::Kind::kOther;
  std::optional<exec::ExitInfo> srun_exit_, final_;
  double ended_at_ = 0;
};

class ArrayTaskJob : public exec::Job {
 public:
  ArrayTaskJob(std::shared_ptr<const SlurmContext> ctx, std::string array_id, int index,
               const exec::JobSpec& spec, double submitted_at);
  ~ArrayTaskJob() override;  // a task not yet ended is cancelled

  std::string Where() const override {
    return "slurm job " + id_ + (node_.empty() ? "" : " on " + node_);
  }
  pid_t pid() const override { return -1; }
  std::optional<exec::ExitInfo> Poll() override;
  void Signal(int sig) override;
  bool Queued() const override { return !started_ && !final_; }
  std::optional<std::string> Gpus() const override;

 private:
  void ReadStderr();
  std::optional<exec::ExitInfo> Finish(exec::ExitInfo e);

  std::shared_ptr<const SlurmContext> ctx_;
  std::string array_id_, id_;  // "118", "118_3"
  std::string own_id_;         // the running task's own job id ("121"), for scancel
  std::string stderr_path_;
  StderrWatcher watcher_;
  double submitted_at_;
  std::string node_, gpus_;
  bool started_ = false, signalled_ = false, accounting_tried_ = false;
  std::optional<int> exit_code_;  // from the wrapper's kExit line
  SlurmLine::Kind hint_ = SlurmLine::Kind::kOther;
  double final_seen_at_ = 0, gone_since_ = 0;
  std::optional<exec::ExitInfo> final_;
};

}  // namespace orchard::remote
