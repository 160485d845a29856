#include "orchestrator/remote/slurm_executor.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <filesystem>
#include <sstream>

#include "orchestrator/remote/slurm_jobs.h"
#include "orchestrator/util/clock.h"

namespace orchard::remote {

namespace fs = std::filesystem;

namespace {

// How long Start waits for srun to name its job (it does within milliseconds
// when the controller answers; a slow one only delays the label).
constexpr double kJobIdWait = 2;

std::string Absolute(const std::string& dir) {
  std::error_code ec;
  fs::path p = dir.empty() ? fs::current_path(ec) : fs::absolute(dir, ec);
  return p.lexically_normal().string();
}

bool ValidEnvName(const std::string& k) {
  if (k.empty() || std::isdigit(static_cast<unsigned char>(k[0]))) return false;
  for (char c : k) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  }
  return true;
}

// The array's job name after "orchard-": what the jobs' names share
// ("worker-0-1", "worker-1-1" -> "worker"), else the first name.
std::string ArrayName(const std::vector<exec::JobSpec>& specs) {
  std::string common = specs.front().name;
  for (const auto& s : specs) {
    size_t n = 0;
    while (n < common.size() && n < s.name.size() && common[n] == s.name[n]) ++n;
    common.resize(n);
  }
  while (!common.empty() && (common.back() == '-' || common.back() == '_')) common.pop_back();
  return common.empty() ? specs.front().name : common;
}

Status CreateJournal(const std::string& path) {
  int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return Status::IoError("cannot create " + path + ": " + strerror(errno));
  close(fd);
  return Status::Ok();
}

class SlurmExecutor : public exec::Executor {
 public:
  SlurmExecutor(std::shared_ptr<SlurmContext> ctx, std::string description)
      : ctx_(std::move(ctx)), description_(std::move(description)) {}

  std::string Name() const override { return "slurm"; }
  bool Queues() const override { return true; }

  // Slurm places jobs and queues what does not fit: the only cap is ours.
  int Capacity(int) const override {
    return ctx_->config.max_jobs > 0 ? ctx_->config.max_jobs : INT_MAX;
  }

  std::optional<exec::Placement> Acquire(int gpus) override {
    exec::Placement p;
    p.gpu_count = std::max(0, gpus);
    return p;
  }

  void Release(const exec::Placement&) override {}

  Result<std::unique_ptr<exec::Job>> Start(const exec::JobSpec& spec,
                                           const exec::Placement& where) override {
    if (spec.argv.empty()) return Status::InvalidArgument("no command to run on Slurm");
    exec::LaunchSpec l;
    l.argv = {ctx_->srun, "--job-name=" + spec.name, "--chdir=" + Absolute(spec.cwd),
              "--export=ALL"};
    for (auto& o : ResourceOptions(ctx_->config, where.gpu_count)) l.argv.push_back(std::move(o));
    for (const char* w : {"/bin/sh", "-c", kSrunWrapper, "orchard-slurm"}) l.argv.push_back(w);
    l.argv.insert(l.argv.end(), spec.argv.begin(), spec.argv.end());
    // srun hands its own environment to the task (--export=ALL): values
    // with commas survive, which --export=K=V lists would split.
    l.env = spec.env;
    // Slurm sets CUDA_VISIBLE_DEVICES for the GPUs it assigns; a CPU job
    // must not inherit ours.
    if (where.gpu_count <= 0) l.env["CUDA_VISIBLE_DEVICES"] = "";
    l.cwd = spec.cwd;
    l.stdout_path = spec.stdout_path;
    l.stderr_path = spec.stderr_path;
    auto child = exec::ChildProcess::Start(l);
    if (!child.ok()) return child.status().WithContext("slurm");
    auto job = std::make_unique<SrunJob>(ctx_, std::move(child).value(), spec);
    job->WaitForJobId(kJobIdWait);
    return std::unique_ptr<exec::Job>(std::move(job));
  }

  // Like jobs (one GPU count) as one job array: one submission, one entry in
  // the queue, at most max_jobs tasks at once.
  Result<std::vector<std::unique_ptr<exec::Job>>> StartMany(
      const std::vector<exec::JobSpec>& specs,
      const std::vector<exec::Placement>& where) override {
    bool alike = specs.size() >= 2 && specs.size() == where.size();
    for (const auto& w : where) alike = alike && w.gpu_count == where.front().gpu_count;
    if (!alike) return Executor::StartMany(specs, where);
    for (const auto& s : specs) {
      if (s.argv.empty()) {
        return Status::InvalidArgument("no command to run on Slurm for " + s.name);
      }
      for (const auto& [k, v] : s.env) {
        if (!ValidEnvName(k)) {
          return Status::InvalidArgument("slurm: environment variable name '" + k + "' of " +
                                         s.name + " is not a shell name");
        }
      }
    }
    const int gpus = where.front().gpu_count;
    // sbatch copies the script when it submits: a local temporary file does.
    std::string script_path = (fs::temp_directory_path() / "orchard-sbatch-XXXXXX").string();
    int fd = mkstemp(script_path.data());
    if (fd < 0) {
      return Status::IoError("slurm: cannot write a batch script in " +
                             fs::temp_directory_path().string() + ": " + strerror(errno));
    }
    const std::string script = ArrayScript(specs, gpus <= 0);
    bool written = write(fd, script.data(), script.size()) == static_cast<ssize_t>(script.size());
    close(fd);
    struct Remove {
      std::string path;
      ~Remove() { unlink(path.c_str()); }
    } remove{script_path};
    if (!written) return Status::IoError("slurm: cannot write the batch script " + script_path);
    for (const auto& s : specs) {  // the tasks append to them
      ORCHARD_RETURN_IF_ERROR(CreateJournal(s.stdout_path));
      ORCHARD_RETURN_IF_ERROR(CreateJournal(s.stderr_path));
    }
    std::string array = "--array=0-" + std::to_string(specs.size() - 1);
    if (ctx_->config.max_jobs > 0 && ctx_->config.max_jobs < static_cast<int>(specs.size())) {
      array += "%" + std::to_string(ctx_->config.max_jobs);
    }
    std::vector<std::string> argv = {ctx_->sbatch, "--parsable", array,
                                     "--job-name=orchard-" + ArrayName(specs),
                                     // Each task writes its own journals; Slurm's
                                     // file would only hold its own notices.
                                     "--output=/dev/null", "--export=ALL",
                                     "--chdir=" + Absolute(specs.front().cwd)};
    for (auto& o : ResourceOptions(ctx_->config, gpus)) argv.push_back(std::move(o));
    argv.push_back(script_path);
    const double submitted = NowSeconds();
    auto r = ctx_->cli(argv, 60);
    if (!r.ok()) return r.status().WithContext("slurm");
    std::optional<std::string> id = r->exit_code == 0 ? ParseSbatchId(r->out) : std::nullopt;
    if (!id) {
      return Status::IoError("slurm: sbatch did not submit the array of " +
                             std::to_string(specs.size()) + " jobs: " + OneLine(r->out) +
                             " (exit " + std::to_string(r->exit_code) + ")");
    }
    std::vector<std::unique_ptr<exec::Job>> jobs;
    for (size_t i = 0; i < specs.size(); ++i) {
      jobs.push_back(
          std::make_unique<ArrayTaskJob>(ctx_, *id, static_cast<int>(i), specs[i], submitted));
    }
    return jobs;
  }

