#include "web/reader_pool.h"

namespace orchard::web {

Result<ReaderPool::Lease> ReaderPool::Acquire() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!idle_.empty()) {
      auto s = std::move(idle_.back());
      idle_.pop_back();
      return Lease(this, std::move(s));
    }
  }
  auto opened = store::SqliteRunStore::Open(path_, store::Db::Mode::kReadOnly);
  if (!opened.ok()) return opened.status();
  // Map the file and keep more pages per connection: a chart reads thousands
  // of rows scattered over a large file, and each read through the default
  // 2 MB cache is a system call.
  (*opened)->db().Exec("PRAGMA mmap_size = 1073741824");
  (*opened)->db().Exec("PRAGMA cache_size = -65536");
  return Lease(this, std::move(opened).value());
}

void ReaderPool::Return(std::unique_ptr<store::SqliteRunStore> s) {
  // A statement left mid-result would keep its read snapshot and the next
  // request would not see newer writes: reset every one.
  sqlite3* raw = s->db().raw();
  for (sqlite3_stmt* st = sqlite3_next_stmt(raw, nullptr); st; st = sqlite3_next_stmt(raw, st)) {
    sqlite3_reset(st);
  }
  std::lock_guard<std::mutex> lock(mu_);
  idle_.push_back(std::move(s));
}

}  // namespace orchard::web
