#include "orchestrator/remote/ssh_executor.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cmath>
#include <condition_variable>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>

#include "orchestrator/exec/gpu_slots.h"
#include "orchestrator/remote/ssh_connection.h"
#include "orchestrator/remote/ssh_inventory.h"
#include "orchestrator/remote/ssh_job.h"
#include "orchestrator/remote/ssh_scripts.h"
#include "orchestrator/remote/ssh_ship.h"
#include "orchestrator/store/sqlite_run_store.h"
#include "orchestrator/util/clock.h"

namespace fs = std::filesystem;

namespace orchard::remote {
namespace {

constexpr double kFirstProbeS = 30, kMaxProbeS = 300;
constexpr double kShipTimeoutS = 600;

struct Node {
  std::unique_ptr<SshConnection> conn;
  std::unique_ptr<exec::GpuSlots> gpus;
  int cpu_slots = 1, cpu_used = 0, running = 0;
  bool up = true;
  std::string down_why;
  double next_probe = 0, backoff = kFirstProbeS;
  std::mutex ship_mu;                  // one shipment at a time per node
  std::set<std::string> shipped;       // snapshots known to be there (under ship_mu)
};

std::string Join(const std::vector<std::string>& v, const std::string& sep) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : sep) + s;
  return out;
}

bool IsEnvName(const std::string& s) {
  if (s.empty() || isdigit(static_cast<unsigned char>(s[0]))) return false;
  for (char c : s) {
    if (!isalnum(static_cast<unsigned char>(c)) && c != '_') return false;
  }
  return true;
}

