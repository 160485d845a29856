#include "orchestrator/infer/driver.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <thread>

#include "orchestrator/capture/environment.h"
#include "orchestrator/infer/bundle.h"
#include "orchestrator/infer/inputs.h"
#include "orchestrator/infer/job.h"
#include "orchestrator/infer/progress.h"
#include "orchestrator/infer/records.h"
#include "orchestrator/infer/worker_pool.h"
#include "orchestrator/exec/gpu_slots.h"
#include "orchestrator/remote/executors.h"
#include "orchestrator/remote/ssh_ship.h"
#include "orchestrator/util/clock.h"

namespace orchard::infer {

namespace fs = std::filesystem;

namespace {

constexpr const char* kWorkerName = "orchard-train";

bool Executable(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec) && access(p.c_str(), X_OK) == 0;
}

std::string OnPath(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::stringstream ss(path ? path : "");
  std::string dir;
  while (std::getline(ss, dir, ':')) {
    fs::path p = fs::path(dir.empty() ? "." : dir) / name;
    if (Executable(p)) return p.string();
  }
  return "";
}

int CpuCount() {
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof set, &set) == 0) return std::max(1, CPU_COUNT(&set));
  return std::max(1u, std::thread::hardware_concurrency());
}

std::string Absolute(const std::string& p, const std::string& cwd) {
  fs::path a(p);
  if (a.is_relative()) a = fs::path(cwd) / a;
  a = a.lexically_normal();
  if (!a.has_filename() && a.has_parent_path() && a != a.root_path()) a = a.parent_path();
  return a.string();
}

// An exclusive flock on WORK/driver.lock, held while the driver runs.
class FolderLock {
 public:
  static Result<std::unique_ptr<FolderLock>> Acquire(const std::string& work) {
    std::string path = (fs::path(work) / kLockName).string();
    int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) return Status::IoError("cannot create " + path + ": " + std::strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
      close(fd);
      return Status::InvalidArgument("another `orchard infer` is working in " + work +
                                     " (it holds " + path + "); wait for it or stop it");
    }
    return std::unique_ptr<FolderLock>(new FolderLock(fd));
  }
  ~FolderLock() { close(fd_); }

 private:
  explicit FolderLock(int fd) : fd_(fd) {}
  int fd_;
};

// --executor other than local (Slurm): the executor, with --workers as its
// cap on workers at once when given.
bool OnCluster(const InferOptions& o) { return !(o.executor.is_null() || o.executor == "local"); }

Result<std::unique_ptr<exec::Executor>> ClusterExecutor(const InferOptions& o,
                                                        const std::string& cwd, bool gpu) {
  nlohmann::json config = o.executor;
  if (o.workers_given && config.is_object() && config.contains("slurm")) {
    nlohmann::json& s = config["slurm"];
    if (s.is_null()) s = nlohmann::json::object();
    if (s.is_object() && !s.contains("max_jobs")) s["max_jobs"] = o.workers;
  }
  exec::ExecutorOptions eo;
  eo.gpus_per_job = gpu ? 1 : 0;
  eo.base_dir = cwd;
  return remote::MakeExecutor(config, eo);
}

}  // namespace

Result<std::string> FindWorker(const std::string& flag, const std::string& self_exe) {
  if (!flag.empty()) {
    if (flag.find('/') == std::string::npos) {
      std::string found = OnPath(flag);
      if (found.empty()) return Status::NotFound("--worker " + flag + ": not found on PATH");
      return found;
    }
    if (!Executable(flag)) return Status::NotFound("--worker " + flag + ": not an executable file");
    return fs::absolute(flag).lexically_normal().string();
  }
  std::error_code ec;
  fs::path self = self_exe.empty() ? fs::read_symlink("/proc/self/exe", ec) : fs::path(self_exe);
  fs::path dir = self.parent_path();
  std::vector<fs::path> tried;
  if (!dir.empty()) {
    for (fs::path p : {dir / kWorkerName, (dir / ".." / "trainer" / kWorkerName).lexically_normal()}) {
      if (Executable(p)) return p.string();
      tried.push_back(p);
    }
  }
  std::string found = OnPath(kWorkerName);
  if (!found.empty()) return found;
  std::string where;
  for (const auto& p : tried) where += p.string() + ", ";
  return Status::NotFound(std::string("cannot find the inference worker ") + kWorkerName +
                          " (looked at " + where + "and on PATH); build it (the trainer needs "
                          "libtorch) or name it with --worker PATH");
}

