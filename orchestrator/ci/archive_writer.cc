// WriteArchive: the chosen runs of a store, copied into one SQLite file.
#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>

#include <nlohmann/json.hpp>

#include "orchestrator/capture/environment.h"
#include "orchestrator/ci/archive.h"
#include "orchestrator/ci/archive_db.h"
#include "orchestrator/ci/safe_path.h"
#include "orchestrator/store/schema.h"
#include "orchestrator/util/clock.h"
#include "orchestrator/util/sha256.h"

namespace fs = std::filesystem;

namespace orchard::ci {

using internal::Columns;
using internal::JoinColumns;
using internal::kChunkBytes;

namespace {

// Copies the rows of `table` that `where` selects (over the source alias s)
// from src into main, in the source's row order.
Status CopyRows(store::Db& db, const std::string& table, const std::string& where,
                const std::string& order) {
  auto cols = Columns(db, "main", table);
  if (!cols.ok()) return cols.status();
  std::string list = JoinColumns(*cols);
  std::string sql = "INSERT INTO main." + table + " (" + list + ") SELECT " + list +
                    " FROM src." + table + " s WHERE " + where + " ORDER BY " + order;
  return db.Exec(sql);
}

struct ArtifactRow {
  std::string run_id, path, sha256, run_dir;
  int64_t size = 0;
};

// Streams one artifact file into archive_files, hashing it on the way.
// Returns "" when stored, else why it was left out.
Result<std::string> StoreArtifact(store::Db& db, const ArtifactRow& a, int64_t& bytes) {
  if (!IsSafeRelativePath(a.path)) return std::string("its path leaves the run folder");
  std::string file = a.run_dir + "/" + a.path;
  int fd = open(file.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return std::string(errno == ENOENT ? "the file is gone" : std::strerror(errno));
  auto ins = db.Prepare("INSERT INTO main.archive_files (run_id, path, chunk, data) "
                        "VALUES (?, ?, ?, ?)");
  if (!ins.ok()) {
    close(fd);
    return ins.status();
  }
  std::string buf(kChunkBytes, '\0');
  Sha256 h;
  int64_t chunk = 0, total = 0;
  Status s;
  for (;;) {
    size_t have = 0;
    while (have < buf.size()) {
      ssize_t n = read(fd, buf.data() + have, buf.size() - have);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        s = Status::IoError("cannot read " + file + ": " + std::strerror(errno));
        break;
      }
      if (n == 0) break;
      have += static_cast<size_t>(n);
    }
    if (!s.ok() || (have == 0 && chunk > 0)) break;
    std::string_view data(buf.data(), have);
    h.Update(data);
    total += static_cast<int64_t>(have);
    ins->Reset();
    ins->Bind(1, a.run_id).Bind(2, a.path).Bind(3, chunk++).BindBlob(4, data);
    s = ins->Run();
    if (!s.ok() || have < buf.size()) break;
  }
  close(fd);
  ORCHARD_RETURN_IF_ERROR(s);
  std::string hash = h.FinalHex();
  if (hash != a.sha256 || total != a.size) {
    auto del = db.Prepare("DELETE FROM main.archive_files WHERE run_id = ? AND path = ?");
    if (!del.ok()) return del.status();
    del->Bind(1, a.run_id).Bind(2, a.path);
    ORCHARD_RETURN_IF_ERROR(del->Run());
    return std::string("the file changed after the run recorded it (sha256 ") +
           hash.substr(0, 12) + ", recorded " + a.sha256.substr(0, 12) + ")";
  }
  bytes += total;
  return std::string();
}

Result<int64_t> Count(store::Db& db, const std::string& sql) {
  auto st = db.Prepare(sql);
  if (!st.ok()) return st.status();
  int64_t n = st->Step() ? st->Int(0) : 0;
  ORCHARD_RETURN_IF_ERROR(st->status());
  return n;
}

Result<ArchiveStats> Fill(store::Db& db, const store::Home& home, const ArchiveRequest& req) {
  ArchiveStats stats;
  ORCHARD_RETURN_IF_ERROR(db.Exec("CREATE TEMP TABLE sel (id TEXT PRIMARY KEY)"));
  ORCHARD_RETURN_IF_ERROR(db.Exec("CREATE TEMP TABLE sel_tunes (id TEXT PRIMARY KEY)"));
  {
    auto ins = db.Prepare("INSERT OR IGNORE INTO temp.sel (id) VALUES (?)");
    if (!ins.ok()) return ins.status();
    for (const auto& id : req.run_ids) {
      ins->Reset();
      ins->Bind(1, id);
      ORCHARD_RETURN_IF_ERROR(ins->Run());
    }
    auto tin = db.Prepare("INSERT OR IGNORE INTO temp.sel_tunes (id) VALUES (?)");
    if (!tin.ok()) return tin.status();
    for (const auto& id : req.tune_ids) {
      tin->Reset();
      tin->Bind(1, id);
      ORCHARD_RETURN_IF_ERROR(tin->Run());
    }
    ORCHARD_RETURN_IF_ERROR(db.Exec(
        "INSERT OR IGNORE INTO temp.sel (id) SELECT id FROM src.runs "
        "WHERE tune_id IN (SELECT id FROM temp.sel_tunes)"));
    ORCHARD_RETURN_IF_ERROR(db.Exec(
        "INSERT OR IGNORE INTO temp.sel_tunes (id) SELECT tune_id FROM src.runs "
        "WHERE id IN (SELECT id FROM temp.sel) AND tune_id IS NOT NULL"));
  }
  {
    auto busy = db.Prepare(
        "SELECT id, status FROM src.runs WHERE id IN (SELECT id FROM temp.sel) "
        "AND status IN ('queued', 'running') ORDER BY seq LIMIT 1");
    if (!busy.ok()) return busy.status();
    if (busy->Step()) {
      return Status::InvalidArgument("run " + busy->Text(0) + " is still " + busy->Text(1) +
                                     "; archive it once it has ended");
    }
    ORCHARD_RETURN_IF_ERROR(busy->status());
  }
  const std::string in_sel = "s.run_id IN (SELECT id FROM temp.sel)";
  ORCHARD_RETURN_IF_ERROR(
      CopyRows(db, "tunes", "s.id IN (SELECT id FROM temp.sel_tunes)", "s.rowid"));
  ORCHARD_RETURN_IF_ERROR(CopyRows(db, "runs", "s.id IN (SELECT id FROM temp.sel)", "s.seq"));
  for (const char* t : {"run_flags", "metric_summary", "artifacts", "tags"}) {
    ORCHARD_RETURN_IF_ERROR(CopyRows(db, t, in_sel, "s.run_id"));
  }
  ORCHARD_RETURN_IF_ERROR(CopyRows(db, "metrics", in_sel, "s.rowid"));
  ORCHARD_RETURN_IF_ERROR(CopyRows(db, "logs", in_sel, "s.run_id, s.seq"));
  ORCHARD_RETURN_IF_ERROR(CopyRows(
      db, "snapshots", "s.id IN (SELECT snapshot_id FROM main.runs)", "s.rowid"));
  ORCHARD_RETURN_IF_ERROR(CopyRows(
      db, "snapshot_files", "s.snapshot_id IN (SELECT id FROM main.snapshots)",
      "s.snapshot_id, s.path"));
  ORCHARD_RETURN_IF_ERROR(CopyRows(
      db, "blobs", "s.sha256 IN (SELECT sha256 FROM main.snapshot_files)", "s.sha256"));

  // A blob that no longer hashes to its name would make the archive
  // unimportable: say so here, where the damage is.
  {
    auto q = db.Prepare("SELECT sha256, data FROM main.blobs");
    if (!q.ok()) return q.status();
    while (q->Step()) {
      if (Sha256Hex(q->Text(1)) != q->Text(0)) {
        return Status::Corruption("the store's code blob " + q->Text(0).substr(0, 12) +
                                  " no longer matches its sha256 (altered or damaged); "
                                  "refusing to archive it");
      }
    }
    ORCHARD_RETURN_IF_ERROR(q->status());
  }
  // Artifact files, from each run's recorded folder (or its folder in this store).
  std::vector<ArtifactRow> artifacts;
  {
    auto q = db.Prepare(
        "SELECT a.run_id, a.path, a.sha256, a.size, coalesce(r.run_dir, '') FROM main.artifacts a "
        "JOIN main.runs r ON r.id = a.run_id ORDER BY r.seq, a.path");
    if (!q.ok()) return q.status();
    while (q->Step()) {
      ArtifactRow a{q->Text(0), q->Text(1), q->Text(2), q->Text(4), q->Int(3)};
      if (a.run_dir.empty() || !fs::is_directory(a.run_dir)) a.run_dir = home.RunDir(a.run_id);
      artifacts.push_back(std::move(a));
    }
    ORCHARD_RETURN_IF_ERROR(q->status());
  }
  nlohmann::json left_out = nlohmann::json::array();
  for (const auto& a : artifacts) {
    auto why = StoreArtifact(db, a, stats.artifact_bytes);
    if (!why.ok()) return why.status();
    if (why->empty()) {
      ++stats.artifacts;
      continue;
    }
    stats.warnings.push_back("artifact " + a.path + " of run " + a.run_id + " left out: " + *why);
    left_out.push_back({{"run_id", a.run_id}, {"path", a.path}, {"reason", *why}});
  }

  for (auto [field, sql] :
       {std::pair{&stats.runs, "SELECT count(*) FROM main.runs"},
        {&stats.tunes, "SELECT count(*) FROM main.tunes"},
        {&stats.snapshots, "SELECT count(*) FROM main.snapshots"},
        {&stats.blobs, "SELECT count(*) FROM main.blobs"},
        {&stats.metric_points, "SELECT count(*) FROM main.metrics"}}) {
    auto n = Count(db, sql);
    if (!n.ok()) return n.status();
    *field = *n;
  }
  nlohmann::json info = {
      {"format", kArchiveFormat},
      {"format_version", std::to_string(kArchiveFormatVersion)},
      {"schema_version", std::to_string(store::SchemaVersion())},
      {"orchard_version", ORCHARD_VERSION},
      {"created_at", std::to_string(NowSeconds())},
      {"host", capture::HostName()},
      {"source_store", home.root},
      {"runs", std::to_string(stats.runs)},
      {"tunes", std::to_string(stats.tunes)},
      {"artifacts", std::to_string(stats.artifacts)},
      {"artifacts_left_out", left_out.dump()},
  };
  auto put = db.Prepare("INSERT INTO main.archive_info (key, value) VALUES (?, ?)");
  if (!put.ok()) return put.status();
  for (auto it = info.begin(); it != info.end(); ++it) {
    put->Reset();
    put->Bind(1, it.key()).Bind(2, it.value().get<std::string>());
    ORCHARD_RETURN_IF_ERROR(put->Run());
  }
  return stats;
}

}  // namespace

Result<ArchiveStats> WriteArchive(const store::Home& home, store::SqliteRunStore& store,
                                  const ArchiveRequest& req) {
  if (req.run_ids.empty() && req.tune_ids.empty()) {
    return Status::InvalidArgument("nothing to archive: name runs or --tune");
  }
  if (req.output.empty()) return Status::InvalidArgument("no --output file");
  std::string tmp = req.output + ".tmp." + std::to_string(getpid());
  std::error_code ec;
  fs::remove(tmp, ec);
  auto cleanup = [&] {
    fs::remove(tmp, ec);
    fs::remove(tmp + "-journal", ec);
    fs::remove(tmp + "-wal", ec);
    fs::remove(tmp + "-shm", ec);
  };
  Result<ArchiveStats> stats = Status::Internal("unreached");
  {
    auto db = store::Db::Open(tmp);
    if (!db.ok()) {
      cleanup();
      return Status::IoError("cannot write " + req.output + ": " + db.status().message());
    }
    // One self-contained file: no -wal beside it.
    Status s = db->Exec("PRAGMA journal_mode=DELETE");
    if (s.ok()) s = db->Exec(internal::kArchiveTables);
    if (s.ok()) {
      auto attach = db->Prepare("ATTACH DATABASE ? AS src");
      if (!attach.ok()) {
        s = attach.status();
      } else {
        attach->Bind(1, store.path());
        s = attach->Run();
      }
    }
    if (s.ok()) {
      store::Transaction tx(*db);
      s = tx.begin_status();
      if (s.ok()) {
        stats = Fill(*db, home, req);
        s = stats.ok() ? tx.Commit() : stats.status();
      }
    }
    if (s.ok()) s = db->Exec("DETACH DATABASE src");
    if (!s.ok()) {
      cleanup();
      return s;
    }
  }
  fs::rename(tmp, req.output, ec);
  if (ec) {
    cleanup();
    return Status::IoError("cannot write " + req.output + ": " + ec.message());
  }
  stats->file_bytes = static_cast<int64_t>(fs::file_size(req.output, ec));
  return stats;
}

}  // namespace orchard::ci
