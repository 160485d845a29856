// The run store: what Orchard remembers about runs.
//
// RunReader is the read-only query interface: the CLI's listing commands and
// the web dashboard use only this. RunStore adds the writes. SQLite is the
// one implementation (sqlite_run_store.h); tests open a temporary file or
// ":memory:". Implementations are not thread-safe: open one per thread.
// High-rate appends (metrics, logs) go through StoreWriter (store_writer.h),
// which batches them into short transactions on its own connection.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "flags/status.h"
#include "orchestrator/store/sqlite.h"
#include "orchestrator/store/types.h"

namespace orchard::store {

// Which runs to list: a compiled filter (see orchestrator/query) over the
// alias `r` for the runs table, an ORDER BY list, and paging.
struct RunQuery {
  std::string where_sql = "1";
  std::vector<SqlParam> params;
  std::string order_sql = "r.seq DESC";  // params of order terms follow `params`
  std::vector<SqlParam> order_params;
  int64_t limit = -1;  // -1: all
  int64_t offset = 0;
};

class RunReader {
 public:
  virtual ~RunReader() = default;

  // A full id, a unique id prefix (at least 2 characters), or a run name
  // that names exactly one run. Ambiguity and absence are errors that say so.
  virtual Result<std::string> ResolveRunId(const std::string& ref) = 0;
  virtual Result<Run> GetRun(const std::string& id) = 0;
  virtual Result<std::vector<Run>> ListRuns(const RunQuery& query) = 0;
  virtual Result<int64_t> CountRuns(const RunQuery& query) = 0;
  virtual Result<std::vector<MetricSummary>> GetMetricSummaries(const std::string& id) = 0;
  // The points of one metric ordered by step (then arrival); all metrics when
  // name is empty.
  virtual Result<std::vector<MetricPoint>> GetMetricSeries(const std::string& id,
                                                           const std::string& name) = 0;
  virtual Result<std::vector<LogChunk>> GetLogs(const std::string& id, int64_t after_seq) = 0;
  virtual Result<std::vector<Artifact>> GetArtifacts(const std::string& id) = 0;
  virtual Result<Snapshot> GetSnapshot(const std::string& snapshot_id, bool with_content) = 0;
  // Bytes of a run's output journal already in the store (0 if none).
  virtual Result<int64_t> GetIngestOffset(const std::string& id, const std::string& stream) = 0;
  virtual Result<Tune> GetTune(const std::string& id) = 0;
  // Newest first; a unique id prefix or exact name resolves like runs.
  virtual Result<std::vector<Tune>> ListTunes(int64_t limit) = 0;
  virtual Result<std::string> ResolveTuneId(const std::string& ref) = 0;
  virtual std::string path() const = 0;
};

class RunStore : public RunReader {
 public:
  // Gives the run a fresh short id and seq, stores it with its flags and tags.
  virtual Status CreateRun(Run& run) = 0;
  // Moves a run to running with its pid and start time.
  // Records where the run's files go and what it runs on.
  virtual Status SetRunContext(const std::string& id, const std::string& run_dir,
                               const nlohmann::json& env) = 0;
  virtual Status MarkStarted(const std::string& id, int64_t pid, double started_at) = 0;
  // Records the end of a run. A run already in a terminal state is left as is.
  virtual Status FinishRun(const std::string& id, RunStatus status, std::optional<int> exit_code,
                           double finished_at, const std::string& error) = 0;
  virtual Status SetCode(const std::string& id, const std::string& commit,
                         std::optional<bool> dirty, const std::string& diff,
                         const std::string& snapshot_id) = 0;
  // Stores the blobs a snapshot needs that the store lacks, then the manifest.
  virtual Status PutSnapshot(const Snapshot& snapshot) = 0;
  virtual Status PutArtifacts(const std::string& id, const std::vector<Artifact>& artifacts) = 0;
  virtual Status AppendMetrics(const std::string& id, const std::vector<MetricPoint>& points) = 0;
  virtual Status AppendLog(const std::string& id, const std::string& stream, double time,
                           const std::string& text) = 0;
  // Records that the journal of `stream` is ingested up to `offset`.
  virtual Status SetIngestOffset(const std::string& id, const std::string& stream,
                                 int64_t offset) = 0;
  virtual Status AddTags(const std::string& id, const std::vector<std::string>& tags) = 0;
  virtual Status RemoveTags(const std::string& id, const std::vector<std::string>& tags) = 0;
  virtual Status SetNotes(const std::string& id, const std::string& notes) = 0;
  // Deletes the run's records (not its folder: the caller removes that).
  virtual Status DeleteRun(const std::string& id) = 0;
  // Gives the tune a fresh id and stores it.
  virtual Status CreateTune(Tune& tune) = 0;
  // Updates status, finished_at, best_run_id, host and pid.
  virtual Status UpdateTune(const Tune& tune) = 0;
};

}  // namespace orchard::store
