#include "orchestrator/ci/archive_db.h"

#include <sqlite3.h>

#include <cstring>

#include "orchestrator/util/sha256.h"

namespace orchard::ci::internal {

Result<std::vector<std::string>> Columns(store::Db& db, const std::string& schema,
                                         const std::string& table) {
  auto st = db.Prepare("SELECT name FROM pragma_table_info(?1, ?2) ORDER BY cid");
  if (!st.ok()) return st.status();
  st->Bind(1, table).Bind(2, schema);
  std::vector<std::string> out;
  while (st->Step()) out.push_back(st->Text(0));
  ORCHARD_RETURN_IF_ERROR(st->status());
  if (out.empty()) return Status::Corruption("no table " + schema + "." + table);
  return out;
}

std::string JoinColumns(const std::vector<std::string>& cols) {
  std::string out;
  for (const auto& c : cols) out += (out.empty() ? "" : ", ") + c;
  return out;
}

namespace {

// Feeds every row of a query (one '?' parameter: the run id) into the hash,
// each value with its type, so "1" and 1 and NULL and "" all differ.
Status HashRows(store::Db& db, const std::string& sql, const std::string& id, Sha256& h) {
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(db.raw(), sql.c_str(), -1, &st, nullptr) != SQLITE_OK) {
    std::string msg = sqlite3_errmsg(db.raw());
    sqlite3_finalize(st);
    return Status::Corruption("sqlite: " + msg + " in: " + sql);
  }
  sqlite3_bind_text(st, 1, id.data(), static_cast<int>(id.size()), SQLITE_TRANSIENT);
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    h.Update("\x1eR");
    int n = sqlite3_column_count(st);
    for (int c = 0; c < n; ++c) {
      switch (sqlite3_column_type(st, c)) {
        case SQLITE_NULL: h.Update("\x1fN"); break;
        case SQLITE_INTEGER: {
          int64_t v = sqlite3_column_int64(st, c);
          h.Update("\x1fI");
          h.Update(&v, sizeof v);
          break;
        }
        case SQLITE_FLOAT: {
          double v = sqlite3_column_double(st, c);
          h.Update("\x1f" "F");
          h.Update(&v, sizeof v);
          break;
        }
        default: {
          const void* p = sqlite3_column_blob(st, c);
          int64_t len = sqlite3_column_bytes(st, c);
          h.Update("\x1fT");
          h.Update(&len, sizeof len);
          if (p) h.Update(p, static_cast<size_t>(len));
        }
      }
    }
  }
  Status s;
  if (rc != SQLITE_DONE) {
    s = Status::Corruption(std::string("sqlite: ") + sqlite3_errmsg(db.raw()) + " in: " + sql);
  }
  sqlite3_finalize(st);
  return s;
}

}  // namespace

Result<std::string> RunFingerprint(store::Db& db, const std::string& schema,
                                   const std::string& id) {
  const std::string s = schema + ".";
  Sha256 h;
  ORCHARD_RETURN_IF_ERROR(HashRows(
      db,
      "SELECT id, name, tune_id, status, exit_code, command, flags, cwd, seed, created_at, "
      "started_at, finished_at, host, env, code_commit, code_dirty, code_diff, snapshot_id, "
      "error, trial, attempt FROM " + s + "runs WHERE id = ?",
      id, h));
  h.Update("\x1d" "flags");
  ORCHARD_RETURN_IF_ERROR(HashRows(
      db, "SELECT name, value, num FROM " + s + "run_flags WHERE run_id = ? ORDER BY name", id, h));
  h.Update("\x1d" "metrics");
  ORCHARD_RETURN_IF_ERROR(HashRows(
      db,
      "SELECT name, step, epoch, value, time FROM " + s +
          "metrics WHERE run_id = ? ORDER BY name, step, epoch, value, time",
      id, h));
  h.Update("\x1d" "logs");
  ORCHARD_RETURN_IF_ERROR(HashRows(
      db, "SELECT seq, stream, time, text FROM " + s + "logs WHERE run_id = ? ORDER BY seq", id,
      h));
  h.Update("\x1d" "artifacts");
  ORCHARD_RETURN_IF_ERROR(HashRows(
      db,
      "SELECT path, size, sha256, mtime FROM " + s + "artifacts WHERE run_id = ? ORDER BY path",
      id, h));
  return h.FinalHex();
}

bool IsRunId(const std::string& id) {
  return id.size() >= 2 && id.size() <= 32 &&
         id.find_first_not_of("0123456789abcdef") == std::string::npos;
}

bool IsTuneId(const std::string& id) {
  return id.size() >= 2 && id.size() <= 33 && id[0] == 't' &&
         id.find_first_not_of("0123456789abcdef", 1) == std::string::npos;
}

}  // namespace orchard::ci::internal
