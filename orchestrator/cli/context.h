// What every subcommand shares: the global options and the store they name.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "flags/status.h"
#include "orchestrator/store/home.h"
#include "orchestrator/store/sqlite_run_store.h"

namespace orchard::cli {

enum class Format { kTable, kCsv, kJson };

struct Context {
  std::string home_flag;        // --home ("" when not given)
  std::string format = "table"; // --format
  std::string cwd;
  int exit_code = 0;            // set by commands whose outcome is not an error
  bool has_dashdash = false;    // whether the command line had a `--`
  std::vector<std::string> after_dashdash;  // the words after it (a trainer command)

  Result<store::Home> Home() const;
  Result<Format> OutputFormat() const;
  // Opens the store; with create=false a missing store is a clear error
  // instead of an empty new database.
  Result<std::unique_ptr<store::SqliteRunStore>> OpenStore(bool create) const;
};

}  // namespace orchard::cli
