// SqliteRunStore: the RunStore on one SQLite file (WAL mode).
//
// Each instance owns one connection and is used by one thread at a time.
// Many instances, in one process or many, may share a file: writes use
// BEGIN IMMEDIATE with a long busy timeout, so they queue rather than fail
// with "database is locked"; readers never block writers (WAL).
// A write method called outside a transaction runs in its own; called while
// a transaction is open (StoreWriter batches), it joins that transaction.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "orchestrator/store/run_store.h"

namespace orchard::store {

class SqliteRunStore : public RunStore {
 public:
  static Result<std::unique_ptr<SqliteRunStore>> Open(const std::string& path,
                                                      Db::Mode mode = Db::Mode::kReadWrite);

  Result<std::string> ResolveRunId(const std::string& ref) override;
  Result<Run> GetRun(const std::string& id) override;
  Result<std::vector<Run>> ListRuns(const RunQuery& query) override;
  Result<int64_t> CountRuns(const RunQuery& query) override;
  Result<std::vector<MetricSummary>> GetMetricSummaries(const std::string& id) override;
  Result<std::vector<MetricPoint>> GetMetricSeries(const std::string& id,
                                                   const std::string& name) override;
  Result<std::vector<LogChunk>> GetLogs(const std::string& id, int64_t after_seq) override;
  Result<std::vector<Artifact>> GetArtifacts(const std::string& id) override;
  Result<Snapshot> GetSnapshot(const std::string& snapshot_id, bool with_content) override;
  Result<int64_t> GetIngestOffset(const std::string& id, const std::string& stream) override;
  Result<Tune> GetTune(const std::string& id) override;
  Result<std::vector<Tune>> ListTunes(int64_t limit) override;
  Result<std::string> ResolveTuneId(const std::string& ref) override;
  std::string path() const override { return path_; }

  Status CreateRun(Run& run) override;
  Status SetRunContext(const std::string& id, const std::string& run_dir,
                       const nlohmann::json& env) override;
  Status MarkStarted(const std::string& id, int64_t pid, double started_at) override;
  Status FinishRun(const std::string& id, RunStatus status, std::optional<int> exit_code,
                   double finished_at, const std::string& error) override;
  Status SetCode(const std::string& id, const std::string& commit, std::optional<bool> dirty,
                 const std::string& diff, const std::string& snapshot_id) override;
  Status PutSnapshot(const Snapshot& snapshot) override;
  Status PutArtifacts(const std::string& id, const std::vector<Artifact>& artifacts) override;
  Status AppendMetrics(const std::string& id, const std::vector<MetricPoint>& points) override;
  Status AppendLog(const std::string& id, const std::string& stream, double time,
                   const std::string& text) override;
  Status SetIngestOffset(const std::string& id, const std::string& stream,
                         int64_t offset) override;
  Status AddTags(const std::string& id, const std::vector<std::string>& tags) override;
  Status RemoveTags(const std::string& id, const std::vector<std::string>& tags) override;
  Status SetNotes(const std::string& id, const std::string& notes) override;
  Status DeleteRun(const std::string& id) override;
  Status CreateTune(Tune& tune) override;
  Status UpdateTune(const Tune& tune) override;

  Db& db() { return db_; }
  // Opens a transaction for a batch of writes; nullptr-free RAII.
  std::unique_ptr<Transaction> Begin() { return std::make_unique<Transaction>(db_); }

 private:
  SqliteRunStore(Db db, std::string path) : db_(std::move(db)), path_(std::move(path)) {}
  // A cached prepared statement (reset before it is handed out).
  Result<Stmt*> Cached(const char* sql);
  bool InTransaction() const { return sqlite3_get_autocommit(db_.raw()) == 0; }
  // Runs fn inside the current transaction or a new one.
  template <typename Fn>
  Status Write(Fn&& fn);
  Result<std::vector<Run>> SelectRuns(const std::string& sql, const std::vector<SqlParam>& params);
  Status LoadTags(Run& run);

  Db db_;
  std::string path_;
  std::map<const char*, Stmt> cache_;
};

}  // namespace orchard::store
