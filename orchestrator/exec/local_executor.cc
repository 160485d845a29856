// The local executor: child processes on this machine, GPUs from GpuSlots.
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <climits>
#include <mutex>

#include "flags/flag_value.h"
#include "orchestrator/capture/environment.h"
#include "orchestrator/exec/executor.h"
#include "orchestrator/exec/gpu_slots.h"

namespace orchard::exec {

std::string Placement::Describe() const {
  std::string gpu_list;
  for (const auto& g : gpus) gpu_list += (gpu_list.empty() ? "" : ",") + g;
  std::string where = node;
  if (!gpu_list.empty()) {
    where += (where.empty() ? "" : " ") + std::string("GPU ") + gpu_list;
  } else if (gpu_count > 0) {
    where += (where.empty() ? "" : " ") + std::to_string(gpu_count) + " GPU(s)";
  } else {
    where += (where.empty() ? "" : " ") + std::string("CPU");
  }
  return where;
}

Result<std::vector<std::unique_ptr<Job>>> Executor::StartMany(
    const std::vector<JobSpec>& specs, const std::vector<Placement>& where) {
  std::vector<std::unique_ptr<Job>> jobs;
  for (size_t i = 0; i < specs.size() && i < where.size(); ++i) {
    auto job = Start(specs[i], where[i]);
    if (!job.ok()) return job.status();  // those started are killed with `jobs`
    jobs.push_back(std::move(job).value());
  }
  return jobs;
}

void Executor::NodeLost(const Placement&, const std::string&) {}

namespace {

class LocalJob : public Job {
 public:
  explicit LocalJob(std::unique_ptr<ChildProcess> child, std::optional<std::string> gpus)
      : child_(std::move(child)), gpus_(std::move(gpus)) {
#ifdef SYS_pidfd_open
    pidfd_ = static_cast<int>(syscall(SYS_pidfd_open, child_->pid(), 0));  // Linux >= 5.3
#endif
  }
  ~LocalJob() override {
    if (pidfd_ >= 0) close(pidfd_);
  }
  int exit_fd() const override { return pidfd_; }
  std::string Where() const override { return "pid " + std::to_string(child_->pid()); }
  pid_t pid() const override { return child_->pid(); }
  std::optional<ExitInfo> Poll() override { return child_->Poll(); }
  void Signal(int sig) override { child_->Signal(sig); }
  std::optional<std::string> Gpus() const override { return gpus_; }

 private:
  std::unique_ptr<ChildProcess> child_;
  std::optional<std::string> gpus_;
  int pidfd_ = -1;
};

class LocalExecutor : public Executor {
 public:
  LocalExecutor(std::vector<std::string> gpu_ids, int per_gpu)
      : slots_(std::move(gpu_ids), per_gpu) {}

  std::string Name() const override { return "local"; }

  int Capacity(int gpus) const override {
    return gpus <= 0 ? INT_MAX : std::max(1, slots_.Capacity(gpus));
  }

  std::optional<Placement> Acquire(int gpus) override {
    auto ids = slots_.TryAcquire(std::max(0, gpus));
    if (!ids) return std::nullopt;
    Placement p;
    p.gpus = std::move(*ids);
    p.gpu_count = std::max(0, gpus);
    return p;
  }

  void Release(const Placement& where) override { slots_.Release(where.gpus); }

  Result<std::unique_ptr<Job>> Start(const JobSpec& spec, const Placement&) override {
    LaunchSpec launch;
    launch.argv = spec.argv;
    launch.env = spec.env;
    launch.cwd = spec.cwd;
    launch.stdout_path = spec.stdout_path;
    launch.stderr_path = spec.stderr_path;
    if (spec.cuda_visible_devices) launch.env["CUDA_VISIBLE_DEVICES"] = *spec.cuda_visible_devices;
    auto child = ChildProcess::Start(launch);
    if (!child.ok()) return child.status();
    return std::unique_ptr<Job>(
        std::make_unique<LocalJob>(std::move(child).value(), spec.cuda_visible_devices));
  }

  std::string Describe() const override {
    if (slots_.ids().empty()) return "local";
    std::string ids;
    for (const auto& g : slots_.ids()) ids += (ids.empty() ? "" : ",") + g;
    return "local, GPUs " + ids;
  }

 private:
  GpuSlots slots_;
};

}  // namespace

Result<std::unique_ptr<Executor>> MakeLocalExecutor(const ExecutorOptions& options) {
  std::vector<std::string> ids = options.gpus;
  if (options.gpus_per_job > 0 && ids.empty()) {
    nlohmann::json env = capture::CaptureEnvironment();
    for (const auto& g : env.value("gpus", nlohmann::json::array())) {
      if (g.contains("index")) ids.push_back(flags::FormatScalar(g["index"]));
    }
    if (ids.empty()) {
      return Status::InvalidArgument(
          "each job needs " + std::to_string(options.gpus_per_job) +
          " GPU(s) but no GPU was found (nvidia-smi lists none); declare them with "
          "resources.gpus or --gpus, or ask for 0 GPUs to run on the CPU");
    }
  }
  return std::unique_ptr<Executor>(
      std::make_unique<LocalExecutor>(std::move(ids), std::max(1, options.jobs_per_gpu)));
}

}  // namespace orchard::exec
