#include "orchestrator/remote/slurm_config.h"

#include <cmath>
#include <regex>

#include "flags/suggest.h"

namespace orchard::remote {

namespace {

const std::vector<std::string> kKeys = {"partition", "account",  "qos",   "time",
                                        "constraint", "mem",     "gpu_type", "cpus_per_task",
                                        "max_jobs",  "extra",    "poll_s", "bin"};

// Options Orchard sets itself (what each job needs to be followed), and
// options that have a key of their own here.
struct Reserved {
  const char* long_name;
  const char* short_name;  // "" none
  const char* key;         // "" = set by Orchard
};
const Reserved kReserved[] = {
    {"job-name", "-J", ""},         {"chdir", "-D", ""},         {"output", "-o", ""},
    {"error", "-e", ""},            {"input", "-i", ""},         {"array", "-a", ""},
    {"export", "", ""},             {"parsable", "", ""},        {"wait", "-W", ""},
    {"ntasks", "-n", ""},           {"nodes", "-N", ""},
    {"cpus-per-task", "-c", "cpus_per_task"},
    {"gres", "", "gpu_type"},       {"gpus", "-G", ""},          {"gpus-per-task", "", ""},
    {"gpus-per-node", "", ""},      {"wrap", "", ""},            {"partition", "-p", "partition"},
    {"account", "-A", "account"},   {"qos", "-q", "qos"},        {"time", "-t", "time"},
    {"constraint", "-C", "constraint"}, {"mem", "", "mem"},
};

std::string Where(const std::string& key) { return "executor.slurm." + key; }

// A setting given as a string (or a number, which YAML may make of `qos: 1`).
Result<std::string> Scalar(const nlohmann::json& v, const std::string& key) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_number_integer()) return std::to_string(v.get<int64_t>());
  return Status::InvalidArgument(Where(key) + ": expected a name, got " + v.dump());
}

// Names that become one option value: no spaces or control characters, and
// no leading '-' (srun would read it as an option).
Status CheckWord(const std::string& s, const std::string& key) {
  if (s.empty()) return Status::InvalidArgument(Where(key) + ": empty; leave the key out instead");
  for (unsigned char c : s) {
    if (c <= ' ' || c == 0x7f) {
      return Status::InvalidArgument(Where(key) + ": '" + s +
                                     "' holds a space or control character");
    }
  }
  if (s.front() == '-') {
    return Status::InvalidArgument(Where(key) + ": '" + s + "' starts with '-'");
  }
  return Status::Ok();
}

Result<int> PositiveInt(const nlohmann::json& v, const std::string& key) {
  if (v.is_number_integer() && v.get<int64_t>() >= 1 && v.get<int64_t>() <= 1000000) {
    return static_cast<int>(v.get<int64_t>());
  }
  if (v.is_number_float()) {
    double d = v.get<double>();
    if (std::floor(d) == d && d >= 1 && d <= 1e6) return static_cast<int>(d);
  }
  return Status::InvalidArgument(Where(key) + ": expected a whole number of at least 1, got " +
                                 v.dump());
}

Status CheckTime(const std::string& t) {
  // Slurm's forms: M, M:S, H:M:S, D-H, D-H:M, D-H:M:S; or UNLIMITED.
  static const std::regex kTime(
      R"(\d+|\d+:\d{1,2}|\d+:\d{1,2}:\d{1,2}|\d+-\d{1,2}(:\d{1,2}){0,2})");
  if (t == "UNLIMITED" || t == "INFINITE" || std::regex_match(t, kTime)) return Status::Ok();
  return Status::InvalidArgument(Where("time") + ": '" + t +
                                 "' is not a Slurm time limit; use minutes (90), H:MM:SS "
                                 "(1:30:00) or D-HH:MM:SS (2-00:00:00)");
}

Status CheckExtra(const std::string& opt) {
  if (opt.size() < 2 || opt[0] != '-') {
    return Status::InvalidArgument(Where("extra") + ": '" + opt +
                                   "' is not an option; give each as one item starting with '-', "
                                   "with its value after '=' (--mail-type=END)");
  }
  for (const auto& r : kReserved) {
    std::string long_opt = std::string("--") + r.long_name;
    bool hit = opt == long_opt || opt.rfind(long_opt + "=", 0) == 0 ||
               (*r.short_name && opt.rfind(r.short_name, 0) == 0 && opt.compare(0, 2, "--") != 0);
    if (!hit) continue;
    if (*r.key) {
      return Status::InvalidArgument(Where("extra") + ": '" + opt + "': set it with " +
                                     Where(r.key) + " instead");
    }
    return Status::InvalidArgument(Where("extra") + ": '" + opt + "' is set by Orchard for each " +
                                   "job (docs/executors.md, \"Slurm\")");
  }
  return Status::Ok();
}

}  // namespace

