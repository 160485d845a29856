#include <unistd.h>

#include <chrono>
#include <random>

#include "orchestrator/store/sqlite_run_store_internal.h"

namespace orchard::store::internal {

// Short ids: 8 hex digits (32 bits) are plenty for one store, and a clash is
// detected by the PRIMARY KEY and retried.
std::string NewRunId() {
  static thread_local std::mt19937_64 rng([] {
    std::random_device rd;
    uint64_t seed = (static_cast<uint64_t>(rd()) << 32) ^ rd();
    seed ^= static_cast<uint64_t>(
        std::chrono::steady_clock::now().time_since_epoch().count());
    seed ^= static_cast<uint64_t>(getpid()) << 17;
    return seed;
  }());
  static const char* kHex = "0123456789abcdef";
  uint64_t v = rng();
  std::string id(8, '0');
  for (int i = 0; i < 8; ++i) id[i] = kHex[(v >> (4 * i)) & 15];
  return id;
}

}  // namespace orchard::store::internal