  std::string Describe() const override {
    const int cap = ctx_->config.max_jobs;
    return description_ + (cap > 0 ? ", at most " + std::to_string(cap) + " jobs at once" : "");
  }

 private:
  std::shared_ptr<SlurmContext> ctx_;
  std::string description_;
};

// `name` in `bin` (when set), else as found on PATH; "" when missing.
std::string FindCommand(const std::string& name, const std::string& bin) {
  if (!bin.empty()) {
    fs::path p = fs::path(bin) / name;
    return access(p.c_str(), X_OK) == 0 ? p.string() : "";
  }
  const char* path = getenv("PATH");
  std::stringstream ss(path ? path : "");
  for (std::string dir; std::getline(ss, dir, ':');) {
    fs::path p = fs::path(dir.empty() ? "." : dir) / name;
    if (access(p.c_str(), X_OK) == 0) return p.string();
  }
  return "";
}

}  // namespace

std::unique_ptr<exec::Executor> NewSlurmExecutor(SlurmConfig config, SlurmCli cli,
                                                 std::string description) {
  auto ctx = std::make_shared<SlurmContext>();
  ctx->cli = cli;
  auto path = [&](const char* name) {
    return config.bin.empty() ? std::string(name) : (fs::path(config.bin) / name).string();
  };
  ctx->srun = path("srun");
  ctx->sbatch = path("sbatch");
  ctx->scancel = path("scancel");
  ctx->queue = std::make_shared<SlurmQueue>(cli, path("squeue"), path("sacct"), config.poll_s,
                                            [] { return NowSeconds(); });
  ctx->config = std::move(config);
  return std::make_unique<SlurmExecutor>(std::move(ctx), std::move(description));
}

Result<std::unique_ptr<exec::Executor>> MakeSlurmExecutor(const nlohmann::json& config,
                                                          const exec::ExecutorOptions& options) {
  auto c = ParseSlurmConfig(config);
  if (!c.ok()) return c.status();
  if (!c->bin.empty() && fs::path(c->bin).is_relative() && !options.base_dir.empty()) {
    c->bin = (fs::path(options.base_dir) / c->bin).lexically_normal().string();
  }
  std::string sinfo;
  for (const char* name : {"srun", "sbatch", "squeue", "scancel", "sinfo"}) {
    std::string found = FindCommand(name, c->bin);
    if (found.empty()) {
      return Status::NotFound(
          "executor slurm: " + std::string(name) + " not found " +
          (c->bin.empty() ? "on PATH" : "in " + c->bin + " (executor.slurm.bin)") +
          "; run Orchard on a Slurm submit host (Debian: slurm-client), or name the folder of "
          "Slurm's commands with executor.slurm.bin");
    }
    sinfo = found;
  }
  // One question to the controller now: a wrong partition or an unreachable
  // cluster fails here, before any run is recorded.
  std::vector<std::string> argv = {sinfo, "-h", "-o", kSinfoFormat};
  if (!c->partition.empty()) argv.insert(argv.begin() + 2, {"-p", c->partition});
  auto r = RunSlurmCommand(argv, 30);
  if (!r.ok()) return r.status();
  if (r->exit_code != 0) {
    return Status::IoError("executor slurm: cannot reach the cluster: sinfo: " + OneLine(r->out) +
                           " (is slurmctld up, and SLURM_CONF set when the configuration is not "
                           "in /etc/slurm?)");
  }
  std::optional<std::string> what = DescribePartition(r->out, c->partition);
  if (!what) {
    return Status::InvalidArgument(
        c->partition.empty()
            ? "executor.slurm.partition: the cluster has no default partition; name one (sinfo "
              "lists: " + OneLine(r->out, 200) + ")"
            : "executor.slurm.partition: the cluster has no partition '" + c->partition +
                  "' (see `sinfo -s` for those it has)");
  }
  return NewSlurmExecutor(std::move(c).value(), RunSlurmCommand, *what);
}

}  // namespace orchard::remote
