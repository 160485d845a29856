#include "orchestrator/remote/slurm_queue.h"

#include <algorithm>

#include "orchestrator/capture/command.h"

namespace orchard::remote {

Result<SlurmCliResult> RunSlurmCommand(const std::vector<std::string>& argv, double timeout_s) {
  if (argv.empty()) return Status::InvalidArgument("no Slurm command to run");
  capture::CommandSpec spec;
  // RunCommand drops stderr; a shell folds it into stdout, where Slurm's
  // error messages are needed.
  spec.argv = {"/bin/sh", "-c", "exec \"$0\" \"$@\" 2>&1"};
  spec.argv.insert(spec.argv.end(), argv.begin(), argv.end());
  spec.timeout_s = timeout_s;
  spec.max_output = 8 << 20;
  auto r = capture::RunCommand(spec);
  if (!r.ok()) return r.status();
  SlurmCliResult out;
  out.exit_code = r->exit_code;
  out.out = std::move(r->out);
  if (r->exit_code == 127 && out.out.find("not found") != std::string::npos) {
    return Status::NotFound(argv[0] + ": command not found (is this a Slurm submit host? install "
                            "slurm-client or set executor.slurm.bin)");
  }
  if (r->timed_out) out.out += "\n(" + argv[0] + " did not answer within " +
                               std::to_string(static_cast<int>(timeout_s)) + " s)";
  return out;
}

std::string OneLine(const std::string& text, size_t max) {
  std::string out;
  for (char c : text) {
    if (c == '\n' || c == '\r') {
      if (!out.empty() && out.back() != ' ') out += out.back() == ';' ? " " : "; ";
    } else {
      out += c;
    }
  }
  while (!out.empty() && (out.back() == ' ' || out.back() == ';')) out.pop_back();
  if (out.size() > max) out = out.substr(0, max) + "...";
  return out;
}

SlurmQueue::SlurmQueue(SlurmCli cli, std::string squeue, std::string sacct, double poll_s,
                       std::function<double()> clock)
    : cli_(std::move(cli)),
      squeue_(std::move(squeue)),
      sacct_(std::move(sacct)),
      poll_s_(poll_s),
      clock_(std::move(clock)) {}

void SlurmQueue::Watch(const std::string& job_id) {
  std::lock_guard<std::mutex> lock(mu_);
  ++watched_[job_id];
}

void SlurmQueue::Unwatch(const std::string& job_id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = watched_.find(job_id);
  if (it != watched_.end() && --it->second <= 0) watched_.erase(it);
}

int SlurmQueue::squeue_runs() const {
  std::lock_guard<std::mutex> lock(mu_);
  return runs_;
}

std::optional<SlurmJobState> SlurmQueue::State(const std::string& id, double since, bool urgent) {
  std::unique_lock<std::mutex> lock(mu_);
  const double now = clock_();
  const double gap = urgent ? std::min(1.0, poll_s_) : poll_s_;
  if (!running_ && !watched_.empty() && now - tried_at_ >= gap) {
    running_ = true;
    tried_at_ = now;
    lock.unlock();
    Refresh();  // the others read the last answer meanwhile
    lock.lock();
    running_ = false;
  }
  if (answered_at_ < since) return std::nullopt;
  auto it = states_.find(id);
  if (it != states_.end()) return it->second;
  SlurmJobState gone;
  gone.id = id;
  return gone;
}

void SlurmQueue::Refresh() {
  std::string ids;
  double started = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [id, n] : watched_) ids += (ids.empty() ? "" : ",") + id;
    started = tried_at_;
    ++runs_;
  }
  auto r = cli_({squeue_, "-h", "-r", "--states=all", "-j", ids, "-O", kSqueueFormat}, 30);
  if (!r.ok()) return;
  std::map<std::string, SlurmJobState> fresh;
  if (r->exit_code == 0) {
    for (auto& s : ParseSqueue(r->out)) fresh[s.id] = std::move(s);
  } else if (r->out.find("Invalid job id") == std::string::npos) {
    return;  // the controller did not answer: keep the last answer, try again later
  }  // else none of the jobs is known any more: an empty answer
  std::lock_guard<std::mutex> lock(mu_);
  states_ = std::move(fresh);
  answered_at_ = started;
}

std::optional<SlurmJobState> SlurmQueue::Accounting(const std::string& id) {
  auto r = cli_({sacct_, "-n", "-P", "-X", "-j", id, "-o", "JobID,State,ExitCode"}, 30);
  if (!r.ok() || r->exit_code != 0) return std::nullopt;
  for (auto& s : ParseSacct(r->out)) {
    if (s.id == id) return s;
  }
  return std::nullopt;
}

}  // namespace orchard::remote
