// TuneSpec: a tuning session as written in tune.yaml (DESIGN.md, "Tuning
// spec"; the full reference is docs/tuning-spec.md), parsed and validated.
// Every error names the file, line and key:
//   tune.yaml:7: search.lr: loguniform needs 0 < low < high, got [0, 0.1]
//   tune.yaml:3: unknown key 'serach' (did you mean 'search'?)
// A parsed TuneSpec has every default filled in, so consumers never guess:
// the method, early stopping's metric and goal, resources. It is a plain
// value type (copyable, thread-compatible).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "flags/search_space.h"
#include "flags/status.h"

namespace orchard::flags {

struct Objective {
  std::string metric;     // e.g. val_acc. REQUIRES: non-empty, not step/epoch.
  bool maximize = true;   // goal: max | min (also maximize | minimize). Required.
  // Which value of the metric's series scores a trial: last | best.
  // Default: last.
  std::string reduce = "last";
};

struct EarlyStopping {
  std::string method;       // "" (none) | asha | median
  std::string metric;       // Default: the objective's metric
  bool maximize = true;     // Default: the objective's goal
  std::string unit = "epoch";  // epoch | step: what the rungs count. Default: epoch
  int64_t grace = 1;        // asha: first rung (>= 1); median: warm-up (>= 0). Default: 1
  double reduction = 3;     // asha: eta (> 1), keep the top 1/eta at each rung. Default: 3
  int64_t max_t = 0;        // asha: the last rung (0 = no limit, else >= grace). Default: 0
  int64_t min_trials = 5;   // median: trials that must have reached a step first. Default: 5
};

struct Resources {
  int concurrency = 1;                // trials at once (>= 1). Default: 1
  int gpus_per_trial = 0;             // 0: CPU-only trials. Default: 0
  int trials_per_gpu = 1;             // >1 lets trials share a GPU (needs gpus_per_trial 1)
  std::vector<std::string> gpus;      // declared GPU ids; empty: detect with nvidia-smi
  double timeout_s = 0;               // per trial, seconds (YAML: 3600, "90m", "2h"); 0 = none
  int retries = 0;                    // extra attempts for a failed trial. Default: 0
};

struct TuneSpec {
  std::string source;                  // file name, for messages (not part of the JSON)
  // argv, never empty. A string in YAML becomes {"/bin/sh", "-c", text}.
  std::vector<std::string> command;
  nlohmann::json flags = nlohmann::json::object();  // fixed flags: name -> JSON scalar
  SearchSpace space;                   // may be empty: one trial of the fixed flags
  // grid | random | tpe. Default: grid when every dimension is a list, else random.
  std::string method = "grid";
  std::optional<double> sample;        // grid only: fraction in (0, 1]
  // Required for random and tpe (>= 1); for grid it caps the trial count.
  std::optional<int64_t> max_trials;
  int64_t seed = 0;                    // >= 0. Default: 0
  std::optional<Objective> objective;  // required for tpe and early stopping
  EarlyStopping early_stopping;        // method "" when absent
  Resources resources;
  // "local" | {"ssh": <file name, list of hosts or map>} | {"slurm": {...}}.
  // Only the shape is checked here; the executor reads the rest.
  nlohmann::json executor = "local";
  std::string name;                    // optional label of the session
};

// Parses and validates YAML text. `source` names it in errors:
// "tune.yaml:7: search.lr: loguniform needs 0 < low < high, got [0, 0.1]".
// Reports the first problem found (InvalidArgument), with a 1-based line.
Result<TuneSpec> ParseTuneSpec(const std::string& yaml_text, const std::string& source);
// Reads `path` (IoError if unreadable) and parses it with `path` as source.
Result<TuneSpec> LoadTuneSpec(const std::string& path);

// The spec as canonical JSON, recorded with the tuning session and compared
// on --resume: every field with its defaults filled, object keys sorted, the
// search dimensions as an array in declaration order (their order fixes the
// grid's enumeration). `source` is left out: moving the file changes nothing.
nlohmann::json TuneSpecToJson(const TuneSpec& spec);

}  // namespace orchard::flags
