#include "orchestrator/remote/slurm_parse.h"

#include <sys/wait.h>

#include <cctype>
#include <cstdlib>
#include <sstream>

#include "orchestrator/remote/ssh_process.h"  // ShQuote

namespace orchard::remote {

namespace {

using Kind = SlurmLine::Kind;

constexpr std::string_view kMarker = "orchard-slurm: ";

bool Contains(std::string_view s, std::string_view what) { return s.find(what) != s.npos; }

bool AllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!std::isdigit(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t from = 0;
  for (;;) {
    size_t at = s.find(sep, from);
    out.push_back(s.substr(from, at == s.npos ? s.npos : at - from));
    if (at == s.npos) break;
    from = at + 1;
  }
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// "srun: job 8 queued and waiting for resources" -> "8".
std::string SrunJobId(std::string_view line) {
  std::string_view rest = line.substr(std::string_view("srun: job ").size());
  std::string_view id = rest.substr(0, rest.find(' '));
  return AllDigits(id) ? std::string(id) : "";
}

}  // namespace

const char* const kSqueueFormat = "JobArrayID:|,State:|,Reason:|,exit_code:|";

// Printed before the trainer runs; `exec` makes the trainer the task itself,
// so scancel --signal=TERM reaches it directly.
const char* const kSrunWrapper =
    "printf 'orchard-slurm: job=%s step=%s node=%s gpus=%s\\n' \"${SLURM_JOB_ID-}\" "
    "\"${SLURM_STEP_ID-}\" \"${SLURMD_NODENAME-}\" \"${CUDA_VISIBLE_DEVICES-}\" >&2; exec \"$@\"";

SlurmLine ParseSlurmLine(std::string_view line) {
  SlurmLine out;
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.remove_suffix(1);
  if (line.rfind(kMarker, 0) == 0) {
    std::string_view rest = line.substr(kMarker.size());
    for (std::string_view field : Split(rest, ' ')) {
      size_t eq = field.find('=');
      if (eq == field.npos) continue;
      std::string_view k = field.substr(0, eq), v = field.substr(eq + 1);
      if (k == "job") out.job = v;
      if (k == "jobid" && AllDigits(v)) out.jobid = v;
      if (k == "node") out.node = v;
      if (k == "gpus") out.gpus = v;
      if (k == "exit" && AllDigits(v) && v.size() < 5) {
        out.kind = Kind::kExit;
        out.code = std::atoi(std::string(v).c_str());
      }
    }
    if (out.kind != Kind::kExit && !out.job.empty()) out.kind = Kind::kStarted;
    return out;
  }
  if (line.rfind("srun: job ", 0) == 0) {
    if (Contains(line, " queued and waiting for resources")) out.kind = Kind::kQueued;
    if (Contains(line, " has been allocated resources")) out.kind = Kind::kAllocated;
    if (out.kind != Kind::kOther) out.job = SrunJobId(line);
    return out;
  }
  if (line.rfind("srun: error: Node failure on ", 0) == 0) {
    out.kind = Kind::kNodeFailure;
    out.node = Trim(line.substr(std::string_view("srun: error: Node failure on ").size()));
    return out;
  }
  if (line.rfind("slurmstepd", 0) == 0 || line.rfind("srun: ", 0) == 0) {
    if (Contains(line, "oom_kill event") || Contains(line, "oom-kill event") ||
        Contains(line, "Exceeded job memory limit") ||
        Contains(line, "Exceeded step memory limit")) {
      out.kind = Kind::kOutOfMemory;
    } else if (Contains(line, "*** ") && Contains(line, " CANCELLED AT ")) {
      if (Contains(line, "DUE TO NODE FAIL")) {
        out.kind = Kind::kNodeFailure;
      } else if (Contains(line, "DUE TO TIME LIMIT")) {
        out.kind = Kind::kTimeLimit;
      } else if (Contains(line, "DUE TO PREEMPTION")) {
        out.kind = Kind::kPreempted;
      } else {
        out.kind = Kind::kCancelled;
      }
      // "*** STEP 13.0 ON n1 ..." or "*** JOB 13 ON n1 ...": the job id.
      size_t at = line.find("*** ");
      std::string_view rest = line.substr(at + 4);
      std::vector<std::string_view> words = Split(rest, ' ');
      if (words.size() > 3) {
        std::string_view id = words[1].substr(0, words[1].find('.'));
        if (AllDigits(id)) out.job = id;
        if (words[2] == "ON") out.node = words[3];
      }
    }
  }
  return out;
}

std::vector<SlurmJobState> ParseSqueue(std::string_view out) {
  std::vector<SlurmJobState> jobs;
  for (std::string_view line : Split(out, '\n')) {
    std::vector<std::string_view> f = Split(Trim(line), '|');
    if (f.size() < 4 || Trim(f[0]).empty() || Trim(f[1]).empty()) continue;
    std::string_view id = Trim(f[0]);
    if (!std::isdigit(static_cast<unsigned char>(id.front()))) continue;  // a header or message
    SlurmJobState s;
    s.id = id;
    s.state = Trim(f[1]);
    s.reason = Trim(f[2]);
    std::string_view raw = Trim(f[3]);
    if (AllDigits(raw) && raw.size() < 10) {
      int status = std::atoi(std::string(raw).c_str());
      if (WIFSIGNALED(status)) {
        s.exit_code = 128 + WTERMSIG(status);
      } else {
        s.exit_code = WEXITSTATUS(status);
      }
    }
    jobs.push_back(std::move(s));
  }
  return jobs;
}

std::vector<SlurmJobState> ParseSacct(std::string_view out) {
  std::vector<SlurmJobState> jobs;
  for (std::string_view line : Split(out, '\n')) {
    std::vector<std::string_view> f = Split(Trim(line), '|');
    if (f.size() < 3 || f[0].empty() || !std::isdigit(static_cast<unsigned char>(f[0].front()))) {
      continue;
    }
    if (f[0].find('.') != f[0].npos) continue;  // a step ("118.batch"), not the job
    SlurmJobState s;
    s.id = f[0];
    std::string_view state = f[1];
    s.state = state.substr(0, state.find(' '));  // "CANCELLED by 0"
    std::vector<std::string_view> code = Split(f[2], ':');
    if (code.size() == 2 && AllDigits(code[0]) && AllDigits(code[1])) {
      int sig = std::atoi(std::string(code[1]).c_str());
      s.exit_code = sig ? 128 + sig : std::atoi(std::string(code[0]).c_str());
    }
    jobs.push_back(std::move(s));
  }
  return jobs;
}

std::optional<std::string> ParseSbatchId(std::string_view out) {
  out = Trim(out);
  // Warnings may precede the id on their own lines: the id is the last line.
  size_t nl = out.rfind('\n');
  if (nl != out.npos) out = Trim(out.substr(nl + 1));
  std::string_view id = out.substr(0, out.find(';'));
  if (!AllDigits(id)) return std::nullopt;
  return std::string(id);
}

const char* const kSinfoFormat = "%P|%a|%D|%G";

std::optional<std::string> DescribePartition(std::string_view sinfo, const std::string& partition) {
  std::string name = partition, gres;
  int nodes = 0;
  bool found = false;
  for (std::string_view line : Split(sinfo, '\n')) {
    std::vector<std::string_view> f = Split(Trim(line), '|');
    if (f.size() < 4 || f[0].empty()) continue;
    std::string_view part = f[0];
    const bool is_default = part.back() == '*';
    if (is_default) part.remove_suffix(1);
    if (partition.empty() ? !is_default : part != partition) continue;
    found = true;
    name = part;
    nodes += std::atoi(std::string(f[2]).c_str());
    std::string g(Trim(f[3]));
    if (g != "(null)" && !g.empty() && gres.find(g) == std::string::npos) {
      gres += (gres.empty() ? "" : ",") + g;
    }
  }
  if (!found) return std::nullopt;
  return "slurm partition " + name + (partition.empty() ? " (the default)" : "") + ", " +
         std::to_string(nodes) + (nodes == 1 ? " node" : " nodes") +
         (gres.empty() ? "" : ", gres " + gres);
}

bool IsFinalState(const std::string& state) {
  static const char* const kFinal[] = {"COMPLETED", "FAILED",        "CANCELLED", "TIMEOUT",
                                       "NODE_FAIL", "PREEMPTED",     "BOOT_FAIL", "DEADLINE",
                                       "OUT_OF_MEMORY", "SPECIAL_EXIT", "REVOKED"};
  for (const char* f : kFinal) {
    if (state == f) return true;
  }
  return false;
}

exec::ExitInfo ExitFromState(const SlurmJobState& s, std::optional<int> code) {
  exec::ExitInfo e;
  int c = code ? *code : s.exit_code.value_or(1);
  e.exit_code = c;
  const std::string job = "slurm job " + s.id;
  if (s.state == "NODE_FAIL") {
    const bool why = !s.reason.empty() && s.reason != "None";
    e.lost = job + ": its node failed (NODE_FAIL" + (why ? ", " + s.reason : "") + ")";
  } else if (s.state == "PREEMPTED") {
    e.lost = job + " was preempted by a job of higher priority (PREEMPTED)";
  } else if (s.state == "BOOT_FAIL") {
    e.lost = job + ": its node failed to boot (BOOT_FAIL)";
  } else if (s.state == "TIMEOUT") {
    e.detail = job + " reached its time limit (TIMEOUT; raise executor.slurm.time)";
  } else if (s.state == "OUT_OF_MEMORY") {
    e.detail = job + " ran out of memory (OUT_OF_MEMORY; raise executor.slurm.mem)";
  } else if (s.state == "DEADLINE") {
    e.detail = job + " reached its deadline (DEADLINE)";
  } else if (s.state == "CANCELLED") {
    e.detail = job + " was cancelled in Slurm, not by Orchard (CANCELLED: scancel or an "
                     "administrator)";
  }
  // Whatever srun returned, a job that Slurm ended is no success.
  if (!e.detail.empty() && e.exit_code == 0) e.exit_code = 1;
  return e;
}

exec::ExitInfo ExitFromHint(SlurmLine::Kind hint, const std::string& job, int code) {
  SlurmJobState s;
  s.id = job.empty() ? "?" : job;
  switch (hint) {
    case Kind::kNodeFailure: s.state = "NODE_FAIL"; break;
    case Kind::kPreempted: s.state = "PREEMPTED"; break;
    case Kind::kTimeLimit: s.state = "TIMEOUT"; break;
    case Kind::kOutOfMemory: s.state = "OUT_OF_MEMORY"; break;
    case Kind::kCancelled: s.state = "CANCELLED"; break;
    default: s.state = "FAILED";
  }
  return ExitFromState(s, code);
}

std::string ArrayScript(const std::vector<exec::JobSpec>& specs, bool cpu_only) {
  std::ostringstream s;
  s << "#!/bin/bash\n"
       "# Written by Orchard: a job array, one task per job (docs/executors.md, \"Slurm\").\n"
       "case \"${SLURM_ARRAY_TASK_ID-}\" in\n";
  for (size_t i = 0; i < specs.size(); ++i) {
    const exec::JobSpec& j = specs[i];
    s << i << ")\n";
    if (!j.cwd.empty()) s << "  cd " << ShQuote(j.cwd) << " || exit 1\n";
    s << "  out=" << ShQuote(j.stdout_path) << "\n  err=" << ShQuote(j.stderr_path) << "\n";
    for (const auto& [k, v] : j.env) s << "  export " << k << "=" << ShQuote(v) << "\n";
    s << "  set --";
    for (const auto& a : j.argv) s << " " << ShQuote(a);
    s << "\n  ;;\n";
  }
  s << "*)\n  echo \"orchard-slurm: this array has no task ${SLURM_ARRAY_TASK_ID-}\" >&2\n"
       "  exit 2\n  ;;\nesac\n"
       "exec >>\"$out\" 2>>\"$err\" </dev/null\n";
  if (cpu_only) s << "export CUDA_VISIBLE_DEVICES=\n";
  s << "printf 'orchard-slurm: job=%s_%s jobid=%s node=%s gpus=%s\\n' \"$SLURM_ARRAY_JOB_ID\" "
       "\"$SLURM_ARRAY_TASK_ID\" \"$SLURM_JOB_ID\" \"${SLURMD_NODENAME-}\" "
       "\"${CUDA_VISIBLE_DEVICES-}\" >&2\n"
       "# Slurm signals every process of the task: the command gets SIGTERM itself;\n"
       "# this shell only keeps waiting for it, then reports its code.\n"
       "trap ':' TERM INT\n"
       "\"$@\" &\n"
       "child=$!\n"
       "while kill -0 \"$child\" 2>/dev/null; do wait \"$child\"; done\n"
       "wait \"$child\"\n"
       "rc=$?\n"
       "printf 'orchard-slurm: exit=%s\\n' \"$rc\" >&2\n"
       "exit \"$rc\"\n";
  return s.str();
}

}  // namespace orchard::remote
