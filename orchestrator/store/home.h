// Where a project's store lives: the `.orchard/` folder.
//
// Found like git finds `.git`: --home DIR, else $ORCHARD_HOME, else the
// nearest `.orchard/` in the working directory or one of its parents, else
// a new `.orchard/` in the working directory (created on first write).
#pragma once

#include <string>

#include "flags/status.h"

namespace orchard::store {

struct Home {
  std::string root;      // the .orchard folder itself
  std::string db_path;   // root/orchard.db
  std::string runs_dir;  // root/runs: one folder per run id
  bool exists = false;   // whether root existed when it was located

  std::string RunDir(const std::string& run_id) const { return runs_dir + "/" + run_id; }
  // Where a run's raw stdout/stderr are journaled (stream: stdout|stderr).
  // The trainer writes these files itself, so nothing it prints is lost if
  // the orchestrator dies; the store ingests them as they grow.
  std::string JournalPath(const std::string& run_id, const std::string& stream) const {
    return root + "/logs/" + run_id + "." + stream;
  }
};

// explicit_home: the --home value ("" when not given).
Result<Home> LocateHome(const std::string& explicit_home, const std::string& cwd);

// Creates root and runs_dir if missing.
Status EnsureHome(const Home& home);

}  // namespace orchard::store
