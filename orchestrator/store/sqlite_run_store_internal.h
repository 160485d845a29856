// Pieces shared by the translation units of SqliteRunStore. Internal to
// orchestrator/store: not part of the store's interface.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "orchestrator/store/sqlite_run_store.h"

namespace orchard::store::internal {

inline nlohmann::json ParseJsonOr(const std::string& text, nlohmann::json fallback) {
  auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  return j.is_discarded() ? fallback : j;
}

inline std::string Dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// A fresh random short id.
std::string NewRunId();

// Resets a cached statement when it goes out of scope: a statement left
// mid-result (a SELECT that found its row) would otherwise hold a read
// snapshot open, and a later write on this connection would fail with
// SQLITE_BUSY_SNAPSHOT ("database is locked") once another process commits.
struct ResetOnExit {
  Stmt& stmt;
  ~ResetOnExit() { stmt.Reset(); }
};

#define ORCHARD_PREPARE(var, sql)             \
  auto var##_r = Cached(sql);                 \
  if (!var##_r.ok()) return var##_r.status(); \
  Stmt& var = **var##_r;                      \
  ::orchard::store::internal::ResetOnExit var##_reset{var}

}  // namespace orchard::store::internal

namespace orchard::store {

template <typename Fn>
Status SqliteRunStore::Write(Fn&& fn) {
  if (InTransaction()) return fn();
  Transaction tx(db_);
  ORCHARD_RETURN_IF_ERROR(tx.begin_status());
  ORCHARD_RETURN_IF_ERROR(fn());
  return tx.Commit();
}

}  // namespace orchard::store