// The job's folder name on the node (the run id, made file-name safe).
std::string FolderName(const std::string& name) {
  std::string out = name.empty() ? "job" : name;
  for (char& c : out) {
    if (!isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') c = '_';
  }
  if (out[0] == '.') out[0] = '_';
  return out;
}

class SshExecutor : public exec::Executor {
 public:
  SshExecutor(std::vector<SshNodeConfig> configs, const exec::ExecutorOptions& options,
              std::string control_dir)
      : control_dir_(std::move(control_dir)) {
    for (auto& c : configs) {
      auto n = std::make_unique<Node>();
      n->gpus = std::make_unique<exec::GpuSlots>(c.gpus, std::max(1, options.jobs_per_gpu));
      n->cpu_slots = c.CpuSlots();
      n->conn = std::make_unique<SshConnection>(std::move(c), control_dir_);
      nodes_.push_back(std::move(n));
    }
  }

  ~SshExecutor() override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    if (prober_.joinable()) prober_.join();
    nodes_.clear();  // ends the masters
    std::error_code ec;
    fs::remove_all(control_dir_, ec);
  }

  // Connects to every node at once; returns the failures, one line each.
  std::vector<std::string> ConnectAll() {
    std::vector<std::string> why(nodes_.size());
    std::vector<std::thread> threads;
    for (size_t i = 0; i < nodes_.size(); ++i) {
      threads.emplace_back([this, i, &why] {
        SshConnection& c = *nodes_[i]->conn;
        Status s = c.Connect(c.connect_timeout_s() + 10);
        if (!s.ok()) why[i] = s.message();
      });
    }
    for (auto& t : threads) t.join();
    std::vector<std::string> failed;
    std::lock_guard<std::mutex> lock(mu_);
    for (size_t i = 0; i < nodes_.size(); ++i) {
      if (why[i].empty()) continue;
      MarkDownLocked(*nodes_[i], why[i]);
      failed.push_back(why[i]);
    }
    return failed;
  }

  size_t node_count() const { return nodes_.size(); }
  std::string Name() const override { return "ssh"; }
  bool SharesFiles() const override { return false; }

  int Capacity(int gpus) const override {
    std::lock_guard<std::mutex> lock(mu_);
    int total = 0;
    for (const auto& n : nodes_) {
      if (n->up) total += gpus > 0 ? n->gpus->Capacity(gpus) : n->cpu_slots;
    }
    return std::max(1, total);
  }

  std::optional<exec::Placement> Acquire(int gpus) override {
    std::lock_guard<std::mutex> lock(mu_);
    // The least busy node that has room, relative to its size.
    std::vector<Node*> order;
    for (auto& n : nodes_) {
      if (n->up) order.push_back(n.get());
    }
    auto load = [&](const Node* n) {
      int cap = gpus > 0 ? n->gpus->Capacity(gpus) : n->cpu_slots;
      return cap > 0 ? static_cast<double>(n->running) / cap : 1e9;
    };
    std::stable_sort(order.begin(), order.end(),
                     [&](const Node* a, const Node* b) { return load(a) < load(b); });
    for (Node* n : order) {
      exec::Placement p;
      p.node = n->conn->name();
      p.gpu_count = std::max(0, gpus);
      if (gpus > 0) {
        auto ids = n->gpus->TryAcquire(gpus);
        if (!ids) continue;
        p.gpus = std::move(*ids);
      } else {
        if (n->cpu_used >= n->cpu_slots) continue;
        ++n->cpu_used;
      }
      ++n->running;
      return p;
    }
    return std::nullopt;
  }

  void Release(const exec::Placement& where) override {
    std::lock_guard<std::mutex> lock(mu_);
    Node* n = Find(where.node);
    if (n == nullptr) return;
    if (where.gpu_count > 0) {
      n->gpus->Release(where.gpus);
    } else if (n->cpu_used > 0) {
      --n->cpu_used;
    }
    if (n->running > 0) --n->running;
  }

  void NodeLost(const exec::Placement& where, const std::string& why) override {
    {
      std::lock_guard<std::mutex> lock(mu_);
      Node* n = Find(where.node);
      if (n == nullptr) return;
      if (n->up) MarkDownLocked(*n, why);
    }
    cv_.notify_all();
  }

  Result<std::unique_ptr<exec::Job>> Start(const exec::JobSpec& spec,
                                           const exec::Placement& where) override;

  std::string Describe() const override {
    std::lock_guard<std::mutex> lock(mu_);
    int up = 0;
    std::string parts;
    for (const auto& n : nodes_) {
      std::string d = n->conn->name();
      if (!n->up) {
        // The gist of why: "Connection refused", "Permission denied (publickey)".
        size_t colon = n->down_why.rfind(": ");
        d += " down (" + (colon == std::string::npos ? n->down_why : n->down_why.substr(colon + 2)) + ")";
      } else {
        ++up;
        d += n->gpus->ids().empty() ? " CPU x" + std::to_string(n->cpu_slots)
                                    : " GPU " + Join(n->gpus->ids(), ",");
      }
      parts += (parts.empty() ? "" : "; ") + d;
    }
    return "ssh: " + std::to_string(up) + " of " + std::to_string(nodes_.size()) +
           " node(s) up (" + parts + ")";
  }

 private:
  Node* Find(const std::string& name) const {
    for (const auto& n : nodes_) {
      if (n->conn->name() == name) return n.get();
    }
    return nullptr;
  }

  void MarkDownLocked(Node& n, const std::string& why) {
    n.up = false;
    n.down_why = why;
    n.backoff = kFirstProbeS;
    n.next_probe = NowSeconds() + n.backoff;
    if (!prober_.joinable()) prober_ = std::thread([this] { ProbeLoop(); });
  }

  // Probes down nodes when due; a node that answers is up again, with its
  // shipped-code cache cleared (it may have been reinstalled) and its lost
  // jobs' leftovers killed.
  void ProbeLoop() {
    std::unique_lock<std::mutex> lock(mu_);
    while (!stopping_) {
      double now = NowSeconds(), next = now + 3600;
      Node* due = nullptr;
      for (auto& n : nodes_) {
        if (n->up) continue;
        if (n->next_probe <= now && due == nullptr) due = n.get();
        next = std::min(next, n->next_probe);
      }
      if (due == nullptr) {
        cv_.wait_for(lock, std::chrono::duration<double>(std::max(0.05, next - now)));
        continue;
      }
      lock.unlock();
      due->conn->Disconnect();
      Status s = due->conn->Connect(due->conn->connect_timeout_s() + 10);
      std::vector<std::string> leftovers;
      if (s.ok()) {
        std::lock_guard<std::mutex> ship(due->ship_mu);
        due->shipped.clear();
      }
      lock.lock();
      if (s.ok()) {
        due->up = true;
        due->down_why.clear();
        leftovers = due->conn->TakeLostJobs();
      } else {
        due->backoff = std::min(kMaxProbeS, due->backoff * 2);
        due->next_probe = NowSeconds() + due->backoff;
      }
      if (!leftovers.empty()) {
        lock.unlock();
        std::vector<std::string> args = {due->conn->work()};
        args.insert(args.end(), leftovers.begin(), leftovers.end());
        due->conn->Run(scripts::Command(scripts::kReap, args), "", 30);
        lock.lock();
      }
    }
  }

  // Ships the snapshot unless the node is known to have it. Sets
  // *node_failed when the node is at fault.
  Status EnsureCode(Node& n, const exec::JobSpec& spec, const store::Snapshot& manifest,
                    bool* node_failed, std::string* note) {
    std::lock_guard<std::mutex> lock(n.ship_mu);
    if (n.shipped.count(spec.snapshot_id)) return Status::Ok();
    std::optional<std::map<std::string, std::string>> blobs;  // loaded when first needed
    auto load = [&](const ShipEntry& e) -> Result<std::string> {
      if (!blobs) {
        auto st = store::SqliteRunStore::Open(spec.store_path, store::Db::Mode::kReadOnly);
        if (!st.ok()) return st.status();
        auto full = (*st)->GetSnapshot(spec.snapshot_id, true);
        if (!full.ok()) return full.status();
        blobs.emplace();
        for (auto& f : full->files) (*blobs)[f.sha256] = std::move(f.content);
      }
      auto it = blobs->find(e.sha256);
      if (it == blobs->end()) return Status::Corruption("code snapshot " + spec.snapshot_id + ": no blob for " + e.path);
      return it->second;
    };
    auto shipped = ShipFiles(*n.conn, "code/" + spec.snapshot_id, SnapshotEntries(manifest), load,
                             /*link=*/false, kShipTimeoutS, node_failed);
    if (!shipped.ok()) return shipped.status();
    n.shipped.insert(spec.snapshot_id);
    if (!shipped->already_there) {
      *note = "orchard: shipped code " + spec.snapshot_id.substr(0, 12) + " to " + n.conn->name() +
              ": " + std::to_string(shipped->blobs_sent) + " new file(s) of " +
              std::to_string(shipped->files) + ", " + std::to_string(shipped->bytes_sent) +
              " bytes\n";
    }
    return Status::Ok();
  }

  std::string control_dir_;
  std::vector<std::unique_ptr<Node>> nodes_;  // fixed after construction
  mutable std::mutex mu_;                     // node state below and in Node
  std::condition_variable cv_;
  bool stopping_ = false;
  std::thread prober_;
};

