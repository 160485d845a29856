#include "orchestrator/remote/ssh_connection.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <utility>

#include "orchestrator/remote/ssh_scripts.h"
#include "orchestrator/util/clock.h"

namespace fs = std::filesystem;

namespace orchard::remote {
namespace {

// Options Orchard sets itself; a user's value would break the shared
// connection or the dead-node detection's bounds.
bool Managed(const std::string& opt) {
  std::string key = opt.substr(0, opt.find('='));
  for (char& c : key) c = static_cast<char>(tolower(static_cast<unsigned char>(c)));
  return key == "controlmaster" || key == "controlpath" || key == "controlpersist" ||
         key == "batchmode";
}

std::string LastLine(const std::string& text) {
  size_t end = text.find_last_not_of(" \r\n\t");
  if (end == std::string::npos) return "";
  size_t start = text.rfind('\n', end);
  start = start == std::string::npos ? 0 : start + 1;
  return text.substr(start, end + 1 - start);
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

SshConnection::SshConnection(SshNodeConfig config, std::string control_dir)
    : config_(std::move(config)),
      control_path_(control_dir + "/" + config_.name + ".sock"),
      master_log_(control_dir + "/" + config_.name + ".log") {
  for (const auto& o : config_.ssh_options) {
    if (strncasecmp(o.c_str(), "ConnectTimeout=", 15) == 0) {
      connect_timeout_s_ = std::max(1.0, atof(o.c_str() + 15));
    }
  }
}

SshConnection::~SshConnection() {
  std::vector<std::string> left = TakeRemovals();
  if (!left.empty() && Ready()) {
    left.insert(left.begin(), work());
    Run(scripts::Command(scripts::kRemoveRuns, left), "", connect_timeout_s_ + 5);
  }
  std::lock_guard<std::mutex> lock(mu_);
  StopMasterLocked();
}

void SshConnection::DeferRemoval(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  removals_.push_back(name);
}

std::vector<std::string> SshConnection::TakeRemovals() {
  std::lock_guard<std::mutex> lock(mu_);
  return std::exchange(removals_, {});
}

void SshConnection::AddLostJob(const std::string& name) {
  std::lock_guard<std::mutex> lock(mu_);
  lost_jobs_.push_back(name);
}

std::vector<std::string> SshConnection::TakeLostJobs() {
  std::lock_guard<std::mutex> lock(mu_);
  return std::exchange(lost_jobs_, {});
}

void SshConnection::PutBackRemovals(const std::vector<std::string>& names) {
  std::lock_guard<std::mutex> lock(mu_);
  removals_.insert(removals_.end(), names.begin(), names.end());
}

std::string SshConnection::Describe() const {
  std::string where = (config_.user.empty() ? "" : config_.user + "@") + config_.host;
  if (config_.port > 0) where += " port " + std::to_string(config_.port);
  return where == config_.name ? where : config_.name + " (" + where + ")";
}

std::string SshConnection::MasterTag(int generation) const {
  // /dev/null/X cannot exist: cat never gets to read it.
  return "/dev/null/orchard-master-" + fs::path(control_path_).parent_path().filename().string() +
         "-" + config_.name + "-" + std::to_string(generation);
}

int SshConnection::generation() const {
  std::lock_guard<std::mutex> lock(mu_);
  return generation_;
}

std::string SshConnection::work() const {
  std::lock_guard<std::mutex> lock(mu_);
  return work_;
}

std::vector<std::string> SshConnection::BaseArgv() const {
  std::vector<std::string> a = {"ssh"};
  if (!config_.ssh_config.empty()) a.insert(a.end(), {"-F", config_.ssh_config});
  // ssh keeps the first value it reads for an option: the user's come first.
  for (const auto& o : config_.ssh_options) {
    if (!Managed(o)) a.insert(a.end(), {"-o", o});
  }
  if (config_.port > 0) a.insert(a.end(), {"-p", std::to_string(config_.port)});
  if (!config_.key.empty()) a.insert(a.end(), {"-i", config_.key});
  if (!config_.user.empty()) a.insert(a.end(), {"-l", config_.user});
  a.insert(a.end(), {"-o", "BatchMode=yes", "-o", "ConnectTimeout=" + std::to_string(static_cast<int>(connect_timeout_s_)),
                     "-o", "ServerAliveInterval=2", "-o", "ServerAliveCountMax=3",
                     "-o", "LogLevel=ERROR", "-T"});
  return a;
}

bool SshConnection::MasterUpLocked() {
  if (master_ <= 0) return false;
  if (auto e = PollExit(master_)) {
    master_ = -1;
    if (master_stdin_ >= 0) close(master_stdin_);
    master_stdin_ = -1;
    return false;
  }
  return true;
}

void SshConnection::StopMasterLocked() {
  if (master_ > 0) {
    if (master_stdin_ >= 0) close(master_stdin_);  // its remote `cat` ends
    master_stdin_ = -1;
    double deadline = NowSeconds() + 1;
    while (!PollExit(master_)) {
      if (NowSeconds() >= deadline) {
        kill(master_, SIGTERM);
        WaitExit(master_, 2);
        break;
      }
      usleep(10000);
    }
  }
  master_ = -1;
  unlink(control_path_.c_str());
}

bool SshConnection::Ready() {
  std::lock_guard<std::mutex> lock(mu_);
  return MasterUpLocked() && !work_.empty();
}

void SshConnection::Disconnect() {
  std::lock_guard<std::mutex> lock(mu_);
  StopMasterLocked();
}

Status SshConnection::Connect(double timeout_s) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!MasterUpLocked()) {
      StopMasterLocked();
      int log = open(master_log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
      if (log < 0) return Status::IoError("cannot create " + master_log_ + ": " + strerror(errno));
      std::vector<std::string> argv = BaseArgv();
      // The remote `cat` ends with our pipe. Its second operand (never
      // read) names it: after a partition, the node may still hold the old
      // master's session, which the setup below kills.
      ++generation_;
      argv.insert(argv.end(), {"-M", "-S", control_path_, "-o", "ControlPersist=no",
                               config_.host, "exec cat - " + MasterTag(generation_) + " >/dev/null"});
      auto sp = SpawnProcess(argv, -1, log, log);
      close(log);
      if (!sp.ok()) return sp.status();
      master_ = sp->pid;
      master_stdin_ = sp->stdin_fd;
      // The socket appears once the master has logged in.
      double deadline = NowSeconds() + timeout_s;
      struct stat st {};
      for (;;) {
        if (stat(control_path_.c_str(), &st) == 0) break;
        if (auto e = PollExit(master_)) {
          master_ = -1;
          close(master_stdin_);
          master_stdin_ = -1;
          std::string why = LastLine(ReadAll(master_log_));
          return Status::IoError("cannot connect to " + Describe() + ": " +
                                 (why.empty() ? "ssh " + e->Describe() : why));
        }
        if (NowSeconds() >= deadline) {
          StopMasterLocked();
          return Status::IoError("cannot connect to " + Describe() + ": no answer within " +
                                 FormatDuration(timeout_s));
        }
        usleep(10000);
      }
    }
  }
  std::vector<std::string> args = {config_.work};
  for (int g = 1; g < generation(); ++g) args.push_back(MasterTag(g));
  auto r = Run(scripts::Command(scripts::kSetup, args), "", timeout_s);
  if (!r.ok()) return r.status();
  if (!r->ok() || r->out.rfind("ok /", 0) != 0) {
    return Status::IoError("cannot prepare the work folder " + config_.work + " on " + Describe() +
                           ": " + r->Why());
  }
  std::istringstream words(r->out.substr(3));
  std::string work;
  words >> work;
  std::lock_guard<std::mutex> lock(mu_);
  work_ = work;
  return Status::Ok();
}

std::vector<std::string> SshConnection::Argv(const std::string& command) {
  std::vector<std::string> a = BaseArgv();
  bool shared = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    shared = MasterUpLocked() && sessions_.load() < kMaxShared;
  }
  if (shared) {
    a.insert(a.end(), {"-S", control_path_, "-o", "ControlMaster=no"});
  } else {
    a.insert(a.end(), {"-o", "ControlPath=none", "-o", "ControlMaster=no"});
  }
  a.insert(a.end(), {config_.host, command});
  return a;
}

Result<CommandResult> SshConnection::Run(const std::string& command, const std::string& input,
                                         double timeout_s, int out_fd) {
  std::vector<std::string> argv = Argv(command);
  AddSession(1);
  auto r = RunCommand(argv, input, timeout_s, out_fd);
  AddSession(-1);
  return r;
}

}  // namespace orchard::remote
