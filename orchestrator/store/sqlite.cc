#include "orchestrator/store/sqlite.h"

#include "orchestrator/store/schema.h"

namespace orchard::store {

namespace {
// Several orchestrators and a dashboard share one file; writers queue on the
// lock instead of failing. A minute is far above any Orchard transaction.
constexpr int kBusyTimeoutMs = 60000;
}  // namespace

Stmt& Stmt::operator=(Stmt&& o) noexcept {
  if (this != &o) {
    sqlite3_finalize(stmt_);
    db_ = o.db_;
    stmt_ = o.stmt_;
    o.stmt_ = nullptr;
  }
  return *this;
}

Stmt& Stmt::Bind(int i, const SqlParam& p) {
  std::visit([&](const auto& v) { Bind(i, v); }, p);
  return *this;
}

Stmt& Stmt::BindAll(const std::vector<SqlParam>& params, int first) {
  for (size_t k = 0; k < params.size(); ++k) Bind(first + static_cast<int>(k), params[k]);
  return *this;
}

bool Stmt::Step() {
  int rc = sqlite3_step(stmt_);
  if (rc == SQLITE_ROW) return true;
  if (rc != SQLITE_DONE) {
    status_ = Status::IoError(std::string("sqlite: ") + sqlite3_errmsg(db_) + " in: " +
                              sqlite3_sql(stmt_));
  }
  return false;
}

Status Stmt::Run() {
  while (Step()) {
  }
  Status s = status_;
  sqlite3_reset(stmt_);
  status_ = Status::Ok();
  return s;
}

std::string Stmt::Text(int col) const {
  const unsigned char* p = sqlite3_column_text(stmt_, col);
  if (!p) return "";
  return std::string(reinterpret_cast<const char*>(p),
                     static_cast<size_t>(sqlite3_column_bytes(stmt_, col)));
}

Result<Db> Db::Open(const std::string& path, Mode mode) {
  sqlite3* raw = nullptr;
  int flags = mode == Mode::kReadOnly ? SQLITE_OPEN_READONLY
                                      : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
  flags |= SQLITE_OPEN_NOMUTEX;
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags, nullptr);
  Db db(raw);
  if (rc != SQLITE_OK) {
    return Status::IoError("cannot open the store " + path + ": " +
                           (raw ? sqlite3_errmsg(raw) : "out of memory"));
  }
  sqlite3_busy_timeout(raw, kBusyTimeoutMs);
  sqlite3_extended_result_codes(raw, 1);
  if (mode == Mode::kReadWrite) {
    // NORMAL is durable against a crash of any process (the WAL is in the OS
    // cache); only a power loss can drop the last transactions.
    ORCHARD_RETURN_IF_ERROR(db.Exec("PRAGMA journal_mode=WAL"));
    ORCHARD_RETURN_IF_ERROR(db.Exec("PRAGMA synchronous=NORMAL"));
    ORCHARD_RETURN_IF_ERROR(db.Exec("PRAGMA temp_store=MEMORY"));
    Status s = ApplySchema(raw);
    if (!s.ok()) return s.WithContext(path);
  } else {
    ORCHARD_RETURN_IF_ERROR(db.Exec("PRAGMA query_only=1"));
  }
  return db;
}

Db& Db::operator=(Db&& o) noexcept {
  if (this != &o) {
    sqlite3_close_v2(db_);
    db_ = o.db_;
    o.db_ = nullptr;
  }
  return *this;
}

Db::~Db() { sqlite3_close_v2(db_); }

Result<Stmt> Db::Prepare(std::string_view sql) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr) !=
      SQLITE_OK) {
    return Status::Internal(std::string("sqlite: ") + sqlite3_errmsg(db_) + " in: " +
                            std::string(sql));
  }
  return Stmt(db_, stmt);
}

Status Db::Exec(const std::string& sql) {
  char* err = nullptr;
  if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : sqlite3_errmsg(db_);
    sqlite3_free(err);
    return Status::IoError("sqlite: " + msg + " in: " + sql);
  }
  return Status::Ok();
}

Transaction::Transaction(Db& db) : db_(db), begin_(db.Exec("BEGIN IMMEDIATE")) {
  if (!begin_.ok()) done_ = true;
}

Transaction::~Transaction() {
  if (!done_) db_.Exec("ROLLBACK");
}

Status Transaction::Commit() {
  if (done_) return begin_.ok() ? Status::Internal("transaction already finished") : begin_;
  done_ = true;
  Status s = db_.Exec("COMMIT");
  if (!s.ok()) db_.Exec("ROLLBACK");
  return s;
}

}  // namespace orchard::store
