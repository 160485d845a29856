// Plain records that move between the run store, the CLI and the web layer.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace orchard::store {

// The life of a run. Terminal states never change again.
enum class RunStatus { kQueued, kRunning, kCompleted, kFailed, kCancelled, kPruned };

const char* ToString(RunStatus s);
std::optional<RunStatus> ParseRunStatus(const std::string& s);
inline bool IsTerminal(RunStatus s) {
  return s != RunStatus::kQueued && s != RunStatus::kRunning;
}

struct MetricPoint {
  std::string name;
  int64_t step = 0;
  std::optional<int64_t> epoch;
  double value = 0;
  double time = 0;  // seconds since the epoch
};

struct MetricSummary {
  std::string name;
  double last = 0, min = 0, max = 0;
  int64_t last_step = 0;
  int64_t count = 0;
};

struct Artifact {
  std::string path;  // relative to the run folder, '/'-separated
  int64_t size = 0;
  std::string sha256;
  double mtime = 0;
};

struct LogChunk {
  int64_t seq = 0;
  std::string stream;  // stdout | stderr | orchard
  double time = 0;
  std::string text;
};

struct Run {
  std::string id;
  int64_t seq = 0;
  std::string name;
  std::string tune_id;
  RunStatus status = RunStatus::kQueued;
  std::optional<int> exit_code;
  std::vector<std::string> command;
  nlohmann::json flags = nlohmann::json::object();  // name -> scalar
  std::string run_dir;
  std::string cwd;
  std::optional<int64_t> seed;
  double created_at = 0;
  std::optional<double> started_at, finished_at;
  std::string host;
  std::optional<int64_t> pid;
  nlohmann::json env = nlohmann::json::object();
  std::string code_commit;
  std::optional<bool> code_dirty;
  std::string code_diff;
  std::string snapshot_id;
  std::string notes;
  std::string error;
  std::vector<std::string> tags;
  std::optional<int64_t> trial;  // trial number within its tune
  int64_t attempt = 1;           // 2+ for retries and re-queued trials
};

// A tuning session: the spec it ran, and where it stands.
struct Tune {
  std::string id;
  std::string name;
  nlohmann::json spec = nlohmann::json::object();
  std::string spec_hash;
  std::string method;
  nlohmann::json objective;  // {metric, goal} or null
  int64_t seed = 0;
  std::string status = "running";  // running | completed | cancelled | failed | interrupted
  double created_at = 0;
  std::optional<double> finished_at;
  std::string best_run_id;
  std::string host;
  std::optional<int64_t> pid;
  std::string cwd;
};

// A file of a code snapshot, with its content when it is loaded.
struct SnapshotFile {
  std::string path;
  std::string sha256;
  int mode = 0644;
  std::string content;
};

struct Snapshot {
  std::string id;
  std::string root;
  std::vector<SnapshotFile> files;
  nlohmann::json skipped = nlohmann::json::array();  // [{path, reason}]
};

}  // namespace orchard::store
