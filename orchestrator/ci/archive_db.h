// Internal to orchestrator/ci: SQL helpers shared by the archive writer and
// the importer. Not part of the library's interface.
#pragma once

#include <string>
#include <vector>

#include "flags/status.h"
#include "orchestrator/store/sqlite.h"

namespace orchard::ci::internal {

// Artifact bytes are stored in chunks of this size, so neither side ever
// holds a whole checkpoint in memory.
inline constexpr size_t kChunkBytes = 8 << 20;

// The archive's own tables, created beside the store schema.
inline constexpr const char* kArchiveTables = R"SQL(
CREATE TABLE IF NOT EXISTS archive_info (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS archive_files (
  run_id TEXT NOT NULL,
  path   TEXT NOT NULL,     -- relative to the run folder, as in artifacts.path
  chunk  INTEGER NOT NULL,  -- 0, 1, ... in order; each kChunkBytes but the last
  data   BLOB NOT NULL,
  PRIMARY KEY (run_id, path, chunk)
) WITHOUT ROWID;
)SQL";

// The column names of `schema`.`table`, in order.
Result<std::vector<std::string>> Columns(store::Db& db, const std::string& schema,
                                         const std::string& table);

// "a, b, c"
std::string JoinColumns(const std::vector<std::string>& cols);

// sha256 over the recorded content of run `id` in `schema` (main or an
// attached archive): the run row (but not its seq, folder, pid or notes,
// which are the store's own or annotations), its flags, every metric point,
// its logs and its artifact index. Equal content gives equal fingerprints.
Result<std::string> RunFingerprint(store::Db& db, const std::string& schema,
                                   const std::string& id);

// True for a run id Orchard makes: 2 to 32 lower-case hex digits.
bool IsRunId(const std::string& id);
// True for a tune id: 't' and 1 to 32 lower-case hex digits.
bool IsTuneId(const std::string& id);

}  // namespace orchard::ci::internal
