// Portable records: `orchard archive` and `orchard import`.
//
// An archive is one SQLite database file (docs/ci.md, "Archive format"):
// the store's own schema at the writer's schema version, holding the chosen
// runs with everything recorded about them (flags, metric series and
// summaries, logs, artifact index, tags, notes, environment, code: the
// snapshot manifests and their blobs), the tuning sessions they belong to,
// plus two tables of its own: `archive_info` (key/value: format, versions,
// counts, what was left out) and `archive_files` (each artifact's bytes, in
// chunks). It is written to a temporary file and renamed into place, so a
// crash never leaves a half archive under the final name.
//
// Import checks the whole archive before it changes anything: SQLite's
// integrity check (a truncated or damaged file is Corruption), the format
// marker, ids that could name a folder outside the store, artifact and code
// paths that would leave their folder, every blob's and every artifact's
// sha256. Then one transaction adds what the target store lacks; artifact
// files are staged beside the store and moved into the run folders only
// after it commits. A run already present with the same recorded content is
// left as it is (tags are merged): importing twice adds nothing. A run with
// the same id but other content is refused, and then nothing is imported.
// Ids are kept; the creation order (seq) and the run folder are the target's.
// Not thread-safe; one call at a time per store connection.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "flags/status.h"
#include "orchestrator/store/home.h"
#include "orchestrator/store/sqlite_run_store.h"

namespace orchard::ci {

inline constexpr char kArchiveFormat[] = "orchard-archive";
inline constexpr int kArchiveFormatVersion = 1;

struct ArchiveRequest {
  std::vector<std::string> run_ids;   // resolved full ids
  std::vector<std::string> tune_ids;  // resolved: all their runs, and the tune records
  std::string output;                 // the archive file to write
};

struct ArchiveStats {
  int64_t runs = 0, tunes = 0, snapshots = 0, blobs = 0, artifacts = 0;
  int64_t metric_points = 0, artifact_bytes = 0, file_bytes = 0;
  std::vector<std::string> warnings;  // artifacts left out, and why
};

// Writes the archive. InvalidArgument when nothing is selected or a run is
// still queued or running; IoError when a file cannot be read or written.
// Artifact files that are missing or no longer match their recorded sha256
// are left out with a warning (and listed in archive_info).
Result<ArchiveStats> WriteArchive(const store::Home& home, store::SqliteRunStore& store,
                                  const ArchiveRequest& request);

struct ImportStats {
  int64_t runs_added = 0, runs_present = 0, tunes_added = 0, tunes_present = 0;
  int64_t snapshots_added = 0, blobs_added = 0, artifacts_written = 0, artifacts_present = 0;
  std::vector<std::string> imported_run_ids;  // every run of the archive
  std::vector<std::string> notes;             // things people should know
};

// Checks that `path` is an intact archive this Orchard can read, without
// touching any store; returns its store schema version. The errors of
// ImportArchive for a damaged, foreign or newer file.
Result<int> CheckArchiveFile(const std::string& path);

// Imports the archive into `home`'s store (opened as `store`).
// Corruption: damaged, truncated or hostile archive. InvalidArgument: not an
// archive, or written by a newer Orchard. AlreadyExists: a run or tune with the
// same id but different content is in the target store.
Result<ImportStats> ImportArchive(const store::Home& home, store::SqliteRunStore& store,
                                  const std::string& archive_path);

}  // namespace orchard::ci
