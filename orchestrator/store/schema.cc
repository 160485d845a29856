#include "orchestrator/store/schema.h"

#include <string>

namespace orchard::store {

namespace {

// Version 1: runs, flags, metrics (points and per-name summaries), logs,
// artifacts, tags, tunes and content-addressed code snapshots.
//
// Times are seconds since the Unix epoch as REAL. Flags are stored twice:
// as one JSON object on the run (the exact record) and one row per flag in
// run_flags (text plus a numeric copy when the value is a number) so the
// filter language can compare them in SQL.
constexpr const char* kV1 = R"SQL(
CREATE TABLE tunes (
  id          TEXT PRIMARY KEY,
  name        TEXT,
  spec        TEXT NOT NULL DEFAULT '{}',
  seed        INTEGER,
  status      TEXT NOT NULL DEFAULT 'running',
  created_at  REAL NOT NULL,
  finished_at REAL,
  best_run_id TEXT
);

CREATE TABLE runs (
  id          TEXT PRIMARY KEY,           -- short stable id (lower-case hex)
  seq         INTEGER NOT NULL UNIQUE,    -- creation order, for stable sorting
  name        TEXT,
  tune_id     TEXT REFERENCES tunes(id),
  status      TEXT NOT NULL,              -- queued|running|completed|failed|cancelled|pruned
  exit_code   INTEGER,
  command     TEXT NOT NULL,              -- JSON array of argv
  flags       TEXT NOT NULL DEFAULT '{}', -- JSON object name -> value
  run_dir     TEXT,
  cwd         TEXT,
  seed        INTEGER,
  created_at  REAL NOT NULL,
  started_at  REAL,
  finished_at REAL,
  host        TEXT,
  pid         INTEGER,
  env         TEXT NOT NULL DEFAULT '{}', -- JSON: os, compiler, libraries, gpus
  code_commit TEXT,
  code_dirty  INTEGER,
  code_diff   TEXT,
  snapshot_id TEXT REFERENCES snapshots(id),
  notes       TEXT NOT NULL DEFAULT '',
  error       TEXT                        -- why a run failed, when Orchard knows
);
CREATE INDEX runs_created ON runs(created_at);
CREATE INDEX runs_tune ON runs(tune_id);
CREATE INDEX runs_status ON runs(status);

CREATE TABLE run_flags (
  run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  name   TEXT NOT NULL,
  value  TEXT,       -- the value as text (JSON scalars unquoted)
  num    REAL,       -- the numeric value, NULL when not a number
  PRIMARY KEY (run_id, name)
) WITHOUT ROWID;
CREATE INDEX run_flags_name ON run_flags(name, num);

CREATE TABLE metrics (
  run_id TEXT NOT NULL,
  name   TEXT NOT NULL,
  step   INTEGER NOT NULL,
  epoch  INTEGER,
  value  REAL,
  time   REAL NOT NULL
);
CREATE INDEX metrics_run_name_step ON metrics(run_id, name, step);

-- One row per (run, metric) maintained by the writer with every batch.
CREATE TABLE metric_summary (
  run_id    TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  name      TEXT NOT NULL,
  last      REAL,
  min       REAL,
  max       REAL,
  last_step INTEGER,
  count     INTEGER NOT NULL,
  PRIMARY KEY (run_id, name)
) WITHOUT ROWID;
CREATE INDEX metric_summary_name ON metric_summary(name, last);

-- stdout/stderr text in chunks as it arrived (stream: 'stdout'|'stderr'|'orchard').
CREATE TABLE logs (
  run_id TEXT NOT NULL,
  seq    INTEGER NOT NULL,
  stream TEXT NOT NULL,
  time   REAL NOT NULL,
  text   TEXT NOT NULL,
  PRIMARY KEY (run_id, seq)
) WITHOUT ROWID;

CREATE TABLE artifacts (
  run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  path   TEXT NOT NULL,   -- relative to the run folder, '/'-separated
  size   INTEGER NOT NULL,
  sha256 TEXT NOT NULL,
  mtime  REAL,
  PRIMARY KEY (run_id, path)
) WITHOUT ROWID;

CREATE TABLE tags (
  run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
  tag    TEXT NOT NULL,
  PRIMARY KEY (run_id, tag)
) WITHOUT ROWID;
CREATE INDEX tags_tag ON tags(tag);

-- Content-addressed code snapshots: a blob per distinct file content, a
-- snapshot per distinct manifest; both shared by every run that has them.
CREATE TABLE blobs (
  sha256 TEXT PRIMARY KEY,
  size   INTEGER NOT NULL,
  data   BLOB NOT NULL
) WITHOUT ROWID;

CREATE TABLE snapshots (
  id         TEXT PRIMARY KEY,   -- sha256 of the manifest
  root       TEXT,
  created_at REAL NOT NULL,
  file_count INTEGER NOT NULL,
  total_size INTEGER NOT NULL,
  skipped    TEXT NOT NULL DEFAULT '[]'  -- JSON: files left out and why
);

CREATE TABLE snapshot_files (
  snapshot_id TEXT NOT NULL REFERENCES snapshots(id),
  path        TEXT NOT NULL,
  sha256      TEXT NOT NULL REFERENCES blobs(sha256),
  mode        INTEGER NOT NULL DEFAULT 420,
  PRIMARY KEY (snapshot_id, path)
) WITHOUT ROWID;
)SQL";

// Version 2: tuning sessions become resumable records. A run knows its trial
// number and attempt within its tune; a tune knows the hash of its spec (to
// recognise the same tuning when it is run again) and the orchestrator that
// drives it.
constexpr const char* kV2 = R"SQL(
ALTER TABLE runs ADD COLUMN trial INTEGER;
ALTER TABLE runs ADD COLUMN attempt INTEGER NOT NULL DEFAULT 1;
CREATE INDEX runs_tune_trial ON runs(tune_id, trial);
ALTER TABLE tunes ADD COLUMN spec_hash TEXT;
ALTER TABLE tunes ADD COLUMN method TEXT;
ALTER TABLE tunes ADD COLUMN objective TEXT;
ALTER TABLE tunes ADD COLUMN host TEXT;
ALTER TABLE tunes ADD COLUMN pid INTEGER;
ALTER TABLE tunes ADD COLUMN cwd TEXT;
CREATE INDEX tunes_spec_hash ON tunes(spec_hash);
)SQL";

