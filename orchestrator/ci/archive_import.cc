// ImportArchive: an archive's runs into another store, checked first, in one
// transaction, with artifact files moved into place after it commits.
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>

#include "orchestrator/ci/archive.h"
#include "orchestrator/ci/archive_db.h"
#include "orchestrator/ci/safe_path.h"
#include "orchestrator/store/schema.h"
#include "orchestrator/util/sha256.h"

namespace fs = std::filesystem;

namespace orchard::ci {

using internal::Columns;
using internal::IsRunId;
using internal::IsTuneId;
using internal::JoinColumns;
using internal::RunFingerprint;

namespace {

// A folder removed with everything in it at scope exit.
struct ScopedDir {
  std::string path;
  ~ScopedDir() {
    if (path.empty()) return;
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

Status Damaged(const std::string& path, const std::string& why) {
  return Status::Corruption(path + " is damaged or truncated: " + why +
                            "; nothing was imported");
}

}  // namespace

Result<int> CheckArchiveFile(const std::string& path) {
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) return Status::NotFound("no archive file " + path);
  {
    // Read the header ourselves: SQLite would happily create a database
    // from an empty file.
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return Status::IoError("cannot read " + path + ": " + std::strerror(errno));
    char head[16] = {};
    ssize_t n = read(fd, head, sizeof head);
    close(fd);
    if (n != static_cast<ssize_t>(sizeof head) ||
        std::memcmp(head, "SQLite format 3\0", 16) != 0) {
      return Status::Corruption(path + " is not an Orchard archive (not a SQLite database, "
                                "or truncated); nothing was imported");
    }
  }
  auto db = store::Db::Open(path, store::Db::Mode::kReadOnly);
  if (!db.ok()) return Damaged(path, db.status().message());
  auto check = db->Prepare("PRAGMA quick_check");
  if (!check.ok()) return Damaged(path, check.status().message());
  std::string verdict;
  while (check->Step()) verdict += (verdict.empty() ? "" : "; ") + check->Text(0);
  if (!check->status().ok()) return Damaged(path, check->status().message());
  if (verdict != "ok") return Damaged(path, verdict.substr(0, 300));
  auto info = db->Prepare("SELECT value FROM archive_info WHERE key = 'format'");
  if (!info.ok() || !info->Step() || info->Text(0) != kArchiveFormat) {
    return Status::InvalidArgument(path + " is a SQLite file but not an Orchard archive "
                                   "(no archive_info format marker)");
  }
  auto fv = db->Prepare("SELECT value FROM archive_info WHERE key = 'format_version'");
  if (!fv.ok() || !fv->Step()) return Damaged(path, "no format version");
  if (std::atoi(fv->Text(0).c_str()) > kArchiveFormatVersion) {
    return Status::InvalidArgument(path + " has archive format " + fv->Text(0) +
                                   "; this orchard reads up to " +
                                   std::to_string(kArchiveFormatVersion) + ": upgrade orchard");
  }
  auto uv = db->Prepare("PRAGMA user_version");
  if (!uv.ok() || !uv->Step()) return Damaged(path, "no schema version");
  int version = static_cast<int>(uv->Int(0));
  if (version > store::SchemaVersion()) {
    return Status::InvalidArgument(path + " was written with store schema " +
                                   std::to_string(version) + "; this orchard knows up to " +
                                   std::to_string(store::SchemaVersion()) + ": upgrade orchard");
  }
  if (version < 1) return Damaged(path, "no store schema");
  return version;
}

namespace {

// Everything that could hurt the target, refused before anything is written.
Status CheckContents(store::Db& db, const std::string& path) {
  auto bad = [&](const std::string& why) {
    return Status::Corruption(path + ": " + why + "; refusing the archive, nothing was imported");
  };
  {
    auto q = db.Prepare("SELECT id FROM arc.runs");
    if (!q.ok()) return q.status();
    while (q->Step()) {
      if (!IsRunId(q->Text(0))) return bad("the run id '" + q->Text(0) + "' is not a run id");
    }
    ORCHARD_RETURN_IF_ERROR(q->status());
  }
  {
    auto q = db.Prepare("SELECT id FROM arc.tunes");
    if (!q.ok()) return q.status();
    while (q->Step()) {
      if (!IsTuneId(q->Text(0))) return bad("the tune id '" + q->Text(0) + "' is not a tune id");
    }
    ORCHARD_RETURN_IF_ERROR(q->status());
  }
  {
    auto q = db.Prepare(
        "SELECT run_id, path FROM arc.artifacts UNION SELECT run_id, path FROM arc.archive_files");
    if (!q.ok()) return q.status();
    while (q->Step()) {
      if (!IsSafeRelativePath(q->Text(1))) {
        return bad("artifact path '" + q->Text(1) + "' of run " + q->Text(0) +
                   " would leave the run folder");
      }
    }
    ORCHARD_RETURN_IF_ERROR(q->status());
  }
  {
    auto q = db.Prepare("SELECT snapshot_id, path FROM arc.snapshot_files");
    if (!q.ok()) return q.status();
    while (q->Step()) {
      if (!IsSafeRelativePath(q->Text(1))) {
        return bad("code path '" + q->Text(1) + "' of snapshot " + q->Text(0) +
                   " would leave its folder");
      }
    }
    ORCHARD_RETURN_IF_ERROR(q->status());
  }
  {
    auto q = db.Prepare(
        "SELECT f.run_id, f.path FROM arc.archive_files f LEFT JOIN arc.artifacts a "
        "ON a.run_id = f.run_id AND a.path = f.path WHERE a.path IS NULL LIMIT 1");
    if (!q.ok()) return q.status();
    if (q->Step()) return bad("file '" + q->Text(1) + "' of run " + q->Text(0) + " is not indexed");
    ORCHARD_RETURN_IF_ERROR(q->status());
  }
  return Status::Ok();
}

Result<bool> Exists(store::Db& db, const std::string& sql, const std::string& id) {
  auto q = db.Prepare(sql);
  if (!q.ok()) return q.status();
  q->Bind(1, id);
  bool found = q->Step();
  ORCHARD_RETURN_IF_ERROR(q->status());
  return found;
}

Status ExecWith(store::Db& db, const std::string& sql, const std::vector<store::SqlParam>& p) {
  auto q = db.Prepare(sql);
  if (!q.ok()) return q.status();
  q->BindAll(p);
  return q->Run();
}

// Copies the rows of `table` for one run from the archive.
Status CopyRunRows(store::Db& db, const std::string& table, const std::string& run_id,
                   const std::string& order) {
  auto cols = Columns(db, "main", table);
  if (!cols.ok()) return cols.status();
  std::string list = JoinColumns(*cols);
  return ExecWith(db,
                  "INSERT OR IGNORE INTO main." + table + " (" + list + ") SELECT " + list +
                      " FROM arc." + table + " WHERE run_id = ? ORDER BY " + order,
                  {run_id});
}

Status ImportTunes(store::Db& db, ImportStats& stats) {
  auto q = db.Prepare("SELECT id FROM arc.tunes ORDER BY rowid");
  if (!q.ok()) return q.status();
  std::vector<std::string> ids;
  while (q->Step()) ids.push_back(q->Text(0));
  ORCHARD_RETURN_IF_ERROR(q->status());
  auto cols = Columns(db, "main", "tunes");
  if (!cols.ok()) return cols.status();
  std::string list = JoinColumns(*cols);
  for (const auto& id : ids) {
    auto same = db.Prepare(
        "SELECT (m.spec IS a.spec AND m.created_at IS a.created_at AND m.seed IS a.seed AND "
        "m.spec_hash IS a.spec_hash) FROM main.tunes m, arc.tunes a WHERE m.id = ?1 AND a.id = ?1");
    if (!same.ok()) return same.status();
    same->Bind(1, id);
    if (same->Step()) {
      if (same->Int(0) == 0) {
        return Status::AlreadyExists("tune " + id +
                                     " is already in this store with different content (spec, "
                                     "seed or creation time); refusing to import over it; "
                                     "nothing was imported");
      }
      ++stats.tunes_present;
      continue;
    }
    ORCHARD_RETURN_IF_ERROR(same->status());
    ORCHARD_RETURN_IF_ERROR(ExecWith(db,
                                     "INSERT INTO main.tunes (" + list + ") SELECT " + list +
                                         " FROM arc.tunes WHERE id = ?",
                                     {id}));
    ++stats.tunes_added;
  }
  return Status::Ok();
}

Status ImportRun(store::Db& db, const store::Home& home, const std::string& id,
                 ImportStats& stats) {
  auto present = Exists(db, "SELECT 1 FROM main.runs WHERE id = ?", id);
  if (!present.ok()) return present.status();
  if (*present) {
    auto mine = RunFingerprint(db, "main", id);
    if (!mine.ok()) return mine.status();
    auto theirs = RunFingerprint(db, "arc", id);
    if (!theirs.ok()) return theirs.status();
    if (*mine != *theirs) {
      return Status::AlreadyExists(
          "run " + id + " is already in this store with different content (its record, "
          "metrics, logs or artifacts differ from the archive's); refusing to import over it; "
          "nothing was imported");
    }
    ++stats.runs_present;
    // Annotations merge: tags are a set; notes are filled only when empty.
    ORCHARD_RETURN_IF_ERROR(CopyRunRows(db, "tags", id, "tag"));
    ORCHARD_RETURN_IF_ERROR(ExecWith(
        db,
        "UPDATE main.runs SET notes = (SELECT notes FROM arc.runs WHERE id = ?1) "
        "WHERE id = ?1 AND notes = ''",
        {id}));
    return Status::Ok();
  }
  auto cols = Columns(db, "main", "runs");
  if (!cols.ok()) return cols.status();
  std::string list = JoinColumns(*cols), select;
  for (const auto& c : *cols) {
    std::string v = c == "seq" ? "(SELECT coalesce(max(seq), 0) + 1 FROM main.runs)"
                    : c == "run_dir" ? "?2"
                                 : c;
    select += (select.empty() ? "" : ", ") + v;
  }
  ORCHARD_RETURN_IF_ERROR(ExecWith(db,
                                   "INSERT INTO main.runs (" + list + ") SELECT " + select +
                                       " FROM arc.runs WHERE id = ?1",
                                   {id, home.RunDir(id)}));
  ORCHARD_RETURN_IF_ERROR(CopyRunRows(db, "run_flags", id, "name"));
  ORCHARD_RETURN_IF_ERROR(CopyRunRows(db, "metrics", id, "rowid"));
  ORCHARD_RETURN_IF_ERROR(CopyRunRows(db, "metric_summary", id, "name"));
  ORCHARD_RETURN_IF_ERROR(CopyRunRows(db, "logs", id, "seq"));
  ORCHARD_RETURN_IF_ERROR(CopyRunRows(db, "artifacts", id, "path"));
  ORCHARD_RETURN_IF_ERROR(CopyRunRows(db, "tags", id, "tag"));
  ++stats.runs_added;
  return Status::Ok();
}

// Code: manifests and blobs the target lacks; each blob's bytes must hash to
// its name, or the archive would poison the content-addressed store.
Status ImportCode(store::Db& db, const std::string& path, ImportStats& stats) {
  auto blobs = db.Prepare(
      "SELECT sha256, size, data FROM arc.blobs WHERE sha256 NOT IN (SELECT sha256 FROM main.blobs)");
  if (!blobs.ok()) return blobs.status();
  auto ins = db.Prepare("INSERT INTO main.blobs (sha256, size, data) VALUES (?, ?, ?)");
  if (!ins.ok()) return ins.status();
  while (blobs->Step()) {
    std::string sha = blobs->Text(0), data = blobs->Text(2);
    if (Sha256Hex(data) != sha || static_cast<int64_t>(data.size()) != blobs->Int(1)) {
      return Status::Corruption(path + ": code blob " + sha.substr(0, 12) +
                                " does not match its sha256; refusing the archive, nothing "
                                "was imported");
    }
    ins->Reset();
    ins->Bind(1, sha).Bind(2, blobs->Int(1)).BindBlob(3, data);
    ORCHARD_RETURN_IF_ERROR(ins->Run());
    ++stats.blobs_added;
  }
  ORCHARD_RETURN_IF_ERROR(blobs->status());
  auto before = db.Prepare("SELECT count(*) FROM main.snapshots");
  if (!before.ok()) return before.status();
  int64_t n0 = before->Step() ? before->Int(0) : 0;
  before->Reset();
  for (const char* t : {"snapshots", "snapshot_files"}) {
    auto cols = Columns(db, "main", t);
    if (!cols.ok()) return cols.status();
    std::string list = JoinColumns(*cols);
    ORCHARD_RETURN_IF_ERROR(db.Exec(std::string("INSERT OR IGNORE INTO main.") + t + " (" + list +
                                    ") SELECT " + list + " FROM arc." + t));
  }
  int64_t n1 = before->Step() ? before->Int(0) : 0;
  stats.snapshots_added = n1 - n0;
  // Every file of every snapshot must have its blob, here or from the archive.
  auto orphan = db.Prepare(
      "SELECT f.snapshot_id, f.path FROM arc.snapshot_files f "
      "WHERE f.sha256 NOT IN (SELECT sha256 FROM main.blobs) LIMIT 1");
  if (!orphan.ok()) return orphan.status();
  if (orphan->Step()) {
    return Status::Corruption(path + ": code file " + orphan->Text(1) + " of snapshot " +
                              orphan->Text(0).substr(0, 12) +
                              " has no content; refusing the archive, nothing was imported");
  }
  return orphan->status();
}

struct StagedFile {
  std::string staged, final_path;
};

// Writes one artifact from its chunks into the staging folder, checking its
// size and sha256 against the index.
Status StageArtifact(store::Db& db, const std::string& archive, const std::string& run_id,
                     const std::string& rel, const std::string& sha, int64_t size,
                     const std::string& staged) {
  std::error_code ec;
  fs::create_directories(fs::path(staged).parent_path(), ec);
  if (ec) return Status::IoError("cannot create " + staged + ": " + ec.message());
  int fd = open(staged.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
  if (fd < 0) return Status::IoError("cannot create " + staged + ": " + std::strerror(errno));
  auto q = db.Prepare(
      "SELECT chunk, data FROM arc.archive_files WHERE run_id = ? AND path = ? ORDER BY chunk");
  if (!q.ok()) {
    close(fd);
    return q.status();
  }
  q->Bind(1, run_id).Bind(2, rel);
  Sha256 h;
  int64_t total = 0, expect_chunk = 0;
  Status s;
  while (s.ok() && q->Step()) {
    if (q->Int(0) != expect_chunk++) {
      s = Status::Corruption(archive + ": artifact " + rel + " of run " + run_id +
                             " has a missing chunk");
      break;
    }
    std::string data = q->Text(1);
    h.Update(data);
    total += static_cast<int64_t>(data.size());
    size_t done = 0;
    while (done < data.size()) {
      ssize_t n = write(fd, data.data() + done, data.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        s = Status::IoError("cannot write " + staged + ": " + std::strerror(errno));
        break;
      }
      done += static_cast<size_t>(n);
    }
  }
  if (s.ok()) s = q->status();
  if (close(fd) != 0 && s.ok()) s = Status::IoError("cannot write " + staged);
  ORCHARD_RETURN_IF_ERROR(s);
  if (total != size || h.FinalHex() != sha) {
    return Status::Corruption(archive + ": artifact " + rel + " of run " + run_id +
                              " does not match its recorded size and sha256; refusing the "
                              "archive, nothing was imported");
  }
  return Status::Ok();
}

Result<std::vector<StagedFile>> StageArtifacts(store::Db& db, const store::Home& home,
                                               const std::string& archive,
                                               const std::string& staging, ImportStats& stats) {
  struct Row {
    std::string run_id, path, sha;
    int64_t size;
  };
  std::vector<Row> rows;
  auto q = db.Prepare(
      "SELECT DISTINCT f.run_id, f.path, a.sha256, a.size FROM arc.archive_files f "
      "JOIN arc.artifacts a ON a.run_id = f.run_id AND a.path = f.path ORDER BY f.run_id, f.path");
  if (!q.ok()) return q.status();
  while (q->Step()) rows.push_back({q->Text(0), q->Text(1), q->Text(2), q->Int(3)});
  ORCHARD_RETURN_IF_ERROR(q->status());
  std::vector<StagedFile> staged;
  for (const auto& r : rows) {
    std::string final_path = home.RunDir(r.run_id) + "/" + r.path;
    std::error_code ec;
    if (fs::exists(fs::symlink_status(final_path, ec))) {
      auto hash = Sha256File(final_path);
      if (hash.ok() && *hash == r.sha) {
        ++stats.artifacts_present;
      } else {
        stats.notes.push_back("kept the existing file " + final_path +
                              ", which differs from the archive's");
      }
      continue;
    }
    std::string tmp = staging + "/" + r.run_id + "/" + r.path;
    ORCHARD_RETURN_IF_ERROR(StageArtifact(db, archive, r.run_id, r.path, r.sha, r.size, tmp));
    staged.push_back({tmp, final_path});
  }
  return staged;
}

}  // namespace

Result<ImportStats> ImportArchive(const store::Home& home, store::SqliteRunStore& store,
                                  const std::string& archive_path) {
  auto version = CheckArchiveFile(archive_path);
  if (!version.ok()) return version.status();
  ORCHARD_RETURN_IF_ERROR(store::EnsureHome(home));
  // The staging folder sits in the store so that moving files is a rename.
  ScopedDir staging;
  {
    std::string tmpl = home.root + "/import-XXXXXX";
    if (!mkdtemp(tmpl.data())) {
      return Status::IoError("cannot create a staging folder in " + home.root + ": " +
                             std::strerror(errno));
    }
    staging.path = tmpl;
  }
  std::string source = archive_path;
  if (*version < store::SchemaVersion()) {
    // An archive from an older Orchard: upgrade a copy, never the archive.
    source = staging.path + "/archive.db";
    std::error_code ec;
    fs::copy_file(archive_path, source, ec);
    if (ec) return Status::IoError("cannot copy " + archive_path + ": " + ec.message());
    auto up = store::Db::Open(source);
    if (!up.ok()) return up.status().WithContext(archive_path);
  }

  store::Db& db = store.db();
  {
    auto attach = db.Prepare("ATTACH DATABASE ? AS arc");
    if (!attach.ok()) return attach.status();
    attach->Bind(1, source);
    ORCHARD_RETURN_IF_ERROR(attach->Run());
  }
  struct Detach {
    store::Db& db;
    ~Detach() { db.Exec("DETACH DATABASE arc"); }
  } detach{db};
  ORCHARD_RETURN_IF_ERROR(CheckContents(db, archive_path));

  ImportStats stats;
  std::vector<StagedFile> staged;
  {
    store::Transaction tx(db);
    ORCHARD_RETURN_IF_ERROR(tx.begin_status());
    ORCHARD_RETURN_IF_ERROR(ImportTunes(db, stats));
    auto q = db.Prepare("SELECT id FROM arc.runs ORDER BY seq");
    if (!q.ok()) return q.status();
    std::vector<std::string> ids;
    while (q->Step()) ids.push_back(q->Text(0));
    ORCHARD_RETURN_IF_ERROR(q->status());
    for (const auto& id : ids) ORCHARD_RETURN_IF_ERROR(ImportRun(db, home, id, stats));
    stats.imported_run_ids = ids;
    ORCHARD_RETURN_IF_ERROR(ImportCode(db, archive_path, stats));
    auto files = StageArtifacts(db, home, archive_path, staging.path + "/files", stats);
    if (!files.ok()) return files.status();
    staged = std::move(files).value();
    ORCHARD_RETURN_IF_ERROR(tx.Commit());
  }
  for (const auto& id : stats.imported_run_ids) {
    std::error_code ec;
    fs::create_directories(home.RunDir(id), ec);
  }
  for (const auto& f : staged) {
    std::error_code ec;
    fs::create_directories(fs::path(f.final_path).parent_path(), ec);
    if (!ec) fs::rename(f.staged, f.final_path, ec);
    if (ec) {
      return Status::IoError("the records were imported, but the artifact " + f.final_path +
                             " could not be put in place: " + ec.message() +
                             "; import the archive again to retry");
    }
    ++stats.artifacts_written;
  }
  return stats;
}

}  // namespace orchard::ci
