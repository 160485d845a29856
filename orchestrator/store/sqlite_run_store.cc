// SqliteRunStore: runs, their flags, metrics, logs, artifacts, tags and
// code snapshots. Tuning sessions are in sqlite_tune_store.cc.
#include "orchestrator/store/sqlite_run_store.h"

#include <cmath>
#include <map>
#include <unordered_map>

#include "orchestrator/store/sqlite_run_store_internal.h"

namespace orchard::store {

using internal::Dump;
using internal::NewRunId;
using internal::ParseJsonOr;

namespace {

constexpr const char* kRunColumns =
    "r.id, r.seq, r.name, r.tune_id, r.status, r.exit_code, r.command, r.flags, r.run_dir, "
    "r.cwd, r.seed, r.created_at, r.started_at, r.finished_at, r.host, r.pid, r.env, "
    "r.code_commit, r.code_dirty, r.code_diff, r.snapshot_id, r.notes, r.error, r.trial, r.attempt";

Run ReadRun(const Stmt& s) {
  Run r;
  r.id = s.Text(0);
  r.seq = s.Int(1);
  r.name = s.Text(2);
  r.tune_id = s.Text(3);
  r.status = ParseRunStatus(s.Text(4)).value_or(RunStatus::kFailed);
  if (!s.IsNull(5)) r.exit_code = static_cast<int>(s.Int(5));
  auto cmd = ParseJsonOr(s.Text(6), nlohmann::json::array());
  for (const auto& a : cmd) {
    if (a.is_string()) r.command.push_back(a.get<std::string>());
  }
  r.flags = ParseJsonOr(s.Text(7), nlohmann::json::object());
  r.run_dir = s.Text(8);
  r.cwd = s.Text(9);
  r.seed = s.OptInt(10);
  r.created_at = s.Double(11);
  r.started_at = s.OptDouble(12);
  r.finished_at = s.OptDouble(13);
  r.host = s.Text(14);
  r.pid = s.OptInt(15);
  r.env = ParseJsonOr(s.Text(16), nlohmann::json::object());
  r.code_commit = s.Text(17);
  if (!s.IsNull(18)) r.code_dirty = s.Int(18) != 0;
  r.code_diff = s.Text(19);
  r.snapshot_id = s.Text(20);
  r.notes = s.Text(21);
  r.error = s.Text(22);
  r.trial = s.OptInt(23);
  r.attempt = s.Int(24);
  return r;
}

// The text stored in run_flags.value: strings unquoted, other scalars as JSON.
std::string FlagText(const nlohmann::json& v) {
  if (v.is_string()) return v.get<std::string>();
  return v.dump();
}

}  // namespace

Result<std::unique_ptr<SqliteRunStore>> SqliteRunStore::Open(const std::string& path,
                                                             Db::Mode mode) {
  auto db = Db::Open(path, mode);
  if (!db.ok()) return db.status();
  return std::unique_ptr<SqliteRunStore>(new SqliteRunStore(std::move(db).value(), path));
}

Result<Stmt*> SqliteRunStore::Cached(const char* sql) {
  auto it = cache_.find(sql);
  if (it == cache_.end()) {
    auto st = db_.Prepare(sql);
    if (!st.ok()) return st.status();
    it = cache_.emplace(sql, std::move(st).value()).first;
  }
  it->second.Reset();
  return &it->second;
}


Result<std::string> SqliteRunStore::ResolveRunId(const std::string& ref) {
  if (ref.empty()) return Status::InvalidArgument("empty run id");
  bool hex = ref.size() >= 2 && ref.size() <= 32 &&
             ref.find_first_not_of("0123456789abcdef") == std::string::npos;
  std::vector<std::string> ids;
  if (hex) {
    ORCHARD_PREPARE(q, "SELECT id FROM runs WHERE substr(id, 1, length(?1)) = ?1 LIMIT 3");
    q.Bind(1, ref);
    while (q.Step()) ids.push_back(q.Text(0));
    ORCHARD_RETURN_IF_ERROR(q.status());
  }
  if (ids.empty()) {
    ORCHARD_PREPARE(q, "SELECT id FROM runs WHERE name = ?1 LIMIT 3");
    q.Bind(1, ref);
    while (q.Step()) ids.push_back(q.Text(0));
    ORCHARD_RETURN_IF_ERROR(q.status());
  }
  if (ids.empty()) return Status::NotFound("no run matches '" + ref + "'");
  if (ids.size() > 1) {
    return Status::InvalidArgument("'" + ref + "' is ambiguous: it matches " + ids[0] + ", " +
                                   ids[1] + (ids.size() > 2 ? " and more" : "") +
                                   "; give more of the id");
  }
  return ids[0];
}

Status SqliteRunStore::LoadTags(Run& run) {
  ORCHARD_PREPARE(q, "SELECT tag FROM tags WHERE run_id = ? ORDER BY tag");
  q.Bind(1, run.id);
  run.tags.clear();
  while (q.Step()) run.tags.push_back(q.Text(0));
  return q.status();
}

Result<std::vector<Run>> SqliteRunStore::SelectRuns(const std::string& sql,
                                                    const std::vector<SqlParam>& params) {
  auto st = db_.Prepare(sql);
  if (!st.ok()) return st.status();
  st->BindAll(params);
  std::vector<Run> runs;
  while (st->Step()) runs.push_back(ReadRun(*st));
  ORCHARD_RETURN_IF_ERROR(st->status());
  if (runs.empty()) return runs;
  // Tags for every listed run in one query rather than one per run.
  std::unordered_map<std::string, Run*> by_id;
  for (auto& r : runs) by_id[r.id] = &r;
  if (runs.size() <= 500) {
    std::string in = "SELECT run_id, tag FROM tags WHERE run_id IN (";
    for (size_t i = 0; i < runs.size(); ++i) in += i ? ",?" : "?";
    in += ") ORDER BY tag";
    auto tq = db_.Prepare(in);
    if (!tq.ok()) return tq.status();
    for (size_t i = 0; i < runs.size(); ++i) tq->Bind(static_cast<int>(i + 1), runs[i].id);
    while (tq->Step()) by_id[tq->Text(0)]->tags.push_back(tq->Text(1));
    ORCHARD_RETURN_IF_ERROR(tq->status());
  } else {
    auto tq = db_.Prepare("SELECT run_id, tag FROM tags ORDER BY tag");
    if (!tq.ok()) return tq.status();
    while (tq->Step()) {
      auto it = by_id.find(tq->Text(0));
      if (it != by_id.end()) it->second->tags.push_back(tq->Text(1));
    }
    ORCHARD_RETURN_IF_ERROR(tq->status());
  }
  return runs;
}

Result<Run> SqliteRunStore::GetRun(const std::string& id) {
  auto runs = SelectRuns(std::string("SELECT ") + kRunColumns + " FROM runs r WHERE r.id = ?",
                         {SqlParam(id)});
  if (!runs.ok()) return runs.status();
  if (runs->empty()) return Status::NotFound("no run with id " + id);
  return std::move(runs->front());
}

Result<std::vector<Run>> SqliteRunStore::ListRuns(const RunQuery& query) {
  std::string sql = std::string("SELECT ") + kRunColumns + " FROM runs r WHERE (" +
                    query.where_sql + ") ORDER BY " + query.order_sql + " LIMIT ? OFFSET ?";
  std::vector<SqlParam> params = query.params;
  params.insert(params.end(), query.order_params.begin(), query.order_params.end());
  params.emplace_back(query.limit);
  params.emplace_back(query.offset);
  return SelectRuns(sql, params);
}

Result<int64_t> SqliteRunStore::CountRuns(const RunQuery& query) {
  auto st = db_.Prepare("SELECT count(*) FROM runs r WHERE (" + query.where_sql + ")");
  if (!st.ok()) return st.status();
  st->BindAll(query.params);
  int64_t n = st->Step() ? st->Int(0) : 0;
  ORCHARD_RETURN_IF_ERROR(st->status());
  return n;
}

Result<std::vector<MetricSummary>> SqliteRunStore::GetMetricSummaries(const std::string& id) {
  ORCHARD_PREPARE(q,
                  "SELECT name, last, min, max, last_step, count FROM metric_summary "
                  "WHERE run_id = ? ORDER BY name");
  q.Bind(1, id);
  std::vector<MetricSummary> out;
  while (q.Step()) {
    out.push_back({q.Text(0), q.Double(1), q.Double(2), q.Double(3), q.Int(4), q.Int(5)});
  }
  ORCHARD_RETURN_IF_ERROR(q.status());
  return out;
}

Result<std::vector<MetricPoint>> SqliteRunStore::GetMetricSeries(const std::string& id,
                                                                 const std::string& name) {
  ORCHARD_PREPARE(q,
                  "SELECT name, step, epoch, value, time FROM metrics "
                  "WHERE run_id = ?1 AND (?2 = '' OR name = ?2) ORDER BY name, step, rowid");
  q.Bind(1, id).Bind(2, name);
  std::vector<MetricPoint> out;
  while (q.Step()) {
    MetricPoint p;
    p.name = q.Text(0);
    p.step = q.Int(1);
    p.epoch = q.OptInt(2);
    p.value = q.IsNull(3) ? std::nan("") : q.Double(3);
    p.time = q.Double(4);
    out.push_back(std::move(p));
  }
  ORCHARD_RETURN_IF_ERROR(q.status());
  return out;
}

Result<std::vector<LogChunk>> SqliteRunStore::GetLogs(const std::string& id, int64_t after_seq) {
  ORCHARD_PREPARE(q,
                  "SELECT seq, stream, time, text FROM logs WHERE run_id = ? AND seq > ? "
                  "ORDER BY seq");
  q.Bind(1, id).Bind(2, after_seq);
  std::vector<LogChunk> out;
  while (q.Step()) out.push_back({q.Int(0), q.Text(1), q.Double(2), q.Text(3)});
  ORCHARD_RETURN_IF_ERROR(q.status());
  return out;
}

Result<std::vector<Artifact>> SqliteRunStore::GetArtifacts(const std::string& id) {
  ORCHARD_PREPARE(q,
                  "SELECT path, size, sha256, mtime FROM artifacts WHERE run_id = ? "
                  "ORDER BY path");
  q.Bind(1, id);
  std::vector<Artifact> out;
  while (q.Step()) out.push_back({q.Text(0), q.Int(1), q.Text(2), q.Double(3)});
  ORCHARD_RETURN_IF_ERROR(q.status());
  return out;
}

Result<Snapshot> SqliteRunStore::GetSnapshot(const std::string& snapshot_id, bool with_content) {
  Snapshot snap;
  {
    ORCHARD_PREPARE(q, "SELECT id, root, skipped FROM snapshots WHERE id = ?");
    q.Bind(1, snapshot_id);
    if (!q.Step()) {
      ORCHARD_RETURN_IF_ERROR(q.status());
      return Status::NotFound("no code snapshot " + snapshot_id);
    }
    snap.id = q.Text(0);
    snap.root = q.Text(1);
    snap.skipped = ParseJsonOr(q.Text(2), nlohmann::json::array());
    q.Reset();
  }
  ORCHARD_PREPARE(q,
                  "SELECT f.path, f.sha256, f.mode, CASE WHEN ?2 THEN b.data END "
                  "FROM snapshot_files f LEFT JOIN blobs b ON b.sha256 = f.sha256 "
                  "WHERE f.snapshot_id = ?1 ORDER BY f.path");
  q.Bind(1, snapshot_id).Bind(2, int64_t{with_content ? 1 : 0});
  while (q.Step()) {
    snap.files.push_back({q.Text(0), q.Text(1), static_cast<int>(q.Int(2)), q.Text(3)});
  }
  ORCHARD_RETURN_IF_ERROR(q.status());
  return snap;
}

Status SqliteRunStore::CreateRun(Run& run) {
  return Write([&]() -> Status {
    ORCHARD_PREPARE(seq_q, "SELECT coalesce(max(seq), 0) + 1 FROM runs");
    if (!seq_q.Step()) return seq_q.status();
    run.seq = seq_q.Int(0);
    seq_q.Reset();
    nlohmann::json cmd = run.command;
    ORCHARD_PREPARE(ins,
                    "INSERT INTO runs (id, seq, name, tune_id, status, command, flags, run_dir, "
                    "cwd, seed, created_at, host, env, notes, trial, attempt) "
                    "VALUES (?, ?, nullif(?, ''), nullif(?, ''), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    // Ids are random: retry the rare clash rather than trust luck.
    Status s;
    for (int attempt = 0; attempt < 16; ++attempt) {
      std::string id = run.id.empty() || attempt > 0 ? NewRunId() : run.id;
      ins.Reset();
      ins.Bind(1, id).Bind(2, run.seq).Bind(3, run.name).Bind(4, run.tune_id);
      ins.Bind(5, ToString(run.status)).Bind(6, Dump(cmd)).Bind(7, Dump(run.flags));
      ins.Bind(8, run.run_dir).Bind(9, run.cwd).Bind(10, run.seed).Bind(11, run.created_at);
      ins.Bind(12, run.host).Bind(13, Dump(run.env)).Bind(14, run.notes);
      ins.Bind(15, run.trial).Bind(16, run.attempt);
      s = ins.Run();
      if (s.ok()) {
        run.id = id;
        break;
      }
      if (sqlite3_extended_errcode(db_.raw()) != SQLITE_CONSTRAINT_PRIMARYKEY) return s;
    }
    ORCHARD_RETURN_IF_ERROR(s);
    ORCHARD_PREPARE(fl, "INSERT INTO run_flags (run_id, name, value, num) VALUES (?, ?, ?, ?)");
    for (auto it = run.flags.begin(); it != run.flags.end(); ++it) {
      fl.Reset();
      fl.Bind(1, run.id).Bind(2, it.key()).Bind(3, FlagText(it.value()));
      if (it.value().is_number()) {
        fl.Bind(4, it.value().get<double>());
      } else if (it.value().is_boolean()) {
        fl.Bind(4, it.value().get<bool>() ? 1.0 : 0.0);
      } else {
        fl.BindNull(4);
      }
      ORCHARD_RETURN_IF_ERROR(fl.Run());
    }
    return AddTags(run.id, run.tags);
  });
}

Status SqliteRunStore::SetRunContext(const std::string& id, const std::string& run_dir,
                                     const nlohmann::json& env) {
  ORCHARD_PREPARE(q, "UPDATE runs SET run_dir = ?, env = ? WHERE id = ?");
  q.Bind(1, run_dir).Bind(2, Dump(env)).Bind(3, id);
  return Write([&] { return q.Run(); });
}

Status SqliteRunStore::MarkStarted(const std::string& id, int64_t pid, double started_at) {
  ORCHARD_PREPARE(q,
                  "UPDATE runs SET status = 'running', pid = ?, started_at = ? WHERE id = ? "
                  "AND status IN ('queued', 'running')");
  q.Bind(1, pid).Bind(2, started_at).Bind(3, id);
  return Write([&] { return q.Run(); });
}

Status SqliteRunStore::FinishRun(const std::string& id, RunStatus status,
                                 std::optional<int> exit_code, double finished_at,
                                 const std::string& error) {
  ORCHARD_PREPARE(q,
                  "UPDATE runs SET status = ?, exit_code = ?, finished_at = ?, "
                  "error = nullif(?, '') WHERE id = ? AND status IN ('queued', 'running')");
  q.Bind(1, ToString(status)).Bind(2, exit_code ? std::optional<int64_t>(*exit_code)
                                                : std::nullopt);
  q.Bind(3, finished_at).Bind(4, error).Bind(5, id);
  return Write([&] { return q.Run(); });
}

Status SqliteRunStore::SetCode(const std::string& id, const std::string& commit,
                               std::optional<bool> dirty, const std::string& diff,
                               const std::string& snapshot_id) {
  ORCHARD_PREPARE(q,
                  "UPDATE runs SET code_commit = nullif(?, ''), code_dirty = ?, "
                  "code_diff = nullif(?, ''), snapshot_id = nullif(?, '') WHERE id = ?");
  q.Bind(1, commit);
  if (dirty) q.Bind(2, int64_t{*dirty}); else q.BindNull(2);
  q.Bind(3, diff).Bind(4, snapshot_id).Bind(5, id);
  return Write([&] { return q.Run(); });
}

Status SqliteRunStore::PutSnapshot(const Snapshot& snap) {
  return Write([&]() -> Status {
    ORCHARD_PREPARE(has, "SELECT 1 FROM snapshots WHERE id = ?");
    has.Bind(1, snap.id);
    if (has.Step()) return Status::Ok();  // the same tree was stored before
    ORCHARD_RETURN_IF_ERROR(has.status());
    ORCHARD_PREPARE(blob, "INSERT OR IGNORE INTO blobs (sha256, size, data) VALUES (?, ?, ?)");
    ORCHARD_PREPARE(file,
                    "INSERT INTO snapshot_files (snapshot_id, path, sha256, mode) "
                    "VALUES (?, ?, ?, ?)");
    int64_t total = 0;
    for (const auto& f : snap.files) {
      blob.Reset();
      blob.Bind(1, f.sha256).Bind(2, static_cast<int64_t>(f.content.size()));
      blob.BindBlob(3, f.content);
      ORCHARD_RETURN_IF_ERROR(blob.Run());
      file.Reset();
      file.Bind(1, snap.id).Bind(2, f.path).Bind(3, f.sha256).Bind(4, int64_t{f.mode});
      ORCHARD_RETURN_IF_ERROR(file.Run());
      total += static_cast<int64_t>(f.content.size());
    }
    ORCHARD_PREPARE(ins,
                    "INSERT INTO snapshots (id, root, created_at, file_count, total_size, "
                    "skipped) VALUES (?, ?, strftime('%s','now'), ?, ?, ?)");
    ins.Bind(1, snap.id).Bind(2, snap.root).Bind(3, static_cast<int64_t>(snap.files.size()));
    ins.Bind(4, total).Bind(5, Dump(snap.skipped));
    return ins.Run();
  });
}

Status SqliteRunStore::PutArtifacts(const std::string& id,
                                    const std::vector<Artifact>& artifacts) {
  return Write([&]() -> Status {
    ORCHARD_PREPARE(q,
                    "INSERT OR REPLACE INTO artifacts (run_id, path, size, sha256, mtime) "
                    "VALUES (?, ?, ?, ?, ?)");
    for (const auto& a : artifacts) {
      q.Reset();
      q.Bind(1, id).Bind(2, a.path).Bind(3, a.size).Bind(4, a.sha256).Bind(5, a.mtime);
      ORCHARD_RETURN_IF_ERROR(q.Run());
    }
    return Status::Ok();
  });
}

Status SqliteRunStore::AppendMetrics(const std::string& id,
                                     const std::vector<MetricPoint>& points) {
  if (points.empty()) return Status::Ok();
  return Write([&]() -> Status {
    ORCHARD_PREPARE(ins,
                    "INSERT INTO metrics (run_id, name, step, epoch, value, time) "
                    "VALUES (?, ?, ?, ?, ?, ?)");
    // Summaries are folded in memory and written once per name per batch.
    std::map<std::string, MetricSummary> folded;
    for (const auto& p : points) {
      ins.Reset();
      ins.Bind(1, id).Bind(2, p.name).Bind(3, p.step).Bind(4, p.epoch);
      if (std::isfinite(p.value)) ins.Bind(5, p.value); else ins.BindNull(5);
      ins.Bind(6, p.time);
      ORCHARD_RETURN_IF_ERROR(ins.Run());
      if (!std::isfinite(p.value)) continue;
      auto [it, fresh] = folded.try_emplace(p.name);
      MetricSummary& s = it->second;
      if (fresh) {
        s.name = p.name;
        s.min = s.max = p.value;
      }
      s.last = p.value;
      s.last_step = p.step;
      s.min = std::min(s.min, p.value);
      s.max = std::max(s.max, p.value);
      ++s.count;
    }
    ORCHARD_PREPARE(up,
                    "INSERT INTO metric_summary (run_id, name, last, min, max, last_step, count) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (run_id, name) DO UPDATE SET "
                    "last = excluded.last, min = min(min, excluded.min), "
                    "max = max(max, excluded.max), last_step = excluded.last_step, "
                    "count = count + excluded.count");
    for (const auto& [name, s] : folded) {
      up.Reset();
      up.Bind(1, id).Bind(2, name).Bind(3, s.last).Bind(4, s.min).Bind(5, s.max);
      up.Bind(6, s.last_step).Bind(7, s.count);
      ORCHARD_RETURN_IF_ERROR(up.Run());
    }
    return Status::Ok();
  });
}

Status SqliteRunStore::AppendLog(const std::string& id, const std::string& stream, double time,
                                 const std::string& text) {
  if (text.empty()) return Status::Ok();
  ORCHARD_PREPARE(q,
                  "INSERT INTO logs (run_id, seq, stream, time, text) VALUES (?1, "
                  "(SELECT coalesce(max(seq), 0) + 1 FROM logs WHERE run_id = ?1), ?2, ?3, ?4)");
  q.Bind(1, id).Bind(2, stream).Bind(3, time).Bind(4, text);
  return Write([&] { return q.Run(); });
}

Result<int64_t> SqliteRunStore::GetIngestOffset(const std::string& id,
                                                const std::string& stream) {
  ORCHARD_PREPARE(q, "SELECT offset FROM ingest_offsets WHERE run_id = ? AND stream = ?");
  q.Bind(1, id).Bind(2, stream);
  int64_t offset = q.Step() ? q.Int(0) : 0;
  ORCHARD_RETURN_IF_ERROR(q.status());
  return offset;
}

Status SqliteRunStore::SetIngestOffset(const std::string& id, const std::string& stream,
                                       int64_t offset) {
  ORCHARD_PREPARE(q,
                  "INSERT INTO ingest_offsets (run_id, stream, offset) VALUES (?, ?, ?) "
                  "ON CONFLICT (run_id, stream) DO UPDATE SET "
                  "offset = max(offset, excluded.offset)");
  q.Bind(1, id).Bind(2, stream).Bind(3, offset);
  return Write([&] { return q.Run(); });
}

Status SqliteRunStore::AddTags(const std::string& id, const std::vector<std::string>& tags) {
  if (tags.empty()) return Status::Ok();
  return Write([&]() -> Status {
    ORCHARD_PREPARE(q, "INSERT OR IGNORE INTO tags (run_id, tag) VALUES (?, ?)");
    for (const auto& t : tags) {
      q.Reset();
      q.Bind(1, id).Bind(2, t);
      ORCHARD_RETURN_IF_ERROR(q.Run());
    }
    return Status::Ok();
  });
}

Status SqliteRunStore::RemoveTags(const std::string& id, const std::vector<std::string>& tags) {
  return Write([&]() -> Status {
    ORCHARD_PREPARE(q, "DELETE FROM tags WHERE run_id = ? AND tag = ?");
    for (const auto& t : tags) {
      q.Reset();
      q.Bind(1, id).Bind(2, t);
      ORCHARD_RETURN_IF_ERROR(q.Run());
    }
    return Status::Ok();
  });
}

Status SqliteRunStore::SetNotes(const std::string& id, const std::string& notes) {
  ORCHARD_PREPARE(q, "UPDATE runs SET notes = ? WHERE id = ?");
  q.Bind(1, notes).Bind(2, id);
  return Write([&] { return q.Run(); });
}

Status SqliteRunStore::DeleteRun(const std::string& id) {
  return Write([&]() -> Status {
    for (const char* table : {"metrics", "metric_summary", "logs", "artifacts", "tags",
                              "run_flags", "ingest_offsets"}) {
      auto q = db_.Prepare(std::string("DELETE FROM ") + table + " WHERE run_id = ?");
      if (!q.ok()) return q.status();
      q->Bind(1, id);
      ORCHARD_RETURN_IF_ERROR(q->Run());
    }
    ORCHARD_PREPARE(q, "DELETE FROM runs WHERE id = ?");
    q.Bind(1, id);
    return q.Run();
  });
}

}  // namespace orchard::store
