/// Read-only connections to the store for the server's request threads.
///
/// A SqliteRunStore is for one thread at a time; the server's handlers run
/// on a pool of threads. ReaderPool keeps idle read-only connections (with
/// their cached statements) and lends one per request: Acquire() gives a
/// Lease that returns the connection at scope exit. Connections are opened
/// on demand, so the pool grows to the number of concurrent requests.
/// Thread-safe.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "flags/status.h"
#include "orchestrator/store/sqlite_run_store.h"

namespace orchard::web {

class ReaderPool {
 public:
  explicit ReaderPool(std::string db_path) : path_(std::move(db_path)) {}

  class Lease {
   public:
    Lease(ReaderPool* pool, std::unique_ptr<store::SqliteRunStore> s)
        : pool_(pool), store_(std::move(s)) {}
    Lease(Lease&&) = default;
    ~Lease() {
      if (store_) pool_->Return(std::move(store_));
    }
    store::SqliteRunStore& operator*() { return *store_; }
    store::SqliteRunStore* operator->() { return store_.get(); }

   private:
    ReaderPool* pool_;
    std::unique_ptr<store::SqliteRunStore> store_;
  };

  Result<Lease> Acquire();
  const std::string& path() const { return path_; }

 private:
  void Return(std::unique_ptr<store::SqliteRunStore> s);

  std::string path_;
  std::mutex mu_;
  std::vector<std::unique_ptr<store::SqliteRunStore>> idle_;
};

}  // namespace orchard::web
