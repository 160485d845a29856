#include "orchestrator/capture/environment.h"

#include <sched.h>
#include <sqlite3.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <charconv>
#include <cstdlib>
#include <string>
#include <vector>

#ifndef ORCHARD_VERSION
#define ORCHARD_VERSION "unknown"
#endif

namespace orchard::capture {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

std::vector<std::string_view> SplitCsv(std::string_view line) {
  std::vector<std::string_view> fields;
  size_t start = 0;
  while (true) {
    size_t comma = line.find(',', start);
    fields.push_back(Trim(line.substr(start, comma == std::string_view::npos ? std::string_view::npos
                                                                             : comma - start)));
    if (comma == std::string_view::npos) return fields;
    start = comma + 1;
  }
}

std::string CompilerName() {
#if defined(__clang__)
  return std::string("clang ") + __clang_version__;
#elif defined(__GNUC__)
  return std::string("gcc ") + __VERSION__;
#else
  return "unknown";
#endif
}

}  // namespace

nlohmann::json ParseNvidiaSmiGpus(std::string_view csv) {
  nlohmann::json gpus = nlohmann::json::array();
  size_t start = 0;
  while (start < csv.size()) {
    size_t nl = csv.find('\n', start);
    std::string_view line =
        csv.substr(start, nl == std::string_view::npos ? std::string_view::npos : nl - start);
    start = nl == std::string_view::npos ? csv.size() : nl + 1;
    // A GPU name may itself contain commas: index first, memory and uuid last.
    std::vector<std::string_view> f = SplitCsv(line);
    if (f.size() < 4) continue;
    int index = -1;
    auto r = std::from_chars(f[0].data(), f[0].data() + f[0].size(), index);
    if (r.ec != std::errc() || r.ptr != f[0].data() + f[0].size()) continue;
    std::string name;
    for (size_t i = 1; i + 2 < f.size(); ++i) {
      if (i > 1) name += ", ";
      name += f[i];
    }
    nlohmann::json gpu = {{"index", index}, {"name", name}, {"uuid", std::string(f.back())}};
    std::string_view mem = f[f.size() - 2];
    int64_t mib = 0;
    auto m = std::from_chars(mem.data(), mem.data() + mem.size(), mib);
    if (m.ec == std::errc()) gpu["memory_total_mib"] = mib;
    gpus.push_back(std::move(gpu));
  }
  return gpus;
}

std::string HostName() {
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0) return "";
  return host;
}

nlohmann::json CaptureEnvironment(const CommandRunner& run) {
  nlohmann::json env = nlohmann::json::object();
  if (std::string host = HostName(); !host.empty()) env["host"] = host;
  struct utsname u;
  if (::uname(&u) == 0) {
    env["os"] = {{"sysname", u.sysname}, {"release", u.release}, {"machine", u.machine}};
  }
  long online = ::sysconf(_SC_NPROCESSORS_ONLN);
  if (online > 0) env["cpu_count"] = online;
  cpu_set_t set;
  if (::sched_getaffinity(0, sizeof set, &set) == 0) env["cpus_available"] = CPU_COUNT(&set);
  env["compiler"] = CompilerName();
  env["orchard_version"] = ORCHARD_VERSION;
  env["sqlite_version"] = ::sqlite3_libversion();

  env["gpus"] = nlohmann::json::array();
  CommandSpec smi;
  smi.argv = {"nvidia-smi", "--query-gpu=index,name,memory.total,uuid", "--format=csv,noheader"};
  smi.max_output = 64 * 1024;
  smi.timeout_s = 5;
  Result<CommandResult> r = run(smi);
  if (r.ok()) {
    if (r->exit_code == 0) {
      env["gpus"] = ParseNvidiaSmiGpus(r->out);
    } else {
      env["gpu_error"] = r->timed_out ? "nvidia-smi timed out"
                                      : "nvidia-smi exited with " + std::to_string(r->exit_code);
    }
  } else if (r.status().code() != Status::Code::kNotFound) {
    env["gpu_error"] = r.status().message();
  }
  if (const char* cvd = std::getenv("CUDA_VISIBLE_DEVICES")) env["cuda_visible_devices"] = cvd;
  return env;
}

}  // namespace orchard::capture