// Creates (truncates) the two journals, as a local job's would be.
Status OpenJournals(const exec::JobSpec& spec, int* out, int* err) {
  *out = open(spec.stdout_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
  if (*out < 0) return Status::IoError("cannot create " + spec.stdout_path + ": " + strerror(errno));
  *err = open(spec.stderr_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
  if (*err < 0) {
    close(*out);
    return Status::IoError("cannot create " + spec.stderr_path + ": " + strerror(errno));
  }
  return Status::Ok();
}

Result<std::unique_ptr<exec::Job>> SshExecutor::Start(const exec::JobSpec& spec,
                                                      const exec::Placement& where) {
  Node* n = Find(where.node);
  if (n == nullptr) return Status::InvalidArgument("ssh: no node named '" + where.node + "'");
  SshConnection& conn = *n->conn;
  const SshNodeConfig& cfg = conn.config();
  if (spec.argv.empty()) return Status::InvalidArgument("no command to run");
  int out = -1, err = -1;
  ORCHARD_RETURN_IF_ERROR(OpenJournals(spec, &out, &err));
  auto lost = [&](const std::string& why) -> Result<std::unique_ptr<exec::Job>> {
    std::string line = "orchard: " + why + "\n";
    [[maybe_unused]] ssize_t w = write(err, line.data(), line.size());
    close(out);
    close(err);
    return std::unique_ptr<exec::Job>(SshJob::Lost(cfg.name, why));
  };
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!n->up) return lost(conn.Describe() + " is down: " + n->down_why);
  }
  // A master that died (a network blip) is reopened here: the probe.
  if (!conn.Ready()) {
    Status connected = conn.Connect(conn.connect_timeout_s() + 10);
    if (!connected.ok()) return lost(connected.message());
  }

  const std::string name = FolderName(spec.name);
  const std::string work = conn.work();
  std::string cwd;
  std::string note;
  auto fail = [&](const Status& s) -> Result<std::unique_ptr<exec::Job>> {
    close(out);
    close(err);
    return s;
  };
  if (!spec.ship.empty()) {
    // The job's own files (an inference worker's bundle and inputs): into
    // its run folder, which becomes its cwd.
    auto entries = LocalEntries(spec.ship);
    if (!entries.ok()) return fail(entries.status());
    bool node_failed = false;
    auto shipped = ShipFiles(conn, "runs/" + name, *entries, nullptr, /*link=*/true,
                             kShipTimeoutS, &node_failed);
    if (!shipped.ok()) return node_failed ? lost(shipped.status().message()) : fail(shipped.status());
    note = "orchard: shipped " + std::to_string(shipped->files) + " file(s) to " + cfg.name + " (" +
           std::to_string(shipped->blobs_sent) + " new, " + std::to_string(shipped->bytes_sent) +
           " bytes)\n";
    cwd = work + "/runs/" + name;
  } else if (!spec.snapshot_id.empty()) {
    // The code: shipped content-addressed, and the job runs where `cwd`
    // sits in the snapshot.
    auto st = store::SqliteRunStore::Open(spec.store_path, store::Db::Mode::kReadOnly);
    if (!st.ok()) return fail(st.status());
    auto manifest = (*st)->GetSnapshot(spec.snapshot_id, false);
    if (!manifest.ok()) return fail(manifest.status());
    bool node_failed = false;
    Status shipped = EnsureCode(*n, spec, *manifest, &node_failed, &note);
    if (!shipped.ok()) return node_failed ? lost(shipped.message()) : fail(shipped);
    cwd = work + "/code/" + spec.snapshot_id;
    if (!manifest->root.empty() && !spec.cwd.empty()) {
      fs::path rel = fs::path(spec.cwd).lexically_normal().lexically_relative(
          fs::path(manifest->root).lexically_normal());
      if (!rel.empty() && rel != "." && IsSafeRelativePath(rel.string())) cwd += "/" + rel.string();
    }
  }
  [[maybe_unused]] ssize_t w = write(err, note.data(), note.size());

  // The environment: the node's, then the protocol's (which wins), then the GPUs.
  std::map<std::string, std::string> env = cfg.env;
  for (const auto& [k, v] : spec.env) {
    if (IsEnvName(k) && k != "ORCHARD_RUN_DIR" && k != "ORCHARD_HOME") env[k] = v;
  }
  std::string gpus = spec.cuda_visible_devices ? *spec.cuda_visible_devices : Join(where.gpus, ",");
  if (spec.cuda_visible_devices || !where.gpus.empty()) env["CUDA_VISIBLE_DEVICES"] = gpus;

  std::vector<std::string> argv = spec.argv;
  std::vector<std::string> path = cfg.path;
  if (!cfg.orchard_train.empty()) {
    if (fs::path(argv[0]).filename() == "orchard-train") argv[0] = cfg.orchard_train;
    path.insert(path.begin(), fs::path(cfg.orchard_train).parent_path().string());
  }
  std::vector<std::string> args = {
      work, name, cwd, std::to_string(std::max(1, static_cast<int>(std::ceil(spec.grace_s)))),
      cfg.source, Join(path, ":")};
  args.insert(args.end(), argv.begin(), argv.end());
  std::vector<std::string> ssh = conn.Argv(scripts::Command(scripts::JobScript(env), args));
  auto sp = SpawnProcess(ssh, -1, out, err);
  close(out);
  close(err);
  if (!sp.ok()) return sp.status();
  return std::unique_ptr<exec::Job>(
      std::make_unique<SshJob>(&conn, sp->pid, sp->stdin_fd, name, spec.run_dir, gpus, spec.fetch));
}