Result<InferSummary> InferDriver::Run() {
  const double t0 = NowSeconds();
  std::error_code ec;
  const std::string cwd = opt_.cwd.empty() ? fs::current_path(ec).string() : opt_.cwd;
  if (opt_.batch < 1) return Status::InvalidArgument("--batch must be 1 or more");
  if (opt_.workers < 1) return Status::InvalidArgument("--workers must be 1 or more");
  if (opt_.top_k < 1) return Status::InvalidArgument("--top-k must be 1 or more");
  if (opt_.threads < 0) return Status::InvalidArgument("--threads must be 0 (automatic) or more");
  if (opt_.shards < 0) return Status::InvalidArgument("--shards must be 1 or more");
  if (opt_.retries < 0) return Status::InvalidArgument("--retries must be 0 or more");
  if (opt_.cpu && !opt_.gpus.empty()) return Status::InvalidArgument("--gpus and --cpu: choose one");

  const std::string output = Absolute(opt_.output, cwd);
  std::string format_text = opt_.format;
  if (format_text.empty()) format_text = fs::path(output).extension() == ".csv" ? "csv" : "jsonl";
  auto format = ParseOutFormat(format_text);
  if (!format.ok()) return format.status();

  const std::string bundle_dir = Absolute(opt_.bundle, cwd);
  auto bundle = LoadVerifiedBundle(bundle_dir);
  if (!bundle.ok()) return bundle.status();
  const nlohmann::json& card = bundle->card;
  int64_t classes = 0;
  if (card.contains("classes") && card["classes"].is_array()) classes = card["classes"].size();
  const nlohmann::json out_card = card.value("output", nlohmann::json::object());
  if (classes == 0 && out_card.is_object()) classes = out_card.value("classes", int64_t{0});
  RecordOptions record_opt{format_text, opt_.top_k, opt_.features};
  if (classes > 0 && record_opt.top_k > classes) record_opt.top_k = static_cast<int>(classes);
  if (opt_.features) record_opt.top_k = 0;  // not used by feature records
  if (opt_.features && !(out_card.is_object() && out_card.contains("features"))) {
    return Status::InvalidArgument("bundle " + bundle_dir + " has no features() (its card has no "
                                   "output.features: it was written before the method existed); "
                                   "export a newer run, or leave out --features");
  }

  auto inputs = EnumerateInputs(opt_.input, cwd);
  if (!inputs.ok()) return inputs.status();
  for (const auto& s : inputs->skipped) {
    log_ << "orchard: note: skipped an input whose name holds a tab or line break: " << s << "\n";
  }
  if (inputs->paths.empty()) {
    return Status::NotFound(
        inputs->from_folder
            ? "no images under " + inputs->source + " (looked for .png .jpg .jpeg .bmp; hidden "
              "files and folders are skipped)"
            : inputs->source + " names no inputs (one path per line; blank lines and # comments "
              "are skipped)");
  }
  const int64_t n_inputs = static_cast<int64_t>(inputs->paths.size());

  if (fs::is_directory(output, ec)) {
    return Status::InvalidArgument("--output " + output + " is a folder; name the file to write");
  }
  fs::create_directories(fs::path(output).parent_path(), ec);
  const std::string work = opt_.work.empty() ? output + ".parts" : Absolute(opt_.work, cwd);
  fs::create_directories(work, ec);
  if (ec) return Status::IoError("cannot create the work folder " + work + ": " + ec.message());
  auto lock = FolderLock::Acquire(work);
  if (!lock.ok()) return lock.status();
  auto foreign = ForeignFiles(work);
  if (!foreign.ok()) return foreign.status();
  if (!foreign->empty()) {
    return Status::InvalidArgument("the work folder " + work + " holds files that are not an "
                                   "`orchard infer` job's (" + foreign->front() +
                                   (foreign->size() > 1 ? ", ..." : "") +
                                   "); choose another with --work");
  }

  // Devices: one worker per GPU, else N CPU workers.
  std::vector<std::string> gpu_ids;
  const bool cluster = OnCluster(opt_);
  if (cluster && !opt_.gpus.empty()) {
    return Status::InvalidArgument("--gpus names GPUs of this machine; with --executor the cluster "
                                   "assigns each worker its GPU: leave --gpus out, or use --cpu");
  }
  if (!opt_.cpu && !cluster) {
    if (!opt_.gpus.empty()) {
      auto ids = exec::ParseGpuList(opt_.gpus);
      if (!ids || ids->empty()) {
        return Status::InvalidArgument("--gpus " + opt_.gpus + ": expected GPU ids like 0,1");
      }
      gpu_ids = *ids;
    } else {
      nlohmann::json env = capture::CaptureEnvironment();
      for (const auto& g : env.value("gpus", nlohmann::json::array())) {
        if (g.contains("index")) {
          gpu_ids.push_back(g["index"].is_string() ? g["index"].get<std::string>()
                                                   : g["index"].dump());
        }
      }
    }
  }
  const bool use_gpu = cluster ? !opt_.cpu : !gpu_ids.empty();
  const int wanted_workers =
      use_gpu && !cluster ? static_cast<int>(gpu_ids.size()) : opt_.workers;
  std::unique_ptr<exec::Executor> cluster_executor;  // before any file is written: fail early
  if (cluster) {
    auto made = ClusterExecutor(opt_, cwd, use_gpu);
    if (!made.ok()) return made.status();
    cluster_executor = std::move(made).value();
  }
  if (cluster_executor && !cluster_executor->SharesFiles()) {
    // Each input travels to the node under the worker's --root, as written.
    for (const auto& p : inputs->paths) {
      if (!remote::IsSafeRelativePath(p)) {
        return Status::InvalidArgument(
            "--executor ssh ships each input under its folder, but '" + p + "' in " +
            inputs->source + " is absolute or leaves it; list paths relative to the list's folder");
      }
    }
  }

  // The job: resume the work folder's, or plan a new one.
  const nlohmann::json identity = JobIdentity(bundle->card_sha256, *inputs, record_opt);
  auto found = ReadManifest(work);
  std::optional<Manifest> manifest;
  if (!found.ok()) {
    if (!opt_.restart) return found.status();
  } else {
    manifest = std::move(found).value();
  }
  if (manifest && !opt_.restart && manifest->job != identity) {
    return Status::InvalidArgument(
        "the work folder " + work + " belongs to another job: " +
        DescribeJobDifference(manifest->job, identity) +
        ". Re-run with --restart to discard its finished shards, or choose another --work");
  }
  if (manifest && !opt_.restart && opt_.shards > 0 &&
      PlanShards(n_inputs, opt_.shards).size() != manifest->shards.size()) {
    return Status::InvalidArgument("the work folder " + work + " was planned with " +
                                   std::to_string(manifest->shards.size()) + " shards, not " +
                                   std::to_string(opt_.shards) + "; leave out --shards to resume "
                                   "it, or --restart to plan it again");
  }
  if (opt_.restart) {
    ORCHARD_RETURN_IF_ERROR(ClearWorkFolder(work, /*remove_lock=*/false));
    manifest.reset();
  }
  if (!manifest) {
    Manifest m;
    m.job = identity;
    m.bundle = bundle_dir;
    m.input = inputs->source;
    m.output = output;
    m.created = NowSeconds();
    m.shards = PlanShards(n_inputs, opt_.shards > 0 ? opt_.shards : wanted_workers);
    manifest = std::move(m);
  }
  // Lists before the manifest: a manifest on disk means its lists are there.
  ORCHARD_RETURN_IF_ERROR(WriteShardLists(work, *inputs, manifest->shards));
  ORCHARD_RETURN_IF_ERROR(WriteManifest(work, *manifest));
  const std::vector<ShardRange>& shards = manifest->shards;
  const int n_shards = static_cast<int>(shards.size());
  auto out_path = [&](int id) { return (fs::path(work) / ShardFileName(id, "out")).string(); };

  // What is done already; a short .out is removed and redone.
  std::vector<bool> done(n_shards, false);
  std::vector<int> pending;
  int64_t images_at_start = 0;
  for (const auto& s : shards) {
    if (ShardDone(out_path(s.index), s.count, *format)) {
      done[s.index] = true;
      images_at_start += s.count;
    } else {
      fs::remove(out_path(s.index), ec);
      fs::remove(out_path(s.index) + ".tmp", ec);
      pending.push_back(s.index);
    }
  }
  InferSummary summary;
  summary.output = output;
  summary.work = work;
  summary.shards = n_shards;
  summary.shards_resumed = n_shards - static_cast<int>(pending.size());
  if (summary.shards_resumed > 0) {
    log_ << "Resuming " << work << ": " << summary.shards_resumed << " of " << n_shards
         << " shards already done\n";
  }

  PoolOutcome outcome;
  if (!pending.empty()) {
    // SSH nodes see none of our files: their worker is the node's
    // orchard-train (its nodes-file `orchard_train`, or on its PATH), or
    // --worker as a path on the node.
    const bool remote_files = cluster_executor && !cluster_executor->SharesFiles();
    auto worker_exe = remote_files ? Result<std::string>(opt_.worker.empty() ? std::string(kWorkerName) : opt_.worker)
                                   : FindWorker(opt_.worker, opt_.self_exe);
    if (!worker_exe.ok()) return worker_exe.status();
    PoolConfig cfg;
    cfg.worker_exe = *worker_exe;
    cfg.work = work;
    cfg.bundle = bundle_dir;
    cfg.root = inputs->root;
    cfg.cwd = cwd;
    cfg.format = *format;
    cfg.top_k = record_opt.top_k;
    cfg.features = opt_.features;
    cfg.batch = opt_.batch;
    cfg.slots = std::min<int>(wanted_workers, static_cast<int>(pending.size()));
    cfg.threads = opt_.threads > 0 ? opt_.threads : std::max(1, CpuCount() / cfg.slots);
    cfg.retries = opt_.retries;
    cfg.poll_s = opt_.poll_s;
    if (use_gpu && !cluster) cfg.gpu_ids.assign(gpu_ids.begin(), gpu_ids.begin() + cfg.slots);
    summary.workers = cfg.slots;
    std::string ids;
    for (const auto& g : cfg.gpu_ids) ids += (ids.empty() ? "" : ",") + g;
    summary.device = use_gpu ? "cuda (GPU " + ids + ")" : "cpu";
    if (cluster) {
      // Slurm queues what does not fit: each pending shard is a task of one
      // job array; another executor gets as many workers as it has room for.
      const int gpus = use_gpu ? 1 : 0;
      cfg.executor = cluster_executor.get();
      cfg.gpus_per_worker = gpus;
      cfg.slots = cluster_executor->Queues()
                      ? static_cast<int>(pending.size())
                      : std::min<int>(cluster_executor->Capacity(gpus), pending.size());
      cfg.threads = opt_.threads;  // 0: the worker uses the cores its node gives it
      summary.workers = cfg.slots;
      summary.device = std::string(use_gpu ? "cuda, 1 GPU each" : "cpu") + ", " +
                       cluster_executor->Describe();
    }
    log_ << n_inputs << (n_inputs == 1 ? " image in " : " images in ") << n_shards
         << (n_shards == 1 ? " shard, " : " shards, ") << pending.size() << " to do on "
         << cfg.slots << (cfg.slots == 1 ? " worker" : " workers") << " (" << summary.device << ", "
         << (cfg.threads == 0 ? std::string("the cores each task gets")
                               : std::to_string(cfg.threads) +
                                     (cfg.threads == 1 ? " thread each" : " threads each"))
         << "); work in "
         << work << "\n"
         << std::flush;

    InferProgress progress(log_, tty_, opt_.plain_every_s);
    WorkerPool pool(cfg, shards, done, progress, stop_);
    auto ran = pool.Run(pending);
    if (!ran.ok()) return ran.status();
    outcome = std::move(ran).value();
    summary.retried = outcome.retried;
    int64_t done_images = 0;
    for (int id = 0; id < n_shards; ++id) {
      if (done[id]) done_images += shards[id].count;
    }
    summary.processed = done_images - images_at_start;
  }

  const int shards_done = static_cast<int>(std::count(done.begin(), done.end(), true));
  if (outcome.stopped) {
    return Status::Cancelled("stopped with " + std::to_string(shards_done) + " of " +
                             std::to_string(n_shards) + " shards done; they are kept in " + work +
                             ": re-run the same command to do the rest");
  }
  if (!outcome.failed_shards.empty()) {
    std::string msg = std::to_string(outcome.failed_shards.size()) + " of " +
                      std::to_string(n_shards) + " shards failed after " +
                      std::to_string(1 + opt_.retries) +
                      (opt_.retries == 0 ? " attempt" : " attempts") + ":";
    for (const auto& f : outcome.failures) msg += "\n  " + f;
    msg += "\nThe " + std::to_string(shards_done) + " finished shards are kept in " + work +
           "; fix the cause and re-run the same command to do the rest.";
    return Status::Internal(msg);
  }

  auto merged = MergeShards(work, shards, inputs->paths, *format, output);
  if (!merged.ok()) return merged.status();
  summary.images = merged->records;
  summary.errors = merged->errors;
  summary.seconds = NowSeconds() - t0;
  if (opt_.keep_work) {
    summary.work_kept = true;
  } else {
    Status cleared = ClearWorkFolder(work, /*remove_lock=*/true);
    if (!cleared.ok()) {
      log_ << "orchard: note: " << cleared.message() << "\n";
      summary.work_kept = true;
    }
  }
  return summary;
}

}  // namespace orchard::infer