// Version 3: how far each run's output journal (.orchard/logs/ID.stream) has
// been ingested, committed with the records it produced, so the rest can be
// ingested after the orchestrator dies.
constexpr const char* kV3 = R"SQL(
CREATE TABLE ingest_offsets (
  run_id TEXT NOT NULL,
  stream TEXT NOT NULL,
  offset INTEGER NOT NULL,
  PRIMARY KEY (run_id, stream)
) WITHOUT ROWID;
)SQL";

Status Exec(sqlite3* db, const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : sqlite3_errmsg(db);
    sqlite3_free(err);
    return Status::Internal("schema: " + msg);
  }
  return Status::Ok();
}

int UserVersion(sqlite3* db) {
  sqlite3_stmt* stmt = nullptr;
  int version = -1;
  if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &stmt, nullptr) == SQLITE_OK &&
      sqlite3_step(stmt) == SQLITE_ROW) {
    version = sqlite3_column_int(stmt, 0);
  }
  sqlite3_finalize(stmt);
  return version;
}

}  // namespace

const std::vector<std::string>& Migrations() {
  static const std::vector<std::string> kAll = {kV1, kV2, kV3};
  return kAll;
}

Status ApplySchema(sqlite3* db) {
  for (;;) {
    // BEGIN IMMEDIATE so two processes opening a fresh store do not both
    // migrate: the second waits (busy timeout) and then sees the new version.
    ORCHARD_RETURN_IF_ERROR(Exec(db, "BEGIN IMMEDIATE"));
    int version = UserVersion(db);
    if (version < 0) {
      Exec(db, "ROLLBACK");
      return Status::IoError("cannot read the store's schema version");
    }
    if (version > SchemaVersion()) {
      Exec(db, "ROLLBACK");
      return Status::InvalidArgument(
          "the store has schema version " + std::to_string(version) +
          " but this orchard knows only up to " + std::to_string(SchemaVersion()) +
          "; upgrade orchard");
    }
    if (version == SchemaVersion()) return Exec(db, "COMMIT");
    Status s = Exec(db, Migrations()[version]);
    if (s.ok()) s = Exec(db, "PRAGMA user_version = " + std::to_string(version + 1));
    if (!s.ok()) {
      Exec(db, "ROLLBACK");
      return s.WithContext("migrating to version " + std::to_string(version + 1));
    }
    ORCHARD_RETURN_IF_ERROR(Exec(db, "COMMIT"));
  }
}

}  // namespace orchard::store
