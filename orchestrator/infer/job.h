// The plan of an `orchard infer` job and its work folder
// (docs/inference.md, "The driver").
//
// A job is identified by the bundle (the sha256 of its bundle.json, which
// lists every other file's hash), the inputs (InputsHash) and the options
// that change the records (format, top-k, features). Its work folder holds
// manifest.json (written atomically), shard-NNNN.list and shard-NNNN.out.
// Shards are contiguous ranges of the input order, so merging the .out files
// in shard order gives the records in input order. Pure functions and plain
// file I/O; thread-compatible.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "flags/status.h"
#include "orchestrator/infer/inputs.h"

namespace orchard::infer {

inline constexpr const char* kManifestName = "manifest.json";
inline constexpr const char* kManifestFormat = "orchard-infer-job";
inline constexpr const char* kLockName = "driver.lock";

// The options that change what the records hold.
struct RecordOptions {
  std::string format = "jsonl";  // jsonl | csv
  int top_k = 5;
  bool features = false;
};

struct ShardRange {
  int index = 0;
  int64_t first = 0;  // index of its first input
  int64_t count = 0;
};

// n_shards contiguous ranges of sizes differing by at most one (the larger
// ones first), never empty: min(n_shards, n_inputs) ranges, at least one.
std::vector<ShardRange> PlanShards(int64_t n_inputs, int n_shards);

// "shard-0007.list", "shard-0007.out".
std::string ShardFileName(int index, const std::string& ext);

// {"bundle_sha256", "inputs_sha256", "inputs", "root", "options": {...}}.
nlohmann::json JobIdentity(const std::string& bundle_sha256, const InputSet& inputs,
                           const RecordOptions& options);

struct Manifest {
  nlohmann::json job;       // JobIdentity
  std::string bundle;       // the bundle folder, absolute
  std::string input;        // the folder or list file, absolute
  std::string output;       // the merged file, absolute
  double created = 0;
  std::vector<ShardRange> shards;

  nlohmann::json ToJson() const;
  static Result<Manifest> FromJson(const nlohmann::json& j, const std::string& name);
};

// The manifest in work_dir, or nullopt when there is none. A manifest that
// cannot be parsed is InvalidArgument naming the file (use --restart).
Result<std::optional<Manifest>> ReadManifest(const std::string& work_dir);
Status WriteManifest(const std::string& work_dir, const Manifest& m);

// Why two job identities differ, for the refusal: "the bundle differs
// (bundle.json sha256 ...)", "the inputs differ (...)", "the options differ (...)".
std::string DescribeJobDifference(const nlohmann::json& recorded, const nlohmann::json& now);

// Writes each shard's .list (its inputs, one per line), atomically.
Status WriteShardLists(const std::string& work_dir, const InputSet& inputs,
                       const std::vector<ShardRange>& shards);

// Removes what a job leaves in work_dir (manifest, shard lists and outputs,
// their .tmp and .lock files, worker files), and with remove_lock the
// driver's lock file and then the folder if it is left empty. Files the
// driver did not make are left alone.
Status ClearWorkFolder(const std::string& work_dir, bool remove_lock);

// Whether work_dir holds files the driver did not make (then it is refused
// as a work folder).
Result<std::vector<std::string>> ForeignFiles(const std::string& work_dir);

// Writes text to path.tmp and renames it to path.
Status WriteFileAtomic(const std::string& path, const std::string& text);

}  // namespace orchard::infer