// Control folders of orchestrators that were killed (their destructor never
// ran): ours, and whose owner process is gone.
void SweepControlDirs() {
  std::error_code ec;
  for (fs::directory_iterator it("/tmp", ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    struct stat st {};
    if (name.rfind("orchard-ssh-", 0) != 0 || lstat(it->path().c_str(), &st) != 0 ||
        !S_ISDIR(st.st_mode) || st.st_uid != getuid()) {
      continue;
    }
    std::ifstream owner(it->path() / "owner");
    pid_t pid = 0;
    if (owner >> pid && pid > 0 && (kill(pid, 0) == 0 || errno != ESRCH)) continue;
    if (!owner.is_open() && st.st_mtime > time(nullptr) - 60) continue;  // being made
    std::error_code rm;
    fs::remove_all(it->path(), rm);
  }
}

}  // namespace

Result<std::unique_ptr<exec::Executor>> MakeSshExecutor(const nlohmann::json& config,
                                                        const exec::ExecutorOptions& options) {
  auto nodes = LoadSshInventory(config, options.base_dir);
  if (!nodes.ok()) return nodes.status();
  if (options.gpus_per_job > 0) {
    bool any = false;
    for (const auto& n : *nodes) any = any || static_cast<int>(n.gpus.size()) >= options.gpus_per_job;
    if (!any) {
      return Status::InvalidArgument(
          "executor.ssh: each job needs " + std::to_string(options.gpus_per_job) +
          " GPU(s) but no node declares that many: list each node's GPUs in the nodes file "
          "(gpus: [0, 1]), or run on CPU slots (resources.gpus_per_trial: 0; --cpu for infer)");
    }
  }
  char tmpl[] = "/tmp/orchard-ssh-XXXXXX";  // short: socket paths are limited to 108 bytes
  SweepControlDirs();
  if (mkdtemp(tmpl) == nullptr) return Status::IoError(std::string("mkdtemp: ") + strerror(errno));
  std::ofstream(std::string(tmpl) + "/owner") << getpid() << "\n";
  auto ex = std::make_unique<SshExecutor>(std::move(*nodes), options, tmpl);
  std::vector<std::string> failed = ex->ConnectAll();
  if (failed.size() == ex->node_count()) {
    return Status::IoError("executor.ssh: no node answered:\n  " + Join(failed, "\n  "));
  }
  return std::unique_ptr<exec::Executor>(std::move(ex));
}

}  // namespace orchard::remote