Result<SlurmConfig> ParseSlurmConfig(const nlohmann::json& config) {
  SlurmConfig c;
  if (config.is_null()) return c;
  if (!config.is_object()) {
    return Status::InvalidArgument("executor.slurm: expected a map of settings such as "
                                   "{partition: gpu}, got " + config.dump());
  }
  for (const auto& [key, v] : config.items()) {
    if (std::find(kKeys.begin(), kKeys.end(), key) == kKeys.end()) {
      std::string guess = flags::SuggestClosest(key, kKeys);
      std::string known;
      for (const auto& k : kKeys) known += (known.empty() ? "" : ", ") + k;
      return Status::InvalidArgument(Where(key) + ": unknown setting" +
                                     (guess.empty() ? "" : " (did you mean '" + guess + "'?)") +
                                     "; known: " + known);
    }
    if (v.is_null()) continue;  // `qos:` with nothing: the default
    if (key == "cpus_per_task" || key == "max_jobs") {
      auto n = PositiveInt(v, key);
      if (!n.ok()) return n.status();
      (key == "max_jobs" ? c.max_jobs : c.cpus_per_task) = *n;
    } else if (key == "poll_s") {
      if (!v.is_number() || v.get<double>() < 1 || v.get<double>() > 3600) {
        return Status::InvalidArgument(Where(key) + ": expected seconds between 1 and 3600 (how "
                                       "often squeue may run), got " + v.dump());
      }
      c.poll_s = v.get<double>();
    } else if (key == "extra") {
      if (!v.is_array()) {
        return Status::InvalidArgument(Where(key) + ": expected a list of options such as "
                                       "[--exclusive, --mail-type=END], got " + v.dump());
      }
      for (const auto& e : v) {
        if (!e.is_string()) {
          return Status::InvalidArgument(Where(key) + ": expected option strings, got " + e.dump());
        }
        ORCHARD_RETURN_IF_ERROR(CheckExtra(e.get<std::string>()));
        c.extra.push_back(e.get<std::string>());
      }
    } else {
      auto s = Scalar(v, key);
      if (!s.ok()) return s.status();
      if (key == "bin") {
        if (s->empty()) {
          return Status::InvalidArgument(Where(key) + ": empty; leave it out for PATH");
        }
        c.bin = *s;
        continue;
      }
      ORCHARD_RETURN_IF_ERROR(CheckWord(*s, key));
      if (key == "partition") c.partition = *s;
      if (key == "account") c.account = *s;
      if (key == "qos") c.qos = *s;
      if (key == "constraint") c.constraint = *s;
      if (key == "gpu_type") {
        if (s->find_first_of(":,") != std::string::npos) {
          return Status::InvalidArgument(Where(key) + ": '" + *s + "' is one GPU type (a100), "
                                         "not a GRES string");
        }
        c.gpu_type = *s;
      }
      if (key == "time") {
        ORCHARD_RETURN_IF_ERROR(CheckTime(*s));
        c.time = *s;
      }
      if (key == "mem") {
        static const std::regex kMem(R"(\d+[KMGTkmgt]?)");
        if (!std::regex_match(*s, kMem)) {
          return Status::InvalidArgument(Where(key) + ": '" + *s +
                                         "' is not a memory size; use a number with K, M, G or T "
                                         "(16G)");
        }
        c.mem = *s;
      }
    }
  }
  return c;
}

std::vector<std::string> ResourceOptions(const SlurmConfig& c, int gpus) {
  const int cpus = c.cpus_per_task > 0 ? c.cpus_per_task : std::max(1, 2 * gpus);
  std::vector<std::string> o = {"--nodes=1", "--ntasks=1",
                                "--cpus-per-task=" + std::to_string(cpus)};
  if (gpus > 0) {
    std::string type = c.gpu_type.empty() ? "" : c.gpu_type + ":";
    o.push_back("--gres=gpu:" + type + std::to_string(gpus));
  }
  if (!c.partition.empty()) o.push_back("--partition=" + c.partition);
  if (!c.account.empty()) o.push_back("--account=" + c.account);
  if (!c.qos.empty()) o.push_back("--qos=" + c.qos);
  if (!c.time.empty()) o.push_back("--time=" + c.time);
  if (!c.constraint.empty()) o.push_back("--constraint=" + c.constraint);
  if (!c.mem.empty()) o.push_back("--mem=" + c.mem);
  o.insert(o.end(), c.extra.begin(), c.extra.end());
  return o;
}

}  // namespace orchard::remote
